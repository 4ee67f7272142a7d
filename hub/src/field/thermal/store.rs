//! The record of thermal prints (table `receipt_prints`): how many times a receipt was printed and when,
//! and the answer to each request with an `Idempotency-Key`, replayed when the same request comes again.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::shared::store::StoreResult;

/// One print, as answered to the client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Printed {
    pub code: String,
    pub printed_at: String,
    /// `hub` (the hub's USB printer) or `phone` (a team phone over Bluetooth).
    #[schema(pattern = "^(hub|phone)$")]
    pub via: String,
    pub device: Option<String>,
    pub profile: String,
    pub length_mm: f32,
    pub bytes: usize,
    /// How many times this receipt has now been printed.
    pub prints: u32,
}

/// The answer first given to `idem_key`, if any.
pub fn replay(c: &Connection, idem_key: &str) -> StoreResult<Option<Printed>> {
    let a: Option<String> = c
        .query_row(
            "SELECT answer FROM receipt_prints WHERE idem_key = ?1",
            [idem_key],
            |r| r.get(0),
        )
        .optional()?;
    Ok(a.and_then(|a| serde_json::from_str(&a).ok()))
}

/// The last print of receipt `code` (its time) and how many there were.
pub fn last(c: &Connection, code: &str) -> StoreResult<Option<(String, u32)>> {
    Ok(c.query_row(
        "SELECT MAX(printed_at), COUNT(*) FROM receipt_prints WHERE receipt_code = ?1",
        [code],
        |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, u32>(1)?)),
    )
    .map(|(t, n)| t.map(|t| (t, n)))?
    .filter(|(_, n)| *n > 0))
}

/// Records a print; `p.prints` is set to the new count.
pub fn record(c: &mut Connection, mut p: Printed, idem_key: Option<&str>) -> StoreResult<Printed> {
    let tx = c.transaction()?;
    let n: u32 = tx.query_row(
        "SELECT COUNT(*) FROM receipt_prints WHERE receipt_code = ?1",
        [&p.code],
        |r| r.get(0),
    )?;
    p.prints = n + 1;
    let answer = serde_json::to_string(&p)
        .map_err(|e| crate::shared::store::StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO receipt_prints (receipt_code, printed_at, via, profile, device, length_mm, bytes, idem_key, answer)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![p.code, p.printed_at, p.via, p.profile, p.device, p.length_mm, p.bytes as i64, idem_key, answer],
    )?;
    tx.commit()?;
    Ok(p)
}
