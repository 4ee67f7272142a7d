//! Storage of the office's side of pairing: one-time codes, field devices and their approval. Every
//! function runs inside the caller's connection; writers take `write_tx`.

use protocol::{DeviceId, DeviceStatus, HubMode, PairingCode, PAIRING_CODE_BYTES};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::office::intake::session::parse_status;
use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};
use crate::shared::trust::{self, fingerprint, TrustError, TrustOutcome};

/// How long a pairing code stays open.
pub const CODE_TTL_SECS: i64 = 600;

/// RFC 3339 UTC, whole seconds, `secs` from now.
pub fn rfc3339_in(secs: i64) -> String {
    use time::format_description::well_known::Rfc3339;
    let now = crate::shared::clock::now_utc();
    let t = now.replace_nanosecond(0).unwrap_or(now) + time::Duration::seconds(secs);
    t.format(&Rfc3339).unwrap_or_default()
}

/// Clears the bytes of every code that has expired or was spent (the rows stay as a record).
pub fn clear_closed_codes(c: &Connection) -> StoreResult<usize> {
    Ok(c.execute(
        "UPDATE pairing_codes SET code = NULL
          WHERE code IS NOT NULL AND (spent_at IS NOT NULL OR expires_at <= ?1)",
        [clock::now_rfc3339()],
    )?)
}

/// A newly opened code.
#[derive(Debug)]
pub struct NewCode {
    pub id: String,
    pub code: PairingCode,
    pub expires_at: String,
}

/// Draws a code from the OS generator and stores it, open for `ttl_secs`. Other open codes stay open.
pub fn open_code(c: &mut Connection, user_id: &str, ttl_secs: i64) -> StoreResult<NewCode> {
    let mut bytes = [0u8; PAIRING_CODE_BYTES];
    crate::shared::keys::random_bytes(&mut bytes)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let code = PairingCode::from_bytes(bytes);
    let id = uuid::Uuid::now_v7().to_string();
    let expires_at = rfc3339_in(ttl_secs);
    let tx = write_tx(c)?;
    clear_closed_codes(&tx)?;
    tx.execute(
        "INSERT INTO pairing_codes(id, code, created_at, created_by, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, &bytes[..], clock::now_rfc3339(), user_id, expires_at],
    )
    .map_err(StoreError::classify)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(NewCode {
        id,
        code,
        expires_at,
    })
}

/// An open (unspent, unexpired) code by id, with its expiry.
pub fn open_code_by_id(c: &Connection, id: &str) -> StoreResult<Option<(PairingCode, String)>> {
    let row: Option<(Vec<u8>, String)> = c
        .query_row(
            "SELECT code, expires_at FROM pairing_codes
              WHERE id = ?1 AND code IS NOT NULL AND spent_at IS NULL AND expires_at > ?2",
            params![id, clock::now_rfc3339()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.and_then(|(b, exp)| {
        let arr: [u8; PAIRING_CODE_BYTES] = b.try_into().ok()?;
        Some((PairingCode::from_bytes(arr), exp))
    }))
}

/// Equal in constant time (for equal lengths; lengths are public: proofs are 64 hex characters).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the office did with a pairing request.
#[derive(Debug)]
pub enum PairOutcome {
    /// Pinned (or found already pinned with the same keys); the code is spent.
    Pinned {
        code: PairingCode,
        status: DeviceStatus,
    },
    /// No open code matches the proof.
    NoCode,
    /// The device id is pinned with other keys (the code stays open).
    KeyChanged,
    /// The card is this hub's own, or of an office.
    NotAField,
}

/// Office: finds the open code `card`'s proof matches, pins the card `pending_approval` (or keeps an
/// existing row with the same keys), spends the code. One transaction.
pub fn accept_pair_request(
    c: &mut Connection,
    me: &DeviceId,
    request: &protocol::PairRequest,
) -> StoreResult<PairOutcome> {
    let card = &request.card;
    let tx = write_tx(c)?;
    clear_closed_codes(&tx)?;
    let open: Vec<(String, Vec<u8>)> = {
        let mut st = tx.prepare(
            "SELECT id, code FROM pairing_codes WHERE code IS NOT NULL AND spent_at IS NULL AND expires_at > ?1",
        )?;
        let rows = st.query_map([clock::now_rfc3339()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    // Every open code is tried (no early exit), so the time taken does not tell which one matched.
    let mut found: Option<(String, PairingCode)> = None;
    for (id, bytes) in open {
        let Ok(arr) = <[u8; PAIRING_CODE_BYTES]>::try_from(bytes) else {
            continue;
        };
        let code = PairingCode::from_bytes(arr);
        let proof = protocol::pair_proof(&code, card)?;
        if ct_eq(proof.as_bytes(), request.proof.as_bytes()) && found.is_none() {
            found = Some((id, code));
        }
    }
    let Some((code_id, code)) = found else {
        tx.commit().map_err(StoreError::classify)?;
        return Ok(PairOutcome::NoCode);
    };
    let status = match trust::trust_card(&tx, HubMode::Office, me, card, &card.to_text()) {
        Ok(TrustOutcome::Added) => {
            tx.execute(
                "UPDATE trusted_peers SET status = 'pending_approval', paired_via = 'code',
                        status_changed_at = ?2, status_changed_by = NULL, status_note = NULL
                  WHERE device_id = ?1",
                params![card.device_id.as_str(), clock::now_rfc3339()],
            )?;
            DeviceStatus::PendingApproval
        }
        Ok(TrustOutcome::AlreadyTrusted) => {
            let mode: String = tx.query_row(
                "SELECT mode FROM trusted_peers WHERE device_id = ?1",
                [card.device_id.as_str()],
                |r| r.get(0),
            )?;
            if mode != "field" {
                return Ok(PairOutcome::NotAField);
            }
            let s: String = tx.query_row(
                "SELECT status FROM trusted_peers WHERE device_id = ?1",
                [card.device_id.as_str()],
                |r| r.get(0),
            )?;
            parse_status(&s)
        }
        Err(TrustError::KeyChanged(_)) => return Ok(PairOutcome::KeyChanged),
        Err(TrustError::Own) | Err(TrustError::SameMode { .. }) => {
            return Ok(PairOutcome::NotAField)
        }
        Err(TrustError::Store(e)) => return Err(e),
    };
    tx.execute(
        "UPDATE pairing_codes SET code = NULL, spent_at = ?2, spent_by = ?3 WHERE id = ?1",
        params![code_id, clock::now_rfc3339(), card.device_id.as_str()],
    )?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(PairOutcome::Pinned { code, status })
}

/// A field device as the office's devices page lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceRow {
    pub device_id: String,
    pub name: String,
    /// The device key's fingerprint, as the key card shows it.
    pub fingerprint: String,
    #[schema(value_type = crate::shared::api_doc::protocol::DeviceStatus)]
    pub status: DeviceStatus,
    #[schema(format = DateTime)]
    pub paired_at: String,
    /// How it was paired: `code` (a pairing code) or how `hub trust` pinned it.
    pub paired_via: String,
    #[schema(format = DateTime)]
    pub status_changed_at: Option<String>,
    /// The name of the user who changed the status last.
    pub status_changed_by: Option<String>,
    /// The reason given with a revocation.
    pub status_note: Option<String>,
    /// When the device last delivered a manifest over the network (none yet: null).
    #[schema(format = DateTime)]
    pub last_seen: Option<String>,
    /// For a device revoked from a sequence number: the first seq no longer accepted (null: not revoked,
    /// or revoked entirely).
    pub revoked_from_seq: Option<u64>,
    /// The highest sequence number the office holds of the device, and when it arrived (what a clerk needs
    /// to choose the cutoff of a revocation: by default this seq + 1).
    pub last_received_seq: Option<u64>,
    #[schema(format = DateTime)]
    pub last_received_at: Option<String>,
    /// When the office paused the device (two copies of its card sealing, protocol §11.4.3); null: not
    /// paused. Approving the device again lifts the pause.
    #[schema(format = DateTime)]
    pub paused_at: Option<String>,
    pub pause_reason: Option<String>,
}

/// Office: every pinned field device, newest first.
pub fn list_devices(c: &Connection) -> StoreResult<Vec<DeviceRow>> {
    let mut st = c.prepare(
        "SELECT p.device_id, p.name, p.sign_pub, p.age_recipient, p.status, p.trusted_at, p.paired_via,
                p.status_changed_at, u.name, p.status_note,
                (SELECT MAX(received_at) FROM sync_manifests m WHERE m.device_id = p.device_id),
                p.revoked_from_seq,
                (SELECT seq FROM received_envelopes e WHERE e.device_id = p.device_id ORDER BY seq DESC LIMIT 1),
                (SELECT received_at FROM received_envelopes e WHERE e.device_id = p.device_id
                  ORDER BY seq DESC LIMIT 1),
                p.paused_at, p.pause_reason
           FROM trusted_peers p LEFT JOIN users u ON u.id = p.status_changed_by
          WHERE p.mode = 'field'
          ORDER BY p.trusted_at DESC, p.device_id",
    )?;
    let rows = st.query_map([], |r| {
        let sp: String = r.get(2)?;
        let ar: String = r.get(3)?;
        Ok(DeviceRow {
            device_id: r.get(0)?,
            name: r.get(1)?,
            fingerprint: fingerprint(&sp, &ar),
            status: parse_status(&r.get::<_, String>(4)?),
            paired_at: r.get(5)?,
            paired_via: r.get(6)?,
            status_changed_at: r.get(7)?,
            status_changed_by: r.get(8)?,
            status_note: r.get(9)?,
            last_seen: r.get(10)?,
            revoked_from_seq: r.get::<_, Option<i64>>(11)?.map(|n| n as u64),
            last_received_seq: r.get::<_, Option<i64>>(12)?.map(|n| n as u64),
            last_received_at: r.get(13)?,
            paused_at: r.get(14)?,
            pause_reason: r.get(15)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Office: sets a field device's status; false when no such device. A revocation set this way is full
/// (every upload refused); any status change clears an earlier cutoff (see [`revoke`]).
pub fn set_device_status(
    c: &mut Connection,
    device_id: &str,
    status: DeviceStatus,
    by_user: Option<&str>,
    note: Option<&str>,
) -> StoreResult<bool> {
    let tx = write_tx(c)?;
    let n = tx.execute(
        "UPDATE trusted_peers SET status = ?2, status_changed_at = ?3, status_changed_by = ?4, status_note = ?5,
                revoked_from_seq = NULL, paused_at = NULL, pause_reason = NULL
          WHERE device_id = ?1 AND mode = 'field'",
        params![device_id, status.as_str(), clock::now_rfc3339(), by_user, note],
    )?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(n == 1)
}

pub use crate::shared::trust::{revocation, Revocation};

/// Office: the highest sequence number held of `device_id` and when it was received.
pub fn last_received(c: &Connection, device_id: &str) -> StoreResult<Option<(u64, String)>> {
    Ok(c.query_row(
        "SELECT seq, received_at FROM received_envelopes WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
        [device_id],
        |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
    )
    .optional()?)
}

/// What a revocation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revoked {
    pub revoked_from_seq: Option<u64>,
    /// Envelopes at or above the cutoff the office had already stored before the revocation (nothing stored
    /// changes; a clerk should review them with the team).
    pub held_at_or_above: u64,
    pub last_received_seq: Option<u64>,
}

/// Office: revokes field device `device_id` with `reason`, from sequence number `from_seq` (envelopes below
/// it that chain correctly are still accepted) or entirely (None). Revoking a revoked device again sets the
/// new cutoff. None when there is no such device.
pub fn revoke(
    c: &mut Connection,
    device_id: &str,
    from_seq: Option<u64>,
    by_user: Option<&str>,
    reason: &str,
) -> StoreResult<Option<Revoked>> {
    let tx = write_tx(c)?;
    let n = tx.execute(
        "UPDATE trusted_peers SET status = 'revoked', status_changed_at = ?2, status_changed_by = ?3,
                status_note = ?4, revoked_from_seq = ?5
          WHERE device_id = ?1 AND mode = 'field'",
        params![
            device_id,
            clock::now_rfc3339(),
            by_user,
            reason,
            from_seq.map(|n| n as i64)
        ],
    )?;
    if n != 1 {
        return Ok(None);
    }
    let held_at_or_above: i64 = match from_seq {
        Some(from) => tx.query_row(
            "SELECT count(*) FROM received_envelopes WHERE device_id = ?1 AND seq >= ?2",
            params![device_id, from as i64],
            |r| r.get(0),
        )?,
        None => 0,
    };
    let last = last_received(&tx, device_id)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(Some(Revoked {
        revoked_from_seq: from_seq,
        held_at_or_above: held_at_or_above as u64,
        last_received_seq: last.map(|(s, _)| s),
    }))
}

/// The id of the first admin (the CLI's stand-in author of a code it opens).
pub fn first_admin(c: &Connection) -> StoreResult<Option<String>> {
    Ok(c.query_row(
        "SELECT id FROM users WHERE role = 'admin' ORDER BY created_at LIMIT 1",
        [],
        |r| r.get(0),
    )
    .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare_and_fingerprint() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        let f = fingerprint("00", "age1x");
        assert_eq!(f.len(), 19);
        assert_eq!(f.split(' ').count(), 4);
    }

    #[test]
    fn a_cutoff_accepts_only_below_it_and_a_full_revocation_nothing() {
        let r = |from_seq| Revocation {
            from_seq,
            at: None,
            reason: None,
        };
        assert!(r(Some(5)).accepts(4));
        assert!(!r(Some(5)).accepts(5));
        assert!(!r(Some(5)).accepts(6));
        assert!(!r(None).accepts(1));
    }

    #[test]
    fn expiry_is_in_the_future_and_comparable_as_text() {
        let now = clock::now_rfc3339();
        let later = rfc3339_in(600);
        assert!(later > now, "{later} > {now}");
        assert_eq!(later.len(), now.len());
    }
}
