//! Storage of status news. Office: `news_out` (published, signed items). Field: `news_in` (received items,
//! each kept as its signed bytes so it can be verified again at any time).

use protocol::{DeviceId, DevicePublicKey, SignedNews};
use rusqlite::{params, Connection};

use crate::clock;
use crate::store::{write_tx, StoreError, StoreResult};

/// Field: the highest news seq held from `office` (0 when none): the `after` of the next pull.
pub fn last_seq_in(c: &Connection, office: &DeviceId) -> StoreResult<u64> {
    let n: Option<i64> = c.query_row(
        "SELECT max(seq) FROM news_in WHERE office_id = ?1",
        [office.as_str()],
        |r| r.get(0),
    )?;
    Ok(n.unwrap_or(0) as u64)
}

/// Field: verifies every item (pinned `office` key, this hub's `device`) and stores the new ones in one
/// transaction; any item failing verification refuses the whole batch, storing nothing. Returns how many
/// items were new.
pub fn save_incoming(
    c: &mut Connection,
    office: &DevicePublicKey,
    device: &DeviceId,
    items: &[SignedNews],
) -> StoreResult<Result<usize, protocol::ProtocolError>> {
    for item in items {
        if let Err(e) = item.verify(office) {
            return Ok(Err(e));
        }
        if &item.news.device_id != device {
            return Ok(Err(protocol::ProtocolError::Sync(
                "news for another device".into(),
            )));
        }
    }
    let office_id = office.device_id();
    let now = clock::now_rfc3339();
    let tx = write_tx(c)?;
    let mut new = 0;
    for item in items {
        let n = &item.news;
        let bytes = item.to_bytes().map_err(StoreError::from)?;
        new += tx
            .execute(
                "INSERT OR IGNORE INTO news_in(news_id, office_id, seq, dossier_id, receipt_code, status_kind,
                     signed, published_at, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    n.news_id,
                    office_id.as_str(),
                    n.seq as i64,
                    n.dossier_id,
                    n.receipt_code.to_string(),
                    n.status.code(),
                    bytes,
                    n.published_at,
                    now
                ],
            )
            .map_err(StoreError::classify)?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(Ok(new))
}
