//! The field hub's uploader on real processes: two hubs paired by key-card files. The field finds the
//! office by mDNS on loopback and uploads in the background; dossiers are marked acknowledged only on the
//! office's signed ack; `hub sync` shows progress and a second run sends nothing; killing the office
//! mid-upload loses and duplicates nothing; a revoked device is told so in plain words; an office ack file
//! marks exactly what it covers; retention prunes only acknowledged envelopes.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{json, Value};

/// A field hub (running, with an officer) and an office data directory, paired both ways by key cards.
struct Pair {
    tmp: tempfile::TempDir,
    field_dir: std::path::PathBuf,
    office_dir: std::path::PathBuf,
}

fn pair_dirs() -> Pair {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    init_hub("field", &field_dir, Some("Trạm Bù Gia Mập"));
    init_hub("office", &office_dir, Some("UBND xã Bù Gia Mập"));
    for (from, to) in [(&field_dir, &office_dir), (&office_dir, &field_dir)] {
        let card = tmp.path().join("card.pub");
        key_card(from, &card);
        trust_card(to, &card);
    }
    Pair {
        tmp,
        field_dir,
        office_dir,
    }
}

const NAMES: [&str; 8] = ["An", "Bình", "Chi", "Dũng", "Giang", "Hà", "Khánh", "Lan"];

fn pins() -> impl Iterator<Item = String> {
    (0..).map(|i| format!("070198{:06}", 10000 + i))
}

async fn seal_n(c: &Client, n: usize) {
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    for (i, pin) in pins().take(n).enumerate() {
        capture_and_seal(c, &format!("Nguyễn Văn {}", NAMES[i]), &pin, &photo).await;
    }
}

fn db(dir: &Path) -> rusqlite::Connection {
    crate::common::db(dir.join("hub.sqlite")).unwrap()
}

fn acked_seqs(dir: &Path) -> Vec<i64> {
    let c = db(dir);
    let mut st = c
        .prepare("SELECT seq FROM envelopes WHERE acked_at IS NOT NULL ORDER BY seq")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

async fn wait_status(c: &Client, secs: u64, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let (s, b) = c.get("/api/v1/upload/status").await;
        assert_eq!(s, 200, "{b}");
        if pred(&b) {
            return b;
        }
        assert!(Instant::now() < deadline, "timed out; last status {b:#}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[test]
fn background_upload_found_by_mdns_is_acknowledged_and_resumes_after_the_office_dies() {
    let p = pair_dirs();
    let office = Hub::start("office", &p.office_dir);
    // No office URL: the field must find the office by mDNS (loopback).
    let field = Hub::start_with("field", &p.field_dir, &["--sync-interval", "5"]);
    block_on(async {
        let c = field_officer(&field, "mat-khau-can-bo").await;
        seal_n(&c, 2).await;
        let st = wait_status(&c, 90, |b| b["counts"]["acked"] == 2).await;
        assert_eq!(st["counts"]["waiting"], 0);
        assert_eq!(st["progress"]["found_by"], "mdns", "{st:#}");
        assert!(st["progress"]["last_error"].is_null(), "{st:#}");
        assert!(st["progress"]["last_success_at"].is_string());
        assert_eq!(st["office"]["name"], "UBND xã Bù Gia Mập");
    });
    // The office holds both, once each.
    let held: i64 = db(&p.office_dir)
        .query_row("SELECT count(*) FROM received_envelopes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(held, 2);
    drop(field);

    // `hub sync` (CLI, configured URL): nothing to send, 0 bytes.
    let out = cli_ok(
        &[
            "sync",
            "--data",
            p.field_dir.to_str().unwrap(),
            "--mdns",
            "off",
            "--office-url",
            &office.base,
        ],
        &[],
    );
    assert!(out.contains("bytes_sent=0 acked=0 offered=0"), "{out}");
    assert!(out.contains("Nothing to send"), "{out}");

    // More dossiers, uploaded slowly (bandwidth cap); the office is killed mid-upload and restarted.
    let field = Hub::start_with("field", &p.field_dir, &["--sync", "off"]);
    block_on(async {
        let c = Client::login(&field.base, "canbo", "mat-khau-can-bo").await;
        let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
        for (i, pin) in pins().skip(10).take(4).enumerate() {
            capture_and_seal(&c, &format!("Trần Thị {}", NAMES[i]), &pin, &photo).await;
        }
    });
    drop(field);
    let child = std::process::Command::new(hub_bin())
        .envs(unlock_env(&p.field_dir))
        .args([
            "sync",
            "--data",
            p.field_dir.to_str().unwrap(),
            "--mdns",
            "off",
        ])
        .args(["--office-url", &office.base, "--sync-bandwidth-kbps", "160"])
        .env("HUB_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until some chunk bytes arrived at the office, then kill it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: i64 = db(&p.office_dir)
            .query_row(
                "SELECT coalesce(sum(length(bytes)), 0) FROM sync_chunks",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        if n > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no chunk reached the office");
        std::thread::sleep(Duration::from_millis(100));
    }
    let started = Instant::now();
    drop(office);
    // What the office holds of the new ciphertexts when it dies.
    let held_at_cut: i64 = db(&p.office_dir)
        .query_row(
            "SELECT coalesce(sum(length(bytes)), 0) FROM sync_chunks",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let gave_up_after = started.elapsed();
    assert!(
        !out.status.success(),
        "the run cannot finish without the office"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("office_unreachable"), "{err}");
    assert!(err.contains("progress:"), "progress lines: {err}");
    assert_eq!(
        acked_seqs(&p.field_dir),
        vec![1, 2],
        "nothing new acknowledged without an ack"
    );

    // The office restarts (on another port: the URL is configured); the next run completes from what
    // the office already holds.
    let office = Hub::start("office", &p.office_dir);
    let out = cli_ok(
        &[
            "sync",
            "--data",
            p.field_dir.to_str().unwrap(),
            "--mdns",
            "off",
            "--office-url",
            &office.base,
        ],
        &[],
    );
    assert!(out.contains("acked=4"), "{out}");
    // The resumed run sends only what the office lacked: the ciphertexts of envelopes 3–6 minus what it
    // held at the cut (chunks are appended at `held`, never resent).
    let total: i64 = db(&p.field_dir)
        .query_row(
            "SELECT (SELECT sum(length(payload)) FROM envelopes WHERE seq > 2)
                  + (SELECT coalesce(sum(length(bytes)), 0) FROM envelope_blobs WHERE seq > 2)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let resent: i64 = out
        .split("bytes_sent=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .expect("bytes_sent in the summary");
    eprintln!(
        "figures: batch ciphertexts {total} B; office held {held_at_cut} B at the cut; the interrupted run gave up {:.1} s after the cut; the resumed run sent {resent} B",
        gave_up_after.as_secs_f64()
    );
    assert!(held_at_cut > 0);
    assert!(
        resent <= total - held_at_cut,
        "{resent} > {total} - {held_at_cut}"
    );
    assert_eq!(acked_seqs(&p.field_dir), vec![1, 2, 3, 4, 5, 6]);
    let c = db(&p.office_dir);
    let (n, distinct): (i64, i64) = c
        .query_row(
            "SELECT count(*), count(DISTINCT seq) FROM received_envelopes",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, distinct), (6, 6), "nothing lost, nothing duplicated");
    let _ = &p.tmp;
}

#[test]
fn a_revoked_device_is_told_in_plain_words() {
    let p = pair_dirs();
    let field_id = cli_ok(
        &["key", "show", "--data", p.field_dir.to_str().unwrap()],
        &[],
    );
    assert!(!field_id.is_empty());
    db(&p.office_dir)
        .execute(
            "UPDATE trusted_peers SET status = 'revoked' WHERE mode = 'field'",
            [],
        )
        .unwrap();
    let office = Hub::start("office", &p.office_dir);
    let out = cli(
        &[
            "sync",
            "--data",
            p.field_dir.to_str().unwrap(),
            "--mdns",
            "off",
            "--office-url",
            &office.base,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("device_revoked"), "{err}");
    assert!(err.contains("revoked this device"), "{err}");
    assert!(err.contains("thu hồi"), "{err}");

    // The field's sync page shows the same words after a run on demand.
    let field = Hub::start_with(
        "field",
        &p.field_dir,
        &["--sync", "off", "--office-url", &office.base],
    );
    block_on(async {
        let c = field_officer(&field, "mat-khau-can-bo").await;
        let (s, b) = c.post("/api/v1/upload/run", json!({})).await;
        assert_eq!(s, 202, "{b}");
        let st = wait_status(&c, 30, |b| {
            b["progress"]["last_error"]["code"] == "device_revoked"
        })
        .await;
        assert!(st["progress"]["last_error"]["message_vi"]
            .as_str()
            .unwrap()
            .contains("thu hồi"));
    });
}

#[test]
fn no_office_paired_is_a_plain_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("field");
    cli_ok(
        &["init", "--mode", "field", "--data", d.to_str().unwrap()],
        &[],
    );
    let out = cli(
        &["sync", "--data", d.to_str().unwrap(), "--mdns", "off"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not paired"));
}

/// An ack signed with the key in `signer_dir` for the envelopes `(seq, hash)` of `field_dir`.
fn ack_file(signer_dir: &Path, field_dir: &Path, acked: &[(u64, String)]) -> Vec<u8> {
    let office = crate::common::hub_keys(signer_dir);
    let field = crate::common::hub_keys(field_dir);
    let ack = protocol::Ack {
        kind: protocol::ACK_KIND.into(),
        v: 1,
        office_id: office.device_id.clone(),
        device_id: field.device_id.clone(),
        batch_id: "019a9f3e-9000-7000-8000-0000000000b1".into(),
        acked: acked
            .iter()
            .map(|(seq, hash)| protocol::AckedEnvelope {
                seq: *seq,
                hash: hash.clone(),
            })
            .collect(),
        quarantined: vec![],
        equivocations: vec![],
        missing: vec![],
        acked_at: "2026-11-23T09:31:00Z".into(),
    };
    protocol::SignedAck::sign(ack, &office.device)
        .unwrap()
        .to_bytes()
        .unwrap()
}

#[test]
fn ack_files_mark_exactly_what_they_cover_and_retention_prunes_only_acked() {
    let p = pair_dirs();
    let field = Hub::start_with("field", &p.field_dir, &["--sync", "off"]);
    let c = block_on(async {
        let c = field_officer(&field, "mat-khau-can-bo").await;
        seal_n(&c, 3).await;
        c
    });
    let hashes: Vec<(u64, String)> = {
        let c = db(&p.field_dir);
        let mut st = c
            .prepare("SELECT seq, hash FROM envelopes ORDER BY seq")
            .unwrap();
        st.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(hashes.len(), 3);
    let dir = p.tmp.path();

    // Signed by another key (the field's own): refused, nothing marked.
    let forged = dir.join("forged.json");
    std::fs::write(&forged, ack_file(&p.field_dir, &p.field_dir, &hashes)).unwrap();
    let out = cli(
        &[
            "batch",
            "import-ack",
            "--data",
            p.field_dir.to_str().unwrap(),
            forged.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(acked_seqs(&p.field_dir).is_empty());

    // The office's ack: seq 1 with its hash, seq 2 with another hash → only seq 1 is covered.
    let wrong = (2u64, "ab".repeat(32));
    let good = dir.join("ack-1.json");
    std::fs::write(
        &good,
        ack_file(&p.office_dir, &p.field_dir, &[hashes[0].clone(), wrong]),
    )
    .unwrap();
    let out = cli_ok(
        &[
            "batch",
            "import-ack",
            "--data",
            p.field_dir.to_str().unwrap(),
            good.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("1 newly marked uploaded"), "{out}");
    assert_eq!(acked_seqs(&p.field_dir), vec![1]);

    // The sync page's USB path: the same checks over HTTP.
    block_on(async {
        let bytes = ack_file(&p.office_dir, &p.field_dir, &[hashes[1].clone()]);
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("ack-2.json"),
        );
        let r = c
            .http
            .post(format!("{}/api/v1/upload/ack-file", c.base))
            .header("x-csrf-token", &c.csrf)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["report"]["newly_acked"], 1, "{b}");
        let (_, st) = c.get("/api/v1/upload/status").await;
        assert_eq!(st["counts"]["acked"], 2);
        assert_eq!(st["counts"]["waiting"], 1);
        // The batch file for a USB stick holds what is not acknowledged.
        let r = c
            .http
            .get(format!("{}/api/v1/upload/batch-file", c.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.headers()["x-batch-envelopes"], "1");
    });
    drop(field);

    // Retention of 0 seconds: acknowledged envelopes lose their ciphertexts, the unacknowledged one keeps
    // them. (`hub sync` applies retention even when the office cannot be reached.)
    let out = cli(
        &[
            "sync",
            "--data",
            p.field_dir.to_str().unwrap(),
            "--mdns",
            "off",
        ],
        &[("HUB_RETENTION_SECONDS", "0")],
    );
    assert_eq!(out.status.code(), Some(1));
    let c = db(&p.field_dir);
    let rows: Vec<(i64, bool, i64, i64)> = {
        let mut st = c
            .prepare(
                "SELECT e.seq, e.pruned_at IS NOT NULL, length(e.payload),
                        (SELECT count(*) FROM envelope_blobs b WHERE b.seq = e.seq)
                 FROM envelopes e ORDER BY e.seq",
            )
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert!(rows[0].1 && rows[0].2 == 0 && rows[0].3 == 0, "{rows:?}");
    assert!(rows[1].1 && rows[1].2 == 0 && rows[1].3 == 0, "{rows:?}");
    assert!(
        !rows[2].1 && rows[2].2 > 0 && rows[2].3 > 0,
        "unacknowledged: kept {rows:?}"
    );
    // Receipts stay.
    let receipts: i64 = c
        .query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))
        .unwrap();
    assert_eq!(receipts, 3);
    // A batch export skips pruned envelopes.
    let out_file = dir.join("b.batch");
    let out = cli_ok(
        &[
            "batch",
            "export",
            "--data",
            p.field_dir.to_str().unwrap(),
            "--out",
            out_file.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("1 envelope(s), seq 3–3"), "{out}");

    // The USB round trip with the real office: it imports the batch file and writes its signed ack file;
    // the field imports that and the last dossier is acknowledged too.
    let ack_path = dir.join("ack-usb.json");
    cli_ok(
        &[
            "batch",
            "import",
            "--data",
            p.office_dir.to_str().unwrap(),
            "--ack-out",
            ack_path.to_str().unwrap(),
            out_file.to_str().unwrap(),
        ],
        &[],
    );
    let out = cli_ok(
        &[
            "batch",
            "import-ack",
            "--data",
            p.field_dir.to_str().unwrap(),
            ack_path.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.contains("1 newly marked uploaded"), "{out}");
    assert_eq!(acked_seqs(&p.field_dir), vec![1, 2, 3]);
}
