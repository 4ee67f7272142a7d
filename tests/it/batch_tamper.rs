//! A tampered, truncated, reordered, replayed, gapped or equivocating batch file. A bad file as a whole
//! (unreadable, bad manifest signature, unknown or unapproved device) is refused with nothing stored; a bad
//! envelope is quarantined with the specific check named while the others are stored; a gap is reported.
//! Never does an import corrupt or lose stored data, and every accepted import writes a signed ack file.

use std::path::{Path, PathBuf};

use crate::common::*;
use rusqlite::Connection;
use serde_json::Value;

/// One field hub with three sealed, protected dossiers, exported; plus its key cards.
struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    field_dir: PathBuf,
    field_card: PathBuf,
    batch: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    // Keep a copy of the field's keys before anything is sealed (for the equivocation case).
    let sealed = batch::sealed_field_batch(&root, &small_jpeg(), |field_dir| {
        copy_dir(&field_dir.join("keys"), &root.join("cloned-keys"))
    });
    Fixture {
        _tmp: tmp,
        root,
        field_dir: sealed.field_dir,
        field_card: sealed.field_card,
        batch: sealed.batch,
    }
}

fn small_jpeg() -> Vec<u8> {
    jpeg_of(64, 48, |x, y| [(x * 4) as u8, (y * 5) as u8, 128])
}

/// A fresh office hub that trusts the fixture's field hub.
fn office(fx: &Fixture, name: &str) -> PathBuf {
    // The office key must be the one the field encrypted to: copy the template office's keys.
    batch::office_from_template(&fx.root, name, &fx.field_card)
}

/// A copy of the good batch, altered by `f`.
fn altered(fx: &Fixture, name: &str, f: impl FnOnce(&Connection)) -> PathBuf {
    let p = fx.root.join(name);
    std::fs::copy(&fx.batch, &p).unwrap();
    let c = crate::common::db(&p).unwrap();
    f(&c);
    drop(c);
    p
}

fn stored_count(office: &Path) -> i64 {
    let c = crate::common::db(office.join("hub.sqlite")).unwrap();
    c.query_row("SELECT count(*) FROM received_dossiers", [], |r| r.get(0))
        .unwrap()
}

fn fingerprint(office: &Path) -> String {
    let c = crate::common::db(office.join("hub.sqlite")).unwrap();
    let mut st = c.prepare("SELECT dossier_id, fields_json, hash FROM received_dossiers JOIN received_envelopes USING (dossier_id, device_id, seq) ORDER BY dossier_id").unwrap();
    let rows: Vec<String> = st
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows.join("\n")
}

/// Asserts a refusal of the whole file naming `check` at `seq`, with nothing stored or changed.
fn assert_refused(office: &Path, batch: &Path, check: &str, seq: Option<u64>) -> Value {
    let before = fingerprint(office);
    let (code, report) = batch_import_json(office, batch);
    assert_eq!(code, 2, "must exit 2: {report:#}");
    assert_eq!(report["accepted"], false);
    assert_eq!(report["ack_file"], Value::Null, "no ack for a refused file");
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["check"] == check && p["seq"].as_u64() == seq),
        "expected check `{check}` at {seq:?}, got {report:#}"
    );
    assert_eq!(fingerprint(office), before, "nothing stored may change");
    eprintln!(
        "refused as expected ({check}): {}",
        serde_json::to_string(&report["problems"]).unwrap()
    );
    report
}

/// Asserts that the envelope `seq` is quarantined for `check` while the others are stored (`stored` new
/// ones), that what was stored before is still there unchanged, and that the ack file verifies and says so.
fn assert_quarantined(
    fx: &Fixture,
    office: &Path,
    batch: &Path,
    check: &str,
    seq: u64,
    stored: u64,
) -> Value {
    let before = fingerprint(office);
    let (code, report) = batch_import_json(office, batch);
    assert_eq!(code, 3, "a partly quarantined import exits 3: {report:#}");
    assert_eq!(report["accepted"], true, "{report:#}");
    assert_eq!(report["stored"], stored, "{report:#}");
    let q = report["quarantined"].as_array().unwrap();
    assert!(
        q.iter().any(|p| p["reason"] == check && p["seq"] == seq),
        "expected quarantine `{check}` at {seq}, got {report:#}"
    );
    let after = fingerprint(office);
    for line in before.lines() {
        assert!(
            after.contains(line),
            "stored data must not change or vanish"
        );
    }
    let held = quarantine_rows(office);
    assert!(
        held.iter().any(|(s, r)| *s == seq as i64 && r == check),
        "the quarantine table keeps it: {held:?}"
    );
    let ack = read_ack(fx, &report);
    assert!(
        ack.quarantined
            .iter()
            .any(|e| e.seq == seq && e.reason.as_str() == check),
        "the ack lists the quarantined envelope"
    );
    assert_eq!(
        ack.acked.len() as u64,
        stored + report["already_held"].as_u64().unwrap()
    );
    eprintln!(
        "quarantined as expected ({check}): {}",
        serde_json::to_string(&report["quarantined"]).unwrap()
    );
    report
}

fn quarantine_rows(office: &Path) -> Vec<(i64, String)> {
    let c = crate::common::db(office.join("hub.sqlite")).unwrap();
    let mut st = c
        .prepare("SELECT seq, reason FROM quarantine ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The ack file an import wrote, verified with the office key.
fn read_ack(fx: &Fixture, report: &Value) -> protocol::Ack {
    let path = report["ack_file"].as_str().expect("an ack file is written");
    let bytes = std::fs::read(path).unwrap();
    // The ack is the file's first line; procedure packages may follow (protocol §13.4).
    let first = bytes.split(|b| *b == b'\n').next().unwrap();
    let signed = protocol::SignedAck::from_bytes(first).unwrap();
    let keys = crate::common::hub_keys(&fx.root.join("office-template"));
    signed
        .verify(&keys.device.public())
        .expect("the ack verifies with the office key");
    assert_eq!(signed.ack.batch_id, report["batch_id"].as_str().unwrap());
    signed.ack
}

#[test]
fn tampering_is_quarantined_per_envelope_or_refused_per_file() {
    let fx = fixture();

    // A byte of the second envelope's ciphertext changed.
    let o = office(&fx, "o-payload");
    let b = altered(&fx, "payload.batch", |c| {
        c.execute(
            "UPDATE envelopes SET payload = CAST(zeroblob(length(payload)) AS BLOB) WHERE seq = 2",
            [],
        )
        .unwrap();
    });
    let r = assert_quarantined(&fx, &o, &b, "payload_hash", 2, 2);
    assert_eq!(stored_count(&o), 2);
    assert_eq!(r["gaps"], serde_json::json!([{"from": 2, "to": 2}]));

    // A photo's ciphertext altered.
    let o = office(&fx, "o-blob");
    let b = altered(&fx, "blob.batch", |c| {
        c.execute(
            "UPDATE blobs SET bytes = CAST(zeroblob(length(bytes)) AS BLOB) WHERE rowid = 3",
            [],
        )
        .unwrap();
    });
    assert_quarantined(&fx, &o, &b, "blob_hash", 3, 2);

    // The header of envelope 2 edited (its time), signature kept.
    let o = office(&fx, "o-header");
    let b = altered(&fx, "header.batch", |c| {
        let h: Vec<u8> = c
            .query_row("SELECT header FROM envelopes WHERE seq = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        let s = String::from_utf8(h).unwrap();
        let year = &s[s.find("\"sealed_at\":\"").unwrap() + 13..][..4];
        let edited = s.replacen(
            &format!("\"sealed_at\":\"{year}"),
            "\"sealed_at\":\"2001",
            1,
        );
        c.execute(
            "UPDATE envelopes SET header = ?1 WHERE seq = 2",
            [edited.into_bytes()],
        )
        .unwrap();
    });
    assert_quarantined(&fx, &o, &b, "envelope_signature", 2, 2);

    // The manifest's signature replaced.
    let o = office(&fx, "o-manifest");
    let b = altered(&fx, "manifest.batch", |c| {
        c.execute("UPDATE manifest SET signature = ?1", [("00".repeat(64))])
            .unwrap();
    });
    assert_refused(&o, &b, "manifest_signature", None);

    // Envelope 2 removed from the file (truncated batch).
    let o = office(&fx, "o-missing");
    let b = altered(&fx, "missing.batch", |c| {
        c.execute("DELETE FROM envelopes WHERE seq = 2", [])
            .unwrap();
    });
    let (code, report) = batch_import_json(&o, &b);
    assert_eq!(code, 3, "{report:#}");
    assert_eq!(report["stored"], 2);
    assert_eq!(report["missing"], serde_json::json!([2]));
    assert_eq!(read_ack(&fx, &report).missing, vec![2]);

    // The file cut short (a copy interrupted half-way).
    let o = office(&fx, "o-cut");
    let b = fx.root.join("cut.batch");
    let bytes = std::fs::read(&fx.batch).unwrap();
    std::fs::write(&b, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused(&o, &b, "format", None);

    // Envelopes 2 and 3 reordered (their rows swapped).
    let o = office(&fx, "o-reorder");
    let b = altered(&fx, "reorder.batch", |c| {
        c.execute_batch(
            "UPDATE envelopes SET seq = 100 WHERE seq = 2; UPDATE envelopes SET seq = 2 WHERE seq = 3;
             UPDATE envelopes SET seq = 3 WHERE seq = 100;",
        )
        .unwrap();
    });
    assert_quarantined(&fx, &o, &b, "seq_mismatch", 2, 1);
    assert!(quarantine_rows(&o).contains(&(3, "seq_mismatch".into())));

    // An office that never trusted this device.
    let stranger = fx.root.join("o-stranger");
    cli_ok(
        &[
            "init",
            "--mode",
            "office",
            "--data",
            stranger.to_str().unwrap(),
        ],
        &[],
    );
    assert_refused(&stranger, &fx.batch, "unknown_device", None);

    // A device pinned but not approved (or revoked): the whole file is refused.
    let o = office(&fx, "o-pending");
    for status in ["pending_approval", "revoked"] {
        let c = crate::common::db(o.join("hub.sqlite")).unwrap();
        c.execute(
            "UPDATE trusted_peers SET status = ?1 WHERE mode = 'field'",
            [status],
        )
        .unwrap();
        drop(c);
        let r = assert_refused(&o, &fx.batch, "unknown_device", None);
        assert!(r["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(status));
    }
    assert_eq!(stored_count(&o), 0);

    // Replay: the good batch is stored once; again, it is all already held (and acknowledged again, so a
    // lost ack file can be made anew), with nothing changed.
    let o = office(&fx, "o-replay");
    let (code, report) = batch_import_json(&o, &fx.batch);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stored"], 3);
    assert_eq!(read_ack(&fx, &report).acked.len(), 3);
    let before = fingerprint(&o);
    let (code, report) = batch_import_json(&o, &fx.batch);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stored"], 0);
    assert_eq!(report["already_held"], 3);
    assert_eq!(read_ack(&fx, &report).acked.len(), 3);
    assert_eq!(fingerprint(&o), before);
    assert_eq!(stored_count(&o), 3);
}

#[test]
fn gaps_are_reported_and_equivocation_is_an_alarm() {
    let fx = fixture();
    // Only seq 2–3 arrive first: stored (they are authentic) but the gap is reported.
    let tail = fx.root.join("tail.batch");
    batch_export(&fx.field_dir, &tail, &["--from-seq", "2"]);
    let o = office(&fx, "o-gap");
    let (code, report) = batch_import_json(&o, &tail);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stored"], 2);
    assert_eq!(report["gaps"], serde_json::json!([{"from": 1, "to": 1}]));
    let text = cli(
        &[
            "batch",
            "import",
            "--data",
            o.to_str().unwrap(),
            tail.to_str().unwrap(),
        ],
        &[],
    );
    assert!(String::from_utf8_lossy(&text.stdout).contains("GAP: envelope seq 1"));
    // Then the full batch fills the gap: seq 1 is stored, 2–3 already held, no gap left.
    let (code, report) = batch_import_json(&o, &fx.batch);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["stored"], 1);
    assert_eq!(report["already_held"], 2);
    assert_eq!(report["gaps"], serde_json::json!([]));

    // A cloned device (same keys) seals a different dossier as seq 1: equivocation.
    let clone_dir = fx.root.join("clone");
    copy_dir(&fx.root.join("cloned-keys"), &clone_dir.join("keys"));
    cli_ok(
        &[
            "init",
            "--mode",
            "field",
            "--data",
            clone_dir.to_str().unwrap(),
        ],
        &[],
    );
    let office_card = fx.root.join("office.pub");
    cli_ok(
        &[
            "trust",
            "--data",
            clone_dir.to_str().unwrap(),
            office_card.to_str().unwrap(),
        ],
        &[],
    );
    let clone = Hub::start("field", &clone_dir);
    block_on(async {
        let admin = Client::setup(&clone, "quantri", "mat-khau-quan-tri").await;
        capture_and_seal(&admin, "Người Khác", "070198005555", &small_jpeg()).await;
    });
    drop(clone);
    let forged = fx.root.join("forged.batch");
    batch_export(&clone_dir, &forged, &[]);
    let before = fingerprint(&o);
    let ack_out = fx.root.join("forged-ack.json");
    let out = cli(
        &[
            "batch",
            "import",
            "--data",
            o.to_str().unwrap(),
            "--ack-out",
            ack_out.to_str().unwrap(),
            forged.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("QUARANTINED: envelope seq 1: check `equivocation`"),
        "{text}"
    );
    assert!(text.contains(ack_out.to_str().unwrap()), "{text}");
    let bytes = std::fs::read(&ack_out).unwrap();
    let first = bytes.split(|b| *b == b'\n').next().unwrap();
    let signed = protocol::SignedAck::from_bytes(first).unwrap();
    let keys = crate::common::hub_keys(&fx.root.join("office-template"));
    signed.verify(&keys.device.public()).unwrap();
    assert_eq!(signed.ack.equivocations.len(), 1);
    assert_eq!(signed.ack.equivocations[0].seq, 1);
    assert!(signed.ack.acked.is_empty());
    assert_eq!(fingerprint(&o), before, "the held envelope 1 is kept");
    assert_eq!(stored_count(&o), 3);
    assert!(quarantine_rows(&o).contains(&(1, "equivocation".into())));
}

/// Hostile batch files (recursive views, triggers, huge values, bad headers…) built with rusqlite.
mod hostile;

/// Finding 10 of issue 18: the office enforces what docs/protocol.md says (cases of vectors/rejections.json).
mod spec;

/// Finding 9 of issue 18: a batch file says nothing about sessions or procedures without the office key.
mod plaintext;
