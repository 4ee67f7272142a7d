//! Pairing by one-time code between two real hubs (issue 5, protocol §11.2–11.3): a clerk opens a code over
//! HTTP, the field admin pairs with it over HTTP, the office lists the device pending; a sync hello names the
//! device's status through approve and revoke; wrong, spent and expired codes are refused; a changed card for
//! a pinned device id is refused; dossiers sealed before pairing get protected; the CLI commands work while
//! the hubs run.

use crate::common::*;
use serde_json::{json, Value};

async fn raw_post(base: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// Opens a sync session as the field hub (its key read from its data directory) and returns the office's
/// answer to the hello.
async fn hello(office_base: &str, field_dir: &std::path::Path, office_id: &str) -> (u16, Value) {
    let keys = crate::common::hub_keys(field_dir);
    let (s, ch) = raw_post(office_base, "/api/v1/sync/challenge", vec![]).await;
    assert_eq!(s, 200, "{ch}");
    let h = protocol::SyncHello::new(
        keys.device_id.clone(),
        protocol::DeviceId::parse(office_id).unwrap(),
        ch["challenge"].as_str().unwrap().to_string(),
        "2026-11-23T08:00:00Z".into(),
    )
    .unwrap();
    let signed = protocol::SignedSyncHello::sign(h, &keys.device).unwrap();
    raw_post(
        office_base,
        "/api/v1/sync/hello",
        signed.to_bytes().unwrap(),
    )
    .await
}

fn set_code_expiry(office_dir: &std::path::Path, id: &str, when: &str) {
    let c = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let n = c
        .execute(
            "UPDATE pairing_codes SET expires_at = ?2 WHERE id = ?1",
            rusqlite::params![id, when],
        )
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn pairing_by_code_approval_and_revocation() {
    let tmp = tempfile::tempdir().unwrap();
    let office_dir = tmp.path().join("office");
    let field_dir = tmp.path().join("field");
    let office = Hub::start_with("office", &office_dir, &["--name", "UBND xã Bù Gia Mập"]);
    let field = Hub::start_with("field", &field_dir, &["--name", "Tổ lưu động 1"]);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();

    block_on(async {
        let oadmin = Client::setup(&office, "quantri", "mat-khau-quan-tri").await;
        let (s, b) = oadmin
            .post(
                "/api/v1/users",
                json!({"name": "vanthu", "role": "clerk", "password": "mat-khau-van-thu"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let clerk = Client::login(&office.base, "vanthu", "mat-khau-van-thu").await;
        let (_, health) = clerk.get("/healthz").await;
        let office_id = health["device_id"].as_str().unwrap().to_string();

        let fadmin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        let (s, b) = fadmin
            .post(
                "/api/v1/users",
                json!({"name": "canbo", "role": "officer", "password": "mat-khau-can-bo"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let officer = Client::login(&field.base, "canbo", "mat-khau-can-bo").await;

        // A dossier sealed before pairing is not yet protected.
        let (receipt, _) =
            capture_and_seal(&officer, "Điểu Thị Hạnh", "070198001234", &photo).await;
        assert_eq!(receipt["protected"], false, "{receipt}");
        let (_, st) = officer.get("/api/v1/status").await;
        assert_eq!(st["pending_protection"], 1, "{st}");

        // Nothing pinned yet on the field; the pair endpoint is the office's only.
        let (s, b) = fadmin.get("/api/v1/pairing/office").await;
        assert_eq!(s, 200, "{b}");
        assert!(b["office"].is_null());
        let (s, b) = raw_post(&field.base, "/api/v1/sync/pair", b"{}".to_vec()).await;
        assert_eq!(s, 404, "{b}");
        assert_eq!(b["error"]["code"], "wrong_mode");
        // Roles: a field officer cannot pair; a clerk cannot pair an office; only office staff open codes.
        let (s, _) = officer
            .post(
                "/api/v1/pairing/office",
                json!({"qr_text": "OKP1:http://x#008J-4CT4-ANK7-F24S-X"}),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = fadmin.post("/api/v1/pairing/codes", json!({})).await;
        assert_eq!(s, 404, "wrong mode");

        // The clerk opens a code.
        let (s, code) = clerk.post("/api/v1/pairing/codes", json!({})).await;
        assert_eq!(s, 201, "{code}");
        let qr_text = code["qr_text"].as_str().unwrap().to_string();
        let qr = protocol::PairingQr::parse(&qr_text).unwrap();
        assert_eq!(qr.code.to_string(), code["code"].as_str().unwrap());
        assert_eq!(
            qr.base_url, office.base,
            "the address the clerk reached the office at"
        );
        let (s, png) = clerk
            .get_bytes(&format!(
                "/api/v1/pairing/codes/{}/qr.png?url={}",
                code["id"].as_str().unwrap(),
                office.base
            ))
            .await;
        assert_eq!(s, 200);
        assert_eq!(&png[1..4], b"PNG");
        // The QR decodes to the same text.
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        let mut prep = rqrr::PreparedImage::prepare(img);
        let grids = prep.detect_grids();
        assert_eq!(grids[0].decode().unwrap().1, qr_text);

        // The field admin pairs with it (timed: browser → field → office and back, signatures both ways).
        let t0 = std::time::Instant::now();
        let (s, paired) = fadmin
            .post("/api/v1/pairing/office", json!({"qr_text": qr_text}))
            .await;
        eprintln!("pairing over HTTP took {} ms", t0.elapsed().as_millis());
        assert_eq!(s, 200, "{paired}");
        assert_eq!(paired["device_status"], "pending_approval");
        assert_eq!(paired["office"]["name"], "UBND xã Bù Gia Mập");
        assert_eq!(paired["office"]["device_id"], office_id.as_str());
        assert_eq!(paired["protected_now"], 1);
        let (_, st) = officer.get("/api/v1/status").await;
        assert_eq!(
            st["pending_protection"], 0,
            "pending dossiers protected: {st}"
        );
        let (_, list) = officer.get("/api/v1/dossiers").await;
        assert!(list["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["protected"] == true));

        let (_, o) = fadmin.get("/api/v1/pairing/office").await;
        assert_eq!(o["office"]["name"], "UBND xã Bù Gia Mập");
        assert_eq!(o["office"]["base_url"], office.base.as_str());
        assert_eq!(o["office"]["paired_via"], "code");

        let (s, devs) = clerk.get("/api/v1/pairing/devices").await;
        assert_eq!(s, 200, "{devs}");
        let d = &devs["devices"][0];
        assert_eq!(devs["devices"].as_array().unwrap().len(), 1);
        assert_eq!(d["name"], "Tổ lưu động 1");
        assert_eq!(d["status"], "pending_approval");
        assert_eq!(d["paired_via"], "code");
        assert_eq!(d["fingerprint"].as_str().unwrap().len(), 19);
        let field_id = d["device_id"].as_str().unwrap().to_string();
        assert_eq!(
            field_id,
            crate::common::hub_keys(&field_dir).device_id.as_str()
        );

        // A sync session opens, and names the status: uploads would be refused until approved.
        let (s, hb) = hello(&office.base, &field_dir, &office_id).await;
        assert_eq!(s, 200, "{hb}");
        assert_eq!(hb["device_status"], "pending_approval");

        // The spent code cannot be used again (a different device would be refused the same way).
        let (s, b) = fadmin
            .post("/api/v1/pairing/office", json!({"qr_text": qr_text}))
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(b["error"]["code"], "pairing_code_invalid");

        // A wrong code: refused, the office says nothing more.
        let (s, b) = fadmin
            .post(
                "/api/v1/pairing/office",
                json!({"url": office.base, "code": "008J-4CT4-ANK7-F24S-X"}),
            )
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(b["error"]["code"], "pairing_code_invalid");

        // An expired code is refused.
        let (_, code2) = clerk.post("/api/v1/pairing/codes", json!({})).await;
        set_code_expiry(
            &office_dir,
            code2["id"].as_str().unwrap(),
            "2020-01-01T00:00:00Z",
        );
        let (s, b) = fadmin
            .post(
                "/api/v1/pairing/office",
                json!({"qr_text": code2["qr_text"]}),
            )
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(b["error"]["code"], "pairing_code_invalid");
        let (s, _) = clerk
            .get_bytes(&format!(
                "/api/v1/pairing/codes/{}/qr.png",
                code2["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, 404, "no QR for a closed code");

        // Re-pairing with the same keys and a fresh code keeps the row and its status.
        let (_, code3) = clerk.post("/api/v1/pairing/codes", json!({})).await;
        let (s, again) = fadmin
            .post(
                "/api/v1/pairing/office",
                json!({"qr_text": code3["qr_text"]}),
            )
            .await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(again["already_paired"], true);
        assert_eq!(again["device_status"], "pending_approval");

        // A different card (same device key, another encryption key) for the pinned device id: 409.
        let keys = crate::common::hub_keys(&field_dir);
        let other_age = age::x25519::Identity::generate().to_public().to_string();
        let card = protocol::KeyCard::new(
            &keys.device,
            protocol::HubMode::Field,
            "Tổ lưu động 1".into(),
            other_age,
            "2026-11-23T08:00:00Z".into(),
        )
        .unwrap();
        let (_, code4) = clerk.post("/api/v1/pairing/codes", json!({})).await;
        let c4 = protocol::PairingCode::parse(code4["code"].as_str().unwrap()).unwrap();
        let req = protocol::PairRequest::new(card, &c4, "2026-11-23T08:00:00Z".into()).unwrap();
        let signed = protocol::SignedPairRequest::sign(req, &keys.device).unwrap();
        let (s, b) = raw_post(
            &office.base,
            "/api/v1/sync/pair",
            signed.to_bytes().unwrap(),
        )
        .await;
        assert_eq!(s, 409, "{b}");
        assert_eq!(b["error"]["code"], "device_key_changed");
        let (_, devs) = clerk.get("/api/v1/pairing/devices").await;
        assert_eq!(devs["devices"].as_array().unwrap().len(), 1);

        // Approve: the next hello says approved.
        let (s, b) = clerk
            .post(
                &format!("/api/v1/pairing/devices/{field_id}/approve"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (_, hb) = hello(&office.base, &field_dir, &office_id).await;
        assert_eq!(hb["device_status"], "approved");
        let (_, devs) = clerk.get("/api/v1/pairing/devices").await;
        assert_eq!(devs["devices"][0]["status"], "approved");
        assert_eq!(devs["devices"][0]["status_changed_by"], "vanthu");

        // Revoke needs a reason; then the device is revoked at once.
        let (s, b) = clerk
            .post(
                &format!("/api/v1/pairing/devices/{field_id}/revoke"),
                json!({"reason": "  "}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        let (s, b) = clerk
            .post(
                &format!("/api/v1/pairing/devices/{field_id}/revoke"),
                json!({"reason": "Máy bị mất"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (_, hb) = hello(&office.base, &field_dir, &office_id).await;
        assert_eq!(hb["device_status"], "revoked");
        let (_, devs) = clerk.get("/api/v1/pairing/devices").await;
        assert_eq!(devs["devices"][0]["status"], "revoked");
        assert_eq!(devs["devices"][0]["status_note"], "Máy bị mất");
        // The gate every upload route applies (intake's `status_gate`) refuses it as `device_revoked`.
        let gate = hub::shared::trust::status_gate(protocol::DeviceStatus::Revoked).unwrap_err();
        assert_eq!(gate.code, "device_revoked");
        // A revoked device cannot un-revoke itself by pairing again.
        let (_, code5) = clerk.post("/api/v1/pairing/codes", json!({})).await;
        let (s, again) = fadmin
            .post(
                "/api/v1/pairing/office",
                json!({"qr_text": code5["qr_text"]}),
            )
            .await;
        assert_eq!(s, 200, "{again}");
        assert_eq!(again["device_status"], "revoked");

        // Unknown device id: 404.
        let (s, _) = clerk
            .post("/api/v1/pairing/devices/nope/approve", json!({}))
            .await;
        assert_eq!(s, 404);

        // The command line, while both hubs run: a second field hub pairs with a code from `hub pairing-code`.
        let out = cli_ok(
            &[
                "pairing-code",
                "--data",
                office_dir.to_str().unwrap(),
                "--url",
                &office.base,
            ],
            &[],
        );
        let qr_line = out
            .lines()
            .find_map(|l| l.strip_prefix("QR text: "))
            .expect("QR text printed")
            .to_string();
        assert!(out.contains('█') || out.contains('▀'), "terminal QR drawn");
        let field2 = tmp.path().join("field2");
        cli_ok(
            &[
                "init",
                "--mode",
                "field",
                "--data",
                field2.to_str().unwrap(),
                "--name",
                "Tổ lưu động 2",
            ],
            &[],
        );
        let out = cli_ok(
            &["pair", "--data", field2.to_str().unwrap(), "--qr", &qr_line],
            &[],
        );
        assert!(out.contains("UBND xã Bù Gia Mập"), "{out}");
        assert!(out.contains("Waiting for a clerk"), "{out}");
        let out = cli_ok(&["devices", "--data", office_dir.to_str().unwrap()], &[]);
        assert!(
            out.contains("Tổ lưu động 2") && out.contains("pending_approval"),
            "{out}"
        );
        let id2 = crate::common::hub_keys(&field2)
            .device_id
            .as_str()
            .to_string();
        cli_ok(
            &[
                "devices",
                "--data",
                office_dir.to_str().unwrap(),
                "approve",
                &id2,
            ],
            &[],
        );
        let (_, devs) = clerk.get("/api/v1/pairing/devices").await;
        let row = devs["devices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["device_id"] == id2.as_str())
            .unwrap()
            .clone();
        assert_eq!(row["status"], "approved");
        // An unreachable office is a plain error.
        let out = cli(
            &[
                "pair",
                "--data",
                field2.to_str().unwrap(),
                "--url",
                "http://127.0.0.1:9",
                "--code",
                "008J-4CT4-ANK7-F24S-X",
            ],
            &[],
        );
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("office_unreachable"));
    });
}

#[test]
fn pairing_guesses_are_rate_limited_per_client() {
    let tmp = tempfile::tempdir().unwrap();
    let office = Hub::start("office", &tmp.path().join("office"));
    let field_dir = tmp.path().join("field");
    init_hub("field", &field_dir, None);
    let keys = crate::common::hub_keys(&field_dir);
    block_on(async {
        let card = keys
            .key_card(protocol::HubMode::Field, "guesser", "2026-11-23T08:00:00Z")
            .unwrap();
        let mut codes = Vec::new();
        for i in 0..6u8 {
            let code = protocol::PairingCode::from_bytes([i; 10]);
            let req =
                protocol::PairRequest::new(card.clone(), &code, "2026-11-23T08:00:00Z".into())
                    .unwrap();
            let signed = protocol::SignedPairRequest::sign(req, &keys.device).unwrap();
            codes.push(
                raw_post(
                    &office.base,
                    "/api/v1/sync/pair",
                    signed.to_bytes().unwrap(),
                )
                .await,
            );
        }
        for (s, b) in &codes[..5] {
            assert_eq!(*s, 403, "{b}");
            assert_eq!(b["error"]["code"], "pairing_code_invalid");
        }
        assert_eq!(codes[5].0, 429, "{}", codes[5].1);
        assert_eq!(codes[5].1["error"]["code"], "too_many_attempts");
        // A malformed body is a bad message (and counts too).
        let (s, b) = raw_post(&office.base, "/api/v1/sync/pair", b"{\"x\":1}".to_vec()).await;
        assert_eq!(s, 429, "{b}");
    });
}
