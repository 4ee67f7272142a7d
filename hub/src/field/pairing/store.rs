//! Storage of the field's side of pairing: the pinned office. Every function runs inside the caller's
//! connection; writers take `write_tx`.

use protocol::{DeviceId, HubMode, KeyCard};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::shared::store::{write_tx, StoreError, StoreResult};
use crate::shared::trust::{self, fingerprint, TrustError, TrustOutcome};

/// The office this field hub has pinned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PinnedOffice)]
pub struct OfficeRow {
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub device_id: String,
    pub name: String,
    /// The URL it was paired at (pairing by code), if any.
    pub base_url: Option<String>,
    /// The key fingerprint the office advertises over mDNS (16 hex digits).
    pub fingerprint: String,
    #[schema(format = DateTime)]
    pub paired_at: String,
    /// How it was pinned, e.g. `code`.
    pub paired_via: String,
}

/// Field: the pinned office, if any (the first pinned, should there be several by file).
pub fn pinned_office(c: &Connection) -> StoreResult<Option<OfficeRow>> {
    Ok(c.query_row(
        "SELECT device_id, name, base_url, sign_pub, age_recipient, trusted_at, paired_via
           FROM trusted_peers WHERE mode = 'office' ORDER BY trusted_at, device_id LIMIT 1",
        [],
        |r| {
            let sp: String = r.get(3)?;
            let ar: String = r.get(4)?;
            Ok(OfficeRow {
                device_id: r.get(0)?,
                name: r.get(1)?,
                base_url: r.get(2)?,
                fingerprint: fingerprint(&sp, &ar),
                paired_at: r.get(5)?,
                paired_via: r.get(6)?,
            })
        },
    )
    .optional()?)
}

/// What pinning the office's card did on a field hub.
#[derive(Debug)]
pub enum PinOffice {
    Pinned {
        already: bool,
    },
    /// Another office is pinned already (its name).
    OtherOffice(String),
    /// This office's device id is pinned with other keys.
    KeyChanged,
}

/// Field: pins `card` (an office) with `base_url`, `paired_via='code'`, unless another office is pinned.
pub fn pin_office(
    c: &mut Connection,
    me: &DeviceId,
    card: &KeyCard,
    base_url: &str,
) -> StoreResult<PinOffice> {
    let tx = write_tx(c)?;
    let other: Option<String> = tx
        .query_row(
            "SELECT name FROM trusted_peers WHERE mode = 'office' AND device_id <> ?1 LIMIT 1",
            [card.device_id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(name) = other {
        return Ok(PinOffice::OtherOffice(name));
    }
    let already = match trust::trust_card(&tx, HubMode::Field, me, card, &card.to_text()) {
        Ok(TrustOutcome::Added) => false,
        Ok(TrustOutcome::AlreadyTrusted) => true,
        Err(TrustError::KeyChanged(_)) => return Ok(PinOffice::KeyChanged),
        Err(TrustError::Store(e)) => return Err(e),
        Err(e) => return Err(StoreError::Corrupt(e.to_string())),
    };
    tx.execute(
        "UPDATE trusted_peers SET base_url = ?2, paired_via = CASE WHEN ?3 THEN paired_via ELSE 'code' END
          WHERE device_id = ?1",
        params![card.device_id.as_str(), base_url, already],
    )?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(PinOffice::Pinned { already })
}
