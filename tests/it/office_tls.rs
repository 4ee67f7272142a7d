//! Issue 18, finding 6: between field and office on a LAN the sync session (token, holdings, uploads,
//! acks, news with result numbers and PINs) goes over TLS with the office's CA pinned under the office key,
//! never in clear. On two network namespaces (the office at 10.203.61.2, the field at .1): an office
//! without HTTPS is refused rather than spoken to in clear; with HTTPS the field (paired by key-card files,
//! before this existed) pins the office's signed CA and upgrades its `http://` office URL to `https://`;
//! the office refuses a bearer token over plain HTTP from the LAN; and an office address answering with a
//! different certificate is refused (pin mismatch). On loopback: pairing by code pins the CA at once.

use std::path::Path;
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::netns::NetPair;
use crate::common::*;

const NET: u8 = 61;

fn office_in(pair: &NetPair, office_dir: &Path, https: bool) -> Child {
    let http = format!("{}:8080", pair.addr_b);
    let https_addr = format!("{}:8443", pair.addr_b);
    NetPair::command(&pair.ns_b, hub_bin().to_str().unwrap())
        .args(["serve", "--mode", "office", "--data"])
        .arg(office_dir)
        .args(["--listen", &http, "--mdns", "off", "--https-listen"])
        .arg(if https { https_addr.as_str() } else { "off" })
        .env("HUB_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// `curl` from the field's namespace: (HTTP status, body).
fn curl(pair: &NetPair, args: &[&str]) -> (u16, String) {
    let out = NetPair::command(&pair.ns_a, "curl")
        .args(["-s", "-m", "5", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn wait_up(pair: &NetPair) {
    let url = format!("http://{}:8080/healthz", pair.addr_b);
    let t0 = Instant::now();
    while curl(pair, &[&url]).0 != 200 {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the office did not start"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn sync_in(pair: &NetPair, field_dir: &Path, url: &str) -> (Output, String) {
    let out = NetPair::command(&pair.ns_a, hub_bin().to_str().unwrap())
        .args(["sync", "--data"])
        .arg(field_dir)
        .args(["--mdns", "off", "--office-url", url])
        .env("HUB_LOG", "warn")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn pin_of(field_dir: &Path) -> Option<String> {
    let c = crate::common::db(field_dir.join("hub.sqlite")).unwrap();
    c.query_row(
        "SELECT value FROM meta WHERE key LIKE 'office_tls:%'",
        [],
        |r| r.get(0),
    )
    .ok()
}

/// DER of the CA in `dir/tls/ca.pem`, lower-case hex.
fn ca_hex(dir: &Path) -> String {
    use base64::Engine;
    let pem = std::fs::read_to_string(dir.join("tls/ca.pem")).unwrap();
    let b64: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    hex::encode(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
}

#[test]
fn on_a_lan_the_field_speaks_only_pinned_tls_to_its_office() {
    let pair = match NetPair::create(NET, None) {
        Ok(p) => p,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    init_hub("field", &field_dir, Some("Trạm Bù Gia Mập"));
    init_office(&office_dir);
    // Paired by key-card files: no TLS pin yet (as a hub paired before this change).
    pair_by_files(tmp.path(), &field_dir, &office_dir);
    let plain = format!("http://{}:8080", pair.addr_b);

    // 1. An office without HTTPS: the field refuses to open a session in clear.
    let office = office_in(&pair, &office_dir, false);
    wait_up(&pair);
    let (out, text) = sync_in(&pair, &field_dir, &plain);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("office_cleartext_refused"), "{text}");
    assert!(text.contains("không gửi mã phiên đồng bộ"), "{text}");
    assert_eq!(pin_of(&field_dir), None);
    // And the office itself refuses a bearer token (and the hello that issues one) over plain HTTP from
    // the LAN, before looking at it.
    let (s, b) = curl(
        &pair,
        &[
            "-H",
            "Authorization: Bearer 00",
            &format!("{plain}/api/v1/sync/holdings"),
        ],
    );
    assert_eq!(s, 403, "{b}");
    assert!(b.contains("sync_https_required"), "{b}");
    let (s, b) = curl(
        &pair,
        &[
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "-d",
            "{}",
            &format!("{plain}/api/v1/sync/hello"),
        ],
    );
    assert_eq!(s, 403, "{b}");
    assert!(b.contains("sync_https_required"), "{b}");
    stop(office);

    // 2. With HTTPS: the field fetches the office's CA signed with the pinned office key, pins it, and
    // opens the session over https on the same host.
    let office = office_in(&pair, &office_dir, true);
    wait_up(&pair);
    let (out, text) = sync_in(&pair, &field_dir, &plain);
    assert!(out.status.success(), "{text}");
    let https = format!("https://{}:8443", pair.addr_b);
    assert!(
        text.contains(&format!("Synced with the office at {https}")),
        "{text}"
    );
    let pin: Value = serde_json::from_str(&pin_of(&field_dir).expect("pinned")).unwrap();
    assert_eq!(pin["tls"]["ca_cert"], ca_hex(&office_dir), "{pin}");
    assert_eq!(pin["tls"]["https_port"], 8443);
    // Over TLS the office takes the token (an unknown one is refused as such, not for the channel).
    let (s, b) = curl(
        &pair,
        &[
            "-k",
            "-H",
            "Authorization: Bearer 00",
            &format!("{https}/api/v1/sync/holdings"),
        ],
    );
    assert_eq!(s, 401, "{b}");
    assert!(b.contains("sync_session_required"), "{b}");
    // Again: straight to the pinned https address too.
    let (out, text) = sync_in(&pair, &field_dir, &https);
    assert!(out.status.success(), "{text}");
    stop(office);

    // 3. A different certificate at the office's address (here: the office's CA made anew; the same for
    // any impostor): the field refuses and sends nothing.
    std::fs::remove_dir_all(office_dir.join("tls")).unwrap();
    let office = office_in(&pair, &office_dir, true);
    wait_up(&pair);
    assert_ne!(pin["tls"]["ca_cert"], ca_hex(&office_dir));
    for url in [&plain, &https] {
        let (out, text) = sync_in(&pair, &field_dir, url);
        assert!(!out.status.success(), "{url}: {text}");
        assert!(
            text.contains("office_certificate_mismatch"),
            "{url}: {text}"
        );
        assert!(text.contains("chứng chỉ HTTPS khác"), "{url}: {text}");
    }
    stop(office);
}

#[test]
fn pairing_by_code_pins_the_offices_https_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let office_dir = tmp.path().join("office");
    let field_dir = tmp.path().join("field");
    let office = Hub::start_with(
        "office",
        &office_dir,
        &[
            "--https-listen",
            "127.0.0.1:0",
            "--name",
            "UBND xã Bù Gia Mập",
        ],
    );
    let field = Hub::start("field", &field_dir);
    block_on(async {
        let (_admin, clerk) = office_clerk(&office).await;
        let (s, code) = clerk.post("/api/v1/pairing/codes", json!({})).await;
        assert_eq!(s, 201, "{code}");
        let fadmin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        let (s, paired) = fadmin
            .post(
                "/api/v1/pairing/office",
                json!({"qr_text": code["qr_text"]}),
            )
            .await;
        assert_eq!(s, 200, "{paired}");
        // The statement is signed by the office key: a tampered one does not verify.
        let (s, b) = raw_get(&format!("{}/api/v1/sync/tls", office.base)).await;
        assert_eq!(s, 200);
        let signed = protocol::SignedOfficeTls::from_bytes(&b).unwrap();
        let office_key = crate::common::hub_keys(&office_dir).device.public();
        signed.verify(&office_key).unwrap();
        assert_eq!(signed.tls.ca_cert, ca_hex(&office_dir));
        let mut forged = signed.clone();
        forged.tls.ca_cert = format!("{}00", signed.tls.ca_cert);
        assert!(forged.verify(&office_key).is_err());
    });
    let pin: Value = serde_json::from_str(&pin_of(&field_dir).expect("pinned at pairing")).unwrap();
    assert_eq!(pin["tls"]["ca_cert"], ca_hex(&office_dir), "{pin}");
    let port: u16 = office
        .https_base()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(pin["tls"]["https_port"], port);
}

async fn raw_get(url: &str) -> (u16, Vec<u8>) {
    let r = reqwest::get(url).await.unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}
