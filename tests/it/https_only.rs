//! Team logins over HTTPS only (issue 18, finding 4). The session cookie is `__Host-` prefixed, `Secure`,
//! HttpOnly and SameSite=Strict; over plain HTTP from another machine the hub serves the villagers' public
//! side but refuses login, setup and every call with a session (`https_required`, with the hub's HTTPS
//! address), and ignores a session cookie sent there. Plain HTTP from the hub's own machine (loopback)
//! stays usable, as browsers treat `localhost`.
//!
//! The "other machine" is a network namespace: the hub runs in one, `curl` in the other, joined by a veth
//! pair (tests/common/netns.rs; needs root, as the CI has).

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

const ADMIN_PW: &str = "Quản-trị-viên-2024";

/// `curl` inside namespace `ns`: (status, headers, body).
fn curl(ns: &str, args: &[&str]) -> (u16, String, String) {
    let out = netns::NetPair::command(ns, "curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-D",
            "-",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
        ])
        .args(args)
        .output()
        .expect("run curl in the namespace");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (rest, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    let (head, body) = rest.split_once("\r\n\r\n").unwrap_or((rest, ""));
    (
        code.trim().parse().unwrap_or(0),
        head.to_string(),
        body.to_string(),
    )
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

/// The session cookie's `name=value` from a response's headers.
fn session_cookie(head: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or(l.strip_prefix("Set-Cookie: "))
        })
        .find(|c| c.starts_with("__Host-hub_session=") && !c.starts_with("__Host-hub_session=;"))
        .map(|c| c.split(';').next().unwrap().to_string())
}

#[test]
fn the_session_cookie_is_host_prefixed_secure_httponly_strict() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let token = hub.setup_token.clone().unwrap();
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/setup", hub.base))
            .json(&json!({"token": token, "name": "quantri", "password": ADMIN_PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        let session = cookies
            .iter()
            .find(|c| {
                c.starts_with("__Host-hub_session=") && !c.starts_with("__Host-hub_session=;")
            })
            .unwrap_or_else(|| panic!("no __Host- session cookie in {cookies:?}"));
        for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(
                session.split("; ").any(|a| a == attr),
                "{attr} missing: {session}"
            );
        }
        assert!(!session.contains("Domain"), "{session}");
        // The pre-__Host- cookie is cleared, never set.
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("hub_session=;") && c.contains("Max-Age=0")),
            "{cookies:?}"
        );
        // The plain-HTTP page on this machine (loopback) is a secure channel: the status says so.
        let s: Value = reqwest::get(format!("{}/api/v1/setup", hub.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(s["secure"], true, "{s}");
    });
}

#[test]
fn over_plain_http_from_another_machine_team_calls_are_sent_to_https() {
    let pair = match netns::NetPair::create(231, None) {
        Ok(p) => p,
        Err(why) => panic!("network namespaces are needed for this test: {why}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let a = pair.addr_a.to_string();
    let mut child = netns::NetPair::command(&pair.ns_a, hub_bin().to_str().unwrap())
        .args(["serve", "--mode", "field", "--mdns", "off", "--data"])
        .arg(dir.path())
        .args([
            "--listen",
            &format!("{a}:18080"),
            "--https-listen",
            &format!("{a}:18443"),
        ])
        .env("HUB_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn hub in the namespace");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let _guard = Kill(child);
    // The setup token from the banner.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(l);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut token = None;
    let mut setup_line = String::new();
    while token.is_none() {
        assert!(Instant::now() < deadline, "no setup link in the banner");
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            if let Some(i) = l.find("#/setup?token=") {
                token = Some(l[i + "#/setup?token=".len()..].trim().to_string());
                setup_line = l;
            }
        }
    }
    let token = token.unwrap();
    // The printed setup link is the HTTPS one: the admin's password is typed there.
    assert!(
        setup_line
            .trim()
            .starts_with(&format!("https://{a}:18443/#/setup")),
        "{setup_line}"
    );
    let http = format!("http://{a}:18080");
    let https = format!("https://{a}:18443");
    let ca = dir.path().join("tls/ca.pem");
    let b = &pair.ns_b;
    // Wait until the hub answers.
    while curl(b, &[&format!("{http}/healthz")]).0 != 200 {
        assert!(Instant::now() < deadline, "hub not healthy");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Plain HTTP from another machine: the public side works…
    assert_eq!(curl(b, &[&format!("{http}/")]).0, 200);
    let (s, _, body) = curl(b, &[&format!("{http}/api/v1/setup")]);
    assert_eq!(s, 200);
    let st = json_of(&body);
    assert_eq!(st["secure"], false, "{st}");
    assert_eq!(st["https_url"], https.as_str(), "{st}");
    // …setup and login are refused before any password is read, pointing at the HTTPS address.
    let setup_body = json!({"token": token, "name": "quantri", "password": ADMIN_PW}).to_string();
    let (s, head, body) = curl(
        b,
        &[
            "-H",
            "content-type: application/json",
            "--data",
            &setup_body,
            &format!("{http}/api/v1/setup"),
        ],
    );
    assert_eq!(s, 403, "{body}");
    assert_eq!(json_of(&body)["error"]["code"], "https_required", "{body}");
    assert_eq!(
        json_of(&body)["error"]["location"],
        https.as_str(),
        "{body}"
    );
    assert!(session_cookie(&head).is_none());
    // A hostile Host header does not become a redirect elsewhere.
    let (_, _, body) = curl(
        b,
        &[
            "-H",
            "host: evil.example/phish?",
            "-H",
            "content-type: application/json",
            "--data",
            "{}",
            &format!("{http}/api/v1/login"),
        ],
    );
    assert_eq!(json_of(&body)["error"]["code"], "https_required", "{body}");
    assert!(json_of(&body)["error"].get("location").is_none(), "{body}");

    // Over HTTPS (the hub's CA), setup and login work and the cookie is Secure.
    let cacert = ["--cacert", ca.to_str().unwrap()];
    let (s, head, body) = curl(
        b,
        &[
            &cacert[..],
            &[
                "-H",
                "content-type: application/json",
                "--data",
                &setup_body,
                &format!("{https}/api/v1/setup"),
            ],
        ]
        .concat(),
    );
    assert_eq!(s, 201, "{body}");
    let cookie = session_cookie(&head).expect("session cookie over HTTPS");
    let (s, _, body) = curl(
        b,
        &[&cacert[..], &["-b", &cookie, &format!("{https}/api/v1/me")]].concat(),
    );
    assert_eq!(s, 200, "{body}");
    assert_eq!(json_of(&body)["user"]["name"], "quantri", "{body}");
    let login_body = json!({"name": "quantri", "password": ADMIN_PW}).to_string();
    let (s, head, body) = curl(
        b,
        &[
            &cacert[..],
            &[
                "-H",
                "content-type: application/json",
                "--data",
                &login_body,
                &format!("{https}/api/v1/login"),
            ],
        ]
        .concat(),
    );
    assert_eq!(s, 200, "{body}");
    assert!(session_cookie(&head).is_some());

    // The same cookie, sent over plain HTTP (a listener on the Wi-Fi could have read it there), is not
    // honoured: no session work on plain HTTP from another machine.
    let (s, _, body) = curl(b, &["-b", &cookie, &format!("{http}/api/v1/me")]);
    assert_eq!(s, 403, "{body}");
    assert_eq!(json_of(&body)["error"]["code"], "https_required", "{body}");
    let (s, _, body) = curl(b, &["-b", &cookie, &format!("{http}/api/v1/users")]);
    assert_eq!(s, 403, "{body}");
    // A wrong login over plain HTTP is refused the same way (no password check, no lockout counted).
    let wrong = json!({"name": "quantri", "password": "sai-mật-khẩu"}).to_string();
    for _ in 0..8 {
        let (s, _, _) = curl(
            b,
            &[
                "-H",
                "content-type: application/json",
                "--data",
                &wrong,
                &format!("{http}/api/v1/login"),
            ],
        );
        assert_eq!(s, 403);
    }
    let (s, _, body) = curl(
        b,
        &[
            &cacert[..],
            &[
                "-H",
                "content-type: application/json",
                "--data",
                &login_body,
                &format!("{https}/api/v1/login"),
            ],
        ]
        .concat(),
    );
    assert_eq!(
        s, 200,
        "refused plain-HTTP attempts must not lock the name: {body}"
    );
}
