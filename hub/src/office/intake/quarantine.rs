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
}

/// Every item, unresolved first, newest first within each group.
pub fn list(c: &Connection) -> StoreResult<Vec<Item>> {
    let mut st = c.prepare(
        "SELECT q.id, q.device_id, p.name, q.seq, q.hash, q.reason, q.detail, q.held_hash, q.batch_id, q.via,
                q.raised_at, q.resolved_at, u.name, q.resolution
         FROM quarantine q
         LEFT JOIN trusted_peers p ON p.device_id = q.device_id
         LEFT JOIN users u ON u.id = q.resolved_by
         ORDER BY q.resolved_at IS NOT NULL, q.raised_at DESC, q.id DESC",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Item {
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
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
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
