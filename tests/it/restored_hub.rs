//! A field hub restored from a backup, on real processes (issue 23, the guard): the restored hub does not
//! seal until a sync has compared its chain with the office's holdings. Restored from a backup older than
//! what the office holds, the sync finds it, sealing stops (no receipt code is handed out twice) while
//! drafts go on, and `hub chain status` says why. Restored from the latest backup, the first sync lets it
//! seal again; `hub chain confirm` lets an admin allow it before a sync.

use std::path::Path;

use crate::backup::{recovery_key, run, s};
use crate::common::*;
use serde_json::{json, Value};

/// A field and an office data directory in `tmp`, paired both ways by key cards (the device approved).
fn paired(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let field_dir = tmp.join("field");
    let office_dir = tmp.join("office");
    init_hub("field", &field_dir, Some("Trạm Bù Gia Mập"));
    init_hub("office", &office_dir, Some("UBND xã Bù Gia Mập"));
    for (from, to) in [(&field_dir, &office_dir), (&office_dir, &field_dir)] {
        let card = tmp.join("card.pub");
        key_card(from, &card);
        trust_card(to, &card);
    }
    (field_dir, office_dir)
}

/// `hub backup` of the serving hub in `field_dir` into `out` (off the async threads).
async fn backup(field_dir: &Path, out: &Path) {
    let (d, b) = (field_dir.to_path_buf(), out.to_path_buf());
    let (code, out, err) =
        tokio::task::spawn_blocking(move || run(&["backup", "--data", s(&d), "--out", s(&b)], &[]))
            .await
            .unwrap();
    assert_eq!(code, 0, "{out}\n{err}");
}

fn sync(field_dir: &Path, office: &Hub) -> (i32, String, String) {
    run(
        &[
            "sync",
            "--data",
            s(field_dir),
            "--mdns",
            "off",
            "--office-url",
            &office.base,
        ],
        &[],
    )
}

fn restore(backup: &Path, into: &Path, key: &Path) -> String {
    let (code, out, err) = run(
        &[
            "restore",
            "--data",
            s(into),
            "--from",
            s(backup),
            "--identity",
            s(key),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    out
}

async fn try_seal(c: &Client, photo: &[u8], subject: &str, pin: &str) -> (u16, Value) {
    let id = fill_draft(
        c,
        "marital-status-certificate",
        &marital_fields(subject, pin),
        &["id_document"],
        "giay-to.jpg",
        photo,
    )
    .await;
    c.post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
        .await
}

#[test]
fn a_hub_restored_from_an_older_backup_stops_sealing_instead_of_reusing_receipt_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let (field_dir, office_dir) = paired(tmp.path());
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let office = Hub::start("office", &office_dir);
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    let key = recovery_key(&field_dir, tmp.path(), "recovery.key");
    let old_backup = tmp.path().join("old.hubbackup");
    let latest_backup = tmp.path().join("latest.hubbackup");
    let codes = block_on(async {
        let officer = field_officer(&field, "mat-khau-can-bo").await;
        let (first, _) = capture_and_seal(&officer, "Điểu Thị Hạnh", "070198001234", &photo).await;
        backup(&field_dir, &old_backup).await;
        let (second, _) = capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        backup(&field_dir, &latest_backup).await;
        [first, second].map(|r| r["code"].as_str().unwrap().to_string())
    });
    drop(field);
    // The office receives both dossiers (seq 1 and 2).
    let (code, out, err) = sync(&field_dir, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("alarms_standing=0"), "{out}");

    // The card dies; the hub is restored from the OLDER backup (seq 1 only).
    let restored = tmp.path().join("restored");
    let out = restore(&old_backup, &restored, &key);
    assert!(out.contains("What this backup cannot know"), "{out}");
    assert!(out.contains("hub chain confirm"), "{out}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&restored)], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Sealing waits"), "{out}");

    let hub = Hub::start_with("field", &restored, &["--sync", "off"]);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-can-bo").await;
        let (st, status) = officer.get("/api/v1/status").await;
        assert_eq!(
            (st, status["chain"].as_str()),
            (200, Some("restored")),
            "{status}"
        );
        // Drafts go on; sealing waits (it would hand out the code of the office's seq 2 again).
        let (st, b) = try_seal(&officer, &photo, "Điểu Thị Mơ", "070198007777").await;
        assert_eq!(
            (st, b["error"]["code"].as_str()),
            (409, Some("chain_restored")),
            "{b}"
        );
        let (st, drafts) = officer.get("/api/v1/drafts").await;
        assert_eq!(st, 200);
        assert_eq!(
            drafts["drafts"].as_array().unwrap().len(),
            1,
            "the draft is kept"
        );
    });
    drop(hub);

    // The first sync finds the office holding seq 2, which this copy never had: sealing stops for good,
    // and the summary says so.
    let (code, out, err) = sync(&restored, &office);
    assert_eq!(
        code, 2,
        "sealing stopped: an officer must act: {out}\n{err}"
    );
    assert!(out.contains("Sealing stopped on this hub"), "{out}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&restored)], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Sealing stopped") && out.contains("up to seq 2"),
        "{out}"
    );
    let (code, _, err) = run(&["chain", "confirm", "--data", s(&restored)], &[]);
    assert_ne!(code, 0, "a divergence is not confirmed away");
    assert!(err.contains("call the commune office"), "{err}");
    let hub = Hub::start_with("field", &restored, &["--sync", "off"]);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-can-bo").await;
        let (_, status) = officer.get("/api/v1/status").await;
        assert_eq!(status["chain"], "diverged", "{status}");
        assert!(
            status["chain_detail"].as_str().unwrap().contains("seq 2"),
            "{status}"
        );
        let (_, drafts) = officer.get("/api/v1/drafts").await;
        let id = drafts["drafts"][0]["id"].as_str().unwrap().to_string();
        let (st, b) = officer
            .post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
            .await;
        assert_eq!(
            (st, b["error"]["code"].as_str()),
            (409, Some("chain_diverged")),
            "{b}"
        );
        assert!(
            b["error"]["message_vi"]
                .as_str()
                .unwrap()
                .contains("gọi văn phòng xã"),
            "{b}"
        );
    });
    drop(hub);
    // No receipt code was handed out twice: the office holds two dossiers with two codes, the restored
    // hub holds only the first.
    let office_codes: Vec<String> = {
        unlock_here(&office_dir);
        let c = db(office_dir.join("hub.sqlite")).unwrap();
        let mut st = c
            .prepare("SELECT receipt_code FROM received_dossiers ORDER BY receipt_code")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let mut expected = codes.to_vec();
    expected.sort();
    assert_eq!(office_codes, expected);

    // Restored from the LATEST backup: the first sync finds the chains in step and sealing resumes.
    let again = tmp.path().join("restored-latest");
    restore(&latest_backup, &again, &key);
    let (code, out, err) = sync(&again, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&again)], &[]);
    assert_eq!(code, 0, "{out}");
    let hub = Hub::start_with("field", &again, &["--sync", "off"]);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-can-bo").await;
        let (st, b) = try_seal(&officer, &photo, "Điểu Thị Mơ", "070198007777").await;
        assert_eq!(st, 201, "{b}");
        assert!(
            !codes.contains(&b["code"].as_str().unwrap().to_string()),
            "a new code: {b}"
        );
    });
    drop(hub);

    // `hub chain confirm`: an admin allows sealing on a restored hub before its first sync.
    let confirmed = tmp.path().join("restored-confirmed");
    restore(&latest_backup, &confirmed, &key);
    let (code, out, err) = run(&["chain", "confirm", "--data", s(&confirmed)], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&confirmed)], &[]);
    assert_eq!(code, 0, "{out}");
}
