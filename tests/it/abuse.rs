//! Abuse tests (issue 8, security): login rate limiting, CSRF, session expiry, path traversal, size
//! limits, decompression bombs and hostile JSON, each against real `hub` processes. Every refusal must be
//! a 4xx JSON error with a stable code, leave the stored state as it was, and leave the hub healthy.

use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

const ADMIN_PW: &str = "Quản-trị-viên-2024";
const PW: &str = "mật-khẩu-đúng-123";

/// A client without a cookie jar whose requests leave from `ip` (any 127.0.0.0/8 address reaches the hub).
fn http_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .unwrap()
}

/// A login attempt: (status, error code, Retry-After, Set-Cookie, body).
pub(crate) async fn try_login(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    pw: &str,
) -> (u16, String, Option<u64>, Option<String>, Value) {
    let r = http
        .post(format!("{base}/api/v1/login"))
        .json(&json!({"name": name, "password": pw}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("").to_owned();
    (status, code, retry, cookie, body)
}

/// A session made by logging in without a cookie jar: (cookie token, CSRF token).
async fn session(base: &str, name: &str, pw: &str) -> (String, String) {
    let (s, _, _, cookie, body) = try_login(&reqwest::Client::new(), base, name, pw).await;
    assert_eq!(s, 200, "{body}");
    let cookie = cookie.expect("a session cookie");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("__Host-hub_session=")
        .unwrap()
        .to_owned();
    (token, body["csrf_token"].as_str().unwrap().to_owned())
}

/// One request with an explicit session cookie and optional CSRF token: (status, JSON body).
async fn with_cookie(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: &str,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rq = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("cookie", format!("__Host-hub_session={token}"));
    if let Some(c) = csrf {
        rq = rq.header("x-csrf-token", c);
    }
    if let Some(b) = body {
        rq = rq.json(&b);
    }
    let r = rq.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// A raw HTTP/1.1 request, so paths reach the hub exactly as written (an HTTP client library would
/// normalise `..` away): (status, headers, body).
fn raw(
    base: &str,
    method: &str,
    target: &[u8],
    headers: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    let addr = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = Vec::new();
    req.extend_from_slice(method.as_bytes());
    req.push(b' ');
    req.extend_from_slice(target);
    req.extend_from_slice(format!(" HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n").as_bytes());
    for (k, v) in headers {
        req.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    s.write_all(&req).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(out.len());
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = out.get(split + 4..).unwrap_or_default().to_vec();
    (status, head, body)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn healthy(c: &Client) {
    let (s, b) = c.get("/healthz").await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")), "{b}");
}

/// A small legible JPEG made here (the sample photos are 4 MB and slow to process in a loop).
fn small_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(240, 320, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// A new marital-status draft; returns its id.
async fn new_draft(c: &Client) -> String {
    let (s, d) = c
        .post(
            "/api/v1/drafts",
            json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}),
        )
        .await;
    assert_eq!(s, 201, "{d}");
    d["id"].as_str().unwrap().to_owned()
}

/// What a refused request must not have changed: the draft as read back and the number of drafts.
async fn snapshot(c: &Client, draft: &str) -> (Value, usize) {
    let (s, d) = c.get(&format!("/api/v1/drafts/{draft}")).await;
    assert_eq!(s, 200, "{d}");
    let (s, list) = c.get("/api/v1/drafts").await;
    assert_eq!(s, 200, "{list}");
    (d, list["drafts"].as_array().unwrap().len())
}

fn code(b: &Value) -> &str {
    b["error"]["code"].as_str().unwrap_or("")
}

// ---------------------------------------------------------------------------------------------------
// Login rate limiting
// ---------------------------------------------------------------------------------------------------

#[test]
fn failed_logins_lock_the_account_on_that_phone_and_a_spraying_phone_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    // A 15-second window (hidden test knob; the default is 5 minutes) so the unlock can be seen.
    let hub = Hub::start_with(
        "field",
        &tmp.path().join("field"),
        &["--login-lockout-seconds", "15"],
    );
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        admin.add_user("an", "volunteer", PW).await;
        admin.add_user("binh", "officer", PW).await;
        let attacker = http_from([127, 0, 0, 1]);
        let owner_phone = http_from([127, 0, 0, 2]);
        let sprayer = http_from([127, 0, 0, 3]);

        for i in 0..5 {
            let (s, c, _, cookie, b) =
                try_login(&attacker, &hub.base, "an", &format!("sai-{i}-xxxx")).await;
            assert_eq!(
                (s, c.as_str()),
                (401, "bad_credentials"),
                "attempt {i}: {b}"
            );
            assert!(cookie.is_none(), "a failed login sets no cookie");
        }
        let locked_at = Instant::now();
        let (s, c, retry, _, b) = try_login(&attacker, &hub.base, "an", "sai-5-xxxx").await;
        assert_eq!((s, c.as_str()), (429, "rate_limited"), "{b}");
        let lock_retry = retry.expect("429 carries Retry-After");
        assert!((1..=15).contains(&lock_retry), "Retry-After {lock_retry}");
        // The right password is refused too while locked, whatever the case or spaces of the name.
        for name in ["an", "AN", " an "] {
            let (s, c, _, cookie, b) = try_login(&attacker, &hub.base, name, PW).await;
            assert_eq!((s, c.as_str()), (429, "rate_limited"), "{name:?}: {b}");
            assert!(cookie.is_none());
        }
        // Another account from the same phone, and the same account from its owner's phone, still work.
        let (s, _, _, _, b) = try_login(&attacker, &hub.base, "binh", PW).await;
        assert_eq!(s, 200, "another account: {b}");
        let (s, _, _, _, b) = try_login(&owner_phone, &hub.base, "an", PW).await;
        assert_eq!(
            s, 200,
            "the owner's own phone is not locked out by another phone: {b}"
        );

        // A phone spraying guesses over many names is locked out of every account after 20 failures.
        for i in 0..20 {
            let (s, c, _, _, b) =
                try_login(&sprayer, &hub.base, &format!("ten-{i}"), "doan-thu-1").await;
            assert_eq!((s, c.as_str()), (401, "bad_credentials"), "spray {i}: {b}");
        }
        let (s, c, retry, _, b) = try_login(&sprayer, &hub.base, "binh", PW).await;
        assert_eq!((s, c.as_str()), (429, "rate_limited"), "{b}");
        assert!(retry.is_some());
        let (s, _, _, _, b) = try_login(&owner_phone, &hub.base, "binh", PW).await;
        assert_eq!(s, 200, "other phones are not affected by the sprayer: {b}");

        // After the window the right password works again from the attacker's address.
        let wait = Duration::from_secs(lock_retry + 1).saturating_sub(locked_at.elapsed());
        tokio::time::sleep(wait).await;
        let (s, _, _, cookie, b) = try_login(&attacker, &hub.base, "an", PW).await;
        assert_eq!(s, 200, "unlocked after the window: {b}");
        assert!(cookie.is_some());
        healthy(&admin).await;
    });
}

#[test]
fn the_public_receipt_lookup_is_rate_limited_per_phone() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", &tmp.path().join("field"), &[]);
    block_on(async {
        let _admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let guesser = http_from([127, 0, 0, 4]);
        let other = http_from([127, 0, 0, 5]);
        let url = |c: &str| format!("{}/api/v1/public/receipts/{c}?k=ABCD-EFGH", hub.base);
        for i in 0..30 {
            let r = guesser
                .get(url(&format!("GUES-{i:04}")))
                .send()
                .await
                .unwrap();
            assert_ne!(r.status().as_u16(), 429, "lookup {i} within the allowance");
            assert!(
                r.status().is_client_error(),
                "a guess finds nothing: {}",
                r.status()
            );
        }
        let r = guesser.get(url("GUES-9999")).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 429);
        let b: Value = r.json().await.unwrap();
        assert_eq!(code(&b), "rate_limited", "{b}");
        let r = other.get(url("GUES-0001")).send().await.unwrap();
        assert_ne!(
            r.status().as_u16(),
            429,
            "another phone keeps its own allowance"
        );
    });
}

// ---------------------------------------------------------------------------------------------------
// CSRF and cookies
// ---------------------------------------------------------------------------------------------------

#[test]
fn every_state_changing_route_needs_the_sessions_csrf_token() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", &tmp.path().join("field"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        admin.add_user("binh", "officer", PW).await;
        let draft = new_draft(&admin).await;
        let (s, att) = admin
            .upload(&draft, "id_document", "a.jpg", small_jpeg(), "image/jpeg")
            .await;
        assert_eq!(s, 201, "{att}");
        let att = att["id"].as_str().unwrap().to_owned();
        let (token, _csrf) = session(&hub.base, "binh", PW).await;
        let (_, other_csrf) = session(&hub.base, "admin", ADMIN_PW).await;
        let before = snapshot(&admin, &draft).await;
        let (_, users_before) = admin.get("/api/v1/users").await;

        use reqwest::Method as M;
        let routes: Vec<(M, String, Value)> = vec![
            (
                M::POST,
                "/api/v1/drafts".into(),
                json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}),
            ),
            (
                M::PUT,
                format!("/api/v1/drafts/{draft}"),
                json!({"fields": {"requester.full_name": "Lò Văn Cường"}, "version": before.0["version"]}),
            ),
            (M::DELETE, format!("/api/v1/drafts/{draft}"), json!({})),
            (
                M::DELETE,
                format!("/api/v1/drafts/{draft}/attachments/{att}"),
                json!({}),
            ),
            (
                M::POST,
                format!("/api/v1/drafts/{draft}/attachments"),
                json!({}),
            ),
            (M::POST, format!("/api/v1/drafts/{draft}/seal"), json!({})),
            (
                M::POST,
                format!("/api/v1/drafts/{draft}/refuse"),
                json!({"reason": "x"}),
            ),
            (
                M::POST,
                "/api/v1/dossiers/x/void".into(),
                json!({"reason": "x"}),
            ),
            (
                M::POST,
                "/api/v1/users".into(),
                json!({"name": "ke-gian", "role": "admin", "password": "12345678xx"}),
            ),
            (M::POST, "/api/v1/logout".into(), json!({})),
            (
                M::POST,
                "/api/v1/languages".into(),
                json!({"code": "xx", "name": "X"}),
            ),
            (M::PUT, "/api/v1/languages/xx".into(), json!({})),
            (M::DELETE, "/api/v1/languages/xx".into(), json!({})),
            (M::PUT, "/api/v1/languages/xx/strings/a".into(), json!({})),
            (M::PUT, "/api/v1/languages/xx/audio/a".into(), json!({})),
            (M::POST, "/api/v1/clock/confirm".into(), json!({})),
            // (The office's pairing routes answer 404 wrong_mode here before anything else; their CSRF
            // check is in the office test below.)
            (M::POST, "/api/v1/pairing/office".into(), json!({})),
            (M::POST, "/api/v1/outreach/sessions".into(), json!({})),
            (
                M::POST,
                "/api/v1/outreach/sessions/x/close".into(),
                json!({}),
            ),
            (
                M::POST,
                "/api/v1/outreach/sessions/x/tickets".into(),
                json!({}),
            ),
            (
                M::POST,
                "/api/v1/outreach/sessions/x/desks/1/call-next".into(),
                json!({}),
            ),
            (
                M::POST,
                "/api/v1/outreach/tickets/x/action".into(),
                json!({}),
            ),
            (
                M::POST,
                "/api/v1/outreach/sessions/x/services".into(),
                json!({}),
            ),
            (M::DELETE, "/api/v1/outreach/services/x".into(), json!({})),
            (M::POST, "/api/v1/upload/run".into(), json!({})),
            (M::POST, "/api/v1/upload/alarms/x/resolve".into(), json!({})),
            (M::POST, "/api/v1/upload/ack-file".into(), json!({})),
            (M::POST, "/api/v1/news/x/told".into(), json!({})),
            (M::POST, "/api/v1/predeclarations/x/take".into(), json!({})),
        ];
        for (m, path, body) in &routes {
            for csrf in [None, Some("sai"), Some(other_csrf.as_str())] {
                let (s, b) =
                    with_cookie(&hub.base, m.clone(), path, &token, csrf, Some(body.clone())).await;
                assert_eq!(
                    (s, code(&b)),
                    (403, "csrf"),
                    "{m} {path} with CSRF {csrf:?}: {b}"
                );
            }
        }
        // Nothing changed, and the session survived its refused logout.
        assert_eq!(snapshot(&admin, &draft).await, before);
        assert_eq!(admin.get("/api/v1/users").await.1, users_before);
        let (s, me) = with_cookie(&hub.base, M::GET, "/api/v1/me", &token, None, None).await;
        assert_eq!(
            (s, me["user"]["name"].as_str()),
            (200, Some("binh")),
            "{me}"
        );

        // Reads need no token, but a cross-site page cannot read the token: no CORS grant at all.
        let r = reqwest::Client::new()
            .get(hub.url("/api/v1/me"))
            .header("cookie", format!("__Host-hub_session={token}"))
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        assert!(r
            .headers()
            .get("access-control-allow-credentials")
            .is_none());
        let r = reqwest::Client::new()
            .request(M::OPTIONS, hub.url("/api/v1/drafts"))
            .header("origin", "http://evil.example")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-csrf-token")
            .send()
            .await
            .unwrap();
        assert!(r.headers().get("access-control-allow-origin").is_none());
        assert!(r.headers().get("access-control-allow-headers").is_none());
        healthy(&admin).await;
    });
}

#[test]
fn every_state_changing_office_route_needs_the_sessions_csrf_token() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("office", &tmp.path().join("office"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        admin.add_user("chi", "clerk", PW).await;
        let (token, _) = session(&hub.base, "chi", PW).await;
        let (_, other_csrf) = session(&hub.base, "admin", ADMIN_PW).await;
        let (s, holidays_before) = admin.get("/api/v1/office/holidays").await;
        assert_eq!(s, 200, "{holidays_before}");
        let (_, exports_before) = admin.get("/api/v1/office/exports").await;
        let (_, users_before) = admin.get("/api/v1/users").await;
        use reqwest::Method as M;
        let routes: Vec<(M, &str, Value)> = vec![
            (
                M::POST,
                "/api/v1/office/dossiers/x/status",
                json!({"status": "done"}),
            ),
            (
                M::POST,
                "/api/v1/office/holidays",
                json!({"date": "2026-12-31", "name": "x"}),
            ),
            (M::DELETE, "/api/v1/office/holidays/2026-01-01", json!({})),
            (M::POST, "/api/v1/office/exports", json!({"system": "x"})),
            (M::POST, "/api/v1/office/duplicates/decision", json!({})),
            (M::POST, "/api/v1/office/quarantine/x/resolve", json!({})),
            (M::POST, "/api/v1/office/imports", json!({})),
            (M::POST, "/api/v1/office/dossiers/x/news", json!({})),
            (
                M::POST,
                "/api/v1/users",
                json!({"name": "ke-gian", "role": "admin", "password": "12345678xx"}),
            ),
            (M::POST, "/api/v1/logout", json!({})),
            (M::POST, "/api/v1/pairing/codes", json!({})),
            (M::POST, "/api/v1/pairing/devices/x/approve", json!({})),
            (M::POST, "/api/v1/pairing/devices/x/revoke", json!({})),
            (M::POST, "/api/v1/clock/confirm", json!({})),
            (
                M::POST,
                "/api/v1/languages",
                json!({"code": "xx", "name": "X"}),
            ),
        ];
        for (m, path, body) in &routes {
            for csrf in [None, Some("sai"), Some(other_csrf.as_str())] {
                let (s, b) =
                    with_cookie(&hub.base, m.clone(), path, &token, csrf, Some(body.clone())).await;
                assert_eq!(
                    (s, code(&b)),
                    (403, "csrf"),
                    "{m} {path} with CSRF {csrf:?}: {b}"
                );
            }
        }
        assert_eq!(
            admin.get("/api/v1/office/holidays").await.1,
            holidays_before
        );
        assert_eq!(admin.get("/api/v1/office/exports").await.1, exports_before);
        assert_eq!(admin.get("/api/v1/users").await.1, users_before);
        let (s, _) = with_cookie(&hub.base, M::GET, "/api/v1/me", &token, None, None).await;
        assert_eq!(s, 200, "the refused logout left the session alive");
        healthy(&admin).await;
    });
}

#[test]
fn the_session_cookie_is_host_prefixed_secure_httponly_samesite_strict_and_holds_no_csrf_token() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", &tmp.path().join("field"), &[]);
    block_on(async {
        let _admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let (s, _, _, cookie, body) =
            try_login(&reqwest::Client::new(), &hub.base, "admin", ADMIN_PW).await;
        assert_eq!(s, 200);
        let cookie = cookie.unwrap();
        let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
        assert!(
            attrs[0].starts_with("__Host-hub_session=") && attrs[0].len() > 40,
            "{cookie}"
        );
        for want in [
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=43200",
        ] {
            assert!(attrs.contains(&want), "{want} missing in {cookie}");
        }
        let csrf = body["csrf_token"].as_str().unwrap();
        assert!(csrf.len() >= 40 && !cookie.contains(csrf));
    });
}

// ---------------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------------

#[test]
fn logout_revokes_the_session_on_the_server_idle_sessions_expire_after_12_hours_and_all_after_24() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let hub = Hub::start_with("field", &dir, &[]);
    let (used, idle) = block_on(async {
        Client::setup(&hub, "admin", ADMIN_PW).await;
        // Logout: the old cookie, replayed, is refused.
        let (tok, csrf) = session(&hub.base, "admin", ADMIN_PW).await;
        let get = |t: String| {
            let base = hub.base.clone();
            async move { with_cookie(&base, reqwest::Method::GET, "/api/v1/me", &t, None, None).await }
        };
        assert_eq!(get(tok.clone()).await.0, 200);
        let r = reqwest::Client::new()
            .post(hub.url("/api/v1/logout"))
            .header("cookie", format!("__Host-hub_session={tok}"))
            .header("x-csrf-token", &csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let cleared = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        let (s, b) = get(tok.clone()).await;
        assert_eq!(
            (s, code(&b)),
            (401, "unauthenticated"),
            "replayed cookie after logout: {b}"
        );
        let (s, b) = with_cookie(&hub.base, reqwest::Method::POST, "/api/v1/drafts", &tok, Some(&csrf),
            Some(json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}))).await;
        assert_eq!((s, code(&b)), (401, "unauthenticated"), "{b}");
        // Two sessions for the expiry check.
        (
            session(&hub.base, "admin", ADMIN_PW).await,
            session(&hub.base, "admin", ADMIN_PW).await,
        )
    });
    drop(hub);
    let me = |hub: &Hub, tok: &str| {
        let base = hub.base.clone();
        let tok = tok.to_owned();
        block_on(async move {
            with_cookie(&base, reqwest::Method::GET, "/api/v1/me", &tok, None, None).await
        })
    };
    // 11 hours later (the hidden clock-skew knob moves the hub's clock): both alive; one is used.
    {
        let hub = Hub::start_with("field", &dir, &["--clock-skew-seconds", "39600"]);
        assert_eq!(me(&hub, &used.0).0, 200);
    }
    // 12 hours and 2 minutes after login: the unused session has expired, the used one slid forward.
    {
        let hub = Hub::start_with("field", &dir, &["--clock-skew-seconds", "43320"]);
        let (s, b) = me(&hub, &idle.0);
        assert_eq!((s, code(&b)), (401, "unauthenticated"), "idle session: {b}");
        assert_eq!(
            me(&hub, &used.0).0,
            200,
            "a session used 1 hour ago is alive"
        );
        // Refused for good: the expired row is gone, so going back in time does not revive it.
    }
    {
        let hub = Hub::start_with("field", &dir, &[]);
        assert_eq!(me(&hub, &idle.0).0, 401, "an expired session stays expired");
    }
    // 23 hours after login, used 11 hours ago: alive, and used again.
    {
        let hub = Hub::start_with("field", &dir, &["--clock-skew-seconds", "82800"]);
        assert_eq!(me(&hub, &used.0).0, 200, "used within 12 h, under 24 h old");
    }
    // 24 h 1 min after login, used 1 hour ago: ended all the same (the absolute lifetime, issue 18 #4).
    {
        let hub = Hub::start_with("field", &dir, &["--clock-skew-seconds", "86460"]);
        let (s, b) = me(&hub, &used.0);
        assert_eq!(
            (s, code(&b)),
            (401, "unauthenticated"),
            "24 h after login: {b}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// Path traversal
// ---------------------------------------------------------------------------------------------------

/// Markers of files a traversal would reach: /etc/passwd, the workspace's Cargo.toml, Rust source, the
/// database and the hub's keys.
const SECRETS: &[&[u8]] = &[
    b"root:x:0:0",
    b"[workspace]",
    b"[package]",
    b"fn main",
    b"SQLite format",
    b"PRIVATE KEY",
    b"AGE-SECRET-KEY",
];

fn assert_nothing_leaked(what: &str, status: u16, head: &str, body: &[u8]) {
    assert!(
        (400..500).contains(&status),
        "{what}: status {status}\n{head}"
    );
    for s in SECRETS {
        assert!(
            !contains(body, s),
            "{what}: body carries {:?}",
            String::from_utf8_lossy(s)
        );
    }
}

fn traversals(prefix: &str) -> Vec<Vec<u8>> {
    let data_dir_abs = "/etc/passwd";
    let mut v: Vec<Vec<u8>> = [
        "../../../../etc/passwd",
        "..%2f..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "%252e%252e%252fetc%252fpasswd",
        "..\\..\\..\\..\\etc\\passwd",
        "..%5c..%5c..%5cetc%5cpasswd",
        "....//....//etc/passwd",
        "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "../../Cargo.toml",
        "../../../hub/src/main.rs",
        "../hub-data/hub.db",
        "%2fetc%2fpasswd",
        "etc/passwd%00.png",
        "index.html%00../../etc/passwd",
    ]
    .iter()
    .map(|t| format!("{prefix}{t}").into_bytes())
    .collect();
    v.push(format!("{prefix}{data_dir_abs}").into_bytes());
    v.push(format!("/{data_dir_abs}").into_bytes());
    v
}

#[test]
fn no_path_traversal_in_static_photo_and_receipt_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", &tmp.path().join("field"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let a = new_draft(&admin).await;
        let b = new_draft(&admin).await;
        let (s, att) = admin
            .upload(&a, "id_document", "a.jpg", small_jpeg(), "image/jpeg")
            .await;
        assert_eq!(s, 201, "{att}");
        let att = att["id"].as_str().unwrap().to_owned();
        let cookie = {
            let (t, _) = session(&hub.base, "admin", ADMIN_PW).await;
            format!("__Host-hub_session={t}")
        };
        let h = [("cookie", cookie.as_str())];

        // Static assets: a real one is served; nothing outside the embedded client is.
        let (s, _, body) = raw(&hub.base, "GET", b"/app.css", &[]);
        assert_eq!(s, 200);
        assert!(!body.is_empty());
        for t in traversals("/") {
            let (s, head, body) = raw(&hub.base, "GET", &t, &h);
            assert_nothing_leaked(&String::from_utf8_lossy(&t), s, &head, &body);
        }
        let (s, head, body) = raw(&hub.base, "GET", b"/app.css\0", &h);
        assert_nothing_leaked("NUL in the target", s, &head, &body);

        // Photos: only a draft's own photo, by id.
        let (s, _, body) = raw(
            &hub.base,
            "GET",
            format!("/api/v1/drafts/{a}/attachments/{att}").as_bytes(),
            &h,
        );
        assert_eq!(s, 200);
        assert!(body.starts_with(&[0xff, 0xd8]), "the stored JPEG");
        let (s, head, body) = raw(
            &hub.base,
            "GET",
            format!("/api/v1/drafts/{b}/attachments/{att}").as_bytes(),
            &h,
        );
        assert_nothing_leaked("another draft's photo", s, &head, &body);
        assert!(!body.starts_with(&[0xff, 0xd8]));
        for t in traversals(&format!("/api/v1/drafts/{a}/attachments/"))
            .into_iter()
            .chain(traversals(&format!(
                "/api/v1/drafts/{b}/attachments/{att}/"
            )))
            .chain(traversals(&format!(
                "/api/v1/drafts/{b}/attachments/..%2f..%2f{a}%2fattachments%2f"
            )))
            .chain(traversals("/api/v1/drafts/"))
            .chain(traversals("/api/v1/receipts/"))
            .chain(traversals("/api/v1/dossiers/"))
            .chain(traversals("/api/v1/guides/"))
            .chain(traversals("/api/v1/languages/"))
            .chain(traversals("/api/v1/units/"))
        {
            let (s, head, body) = raw(&hub.base, "GET", &t, &h);
            assert_nothing_leaked(&String::from_utf8_lossy(&t), s, &head, &body);
            assert!(
                !body.starts_with(&[0xff, 0xd8]),
                "{}: a photo",
                String::from_utf8_lossy(&t)
            );
        }
        healthy(&admin).await;
    });
}

#[test]
fn no_path_traversal_in_office_export_report_and_photo_routes() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("office", &tmp.path().join("office"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let (t, _) = session(&hub.base, "admin", ADMIN_PW).await;
        let cookie = format!("__Host-hub_session={t}");
        let h = [("cookie", cookie.as_str())];
        let prefixes = [
            "/api/v1/office/exports/",
            "/api/v1/office/reports/",
            "/api/v1/office/reports/charts/",
            "/api/v1/office/dossiers/",
            "/api/v1/office/dossiers/x/attachments/",
            "/api/v1/office/imports/",
            "/api/v1/office/ledger/",
            "/api/v1/sync/blobs/",
            "/api/v1/upload/",
        ];
        for p in prefixes {
            for t in traversals(p) {
                for suffix in [&b""[..], b"/file", b".csv", b".svg", b"/ack"] {
                    let mut t = t.clone();
                    t.extend_from_slice(suffix);
                    let (s, head, body) = raw(&hub.base, "GET", &t, &h);
                    assert_nothing_leaked(&String::from_utf8_lossy(&t), s, &head, &body);
                }
            }
        }
        // The session is live (so the refusals above are not a login wall).
        let (s, _, _) = raw(&hub.base, "GET", b"/api/v1/office/exports", &h);
        assert_eq!(s, 200);
        healthy(&admin).await;
    });
}

// ---------------------------------------------------------------------------------------------------
// Size limits
// ---------------------------------------------------------------------------------------------------

async fn upload_parts(c: &Client, draft: &str, form: reqwest::multipart::Form) -> (u16, Value) {
    let r = c
        .http
        .post(format!("{}/api/v1/drafts/{draft}/attachments", c.base))
        .header("x-csrf-token", &c.csrf)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[test]
fn request_field_and_photo_size_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", &tmp.path().join("field"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let draft = new_draft(&admin).await;
        let before = snapshot(&admin, &draft).await;
        let version = before.0["version"].clone();

        // A JSON body over 256 KiB: 413 too_large, as JSON.
        let big = "Ạ".repeat(100_000); // 300 KB of UTF-8
        let (s, b) = admin
            .put(
                &format!("/api/v1/drafts/{draft}"),
                json!({"fields": {"request.purpose": big}, "version": version}),
            )
            .await;
        assert_eq!((s, code(&b)), (413, "too_large"), "{b}");
        let (s, b) = admin
            .post("/api/v1/drafts", json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {"request.purpose": big}}))
            .await;
        assert_eq!((s, code(&b)), (413, "too_large"), "{b}");
        assert_eq!(snapshot(&admin, &draft).await, before);

        // One field over its maximum length: 422 naming the field.
        let mut fields = marital_fields("Lò Thị Mai", "070198001234");
        fields.insert("requester.full_name".into(), "Lò ".repeat(2000));
        let (s, b) = admin
            .put(
                &format!("/api/v1/drafts/{draft}"),
                json!({"fields": fields, "version": version}),
            )
            .await;
        assert_eq!((s, code(&b)), (422, "validation_failed"), "{b}");
        let details = b["error"]["details"].as_array().unwrap();
        assert!(
            details
                .iter()
                .any(|d| d["field"] == "requester.full_name" && d["code"] == "too_long"),
            "{b}"
        );
        assert_eq!(details.len(), 1, "only the long field is wrong: {b}");
        assert_eq!(snapshot(&admin, &draft).await, before);

        // A photo over 10 MB: 413 too_large on `file`, nothing stored.
        let mut huge = small_jpeg();
        huge.resize(10 * 1024 * 1024 + 1, 0);
        let (s, b) = admin
            .upload(&draft, "id_document", "to.jpg", huge, "image/jpeg")
            .await;
        assert_eq!(
            (s, code(&b), b["error"]["field"].as_str()),
            (413, "too_large", Some("file")),
            "{b}"
        );
        assert_eq!(snapshot(&admin, &draft).await, before);

        // Many parts, repeated parts, unknown parts: refused at the first unexpected one.
        let mut form = reqwest::multipart::Form::new().text("role", "id_document");
        for i in 0..1000 {
            form = form.text(format!("x{i}"), "y");
        }
        let form = form.part(
            "file",
            reqwest::multipart::Part::bytes(small_jpeg())
                .file_name("a.jpg")
                .mime_str("image/jpeg")
                .unwrap(),
        );
        let (s, b) = upload_parts(&admin, &draft, form).await;
        assert_eq!(
            (s, code(&b), b["error"]["field"].as_str()),
            (400, "bad_request", Some("x0")),
            "{b}"
        );
        let mut form = reqwest::multipart::Form::new();
        for _ in 0..3 {
            form = form.text("role", "id_document");
        }
        let (s, b) = upload_parts(&admin, &draft, form).await;
        assert_eq!(
            (s, code(&b), b["error"]["field"].as_str()),
            (400, "bad_request", Some("role")),
            "{b}"
        );
        let form = reqwest::multipart::Form::new()
            .text("role", "id_document")
            .part(
                "file",
                reqwest::multipart::Part::bytes(small_jpeg()).file_name("a.jpg"),
            )
            .part(
                "file",
                reqwest::multipart::Part::bytes(small_jpeg()).file_name("b.jpg"),
            );
        let (s, b) = upload_parts(&admin, &draft, form).await;
        assert_eq!(
            (s, code(&b), b["error"]["field"].as_str()),
            (400, "bad_request", Some("file")),
            "{b}"
        );
        assert_eq!(snapshot(&admin, &draft).await, before);

        // At most 30 photos per draft.
        let photo = small_jpeg();
        for i in 0..30 {
            let (s, b) = admin
                .upload(&draft, "id_document", "p.jpg", photo.clone(), "image/jpeg")
                .await;
            assert_eq!(s, 201, "photo {i}: {b}");
        }
        let (s, b) = admin
            .upload(&draft, "id_document", "p.jpg", photo.clone(), "image/jpeg")
            .await;
        assert_eq!((s, code(&b)), (409, "too_many_photos"), "{b}");
        let (_, d) = admin.get(&format!("/api/v1/drafts/{draft}")).await;
        assert_eq!(d["attachments"].as_array().unwrap().len(), 30);

        // The public pre-declaration form takes at most 32 KiB.
        let r = reqwest::Client::new()
            .post(hub.url("/api/v1/public/predeclarations"))
            .json(&json!({"fields": {"request.purpose": "x".repeat(40_000)}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 413);
        let b: Value = r.json().await.unwrap();
        assert_eq!(code(&b), "too_large", "{b}");
        healthy(&admin).await;
    });
}

// ---------------------------------------------------------------------------------------------------
// Decompression bombs
// ---------------------------------------------------------------------------------------------------

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut c = kind.to_vec();
    c.extend_from_slice(data);
    out.extend_from_slice(&c);
    out.extend_from_slice(&crc32(&c).to_be_bytes());
}

/// A PNG of a few hundred bytes declaring a `w`×`h` canvas: a stored (uncompressed) zlib stream whose
/// first rows are zeros, the rest missing, as a bomb's header would be.
fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    png_chunk(&mut out, b"IHDR", &ihdr);
    // zlib: header, one final stored block of 256 zero bytes.
    let mut z = vec![0x78, 0x01, 0x01, 0x00, 0x01, 0xff, 0xfe];
    z.extend_from_slice(&[0u8; 256]);
    png_chunk(&mut out, b"IDAT", &z);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A real small JPEG whose frame header (SOF0) is rewritten to declare `w`×`h`.
fn jpeg_bomb(w: u16, h: u16) -> Vec<u8> {
    let mut j = small_jpeg();
    let at = j
        .windows(2)
        .position(|m| m == [0xff, 0xc0])
        .expect("a baseline JPEG");
    // FFC0, length (2), precision (1), height (2), width (2).
    j[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
    j[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
    j
}

/// A WebP with an extended (VP8X) header declaring a `w`×`h` canvas and a tiny lossless image inside.
fn webp_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut vp8x = vec![0u8; 10];
    vp8x[4..7].copy_from_slice(&(w - 1).to_le_bytes()[..3]);
    vp8x[7..10].copy_from_slice(&(h - 1).to_le_bytes()[..3]);
    let mut inner = b"WEBP".to_vec();
    inner.extend_from_slice(b"VP8X");
    inner.extend_from_slice(&10u32.to_le_bytes());
    inner.extend_from_slice(&vp8x);
    // A 1x1 lossless bitstream (VP8L signature 0x2f, then 14-bit width-1 and height-1 = 0).
    let vp8l = [0x2f, 0, 0, 0, 0, 0x88, 0x88, 0x08, 0x08, 0x01];
    inner.extend_from_slice(b"VP8L");
    inner.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
    inner.extend_from_slice(&vp8l);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(inner.len() as u32).to_le_bytes());
    out.extend_from_slice(&inner);
    out
}

#[test]
fn decompression_bombs_are_refused_from_the_header_and_a_big_real_photo_still_works() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", &tmp.path().join("field"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let draft = new_draft(&admin).await;
        let before = snapshot(&admin, &draft).await;
        let bombs = [
            ("png 60000x60000", png_bomb(60_000, 60_000), "image/png"),
            ("png 1x4000000000", png_bomb(1, 4_000_000_000), "image/png"),
            ("jpeg 60000x60000", jpeg_bomb(60_000, 60_000), "image/jpeg"),
            ("webp 60000x60000", webp_bomb(60_000, 60_000), "image/webp"),
            (
                "webp 16777216x16777216",
                webp_bomb(1 << 24, 1 << 24),
                "image/webp",
            ),
        ];
        for (what, bytes, mime) in bombs {
            assert!(bytes.len() < 100_000, "{what} is small on the wire");
            let t = Instant::now();
            let (s, b) = admin
                .upload(&draft, "id_document", "bom.img", bytes, mime)
                .await;
            let took = t.elapsed();
            assert!(
                (s == 413 && code(&b) == "too_large") || (s == 422 && code(&b) == "bad_photo"),
                "{what}: {s} {b}"
            );
            assert_eq!(b["error"]["field"].as_str(), Some("file"), "{what}: {b}");
            assert!(
                took < Duration::from_secs(3),
                "{what} took {took:?}: decoded?"
            );
        }
        // The PNG bomb, whose header parses, is refused as too many pixels (before any decoding).
        let (s, b) = admin
            .upload(
                &draft,
                "id_document",
                "b.png",
                png_bomb(60_000, 60_000),
                "image/png",
            )
            .await;
        assert_eq!((s, code(&b)), (413, "too_large"), "{b}");
        assert!(
            b["error"]["message_en"]
                .as_str()
                .unwrap()
                .contains("pixels"),
            "{b}"
        );
        assert_eq!(snapshot(&admin, &draft).await, before);
        healthy(&admin).await;

        // A legitimate 4 MB, 12-megapixel document photo is still accepted.
        let real = std::fs::read(sample_photo("giay-chung-sinh.jpg")).unwrap();
        assert!(real.len() > 3_000_000);
        let (s, b) = admin
            .upload(&draft, "id_document", "giay.jpg", real, "image/jpeg")
            .await;
        assert_eq!(s, 201, "{b}");
        assert!(b["size"].as_u64().unwrap() <= 100 * 1024);
    });
}

// ---------------------------------------------------------------------------------------------------
// Malformed and hostile JSON
// ---------------------------------------------------------------------------------------------------

async fn send_raw(
    c: &Client,
    method: reqwest::Method,
    path: &str,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut rq = c
        .http
        .request(method, format!("{}{}", c.base, path))
        .header("x-csrf-token", &c.csrf)
        .body(body);
    if let Some(t) = ctype {
        rq = rq.header("content-type", t);
    }
    let r = rq.send().await.unwrap();
    let s = r.status().as_u16();
    let text = r.bytes().await.unwrap();
    let v = serde_json::from_slice(&text).unwrap_or_else(|e| {
        panic!(
            "{method_path}: the error is not JSON ({e}): {}",
            String::from_utf8_lossy(&text),
            method_path = path
        )
    });
    (s, v)
}

/// One hostile body: what it is, its content type, its bytes, the expected status and code.
type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, u16, &'a str);

#[test]
fn malformed_and_hostile_json_is_refused_with_a_4xx_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("field", &tmp.path().join("field"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let draft = new_draft(&admin).await;
        let name = "requester.full_name";
        let (s, b) = admin
            .put(
                &format!("/api/v1/drafts/{draft}"),
                json!({"fields": {name: "Lò Thị Mai"}, "version": 1}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let before = snapshot(&admin, &draft).await;
        let v = before.0["version"].as_i64().unwrap();
        let put = format!("/api/v1/drafts/{draft}");
        let nested = |n: usize| {
            format!(
                "{{\"fields\": {{\"{name}\": {}{}}}, \"version\": {v}}}",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        let j = "application/json";
        let cases: Vec<Case> = vec![
            ("truncated", Some(j), format!("{{\"fields\": {{\"{name}\": \"Lò Văn").into_bytes(), 400, "bad_request"),
            ("empty body", Some(j), vec![], 400, "bad_request"),
            ("null", Some(j), b"null".to_vec(), 400, "bad_request"),
            ("an array", Some(j), b"[]".to_vec(), 400, "bad_request"),
            ("a string", Some(j), b"\"x\"".to_vec(), 400, "bad_request"),
            ("fields a string", Some(j), format!("{{\"fields\": \"x\", \"version\": {v}}}").into_bytes(), 400, "bad_request"),
            ("a number value", Some(j), format!("{{\"fields\": {{\"{name}\": 5}}, \"version\": {v}}}").into_bytes(), 400, "bad_request"),
            ("an object value", Some(j), format!("{{\"fields\": {{\"{name}\": {{}}}}, \"version\": {v}}}").into_bytes(), 400, "bad_request"),
            ("version a string", Some(j), format!("{{\"fields\": {{}}, \"version\": \"{v}\"}}").into_bytes(), 400, "bad_request"),
            ("version missing", Some(j), b"{\"fields\": {}}".to_vec(), 400, "bad_request"),
            ("unknown top-level field", Some(j), format!("{{\"fields\": {{}}, \"version\": {v}, \"role\": \"admin\"}}").into_bytes(), 400, "bad_request"),
            ("nested 10000 deep", Some(j), nested(10_000).into_bytes(), 400, "bad_request"),
            ("nested 100000 deep", Some(j), nested(100_000).into_bytes(), 400, "bad_request"),
            ("huge integer", Some(j), b"{\"fields\": {}, \"version\": 123456789012345678901234567890}".to_vec(), 400, "bad_request"),
            ("huge float", Some(j), b"{\"fields\": {}, \"version\": 1e999}".to_vec(), 400, "bad_request"),
            ("negative huge", Some(j), b"{\"fields\": {}, \"version\": -1e400}".to_vec(), 400, "bad_request"),
            ("duplicate top-level key", Some(j), format!("{{\"fields\": {{}}, \"fields\": {{\"{name}\": \"X\"}}, \"version\": {v}}}").into_bytes(), 400, "bad_request"),
            ("duplicate field key", Some(j), format!("{{\"fields\": {{\"{name}\": \"Lò Thị Mai\", \"{name}\": \"Kẻ Giả\"}}, \"version\": {v}}}").into_bytes(), 400, "bad_request"),
            ("invalid UTF-8", Some(j), [format!("{{\"fields\": {{\"{name}\": \"L").as_bytes(), b"\xff\xfe\xc3", format!("\"}}, \"version\": {v}}}").as_bytes()].concat(), 400, "bad_request"),
            ("overlong UTF-8", Some(j), [format!("{{\"fields\": {{\"{name}\": \"").as_bytes(), b"\xc0\xaf", format!("\"}}, \"version\": {v}}}").as_bytes()].concat(), 400, "bad_request"),
            ("lone surrogate", Some(j), format!("{{\"fields\": {{\"{name}\": \"L\\ud800\"}}, \"version\": {v}}}").into_bytes(), 400, "bad_request"),
            ("lone low surrogate", Some(j), format!("{{\"fields\": {{\"{name}\": \"\\udc00x\"}}, \"version\": {v}}}").into_bytes(), 400, "bad_request"),
            ("byte order mark", Some(j), [&b"\xef\xbb\xbf"[..], format!("{{\"fields\": {{}}, \"version\": {v}}}").as_bytes()].concat(), 400, "bad_request"),
            ("trailing garbage", Some(j), format!("{{\"fields\": {{}}, \"version\": {v}}} x").into_bytes(), 400, "bad_request"),
            ("NUL in a value", Some(j), format!("{{\"fields\": {{\"{name}\": \"Lò\\u0000Mai\"}}, \"version\": {v}}}").into_bytes(), 422, "validation_failed"),
            ("control character", Some(j), format!("{{\"fields\": {{\"{name}\": \"Lò\\u001bMai\"}}, \"version\": {v}}}").into_bytes(), 422, "validation_failed"),
            ("bidi override", Some(j), format!("{{\"fields\": {{\"{name}\": \"Lò\\u202eiaM\"}}, \"version\": {v}}}").into_bytes(), 422, "validation_failed"),
            ("unknown form field", Some(j), format!("{{\"fields\": {{\"is_admin\": \"yes\"}}, \"version\": {v}}}").into_bytes(), 422, "validation_failed"),
            ("text/plain", Some("text/plain"), format!("{{\"fields\": {{}}, \"version\": {v}}}").into_bytes(), 415, "unsupported_media"),
            ("form-urlencoded", Some("application/x-www-form-urlencoded"), b"fields=x&version=1".to_vec(), 415, "unsupported_media"),
            ("no content type", None, format!("{{\"fields\": {{}}, \"version\": {v}}}").into_bytes(), 415, "unsupported_media"),
        ];
        for (what, ctype, body, status, want) in &cases {
            for (m, path) in [
                (reqwest::Method::PUT, put.as_str()),
                (reqwest::Method::POST, "/api/v1/drafts"),
            ] {
                let (s, b) = send_raw(&admin, m.clone(), path, *ctype, body.clone()).await;
                // POST /drafts takes `procedure`, not `version`: only the content-type and syntax cases
                // are compared there, and any refusal must still be a 4xx JSON error.
                if m == reqwest::Method::PUT {
                    assert_eq!((s, code(&b)), (*status, *want), "{what}: {b}");
                } else {
                    assert!(
                        (400..500).contains(&s) && !code(&b).is_empty(),
                        "POST {what}: {s} {b}"
                    );
                }
                assert!(
                    b["error"]["message_vi"].is_string() && b["error"]["message_en"].is_string(),
                    "{what}: {b}"
                );
            }
            assert_eq!(
                snapshot(&admin, &draft).await,
                before,
                "{what} changed the draft"
            );
        }
        // The hub is still healthy and answers a proper request.
        healthy(&admin).await;

        // Text in a decomposed form (NFD, as some phone keyboards send it) is stored normalised to NFC.
        let nfd = "Lo\u{300} Thi\u{323} Mai";
        let (s, b) = admin
            .put(&put, json!({"fields": {name: nfd}, "version": v}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["fields"][name].as_str(), Some("Lò Thị Mai"));
        // And the same on the login route: a hostile body there is a 4xx too, not a lockout or a 500.
        for body in [
            &b"{\"name\": \"admin\", \"password\": \"x\", \"password\": \"y\"}"[..],
            b"{\"name\": [[[[[[[[[[",
            b"\xef\xbb\xbf{}",
        ] {
            let (s, b) = send_raw(
                &admin,
                reqwest::Method::POST,
                "/api/v1/login",
                Some(j),
                body.to_vec(),
            )
            .await;
            assert_eq!((s, code(&b)), (400, "bad_request"), "{b}");
        }
        healthy(&admin).await;
    });
}

// ---------------------------------------------------------------------------------------------------
// axum's own rejections answer JSON too
// ---------------------------------------------------------------------------------------------------

#[test]
fn a_bad_query_string_or_path_parameter_answers_the_json_error_body() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with("office", &tmp.path().join("office"), &[]);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        // A page size that is not a number, and an unknown query parameter (deny_unknown_fields).
        for q in ["limit=abc", "nosuch=1"] {
            let (s, b) = admin.get(&format!("/api/v1/office/dossiers?{q}")).await;
            assert_eq!(s, 400, "{q}: {b}");
            assert_eq!(code(&b), "bad_request", "{q}: {b}");
            let e = &b["error"];
            assert!(
                e["message_vi"]
                    .as_str()
                    .unwrap()
                    .starts_with("Yêu cầu không hợp lệ"),
                "{b}"
            );
            assert!(
                e["message_en"]
                    .as_str()
                    .unwrap()
                    .starts_with("The request is not valid"),
                "{b}"
            );
        }
        // A quarantine entry id that is not a number (Path<i64>).
        let (s, b) = admin
            .post("/api/v1/office/quarantine/not-a-number/resolve", json!({}))
            .await;
        assert_eq!(s, 400, "{b}");
        assert_eq!(code(&b), "bad_request", "{b}");
        healthy(&admin).await;
    });
}
