//! At an office, how a receipt of a revoked field device stands (protocol §9, revocation from a sequence
//! number): `hub receipt verify` first checks the receipt's signature (`field::seal::receipt_check`), then asks
//! here whether the office accepted the dossier behind it (below the cutoff, same procedure and date).

use rusqlite::Connection;

use crate::shared::store::StoreResult;

/// The dossier of a receipt as an office holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldDossier {
    /// Its envelope's sequence number on the device.
    pub seq: u64,
    pub received_at: String,
    /// The held dossier has the receipt's procedure and sealing date (a receipt forged with a stolen key
    /// may copy a genuine code onto other content).
    pub matches: bool,
}

/// How a verified receipt of a device the office revoked stands (protocol §9, revocation from a
/// sequence number): accepted only if the office holds its dossier, matching, below the cutoff (or, for a
/// full revocation, received before it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedStanding {
    pub revocation: super::store::Revocation,
    pub device_name: String,
    pub held: Option<HeldDossier>,
}

impl RevokedStanding {
    /// Whether the receipt's dossier counts.
    pub fn accepted(&self) -> bool {
        match &self.held {
            Some(h) if h.matches => match self.revocation.from_seq {
                Some(_) => self.revocation.accepts(h.seq),
                // Revoked entirely: what reached the office before the revocation stays.
                None => true,
            },
            _ => false,
        }
    }

    /// The verdict in plain English, for `hub receipt verify` (first line starts with `REVOKED`).
    pub fn to_text(&self) -> String {
        let on = self
            .revocation
            .at
            .as_deref()
            .and_then(|a| a.get(..10))
            .unwrap_or("an earlier date");
        let why = self
            .revocation
            .reason
            .as_deref()
            .map(|r| format!(" (reason: {r})"))
            .unwrap_or_default();
        let name = &self.device_name;
        let mut s = match self.revocation.from_seq {
            Some(n) => format!(
                "REVOKED from seq {n}: the device {name} was reported lost or stolen on {on}{why}; only what it sealed below seq {n} is accepted.\n"
            ),
            None => format!(
                "REVOKED: the device {name} was revoked entirely on {on}{why}; nothing it sends is accepted any more.\n"
            ),
        };
        s.push_str(&match (&self.held, self.revocation.from_seq) {
            (Some(h), _) if !h.matches => format!(
                "The dossier the office holds under this receipt code (seq {}) has another procedure or date: refused. This receipt was made with the device's key after the fact.",
                h.seq
            ),
            (Some(h), Some(n)) if h.seq < n => format!(
                "This receipt's dossier is seq {}, below the cutoff: accepted (received {}). The receipt is VALID.",
                h.seq, h.received_at
            ),
            (Some(h), Some(_)) => format!(
                "This receipt's dossier is seq {}, at or above the cutoff: refused. It reached the office on {}, before the revocation: check it with the team before acting on it.",
                h.seq, h.received_at
            ),
            (Some(h), None) => format!(
                "This receipt's dossier is seq {}, received on {} before the revocation: accepted. The receipt is VALID.",
                h.seq, h.received_at
            ),
            (None, Some(n)) => format!(
                "The office holds no dossier for this receipt: refused. A genuine dossier sealed before the theft counts only once its envelope arrives with a seq below {n}; anything at or above it is set aside."
            ),
            (None, None) => {
                "The office holds no dossier for this receipt: refused.".to_owned()
            }
        });
        s
    }
}

/// At an office: how verified receipt `r` stands when its device is revoked; None when the device is not
/// a revoked field device of this office (the receipt's signature alone decides).
pub fn revoked_standing(
    c: &Connection,
    r: &protocol::Receipt,
) -> StoreResult<Option<RevokedStanding>> {
    use rusqlite::OptionalExtension;
    let device = r.device_id.as_str();
    let Some(revocation) = super::store::revocation(c, device)? else {
        return Ok(None);
    };
    let device_name: String = c
        .query_row(
            "SELECT name FROM trusted_peers WHERE device_id = ?1",
            [device],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or_else(|| device.to_owned());
    let row: Option<(i64, String, String, i64, String)> = c
        .query_row(
            "SELECT seq, received_at, procedure_id, procedure_version, sealed_at FROM received_dossiers
              WHERE device_id = ?1 AND receipt_code = ?2 ORDER BY seq LIMIT 1",
            rusqlite::params![device, r.code.to_string()],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .optional()?;
    let held = row.map(|(seq, received_at, pid, pver, sealed_at)| {
        // The receipt's date is the sealing day in Vietnam (UTC+7).
        let sealed_on = protocol::parse_timestamp(&sealed_at)
            .map(|t| (t + time::Duration::hours(7)).date().to_string())
            .unwrap_or_default();
        HeldDossier {
            seq: seq as u64,
            received_at,
            matches: pid == r.procedure.id
                && pver as u32 == r.procedure.version
                && sealed_on == r.date,
        }
    });
    Ok(Some(RevokedStanding {
        revocation,
        device_name,
        held,
    }))
}
