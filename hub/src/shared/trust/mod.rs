//! Trusted peers: the key cards of other hubs this hub accepts. A field hub trusts its office (whose age
//! key it encrypts to); an office trusts its field devices (whose signatures it verifies). Pairing here is by
//! files (`hub key show` → `hub trust`); QR pairing comes later and ends in the same table.

use axum::http::StatusCode;
use protocol::{DeviceId, DevicePublicKey, DeviceStatus, HubMode, KeyCard};
use rusqlite::{params, Connection, OptionalExtension};

use crate::shared::clock;
use crate::shared::error::ApiError;
use crate::shared::store::{StoreError, StoreResult};

/// Outcome of trusting a key card.
#[derive(Debug, PartialEq, Eq)]
pub enum TrustOutcome {
    Added,
    AlreadyTrusted,
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("this is a {mine} hub; it cannot trust another {mine} hub's card ({name}). Field hubs trust their office; the office trusts its field hubs.")]
    SameMode { mine: HubMode, name: String },
    #[error("this is this hub's own key card")]
    Own,
    #[error(
        "device {0} is already trusted with DIFFERENT keys; refusing to replace them silently"
    )]
    KeyChanged(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Records `card` as trusted by a hub of `my_mode` whose device id is `me`.
pub fn trust_card(
    c: &Connection,
    my_mode: HubMode,
    me: &DeviceId,
    card: &KeyCard,
    text: &str,
) -> Result<TrustOutcome, TrustError> {
    if &card.device_id == me {
        return Err(TrustError::Own);
    }
    if card.mode == my_mode {
        return Err(TrustError::SameMode {
            mine: my_mode,
            name: card.name.clone(),
        });
    }
    let existing: Option<(String, String)> = c
        .query_row(
            "SELECT sign_pub, age_recipient FROM trusted_peers WHERE device_id = ?1",
            [card.device_id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::from)?;
    if let Some((sp, ar)) = existing {
        if sp == card.sign_pub.to_hex() && ar == card.age_recipient {
            return Ok(TrustOutcome::AlreadyTrusted);
        }
        return Err(TrustError::KeyChanged(card.device_id.to_string()));
    }
    c.execute(
        "INSERT INTO trusted_peers(device_id, mode, name, sign_pub, age_recipient, card, trusted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            card.device_id.as_str(),
            card.mode.to_string(),
            card.name,
            card.sign_pub.to_hex(),
            card.age_recipient,
            text,
            clock::now_rfc3339()
        ],
    )
    .map_err(StoreError::classify)?;
    Ok(TrustOutcome::Added)
}

/// The age recipients of every trusted office.
pub fn office_recipients(c: &Connection) -> StoreResult<Vec<String>> {
    let mut st = c.prepare(
        "SELECT age_recipient FROM trusted_peers WHERE mode = 'office' ORDER BY device_id",
    )?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn office_names(c: &Connection) -> StoreResult<Vec<String>> {
    let mut st =
        c.prepare("SELECT name FROM trusted_peers WHERE mode = 'office' ORDER BY trusted_at")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A trusted field device's signing key and name.
pub fn field_device(
    c: &Connection,
    id: &DeviceId,
) -> StoreResult<Option<(DevicePublicKey, String)>> {
    signing_key(c, id, Some("field"))
}

/// Any trusted hub's signing key and name (field or office), e.g. to verify a receipt it signed.
pub fn peer_signing_key(
    c: &Connection,
    id: &DeviceId,
) -> StoreResult<Option<(DevicePublicKey, String)>> {
    signing_key(c, id, None)
}

/// The signing key and name of trusted hub `id`, of `mode` when given.
fn signing_key(
    c: &Connection,
    id: &DeviceId,
    mode: Option<&str>,
) -> StoreResult<Option<(DevicePublicKey, String)>> {
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT sign_pub, name FROM trusted_peers WHERE device_id = ?1 AND (?2 IS NULL OR mode = ?2)",
            rusqlite::params![id.as_str(), mode],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((sp, name)) => Ok(Some((DevicePublicKey::from_hex(&sp)?, name))),
    }
}

/// Names of trusted devices by id (for listings).
pub fn device_name(c: &Connection, id: &str) -> StoreResult<Option<String>> {
    Ok(c.query_row(
        "SELECT name FROM trusted_peers WHERE device_id = ?1",
        [id],
        |r| r.get(0),
    )
    .optional()?)
}

/// The error an upload meets at the office (and that the field shows when the office refuses it) for a device of `status` (none when approved).
pub fn status_gate(status: DeviceStatus) -> Result<(), ApiError> {
    match status {
        DeviceStatus::Approved => Ok(()),
        DeviceStatus::PendingApproval => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_pending_approval",
            "Thiết bị này đang chờ cán bộ văn phòng xã duyệt. Hãy nhờ văn phòng duyệt thiết bị rồi đồng bộ lại.",
            "This device is waiting for a clerk at the commune office to approve it. Ask the office to approve it, then sync again.",
        )),
        DeviceStatus::Revoked => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            "Văn phòng xã đã thu hồi quyền của thiết bị này; không gửi được hồ sơ. Hãy liên hệ văn phòng xã.",
            "The commune office revoked this device; it cannot upload. Contact the commune office.",
        )),
    }
}

/// A short, comparable fingerprint of a hub's public keys (the same as its mDNS TXT `fp`), grouped by 4.
pub fn fingerprint(sign_pub_hex: &str, age_recipient: &str) -> String {
    let h = protocol::sha256_hex(format!("{sign_pub_hex}{age_recipient}").as_bytes());
    h.as_bytes()[..16]
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A field device's revocation as the office recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Revocation {
    /// The first sequence number no longer accepted (envelopes below it that chain correctly still are);
    /// None: revoked entirely (every upload refused), as every revocation was before cutoffs existed.
    pub from_seq: Option<u64>,
    /// When a clerk revoked the device (RFC 3339), if recorded.
    pub at: Option<String>,
    /// The clerk's reason.
    pub reason: Option<String>,
}

impl Revocation {
    /// Whether an envelope of sequence number `seq` may still be accepted: only below the cutoff.
    pub fn accepts(&self, seq: u64) -> bool {
        self.from_seq.is_some_and(|n| seq < n)
    }
}

/// Office: the revocation of field device `device_id`; None when it is not revoked (or not a field device).
pub fn revocation(c: &Connection, device_id: &str) -> StoreResult<Option<Revocation>> {
    type Row = (String, Option<i64>, Option<String>, Option<String>);
    let row: Option<Row> = c
        .query_row(
            "SELECT status, revoked_from_seq, status_changed_at, status_note FROM trusted_peers
              WHERE device_id = ?1 AND mode = 'field'",
            [device_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    Ok(match row {
        // As office::intake::session::parse_status reads it: anything but approved or pending is revoked.
        Some((status, from, at, reason))
            if status != "approved" && status != "pending_approval" =>
        {
            Some(Revocation {
                from_seq: from.map(|n| n as u64),
                at,
                reason,
            })
        }
        _ => None,
    })
}
