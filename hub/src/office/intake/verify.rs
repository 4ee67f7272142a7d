//! Verifying and storing ONE envelope at the office, the same way for the network path and the USB batch
//! file (protocol §9). An envelope that fails a check is set aside in the `quarantine` table with the check's
//! code, a plain-English detail and its header and signature as evidence; it never blocks the others. A
//! chain gap (an earlier envelope not received yet) is not a quarantine: authentic envelopes are stored.

use protocol::{
    CheckKind, DeviceId, DevicePublicKey, EnvelopeHeader, ManifestEntry, Problem, Signature,
    SignedDossier,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::shared::clock;
use crate::shared::procedures::title_of;
use crate::shared::store::{StoreError, StoreResult};

/// How an envelope reached the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Network,
    File,
}

impl Via {
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Network => "network",
            Via::File => "file",
        }
    }
}

/// Who sent the envelope and how: the same for every envelope of one manifest.
pub struct Sender<'a> {
    /// The office's age identity (to decrypt).
    pub identity: &'a str,
    pub device: &'a DeviceId,
    /// The device's pinned signing key.
    pub key: &'a DevicePublicKey,
    pub batch_id: &'a str,
    pub via: Via,
    /// The device's revocation from a sequence number, if any (§9 step 7): envelopes at or above it are
    /// quarantined `device_revoked`.
    pub cutoff: Option<Cutoff>,
}

/// A revocation from a sequence number as the intake enforces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoff {
    /// The first sequence number no longer accepted.
    pub from_seq: u64,
    /// When the device was revoked (RFC 3339; empty if not recorded).
    pub since: String,
}

impl Cutoff {
    /// The cutoff of `device` when it is revoked from a sequence number.
    pub fn of(c: &Connection, device: &DeviceId) -> StoreResult<Option<Cutoff>> {
        Ok(
            crate::shared::trust::revocation(c, device.as_str())?.and_then(|r| {
                Some(Cutoff {
                    from_seq: r.from_seq?,
                    since: r.at.unwrap_or_default(),
                })
            }),
        )
    }

    /// Whether envelope `seq` is at or above the cutoff.
    pub fn refuses(&self, seq: u64) -> bool {
        seq >= self.from_seq
    }

    /// The plain-English detail of a `device_revoked` quarantine of envelope `seq`.
    pub fn detail(&self, seq: u64) -> String {
        let since = self.since.get(..10).unwrap_or("an earlier date");
        format!(
            "the office revoked this device from sequence number {} on {since} (reported lost or stolen: its key may be in other hands); envelope {seq} is at or above the cutoff and is not accepted",
            self.from_seq
        )
    }
}

/// One envelope as offered: the manifest entry that announced it, and the header and signature received.
pub struct Offered<'a> {
    pub entry: &'a ManifestEntry,
    /// The seq under which it arrived (the file's row, or the URL of the network request).
    pub seq: u64,
    /// The canonical header bytes.
    pub header: &'a [u8],
    /// The signature, hex.
    pub signature: &'a str,
}

impl Offered<'_> {
    /// The header hash as offered (SHA-256 of the header bytes).
    pub fn hash(&self) -> String {
        protocol::sha256_hex(self.header)
    }
}

/// What became of one envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Verified, decrypted and stored now.
    Stored,
    /// The office already held this very envelope (same header hash).
    AlreadyHeld,
    /// Set aside with the check that refused it.
    Quarantined {
        reason: CheckKind,
        detail: String,
        /// For an equivocation: the hash the office already held.
        held_hash: Option<String>,
    },
}

fn problem(seq: u64, check: CheckKind, detail: impl Into<String>) -> Problem {
    Problem {
        seq: Some(seq),
        check,
        detail: detail.into(),
    }
}

/// One check's outcome, kept with each stored dossier: what was found, in Vietnamese and in English (the
/// clerk's page shows the chosen language). `detail` is the English text, as before `detail_vi` existed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckResult {
    /// The check's code (`envelope_signature`, `payload_hash`, `dossier_signature`, `attachment_hash`,
    /// `validation`, `disposition`, …).
    pub check: &'static str,
    pub ok: bool,
    pub detail: String,
    /// Absent from dossiers stored before the Vietnamese text was kept.
    #[schema(required = false)]
    pub detail_vi: String,
    #[schema(required = false)]
    pub detail_en: String,
}

impl CheckResult {
    fn new(check: &'static str, ok: bool, vi: impl Into<String>, en: impl Into<String>) -> Self {
        let en = en.into();
        CheckResult {
            check,
            ok,
            detail: en.clone(),
            detail_vi: vi.into(),
            detail_en: en,
        }
    }
}

/// A finding in plain words for the clerk: the field by its label (never its key), then the message.
fn findings_text(def: &protocol::ProcedureDef, list: &[protocol::FieldError]) -> (String, String) {
    let label = |key: &str| -> (String, String) {
        let text = match key.strip_prefix("documents.") {
            Some(role) => def
                .documents
                .iter()
                .find(|d| d.role == role)
                .map(|d| &d.label),
            None => def.field(key).map(|f| &f.label),
        };
        text.map(|t| (t.vi.clone(), t.en.clone()))
            .unwrap_or_else(|| (key.to_owned(), key.to_owned()))
    };
    let (mut vi, mut en) = (Vec::new(), Vec::new());
    for e in list {
        let (lv, le) = label(&e.field);
        vi.push(format!("{lv}: {}", e.message_vi));
        en.push(format!("{le}: {}", e.message_en));
    }
    (vi.join("; "), en.join("; "))
}

/// §9 step 6, before decrypting anything: header form, seq, device, signature, the manifest entry, and the
/// payload ciphertext's hash and length (`payload`: its SHA-256 and length; the network path passes the
/// entry's own reference before the bytes have arrived). Several failures are folded into one problem (the
/// first check's code, every detail).
pub fn check_header(
    s: &Sender<'_>,
    off: &Offered<'_>,
    payload: (&str, u64),
) -> Result<EnvelopeHeader, Problem> {
    let Ok(sig) = Signature::from_hex(off.signature) else {
        return Err(problem(
            off.seq,
            CheckKind::EnvelopeSignature,
            "the envelope signature is unreadable",
        ));
    };
    protocol::verify_envelope(
        off.entry, off.seq, off.header, &sig, payload.0, payload.1, s.key, s.device,
    )
    .map_err(|problems| {
        let check = problems
            .first()
            .map(|p| p.check)
            .unwrap_or(CheckKind::EnvelopeFormat);
        let detail = problems
            .iter()
            .map(|p| p.detail.clone())
            .collect::<Vec<_>>()
            .join("; ");
        problem(off.seq, check, detail)
    })
}

/// The header hash the office holds for `(device, seq)`, if any.
pub fn held_hash(c: &Connection, device: &DeviceId, seq: u64) -> StoreResult<Option<String>> {
    Ok(c.query_row(
        "SELECT hash FROM received_envelopes WHERE device_id = ?1 AND seq = ?2",
        params![device.as_str(), seq as i64],
        |r| r.get(0),
    )
    .optional()?)
}

/// Sets an envelope aside (idempotent per `(device, seq, hash)`). A resolved item offered again and failing
/// again is reopened; the earlier resolution note is kept with it.
#[allow(clippy::too_many_arguments)]
pub fn quarantine(
    c: &Connection,
    s: &Sender<'_>,
    seq: u64,
    hash: &str,
    reason: CheckKind,
    detail: &str,
    held: Option<&str>,
    header: Option<&[u8]>,
    signature: Option<&str>,
) -> StoreResult<()> {
    let detail: String = detail.chars().take(protocol::MAX_DETAIL_CHARS).collect();
    let detail = if detail.trim().is_empty() {
        reason.as_str().to_owned()
    } else {
        detail.trim().to_owned()
    };
    c.execute(
        "INSERT INTO quarantine(device_id, seq, hash, reason, detail, held_hash, batch_id, via, header, signature, raised_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(device_id, seq, hash) DO UPDATE SET
             reason = excluded.reason, detail = excluded.detail, held_hash = excluded.held_hash,
             raised_at = CASE WHEN resolved_at IS NULL THEN raised_at ELSE excluded.raised_at END,
             resolved_at = NULL",
        params![
            s.device.as_str(),
            seq as i64,
            hash,
            reason.as_str(),
            detail,
            held,
            s.batch_id,
            s.via.as_str(),
            header,
            signature,
            clock::now_rfc3339()
        ],
    )
    .map_err(StoreError::classify)?;
    tracing::warn!(device = %s.device, seq, reason = reason.as_str(), via = s.via.as_str(), "envelope quarantined");
    Ok(())
}

/// Sets `off` aside for problem `p`.
fn set_aside(
    c: &Connection,
    s: &Sender<'_>,
    off: &Offered<'_>,
    p: Problem,
    held: Option<&str>,
) -> StoreResult<Outcome> {
    quarantine(
        c,
        s,
        off.seq,
        &off.hash(),
        p.check,
        &p.detail,
        held,
        Some(off.header),
        Some(off.signature),
    )?;
    Ok(Outcome::Quarantined {
        reason: p.check,
        detail: p.detail,
        held_hash: held.map(str::to_owned),
    })
}

/// §9 step 7: the same envelope already held; else, for a device revoked from a sequence number, an
/// envelope at or above the cutoff (`device_revoked`); else a different one held for its seq
/// (equivocation: an alarm). None when the seq is free.
fn decide_held(
    c: &Connection,
    s: &Sender<'_>,
    off: &Offered<'_>,
    hash: &str,
) -> StoreResult<Option<Outcome>> {
    let held = held_hash(c, s.device, off.seq)?;
    if held.as_deref() == Some(hash) {
        return Ok(Some(Outcome::AlreadyHeld));
    }
    if let Some(cut) = s.cutoff.as_ref().filter(|cut| cut.refuses(off.seq)) {
        let p = problem(off.seq, CheckKind::DeviceRevoked, cut.detail(off.seq));
        return set_aside(c, s, off, p, held.as_deref()).map(Some);
    }
    match held {
        Some(h) => {
            tracing::error!(device = %s.device, seq = off.seq, "ALARM: equivocation (two different envelopes for one seq)");
            let p = problem(
                off.seq,
                CheckKind::Equivocation,
                format!(
                    "ALARM: the office already holds a DIFFERENT envelope from this device with sequence number {} (held {h}, offered {hash}): a cloned or compromised device, or a restored backup",
                    off.seq
                ),
            );
            let out = set_aside(c, s, off, p, Some(&h))?;
            pause_device(c, s.device, off.seq)?;
            Ok(Some(out))
        }
        None => Ok(None),
    }
}

/// Two envelopes with one (device, seq): two copies of the device's card are sealing (or one was copied
/// back by hand). The device is paused: told at its next sync hello, it seals no more until a clerk
/// approves it again; its uploads go on, so that what either copy sealed still arrives (protocol §11.4.3).
fn pause_device(c: &Connection, device: &DeviceId, seq: u64) -> StoreResult<()> {
    let n = c.execute(
        "UPDATE trusted_peers SET paused_at = ?2, pause_reason = ?3
          WHERE device_id = ?1 AND mode = 'field' AND paused_at IS NULL",
        params![
            device.as_str(),
            clock::now_rfc3339(),
            format!("two different envelopes with sequence number {seq}: two copies of this device's card are sealing")
        ],
    )?;
    if n > 0 {
        tracing::error!(%device, seq, "field device paused: two copies of its card are sealing");
    }
    Ok(())
}

/// What the network path can decide when the header arrives, before the ciphertexts: the header checks
/// against the manifest entry (signature, seq, device, references), then duplicate or equivocation. None:
/// wait for the bytes.
pub fn precheck(c: &Connection, s: &Sender<'_>, off: &Offered<'_>) -> StoreResult<Option<Outcome>> {
    let payload = (off.entry.payload.sha256.as_str(), off.entry.payload.len);
    if let Err(p) = check_header(s, off, payload) {
        return set_aside(c, s, off, p, None).map(Some);
    }
    decide_held(c, s, off, &off.hash())
}

/// Verifies one envelope completely and stores it, or quarantines it. `payload` is the payload ciphertext;
/// `fetch` returns a blob ciphertext by its SHA-256 (None when it did not arrive). Run inside a write
/// transaction; the caller commits. Errors are storage failures only: every check failure is an outcome.
pub fn verify_and_store(
    c: &Connection,
    s: &Sender<'_>,
    off: &Offered<'_>,
    payload: &[u8],
    fetch: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> StoreResult<Outcome> {
    let hash = off.hash();
    // 6. Before decrypting: header, signature, manifest entry, payload hash, blobs.
    let sha = protocol::sha256_hex(payload);
    let header = match check_header(s, off, (&sha, payload.len() as u64)) {
        Ok(h) => h,
        Err(p) => return set_aside(c, s, off, p, None),
    };
    // 7. Against what the office holds: duplicate or equivocation.
    if let Some(decided) = decide_held(c, s, off, &hash)? {
        return Ok(decided);
    }
    let mut blobs = Vec::with_capacity(header.blobs.len());
    for (i, b) in header.blobs.iter().enumerate() {
        match fetch(&b.sha256) {
            None => {
                return set_aside(
                    c,
                    s,
                    off,
                    problem(
                        off.seq,
                        CheckKind::BlobMissing,
                        format!("photo {} did not arrive", i + 1),
                    ),
                    None,
                )
            }
            Some(bytes)
                if protocol::sha256_hex(&bytes) != b.sha256 || bytes.len() as u64 != b.len =>
            {
                return set_aside(
                    c,
                    s,
                    off,
                    problem(
                        off.seq,
                        CheckKind::BlobHash,
                        format!(
                            "photo {} does not match its hash (altered or damaged)",
                            i + 1
                        ),
                    ),
                    None,
                )
            }
            Some(bytes) => blobs.push(bytes),
        }
    }
    // 8. The chain, against the held neighbours (seq − 1 and seq + 1). A missing neighbour is a gap.
    if off.seq > 1 {
        if let Some(prev) = held_hash(c, s.device, off.seq - 1)? {
            if prev != header.prev {
                return set_aside(
                    c,
                    s,
                    off,
                    problem(
                        off.seq,
                        CheckKind::Chain,
                        format!(
                            "envelope {} does not link to the envelope {} the office holds (its prev differs)",
                            off.seq,
                            off.seq - 1
                        ),
                    ),
                    None,
                );
            }
        }
    }
    let next_prev: Option<String> = c
        .query_row(
            "SELECT prev FROM received_envelopes WHERE device_id = ?1 AND seq = ?2",
            params![s.device.as_str(), off.seq as i64 + 1],
            |r| r.get(0),
        )
        .optional()?;
    if next_prev.is_some_and(|p| p != hash) {
        return set_aside(
            c,
            s,
            off,
            problem(
                off.seq,
                CheckKind::Chain,
                format!(
                    "the envelope {} the office holds does not link to this envelope {}",
                    off.seq + 1,
                    off.seq
                ),
            ),
            None,
        );
    }
    // 10–11. Decrypt, the dossier's own signature, its photos, validation; then store.
    match open_and_store(c, s, off, &header, &hash, payload, &blobs)? {
        Ok(()) => Ok(Outcome::Stored),
        Err(p) => set_aside(c, s, off, p, None),
    }
}

/// Decrypts and checks the dossier, then inserts it. The outer error is storage; the inner is a check.
fn open_and_store(
    c: &Connection,
    s: &Sender<'_>,
    off: &Offered<'_>,
    header: &EnvelopeHeader,
    hash: &str,
    payload: &[u8],
    blobs: &[Vec<u8>],
) -> StoreResult<Result<(), Problem>> {
    let seq = off.seq;
    let plain = match protocol::decrypt_with(s.identity, payload) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Err(problem(
                seq,
                CheckKind::Decrypt,
                format!("cannot decrypt with this office's key: {e}"),
            )))
        }
    };
    let signed = match SignedDossier::from_bytes(&plain) {
        Ok(d) => d,
        Err(e) => {
            return Ok(Err(problem(
                seq,
                CheckKind::Format,
                format!("the sealed dossier is malformed: {e}"),
            )))
        }
    };
    if &signed.dossier.device_id != s.device {
        return Ok(Err(problem(
            seq,
            CheckKind::DeviceMismatch,
            "the dossier names another device",
        )));
    }
    if signed.verify(s.key).is_err() {
        return Ok(Err(problem(
            seq,
            CheckKind::DossierSignature,
            "the dossier's signature by the device is not valid",
        )));
    }
    let d = &signed.dossier;
    // §1 and §3.1.1 (text in NFC, a cancellation without content) and §3.2 (the header's sealed_at is the
    // dossier's): a dossier breaking them is set aside, never stored with a failed check beside it.
    if let Err(e) = d.check_form().and_then(|()| d.check_header(header)) {
        return Ok(Err(problem(
            seq,
            CheckKind::Format,
            format!("the sealed dossier breaks the protocol: {e}"),
        )));
    }
    if d.attachments.len() != blobs.len() {
        return Ok(Err(problem(
            seq,
            CheckKind::AttachmentHash,
            format!(
                "the dossier lists {} photos but the envelope carries {}",
                d.attachments.len(),
                blobs.len()
            ),
        )));
    }
    let mut photos = Vec::with_capacity(blobs.len());
    for (i, (a, ct)) in d.attachments.iter().zip(blobs).enumerate() {
        let bytes = match protocol::decrypt_with(s.identity, ct) {
            Ok(b) => b,
            Err(e) => {
                return Ok(Err(problem(
                    seq,
                    CheckKind::Decrypt,
                    format!("photo {}: {e}", i + 1),
                )))
            }
        };
        if protocol::sha256_hex(&bytes) != a.sha256 || bytes.len() as u64 != a.size {
            return Ok(Err(problem(
                seq,
                CheckKind::AttachmentHash,
                format!("photo {} does not match the hash the device signed", i + 1),
            )));
        }
        photos.push(bytes);
    }
    if c.query_row(
        "SELECT 1 FROM received_dossiers WHERE dossier_id = ?1",
        [&d.id],
        |_| Ok(()),
    )
    .optional()?
    .is_some()
    {
        return Ok(Err(problem(
            seq,
            CheckKind::Replay,
            format!(
                "the office already holds dossier {} under another envelope",
                d.id
            ),
        )));
    }
    let mut checks = checks_of(s.device, d, photos.len());
    let now = clock::now_rfc3339();
    // No two dossiers share a receipt code in the office's records: a code another dossier already holds
    // (issued twice by a restored or cloned card, §6.2) is recorded under a relinked code, and the villager
    // is told by news.
    let issued = d.receipt_code.to_string();
    let holder: Option<String> = c
        .query_row(
            "SELECT dossier_id FROM received_dossiers WHERE receipt_code = ?1
             UNION ALL SELECT dossier_id FROM receipt_relinks WHERE office_code = ?1 LIMIT 1",
            [&issued],
            |r| r.get(0),
        )
        .optional()?;
    let record_code = match &holder {
        None => issued.clone(),
        Some(other) => {
            let code = protocol::ReceiptCode::relinked(s.device, &d.id).to_string();
            checks.push(CheckResult::new(
                "receipt_code",
                true,
                format!(
                    "Mã biên nhận {issued} đã cấp cho một hồ sơ khác (thẻ nhớ của trạm được khôi phục từ bản cũ hoặc bị sao chép); \
                     hồ sơ này được ghi với mã mới {code} và người dân được báo qua tin trạng thái"
                ),
                format!(
                    "receipt code {issued} was also issued to dossier {other} (the hub's card was restored from an older copy or \
                     cloned); this dossier is recorded under the new code {code} and the villager is told by news"
                ),
            ));
            code
        }
    };
    c.execute(
        "INSERT INTO received_envelopes(device_id, seq, hash, prev, header, signature, dossier_id, batch_id, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![s.device.as_str(), seq as i64, hash, header.prev, off.header, off.signature, d.id, s.batch_id, now],
    )
    .map_err(StoreError::classify)?;
    c.execute(
        "INSERT INTO received_dossiers(dossier_id, device_id, seq, procedure_id, procedure_version, receipt_code, title,
             fields_json, signed_dossier, sealed_at, received_at, checks_json, disposition, refers_to, reason,
             session_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            d.id,
            s.device.as_str(),
            seq as i64,
            d.procedure.id,
            d.procedure.version,
            record_code,
            title_of(&d.fields),
            serde_json::to_string(&d.fields).unwrap_or_default(),
            plain,
            d.sealed_at,
            now,
            serde_json::to_string(&checks).unwrap_or_default(),
            d.disposition.kind(),
            d.disposition.refers_to(),
            d.disposition.reason(),
            d.session_id
        ],
    )
    .map_err(StoreError::classify)?;
    crate::office::ledger::duplicates::index_dossier(c, &d.id, &d.procedure.id, &d.fields)?;
    for (i, (a, bytes)) in d.attachments.iter().zip(&photos).enumerate() {
        c.execute(
            "INSERT INTO received_attachments(dossier_id, idx, name, role, media_type, sha256, size, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![d.id, i as i64, a.name, a.role, a.media_type, a.sha256, a.size as i64, bytes],
        )
        .map_err(StoreError::classify)?;
    }
    if let Some(other) = &holder {
        c.execute(
            "INSERT INTO receipt_relinks(dossier_id, device_id, issued_code, office_code, held_by, relinked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![d.id, s.device.as_str(), issued, record_code, other, now],
        )
        .map_err(StoreError::classify)?;
    }
    // The same dossier set aside earlier under another seq (displaced by an envelope of a restored or
    // cloned card, then numbered again by the field, §11.4.2): the same payload ciphertext settles it.
    settle_displaced(c, s.device, seq, &header.payload.sha256, &d.id, &now)?;
    // An earlier copy of this very envelope set aside (e.g. damaged in transit) is settled by this one.
    c.execute(
        "UPDATE quarantine SET resolved_at = ?4, resolution = ?5
         WHERE device_id = ?1 AND seq = ?2 AND hash = ?3 AND resolved_at IS NULL",
        params![
            s.device.as_str(),
            seq as i64,
            hash,
            now,
            format!("stored later from a good copy ({})", s.via.as_str())
        ],
    )
    .map_err(StoreError::classify)?;
    Ok(Ok(()))
}

/// Settles every unresolved `equivocation` or `chain` quarantine item of `device` whose set-aside header
/// carries the payload ciphertext `payload_sha` that was just stored as envelope `seq` (dossier
/// `dossier_id`): the field numbered the dossier again and the office now holds it once.
fn settle_displaced(
    c: &Connection,
    device: &DeviceId,
    seq: u64,
    payload_sha: &str,
    dossier_id: &str,
    now: &str,
) -> StoreResult<()> {
    let open: Vec<(i64, Option<Vec<u8>>)> = {
        let mut st = c.prepare(
            "SELECT id, header FROM quarantine
             WHERE device_id = ?1 AND resolved_at IS NULL AND reason IN ('equivocation', 'chain')",
        )?;
        let rows = st.query_map([device.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (id, header) in open {
        let Some(h) = header.and_then(|b| protocol::parse_canonical::<EnvelopeHeader>(&b).ok())
        else {
            continue;
        };
        if h.payload.sha256 != payload_sha {
            continue;
        }
        c.execute(
            "UPDATE quarantine SET resolved_at = ?2, resolution = ?3, rechained_seq = ?4, rechained_dossier = ?5
             WHERE id = ?1",
            params![
                id,
                now,
                format!(
                    "the field hub sealed this dossier again as seq {seq} after the office's chain; stored once as dossier {dossier_id}"
                ),
                seq as i64,
                dossier_id
            ],
        )
        .map_err(StoreError::classify)?;
    }
    Ok(())
}

/// The checks recorded with a stored dossier (the signatures and hashes passed to get here; validation and
/// disposition are recorded for the clerk, they do not refuse).
fn checks_of(device: &DeviceId, d: &protocol::Dossier, photos: usize) -> Vec<CheckResult> {
    let mut checks = vec![
        CheckResult::new(
            "envelope_signature",
            true,
            format!("Trạm {device} đã ký phong bì"),
            format!("signed by device {device}"),
        ),
        CheckResult::new(
            "payload_hash",
            true,
            "Nội dung mã hoá khớp với phong bì",
            "ciphertext matches the envelope",
        ),
        CheckResult::new(
            "dossier_signature",
            true,
            "Hồ sơ do chính trạm đó ký",
            "dossier signed by the same device",
        ),
        CheckResult::new(
            "attachment_hash",
            true,
            format!("{photos} ảnh khớp với mã băm đã ký"),
            format!("{photos} photo(s) match the signed hashes"),
        ),
    ];
    let roles: Vec<String> = d.attachments.iter().map(|a| a.role.clone()).collect();
    match crate::shared::procedures::find(&d.procedure) {
        Some(def) => {
            // Judged as on the day it was sealed (in Vietnam), so a re-check gives the same answer
            // however late the envelope arrives (e.g. "under 6 on the capture date").
            let sealed_on = protocol::parse_timestamp(&d.sealed_at)
                .map(|t| (t + time::Duration::hours(7)).date())
                .unwrap_or_else(|_| clock::today_vn());
            // A refused request passes the draft-stage rules; a cancellation carries no fields.
            let findings = match d.disposition.stage() {
                Some(stage) => protocol::validate(def, &d.fields, &roles, sealed_on, stage),
                None => Vec::new(),
            };
            let errors = protocol::blocking(&findings);
            let (vi, en) = if !errors.is_empty() {
                findings_text(def, &errors)
            } else if !findings.is_empty() {
                let (vi, en) = findings_text(def, &findings);
                (
                    format!("Đạt mọi quy định của thủ tục; lưu ý: {vi}"),
                    format!("all rules of the procedure pass; warnings: {en}"),
                )
            } else {
                (
                    "Đạt mọi quy định của thủ tục".to_owned(),
                    "all rules of the procedure pass".to_owned(),
                )
            };
            checks.push(CheckResult::new("validation", errors.is_empty(), vi, en));
        }
        None => checks.push(CheckResult::new(
            "validation",
            false,
            format!(
                "Văn phòng không biết thủ tục {} phiên bản {}",
                d.procedure.id, d.procedure.version
            ),
            format!(
                "procedure {} v{} is unknown to this office",
                d.procedure.id, d.procedure.version
            ),
        )),
    }
    let other = d.disposition.refers_to().unwrap_or_default();
    checks.push(match (d.check_disposition(), &d.disposition) {
        (Ok(()), protocol::Disposition::New) => {
            CheckResult::new("disposition", true, "Hồ sơ mới", "a new request")
        }
        (Ok(()), protocol::Disposition::Refused { .. }) => CheckResult::new(
            "disposition",
            true,
            "Từ chối tại buổi lưu động",
            "refused at the outreach session",
        ),
        (Ok(()), protocol::Disposition::Supersedes { .. }) => CheckResult::new(
            "disposition",
            true,
            format!("Bản sửa cho hồ sơ {other}"),
            format!("corrects dossier {other}"),
        ),
        (Ok(()), protocol::Disposition::Voids { .. }) => CheckResult::new(
            "disposition",
            true,
            format!("Huỷ hồ sơ {other}"),
            format!("cancels dossier {other}"),
        ),
        (Err(e), _) => CheckResult::new(
            "disposition",
            false,
            "Thông tin xử lý hồ sơ (mới, từ chối, sửa, huỷ) không hợp lệ",
            e.to_string(),
        ),
    });
    checks
}
