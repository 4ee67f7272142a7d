//! Storage of network uploads (protocol §11.5, §11.9): announced manifests, envelopes waiting for their
//! ciphertexts, ciphertext chunks, and finishing an envelope (the per-envelope core of `verify`) as soon as
//! its last ciphertext is complete. Every function is idempotent and commits before returning.

use protocol::{
    BlobRef, ChunkDecision, ChunkPut, DeviceId, DevicePublicKey, ManifestEntry, SignedEnvelope,
    SignedManifest, MAX_CHUNK_BYTES,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::verify::{self, Offered, Outcome, Sender, Via};
use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// Why a request is refused (mapped to an HTTP error by the routes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Malformed message (400 `bad_message`).
    Bad(String),
    /// The manifest's signature does not verify (400 `bad_signature`).
    Signature(String),
    /// The manifest contradicts itself (400 `manifest_mismatch`).
    Mismatch(String),
    /// An envelope no verified manifest announced (409 `unexpected_envelope`).
    UnexpectedEnvelope,
    /// A ciphertext no verified manifest announced (409 `unexpected_blob`).
    UnexpectedBlob,
    /// A chunk not at the held offset (409 `chunk_offset`, carrying `held`).
    ChunkOffset { held: u64 },
    /// The completed ciphertext does not match its SHA-256: discarded (422 `ciphertext_mismatch`).
    CiphertextMismatch,
    /// No manifest with this batch id from this device (404).
    UnknownBatch,
}

/// The state of one announced envelope.
/// What the office has of an announced envelope.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: travels as a string
pub enum EnvelopeStateKind {
    Needed,
    Held,
    Quarantined,
}

/// What became of a delivered envelope: `received` (waits for its ciphertexts), `stored`, `replay`
/// (already held) or `quarantined`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: travels as a string
pub enum EnvelopeResult {
    Received,
    Stored,
    Replay,
    Quarantined,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnvelopeState {
    pub seq: u64,
    /// The envelope header's hash, as announced.
    pub hash: String,
    /// `needed`, `held` or `quarantined`.
    #[schema(value_type = EnvelopeStateKind)]
    pub state: &'static str,
}

/// How much of one ciphertext the office holds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BlobState {
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    pub len: u64,
    pub held: u64,
}

/// The answer to a manifest.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ManifestAnswer {
    pub batch_id: String,
    pub envelopes: Vec<EnvelopeState>,
    /// The ciphertexts of the `needed` envelopes, with the bytes held of each (resume there).
    pub blobs: Vec<BlobState>,
}

/// The answer to an envelope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnvelopeAnswer {
    pub seq: u64,
    pub hash: String,
    /// `received` (waits for its ciphertexts), `stored`, `replay` or `quarantined`.
    #[schema(value_type = EnvelopeResult)]
    pub result: &'static str,
    /// Quarantined: the check that refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::shared::api_doc::protocol::CheckKind>)]
    pub reason: Option<protocol::CheckKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The answer to a chunk or a blob query.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChunkAnswer {
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// Bytes the office holds (resume there).
    pub held: u64,
    /// The ciphertext's length, as announced.
    pub len: u64,
    /// All bytes held and the hash matched.
    pub complete: bool,
}

/// The device's pinned key and the office identity: what every upload function needs.
pub struct Device<'a> {
    pub id: &'a DeviceId,
    pub key: &'a DevicePublicKey,
    pub identity: &'a str,
    /// The device's revocation from a sequence number, if any (read with the session's request).
    pub cutoff: Option<verify::Cutoff>,
}

impl Device<'_> {
    fn sender<'b>(&'b self, batch_id: &'b str) -> Sender<'b> {
        Sender {
            identity: self.identity,
            device: self.id,
            key: self.key,
            batch_id,
            via: Via::Network,
            cutoff: self.cutoff.clone(),
        }
    }
}

fn held_bytes(c: &Connection, device: &DeviceId, sha: &str) -> StoreResult<u64> {
    let n: i64 = c.query_row(
        "SELECT COALESCE(SUM(length(bytes)), 0) FROM sync_chunks WHERE device_id = ?1 AND sha256 = ?2",
        params![device.as_str(), sha],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

fn assemble(c: &Connection, device: &DeviceId, sha: &str) -> StoreResult<Vec<u8>> {
    let mut st = c.prepare(
        "SELECT bytes FROM sync_chunks WHERE device_id = ?1 AND sha256 = ?2 ORDER BY offset",
    )?;
    let mut out = Vec::new();
    for part in st.query_map(params![device.as_str(), sha], |r| r.get::<_, Vec<u8>>(0))? {
        out.extend_from_slice(&part?);
    }
    Ok(out)
}

fn ciphertexts(e: &ManifestEntry) -> impl Iterator<Item = &BlobRef> {
    std::iter::once(&e.payload).chain(e.blobs.iter())
}

fn is_quarantined(
    c: &Connection,
    device: &DeviceId,
    seq: u64,
    hash: &str,
) -> StoreResult<Option<(String, String)>> {
    Ok(c.query_row(
        "SELECT reason, detail FROM quarantine WHERE device_id = ?1 AND seq = ?2 AND hash = ?3 AND resolved_at IS NULL",
        params![device.as_str(), seq as i64, hash],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}

/// Verifies and keeps a manifest, announcing its envelopes and ciphertexts; answers what is needed.
pub fn accept_manifest(
    c: &mut Connection,
    dev: &Device<'_>,
    signed: &SignedManifest,
) -> StoreResult<Result<ManifestAnswer, Refusal>> {
    let m = &signed.manifest;
    if &m.device_id != dev.id {
        return Ok(Err(Refusal::Bad(
            "the manifest names another device than this session's".into(),
        )));
    }
    if !protocol::is_uuid(&m.batch_id) {
        return Ok(Err(Refusal::Bad(
            "batch_id is not a lower-case UUID".into(),
        )));
    }
    if let Err(e) = signed.verify(dev.key) {
        return Ok(Err(Refusal::Signature(e.to_string())));
    }
    // §3.4: at least one envelope, strictly ascending seqs, the chain head last (the same rule as a file).
    if let Err(e) = m.check_entries() {
        return Ok(Err(Refusal::Mismatch(e.to_string())));
    }
    // §3.5: the session summaries, sealed to this office (or in plaintext from a field hub made before
    // batch format 2).
    let sessions = match m.open_sessions(dev.identity) {
        Ok(s) => s,
        Err(e) => {
            return Ok(Err(Refusal::Bad(format!(
                "the sealed session summaries cannot be opened: {e}"
            ))))
        }
    };
    let tx = write_tx(c)?;
    super::ack::save_manifest(&tx, signed, sessions, dev.cutoff.as_ref())?;
    for e in &m.envelopes {
        tx.execute(
            "INSERT INTO sync_announced(device_id, batch_id, seq, hash, entry_json) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(device_id, batch_id, seq) DO UPDATE SET hash = excluded.hash, entry_json = excluded.entry_json",
            params![
                dev.id.as_str(),
                m.batch_id,
                e.seq as i64,
                e.hash,
                serde_json::to_string(e).map_err(|e| StoreError::Corrupt(e.to_string()))?
            ],
        )
        .map_err(StoreError::classify)?;
    }
    // An envelope at or above a revocation cutoff is set aside as announced (the signed manifest is the
    // evidence): none of its bytes are asked for.
    if let Some(cut) = dev.cutoff.as_ref() {
        let s = dev.sender(&m.batch_id);
        for e in m.envelopes.iter().filter(|e| cut.refuses(e.seq)) {
            let held = verify::held_hash(&tx, dev.id, e.seq)?;
            if held.as_deref() == Some(e.hash.as_str()) {
                continue;
            }
            verify::quarantine(
                &tx,
                &s,
                e.seq,
                &e.hash,
                protocol::CheckKind::DeviceRevoked,
                &cut.detail(e.seq),
                held.as_deref(),
                None,
                None,
            )?;
        }
    }
    tx.commit().map_err(StoreError::classify)?;
    let mut envelopes = Vec::new();
    let mut blobs = Vec::new();
    for e in &m.envelopes {
        let state = if verify::held_hash(c, dev.id, e.seq)?.as_deref() == Some(e.hash.as_str()) {
            "held"
        } else if is_quarantined(c, dev.id, e.seq, &e.hash)?.is_some() {
            "quarantined"
        } else {
            for b in ciphertexts(e) {
                blobs.push(BlobState {
                    sha256: b.sha256.clone(),
                    len: b.len,
                    held: held_bytes(c, dev.id, &b.sha256)?.min(b.len),
                });
            }
            "needed"
        };
        envelopes.push(EnvelopeState {
            seq: e.seq,
            hash: e.hash.clone(),
            state,
        });
    }
    Ok(Ok(ManifestAnswer {
        batch_id: m.batch_id.clone(),
        envelopes,
        blobs,
    }))
}

/// The newest announcement of envelope `(seq, hash)`: its batch and manifest entry.
fn announced(
    c: &Connection,
    device: &DeviceId,
    seq: u64,
    hash: &str,
) -> StoreResult<Option<(String, ManifestEntry)>> {
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT batch_id, entry_json FROM sync_announced WHERE device_id = ?1 AND seq = ?2 AND hash = ?3
             ORDER BY rowid DESC LIMIT 1",
            params![device.as_str(), seq as i64, hash],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        Some((b, e)) => Ok(Some((
            b,
            serde_json::from_str(&e).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ))),
        None => Ok(None),
    }
}

/// The announced ciphertext named `sha`: its reference and the envelope `(seq, hash)` it belongs to.
fn announced_blob(
    c: &Connection,
    device: &DeviceId,
    sha: &str,
) -> StoreResult<Option<(BlobRef, u64, String)>> {
    if !protocol::is_sha256_hex(sha) {
        return Ok(None);
    }
    let mut st = c.prepare(
        "SELECT seq, hash, entry_json FROM sync_announced WHERE device_id = ?1 AND instr(entry_json, ?2) > 0
         ORDER BY rowid DESC",
    )?;
    let rows = st.query_map(params![device.as_str(), sha], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for r in rows {
        let (seq, hash, json) = r?;
        let e: ManifestEntry =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let found = ciphertexts(&e).find(|b| b.sha256 == sha).cloned();
        if let Some(b) = found {
            return Ok(Some((b, seq as u64, hash)));
        }
    }
    Ok(None)
}

fn answer(seq: u64, hash: &str, o: &Outcome) -> EnvelopeAnswer {
    let (result, reason, detail) = match o {
        Outcome::Stored => ("stored", None, None),
        Outcome::AlreadyHeld => ("replay", None, None),
        Outcome::Quarantined { reason, detail, .. } => {
            ("quarantined", Some(*reason), Some(detail.clone()))
        }
    };
    EnvelopeAnswer {
        seq,
        hash: hash.to_owned(),
        result,
        reason,
        detail,
    }
}

/// Receives the signed header of envelope `seq`; decides what it can at once, else keeps it until its
/// ciphertexts are complete (and finishes it straight away when they already are).
pub fn put_envelope(
    c: &mut Connection,
    dev: &Device<'_>,
    seq: u64,
    body: &[u8],
) -> StoreResult<Result<EnvelopeAnswer, Refusal>> {
    let env: SignedEnvelope = match protocol::parse_canonical(body) {
        Ok(e) => e,
        Err(e) => return Ok(Err(Refusal::Bad(e.to_string()))),
    };
    if env.header.seq != seq {
        return Ok(Err(Refusal::Bad(format!(
            "the header's seq {} is not the seq {seq} of the request",
            env.header.seq
        ))));
    }
    let header = protocol::canonical_bytes(&env.header)?;
    let hash = protocol::sha256_hex(&header);
    let Some((batch_id, entry)) = announced(c, dev.id, seq, &hash)? else {
        return Ok(Err(Refusal::UnexpectedEnvelope));
    };
    let signature = env.signature.to_hex();
    let tx = write_tx(c)?;
    let s = dev.sender(&batch_id);
    let off = Offered {
        entry: &entry,
        seq,
        header: &header,
        signature: &signature,
    };
    let outcome = match verify::precheck(&tx, &s, &off)? {
        Some(o) => Some(o),
        None => match is_quarantined(&tx, dev.id, seq, &hash)? {
            Some((reason, detail)) => Some(Outcome::Quarantined {
                reason: super::ack::parse_check(&reason)?,
                detail,
                held_hash: None,
            }),
            None => {
                tx.execute(
                    "INSERT OR IGNORE INTO sync_envelopes(device_id, seq, hash, header, signature, batch_id, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![dev.id.as_str(), seq as i64, hash, header, signature, batch_id, clock::now_rfc3339()],
                )
                .map_err(StoreError::classify)?;
                finish(&tx, dev, seq, &hash)?
            }
        },
    };
    tx.commit().map_err(StoreError::classify)?;
    Ok(Ok(match outcome {
        Some(o) => answer(seq, &hash, &o),
        None => EnvelopeAnswer {
            seq,
            hash,
            result: "received",
            reason: None,
            detail: None,
        },
    }))
}

/// Finishes envelope `(seq, hash)` if its header arrived and all its ciphertexts are complete: verifies,
/// decrypts and stores it (or quarantines it), then drops its waiting rows. None: not complete yet.
fn finish(c: &Connection, dev: &Device<'_>, seq: u64, hash: &str) -> StoreResult<Option<Outcome>> {
    let row: Option<(Vec<u8>, String, String)> = c
        .query_row(
            "SELECT header, signature, batch_id FROM sync_envelopes WHERE device_id = ?1 AND seq = ?2 AND hash = ?3",
            params![dev.id.as_str(), seq as i64, hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((header, signature, batch_id)) = row else {
        return Ok(None);
    };
    let Some((_, entry)) = announced(c, dev.id, seq, hash)? else {
        return Ok(None);
    };
    for b in ciphertexts(&entry) {
        if held_bytes(c, dev.id, &b.sha256)? < b.len {
            return Ok(None);
        }
    }
    let payload = assemble(c, dev.id, &entry.payload.sha256)?;
    let mut blobs = std::collections::HashMap::new();
    for b in &entry.blobs {
        blobs.insert(b.sha256.clone(), assemble(c, dev.id, &b.sha256)?);
    }
    let s = dev.sender(&batch_id);
    let off = Offered {
        entry: &entry,
        seq,
        header: &header,
        signature: &signature,
    };
    let outcome =
        verify::verify_and_store(c, &s, &off, &payload, &|sha: &str| blobs.get(sha).cloned())?;
    c.execute(
        "DELETE FROM sync_envelopes WHERE device_id = ?1 AND seq = ?2 AND hash = ?3",
        params![dev.id.as_str(), seq as i64, hash],
    )?;
    for b in ciphertexts(&entry) {
        c.execute(
            "DELETE FROM sync_chunks WHERE device_id = ?1 AND sha256 = ?2",
            params![dev.id.as_str(), b.sha256],
        )?;
    }
    Ok(Some(outcome))
}

/// How much of announced ciphertext `sha` the office holds (all of it once its envelope is stored).
fn blob_held(
    c: &Connection,
    dev: &Device<'_>,
    blob: &BlobRef,
    seq: u64,
    hash: &str,
) -> StoreResult<u64> {
    if verify::held_hash(c, dev.id, seq)?.as_deref() == Some(hash) {
        return Ok(blob.len);
    }
    Ok(held_bytes(c, dev.id, &blob.sha256)?.min(blob.len))
}

/// The state of announced ciphertext `sha`.
pub fn blob_state(
    c: &Connection,
    dev: &Device<'_>,
    sha: &str,
) -> StoreResult<Result<ChunkAnswer, Refusal>> {
    let Some((blob, seq, hash)) = announced_blob(c, dev.id, sha)? else {
        return Ok(Err(Refusal::UnexpectedBlob));
    };
    let held = blob_held(c, dev, &blob, seq, &hash)?;
    Ok(Ok(ChunkAnswer {
        sha256: blob.sha256,
        held,
        len: blob.len,
        complete: held == blob.len,
    }))
}

/// Receives bytes `offset …` of ciphertext `sha` (protocol §11.5).
pub fn put_chunk(
    c: &mut Connection,
    dev: &Device<'_>,
    sha: &str,
    offset: u64,
    body: &[u8],
) -> StoreResult<Result<ChunkAnswer, Refusal>> {
    let Some((blob, seq, hash)) = announced_blob(c, dev.id, sha)? else {
        return Ok(Err(Refusal::UnexpectedBlob));
    };
    let tx = write_tx(c)?;
    let held = blob_held(&tx, dev, &blob, seq, &hash)?;
    let put = ChunkPut {
        sha256: sha.to_owned(),
        offset,
        len: body.len() as u64,
    };
    let decision = match put.decide(&blob, held, body.len() as u64) {
        Ok(d) => d,
        Err(e) => return Ok(Err(Refusal::Bad(e.to_string()))),
    };
    let held = match decision {
        ChunkDecision::AlreadyHeld => held,
        ChunkDecision::Resume { held } => return Ok(Err(Refusal::ChunkOffset { held })),
        ChunkDecision::Append => {
            tx.execute(
                "INSERT INTO sync_chunks(device_id, sha256, offset, bytes) VALUES (?1, ?2, ?3, ?4)",
                params![dev.id.as_str(), sha, offset as i64, body],
            )
            .map_err(StoreError::classify)?;
            offset + body.len() as u64
        }
    };
    if decision == ChunkDecision::Append && held == blob.len {
        let whole = assemble(&tx, dev.id, sha)?;
        if protocol::sha256_hex(&whole) != blob.sha256 || whole.len() as u64 != blob.len {
            tx.execute(
                "DELETE FROM sync_chunks WHERE device_id = ?1 AND sha256 = ?2",
                params![dev.id.as_str(), sha],
            )?;
            tx.commit().map_err(StoreError::classify)?;
            tracing::warn!(device = %dev.id, seq, "a completed ciphertext did not match its hash: discarded");
            return Ok(Err(Refusal::CiphertextMismatch));
        }
        finish(&tx, dev, seq, &hash)?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(Ok(ChunkAnswer {
        sha256: blob.sha256,
        held,
        len: blob.len,
        complete: held == blob.len,
    }))
}

/// Finishes every complete envelope of batch `batch_id`, then answers its signed acknowledgement.
/// `finish_pending` is false for a device that may not upload (the ack then reports the state as it is).
pub fn ack(
    c: &mut Connection,
    dev: &Device<'_>,
    office: &protocol::DeviceKey,
    batch_id: &str,
    finish_pending: bool,
) -> StoreResult<Result<protocol::SignedAck, Refusal>> {
    let Some(m) = super::ack::manifest(c, dev.id, batch_id)? else {
        return Ok(Err(Refusal::UnknownBatch));
    };
    if finish_pending {
        let tx = write_tx(c)?;
        for e in &m.envelopes {
            finish(&tx, dev, e.seq, &e.hash)?;
        }
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(Ok(super::ack::build_ack(c, office, &m)?))
}

/// The largest chunk body the blob route accepts (a chunk plus slack for framing).
pub const CHUNK_BODY_LIMIT: usize = MAX_CHUNK_BYTES as usize + 1024;
