//! Verifying and storing a batch file on an office hub, envelope by envelope (protocol §9). Problems with
//! the file as a whole (unreadable, bad manifest signature, unknown or not-approved device) refuse it; an
//! envelope failing a check is quarantined with its reason and the others are stored — the same per-envelope
//! core as the network path (`intake::verify`). Gaps before the batch (earlier envelopes not received yet)
//! are reported, not hidden. The import produces the signed acknowledgement of the batch (§11.6).
//!
//! The file is hostile until proven otherwise (protocol §8): it is read first, on its own connection and
//! without the office database, by [`read_batch`] — opened as untrusted SQLite
//! ([`crate::shared::batch_file::UntrustedBatch`]), its schema checked, every step bounded in time — and
//! only what was read is then verified and stored with the office database by [`import_read`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use protocol::{
    BatchManifest, CheckKind, DeviceId, DeviceKey, DeviceStatus, Problem, QuarantineEntry,
    Signature, SignedAck, SignedManifest,
};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::office::intake::ack;
use crate::office::intake::session::field_device_status;
use crate::office::intake::verify::{self, Offered, Outcome, Sender, Via};
use crate::shared::batch_file::{Refusal, UntrustedBatch};
use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};
use crate::shared::trust;

/// A range of missing sequence numbers, inclusive.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Gap {
    pub from: u64,
    pub to: u64,
}

/// Why a batch file was refused before anything in it was trusted (`shared::batch_file::Refusal`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: `Refusal` travels
pub struct BatchRefusal {
    /// A stable code, e.g. `not_sqlite`, `unexpected_schema`.
    code: String,
    message_vi: String,
    message_en: String,
}

/// The result of one import, as printed by the CLI and kept in the `imports` table.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The file's name as given.
    pub file: String,
    pub batch_id: Option<String>,
    pub device_id: Option<String>,
    pub device_name: Option<String>,
    #[schema(format = DateTime)]
    pub imported_at: String,
    /// The file itself was accepted (readable, signed manifest of an approved device). Its envelopes may
    /// still be quarantined one by one.
    pub accepted: bool,
    pub envelopes_in_file: usize,
    pub stored: usize,
    pub already_held: usize,
    /// Envelopes set aside with the check that refused them.
    #[schema(value_type = Vec<crate::shared::api_doc::protocol::QuarantineEntry>)]
    pub quarantined: Vec<QuarantineEntry>,
    /// Seqs the manifest lists that the file does not hold.
    pub missing: Vec<u64>,
    /// Every problem found (file-level ones refuse the file; envelope-level ones are quarantined).
    #[schema(value_type = Vec<crate::shared::api_doc::protocol::Problem>)]
    pub problems: Vec<Problem>,
    /// Sequence numbers of this device still missing at the office after this import.
    pub gaps: Vec<Gap>,
    /// Why the file itself was refused before anything in it was trusted (unreadable, not SQLite, an
    /// unexpected schema, a value too large, too slow to read…): a stable code, Vietnamese and English.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BatchRefusal>)]
    pub error: Option<Refusal>,
    /// The signed acknowledgement of the batch (not in the JSON report; written to a file).
    #[serde(skip)]
    pub ack: Option<SignedAck>,
}

pub use crate::office::intake::verify::CheckResult;

fn problem(seq: Option<u64>, check: CheckKind, detail: impl Into<String>) -> Problem {
    Problem {
        seq,
        check,
        detail: detail.into(),
    }
}

/// What a batch file holds, read without the office database: the manifest row, the envelope rows (those
/// whose columns have the expected types) and the blobs by hash.
pub struct BatchContents {
    /// `batch_meta.format_version` (one of [`crate::shared::batch_file::READABLE_VERSIONS`]).
    version: String,
    /// Every `batch_meta` row: unsigned copies, checked against the signed manifest.
    meta: HashMap<String, String>,
    manifest: Option<(Vec<u8>, String)>,
    envelopes: BTreeMap<i64, (Vec<u8>, String, Vec<u8>)>,
    blobs: HashMap<String, Vec<u8>>,
}

/// Reads the batch file at `path` as untrusted input (protocol §8): a refusal says why it is not read.
/// Touches no office data, so a caller runs it on its own thread, outside the office database's lock.
pub fn read_batch(path: &Path) -> Result<BatchContents, Refusal> {
    let file = UntrustedBatch::open(path)?;
    let meta: HashMap<String, String> = file
        .rows("SELECT key, value FROM batch_meta", |r| {
            Ok((r.get::<_, String>(0).ok(), r.get::<_, String>(1).ok()))
        })?
        .into_iter()
        .filter_map(|(k, v)| Some((k?, v?)))
        .collect();
    if meta.get("format").map(String::as_str) != Some(crate::shared::batch_file::FORMAT) {
        return Err(Refusal::not_outreach(
            "not an outreach-kit batch file (batch_meta.format)",
        ));
    }
    let version = match meta.get("format_version") {
        Some(v) if crate::shared::batch_file::READABLE_VERSIONS.contains(&v.as_str()) => v.clone(),
        other => {
            return Err(Refusal::not_outreach(format!(
                "unsupported batch format version {other:?}"
            )))
        }
    };
    let manifest = file
        .rows("SELECT body, signature FROM manifest WHERE id = 1", |r| {
            Ok((r.get::<_, Vec<u8>>(0).ok(), r.get::<_, String>(1).ok()))
        })?
        .into_iter()
        .find_map(|(b, s)| Some((b?, s?)));
    let envelopes = file
        .rows(
            "SELECT seq, header, signature, payload FROM envelopes ORDER BY seq",
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1).ok(),
                    r.get::<_, String>(2).ok(),
                    r.get::<_, Vec<u8>>(3).ok(),
                ))
            },
        )?
        .into_iter()
        .filter_map(|(seq, h, s, p)| Some((seq, (h?, s?, p?))))
        .collect();
    let mut blobs = HashMap::new();
    for (sha, bytes) in file.rows("SELECT sha256, bytes FROM blobs ORDER BY rowid", |r| {
        Ok((r.get::<_, String>(0).ok(), r.get::<_, Vec<u8>>(1).ok()))
    })? {
        if let (Some(sha), Some(bytes)) = (sha, bytes) {
            blobs.entry(sha).or_insert(bytes);
        }
    }
    Ok(BatchContents {
        version,
        meta,
        manifest,
        envelopes,
        blobs,
    })
}

/// Imports the batch file at `path` into the office store `c`, decrypting with `identity` and signing the
/// acknowledgement with `office`. The file is read before `c` is used (see [`read_batch`]).
pub fn import(
    c: &mut Connection,
    identity: &str,
    office: &DeviceKey,
    path: &Path,
) -> StoreResult<ImportReport> {
    let read = read_batch(path);
    import_read(c, identity, office, read, &path.display().to_string())
}

/// [`import`] of what [`read_batch`] read, naming the file `shown` in the report (an upload's original
/// name). A refused file is recorded in the import history with nothing else stored.
pub fn import_read(
    c: &mut Connection,
    identity: &str,
    office: &DeviceKey,
    read: Result<BatchContents, Refusal>,
    shown: &str,
) -> StoreResult<ImportReport> {
    let mut report = ImportReport {
        file: shown.to_owned(),
        batch_id: None,
        device_id: None,
        device_name: None,
        imported_at: clock::now_rfc3339(),
        accepted: false,
        envelopes_in_file: 0,
        stored: 0,
        already_held: 0,
        quarantined: Vec::new(),
        missing: Vec::new(),
        problems: Vec::new(),
        gaps: Vec::new(),
        error: None,
        ack: None,
    };
    match read {
        Ok(file) => verify_and_store(c, identity, office, &file, &mut report)?,
        Err(r) => {
            tracing::warn!(code = r.code, detail = ?r.detail, "batch file refused");
            report.problems.push(problem(
                None,
                CheckKind::Format,
                format!("{} ({})", r.message_en, r.detail),
            ));
            report.error = Some(r);
        }
    }
    if let Some(dev) = &report.device_id {
        report.gaps = gaps_for(c, dev)?;
    }
    record(c, &report)?;
    Ok(report)
}

fn verify_and_store(
    c: &mut Connection,
    identity: &str,
    office: &DeviceKey,
    file: &BatchContents,
    report: &mut ImportReport,
) -> StoreResult<()> {
    // 1. The manifest: well-formed, from a trusted and approved field device, correctly signed. A failure
    //    here refuses the whole file.
    let Some((body, sig_hex)) = file.manifest.clone() else {
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
    if let Err(e) = manifest.check_form() {
        report.problems.push(problem(
            None,
            CheckKind::Format,
            format!("the manifest is malformed: {e}"),
        ));
        return Ok(());
    }
    report.batch_id = Some(manifest.batch_id.clone());
    report.device_id = Some(manifest.device_id.to_string());
    report.device_name = Some(manifest.device_name.clone());
    report.envelopes_in_file = manifest.envelopes.len();
    let device: DeviceId = manifest.device_id.clone();
    let Some((key, _name)) = trust::field_device(c, &device)? else {
        report.problems.push(problem(
            None,
            CheckKind::UnknownDevice,
            format!("device {device} is not a trusted field hub of this office (pair it, or run `hub trust` with its key card)"),
        ));
        return Ok(());
    };
    // A device revoked from a sequence number still delivers what it sealed below the cutoff: the file is
    // taken and each envelope at or above the cutoff is quarantined (`device_revoked`, §9 step 7).
    let cutoff = verify::Cutoff::of(c, &device)?;
    if let Some((_, status)) = field_device_status(c, &device)? {
        if status != DeviceStatus::Approved && cutoff.is_none() {
            report.problems.push(problem(
                None,
                CheckKind::UnknownDevice,
                format!("device {device} is {status} at this office: a clerk must approve it before its dossiers are accepted"),
            ));
            return Ok(());
        }
    }
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
    let signed = SignedManifest {
        manifest: manifest.clone(),
        signature: sig,
    };
    if signed.verify(&key).is_err() {
        report.problems.push(problem(
            None,
            CheckKind::ManifestSignature,
            "the manifest's signature does not match its content and the device key",
        ));
        return Ok(());
    }
    // §3.4: entries strictly ascending (never re-sorted here), the chain head last; §8: the unsigned
    // copies in batch_meta equal the signed manifest's.
    if let Err(e) = manifest.check_entries().and_then(|()| {
        manifest.check_batch_meta(file.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }) {
        report
            .problems
            .push(problem(None, CheckKind::ManifestMismatch, e.to_string()));
        return Ok(());
    }
    // §3.5, §8: a format-2 file carries its session summaries sealed to the office, never in plaintext.
    if file.version != protocol::BATCH_FORMAT_V1 && !manifest.sessions.is_empty() {
        report.problems.push(problem(
            None,
            CheckKind::Format,
            format!(
                "a batch of format {} must not carry session summaries in plaintext",
                file.version
            ),
        ));
        return Ok(());
    }
    let sessions = match manifest.open_sessions(identity) {
        Ok(s) => s,
        Err(e) => {
            let check = if matches!(e, protocol::ProtocolError::Crypto(_)) {
                CheckKind::Decrypt
            } else {
                CheckKind::Format
            };
            report.problems.push(problem(
                None,
                check,
                format!("the sealed session summaries cannot be opened: {e}"),
            ));
            return Ok(());
        }
    };
    report.accepted = true;

    // 2. Each envelope on its own: stored, already held, or quarantined; a bad one never blocks the rest.
    let sender = Sender {
        identity,
        device: &device,
        key: &key,
        batch_id: &manifest.batch_id,
        via: Via::File,
        cutoff: cutoff.clone(),
    };
    let fetch = |sha: &str| -> Option<Vec<u8>> { file.blobs.get(sha).cloned() };
    let tx = write_tx(c)?;
    let listed: BTreeSet<u64> = manifest.envelopes.iter().map(|e| e.seq).collect();
    for entry in &manifest.envelopes {
        let row = i64::try_from(entry.seq)
            .ok()
            .and_then(|s| file.envelopes.get(&s));
        let Some((header, signature, payload)) = row else {
            report.missing.push(entry.seq);
            report.problems.push(problem(
                Some(entry.seq),
                CheckKind::EnvelopeMissing,
                "the manifest lists this envelope but the file does not hold it (truncated?)",
            ));
            continue;
        };
        let off = Offered {
            entry,
            seq: entry.seq,
            header,
            signature,
        };
        match verify::verify_and_store(&tx, &sender, &off, payload, &fetch)? {
            Outcome::Stored => report.stored += 1,
            Outcome::AlreadyHeld => report.already_held += 1,
            Outcome::Quarantined { reason, detail, .. } => {
                report
                    .problems
                    .push(problem(Some(entry.seq), reason, detail.clone()));
                report.quarantined.push(QuarantineEntry {
                    seq: entry.seq,
                    hash: off.hash(),
                    reason,
                    detail,
                });
            }
        }
    }
    // Rows the manifest does not list: set aside as evidence, never stored.
    for (&seq, (header, signature, _)) in &file.envelopes {
        if seq < 1 || listed.contains(&(seq as u64)) {
            continue;
        }
        let detail = "the file holds an envelope the manifest does not list";
        let hash = protocol::sha256_hex(header);
        verify::quarantine(
            &tx,
            &sender,
            seq as u64,
            &hash,
            CheckKind::UnexpectedEnvelope,
            detail,
            None,
            Some(header),
            Some(signature),
        )?;
        report.problems.push(problem(
            Some(seq as u64),
            CheckKind::UnexpectedEnvelope,
            detail,
        ));
        report.quarantined.push(QuarantineEntry {
            seq: seq as u64,
            hash,
            reason: CheckKind::UnexpectedEnvelope,
            detail: detail.into(),
        });
    }
    ack::save_manifest(&tx, &signed, sessions, cutoff.as_ref())?;
    tx.commit().map_err(StoreError::classify)?;
    report.ack = Some(ack::build_ack(c, office, &manifest)?);
    // A field hub that reads procedure packages in its ack file says so in batch_meta (protocol §13.4);
    // older ones get a one-line ack they can read.
    if file.meta.get("ack_packages").map(String::as_str) == Some("1") {
        crate::office::packages::store::mark_reader(c, manifest.device_id.as_str())?;
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
    /// True when every envelope of an accepted file is now held (nothing quarantined or missing).
    pub fn complete(&self) -> bool {
        self.accepted && self.quarantined.is_empty() && self.missing.is_empty()
    }

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
                "ACCEPTED: {} envelope(s) verified and stored, {} already held, {} quarantined, {} missing from the file.\n",
                self.stored,
                self.already_held,
                self.quarantined.len(),
                self.missing.len()
            ));
            if self.stored == 0 && self.quarantined.is_empty() && self.missing.is_empty() {
                s.push_str("  Nothing new: every envelope of this batch was already held.\n");
            }
            for q in &self.quarantined {
                s.push_str(&format!(
                    "QUARANTINED: envelope seq {}: check `{}` failed: {}\n",
                    q.seq,
                    q.reason.as_str(),
                    q.detail
                ));
            }
            for m in &self.missing {
                s.push_str(&format!(
                    "MISSING: envelope seq {m} is listed in the manifest but not in the file.\n"
                ));
            }
            if !self.quarantined.is_empty() {
                s.push_str("  Quarantined envelopes were not stored; a clerk sees them on the quarantine page. The others were stored.\n");
            }
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
