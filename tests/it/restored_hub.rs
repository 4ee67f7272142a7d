//! A restored or cloned field hub, on real processes (issue 23, protocol §11.4.1–11.4.2 and §6.2).
//!
//! - Restored from a backup older than what the office holds: the restored hub still seals (receipts from
//!   a fresh range), the dossiers wait unchained; the first sync finds the office ahead, chains them after
//!   the office's head and sends them. Every dossier ends stored once and acknowledged, no receipt code
//!   twice in the office's records, no news reaches the wrong villager.
//! - A cloned card: two copies seal the same seqs and both sync. The second is set aside as equivocation,
//!   re-chained by its hub after the office's head in the same sync, stored once; the office records the
//!   receipt codes both copies issued under a relinked code, settles its quarantine items (shown side by
//!   side to the clerk), and tells the villager the new code by news.
//! - Restored from the latest backup, or confirmed by an admin, the hub seals into its chain at once.

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

/// The office's records: (dossier ids, receipt codes, unresolved quarantine items).
fn office_records(office_dir: &Path) -> (Vec<String>, Vec<String>, i64) {
    unlock_here(office_dir);
    let c = db(office_dir.join("hub.sqlite")).unwrap();
    let col = |sql: &str| -> Vec<String> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    let ids = col("SELECT dossier_id FROM received_dossiers ORDER BY dossier_id");
    let codes = col("SELECT receipt_code FROM received_dossiers ORDER BY receipt_code");
    let open: i64 = c
        .query_row(
            "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (ids, codes, open)
}

/// A field hub's sealed dossiers: (dossier ids, unacknowledged envelopes, dossiers not yet chained).
fn field_records(field_dir: &Path) -> (Vec<String>, i64, i64) {
    unlock_here(field_dir);
    let c = db(field_dir.join("hub.sqlite")).unwrap();
    let mut st = c
        .prepare("SELECT dossier_id FROM receipts ORDER BY dossier_id")
        .unwrap();
    let ids = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let count = |sql: &str| -> i64 { c.query_row(sql, [], |r| r.get(0)).unwrap() };
    (
        ids,
        count("SELECT count(*) FROM envelopes WHERE acked_at IS NULL"),
        count("SELECT count(*) FROM pending_protection"),
    )
}

fn no_duplicates(codes: &[String]) {
    let mut seen = std::collections::BTreeSet::new();
    for c in codes {
        assert!(
            seen.insert(c),
            "receipt code {c} twice in the office's records: {codes:?}"
        );
    }
}

#[test]
fn a_hub_restored_from_an_older_backup_seals_on_and_every_dossier_reaches_the_office_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (field_dir, office_dir) = paired(tmp.path());
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let office = Hub::start("office", &office_dir);
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    let key = recovery_key(&field_dir, tmp.path(), "recovery.key");
    let old_backup = tmp.path().join("old.hubbackup");
    let latest_backup = tmp.path().join("latest.hubbackup");
    let (codes, lost_ids) = block_on(async {
        let officer = field_officer(&field, "mat-khau-can-bo").await;
        let (first, _) = capture_and_seal(&officer, "Điểu Thị Hạnh", "070198001234", &photo).await;
        backup(&field_dir, &old_backup).await;
        let (second, _) = capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        let (third, _) = capture_and_seal(&officer, "Điểu Văn Bình", "070198002345", &photo).await;
        backup(&field_dir, &latest_backup).await;
        let all = [&first, &second, &third];
        (
            all.map(|r| r["code"].as_str().unwrap().to_string()),
            [&second, &third].map(|r| r["dossier_id"].as_str().unwrap().to_string()),
        )
    });
    drop(field);
    // The office receives the three dossiers (seq 1–3).
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
    assert!(out.contains("restored"), "{out}");

    // The restored hub seals at the next session, offline: receipts at once, from a fresh range (never a
    // code of the lost seq 2–3), the dossiers waiting for their place in the chain.
    let hub = Hub::start_with("field", &restored, &["--sync", "off"]);
    let new_receipts = block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-can-bo").await;
        let (st, status) = officer.get("/api/v1/status").await;
        assert_eq!(
            (st, status["chain"].as_str()),
            (200, Some("restored")),
            "{status}"
        );
        let mut out = Vec::new();
        for (name, pin) in [("Điểu Thị Mơ", "070198007777"), ("Thị Bé", "070198008888")] {
            let (st, b) = try_seal(&officer, &photo, name, pin).await;
            assert_eq!(st, 201, "{b}");
            assert_eq!(
                b["protected"], false,
                "waits for its place in the chain: {b}"
            );
            assert!(b["seq"].is_null(), "{b}");
            let tracking = b["tracking_number"].as_str().unwrap();
            let receipt_seq: u64 = tracking.rsplit('-').next().unwrap().parse().unwrap();
            assert!(receipt_seq >= 1 << 40, "a fresh receipt range: {tracking}");
            out.push(b);
        }
        let (_, status) = officer.get("/api/v1/status").await;
        assert_eq!(status["pending_protection"], 2, "{status}");
        out
    });
    drop(hub);
    for b in &new_receipts {
        assert!(
            !codes.contains(&b["code"].as_str().unwrap().to_string()),
            "a new code: {b}"
        );
    }

    // The first sync finds the office ahead (seq 3), chains the two after it and sends them.
    let (code, out, err) = sync(&restored, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("placed=2"), "{out}");
    assert!(out.contains("alarms_standing=0"), "{out}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&restored)], &[]);
    assert_eq!(code, 0, "sealing goes on into the chain: {out}");
    let (ids, office_codes, open) = office_records(&office_dir);
    assert_eq!(ids.len(), 5, "three before the restore, two after: {ids:?}");
    no_duplicates(&office_codes);
    assert_eq!(open, 0, "nothing set aside");
    let (field_ids, unacked, waiting) = field_records(&restored);
    assert_eq!((unacked, waiting), (0, 0), "all acknowledged");
    for id in &field_ids {
        assert!(ids.contains(id), "{id} reached the office");
    }
    for id in &lost_ids {
        assert!(!field_ids.contains(id), "the restored copy never had {id}");
    }
    // Sealing now goes straight into the chain, after the office's head.
    let hub = Hub::start_with("field", &restored, &["--sync", "off"]);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-can-bo").await;
        let (st, b) = try_seal(&officer, &photo, "Điểu Văn Tâm", "070198009999").await;
        assert_eq!((st, b["seq"].as_u64()), (201, Some(6)), "{b}");
    });
    drop(hub);
    let (code, out, err) = sync(&restored, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(office_records(&office_dir).0.len(), 6);

    // Restored from the LATEST backup: the first sync finds the chains in step... and the office ahead of
    // it (the first restored copy went on): it too chains what it seals after the office's head.
    let again = tmp.path().join("restored-latest");
    restore(&latest_backup, &again, &key);
    let (code, out, err) = sync(&again, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&again)], &[]);
    assert_eq!(code, 0, "{out}");

    // `hub chain confirm`: an admin allows sealing into the chain before the first sync.
    let confirmed = tmp.path().join("restored-confirmed");
    restore(&latest_backup, &confirmed, &key);
    let (code, out, err) = run(&["chain", "confirm", "--data", s(&confirmed)], &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&confirmed)], &[]);
    assert_eq!(code, 0, "{out}");
}

/// Copies a stopped hub's data directory, as `cp -a` of its card would.
fn clone_card(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp")
        .args(["-a", s(from), s(to)])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn a_cloned_card_ends_with_every_dossier_stored_once_and_no_receipt_code_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let (a_dir, office_dir) = paired(tmp.path());
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let office = Hub::start("office", &office_dir);
    let a = Hub::start_with("field", &a_dir, &["--sync", "off"]);
    block_on(async {
        let officer = field_officer(&a, "mat-khau-can-bo").await;
        for (n, pin) in [
            ("Điểu Thị Hạnh", "070198001234"),
            ("Thị Sa Ly", "058198004567"),
        ] {
            capture_and_seal(&officer, n, pin, &photo).await;
        }
    });
    drop(a);
    let (code, out, err) = sync(&a_dir, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    // The card is copied to a second Pi for a big session.
    let b_dir = tmp.path().join("clone");
    clone_card(&a_dir, &b_dir);

    // Copy A seals 3–5, copy B seals 3–6: the same seqs, the same receipt numbers.
    let seal_on = |dir: &Path, people: &[(&str, &str)]| -> Vec<Value> {
        let hub = Hub::start_with("field", dir, &["--sync", "off"]);
        let out = block_on(async {
            let officer = Client::login(&hub.base, "canbo", "mat-khau-can-bo").await;
            let mut out = Vec::new();
            for (n, pin) in people {
                let (st, b) = try_seal(&officer, &photo, n, pin).await;
                assert_eq!(st, 201, "{b}");
                out.push(b);
            }
            out
        });
        drop(hub);
        out
    };
    let on_a = seal_on(
        &a_dir,
        &[
            ("A Một", "070198000011"),
            ("A Hai", "070198000012"),
            ("A Ba", "070198000013"),
        ],
    );
    let on_b = seal_on(
        &b_dir,
        &[
            ("B Một", "070198000021"),
            ("B Hai", "070198000022"),
            ("B Ba", "070198000023"),
            ("B Bốn", "070198000024"),
        ],
    );
    let seqs = |v: &[Value]| -> Vec<u64> { v.iter().map(|b| b["seq"].as_u64().unwrap()).collect() };
    assert_eq!(seqs(&on_a), [3, 4, 5]);
    assert_eq!(seqs(&on_b), [3, 4, 5, 6]);
    assert_eq!(
        on_a[0]["code"], on_b[0]["code"],
        "the clone hands out the same codes"
    );

    // A syncs first: stored. B syncs: its 3–5 collide; its hub numbers them again after the office's head
    // (seq 5) in the same sync, and they are stored once.
    let (code, out, err) = sync(&a_dir, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, out, err) = sync(&b_dir, &office);
    assert_eq!(code, 0, "settled in the same sync: {out}\n{err}");
    assert!(out.contains("rechained=4"), "{out}");
    assert!(out.contains("alarms_standing=0"), "{out}");

    let (ids, office_codes, open) = office_records(&office_dir);
    assert_eq!(
        ids.len(),
        2 + 3 + 4,
        "every genuine dossier stored: {ids:?}"
    );
    no_duplicates(&office_codes);
    assert_eq!(
        open, 0,
        "the quarantine items are settled by the re-chained envelopes"
    );
    for b in on_a.iter().chain(&on_b) {
        assert!(ids.contains(&b["dossier_id"].as_str().unwrap().to_string()));
    }
    let (_, unacked, waiting) = field_records(&b_dir);
    assert_eq!((unacked, waiting), (0, 0));

    // The clerk sees each collision: the dossier held at the seq beside the one set aside, and the seq
    // it was stored under.
    block_on(async {
        let (_, clerk) = office_clerk(&office).await;
        let (st, q) = clerk.get("/api/v1/office/quarantine").await;
        assert_eq!(st, 200, "{q}");
        let items = q["items"].as_array().unwrap();
        let eq: Vec<&Value> = items
            .iter()
            .filter(|x| x["reason"] == "equivocation")
            .collect();
        assert_eq!(eq.len(), 3, "{q}");
        for x in eq {
            assert!(x["resolved_at"].is_string(), "{x}");
            assert!(
                x["resolved_by"].is_null(),
                "settled by the office itself: {x}"
            );
            let held = &x["held"];
            let again = &x["rechained"];
            assert_eq!(held["seq"], x["seq"], "{x}");
            assert!(again["seq"].as_u64().unwrap() > 5, "{x}");
            // The clone's dossier is recorded under a relinked code; the villager's issued code stays beside it.
            assert!(again["issued_code"].is_string(), "{x}");
            assert_ne!(again["receipt_code"], again["issued_code"], "{x}");
            assert_eq!(held["receipt_code"], again["issued_code"], "{x}");
        }
    });

    // B pulls the news of its relinked codes: its villager's status page names the new code; A, which
    // holds other dossiers under those codes, shows nothing of it.
    let b_code = on_b[0]["code"].as_str().unwrap().to_string();
    let public = |base: String, code: String| async move {
        let officer = Client::login(&base, "canbo", "mat-khau-can-bo").await;
        let (st, slip) = officer.get(&format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(st, 200, "{slip}");
        let key = slip["tracking_key"].as_str().unwrap().to_string();
        Client::new(&base)
            .get(&format!("/api/v1/public/receipts/{code}?k={key}"))
            .await
    };
    let b = Hub::start_with("field", &b_dir, &["--sync", "off"]);
    block_on(async {
        let (st, r) = public(b.base.clone(), b_code.clone()).await;
        assert_eq!(st, 200, "{r}");
        let new = r["news"]["recorded_as"]
            .as_str()
            .expect("the new code is shown");
        assert_ne!(new, b_code);
    });
    drop(b);
    // The office paused the device when the two copies collided: A is told at its next sync and seals no
    // more (drafts go on) until a clerk, having made sure one machine is kept, approves it again.
    let (code, out, err) = sync(&a_dir, &office);
    assert_eq!(code, 2, "paused: {out}\n{err}");
    assert!(out.contains("The office paused this hub"), "{out}");
    let a = Hub::start_with("field", &a_dir, &["--sync", "off"]);
    block_on(async {
        let (st, r) = public(a.base.clone(), b_code.clone()).await;
        assert_eq!(st, 200, "{r}");
        assert!(
            r["news"].is_null() || r["news"]["recorded_as"].is_null(),
            "A's villager is not told B's news: {r}"
        );
        let officer = Client::login(&a.base, "canbo", "mat-khau-can-bo").await;
        let (_, status) = officer.get("/api/v1/status").await;
        assert_eq!(status["chain"], "paused", "{status}");
        let (st, b) = try_seal(&officer, &photo, "A Bốn", "070198000014").await;
        assert_eq!(
            (st, b["error"]["code"].as_str()),
            (409, Some("device_paused")),
            "{b}"
        );
        let (_, drafts) = officer.get("/api/v1/drafts").await;
        assert_eq!(
            drafts["drafts"].as_array().unwrap().len(),
            1,
            "the draft is kept"
        );
    });
    drop(a);
    let device = block_on(async {
        let (_, clerk) = office_clerk_again(&office).await;
        let (st, d) = clerk.get("/api/v1/pairing/devices").await;
        assert_eq!(st, 200, "{d}");
        let dev = &d["devices"][0];
        assert!(dev["paused_at"].is_string(), "{d}");
        assert!(
            dev["pause_reason"].as_str().unwrap().contains("two copies"),
            "{d}"
        );
        let id = dev["device_id"].as_str().unwrap().to_string();
        let (st, r) = clerk
            .post(&format!("/api/v1/pairing/devices/{id}/approve"), json!({}))
            .await;
        assert_eq!(st, 200, "{r}");
        id
    });
    assert_eq!(device.len(), 16);
    let (code, out, err) = sync(&a_dir, &office);
    assert_eq!(
        code, 0,
        "approved again, A settles onto the office's head: {out}\n{err}"
    );
    let a = Hub::start_with("field", &a_dir, &["--sync", "off"]);
    block_on(async {
        let officer = Client::login(&a.base, "canbo", "mat-khau-can-bo").await;
        let (_, drafts) = officer.get("/api/v1/drafts").await;
        let id = drafts["drafts"][0]["id"].as_str().unwrap().to_string();
        let (st, b) = officer
            .post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
            .await;
        assert_eq!(
            (st, b["seq"].as_u64()),
            (201, Some(10)),
            "after the office's head: {b}"
        );
    });
    drop(a);
    let (code, out, err) = sync(&a_dir, &office);
    assert_eq!(code, 0, "{out}\n{err}");
    let (ids, codes, open) = office_records(&office_dir);
    assert_eq!((ids.len(), open), (10, 0));
    no_duplicates(&codes);
}

/// The clerk of an office set up earlier in the test (logs in again).
async fn office_clerk_again(office: &Hub) -> (Client, Client) {
    let admin = Client::login(&office.base, "quantri", "mat-khau-van-phong").await;
    let clerk = Client::login(&office.base, "vanthu", "mat-khau-van-thu").await;
    (admin, clerk)
}

/// `hub batch import` at the office of `batch`; the ack file it wrote.
fn office_imports(office_dir: &Path, batch: &Path) -> std::path::PathBuf {
    let (code, report) = batch_import_json(office_dir, batch);
    assert!(code == 0 || code == 3, "{report}");
    std::path::PathBuf::from(report["ack_file"].as_str().expect("an ack file"))
}

#[test]
fn a_restored_hub_with_only_a_usb_stick_settles_on_the_ack_file_and_delivers_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let (field_dir, office_dir) = paired(tmp.path());
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    let key = recovery_key(&field_dir, tmp.path(), "recovery.key");
    let old_backup = tmp.path().join("old.hubbackup");
    block_on(async {
        let officer = field_officer(&field, "mat-khau-can-bo").await;
        capture_and_seal(&officer, "Điểu Thị Hạnh", "070198001234", &photo).await;
        backup(&field_dir, &old_backup).await;
        capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        capture_and_seal(&officer, "Điểu Văn Bình", "070198002345", &photo).await;
    });
    drop(field);
    // No network at all: the batch file goes to the office on a stick.
    let stick = tmp.path().join("day1.batch");
    batch_export(&field_dir, &stick, &[]);
    office_imports(&office_dir, &stick);

    // The card dies; restored from the older backup (seq 1, never acknowledged on this copy).
    let restored = tmp.path().join("restored");
    restore(&old_backup, &restored, &key);
    let hub = Hub::start_with("field", &restored, &["--sync", "off"]);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-can-bo").await;
        let (st, b) = try_seal(&officer, &photo, "Điểu Thị Mơ", "070198007777").await;
        assert_eq!((st, b["protected"].as_bool()), (201, Some(false)), "{b}");
    });
    drop(hub);

    // Day 2's stick: the batch carries what the restored copy holds (seq 1, already at the office); the ack
    // file brings back the office's holdings, on which the hub settles: the waiting dossier follows seq 3.
    let stick = tmp.path().join("day2.batch");
    batch_export(&restored, &stick, &[]);
    let ack = office_imports(&office_dir, &stick);
    let (code, out, err) = run(
        &["batch", "import-ack", "--data", s(&restored), s(&ack)],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("rechained=0 placed=1"), "{out}");
    let (code, out, _) = run(&["chain", "status", "--data", s(&restored)], &[]);
    assert_eq!(code, 0, "{out}");

    // Day 3's stick carries it; the office stores it once, after seq 3.
    let stick = tmp.path().join("day3.batch");
    batch_export(&restored, &stick, &[]);
    let ack = office_imports(&office_dir, &stick);
    let (code, out, err) = run(
        &["batch", "import-ack", "--data", s(&restored), s(&ack)],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let (ids, codes, open) = office_records(&office_dir);
    assert_eq!((ids.len(), open), (4, 0), "{ids:?}");
    no_duplicates(&codes);
    let (_, unacked, waiting) = field_records(&restored);
    assert_eq!((unacked, waiting), (0, 0));
}
