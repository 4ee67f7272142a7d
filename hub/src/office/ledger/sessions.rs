//! What manifests tell the office beyond their envelopes: each device's announced chain head and the
//! summaries of its outreach sessions (protocol §3.5), kept for the ledger and the session reports.

use protocol::{SessionSummary, SignedManifest};
use rusqlite::{params, Connection, OptionalExtension};

use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

/// Records the chain head and session summaries of a verified manifest. Idempotent; a summary is
/// replaced only by one from a manifest made at the same time or later, and the head only rises.
pub fn record(c: &Connection, signed: &SignedManifest) -> StoreResult<()> {
    let m = &signed.manifest;
    let device = m.device_id.as_str();
    let now = clock::now_rfc3339();
    c.execute(
        "INSERT INTO device_heads(device_id, head_seq, head_hash, batch_id, seen_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(device_id) DO UPDATE SET head_seq = excluded.head_seq, head_hash = excluded.head_hash,
             batch_id = excluded.batch_id, seen_at = excluded.seen_at
         WHERE excluded.head_seq > device_heads.head_seq",
        params![device, m.chain_head.seq as i64, m.chain_head.hash, m.batch_id, now],
    )
    .map_err(StoreError::classify)?;
    for s in &m.sessions {
        store_summary(c, device, s, &m.batch_id, &m.created_at)?;
    }
    Ok(())
}

/// Keeps `summary` of `device`'s session unless a newer one is already held (by `as_of`, RFC 3339 —
/// compared as instants via their UTC normal form).
pub fn store_summary(
    c: &Connection,
    device: &str,
    summary: &SessionSummary,
    batch_id: &str,
    as_of: &str,
) -> StoreResult<()> {
    let as_of_utc = clock::to_utc_rfc3339(as_of).unwrap_or_else(|| as_of.to_owned());
    let held: Option<String> = c
        .query_row(
            "SELECT as_of FROM session_summaries WHERE device_id = ?1 AND session_id = ?2",
            params![device, summary.session_id],
            |r| r.get(0),
        )
        .optional()?;
    if held.is_some_and(|h| h > as_of_utc) {
        return Ok(());
    }
    let json = String::from_utf8(protocol::canonical_bytes(summary)?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    c.execute(
        "INSERT INTO session_summaries(device_id, session_id, hamlet, date, summary_json, batch_id, as_of, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(device_id, session_id) DO UPDATE SET hamlet = excluded.hamlet, date = excluded.date,
             summary_json = excluded.summary_json, batch_id = excluded.batch_id, as_of = excluded.as_of,
             received_at = excluded.received_at",
        params![
            device,
            summary.session_id,
            summary.hamlet,
            summary.date,
            json,
            batch_id,
            as_of_utc,
            clock::now_rfc3339()
        ],
    )
    .map_err(StoreError::classify)?;
    for d in &summary.dossiers {
        c.execute(
            "INSERT INTO session_envelopes(device_id, seq, session_id, procedure_id, disposition)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(device_id, seq) DO UPDATE SET session_id = excluded.session_id,
                 procedure_id = excluded.procedure_id, disposition = excluded.disposition",
            params![
                device,
                d.seq as i64,
                summary.session_id,
                d.procedure.id,
                d.disposition
            ],
        )
        .map_err(StoreError::classify)?;
    }
    Ok(())
}

/// The summaries held, newest session day first.
pub fn summaries(c: &Connection) -> StoreResult<Vec<(String, SessionSummary)>> {
    let mut st = c.prepare(
        "SELECT device_id, summary_json FROM session_summaries ORDER BY date DESC, device_id, session_id",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for r in rows {
        let (dev, json) = r?;
        let s: SessionSummary =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        out.push((dev, s));
    }
    Ok(out)
}
