//! Verifying and storing a batch file on an office hub. Every check runs before anything is kept: the
//! whole batch is stored in one transaction, or — if any check fails — nothing is, and the report says
//! which envelope failed which check. Gaps before the batch (earlier envelopes not received yet) are
//! reported, not hidden; the dossiers themselves are authentic and are stored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use protocol::{
    BatchManifest, ChainHead, ChainIssue, CheckKind, DeviceId, DevicePublicKey, EnvelopeHeader,
    Problem, Signature, SignedDossier, SignedManifest,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Transaction};
use serde::Serialize;

use crate::capture::store::title_of;
use crate::clock;
use crate::store::{write_tx, StoreError, StoreResult};
use crate::trust;

/// A range of missing sequence numbers, inclusive.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Gap {
    pub from: u64,
    pub to: u64,
}

/// The result of one import, as printed by the CLI and kept in the `imports` table.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub file: String,
    pub batch_id: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    pub imported_at: String,
    pub accepted: bool,
    pub envelopes_in_file: usize,
    pub stored: usize,
    pub already_held: usize,
    pub problems: Vec<Problem>,
    /// Sequence numbers of this device still missing at the office after this import.
    pub gaps: Vec<Gap>,
}

/// One check's outcome, kept with each stored dossier.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
}

fn problem(seq: Option<u64>, check: CheckKind, detail: impl Into<String>) -> Problem {
    Problem {
        seq,
        check,
        detail: detail.into(),
    }
}

/// Imports the batch file at `path` into the office store `c`, decrypting with `identity`.
pub fn import(c: &mut Connection, identity: &str, path: &Path) -> StoreResult<ImportReport> {
    let mut report = ImportReport {
        file: path.display().to_string(),
        batch_id: None,
        device_id: None,
        device_name: None,
        imported_at: clock::now_rfc3339(),
        accepted: false,
        envelopes_in_file: 0,
        stored: 0,
        already_held: 0,
        problems: Vec::new(),
        gaps: Vec::new(),
    };
    let outcome = match open_batch(path) {
        Ok(file) => verify_and_store(c, identity, &file, &mut report),
        Err(p) => {
            report.problems.push(p);
            Ok(())
        }
    };
    outcome?;
    if let Some(dev) = &report.device_id {
        report.gaps = gaps_for(c, dev)?;
    }
    record(c, &report)?;
    Ok(report)
}

fn open_batch(path: &Path) -> Result<Connection, Problem> {
    if !path.is_file() {
        return Err(problem(
            None,
            CheckKind::Format,
            format!("{} is not a readable file", path.display()),
        ));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| problem(None, CheckKind::Format, format!("not a batch file: {e}")))?;
    let check: Result<Vec<String>, _> = conn
        .prepare("PRAGMA quick_check")
        .and_then(|mut st| st.query_map([], |r| r.get::<_, String>(0))?.collect());
    match check {
        Ok(rows) if rows.len() == 1 && rows[0] == "ok" => {}
        Ok(rows) => {
            return Err(problem(
                None,
                CheckKind::Format,
                format!("the file is damaged or truncated: {}", rows.join("; ")),
            ))
        }
        Err(e) => {
            return Err(problem(
                None,
                CheckKind::Format,
                format!("the file is damaged or truncated: {e}"),
            ))
        }
    }
    let meta = |k: &str| -> Option<String> {
        conn.query_row("SELECT value FROM batch_meta WHERE key = ?1", [k], |r| {
            r.get(0)
        })
        .ok()
    };
    if meta("format").as_deref() != Some(super::FORMAT) {
        return Err(problem(
            None,
            CheckKind::Format,
            "not an outreach-kit batch file (batch_meta.format)",
        ));
    }
    if meta("format_version").as_deref() != Some(super::FORMAT_VERSION) {
        return Err(problem(
            None,
            CheckKind::Format,
            format!(
                "unsupported batch format version {:?}",
                meta("format_version")
            ),
        ));
    }
    Ok(conn)
}

struct Verified {
    header: EnvelopeHeader,
    header_bytes: Vec<u8>,
    signature: String,
    hash: String,
}

fn verify_and_store(
    c: &mut Connection,
    identity: &str,
    file: &Connection,
    report: &mut ImportReport,
) -> StoreResult<()> {
    // 1. The manifest: well-formed, from a trusted field device, correctly signed.
    let row: Result<(Vec<u8>, String), _> = file.query_row(
        "SELECT body, signature FROM manifest WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    );
    let Ok((body, sig_hex)) = row else {
        report
            .problems
            .push(problem(None, CheckKind::Format, "the manifest is missing"));
        return Ok(());
    };
    let manifest: BatchManifest = match protocol::parse_canonical(&body) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(problem(
                None,
                CheckKind::Format,
                format!("the manifest is malformed: {e}"),
            ));
            return Ok(());
        }
    };
    report.batch_id = Some(manifest.batch_id.clone());
    report.device_id = Some(manifest.device_id.to_string());
    report.device_name = Some(manifest.device_name.clone());
    report.envelopes_in_file = manifest.envelopes.len();
    let device: DeviceId = manifest.device_id.clone();
    let Some((key, _name)) = trust::field_device(c, &device)? else {
        report.problems.push(problem(
            None,
            CheckKind::UnknownDevice,
            format!("device {device} is not a trusted field hub of this office (run `hub trust` with its key card)"),
        ));
        return Ok(());
    };
    let sig = match Signature::from_hex(&sig_hex) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(problem(
                None,
                CheckKind::ManifestSignature,
                format!("signature unreadable: {e}"),
            ));
            return Ok(());
        }
    };
    if (SignedManifest {
        manifest: manifest.clone(),
        signature: sig,
    })
    .verify(&key)
    .is_err()
    {
        report.problems.push(problem(
            None,
            CheckKind::ManifestSignature,
            "the manifest's signature does not match its content and the device key",
        ));
        return Ok(());
    }
    if manifest.envelopes.last().map(|e| (e.seq, e.hash.as_str()))
        != Some((manifest.chain_head.seq, manifest.chain_head.hash.as_str()))
    {
        report.problems.push(problem(
            None,
            CheckKind::ManifestMismatch,
            "the chain head is not the last envelope",
        ));
    }

    // 2. Every envelope the manifest lists, and nothing else.
    let listed: BTreeSet<u64> = manifest.envelopes.iter().map(|e| e.seq).collect();
    let in_file: Vec<i64> = file
        .prepare("SELECT seq FROM envelopes ORDER BY seq")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .unwrap_or_default();
    for s in &in_file {
        if !listed.contains(&(*s as u64)) {
            report.problems.push(problem(
                Some(*s as u64),
                CheckKind::UnexpectedEnvelope,
                "the file holds an envelope the manifest does not list",
            ));
        }
    }
    let mut verified: Vec<Verified> = Vec::new();
    for entry in &manifest.envelopes {
        let row: Option<(i64, Vec<u8>, String, Vec<u8>)> = file
            .query_row(
                "SELECT seq, header, signature, payload FROM envelopes WHERE seq = ?1",
                [entry.seq as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .unwrap_or(None);
        let Some((row_seq, header_bytes, sig_hex, payload)) = row else {
            report.problems.push(problem(
                Some(entry.seq),
                CheckKind::EnvelopeMissing,
                "the manifest lists this envelope but the file does not hold it (truncated?)",
            ));
            continue;
        };
        let Ok(sig) = Signature::from_hex(&sig_hex) else {
            report.problems.push(problem(
                Some(entry.seq),
                CheckKind::EnvelopeSignature,
                "signature unreadable",
            ));
            continue;
        };
        let sha = protocol::sha256_hex(&payload);
        match protocol::verify_envelope(
            entry,
            row_seq as u64,
            &header_bytes,
            &sig,
            &sha,
            payload.len() as u64,
            &key,
            &device,
        ) {
            Ok(header) => {
                let mut blobs_ok = true;
                for (i, b) in header.blobs.iter().enumerate() {
                    let bytes: Option<Vec<u8>> = file
                        .query_row(
                            "SELECT bytes FROM blobs WHERE sha256 = ?1",
                            [&b.sha256],
                            |r| r.get(0),
                        )
                        .optional()
                        .unwrap_or(None);
                    match bytes {
                        None => {
                            blobs_ok = false;
                            report.problems.push(problem(
                                Some(entry.seq),
                                CheckKind::BlobMissing,
                                format!("photo {} is missing", i + 1),
                            ));
                        }
                        Some(bytes)
                            if protocol::sha256_hex(&bytes) != b.sha256
                                || bytes.len() as u64 != b.len =>
                        {
                            blobs_ok = false;
                            report.problems.push(problem(
                                Some(entry.seq),
                                CheckKind::BlobHash,
                                format!(
                                    "photo {} does not match its hash (altered or damaged)",
                                    i + 1
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                if blobs_ok {
                    verified.push(Verified {
                        hash: entry.hash.clone(),
                        header,
                        header_bytes,
                        signature: sig_hex,
                    });
                }
            }
            Err(problems) => report.problems.extend(problems),
        }
    }
    if !report.problems.is_empty() {
        return Ok(());
    }

    // 3. Against what the office already holds: duplicates, equivocation, and the chain.
    let tx = write_tx(c)?;
    let mut new: Vec<&Verified> = Vec::new();
    for v in &verified {
        let held: Option<String> = tx
            .query_row(
                "SELECT hash FROM received_envelopes WHERE device_id = ?1 AND seq = ?2",
                params![device.as_str(), v.header.seq as i64],
                |r| r.get(0),
            )
            .optional()?;
        match held {
            Some(h) if h == v.hash => report.already_held += 1,
            Some(_) => report.problems.push(problem(
                Some(v.header.seq),
                CheckKind::Equivocation,
                "ALARM: the office already holds a DIFFERENT envelope with this device and sequence number",
            )),
            None => new.push(v),
        }
    }
    let links: Vec<(u64, String, String)> = verified
        .iter()
        .map(|v| (v.header.seq, v.header.prev.clone(), v.hash.clone()))
        .collect();
    let first = links.first().map(|l| l.0).unwrap_or(1);
    let known: Option<ChainHead> = tx
        .query_row(
            "SELECT seq, hash FROM received_envelopes WHERE device_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
            params![device.as_str(), first as i64],
            |r| Ok(ChainHead { seq: r.get::<_, i64>(0)? as u64, hash: r.get(1)? }),
        )
        .optional()?;
    for issue in protocol::check_chain(known.as_ref(), &links) {
        match issue {
            // Earlier envelopes not received yet: reported as a gap, the batch itself is fine.
            ChainIssue::Gap { to, .. } if to < first => {}
            other => report.problems.push(problem(
                chain_seq(&other),
                CheckKind::Chain,
                other.to_string(),
            )),
        }
    }
    if let Some(last) = links.last() {
        let next: Option<String> = tx
            .query_row(
                "SELECT prev FROM received_envelopes WHERE device_id = ?1 AND seq = ?2",
                params![device.as_str(), last.0 as i64 + 1],
                |r| r.get(0),
            )
            .optional()?;
        if next.is_some_and(|p| p != last.2) {
            report.problems.push(problem(
                Some(last.0 + 1),
                CheckKind::Chain,
                format!(
                    "the envelope {} already held does not link to this batch's envelope {}",
                    last.0 + 1,
                    last.0
                ),
            ));
        }
    }
    if report.problems.is_empty() && new.is_empty() {
        report.problems.push(problem(
            None,
            CheckKind::Replay,
            format!(
                "every envelope in this batch (seq {}–{}) is already held; nothing new",
                first,
                links.last().map(|l| l.0).unwrap_or(first)
            ),
        ));
    }
    if !report.problems.is_empty() {
        return Ok(()); // tx dropped: rolled back
    }

    // 4. Open each new envelope: decrypt, verify the dossier's own signature and its photos, store.
    let now = clock::now_rfc3339();
    for v in &new {
        if let Err(p) = store_envelope(
            &tx,
            identity,
            file,
            &key,
            &device,
            v,
            &manifest.batch_id,
            &now,
        ) {
            report.problems.push(p);
        }
    }
    if !report.problems.is_empty() {
        return Ok(());
    }
    tx.commit().map_err(StoreError::classify)?;
    report.stored = new.len();
    report.accepted = true;
    Ok(())
}

fn chain_seq(i: &ChainIssue) -> Option<u64> {
    match i {
        ChainIssue::Gap { from, .. } => Some(*from),
        ChainIssue::BrokenLink { seq }
        | ChainIssue::OutOfOrder { seq }
        | ChainIssue::Duplicate { seq }
        | ChainIssue::BadStart { seq } => Some(*seq),
    }
}

#[allow(clippy::too_many_arguments)]
fn store_envelope(
    tx: &Transaction<'_>,
    identity: &str,
    file: &Connection,
    key: &DevicePublicKey,
    device: &DeviceId,
    v: &Verified,
    batch_id: &str,
    now: &str,
) -> Result<(), Problem> {
    let seq = v.header.seq;
    let store_err =
        |e: StoreError| problem(Some(seq), CheckKind::Format, format!("cannot store: {e}"));
    let payload: Vec<u8> = file
        .query_row(
            "SELECT payload FROM envelopes WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .map_err(|e| problem(Some(seq), CheckKind::Format, e.to_string()))?;
    let plain = protocol::decrypt_with(identity, &payload).map_err(|e| {
        problem(
            Some(seq),
            CheckKind::Decrypt,
            format!("cannot decrypt with this office's key: {e}"),
        )
    })?;
    let signed = SignedDossier::from_bytes(&plain).map_err(|e| {
        problem(
            Some(seq),
            CheckKind::Format,
            format!("the sealed dossier is malformed: {e}"),
        )
    })?;
    if &signed.dossier.device_id != device {
        return Err(problem(
            Some(seq),
            CheckKind::DeviceMismatch,
            "the dossier names another device",
        ));
    }
    signed.verify(key).map_err(|_| {
        problem(
            Some(seq),
            CheckKind::DossierSignature,
            "the dossier's signature by the device is not valid",
        )
    })?;
    let d = &signed.dossier;
    if d.attachments.len() != v.header.blobs.len() {
        return Err(problem(
            Some(seq),
            CheckKind::AttachmentHash,
            format!(
                "the dossier lists {} photos but the envelope carries {}",
                d.attachments.len(),
                v.header.blobs.len()
            ),
        ));
    }
    let mut photos = Vec::with_capacity(d.attachments.len());
    for (i, (a, b)) in d.attachments.iter().zip(&v.header.blobs).enumerate() {
        let ct: Vec<u8> = file
            .query_row(
                "SELECT bytes FROM blobs WHERE sha256 = ?1",
                [&b.sha256],
                |r| r.get(0),
            )
            .map_err(|e| problem(Some(seq), CheckKind::BlobMissing, e.to_string()))?;
        let bytes = protocol::decrypt_with(identity, &ct).map_err(|e| {
            problem(
                Some(seq),
                CheckKind::Decrypt,
                format!("photo {}: {e}", i + 1),
            )
        })?;
        if protocol::sha256_hex(&bytes) != a.sha256 || bytes.len() as u64 != a.size {
            return Err(problem(
                Some(seq),
                CheckKind::AttachmentHash,
                format!("photo {} does not match the hash the device signed", i + 1),
            ));
        }
        photos.push(bytes);
    }
    let mut checks = vec![
        CheckResult {
            check: "envelope_signature",
            ok: true,
            detail: format!("signed by device {device}"),
        },
        CheckResult {
            check: "payload_hash",
            ok: true,
            detail: "ciphertext matches the envelope".into(),
        },
        CheckResult {
            check: "dossier_signature",
            ok: true,
            detail: "dossier signed by the same device".into(),
        },
        CheckResult {
            check: "attachment_hash",
            ok: true,
            detail: format!("{} photo(s) match the signed hashes", photos.len()),
        },
    ];
    let roles: Vec<String> = d.attachments.iter().map(|a| a.role.clone()).collect();
    match protocol::find_procedure(&d.procedure) {
        Some(def) => {
            // Judged as on the day it was sealed (in Vietnam), so a re-check gives the same answer
            // however late the batch arrives (e.g. "under 6 on the capture date").
            let sealed_on = protocol::parse_timestamp(&d.sealed_at)
                .map(|t| (t + time::Duration::hours(7)).date())
                .unwrap_or_else(|_| clock::today_vn());
            // A refused request passes the draft-stage rules; a cancellation carries no fields.
            let findings = match d.disposition.stage() {
                Some(stage) => protocol::validate(def, &d.fields, &roles, sealed_on, stage),
                None => Vec::new(),
            };
            let errors = protocol::blocking(&findings);
            let detail = |list: &[protocol::FieldError]| {
                list.iter()
                    .map(|e| format!("{}: {}", e.field, e.message_en))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            checks.push(CheckResult {
                check: "validation",
                ok: errors.is_empty(),
                detail: if !errors.is_empty() {
                    detail(&errors)
                } else if !findings.is_empty() {
                    format!(
                        "all rules of the procedure pass; warnings: {}",
                        detail(&findings)
                    )
                } else {
                    "all rules of the procedure pass".into()
                },
            });
        }
        None => checks.push(CheckResult {
            check: "validation",
            ok: false,
            detail: format!(
                "procedure {} v{} is unknown to this office",
                d.procedure.id, d.procedure.version
            ),
        }),
    }
    checks.push(match d.check_disposition() {
        Ok(()) => CheckResult {
            check: "disposition",
            ok: true,
            detail: match d.disposition.refers_to() {
                Some(other) => format!("{} dossier {other}", d.disposition.kind()),
                None => d.disposition.kind().to_owned(),
            },
        },
        Err(e) => CheckResult {
            check: "disposition",
            ok: false,
            detail: e.to_string(),
        },
    });
    let fields_json = serde_json::to_string(&d.fields)
        .map_err(|e| problem(Some(seq), CheckKind::Format, e.to_string()))?;
    tx.execute(
        "INSERT INTO received_envelopes(device_id, seq, hash, prev, header, signature, dossier_id, batch_id, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![device.as_str(), seq as i64, v.hash, v.header.prev, v.header_bytes, v.signature, d.id, batch_id, now],
    )
    .map_err(|e| store_err(StoreError::classify(e)))?;
    tx.execute(
        "INSERT INTO received_dossiers(dossier_id, device_id, seq, procedure_id, procedure_version, receipt_code, title,
             fields_json, signed_dossier, sealed_at, received_at, checks_json, disposition, refers_to, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            d.id,
            device.as_str(),
            seq as i64,
            d.procedure.id,
            d.procedure.version,
            d.receipt_code.to_string(),
            title_of(&d.fields),
            fields_json,
            plain,
            d.sealed_at,
            now,
            serde_json::to_string(&checks).unwrap_or_default(),
            d.disposition.kind(),
            d.disposition.refers_to(),
            d.disposition.reason()
        ],
    )
    .map_err(|e| store_err(StoreError::classify(e)))?;
    for (i, (a, bytes)) in d.attachments.iter().zip(&photos).enumerate() {
        tx.execute(
            "INSERT INTO received_attachments(dossier_id, idx, name, role, media_type, sha256, size, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![d.id, i as i64, a.name, a.role, a.media_type, a.sha256, a.size as i64, bytes],
        )
        .map_err(|e| store_err(StoreError::classify(e)))?;
    }
    Ok(())
}

/// Sequence numbers of `device` the office does not hold, below its highest held one.
pub fn gaps_for(c: &Connection, device: &str) -> StoreResult<Vec<Gap>> {
    let mut st =
        c.prepare("SELECT seq FROM received_envelopes WHERE device_id = ?1 ORDER BY seq")?;
    let seqs: Vec<i64> = st
        .query_map([device], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut gaps = Vec::new();
    let mut expect = 1i64;
    for s in seqs {
        if s > expect {
            gaps.push(Gap {
                from: expect as u64,
                to: (s - 1) as u64,
            });
        }
        expect = s + 1;
    }
    Ok(gaps)
}

fn record(c: &Connection, r: &ImportReport) -> StoreResult<()> {
    c.execute(
        "INSERT INTO imports(batch_id, device_id, imported_at, accepted, stored, already_held, report_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            r.batch_id,
            r.device_id,
            r.imported_at,
            r.accepted,
            r.stored as i64,
            r.already_held as i64,
            serde_json::to_string(r).unwrap_or_default()
        ],
    )
    .map_err(StoreError::classify)?;
    Ok(())
}

/// Every import report, newest first.
pub fn list_reports(c: &Connection) -> StoreResult<Vec<serde_json::Value>> {
    let mut st = c.prepare("SELECT report_json FROM imports ORDER BY id DESC")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(serde_json::from_str(&r?).unwrap_or(serde_json::Value::Null));
    }
    Ok(out)
}

impl ImportReport {
    /// The report as plain text for the terminal.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let dev = match (&self.device_name, &self.device_id) {
            (Some(n), Some(d)) => format!("{n} ({d})"),
            (None, Some(d)) => d.clone(),
            _ => "unknown device".into(),
        };
        s.push_str(&format!(
            "Batch {} from {dev}\n",
            self.batch_id.as_deref().unwrap_or("?")
        ));
        s.push_str(&format!("  file: {}\n", self.file));
        if self.accepted {
            s.push_str(&format!(
                "ACCEPTED: {} envelope(s) verified and stored, {} already held.\n",
                self.stored, self.already_held
            ));
        } else {
            s.push_str(
                "REFUSED: nothing from this batch was stored; nothing already stored changed.\n",
            );
            for p in &self.problems {
                let at = p
                    .seq
                    .map(|s| format!("envelope seq {s}"))
                    .unwrap_or_else(|| "batch".into());
                s.push_str(&format!(
                    "  - {at}: check `{}` failed: {}\n",
                    p.check.as_str(),
                    p.detail
                ));
            }
        }
        for g in &self.gaps {
            if g.from == g.to {
                s.push_str(&format!(
                    "GAP: envelope seq {} of this device has not been received yet.\n",
                    g.from
                ));
            } else {
                s.push_str(&format!(
                    "GAP: envelopes seq {}–{} of this device have not been received yet.\n",
                    g.from, g.to
                ));
            }
        }
        s
    }
}

/// Per-device sets of held sequence numbers (for "verified" vs "verified, gap before").
pub fn held_seqs(c: &Connection) -> StoreResult<BTreeMap<String, BTreeSet<u64>>> {
    let mut st = c.prepare("SELECT device_id, seq FROM received_envelopes")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut map: BTreeMap<String, BTreeSet<u64>> = BTreeMap::new();
    for r in rows {
        let (d, s) = r?;
        map.entry(d).or_default().insert(s as u64);
    }
    Ok(map)
}
