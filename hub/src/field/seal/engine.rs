//! The sealing transaction and the protection (encrypt + chain) step.

use std::collections::BTreeMap;

use protocol::{
    Actor, AttachmentRef, BlobRef, DeviceKey, Disposition, Dossier, EnvelopeHeader, FieldError,
    ProcedureRef, ReceiptCode, SignedDossier, Stage, GENESIS_PREV,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::field::capture::store as drafts;
use crate::shared::auth::AuthUser;
use crate::shared::chain_guard::ChainPlace;
use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};
use crate::shared::trust;

/// What the officer gets back: the receipt.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub code: String,
    /// `<device id>-<receipt seq>`: unique across hubs with no coordination (absent on receipts sealed
    /// before receipt tokens existed).
    pub tracking_number: Option<String>,
    /// The signed receipt QR payload (`OKR1:…`, protocol §6).
    pub qr: Option<String>,
    pub dossier_id: String,
    /// `{"id", "version"}` of the catalogue procedure (see docs/protocol.md).
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: ProcedureRef,
    /// `{"vi", "en", …}`: the procedure's title in every language the catalogue has.
    #[schema(value_type = crate::shared::api_doc::field_schemas::Text)]
    pub procedure_title: protocol::Text,
    pub sealed_at: String,
    pub protected: bool,
    pub seq: Option<u64>,
    /// `new`, `refused`, `supersedes` or `voids` (protocol §3.1.1).
    pub disposition: String,
    /// The earlier dossier a correction or cancellation replaces.
    pub refers_to: Option<String>,
}

/// Why a draft could not be sealed.
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    UnknownProcedure,
    Invalid(Vec<FieldError>),
}

/// How a draft is sealed: as a new request, as the correction of an earlier dossier, or as refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealAs {
    /// A new request.
    New,
    /// The complete corrected version of the earlier dossier `dossier_id` of this hub.
    Correction { dossier_id: String, reason: String },
    /// Refused by the officer at the session.
    Refused { reason: String },
}

/// Seals draft `draft_id` on behalf of `user`, for a villager who reads Vietnamese. See the module doc.
pub fn seal_draft(
    c: &mut Connection,
    device: &DeviceKey,
    user: &AuthUser,
    draft_id: &str,
    how: SealAs,
) -> StoreResult<Result<Receipt, Refusal>> {
    seal_draft_for(c, device, user, draft_id, how, "vi", ChainPlace::OPEN)
}

/// As [`seal_draft`], recording the slip (`super::slip::SlipRecord`) in the same transaction: the
/// villager's language `slip_lang` and the papers whose original applies to these answers. `place` says
/// whether the dossier joins the chain now or waits for a sync (`shared::chain_guard`).
pub fn seal_draft_for(
    c: &mut Connection,
    device: &DeviceKey,
    user: &AuthUser,
    draft_id: &str,
    how: SealAs,
    slip_lang: &str,
    place: ChainPlace,
) -> StoreResult<Result<Receipt, Refusal>> {
    let tx = write_tx(c)?;
    let Some(draft) = drafts::get(&tx, draft_id)? else {
        return Ok(Err(Refusal::NotFound));
    };
    let Some(def) = crate::shared::procedures::find(&draft.procedure) else {
        return Ok(Err(Refusal::UnknownProcedure));
    };
    let disposition = match how {
        SealAs::New => Disposition::New,
        SealAs::Refused { reason } => Disposition::Refused { reason },
        SealAs::Correction { dossier_id, reason } => {
            if let Err(e) = check_replaceable(&tx, &dossier_id, Some(&draft.procedure.id))? {
                return Ok(Err(Refusal::Invalid(vec![e])));
            }
            Disposition::Supersedes { dossier_id, reason }
        }
    };
    let photos = drafts::attachments_with_bytes(&tx, draft_id)?;
    let roles: Vec<String> = photos.iter().map(|(a, _)| a.role.clone()).collect();
    // Capture once, derive the rest: the sealed dossier carries every value the official forms need.
    let (fields, _derived) =
        protocol::derive_fields(def, &protocol::normalize_fields(&draft.fields));
    let slip = super::slip::SlipRecord {
        lang: slip_lang.to_owned(),
        originals: super::slip::applicable_originals(def, &fields, &roles),
    };
    let stage = disposition.stage().unwrap_or(Stage::Draft);
    let findings = crate::field::capture::rules::check(&tx, def, &fields, &roles, stage)?;
    let errors = protocol::blocking(&findings);
    if !errors.is_empty() {
        return Ok(Err(Refusal::Invalid(errors)));
    }
    let receipt = seal_in(
        &tx,
        device,
        user,
        place,
        ToSeal {
            dossier_id: draft.id.clone(),
            procedure: draft.procedure.clone(),
            procedure_title: def.title.clone(),
            fields,
            photos,
            captured_at: draft.created_at.clone(),
            captured_by: Actor {
                user_id: draft.created_by.id.clone(),
                role: draft.created_by.role.as_str().into(),
            },
            session_id: draft.session_id.clone(),
            disposition,
        },
    )?;
    let receipt = match receipt {
        Ok(r) => r,
        Err(e) => return Ok(Err(Refusal::Invalid(vec![e]))),
    };
    super::slip::record(&tx, &receipt.dossier_id, &slip)?;
    drafts::delete(&tx, draft_id)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(Ok(receipt))
}

/// Cancels the earlier dossier `dossier_id` of this hub by sealing a void dossier that names it.
pub fn void_dossier(
    c: &mut Connection,
    device: &DeviceKey,
    user: &AuthUser,
    dossier_id: &str,
    reason: String,
    place: ChainPlace,
) -> StoreResult<Result<Receipt, Refusal>> {
    let tx = write_tx(c)?;
    let procedure: Option<ProcedureRef> = tx
        .query_row(
            "SELECT procedure_id, procedure_version FROM receipts WHERE dossier_id = ?1",
            [dossier_id],
            |r| {
                Ok(ProcedureRef {
                    id: r.get(0)?,
                    version: r.get(1)?,
                })
            },
        )
        .optional()?;
    let Some(procedure) = procedure else {
        return Ok(Err(Refusal::NotFound));
    };
    if let Err(e) = check_replaceable(&tx, dossier_id, None)? {
        return Ok(Err(Refusal::Invalid(vec![e])));
    }
    let procedure_title = crate::shared::procedures::find(&procedure)
        .map(|d| d.title.clone())
        .unwrap_or_else(|| plain_title(&procedure.id));
    let receipt = seal_in(
        &tx,
        device,
        user,
        place,
        ToSeal {
            dossier_id: uuid::Uuid::now_v7().to_string(),
            procedure,
            procedure_title,
            fields: BTreeMap::new(),
            photos: Vec::new(),
            captured_at: clock::now_rfc3339(),
            captured_by: Actor {
                user_id: user.id.clone(),
                role: user.role.as_str().into(),
            },
            session_id: crate::field::outreach::store::current_session(&tx)?.map(|s| s.id),
            disposition: Disposition::Voids {
                dossier_id: dossier_id.to_owned(),
                reason,
            },
        },
    )?;
    if receipt.is_ok() {
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(receipt.map_err(|e| Refusal::Invalid(vec![e])))
}

/// An earlier dossier may be corrected or cancelled once: it must be this hub's, of the same procedure
/// (for a correction), and not already replaced or cancelled.
fn check_replaceable(
    c: &Connection,
    dossier_id: &str,
    procedure_id: Option<&str>,
) -> StoreResult<Result<(), FieldError>> {
    let row: Option<(String, Option<String>)> = c
        .query_row(
            "SELECT procedure_id, replaced_by FROM receipts WHERE dossier_id = ?1",
            [dossier_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let problem = |code: &str, vi: &str, en: &str| FieldError {
        field: "dossier_id".into(),
        code: code.into(),
        message_vi: vi.into(),
        message_en: en.into(),
        severity: protocol::Severity::Error,
    };
    Ok(match row {
        None => Err(problem(
            "unknown_dossier",
            "Trạm này không có hồ sơ đã niêm phong với mã đó.",
            "This hub has no sealed dossier with that id.",
        )),
        Some((_, Some(_))) => Err(problem(
            "already_replaced",
            "Hồ sơ này đã được sửa hoặc huỷ trước đó; hãy làm trên bản mới nhất.",
            "This dossier was already corrected or cancelled; work on the latest version.",
        )),
        Some((p, None)) if procedure_id.is_some_and(|want| want != p) => Err(problem(
            "other_procedure",
            "Bản sửa phải cùng thủ tục với hồ sơ cũ.",
            "A correction must be of the same procedure as the dossier it corrects.",
        )),
        Some(_) => Ok(()),
    })
}

fn plain_title(id: &str) -> protocol::Text {
    protocol::Text {
        vi: id.to_owned(),
        en: id.to_owned(),
        more: Default::default(),
        audio: Default::default(),
    }
}

/// Everything a sealed dossier needs but its receipt and times.
struct ToSeal {
    dossier_id: String,
    procedure: ProcedureRef,
    procedure_title: protocol::Text,
    fields: BTreeMap<String, String>,
    photos: Vec<(drafts::AttachmentInfo, Vec<u8>)>,
    captured_at: String,
    captured_by: Actor,
    session_id: Option<String>,
    disposition: Disposition,
}

/// Inside the caller's transaction: makes the receipt (offline code + signed QR), signs the dossier, and
/// protects it at once (encrypt + chain) or keeps it pending until an office key is trusted and the chain
/// is known (`place.open`).
fn seal_in(
    tx: &Transaction,
    device: &DeviceKey,
    user: &AuthUser,
    place: ChainPlace,
    s: ToSeal,
) -> StoreResult<Result<Receipt, FieldError>> {
    // The receipt is made offline: its code follows from this hub's id and its own receipt sequence, never
    // below the floor a restore or a divergence set (a fresh range the lost or cloned card never used).
    let device_id = device.public().device_id();
    let next: i64 = tx.query_row(
        "SELECT coalesce(max(receipt_seq), 0) + 1 FROM receipts",
        [],
        |r| r.get(0),
    )?;
    let receipt_seq = next.max(i64::try_from(place.receipt_floor).unwrap_or(i64::MAX));
    let code = ReceiptCode::derive(&device_id, receipt_seq as u64);
    let sealed_at = clock::now_rfc3339();
    let token = protocol::Receipt {
        v: protocol::PROTOCOL_VERSION,
        code: code.clone(),
        device_id: device_id.clone(),
        seq: receipt_seq as u64,
        procedure: s.procedure.clone(),
        date: clock::today_vn().to_string(),
    };
    let tracking_number = token.tracking_number();
    let qr = token.sign(device)?.to_qr_text()?;
    let dossier = Dossier {
        v: 1,
        id: s.dossier_id.clone(),
        device_id,
        procedure: s.procedure.clone(),
        fields: s.fields,
        attachments: s
            .photos
            .iter()
            .map(|(a, _)| AttachmentRef {
                name: a.name.clone(),
                role: a.role.clone(),
                media_type: a.media_type.clone(),
                sha256: a.sha256.clone(),
                size: a.size,
            })
            .collect(),
        captured_at: s.captured_at,
        captured_by: s.captured_by,
        sealed_at: sealed_at.clone(),
        sealed_by: Actor {
            user_id: user.id.clone(),
            role: user.role.as_str().into(),
        },
        session_id: s.session_id.clone(),
        receipt_code: code.clone(),
        disposition: s.disposition,
    };
    if let Err(e) = dossier.check_disposition() {
        return Ok(Err(FieldError {
            field: "reason".into(),
            code: "bad_reason".into(),
            message_vi: format!(
                "Cần ghi lý do (1–{} ký tự, không xuống dòng).",
                protocol::MAX_REASON_CHARS
            ),
            message_en: e.to_string(),
            severity: protocol::Severity::Error,
        }));
    }
    let kind = dossier.disposition.kind();
    let refers_to = dossier.disposition.refers_to().map(str::to_owned);
    let signed: SignedDossier = dossier.sign(device)?;
    let signed_bytes = signed.to_bytes()?;
    tx.execute(
        "INSERT INTO receipts(dossier_id, code, procedure_id, procedure_version, sealed_at, sealed_by, receipt_seq,
             qr, disposition, refers_to, session_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![s.dossier_id, code.to_string(), s.procedure.id, s.procedure.version, sealed_at, user.id,
            receipt_seq, qr, kind, refers_to, s.session_id],
    )
    .map_err(StoreError::classify)?;
    if let Some(old) = &refers_to {
        tx.execute(
            "UPDATE receipts SET replaced_by = ?1 WHERE dossier_id = ?2",
            params![s.dossier_id, old],
        )
        .map_err(StoreError::classify)?;
    }
    let recipients = trust::office_recipients(tx)?;
    let blobs: Vec<Vec<u8>> = s.photos.into_iter().map(|(_, b)| b).collect();
    let seq = if recipients.is_empty() || !place.open {
        let ord: i64 = tx.query_row(
            "SELECT coalesce(max(ord), 0) + 1 FROM pending_protection",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO pending_protection(dossier_id, signed_dossier, sealed_at, ord) VALUES (?1, ?2, ?3, ?4)",
            params![s.dossier_id, signed_bytes, sealed_at, ord],
        )
        .map_err(StoreError::classify)?;
        for (i, b) in blobs.iter().enumerate() {
            tx.execute(
                "INSERT INTO pending_attachments(dossier_id, idx, bytes) VALUES (?1, ?2, ?3)",
                params![s.dossier_id, i as i64, b],
            )
            .map_err(StoreError::classify)?;
        }
        None
    } else {
        protect_all_pending(tx, device, &recipients)?;
        Some(protect_one(
            tx,
            device,
            &recipients,
            &s.dossier_id,
            &signed_bytes,
            &blobs,
            &sealed_at,
        )?)
    };
    Ok(Ok(Receipt {
        code: code.to_string(),
        tracking_number: Some(tracking_number),
        qr: Some(qr),
        dossier_id: s.dossier_id,
        procedure: s.procedure,
        procedure_title: s.procedure_title,
        sealed_at,
        protected: seq.is_some(),
        seq,
        disposition: kind.to_owned(),
        refers_to,
    }))
}

/// Encrypts one signed dossier and its photos to `recipients` and appends the envelope to the chain.
/// Returns the envelope's sequence number.
fn protect_one(
    tx: &Transaction<'_>,
    device: &DeviceKey,
    recipients: &[String],
    dossier_id: &str,
    signed_bytes: &[u8],
    blobs: &[Vec<u8>],
    sealed_at: &str,
) -> StoreResult<u64> {
    let payload = protocol::encrypt_to(recipients, signed_bytes)?;
    let mut blob_cts = Vec::with_capacity(blobs.len());
    for b in blobs {
        blob_cts.push(protocol::encrypt_to(recipients, b)?);
    }
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, hash FROM envelopes ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    // After a sync re-chained this hub onto the office's head (a restored or cloned card), the chain goes on
    // from that head even where this hub holds nothing of it.
    let base = chain_base(tx)?;
    let (prev_seq, prev_hash) = match (last, base) {
        (Some(l), Some(b)) if b.0 > l.0 => b,
        (Some(l), _) => l,
        (None, Some(b)) => b,
        (None, None) => (0, GENESIS_PREV.to_string()),
    };
    let seq = prev_seq as u64 + 1;
    let header = EnvelopeHeader {
        kind: "outreach-kit/envelope".into(),
        v: 1,
        device_id: device.public().device_id(),
        seq,
        prev: prev_hash,
        sealed_at: sealed_at.to_string(),
        payload: BlobRef {
            sha256: protocol::sha256_hex(&payload),
            len: payload.len() as u64,
        },
        blobs: blob_cts
            .iter()
            .map(|b| BlobRef {
                sha256: protocol::sha256_hex(b),
                len: b.len() as u64,
            })
            .collect(),
    };
    let hash = header.hash()?;
    let header_bytes = protocol::canonical_bytes(&header)?;
    let signed = header.sign(device)?;
    tx.execute(
        "INSERT INTO envelopes(seq, dossier_id, header, signature, hash, payload, sealed_at) VALUES (?1,?2,?3,?4,?5,?6,?7)",
        params![seq as i64, dossier_id, header_bytes, signed.signature.to_hex(), hash, payload, sealed_at],
    )
    .map_err(StoreError::classify)?;
    for (i, b) in blob_cts.iter().enumerate() {
        tx.execute(
            "INSERT INTO envelope_blobs(seq, idx, sha256, bytes) VALUES (?1, ?2, ?3, ?4)",
            params![seq as i64, i as i64, protocol::sha256_hex(b), b],
        )
        .map_err(StoreError::classify)?;
    }
    tx.execute(
        "UPDATE receipts SET seq = ?1 WHERE dossier_id = ?2",
        params![seq as i64, dossier_id],
    )?;
    Ok(seq)
}

/// The office's chain head this hub last re-chained onto (`field::uploader`), if any: `(seq, hash)`.
pub fn chain_base(c: &Connection) -> StoreResult<Option<(i64, String)>> {
    let seq = crate::shared::store::meta_get(c, CHAIN_BASE_SEQ)?;
    let hash = crate::shared::store::meta_get(c, CHAIN_BASE_HASH)?;
    Ok(match (seq.and_then(|s| s.parse::<i64>().ok()), hash) {
        (Some(s), Some(h)) => Some((s, h)),
        _ => None,
    })
}

/// Meta keys of [`chain_base`].
pub const CHAIN_BASE_SEQ: &str = "chain_base_seq";
pub const CHAIN_BASE_HASH: &str = "chain_base_hash";

/// Protects every pending dossier, oldest first, inside `tx`. Returns how many were protected.
fn protect_all_pending(
    tx: &Transaction<'_>,
    device: &DeviceKey,
    recipients: &[String],
) -> StoreResult<usize> {
    let pending: Vec<(String, Vec<u8>, String)> = {
        let mut st = tx.prepare(
            "SELECT dossier_id, signed_dossier, sealed_at FROM pending_protection ORDER BY ord",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (id, signed, sealed_at) in &pending {
        let blobs: Vec<Vec<u8>> = {
            let mut st = tx.prepare(
                "SELECT bytes FROM pending_attachments WHERE dossier_id = ?1 ORDER BY idx",
            )?;
            let rows = st.query_map([id], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        protect_one(tx, device, recipients, id, signed, &blobs, sealed_at)?;
        tx.execute("DELETE FROM pending_protection WHERE dossier_id = ?1", [id])?;
    }
    Ok(pending.len())
}

/// Protects every pending dossier if an office key is trusted and the chain is known (`place.open`). Safe
/// to call at any time, from the server or a CLI command; returns how many were protected.
pub fn protect_pending(
    c: &mut Connection,
    device: &DeviceKey,
    place: ChainPlace,
) -> StoreResult<usize> {
    if !place.open {
        return Ok(0);
    }
    let tx = write_tx(c)?;
    let recipients = trust::office_recipients(&tx)?;
    if recipients.is_empty() {
        return Ok(0);
    }
    let n = protect_all_pending(&tx, device, &recipients)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(n)
}

/// A sealed dossier as the field UI lists it: no personal data.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SealedSummary {
    pub dossier_id: String,
    pub receipt_code: String,
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: ProcedureRef,
    #[schema(format = DateTime)]
    pub sealed_at: String,
    pub protected: bool,
    /// Its place in the chain the office acknowledges (null: sealed before an office key was known).
    pub seq: Option<u64>,
    /// `new`, `refused`, `supersedes` or `voids`.
    #[schema(value_type = crate::shared::api_doc::field_schemas::Disposition)]
    pub disposition: String,
    /// The earlier dossier this one corrects or cancels.
    pub refers_to: Option<String>,
    /// The later dossier that corrected or cancelled this one.
    pub replaced_by: Option<String>,
}

pub fn list_sealed(c: &Connection) -> StoreResult<Vec<SealedSummary>> {
    let mut st = c.prepare(
        "SELECT dossier_id, code, procedure_id, procedure_version, sealed_at, seq, disposition, refers_to, replaced_by
         FROM receipts ORDER BY sealed_at DESC, code",
    )?;
    let rows = st.query_map([], |r| {
        let seq: Option<i64> = r.get(5)?;
        Ok(SealedSummary {
            dossier_id: r.get(0)?,
            receipt_code: r.get(1)?,
            procedure: ProcedureRef {
                id: r.get(2)?,
                version: r.get(3)?,
            },
            sealed_at: r.get(4)?,
            protected: seq.is_some(),
            seq: seq.map(|s| s as u64),
            disposition: r.get(6)?,
            refers_to: r.get(7)?,
            replaced_by: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn receipt(c: &Connection, code: &ReceiptCode) -> StoreResult<Option<Receipt>> {
    let row = c
        .query_row(
            "SELECT dossier_id, procedure_id, procedure_version, sealed_at, seq, disposition, qr, refers_to
             FROM receipts WHERE code = ?1",
            [code.to_string()],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ProcedureRef {
                        id: r.get(1)?,
                        version: r.get(2)?,
                    },
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(
        |(dossier_id, procedure, sealed_at, seq, disposition, qr, refers_to)| Receipt {
            code: code.to_string(),
            disposition,
            refers_to,
            tracking_number: qr
                .as_deref()
                .and_then(|q| protocol::SignedReceipt::from_qr_text(q).ok())
                .map(|s| s.receipt.tracking_number()),
            qr,
            dossier_id,
            procedure_title: crate::shared::procedures::find(&procedure)
                .map(|d| d.title.clone())
                .unwrap_or_else(|| plain_title(&procedure.id)),
            procedure,
            sealed_at,
            protected: seq.is_some(),
            seq: seq.map(|s| s as u64),
        },
    ))
}

/// Counts for the field status banner.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldStatus {
    pub paired: bool,
    pub office_name: Option<String>,
    pub pending_protection: i64,
    pub sealed: i64,
    pub chain_head: i64,
    /// Whether sealed dossiers go into the chain at once (`sealable`), or wait unchained for the next sync
    /// because this hub was restored from a backup (`restored`) or a sync found the office holding what it
    /// does not (`diverged`); `paused`: the office paused this device (two copies of its card sealing), no
    /// sealing until it approves it again. See `shared::chain_guard`, protocol §11.4.
    #[schema(value_type = ChainStanding)]
    pub chain: &'static str,
    /// For `restored`, `diverged` and `paused`: what, in English.
    pub chain_detail: Option<String>,
}

/// Documentation of `FieldStatus::chain`.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum ChainStanding {
    Sealable,
    Restored,
    Diverged,
    Paused,
}

pub fn status(
    c: &Connection,
    guard: &crate::shared::chain_guard::Standing,
) -> StoreResult<FieldStatus> {
    use crate::shared::chain_guard::Standing;
    let office = trust::office_names(c)?;
    let (chain, chain_detail) = match guard {
        Standing::Sealable => ("sealable", None),
        Standing::Restored(r) => (
            "restored",
            Some(format!(
                "restored from a backup made {} ({} envelope(s)); not yet compared with the office",
                r.backup_created_at, r.backup_envelopes
            )),
        ),
        Standing::Diverged(d) => ("diverged", Some(d.detail.clone())),
    };
    Ok(FieldStatus {
        paired: !office.is_empty(),
        office_name: office.into_iter().next(),
        pending_protection: c
            .query_row("SELECT count(*) FROM pending_protection", [], |r| r.get(0))?,
        sealed: c.query_row("SELECT count(*) FROM receipts", [], |r| r.get(0))?,
        chain_head: c.query_row("SELECT coalesce(max(seq), 0) FROM envelopes", [], |r| {
            r.get(0)
        })?,
        chain,
        chain_detail,
    })
}
