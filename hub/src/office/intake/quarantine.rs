//! The quarantine as clerks see it: envelopes set aside with their reason, unresolved first, and resolving
//! one with a note (who and when are kept).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// One quarantined envelope for the clerk's page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = QuarantineItem)]
pub struct Item {
    pub id: i64,
    pub device_id: String,
    pub device_name: Option<String>,
    pub seq: u64,
    pub hash: String,
    /// The check that set it aside (a `CheckKind` code, e.g. `envelope_signature`, `equivocation`).
    pub reason: String,
    pub detail: String,
    /// Equivocation: the hash of the header the office already held for this seq.
    pub held_hash: Option<String>,
    pub batch_id: Option<String>,
    /// How it came: `network` or `file`.
    pub via: String,
    #[schema(format = DateTime)]
    pub raised_at: String,
    #[schema(format = DateTime)]
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
    /// When the set-aside envelope's dossier was sealed (from its header; null when unreadable).
    #[schema(format = DateTime)]
    pub offered_sealed_at: Option<String>,
    /// Equivocation: the dossier the office holds at this seq, to compare side by side.
    pub held: Option<Side>,
    /// The same dossier, sealed again by the field under a later seq and stored (protocol §11.4.2).
    pub rechained: Option<Side>,
}

/// One stored dossier beside a set-aside envelope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Side {
    pub seq: u64,
    pub dossier_id: String,
    /// The receipt code the office's records use.
    pub receipt_code: String,
    /// The code the field issued, when the office records another (relinked, protocol §6.2).
    pub issued_code: Option<String>,
    pub procedure_id: String,
    #[schema(format = DateTime)]
    pub sealed_at: String,
}

fn side(c: &Connection, device: &str, seq: Option<i64>) -> StoreResult<Option<Side>> {
    let Some(seq) = seq else { return Ok(None) };
    Ok(c.query_row(
        "SELECT d.dossier_id, d.receipt_code, l.issued_code, d.procedure_id, d.sealed_at
         FROM received_dossiers d LEFT JOIN receipt_relinks l ON l.dossier_id = d.dossier_id
         WHERE d.device_id = ?1 AND d.seq = ?2",
        params![device, seq],
        |r| {
            Ok(Side {
                seq: seq as u64,
                dossier_id: r.get(0)?,
                receipt_code: r.get(1)?,
                issued_code: r.get(2)?,
                procedure_id: r.get(3)?,
                sealed_at: r.get(4)?,
            })
        },
    )
    .optional()?)
}

/// Every item, unresolved first, newest first within each group.
pub fn list(c: &Connection) -> StoreResult<Vec<Item>> {
    let mut st = c.prepare(
        "SELECT q.id, q.device_id, p.name, q.seq, q.hash, q.reason, q.detail, q.held_hash, q.batch_id, q.via,
                q.raised_at, q.resolved_at, u.name, q.resolution, q.header, q.rechained_seq
         FROM quarantine q
         LEFT JOIN trusted_peers p ON p.device_id = q.device_id
         LEFT JOIN users u ON u.id = q.resolved_by
         ORDER BY q.resolved_at IS NOT NULL, q.raised_at DESC, q.id DESC",
    )?;
    let rows = st.query_map([], |r| {
        let header: Option<Vec<u8>> = r.get(14)?;
        Ok((
            Item {
                id: r.get(0)?,
                device_id: r.get(1)?,
                device_name: r.get(2)?,
                seq: r.get::<_, i64>(3)? as u64,
                hash: r.get(4)?,
                reason: r.get(5)?,
                detail: r.get(6)?,
                held_hash: r.get(7)?,
                batch_id: r.get(8)?,
                via: r.get(9)?,
                raised_at: r.get(10)?,
                resolved_at: r.get(11)?,
                resolved_by: r.get(12)?,
                resolution: r.get(13)?,
                offered_sealed_at: header
                    .and_then(|b| protocol::parse_canonical::<protocol::EnvelopeHeader>(&b).ok())
                    .map(|h| h.sealed_at),
                held: None,
                rechained: None,
            },
            r.get::<_, Option<i64>>(15)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (mut item, rechained_seq) = row?;
        if item.reason == "equivocation" {
            item.held = side(c, &item.device_id, Some(item.seq as i64))?;
        }
        item.rechained = side(c, &item.device_id, rechained_seq)?;
        out.push(item);
    }
    Ok(out)
}

/// How many items wait for a person.
pub fn unresolved_count(c: &Connection) -> StoreResult<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL",
        [],
        |r| r.get(0),
    )?)
}

/// Resolves item `id` with `note` by `user`. None when there is no such item; Some(false) when it was
/// already resolved (nothing changes); Some(true) when resolved now.
pub fn resolve(c: &mut Connection, id: i64, user: &str, note: &str) -> StoreResult<Option<bool>> {
    let tx = write_tx(c)?;
    let open: Option<bool> = tx
        .query_row(
            "SELECT resolved_at IS NULL FROM quarantine WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(open) = open else {
        return Ok(None);
    };
    if open {
        tx.execute(
            "UPDATE quarantine SET resolved_at = ?2, resolved_by = ?3, resolution = ?4 WHERE id = ?1",
            params![id, clock::now_rfc3339(), user, note],
        )
        .map_err(StoreError::classify)?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(Some(open))
}
