//! A batch file read without any key (issue 18, finding 9): a plain SQLite read of every table and value,
//! and `strings` of the file, find no hamlet or venue, no procedure id, no session counts — only what
//! verification before decryption needs (device, seqs, hashes, sizes, signatures, sealing times). The
//! office, with its key, still gets the summaries; and a batch of the previous format (summaries in
//! plaintext, `format_version` 1) still imports.

use std::path::Path;

use protocol::{canonical_bytes, BatchManifest, SessionSummary};
use serde_json::json;

use super::*;

const HAMLET: &str = "Thôn Bù Khơn";
const VENUE: &str = "Nhà văn hoá thôn Bù Khơn";

/// What must not be readable without the office key: the place, the procedure, the summary's members
/// (their names would give the counts beside them), the ethnic group and the kinds of services.
const SECRETS: &[&str] = &[
    "Bù Khơn",
    "Khơn",
    "Nhà văn hoá",
    "marital-status-certificate",
    "marital",
    "hamlet",
    "venue",
    "cultural_house",
    "tickets_issued",
    "villagers_served",
    "by_sex",
    "by_age_band",
    "by_ethnicity",
    "consented",
    "Xtiêng",
    "vneid_level2_activated",
    "sim_registered",
    "disposition",
    "procedure",
    "female",
    "18-35",
];

/// A field hub that ran one outreach session in Thôn Bù Khơn (services with consented demographic
/// facts, two dossiers sealed in it), exported as a batch: `(tmp, root, field_dir, field_card, batch)`.
fn session_fixture() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let field_dir = root.join("field");
    init_hub("office", &root.join("office-template"), None);
    let field = Hub::start("field", &field_dir);
    let office_card = root.join("office.pub");
    key_card(&root.join("office-template"), &office_card);
    trust_card(&field_dir, &office_card);
    block_on(async {
        let admin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        let (s, b) = admin
            .post(
                "/api/v1/outreach/sessions",
                json!({"hamlet": HAMLET, "venue_kind": "cultural_house", "venue_name": VENUE,
                       "commune_code": "25222"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let sid = b["id"].as_str().unwrap().to_string();
        let services = format!("/api/v1/outreach/sessions/{sid}/services");
        for tap in [
            json!({"desk": "police", "kind": "vneid_level2_activated", "consent": true,
                   "sex": "female", "age_band": "18-35", "ethnicity": "22"}),
            json!({"desk": "telecom", "kind": "sim_registered", "consent": true, "sex": "male",
                   "age_band": "60+", "ethnicity": "22"}),
        ] {
            let (s, b) = admin.post(&services, tap).await;
            assert_eq!(s, 201, "{b}");
        }
        for (name, pin) in [
            ("Điểu Thị Hạnh", "070198001234"),
            ("Thị Sa Ly", "058198004567"),
        ] {
            capture_and_seal(&admin, name, pin, &small_jpeg()).await;
        }
    });
    drop(field);
    let field_card = root.join("field.pub");
    key_card(&field_dir, &field_card);
    let batch = root.join("session.batch");
    batch_export(&field_dir, &batch, &[]);
    (tmp, root, field_dir, field_card, batch)
}

/// Every name and value of every table of `batch`, read with plain SQLite and no key (blobs as lossy
/// UTF-8), one per line.
fn plain_dump(batch: &Path) -> String {
    let c = crate::common::db(batch).unwrap();
    let tables: Vec<String> = {
        let mut st = c
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(tables.len(), 4, "{tables:?}");
    let mut out = String::new();
    for t in tables {
        let mut st = c.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..n {
                use rusqlite::types::ValueRef;
                let v = match row.get_ref(i).unwrap() {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(x) => x.to_string(),
                    ValueRef::Real(x) => x.to_string(),
                    ValueRef::Text(b) | ValueRef::Blob(b) => {
                        String::from_utf8_lossy(b).into_owned()
                    }
                };
                out.push_str(&format!("{t}: {v}\n"));
            }
        }
    }
    out
}

/// `strings` of the file (the binutils tool, 4+ printable characters, every encoding it knows).
fn strings_of(batch: &Path) -> String {
    let mut all = String::new();
    for enc in ["s", "S"] {
        let out = std::process::Command::new("strings")
            .args(["-a", "-n", "4", "-e", enc])
            .arg(batch)
            .output()
            .expect("`strings` (binutils) runs");
        assert!(out.status.success());
        all.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    all
}

/// The secrets found in `text`.
fn leaks(text: &str) -> Vec<&'static str> {
    SECRETS
        .iter()
        .copied()
        .filter(|s| text.contains(s))
        .collect()
}

/// The session summaries the office `o` keeps for its one session.
fn office_summary(o: &Path) -> SessionSummary {
    let c = crate::common::db(o.join("hub.sqlite")).unwrap();
    let (hamlet, json): (String, String) = c
        .query_row(
            "SELECT hamlet, summary_json FROM session_summaries",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(hamlet, HAMLET);
    serde_json::from_str(&json).unwrap()
}

#[test]
fn a_batch_file_says_nothing_of_sessions_or_procedures_without_the_key() {
    let (_tmp, root, field_dir, field_card, batch) = session_fixture();

    let dump = plain_dump(&batch);
    let strings = strings_of(&batch);
    let raw = std::fs::read(&batch).unwrap();
    // What a reader without keys does see: the format and the chain's references.
    assert_eq!(leaks(&dump), Vec::<&str>::new(), "plain SQLite read");
    assert_eq!(leaks(&strings), Vec::<&str>::new(), "`strings` of the file");
    assert!(dump.contains("batch_meta: 2"), "format version 2:\n{dump}");
    assert!(strings.contains("outreach-kit/batch-manifest"));
    assert!(dump.contains("sealed_sessions"), "{dump}");
    for s in SECRETS {
        assert!(
            !raw.windows(s.len()).any(|w| w == s.as_bytes()),
            "{s:?} in the raw bytes"
        );
    }

    // With its key, the office reads the summaries: the ledger and the reports by session keep working.
    let o = batch::office_from_template(&root, "o", &field_card);
    let (code, report) = batch_import_json(&o, &batch);
    assert_eq!((code, &report["stored"]), (0, &json!(2)), "{report:#}");
    let s = office_summary(&o);
    assert_eq!(s.venue_name, VENUE);
    assert_eq!(s.dossiers.len(), 2);
    assert_eq!(s.dossiers[0].procedure.id, "marital-status-certificate");
    assert_eq!(s.by_sex.get("female"), Some(&1));
    assert_eq!(s.by_ethnicity[0].name, "Xtiêng");
    drop(field_dir);
}

#[test]
fn a_batch_of_the_previous_format_still_imports() {
    let (_tmp, root, field_dir, field_card, batch) = session_fixture();
    let field = crate::common::hub_keys(&field_dir);
    let office = crate::common::hub_keys(&root.join("office-template"));

    // What a field hub made before format 2 wrote: the summaries in plaintext in the signed manifest,
    // `format_version` 1.
    let rewrite = |name: &str, version: &str| -> PathBuf {
        let p = root.join(name);
        std::fs::copy(&batch, &p).unwrap();
        let c = crate::common::db(&p).unwrap();
        let body: Vec<u8> = c
            .query_row("SELECT body FROM manifest", [], |r| r.get(0))
            .unwrap();
        let mut m = BatchManifest::from_bytes(&body).unwrap();
        m.sessions = m.open_sessions(office.age_identity()).unwrap();
        m.sealed_sessions = None;
        assert_eq!(m.sessions.len(), 1);
        let signed = m.clone().sign(&field.device).unwrap();
        c.execute(
            "UPDATE manifest SET body = ?1, signature = ?2",
            rusqlite::params![canonical_bytes(&m).unwrap(), signed.signature.to_hex()],
        )
        .unwrap();
        c.execute(
            "UPDATE batch_meta SET value = ?1 WHERE key = 'format_version'",
            [version],
        )
        .unwrap();
        p
    };
    let old = rewrite("v1.batch", "1");
    assert!(
        strings_of(&old).contains(HAMLET),
        "format 1 is the plaintext one"
    );
    let o = batch::office_from_template(&root, "o-v1", &field_card);
    let (code, report) = batch_import_json(&o, &old);
    assert_eq!((code, &report["stored"]), (0, &json!(2)), "{report:#}");
    assert_eq!(office_summary(&o).dossiers.len(), 2);

    // The same plaintext summaries in a file that says format 2 are refused: format 2 seals them.
    let o = batch::office_from_template(&root, "o-v2-plain", &field_card);
    let (code, report) = batch_import_json(&o, &rewrite("v2-plain.batch", "2"));
    assert_eq!(code, 2, "{report:#}");
    assert_eq!(report["problems"][0]["check"], "format", "{report:#}");
    assert_eq!(report["stored"], 0);
}

#[test]
fn the_network_manifest_says_nothing_either() {
    // Over the network the manifest is the same signed structure: what it carries in clear a fake office
    // or a listener on the LAN reads. The office keeps the bytes it received (`sync_manifests.body`).
    let (_tmp, root, field_dir, field_card, _batch) = session_fixture();
    let o = batch::office_from_template(&root, "o-net", &field_card);
    let office = Hub::start("office", &o);
    let out = cli(
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
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(office);
    let c = crate::common::db(o.join("hub.sqlite")).unwrap();
    let bodies: Vec<Vec<u8>> = {
        let mut st = c.prepare("SELECT body FROM sync_manifests").unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert!(!bodies.is_empty());
    for body in bodies {
        let text = String::from_utf8_lossy(&body);
        assert_eq!(
            leaks(&text),
            Vec::<&str>::new(),
            "the manifest sent over the network"
        );
        assert!(text.contains("\"sealed_sessions\":\""), "{text}");
    }
    let s = office_summary(&o);
    assert_eq!(s.dossiers.len(), 2);
    assert_eq!(s.by_age_band.get("60+"), Some(&1));
}

#[test]
fn over_the_network_the_office_takes_both_formats_and_refuses_what_it_cannot_open() {
    let (_tmp, root, field_dir, field_card, batch) = session_fixture();
    let field = crate::common::hub_keys(&field_dir);
    let office_keys = crate::common::hub_keys(&root.join("office-template"));
    let c = crate::common::db(&batch).unwrap();
    let body: Vec<u8> = c
        .query_row("SELECT body FROM manifest", [], |r| r.get(0))
        .unwrap();
    let sealed = BatchManifest::from_bytes(&body).unwrap();
    let sessions = sealed.open_sessions(office_keys.age_identity()).unwrap();
    let with = |edit: &dyn Fn(&mut BatchManifest)| {
        let mut m = sealed.clone();
        m.batch_id = uuid::Uuid::now_v7().to_string();
        edit(&mut m);
        canonical_bytes(&m.sign(&field.device).unwrap()).unwrap()
    };
    // A field hub made before format 2: plaintext summaries.
    let plain = with(&|m| {
        m.sessions = sessions.clone();
        m.sealed_sessions = None;
    });
    // Summaries sealed to another office: this one cannot open them.
    let stranger = age::x25519::Identity::generate().to_public().to_string();
    let foreign = with(&|m| {
        m.seal_sessions(std::slice::from_ref(&stranger), sessions.clone())
            .unwrap()
    });

    let o = batch::office_from_template(&root, "o-net-formats", &field_card);
    let office = Hub::start("office", &o);
    block_on(async {
        let token = field_sync_token(
            &office,
            &field_dir,
            office_keys.device_id.as_str(),
            "2026-11-23T10:00:00Z",
        )
        .await;
        let http = reqwest::Client::new();
        let post = |body: Vec<u8>| {
            http.post(format!("{}/api/v1/sync/manifest", office.base))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let r = post(foreign).await.unwrap();
        let status = r.status().as_u16();
        let b: serde_json::Value = r.json().await.unwrap();
        assert_eq!(
            (status, &b["error"]["code"]),
            (400, &json!("bad_message")),
            "{b}"
        );
        assert!(
            b["error"]["message_en"]
                .as_str()
                .unwrap()
                .contains("session summaries"),
            "{b}"
        );
        let r = post(plain).await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    });
    drop(office);
    let s = office_summary(&o);
    assert_eq!(s.hamlet, HAMLET);
    assert_eq!(s.dossiers.len(), 2);
}
