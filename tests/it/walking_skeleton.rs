//! The whole path on real processes: a field hub and an office hub on loopback ports with temporary data
//! directories. Setup link → users → capture with a photo → seal (unprotected, then protected on pairing)
//! → batch export → office verifies and imports → clerk reads byte-identical values and photo bytes.

use crate::common::*;
use serde_json::{json, Value};

#[test]
fn capture_seal_export_import_reconcile() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();

    let field = Hub::start("field", &field_dir);
    block_on(async {
        let (s, h) = Client::new(&field.base).get("/healthz").await;
        assert_eq!(s, 200);
        assert_eq!(h["mode"], "field");
        assert_eq!(h["device_id"].as_str().unwrap().len(), 16);
        assert!(h["version"].is_string());
    });

    // Keys exist with mode 0600.
    use std::os::unix::fs::PermissionsExt;
    for f in ["device.ed25519", "encrypt.age"] {
        let m = std::fs::metadata(field_dir.join("keys").join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o777, 0o600, "{f}");
    }

    let (receipt1, fields1, receipt2, fields2, field_copy) = block_on(async {
        let admin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        // The setup link works once only.
        let (s, b) = Client::new(&field.base)
            .post("/api/v1/setup", json!({"token": field.setup_token.clone().unwrap(), "name": "x", "password": "12345678"}))
            .await;
        assert_eq!(s, 409, "{b}");
        assert_eq!(b["error"]["code"], "setup_done");

        admin.add_user("canbo", "officer", "mat-khau-can-bo").await;
        let (s, b) = admin
            .post(
                "/api/v1/users",
                json!({"name": "x", "role": "clerk", "password": "12345678"}),
            )
            .await;
        assert_eq!(s, 400, "a clerk exists only on the office: {b}");
        // The CLI adds users while the hub is serving the same directory.
        cli_ok(
            &[
                "user",
                "add",
                "--data",
                field_dir.to_str().unwrap(),
                "--role",
                "volunteer",
                "--name",
                "tinhnguyen",
            ],
            &[("HUB_PASSWORD", "mat-khau-tinh-nguyen")],
        );
        let officer = Client::login(&field.base, "canbo", "mat-khau-can-bo").await;
        let volunteer = Client::login(&field.base, "tinhnguyen", "mat-khau-tinh-nguyen").await;

        // Unpaired: sealing works but says plainly the dossier is not protected.
        let (status, _) = officer.get("/api/v1/status").await;
        assert_eq!(status, 200);
        // The field hub stores only a processed copy of a photo (upright, small, no metadata); processing
        // is deterministic, so the copy of this upload is the one every sealed dossier below carries.
        let field_copy = stored_copy(&officer, &photo).await;
        assert!(field_copy != photo && field_copy.len() <= 100 * 1024);
        let (receipt1, fields1) =
            capture_and_seal(&officer, "Điểu Thị Hạnh", "070198001234", &photo).await;
        assert_eq!(receipt1["protected"], false, "{receipt1}");
        assert!(receipt1["seq"].is_null());
        let (_, st) = officer.get("/api/v1/status").await;
        assert_eq!(st["paired"], false);
        assert_eq!(st["pending_protection"], 1);

        // A volunteer captures but cannot seal.
        let (s, d) = volunteer
            .post(
                "/api/v1/drafts",
                json!({"procedure": {"id": "marital-status-certificate", "version": 1}}),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        let (s, b) = volunteer
            .post(
                &format!("/api/v1/drafts/{}/seal", d["id"].as_str().unwrap()),
                json!({}),
            )
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(b["error"]["code"], "forbidden");
        // The draft was removed at seal time: its id no longer resolves.
        let (s, _) = officer
            .get(&format!(
                "/api/v1/drafts/{}",
                receipt1["dossier_id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, 404);

        // Pairing by files while both hubs could be running.
        let office_init = init_office(&office_dir);
        assert!(office_init.contains("office"));
        let (out, _) = pair_by_files(tmp.path(), &field_dir, &office_dir);
        assert!(out.contains("Protected 1 dossier"), "{out}");

        let (_, st) = officer.get("/api/v1/status").await;
        assert_eq!(st["paired"], true);
        assert_eq!(st["pending_protection"], 0);
        assert_eq!(st["chain_head"], 1);
        let code1 = receipt1["code"].as_str().unwrap();
        let (s, r) = officer.get(&format!("/api/v1/receipts/{code1}")).await;
        assert_eq!(s, 200);
        assert_eq!(r["protected"], true);
        assert_eq!(r["seq"], 1);

        // The receipt was made offline: its code follows from the hub's id and receipt number 1, and its
        // signed QR verifies here and at the office (which trusts this hub's key card), offline.
        let (_, health) = officer.get("/healthz").await;
        let device = health["device_id"].as_str().expect("device id").to_owned();
        let qr = r["qr"].as_str().expect("receipt QR payload").to_owned();
        assert!(qr.starts_with("OKR1:{"), "{qr}");
        assert_eq!(r["tracking_number"], format!("{device}-1"));
        for dir in [&field_dir, &office_dir] {
            let out = cli_ok(
                &["receipt", "verify", "--data", dir.to_str().unwrap(), &qr],
                &[],
            );
            assert!(out.starts_with(&format!("VALID receipt {code1}")), "{out}");
        }
        // A receipt altered after signing (another procedure) is refused, with status 2.
        let forged = qr.replace("marital-status-certificate", "birth-residence-insurance");
        let out = cli(
            &[
                "receipt",
                "verify",
                "--data",
                office_dir.to_str().unwrap(),
                &forged,
            ],
            &[],
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stdout).contains("NOT VALID"));

        // Paired: sealing protects at once.
        let (receipt2, fields2) =
            capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        assert_eq!(receipt2["protected"], true);
        assert_eq!(receipt2["seq"], 2);
        assert_ne!(receipt2["code"], receipt1["code"]);
        (receipt1, fields1, receipt2, fields2, field_copy)
    });

    // USB path: export on the field, import on the office.
    let batch = tmp.path().join("lan-1.batch");
    let out = batch_export(&field_dir, &batch, &[]);
    assert!(out.contains("2 envelope(s)"), "{out}");
    let (code, report) = batch_import_json(&office_dir, &batch);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["accepted"], true);
    assert_eq!(report["stored"], 2);
    assert_eq!(report["gaps"], json!([]));

    // Importing the same file again is a replay: accepted, nothing new stored, nothing changes (and the ack
    // file is written again).
    let again = cli(
        &[
            "batch",
            "import",
            "--data",
            office_dir.to_str().unwrap(),
            batch.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("Nothing new"));

    // The clerk's view.
    let office = Hub::start("office", &office_dir);
    block_on(async {
        let (admin, clerk) = office_clerk(&office).await;
        let (s, _) = admin
            .post(
                "/api/v1/users",
                json!({"name": "cb", "role": "officer", "password": "12345678"}),
            )
            .await;
        assert_eq!(s, 400, "no officers at the office");
        // Field routes do not exist at the office.
        let (s, b) = clerk.get("/api/v1/drafts").await;
        assert_eq!((s, b["error"]["code"].as_str()), (404, Some("wrong_mode")));

        let (s, list) = clerk.get("/api/v1/office/dossiers").await;
        assert_eq!(s, 200);
        let list = list["dossiers"].as_array().unwrap().clone();
        assert_eq!(list.len(), 2);
        for (receipt, fields) in [(&receipt1, &fields1), (&receipt2, &fields2)] {
            let id = receipt["dossier_id"].as_str().unwrap();
            let (s, d) = clerk.get(&format!("/api/v1/office/dossiers/{id}")).await;
            assert_eq!(s, 200, "{d}");
            assert_eq!(d["verification"], "verified");
            assert_eq!(d["receipt_code"], receipt["code"]);
            let got: std::collections::BTreeMap<String, String> =
                serde_json::from_value(d["fields"].clone()).unwrap();
            assert_eq!(&got, fields, "field values must arrive byte-identical");
            assert!(
                d["checks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|c| c["ok"] == true),
                "{}",
                d["checks"]
            );
            let (s, bytes) = clerk
                .get_bytes(&format!("/api/v1/office/dossiers/{id}/attachments/0"))
                .await;
            assert_eq!(s, 200);
            assert!(
                bytes == field_copy,
                "photo bytes must arrive byte-identical to the field hub's stored copy"
            );
        }
        let (_, imports) = clerk.get("/api/v1/office/imports").await;
        let imports = imports["imports"].as_array().unwrap();
        assert_eq!(imports.len(), 2);
        assert_eq!(imports[0]["stored"], 0, "newest first: the replay");
        assert_eq!(imports[0]["already_held"], 2);
        assert_eq!(imports[1]["stored"], 2);
    });
}

#[test]
fn roles_are_enforced_on_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let field = Hub::start("field", &dir);
    block_on(async {
        let anon = Client::new(&field.base);
        for path in [
            "/api/v1/drafts",
            "/api/v1/dossiers",
            "/api/v1/status",
            "/api/v1/procedures",
            "/api/v1/users",
        ] {
            let (s, b) = anon.get(path).await;
            assert_eq!(s, 401, "{path}: {b}");
            assert_eq!(b["error"]["code"], "unauthenticated");
            assert!(b["error"]["message_vi"].as_str().unwrap().len() > 5);
        }
        let admin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        // A state change without the CSRF token is refused.
        let r = admin
            .http
            .post(field.url("/api/v1/users"))
            .json(&json!({"name": "a", "role": "officer", "password": "12345678"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], "csrf");
        admin
            .post(
                "/api/v1/users",
                json!({"name": "tn", "role": "volunteer", "password": "mat-khau-tn"}),
            )
            .await;
        let vol = Client::login(&field.base, "tn", "mat-khau-tn").await;
        let (s, _) = vol.get("/api/v1/users").await;
        assert_eq!(s, 403, "only admins manage users");
        let (s, _) = vol.get("/api/v1/dossiers").await;
        assert_eq!(s, 403, "volunteers do not list sealed dossiers");
        let (s, _) = vol.get("/api/v1/office/dossiers").await;
        assert_eq!(s, 404, "office routes do not exist on a field hub");
        // Bad JSON is a clear 4xx, never a crash.
        let r = vol
            .http
            .post(field.url("/api/v1/drafts"))
            .header("x-csrf-token", &vol.csrf)
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        // Wrong password: refused, then rate-limited.
        for _ in 0..5 {
            let (s, _) = Client::new(&field.base)
                .post(
                    "/api/v1/login",
                    json!({"name": "tn", "password": "wrong-one"}),
                )
                .await;
            assert_eq!(s, 401);
        }
        let (s, b) = Client::new(&field.base)
            .post(
                "/api/v1/login",
                json!({"name": "tn", "password": "mat-khau-tn"}),
            )
            .await;
        assert_eq!(s, 429, "{b}");
    });
    // The CLI refuses a clerk on a field hub.
    let out = cli(
        &[
            "user",
            "add",
            "--data",
            dir.to_str().unwrap(),
            "--role",
            "clerk",
            "--name",
            "c",
        ],
        &[("HUB_PASSWORD", "12345678")],
    );
    assert!(!out.status.success());
    // An office cannot be served from a field directory (stop the field hub first: while it serves, the
    // directory's lock refuses any second hub before the mode is even read).
    drop(field);
    let out = std::process::Command::new(hub_bin())
        .args([
            "serve",
            "--mode",
            "office",
            "--data",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--mdns",
            "off",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("belongs to a field hub"));
}

/// Uploads `photo` to a fresh draft and returns the copy the field hub stored.
async fn stored_copy(c: &Client, photo: &[u8]) -> Vec<u8> {
    let (s, draft) = c
        .post(
            "/api/v1/drafts",
            json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}),
        )
        .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap();
    let (s, att) = c
        .upload(
            id,
            "id_document",
            "giay-to.jpg",
            photo.to_vec(),
            "image/jpeg",
        )
        .await;
    assert_eq!(s, 201, "{att}");
    let (s, bytes) = c
        .get_bytes(&format!(
            "/api/v1/drafts/{id}/attachments/{}",
            att["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        att["sha256"].as_str().unwrap(),
        protocol::sha256_hex(&bytes)
    );
    let (s, _) = c
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/drafts/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(s, 200);
    bytes
}
