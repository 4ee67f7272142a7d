//! The office side of sync over the network (protocol §11), driven exactly as a field hub would: a real
//! field hub seals dossiers and exports them; the test reads that batch file and plays challenge → signed
//! hello (with the field's own device key) → holdings → manifest → envelopes → chunks (in pieces, with a
//! resume after a refused offset) → ack, against a real office hub. Then: repeats are idempotent; a tampered
//! envelope is quarantined while the others are stored and acked; an equivocating envelope is refused and
//! alarmed; unannounced bytes are refused; a pending or revoked device is refused with the right code; a
//! batch file uploaded through the office UI gives a report and an ack that verifies.

use std::path::{Path, PathBuf};

use crate::common::*;
use protocol::{
    BatchManifest, DeviceKey, DevicePublicKey, EnvelopeHeader, Signature, SignedAck,
    SignedEnvelope, SignedHoldings, SignedManifest,
};
use serde_json::{json, Value};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    field_card: PathBuf,
    batch: PathBuf,
    field_key: DeviceKey,
    office_pub: DevicePublicKey,
}

fn small_jpeg() -> Vec<u8> {
    jpeg_of(120, 90, |x, y| {
        [(x * 2) as u8, (y * 3) as u8, ((x * y) % 251) as u8]
    })
}

/// A field hub with three sealed dossiers (one photo each), paired by files with an office key; exported.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let sealed = batch::sealed_field_batch(&root, &small_jpeg(), |_| {});
    let field_key = crate::common::hub_keys(&sealed.field_dir).device;
    let office_pub = crate::common::hub_keys(&sealed.template).device.public();
    Fixture {
        _tmp: tmp,
        root,
        field_card: sealed.field_card,
        batch: sealed.batch,
        field_key,
        office_pub,
    }
}

/// A fresh office (the template's keys) that trusts the field hub by file (status approved).
fn office_dir(fx: &Fixture, name: &str) -> PathBuf {
    batch::office_from_template(&fx.root, name, &fx.field_card)
}

/// What the batch file holds, as the field would send it.
struct Batch {
    manifest: SignedManifest,
    envelopes: Vec<(u64, Vec<u8>)>,
    blobs: std::collections::HashMap<String, Vec<u8>>,
}

fn read_batch(path: &Path) -> Batch {
    let c = crate::common::db(path).unwrap();
    let (body, sig): (Vec<u8>, String) = c
        .query_row("SELECT body, signature FROM manifest", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    let manifest = SignedManifest {
        manifest: BatchManifest::from_bytes(&body).unwrap(),
        signature: Signature::from_hex(&sig).unwrap(),
    };
    let mut envelopes = Vec::new();
    let mut blobs = std::collections::HashMap::new();
    let mut st = c
        .prepare("SELECT seq, header, signature, payload FROM envelopes ORDER BY seq")
        .unwrap();
    let rows: Vec<(i64, Vec<u8>, String, Vec<u8>)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (seq, header, sig, payload) in rows {
        let env = SignedEnvelope {
            header: EnvelopeHeader::from_bytes(&header).unwrap(),
            signature: Signature::from_hex(&sig).unwrap(),
        };
        envelopes.push((seq as u64, protocol::canonical_bytes(&env).unwrap()));
        blobs.insert(protocol::sha256_hex(&payload), payload);
    }
    let mut st = c.prepare("SELECT sha256, bytes FROM blobs").unwrap();
    for r in st
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
    {
        let (k, v) = r.unwrap();
        blobs.insert(k, v);
    }
    Batch {
        manifest,
        envelopes,
        blobs,
    }
}

/// A field's sync session with the office.
struct Session {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Session {
    async fn open(base: &str, key: &DeviceKey, office: &DevicePublicKey) -> Session {
        let http = reqwest::Client::new();
        let token = sync_token(&http, base, key, office.device_id(), "2026-11-23T10:00:00Z").await;
        Session {
            http,
            base: base.into(),
            token,
        }
    }

    async fn req(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Vec<u8>,
        ctype: &str,
    ) -> (u16, Vec<u8>) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.bytes().await.unwrap().to_vec())
    }

    async fn json(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> (u16, Value) {
        let (s, b) = self.req(method, path, body, "application/json").await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    async fn holdings(&self, office: &DevicePublicKey) -> protocol::Holdings {
        let (s, b) = self
            .req(
                reqwest::Method::GET,
                "/api/v1/sync/holdings",
                vec![],
                "application/json",
            )
            .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
        let h = SignedHoldings::from_bytes(&b).unwrap();
        h.verify(office).expect("holdings signed by the office");
        h.holdings
    }

    async fn manifest(&self, m: &SignedManifest) -> (u16, Value) {
        self.json(
            reqwest::Method::POST,
            "/api/v1/sync/manifest",
            protocol::canonical_bytes(m).unwrap(),
        )
        .await
    }

    async fn envelope(&self, seq: u64, bytes: &[u8]) -> (u16, Value) {
        self.json(
            reqwest::Method::PUT,
            &format!("/api/v1/sync/envelopes/{seq}"),
            bytes.to_vec(),
        )
        .await
    }

    async fn chunk(&self, sha: &str, offset: u64, bytes: &[u8]) -> (u16, Value) {
        let (s, b) = self
            .req(
                reqwest::Method::PUT,
                &format!("/api/v1/sync/blobs/{sha}?offset={offset}"),
                bytes.to_vec(),
                "application/octet-stream",
            )
            .await;
        (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    /// Sends every needed ciphertext from the held offset in pieces of `piece` bytes.
    async fn send_blobs(
        &self,
        answer: &Value,
        blobs: &std::collections::HashMap<String, Vec<u8>>,
        piece: u64,
    ) -> u64 {
        let mut sent = 0;
        for b in answer["blobs"].as_array().unwrap() {
            let sha = b["sha256"].as_str().unwrap();
            let bytes = &blobs[sha];
            let mut held = b["held"].as_u64().unwrap();
            while let Some((off, len)) = protocol::next_chunk(bytes.len() as u64, held, piece) {
                let (s, v) = self
                    .chunk(sha, off, &bytes[off as usize..(off + len) as usize])
                    .await;
                assert_eq!(s, 200, "{v}");
                held = v["held"].as_u64().unwrap();
                sent += len;
            }
        }
        sent
    }

    async fn ack(
        &self,
        batch_id: &str,
        office: &DevicePublicKey,
        m: &BatchManifest,
    ) -> protocol::Ack {
        let (s, b) = self
            .req(
                reqwest::Method::POST,
                "/api/v1/sync/ack",
                serde_json::to_vec(&json!({ "batch_id": batch_id })).unwrap(),
                "application/json",
            )
            .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
        let a = SignedAck::from_bytes(&b).unwrap();
        a.verify_for(office, m)
            .expect("the ack verifies with the office key");
        a.ack
    }
}

fn count(office: &Path, sql: &str) -> i64 {
    let c = crate::common::db(office.join("hub.sqlite")).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn set_status(office: &Path, status: &str) {
    let c = crate::common::db(office.join("hub.sqlite")).unwrap();
    c.execute(
        "UPDATE trusted_peers SET status = ?1 WHERE mode = 'field'",
        [status],
    )
    .unwrap();
}

#[test]
fn a_field_uploads_over_the_network_envelope_by_envelope() {
    let fx = fixture();
    let batch = read_batch(&fx.batch);
    let m = &batch.manifest.manifest;
    let dir = office_dir(&fx, "office");
    let office = Hub::start("office", &dir);
    block_on(async {
        let s = Session::open(&office.base, &fx.field_key, &fx.office_pub).await;
        let h = s.holdings(&fx.office_pub).await;
        assert!(h.held.is_empty() && h.head.is_none());
        assert_eq!(h.device_status, protocol::DeviceStatus::Approved);
        assert_eq!(h.missing(&[1, 2, 3]), vec![1, 2, 3]);

        // Bytes before the manifest announced them are refused.
        let any_sha = m.envelopes[0].payload.sha256.clone();
        let (code, v) = s.chunk(&any_sha, 0, b"x").await;
        assert_eq!(
            (code, v["error"]["code"].as_str()),
            (409, Some("unexpected_blob"))
        );
        let (code, v) = s.envelope(1, &batch.envelopes[0].1).await;
        assert_eq!(
            (code, v["error"]["code"].as_str()),
            (409, Some("unexpected_envelope"))
        );

        // Manifest first: everything needed, nothing held.
        let (code, ans) = s.manifest(&batch.manifest).await;
        assert_eq!(code, 200, "{ans}");
        assert!(ans["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] == "needed"));
        assert_eq!(
            ans["blobs"].as_array().unwrap().len(),
            6,
            "3 payloads + 3 photos"
        );
        for (seq, bytes) in &batch.envelopes {
            let (code, v) = s.envelope(*seq, bytes).await;
            assert_eq!(code, 200, "{v}");
            assert_eq!(v["result"], "received", "waits for its ciphertexts");
        }

        // The first ciphertext: a chunk at the wrong offset is refused with `held`; the field resumes.
        let first = ans["blobs"][0]["sha256"].as_str().unwrap().to_string();
        let bytes = &batch.blobs[&first];
        assert!(bytes.len() > 600, "several pieces");
        let (code, v) = s.chunk(&first, 0, &bytes[..300]).await;
        assert_eq!((code, v["held"].as_u64()), (200, Some(300)));
        let (code, v) = s.chunk(&first, 500, &bytes[500..600]).await;
        assert_eq!(code, 409, "{v}");
        assert_eq!(v["error"]["code"], "chunk_offset");
        assert_eq!(v["error"]["held"], 300);
        let (code, v) = s.chunk(&first, 0, &bytes[..200]).await;
        assert_eq!(
            (code, v["held"].as_u64()),
            (200, Some(300)),
            "a retry of held bytes is a success"
        );
        let (code, v) = s
            .req(
                reqwest::Method::GET,
                &format!("/api/v1/sync/blobs/{first}"),
                vec![],
                "application/json",
            )
            .await;
        assert_eq!(code, 200);
        let v: Value = serde_json::from_slice(&v).unwrap();
        assert_eq!(v["held"], 300);
        // A chunk over 256 KiB is refused.
        let (code, v) = s.chunk(&first, 300, &vec![0u8; 256 * 1024 + 1]).await;
        assert_eq!(code, 413, "{v}");

        // The rest, resumed from what the office holds, in 700-byte pieces.
        let (_, ans) = s.manifest(&batch.manifest).await;
        assert_eq!(
            ans["blobs"][0]["held"], 300,
            "the manifest answer says where to resume"
        );
        let sent = s.send_blobs(&ans, &batch.blobs, 700).await;
        let total: u64 = batch.blobs.values().map(|b| b.len() as u64).sum();
        assert_eq!(sent + 300, total, "no byte sent twice");
        assert_eq!(
            count(&dir, "SELECT count(*) FROM received_dossiers"),
            3,
            "stored as each completes"
        );
        assert_eq!(count(&dir, "SELECT count(*) FROM sync_chunks"), 0);
        assert_eq!(count(&dir, "SELECT count(*) FROM sync_envelopes"), 0);

        let ack = s.ack(&m.batch_id, &fx.office_pub, m).await;
        for e in &m.envelopes {
            assert!(ack.covers(e.seq, &e.hash), "envelope {} acked", e.seq);
        }
        assert!(ack.quarantined.is_empty() && ack.missing.is_empty());
        let h = s.holdings(&fx.office_pub).await;
        assert_eq!(h.held, vec![[1, 3]]);
        assert_eq!(h.head.as_ref().unwrap().hash, m.chain_head.hash);
        assert!(h.missing(&[1, 2, 3]).is_empty());

        // Everything again: idempotent.
        let (_, ans) = s.manifest(&batch.manifest).await;
        assert!(ans["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["state"] == "held"));
        assert!(ans["blobs"].as_array().unwrap().is_empty());
        let (code, v) = s.envelope(2, &batch.envelopes[1].1).await;
        assert_eq!((code, v["result"].as_str()), (200, Some("replay")));
        let (code, v) = s.chunk(&first, 0, &bytes[..100]).await;
        assert_eq!((code, v["complete"].as_bool()), (200, Some(true)));
        let again = s.ack(&m.batch_id, &fx.office_pub, m).await;
        assert_eq!(again.acked, ack.acked);
        assert_eq!(count(&dir, "SELECT count(*) FROM received_dossiers"), 3);

        // An equivocating envelope: a different header for seq 1, properly signed by the device key (a
        // cloned device), announced by a properly signed manifest. Refused, quarantined, alarmed.
        let mut other = EnvelopeHeader::from_bytes(&read_header(&batch, 1)).unwrap();
        other.sealed_at = "2026-01-01T00:00:00Z".into();
        let forged = other.clone().sign(&fx.field_key).unwrap();
        let mut fm = m.clone();
        fm.batch_id = "019a9f3e-9000-7000-8000-00000000e001".into();
        fm.envelopes = vec![m.envelopes[0].clone()];
        fm.envelopes[0].hash = other.hash().unwrap();
        fm.chain_head = protocol::ChainHead {
            seq: 1,
            hash: other.hash().unwrap(),
        };
        let fsigned = fm.clone().sign(&fx.field_key).unwrap();
        let (code, ans) = s.manifest(&fsigned).await;
        assert_eq!(code, 200, "{ans}");
        let (code, v) = s
            .envelope(1, &protocol::canonical_bytes(&forged).unwrap())
            .await;
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["result"], "quarantined");
        assert_eq!(v["reason"], "equivocation");
        let fack = s.ack(&fm.batch_id, &fx.office_pub, &fm).await;
        assert!(fack.acked.is_empty());
        assert_eq!(fack.equivocations.len(), 1);
        assert_eq!(fack.equivocations[0].held_hash, m.envelopes[0].hash);
        let h = s.holdings(&fx.office_pub).await;
        assert_eq!(h.quarantined.len(), 1);
        assert_eq!(h.quarantined[0].reason, protocol::CheckKind::Equivocation);
        assert_eq!(h.held, vec![[1, 3]], "the held envelope is kept");
        // The clerks see the alarm.
        let admin = Client::setup(&office, "quantri", "mat-khau-van-phong").await;
        let (code, q) = admin.get("/api/v1/office/quarantine").await;
        assert_eq!(code, 200, "{q}");
        assert_eq!(q["unresolved"], 1);
        assert_eq!(q["items"][0]["reason"], "equivocation");
        assert_eq!(q["items"][0]["via"], "network");
        let id = q["items"][0]["id"].as_i64().unwrap();
        let (code, _) = admin
            .post(
                &format!("/api/v1/office/quarantine/{id}/resolve"),
                json!({"note": ""}),
            )
            .await;
        assert_eq!(code, 422, "a note is required");
        let (code, r) = admin
            .post(
                &format!("/api/v1/office/quarantine/{id}/resolve"),
                json!({"note": "Đã gọi đội: máy sao chép, không xử lý."}),
            )
            .await;
        assert_eq!(code, 200, "{r}");
        let (_, q) = admin.get("/api/v1/office/quarantine").await;
        assert_eq!(q["unresolved"], 0);
        assert_eq!(q["items"][0]["resolved_by"], "quantri");

        // A device waiting for approval, then revoked: uploads refused with the right code; holdings
        // still answer and name the status.
        for (status, code_name) in [
            ("pending_approval", "device_pending_approval"),
            ("revoked", "device_revoked"),
        ] {
            set_status(&dir, status);
            let (code, v) = s.manifest(&batch.manifest).await;
            assert_eq!(
                (code, v["error"]["code"].as_str()),
                (403, Some(code_name)),
                "{v}"
            );
            let (code, v) = s.chunk(&first, 0, &bytes[..10]).await;
            assert_eq!(
                (code, v["error"]["code"].as_str()),
                (403, Some(code_name)),
                "{v}"
            );
            let h = s.holdings(&fx.office_pub).await;
            assert_eq!(h.device_status.as_str(), status);
        }
    });
}

fn read_header(batch: &Batch, seq: u64) -> Vec<u8> {
    let (_, bytes) = batch.envelopes.iter().find(|(s, _)| *s == seq).unwrap();
    let env: SignedEnvelope = protocol::parse_canonical(bytes).unwrap();
    env.header.to_bytes().unwrap()
}

#[test]
fn a_tampered_envelope_is_quarantined_and_the_rest_acked() {
    let fx = fixture();
    let batch = read_batch(&fx.batch);
    let m = &batch.manifest.manifest;
    let dir = office_dir(&fx, "office-t");
    let office = Hub::start("office", &dir);
    let dir2 = office_dir(&fx, "office-sig");
    let office2 = Hub::start("office", &dir2);
    block_on(async {
        let s = Session::open(&office.base, &fx.field_key, &fx.office_pub).await;
        // A flipped payload byte of envelope 2, with the manifest re-announced for the altered bytes (and
        // signed by the device key): the header the device signed no longer matches.
        let mut blobs = batch.blobs.clone();
        let orig = m.envelopes[1].payload.sha256.clone();
        let mut bad = blobs[&orig].clone();
        bad[40] ^= 1;
        let bad_ref = protocol::BlobRef::of(&bad);
        blobs.insert(bad_ref.sha256.clone(), bad);
        let mut tm = m.clone();
        tm.envelopes[1].payload = bad_ref;
        let tsigned = tm.clone().sign(&fx.field_key).unwrap();
        let (code, ans) = s.manifest(&tsigned).await;
        assert_eq!(code, 200, "{ans}");
        let mut results = Vec::new();
        for (seq, bytes) in &batch.envelopes {
            let (code, v) = s.envelope(*seq, bytes).await;
            assert_eq!(code, 200, "{v}");
            results.push(v);
        }
        assert_eq!(results[1]["result"], "quarantined");
        assert_eq!(results[1]["reason"], "manifest_mismatch");
        s.send_blobs(&ans, &blobs, 4096).await;
        let ack = s.ack(&tm.batch_id, &fx.office_pub, &tm).await;
        assert!(ack.covers(1, &m.envelopes[0].hash));
        assert!(
            ack.covers(3, &m.envelopes[2].hash),
            "envelope 3 is stored despite the gap"
        );
        assert!(!ack.covers(2, &m.envelopes[1].hash));
        assert_eq!(ack.quarantined.len(), 1);
        assert_eq!(ack.quarantined[0].seq, 2);
        assert_eq!(count(&dir, "SELECT count(*) FROM received_dossiers"), 2);
        let h = s.holdings(&fx.office_pub).await;
        assert_eq!(h.held, vec![[1, 1], [3, 3]]);
        assert_eq!(
            h.missing(&[1, 2, 3]),
            Vec::<u64>::new(),
            "2 is quarantined, not sent again"
        );

        // A bad envelope signature: quarantined as such.
        let s2 = Session::open(&office2.base, &fx.field_key, &fx.office_pub).await;
        let (_, ans) = s2.manifest(&batch.manifest).await;
        let mut env: SignedEnvelope = protocol::parse_canonical(&batch.envelopes[2].1).unwrap();
        env.signature = Signature::from_hex(&"00".repeat(64)).unwrap();
        let (code, v) = s2
            .envelope(3, &protocol::canonical_bytes(&env).unwrap())
            .await;
        assert_eq!(
            (code, v["reason"].as_str()),
            (200, Some("envelope_signature")),
            "{v}"
        );
        for (seq, bytes) in &batch.envelopes[..2] {
            s2.envelope(*seq, bytes).await;
        }
        s2.send_blobs(&ans, &batch.blobs, 100_000).await;
        let ack = s2.ack(&m.batch_id, &fx.office_pub, m).await;
        assert_eq!(ack.acked.len(), 2);
        assert_eq!(
            ack.quarantined[0].reason,
            protocol::CheckKind::EnvelopeSignature
        );

        // The USB path through the office UI: upload the batch file, read the report, fetch the ack.
        let admin = Client::setup(&office, "quantri", "mat-khau-van-phong").await;
        let r = admin
            .http
            .post(format!("{}/api/v1/office/imports", office.base))
            .header("x-csrf-token", &admin.csrf)
            .header("content-type", "application/octet-stream")
            .header("x-file-name", "all.batch")
            .body(std::fs::read(&fx.batch).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let report: Value = r.json().await.unwrap();
        assert_eq!(report["accepted"], true, "{report:#}");
        assert_eq!(report["file"], "all.batch");
        assert_eq!(report["already_held"], 2);
        assert_eq!(
            report["stored"], 1,
            "the file's good envelope 2 fills the gap"
        );
        let url = report["ack_url"].as_str().unwrap();
        let (code, bytes) = admin.get_bytes(url).await;
        assert_eq!(code, 200);
        // Typed as what it is: JSON Lines when packages follow the ack, one JSON document otherwise.
        let ctype = admin
            .http
            .get(format!("{}{url}", office.base))
            .send()
            .await
            .unwrap()
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let several = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count()
            > 1;
        assert!(
            several,
            "this device lacks the office's packages: they follow the ack"
        );
        assert_eq!(ctype.as_deref(), Some("application/x-ndjson"));
        // The ack is the first line; the packages the device lacks follow (protocol §13.4).
        let mut lines = bytes.split(|b| *b == b'\n');
        let a = SignedAck::from_bytes(lines.next().unwrap()).unwrap();
        a.verify_for(&fx.office_pub, m).unwrap();
        assert_eq!(a.ack.acked.len(), 3);
        // Then the office's holdings of the device (protocol §11.4.2), then the packages.
        let h = protocol::SignedHoldings::from_bytes(lines.next().unwrap()).unwrap();
        h.verify(&fx.office_pub).unwrap();
        assert_eq!(h.holdings.head.as_ref().map(|h| h.seq), Some(3));
        for l in lines {
            let p = protocol::SignedPackage::from_bytes(l).unwrap();
            p.verify(&fx.office_pub).unwrap();
        }
        assert!(
            std::fs::read_dir(dir.join("uploads"))
                .unwrap()
                .next()
                .is_none(),
            "temp file removed"
        );
        let (code, _) = admin
            .http
            .post(format!("{}/api/v1/office/imports", office.base))
            .header("x-csrf-token", &admin.csrf)
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .map(|r| (r.status().as_u16(), ()))
            .unwrap();
        assert_eq!(code, 415);
    });
}
