//! Storage of status news published by the office: `news_out`, each item signed with the office key.

use protocol::{DeviceId, SignedNews};
use rusqlite::{params, Connection};

use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// One published item as the office dossier page lists it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublishedNews {
    #[schema(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub news_id: String,
    /// Per field device, 1, 2, 3…
    pub seq: u64,
    pub device_id: String,
    /// The villager's receipt code, formatted.
    #[schema(
        pattern = "^([0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{2}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U])$"
    )]
    pub receipt_code: String,
    #[schema(value_type = crate::shared::api_doc::protocol::NewsStatus)]
    pub status: protocol::NewsStatus,
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub published_at: String,
    /// The publishing user's id, and name (null when the account is gone).
    pub published_by: String,
    pub published_by_name: Option<String>,
}

/// The field device and receipt code of received dossier `dossier_id`.
pub fn dossier_target(
    c: &Connection,
    dossier_id: &str,
) -> StoreResult<Option<(DeviceId, protocol::ReceiptCode)>> {
    use rusqlite::OptionalExtension;
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT device_id, receipt_code FROM received_dossiers WHERE dossier_id = ?1",
            [dossier_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((d, code)) => Ok(Some((
            DeviceId::parse(&d).map_err(StoreError::from)?,
            protocol::ReceiptCode::parse(&code)
                .map_err(|e| StoreError::Corrupt(format!("stored receipt code: {e}")))?,
        ))),
    }
}

/// Office: builds, signs (`key`) and stores one news item for received dossier `dossier_id`, its seq the
/// next one of the dossier's field device, chosen in the same write transaction as the insert. `None` when
/// the dossier is not held.
pub fn publish(
    c: &mut Connection,
    key: &protocol::DeviceKey,
    dossier_id: &str,
    status: protocol::NewsStatus,
    note: Option<String>,
    user_id: &str,
) -> StoreResult<Option<SignedNews>> {
    let tx = write_tx(c)?;
    let out = publish_in(&tx, key, dossier_id, status, note, user_id)?;
    if out.is_some() {
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(out)
}

/// [`publish`] inside the caller's write transaction `tx` (e.g. casework's status change, so the status
/// and its news are committed together or not at all). The caller commits.
pub fn publish_in(
    tx: &Connection,
    key: &protocol::DeviceKey,
    dossier_id: &str,
    status: protocol::NewsStatus,
    note: Option<String>,
    user_id: &str,
) -> StoreResult<Option<SignedNews>> {
    let Some((device, code)) = dossier_target(tx, dossier_id)? else {
        return Ok(None);
    };
    let last: Option<i64> = tx.query_row(
        "SELECT max(seq) FROM news_out WHERE device_id = ?1",
        [device.as_str()],
        |r| r.get(0),
    )?;
    let news = protocol::News {
        kind: protocol::NEWS_KIND.into(),
        v: protocol::PROTOCOL_VERSION,
        office_id: key.public().device_id(),
        news_id: uuid::Uuid::now_v7().to_string(),
        device_id: device,
        seq: last.unwrap_or(0) as u64 + 1,
        receipt_code: code,
        dossier_id: dossier_id.to_string(),
        status,
        note,
        published_at: clock::now_rfc3339(),
    };
    news.check_form().map_err(StoreError::from)?;
    let signed = SignedNews::sign(news, key).map_err(StoreError::from)?;
    let n = &signed.news;
    tx.execute(
        "INSERT INTO news_out(news_id, device_id, seq, dossier_id, receipt_code, status_kind, signed,
             published_at, published_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            n.news_id,
            n.device_id.as_str(),
            n.seq as i64,
            n.dossier_id,
            n.receipt_code.to_string(),
            n.status.code(),
            signed.to_bytes().map_err(StoreError::from)?,
            n.published_at,
            user_id
        ],
    )
    .map_err(StoreError::classify)?;
    Ok(Some(signed))
}

/// The `published_by` of news the office makes by itself (no clerk behind it).
pub const BY_OFFICE: &str = "office";

/// Publishes the news of every dossier of `device` that the intake recorded under a relinked receipt code
/// (`receipt_relinks`, §6.2) and whose field hub was not told yet: one `received_verified` item each,
/// carrying the office's code and a note with both codes. Returns how many were published.
pub fn publish_relinks(
    c: &mut Connection,
    key: &protocol::DeviceKey,
    device: &DeviceId,
) -> StoreResult<usize> {
    let tx = write_tx(c)?;
    let rows: Vec<(String, String, String)> = {
        let mut st = tx.prepare(
            "SELECT dossier_id, issued_code, office_code FROM receipt_relinks
             WHERE device_id = ?1 AND news_seq IS NULL ORDER BY relinked_at, dossier_id",
        )?;
        let rows = st.query_map([device.as_str()], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut n = 0;
    for (dossier_id, issued, office) in rows {
        let note = format!(
            "Mã biên nhận {issued} trùng với hồ sơ của người khác; hồ sơ của bạn được ghi với mã mới {office}. \
             Your receipt code {issued} was also given to someone else; your dossier is now recorded under {office}."
        );
        let Some(signed) = publish_in(
            &tx,
            key,
            &dossier_id,
            protocol::NewsStatus::ReceivedVerified,
            Some(note),
            BY_OFFICE,
        )?
        else {
            continue;
        };
        tx.execute(
            "UPDATE receipt_relinks SET news_seq = ?2 WHERE dossier_id = ?1",
            params![dossier_id, signed.news.seq as i64],
        )?;
        n += 1;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(n)
}

/// Office: the news of one dossier, newest first.
pub fn dossier_news(c: &Connection, dossier_id: &str) -> StoreResult<Vec<PublishedNews>> {
    let mut st = c.prepare(
        "SELECT o.signed, o.published_by, u.name FROM news_out o LEFT JOIN users u ON u.id = o.published_by
         WHERE o.dossier_id = ?1 ORDER BY o.seq DESC",
    )?;
    let rows = st.query_map([dossier_id], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (bytes, by, name) = row?;
        let n = parse_signed(&bytes)?.news;
        out.push(PublishedNews {
            news_id: n.news_id,
            seq: n.seq,
            device_id: n.device_id.to_string(),
            receipt_code: n.receipt_code.to_string(),
            status: n.status,
            note: n.note,
            published_at: n.published_at,
            published_by: by,
            published_by_name: name,
        });
    }
    Ok(out)
}

/// Office: the news for field device `device` after seq `after`, at most `limit` items, ascending, and
/// whether more follow.
pub fn news_after(
    c: &Connection,
    device: &DeviceId,
    after: u64,
    limit: usize,
) -> StoreResult<(Vec<SignedNews>, bool)> {
    let mut st = c.prepare(
        "SELECT signed FROM news_out WHERE device_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = st.query_map(
        params![
            device.as_str(),
            after.min(i64::MAX as u64) as i64,
            limit as i64 + 1
        ],
        |r| r.get::<_, Vec<u8>>(0),
    )?;
    let mut items = Vec::new();
    for r in rows {
        items.push(parse_signed(&r?)?);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    Ok((items, more))
}

fn parse_signed(bytes: &[u8]) -> StoreResult<SignedNews> {
    SignedNews::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("stored news: {e}")))
}
