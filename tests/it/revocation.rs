//! Revocation from a sequence number (issue 19): a field hub seals dossiers, some reach the office; then
//! its data directory is copied by a thief, who forges more dossiers with the device key, and a
//! cancellation of a genuine one. The office revokes the device from a sequence number: the genuine
//! envelopes below it are still accepted (by batch file and by network sync), the forged ones at or above
//! are quarantined `device_revoked` (the forged cancellation too), and `hub receipt verify` at the office
//! says REVOKED for a forged receipt and still valid for a genuine one below the cutoff. A full revocation
//! still refuses everything.

use std::path::Path;

use crate::common::*;
use serde_json::{json, Value};

fn db(dir: &Path) -> rusqlite::Connection {
    crate::common::db(dir.join("hub.sqlite")).unwrap()
}

/// Copies directory `from` into `to` with its subdirectories (what a thief does with a data directory).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&e.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn received_seqs(office_dir: &Path) -> Vec<i64> {
    let c = db(office_dir);
    let mut st = c
        .prepare("SELECT seq FROM received_envelopes ORDER BY seq")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// Open quarantine items as (seq, reason, via).
fn quarantined(office_dir: &Path) -> Vec<(i64, String, String)> {
    let c = db(office_dir);
    let mut st = c
        .prepare("SELECT seq, reason, via FROM quarantine WHERE resolved_at IS NULL ORDER BY seq")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

fn sync(field_dir: &Path, office: &Hub) -> std::process::Output {
    cli(
        &[
            "sync",
            "--data",
            field_dir.to_str().unwrap(),
            "--mdns",
            "off",
            "--office-url",
            &office.base,
        ],
        &[],
    )
}

/// `hub receipt verify` at the office: (exit code, standard output).
fn verify_receipt(office_dir: &Path, qr: &str) -> (i32, String) {
    let out = cli(
        &[
            "receipt",
            "verify",
            "--data",
            office_dir.to_str().unwrap(),
            qr,
        ],
        &[],
    );
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

async fn seal_one(c: &Client, name: &str, pin: &str) -> Value {
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    capture_and_seal(c, name, pin, &photo).await.0
}

#[test]
fn a_stolen_device_revoked_from_a_seq_keeps_what_was_genuine() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    init_hub("field", &field_dir, Some("Trạm Bù Gia Mập"));
    init_hub("office", &office_dir, Some("UBND xã Bù Gia Mập"));
    pair_by_files(tmp.path(), &field_dir, &office_dir);
    let device = crate::common::hub_keys(&field_dir).device_id.to_string();

    // The genuine hub: seqs 1 and 2 reach the office by USB stick.
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    let mut genuine = block_on(async {
        let c = field_officer(&field, "mat-khau-can-bo").await;
        vec![
            seal_one(&c, "Điểu Thị Hạnh", "070198001234").await,
            seal_one(&c, "Thị Sa Ly", "058198004567").await,
        ]
    });
    drop(field);
    carry_batch(&tmp.path().join("first.batch"), &field_dir, &office_dir);
    // Seq 3, then a stick made before the theft (it carries 1–3); then seq 4, still only on the hub.
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        let c = Client::login(&field.base, "canbo", "mat-khau-can-bo").await;
        genuine.push(seal_one(&c, "Ka Thị Nga", "070198009876").await);
    });
    drop(field);
    let stick = tmp.path().join("before-theft.batch");
    batch_export(&field_dir, &stick, &[]);
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        let c = Client::login(&field.base, "canbo", "mat-khau-can-bo").await;
        genuine.push(seal_one(&c, "Điểu Văn Bình", "070198004444").await);
    });
    drop(field);

    // The theft: the data directory is copied. The thief forges seqs 5 and 6 with the device key.
    let thief_dir = tmp.path().join("thief");
    copy_tree(&field_dir, &thief_dir);
    let thief = Hub::start_with("field", &thief_dir, &["--sync", "off"]);
    let forged = block_on(async {
        let c = Client::login(&thief.base, "canbo", "mat-khau-can-bo").await;
        vec![
            seal_one(&c, "Người Giả Một", "070198005555").await,
            seal_one(&c, "Người Giả Hai", "070198006666").await,
        ]
    });
    drop(thief);

    let office = Hub::start("office", &office_dir);
    block_on(async {
        let (_, clerk) = office_clerk(&office).await;
        // The clerk sees the last seq received and when; the theft happened after seq 4 was sealed.
        let (s, list) = clerk.get("/api/v1/pairing/devices").await;
        assert_eq!(s, 200, "{list}");
        let d = &list["devices"][0];
        assert_eq!(d["device_id"], device.as_str());
        assert_eq!(d["last_received_seq"], 2, "{d}");
        assert!(d["last_received_at"].is_string(), "{d}");
        let (s, b) = clerk
            .post(
                &format!("/api/v1/pairing/devices/{device}/revoke"),
                json!({"reason": "Máy bị lấy cắp", "from_seq": 0}),
            )
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (422, Some("from_seq_invalid")),
            "{b}"
        );
        let (s, b) = clerk
            .post(
                &format!("/api/v1/pairing/devices/{device}/revoke"),
                json!({"reason": "Máy bị lấy cắp", "from_seq": 5}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["revoked_from_seq"], 5);
        assert_eq!(b["held_at_or_above"], 0);
        let (_, list) = clerk.get("/api/v1/pairing/devices").await;
        assert_eq!(list["devices"][0]["status"], "revoked");
        assert_eq!(list["devices"][0]["revoked_from_seq"], 5);
    });

    // The device's news (status results, PINs among them) is no longer served: its key may be a thief's.
    let office_id = crate::common::hub_keys(&office_dir).device_id.to_string();
    block_on(async {
        let token =
            field_sync_token(&office, &thief_dir, &office_id, "2026-12-07T08:00:00+07:00").await;
        let r = reqwest::Client::new()
            .get(office.url("/api/v1/sync/news?after=0"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["error"]["code"], "device_revoked", "{b}");
    });

    // By batch file: genuine seq 3 is accepted (1 and 2 already held).
    let (code, report) = batch_import_json(&office_dir, &stick);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["accepted"], true, "{report:#}");
    assert_eq!(report["stored"], 1, "{report:#}");
    assert_eq!(received_seqs(&office_dir), vec![1, 2, 3]);

    // By network: the genuine hub uploads seq 4, below the cutoff.
    let out = sync(&field_dir, &office);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(received_seqs(&office_dir), vec![1, 2, 3, 4]);

    // The thief syncs over the network: 5 and 6 are quarantined, nothing of theirs is stored.
    let out = sync(&thief_dir, &office);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("alarm"), "{text}");
    assert_eq!(received_seqs(&office_dir), vec![1, 2, 3, 4]);
    assert_eq!(
        quarantined(&office_dir),
        vec![
            (5, "device_revoked".into(), "network".into()),
            (6, "device_revoked".into(), "network".into())
        ]
    );

    // The thief then cancels a genuine dossier (seq 7) and carries it by USB: quarantined too.
    let thief = Hub::start_with("field", &thief_dir, &["--sync", "off"]);
    block_on(async {
        let c = Client::login(&thief.base, "canbo", "mat-khau-can-bo").await;
        let target = genuine[2]["dossier_id"].as_str().unwrap();
        let (s, void) = c
            .post(
                &format!("/api/v1/dossiers/{target}/void"),
                json!({"reason": "Người dân rút hồ sơ"}),
            )
            .await;
        assert_eq!(s, 201, "{void}");
        assert_eq!(void["disposition"], "voids");
    });
    drop(thief);
    let thief_batch = tmp.path().join("thief.batch");
    batch_export(&thief_dir, &thief_batch, &[]);
    let (code, report) = batch_import_json(&office_dir, &thief_batch);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["stored"], 0, "{report:#}");
    let q: Vec<(u64, &str)> = report["quarantined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["seq"].as_u64().unwrap(), q["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        q,
        vec![
            (5, "device_revoked"),
            (6, "device_revoked"),
            (7, "device_revoked")
        ]
    );
    assert!(report["quarantined"][2]["detail"]
        .as_str()
        .unwrap()
        .contains("from sequence number 5"));
    assert!(quarantined(&office_dir).contains(&(7, "device_revoked".into(), "file".into())));
    let voids: i64 = db(&office_dir)
        .query_row(
            "SELECT count(*) FROM received_dossiers WHERE disposition = 'voids'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(voids, 0, "the forged cancellation was not taken");
    assert_eq!(received_seqs(&office_dir), vec![1, 2, 3, 4]);

    // Receipts: a forged one is REVOKED and refused; a genuine one below the cutoff still counts.
    let (code, out) = verify_receipt(&office_dir, forged[0]["qr"].as_str().unwrap());
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("REVOKED from seq 5:"), "{out}");
    assert!(out.contains("reported lost or stolen on"), "{out}");
    assert!(out.contains("Máy bị lấy cắp"), "{out}");
    assert!(out.contains("refused"), "{out}");
    assert!(!out.contains("VALID"), "{out}");
    let (code, out) = verify_receipt(&office_dir, genuine[2]["qr"].as_str().unwrap());
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("REVOKED from seq 5:"), "{out}");
    assert!(
        out.contains("This receipt's dossier is seq 3, below the cutoff: accepted"),
        "{out}"
    );
    assert!(out.contains("The receipt is VALID."), "{out}");

    // A full revocation (as before cutoffs existed) refuses everything, the genuine hub's uploads too.
    let listed = cli_ok(
        &["devices", "--data", office_dir.to_str().unwrap(), "list"],
        &[],
    );
    assert!(listed.contains("from seq 5"), "{listed}");
    assert!(listed.contains("last received seq 4"), "{listed}");
    let out = cli_ok(
        &[
            "devices",
            "--data",
            office_dir.to_str().unwrap(),
            "revoke",
            &device,
            "--reason",
            "Mất hẳn",
        ],
        &[],
    );
    assert!(
        out.contains(&format!("Last envelope received from {device}: seq 4")),
        "{out}"
    );
    assert!(out.contains("Revoked entirely"), "{out}");
    let out = sync(&field_dir, &office);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("device_revoked"));
    let (code, report) = batch_import_json(&office_dir, &stick);
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["accepted"], false, "{report:#}");
    let (code, out) = verify_receipt(&office_dir, forged[1]["qr"].as_str().unwrap());
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("REVOKED: the device"), "{out}");
    let (code, out) = verify_receipt(&office_dir, genuine[0]["qr"].as_str().unwrap());
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("before the revocation: accepted"), "{out}");

    // `--from-seq next`: the last seq received + 1.
    let out = cli_ok(
        &[
            "devices",
            "--data",
            office_dir.to_str().unwrap(),
            "revoke",
            &device,
            "--reason",
            "Máy bị lấy cắp",
            "--from-seq",
            "next",
        ],
        &[],
    );
    assert!(out.contains("Revoked from seq 5"), "{out}");
    drop(office);
}
