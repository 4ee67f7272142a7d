//! Retention and WAL hygiene on the field hub (issue 19): what the field no longer needs is deleted on
//! time, and deleted personal data leaves the disk. The tests play a thief who copies the data
//! directory after a power cut (SIGKILL): every file of it (database, WAL, SHM, keys, anything else) is
//! searched for the villagers' names (UTF-8, NFC and NFD), citizen ID numbers and photo bytes.
//!
//! 1. A dossier sealed on a paired hub: a few seconds later the draft's name, PIN and photo are nowhere.
//! 2. Retention with the hub's clock moved forward (`--clock-skew-seconds`): an untouched draft is
//!    flagged "will be deleted on" before, then deleted with its photo; pre-declarations never taken go
//!    when their session closes (or after N days without one); names on tickets when the session closes;
//!    old news. Then none of it is on disk.
//! 3. What must stay stays: the sealed envelope not yet acknowledged, the session's report counts, the
//!    news high-water mark (old news are not pulled again).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

const OFFICER_PASSWORD: &str = "mat-khau-can-bo-4242";

/// Every regular file below `dir`, recursively.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The byte strings a plaintext `v` leaves on disk: its UTF-8 in NFC and in NFD.
fn text_needles(label: &str, v: &str) -> Vec<(String, Vec<u8>)> {
    let nfc: String = v.nfc().collect();
    let nfd: String = v.nfd().collect();
    let mut out = vec![(format!("{label} (NFC)"), nfc.clone().into_bytes())];
    if nfd != nfc {
        out.push((format!("{label} (NFD)"), nfd.into_bytes()));
    }
    out
}

/// Windows of a photo's bytes, 48 bytes every 997: SQLite stores a photo over several pages, so the
/// whole photo is never one run of bytes on disk, but every window short enough is (nearly always).
fn photo_needles(label: &str, photo: &[u8]) -> Vec<(String, Vec<u8>)> {
    (200..photo.len().saturating_sub(48))
        .step_by(997)
        .map(|at| {
            (
                format!("{label} bytes at {at}"),
                photo[at..at + 48].to_vec(),
            )
        })
        .collect()
}

/// Every (file, needle) found in the files below `dir`.
fn search(dir: &Path, needles: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut found = Vec::new();
    for f in files_below(dir) {
        let bytes = std::fs::read(&f).unwrap();
        for (label, n) in needles {
            if bytes.windows(n.len()).any(|w| w == n.as_slice()) {
                found.push(format!(
                    "{label} in {}",
                    f.strip_prefix(dir).unwrap().display()
                ));
            }
        }
    }
    found
}

/// A photo no other test uses: a pseudo-random pattern (incompressible, so its bytes are its own).
fn distinctive_photo(seed: u32) -> Vec<u8> {
    jpeg_of(320, 240, move |x, y| {
        let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed).wrapping_mul(97);
        [(v >> 3) as u8, (v >> 11) as u8, (v >> 19) as u8]
    })
}

/// The stored bytes of every photo of draft `id` (the hub may re-encode what it was sent).
async fn stored_photos(c: &Client, id: &str) -> Vec<Vec<u8>> {
    let (s, d) = c.get(&format!("/api/v1/drafts/{id}")).await;
    assert_eq!(s, 200, "{d}");
    let mut out = Vec::new();
    for a in d["attachments"].as_array().unwrap() {
        let aid = a["id"].as_str().unwrap();
        let (s, b) = c
            .get_bytes(&format!("/api/v1/drafts/{id}/attachments/{aid}"))
            .await;
        assert_eq!(s, 200);
        out.push(b);
    }
    out
}

/// Waits until the WAL of `data` is empty (the debounced checkpoint ran), at most `limit`.
fn wait_for_empty_wal(data: &Path, limit: Duration) -> Duration {
    let wal = data.join("hub.sqlite-wal");
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0 {
            return start.elapsed();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// `s` without terminal colour sequences (`ESC [ … m`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// SIGKILL: the power cut (`Child::kill` sends SIGKILL on Unix).
fn power_cut(mut hub: Hub) {
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}

#[test]
fn a_power_cut_seconds_after_sealing_leaves_no_name_pin_or_photo_on_disk() {
    // No background sync: nothing but the test writes to the database.
    let (_tmp, field_dir, _office_dir, field) = paired_field(&["--sync", "off"]);
    let name = "Điểu Thị Ngọc Xuyến";
    let pin = "070198047613";
    let photo = distinctive_photo(7);
    let stored = block_on(async {
        let officer = field_officer(&field, OFFICER_PASSWORD).await;
        let fields = marital_fields(name, pin);
        let id = fill_draft(
            &officer,
            "marital-status-certificate",
            &fields,
            &["id_document", "id_document"],
            "giay-to.jpg",
            &photo,
        )
        .await;
        let stored = stored_photos(&officer, &id).await;
        let receipt = seal_draft(&officer, &id).await;
        assert!(receipt["code"].is_string(), "{receipt}");
        stored
    });
    // The debounced checkpoint runs a few seconds after the draft was deleted by sealing.
    let waited = wait_for_empty_wal(&field_dir, Duration::from_secs(15));
    eprintln!("WAL empty {} ms after sealing", waited.as_millis());
    power_cut(field);

    let mut needles = text_needles("name", name);
    needles.extend(text_needles("PIN", pin));
    for (i, p) in stored.iter().enumerate() {
        needles.extend(photo_needles(&format!("photo {i}"), p));
    }
    assert!(
        needles.len() > 10,
        "enough photo windows: {}",
        needles.len()
    );
    let found = search(&field_dir, &needles);
    assert!(
        found.is_empty(),
        "a thief reads in the data directory after a power cut: {found:#?}"
    );
}

/// Starts the field hub in `dir` with its clock `days` ahead (and any `extra` arguments).
fn hub_days_ahead(dir: &Path, days: i64, extra: &[&str]) -> Hub {
    hub_days_ahead_logged(dir, days, extra, None)
}

/// [`hub_days_ahead`] logging at info level to `log` when given.
fn hub_days_ahead_logged(dir: &Path, days: i64, extra: &[&str], log: Option<&Path>) -> Hub {
    let skew = (days * 86_400).to_string();
    let mut args = vec!["--clock-skew-seconds", skew.as_str(), "--sync", "off"];
    args.extend_from_slice(extra);
    Hub::start_logged("field", dir, &args, "info", log)
}

async fn drafts_of(c: &Client) -> Vec<Value> {
    let (s, b) = c.get("/api/v1/drafts").await;
    assert_eq!(s, 200, "{b}");
    b["drafts"].as_array().unwrap().clone()
}

/// Signed status news for `receipt` from the office in `office_dir` to the field in `field_dir`,
/// stored in the field's database through the hub library (what the uploader's pull does).
fn store_news(office_dir: &Path, field_dir: &Path, receipt: &Value, result_pin: &str) {
    let office = crate::common::hub_keys(office_dir);
    let field = crate::common::hub_keys(field_dir);
    let code: protocol::ReceiptCode = receipt["code"].as_str().unwrap().parse().unwrap();
    let dossier = receipt["dossier_id"].as_str().unwrap().to_string();
    let items: Vec<protocol::SignedNews> = [
        protocol::NewsStatus::ReceivedVerified,
        protocol::NewsStatus::Registered {
            result_numbers: vec![protocol::ResultNumber {
                kind: "pin".into(),
                number: result_pin.into(),
            }],
        },
    ]
    .into_iter()
    .enumerate()
    .map(|(i, status)| {
        let n = protocol::News {
            kind: protocol::NEWS_KIND.into(),
            v: 1,
            office_id: office.device_id.clone(),
            news_id: uuid::Uuid::now_v7().to_string(),
            device_id: field.device_id.clone(),
            seq: i as u64 + 1,
            receipt_code: code.clone(),
            dossier_id: dossier.clone(),
            status,
            note: None,
            published_at: "2026-12-07T03:00:00Z".into(),
        };
        protocol::SignedNews::sign(n, &office.device).unwrap()
    })
    .collect();
    let db = {
        crate::common::unlock_here(field_dir);
        hub::shared::store::Db::open(&field_dir.join("hub.sqlite"))
    }
    .unwrap();
    let (pk, dev) = (office.device.public(), field.device_id.clone());
    let n = db
        .call_sync(move |c| hub::field::news::store::save_incoming(c, &pk, &dev, &items))
        .unwrap()
        .unwrap();
    assert_eq!(n, 2);
}

/// How many rows `sql` counts in the field database (read while the hub is stopped).
fn count(field_dir: &Path, sql: &str) -> i64 {
    let c = crate::common::db(field_dir.join("hub.sqlite")).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn retention_deletes_what_the_field_no_longer_needs_and_keeps_what_counts() {
    let (_tmp, field_dir, office_dir, field) = paired_field(&["--sync", "off"]);
    let draft_name = "Thị Bích Nháp Lưu";
    let draft_pin = "070198051234";
    let sealed_name = "Lâm Văn Niêm";
    let ticket_name = "Hà Thị Vé Số";
    let predecl_in_session = "Y Sơn Khai Trước";
    let predecl_no_session = "K'Brơi Chờ Lâu";
    let news_pin = "079219008888";
    let draft_photo = distinctive_photo(11);
    let phone = reqwest::Client::new();
    let predeclare = |base: String, name: &'static str| {
        let phone = phone.clone();
        async move {
            let r = phone
                .post(format!("{base}/api/v1/public/predeclarations"))
                .json(
                    &json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                              "fields": {"subject.full_name": name}}),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
        }
    };
    let (draft_id, draft_photos, receipt, session, report_before) = block_on(async {
        let officer = field_officer(&field, OFFICER_PASSWORD).await;
        let session = open_bu_lu_session(&officer).await;
        // A named desk ticket, a pre-declaration sent in the session (its own ticket), never taken.
        let (s, t) = officer
            .post(
                &format!("/api/v1/outreach/sessions/{session}/tickets"),
                json!({"name": ticket_name}),
            )
            .await;
        assert_eq!(s, 201, "{t}");
        predeclare(field.base.clone(), predecl_in_session).await;
        // A dossier sealed in the session (kept until the office acknowledges it).
        let receipt = seal_marital(
            &officer,
            &marital_fields(sealed_name, "070198060606"),
            &distinctive_photo(3),
        )
        .await;
        // A draft left untouched.
        let draft_id = fill_draft(
            &officer,
            "marital-status-certificate",
            &marital_fields(draft_name, draft_pin),
            &["id_document"],
            "giay-to.jpg",
            &draft_photo,
        )
        .await;
        let draft_photos = stored_photos(&officer, &draft_id).await;
        let (s, b) = officer
            .post(
                &format!("/api/v1/outreach/sessions/{session}/close"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        // Closing erased the ticket's name and deleted the untaken pre-declaration of the session.
        let (_, list) = officer.get("/api/v1/predeclarations").await;
        assert_eq!(list["predeclarations"], json!([]), "{list}");
        let (s, report) = officer
            .get(&format!("/api/v1/outreach/sessions/{session}/report"))
            .await;
        assert_eq!(s, 200, "{report}");
        // A pre-declaration sent with no session open waits for the desk.
        predeclare(field.base.clone(), predecl_no_session).await;
        let (_, list) = officer.get("/api/v1/predeclarations").await;
        assert_eq!(list["predeclarations"].as_array().unwrap().len(), 1);
        // Its number is new: the deleted one's may still be in a villager's hand.
        assert_eq!(list["predeclarations"][0]["pickup_number"], 2, "{list}");
        // Fresh drafts carry no deletion day.
        let d = drafts_of(&officer).await;
        assert_eq!(d.len(), 1);
        assert_eq!(d[0]["deleted_on"], Value::Null, "{d:?}");
        (draft_id, draft_photos, receipt, session, report)
    });
    drop(field);
    assert_eq!(
        count(
            &field_dir,
            "SELECT count(*) FROM outreach_tickets WHERE name IS NOT NULL"
        ),
        0,
        "names on tickets are erased when the session closes"
    );
    store_news(&office_dir, &field_dir, &receipt, news_pin);

    // 6 days later: nothing is due yet; the draft is not flagged.
    {
        let hub = hub_days_ahead(&field_dir, 6, &[]);
        block_on(async {
            let officer = Client::login(&hub.base, "canbo", OFFICER_PASSWORD).await;
            let d = drafts_of(&officer).await;
            assert_eq!(d[0]["deleted_on"], Value::Null, "{d:?}");
            let (_, list) = officer.get("/api/v1/predeclarations").await;
            assert_eq!(list["predeclarations"].as_array().unwrap().len(), 1);
        });
    }
    // 26 days later: the draft is flagged with the day it will be deleted (30 days after its last
    // change); the pre-declaration without a session is gone (7 days).
    {
        let hub = hub_days_ahead(&field_dir, 26, &[]);
        block_on(async {
            let officer = Client::login(&hub.base, "canbo", OFFICER_PASSWORD).await;
            let d = drafts_of(&officer).await;
            assert_eq!(d.len(), 1);
            let due = time::OffsetDateTime::now_utc() + time::Duration::days(30);
            let due = (due + time::Duration::hours(7)).date().to_string();
            let flagged = d[0]["deleted_on"].as_str().unwrap_or_default();
            // The draft was changed a few seconds before: its day is today + 30 in Vietnam, or the
            // day before when the test ran across midnight there.
            let day_before = (time::OffsetDateTime::now_utc() + time::Duration::days(30)
                - time::Duration::hours(1)
                + time::Duration::hours(7))
            .date()
            .to_string();
            assert!(
                flagged == due || flagged == day_before,
                "flagged {flagged:?}, expected {due}: {d:?}"
            );
            let (_, list) = officer.get("/api/v1/predeclarations").await;
            assert_eq!(list["predeclarations"], json!([]), "{list}");
        });
    }
    // 31 days later: the draft and its photo are deleted; the news (received 31 days ago) stay.
    {
        let hub = hub_days_ahead(&field_dir, 31, &[]);
        block_on(async {
            let officer = Client::login(&hub.base, "canbo", OFFICER_PASSWORD).await;
            assert!(drafts_of(&officer).await.is_empty());
            let (s, _) = officer.get(&format!("/api/v1/drafts/{draft_id}")).await;
            assert_eq!(s, 404);
        });
    }
    assert_eq!(count(&field_dir, "SELECT count(*) FROM news_in"), 2);
    assert_eq!(
        count(&field_dir, "SELECT count(*) FROM draft_attachments"),
        0
    );
    // 91 days later: the news are deleted too; the thief finds none of it. The run is logged as counts.
    let log = field_dir.parent().unwrap().join("field-91.log");
    let hub = hub_days_ahead_logged(&field_dir, 91, &[], Some(&log));
    let report_after = block_on(async {
        let officer = Client::login(&hub.base, "canbo", OFFICER_PASSWORD).await;
        let (s, report) = officer
            .get(&format!("/api/v1/outreach/sessions/{session}/report"))
            .await;
        assert_eq!(s, 200, "{report}");
        // The sealed dossier not yet acknowledged is still listed for upload.
        let (s, dossiers) = officer.get("/api/v1/dossiers").await;
        assert_eq!(s, 200, "{dossiers}");
        assert!(
            dossiers
                .to_string()
                .contains(receipt["code"].as_str().unwrap()),
            "{dossiers}"
        );
        report
    });
    power_cut(hub);
    let logged = strip_ansi(&std::fs::read_to_string(&log).unwrap());
    let run = logged
        .lines()
        .find(|l| l.contains("retention run"))
        .unwrap_or_else(|| panic!("no retention run logged: {logged}"));
    for count in [
        "drafts=0",
        "photos=0",
        "predeclarations=0",
        "ticket_names=0",
        "news=2",
    ] {
        assert!(run.contains(count), "{count} in {run}");
    }

    let mut needles = Vec::new();
    for (label, v) in [
        ("draft name", draft_name),
        ("sealed name", sealed_name),
        ("draft PIN", draft_pin),
        ("ticket name", ticket_name),
        ("pre-declaration in the session", predecl_in_session),
        ("pre-declaration without a session", predecl_no_session),
        ("result PIN in the news", news_pin),
    ] {
        needles.extend(text_needles(label, v));
    }
    for p in &draft_photos {
        needles.extend(photo_needles("draft photo", p));
    }
    let found = search(&field_dir, &needles);
    assert!(found.is_empty(), "retention left on disk: {found:#?}");
    for (label, n) in &needles {
        let n = String::from_utf8_lossy(n);
        assert!(!logged.contains(n.as_ref()), "{label} in the log");
    }

    // What must stay stays: the envelope (not acknowledged), the report's counts, the news mark.
    assert_eq!(count(&field_dir, "SELECT count(*) FROM envelopes"), 1);
    assert_eq!(count(&field_dir, "SELECT count(*) FROM news_in"), 0);
    assert_eq!(
        count(&field_dir, "SELECT count(*) FROM outreach_tickets"),
        2,
        "tickets (numbers) stay for reports"
    );
    for key in [
        "tickets",
        "villagers",
        "services_total",
        "by_kind",
        "by_desk",
    ] {
        assert_eq!(report_before[key], report_after[key], "report {key}");
    }
    let office = crate::common::hub_keys(&office_dir);
    let db = {
        crate::common::unlock_here(&field_dir);
        hub::shared::store::Db::open(&field_dir.join("hub.sqlite"))
    }
    .unwrap();
    let office_id = office.device_id.clone();
    let last = db
        .call_sync(move |c| hub::field::news::store::last_seq_in(c, &office_id))
        .unwrap();
    assert_eq!(last, 2, "news deleted by retention are not pulled again");
}

/// The cost of the checkpoint that follows a seal, on a database the size of a busy field hub (200
/// sealed envelopes of about 300 KB, 20 drafts with photos): printed, and bounded loosely.
#[test]
fn wal_checkpoint_truncate_cost_on_a_realistic_database() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hub.sqlite");
    let db = hub::shared::store::Db::open(&path).unwrap();
    let blob: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    db.call_sync(|c| {
        c.execute_batch("CREATE TABLE bulk (id INTEGER PRIMARY KEY, b BLOB NOT NULL)")?;
        for _ in 0..200 {
            c.execute("INSERT INTO bulk(b) VALUES (?1)", [&blob])?;
        }
        hub::shared::store::checkpoint_truncate(c)?;
        Ok(())
    })
    .unwrap();
    let mut times = Vec::new();
    for round in 0..5 {
        // One seal's worth of writes: an envelope in, a draft with two photos out.
        let t = db
            .call_sync(|c| {
                c.execute("INSERT INTO bulk(b) VALUES (?1)", [&blob])?;
                c.execute("DELETE FROM bulk WHERE id = (SELECT min(id) FROM bulk)", [])?;
                let start = Instant::now();
                let cp = hub::shared::store::checkpoint_truncate(c)?;
                assert!(!cp.busy);
                Ok(start.elapsed())
            })
            .unwrap();
        eprintln!(
            "round {round}: wal_checkpoint(TRUNCATE) took {} ms",
            t.as_millis()
        );
        times.push(t);
    }
    times.sort();
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!(
        "database {} MB: median wal_checkpoint(TRUNCATE) after one seal {} ms",
        size / 1_000_000,
        times[2].as_millis()
    );
    assert_eq!(
        std::fs::metadata(tmp.path().join("hub.sqlite-wal"))
            .unwrap()
            .len(),
        0
    );
    assert!(times[2] < Duration::from_secs(5), "{times:?}");
}
