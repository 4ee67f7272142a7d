//! Storage of status news received from the office: `news_in`, each item kept as its signed bytes so it
//! can be verified again at any time.

use protocol::{DeviceId, DevicePublicKey, SignedNews};
use rusqlite::{params, Connection};

use crate::shared::clock;
use crate::shared::store::{meta_get, meta_set, write_tx, StoreError, StoreResult};

/// Field: the highest news seq held from `office` (0 when none): the `after` of the next pull.
/// Counts news deleted by retention too: their seq is kept in `meta`, so they are not pulled again.
pub fn last_seq_in(c: &Connection, office: &DeviceId) -> StoreResult<u64> {
    let n: Option<i64> = c.query_row(
        "SELECT max(seq) FROM news_in WHERE office_id = ?1",
        [office.as_str()],
        |r| r.get(0),
    )?;
    let kept = meta_get(c, &last_seq_key(office.as_str()))?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(0);
    Ok(n.unwrap_or(0).max(kept).max(0) as u64)
}

/// `meta` key of the highest news seq received from an office, kept when retention deletes news.
fn last_seq_key(office_id: &str) -> String {
    format!("news.last_seq_in.{office_id}")
}

/// Retention: deletes the news received before `cutoff` (RFC 3339 UTC), which may carry result numbers
/// (a child's PIN) and notes; the highest seq of each office is kept so they are not pulled again.
/// Returns how many were deleted.
pub fn purge_received_before(c: &Connection, cutoff: &str) -> StoreResult<usize> {
    let tx = if c.is_autocommit() {
        Some(c.unchecked_transaction().map_err(StoreError::classify)?)
    } else {
        None
    };
    let highest: Vec<(String, i64)> = {
        let mut st = c.prepare(
            "SELECT office_id, max(seq) FROM news_in WHERE received_at < ?1 GROUP BY office_id",
        )?;
        let rows = st.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (office, seq) in highest {
        let key = last_seq_key(&office);
        let kept = meta_get(c, &key)?.and_then(|v| v.parse::<i64>().ok());
        if kept.is_none_or(|k| seq > k) {
            meta_set(c, &key, &seq.to_string())?;
        }
    }
    let n = c.execute("DELETE FROM news_in WHERE received_at < ?1", [cutoff])?;
    if let Some(tx) = tx {
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(n)
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

/// One received item, as the field news page shows it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ReceivedNews {
    pub news_id: String,
    pub seq: u64,
    pub receipt_code: String,
    pub dossier_id: String,
    #[schema(value_type = Option<crate::shared::api_doc::protocol::ProcedureRef>)]
    pub procedure: Option<protocol::ProcedureRef>,
    #[schema(value_type = crate::shared::api_doc::protocol::NewsStatus)]
    pub status: protocol::NewsStatus,
    pub note: Option<String>,
    #[schema(format = DateTime)]
    pub published_at: String,
    #[schema(format = DateTime)]
    pub received_at: String,
    #[schema(format = DateTime)]
    pub told_at: Option<String>,
    /// The office's signature verified again when read (false: shown with a warning, never trusted).
    pub verified: bool,
    pub office_name: Option<String>,
}

/// Received news of one hamlet (`hamlet` `None`: captured outside an outreach session).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HamletNews {
    pub hamlet: Option<String>,
    pub items: Vec<ReceivedNews>,
}

/// Field: received news, newest first, grouped by the hamlet of the outreach session the dossier was
/// sealed in (groups ordered by their newest item); only `receipt`'s when given.
pub fn received_by_hamlet(
    c: &Connection,
    receipt: Option<&protocol::ReceiptCode>,
) -> StoreResult<Vec<HamletNews>> {
    let mut st = c.prepare(
        "SELECT n.signed, n.office_id, n.received_at, n.told_at, r.procedure_id, r.procedure_version,
                s.hamlet, p.sign_pub, p.name
         FROM news_in n
         LEFT JOIN receipts r ON r.code = n.receipt_code
         LEFT JOIN outreach_sessions s ON s.id = r.session_id
         LEFT JOIN trusted_peers p ON p.device_id = n.office_id AND p.mode = 'office'
         WHERE (?1 IS NULL OR n.receipt_code = ?1)
         ORDER BY n.published_at DESC, n.seq DESC",
    )?;
    let code = receipt.map(|r| r.to_string());
    let rows = st.query_map([code], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<u32>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, Option<String>>(8)?,
        ))
    })?;
    let mut groups: Vec<HamletNews> = Vec::new();
    for row in rows {
        let (bytes, office_id, received_at, told_at, pid, pver, hamlet, sign_pub, office_name) =
            row?;
        let signed = parse_signed(&bytes)?;
        // Verified again on every read: a stored item altered later, or an office key since re-pinned,
        // shows up here instead of being told to a villager.
        let verified = sign_pub
            .and_then(|k| DevicePublicKey::from_hex(&k).ok())
            .is_some_and(|k| {
                signed.verify(&k).is_ok() && signed.news.office_id.as_str() == office_id
            });
        let n = signed.news;
        let item = ReceivedNews {
            news_id: n.news_id,
            seq: n.seq,
            receipt_code: n.receipt_code.to_string(),
            dossier_id: n.dossier_id,
            procedure: pid
                .zip(pver)
                .map(|(id, version)| protocol::ProcedureRef { id, version }),
            status: n.status,
            note: n.note,
            published_at: n.published_at,
            received_at,
            told_at,
            verified,
            office_name,
        };
        match groups.iter_mut().find(|g| g.hamlet == hamlet) {
            Some(g) => g.items.push(item),
            None => groups.push(HamletNews {
                hamlet,
                items: vec![item],
            }),
        }
    }
    Ok(groups)
}

/// Field: marks that a volunteer told the villager (the first time counts). False when no such item.
pub fn mark_told(c: &mut Connection, news_id: &str) -> StoreResult<Option<String>> {
    use rusqlite::OptionalExtension;
    let tx = write_tx(c)?;
    let found: Option<Option<String>> = tx
        .query_row(
            "SELECT told_at FROM news_in WHERE news_id = ?1",
            [news_id],
            |r| r.get(0),
        )
        .optional()?;
    let out = match found {
        None => None,
        Some(Some(t)) => Some(t),
        Some(None) => {
            let now = clock::now_rfc3339();
            tx.execute(
                "UPDATE news_in SET told_at = ?2 WHERE news_id = ?1",
                params![news_id, now],
            )
            .map_err(StoreError::classify)?;
            Some(now)
        }
    };
    tx.commit().map_err(StoreError::classify)?;
    Ok(out)
}

/// Field: the latest news status code and its time for receipt `code` (for the public receipt page).
pub fn latest_for_receipt(
    c: &Connection,
    code: &str,
) -> StoreResult<Option<(protocol::NewsStatus, String)>> {
    use rusqlite::OptionalExtension;
    let row: Option<Vec<u8>> = c
        .query_row(
            "SELECT signed FROM news_in WHERE receipt_code = ?1 ORDER BY published_at DESC, seq DESC LIMIT 1",
            [code],
            |r| r.get(0),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some(b) => {
            let n = parse_signed(&b)?.news;
            Ok(Some((n.status, n.published_at)))
        }
    }
}

/// What the public receipt status page may show of the latest news: the status kind and time, and where
/// and when to pick up or which papers to bring. Never result numbers (a child's PIN), a reason or a note.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublicNews {
    /// The status kind (as `NewsStatus.kind`).
    #[schema(value_type = PublicNewsKind)]
    pub kind: &'static str,
    #[schema(format = DateTime)]
    pub published_at: String,
    /// `needs_papers` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub papers: Option<Vec<String>>,
    /// `ready_for_pickup` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// `ready_for_pickup` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub from_date: Option<String>,
    /// `ready_for_pickup` only, when the office set an end.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Date)]
    pub until_date: Option<String>,
}

/// The status kinds of news (documentation of [`PublicNews::kind`], the codes of `protocol::NewsStatus`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum PublicNewsKind {
    ReceivedVerified,
    NeedsPapers,
    Registered,
    ReadyForPickup,
    Rejected,
}

/// Field: the public part of the latest news for receipt `code`.
pub fn public_latest(c: &Connection, code: &str) -> StoreResult<Option<PublicNews>> {
    Ok(latest_for_receipt(c, code)?.map(|(status, published_at)| {
        let mut p = PublicNews {
            kind: status.code(),
            published_at,
            papers: None,
            place: None,
            from_date: None,
            until_date: None,
        };
        match status {
            protocol::NewsStatus::NeedsPapers { papers } => p.papers = Some(papers),
            protocol::NewsStatus::ReadyForPickup {
                place,
                from_date,
                until_date,
            } => {
                p.place = Some(place);
                p.from_date = Some(from_date);
                p.until_date = until_date;
            }
            _ => {}
        }
        p
    }))
}

fn parse_signed(bytes: &[u8]) -> StoreResult<SignedNews> {
    SignedNews::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("stored news: {e}")))
}
