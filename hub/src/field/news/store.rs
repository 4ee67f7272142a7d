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
    /// This hub holds the dossier the item is about (matched by dossier id). False: a dossier sealed on
    /// a copy of this hub (e.g. before it was restored from an older backup): never told to the villager
    /// who now holds the same receipt code.
    pub dossier_held: bool,
}

/// Received news of one hamlet (`hamlet` `None`: captured outside an outreach session).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HamletNews {
    pub hamlet: Option<String>,
    pub items: Vec<ReceivedNews>,
}

/// Field: received news, newest first, grouped by the hamlet of the outreach session the dossier was
/// sealed in (groups ordered by their newest item); only `receipt`'s when given.
///
/// News is matched to this hub's records by **dossier id**, never by receipt code: a hub restored from an
/// older backup may have handed the same receipt code to another villager, and a notice about the lost
/// dossier must not show on the new villager's receipt. An item about a dossier this hub does not hold is
/// listed with `dossier_held: false` and no hamlet.
pub fn received_by_hamlet(
    c: &Connection,
    receipt: Option<&protocol::ReceiptCode>,
) -> StoreResult<Vec<HamletNews>> {
    let mut st = c.prepare(
        "SELECT n.signed, n.office_id, n.received_at, n.told_at, r.procedure_id, r.procedure_version,
                s.hamlet, p.sign_pub, p.name, r.dossier_id IS NOT NULL
         FROM news_in n
         LEFT JOIN receipts r ON r.dossier_id = n.dossier_id
         LEFT JOIN outreach_sessions s ON s.id = r.session_id
         LEFT JOIN trusted_peers p ON p.device_id = n.office_id AND p.mode = 'office'
         WHERE (?1 IS NULL OR n.dossier_id = (SELECT dossier_id FROM receipts WHERE code = ?1))
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
            r.get::<_, bool>(9)?,
        ))
    })?;
    let mut groups: Vec<HamletNews> = Vec::new();
    for row in rows {
        let (
            bytes,
            office_id,
            received_at,
            told_at,
            pid,
            pver,
            hamlet,
            sign_pub,
            office_name,
            dossier_held,
        ) = row?;
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
            dossier_held,
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

/// What marking a news item told found.
#[derive(Debug, PartialEq, Eq)]
pub enum TellOutcome {
    /// Marked now, or earlier: when.
    Told(String),
    /// No such item.
    Unknown,
    /// The item is about a dossier this hub does not hold (see [`received_by_hamlet`]): nobody here to tell.
    NotHeld,
}

/// Field: marks that a volunteer told the villager (the first time counts).
pub fn mark_told(c: &mut Connection, news_id: &str) -> StoreResult<TellOutcome> {
    use rusqlite::OptionalExtension;
    let tx = write_tx(c)?;
    let found: Option<(Option<String>, bool)> = tx
        .query_row(
            "SELECT n.told_at, EXISTS (SELECT 1 FROM receipts r WHERE r.dossier_id = n.dossier_id)
             FROM news_in n WHERE n.news_id = ?1",
            [news_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let out = match found {
        None => TellOutcome::Unknown,
        Some((_, false)) => TellOutcome::NotHeld,
        Some((Some(t), true)) => TellOutcome::Told(t),
        Some((None, true)) => {
            let now = clock::now_rfc3339();
            tx.execute(
                "UPDATE news_in SET told_at = ?2 WHERE news_id = ?1",
                params![news_id, now],
            )
            .map_err(StoreError::classify)?;
            TellOutcome::Told(now)
        }
    };
    tx.commit().map_err(StoreError::classify)?;
    Ok(out)
}

/// Field: the latest news status code and its time for receipt `code` (for the public receipt page):
/// news about the dossier this hub issued `code` for (matched by dossier id, see [`received_by_hamlet`]).
pub fn latest_for_receipt(
    c: &Connection,
    code: &str,
) -> StoreResult<Option<(protocol::NewsStatus, String, String)>> {
    use rusqlite::OptionalExtension;
    let row: Option<Vec<u8>> = c
        .query_row(
            "SELECT signed FROM news_in
             WHERE dossier_id = (SELECT dossier_id FROM receipts WHERE code = ?1)
             ORDER BY published_at DESC, seq DESC LIMIT 1",
            [code],
            |r| r.get(0),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some(b) => {
            let n = parse_signed(&b)?.news;
            Ok(Some((n.status, n.published_at, n.receipt_code.to_string())))
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
    /// The code the office records this dossier under, when it is not the code the villager holds (the
    /// code was issued twice by a restored or cloned card, protocol §6.2): the villager is told the new one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_as: Option<String>,
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
    Ok(
        latest_for_receipt(c, code)?.map(|(status, published_at, news_code)| {
            let mut p = PublicNews {
                kind: status.code(),
                published_at,
                papers: None,
                place: None,
                from_date: None,
                until_date: None,
                recorded_as: (news_code != code).then_some(news_code),
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
        }),
    )
}

fn parse_signed(bytes: &[u8]) -> StoreResult<SignedNews> {
    SignedNews::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("stored news: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::{DeviceKey, News, NewsStatus, ReceiptCode, NEWS_KIND};

    /// A hub restored from an older backup issued receipt code C again, for a new dossier; the office's
    /// news about the lost dossier with code C must not reach the new villager (issue 23).
    #[test]
    fn news_is_matched_by_dossier_id_not_receipt_code() {
        let mut c = crate::shared::store::open_memory().unwrap();
        let office = DeviceKey::from_seed([7; 32]);
        let field = DeviceKey::from_seed([9; 32]);
        let code = ReceiptCode::parse("0576-4731-3978-80").unwrap();
        c.execute(
            "INSERT INTO trusted_peers(device_id, mode, name, sign_pub, age_recipient, card, trusted_at)
             VALUES (?1, 'office', 'UBND xã', ?2, '', '', '2026-11-20T03:00:00Z')",
            params![
                office.public().device_id().as_str(),
                office.public().to_hex()
            ],
        )
        .unwrap();
        // The new villager's dossier, sealed after the restore with the same code.
        c.execute(
            "INSERT INTO receipts(dossier_id, code, procedure_id, procedure_version, sealed_at, sealed_by)
             VALUES ('01a250db-996a-75db-9559-a28457f56d69', ?1, 'marital-status-certificate', 1,
                     '2026-11-21T03:00:00Z', 'u1')",
            [code.to_string()],
        )
        .unwrap();
        let news = |seq: u64, dossier: &str| {
            SignedNews::sign(
                News {
                    kind: NEWS_KIND.into(),
                    v: 1,
                    office_id: office.public().device_id(),
                    news_id: format!("01a250db-0000-7000-8000-00000000000{seq}"),
                    device_id: field.public().device_id(),
                    seq,
                    receipt_code: code.clone(),
                    dossier_id: dossier.into(),
                    status: NewsStatus::ReceivedVerified,
                    note: None,
                    published_at: format!("2026-11-2{seq}T03:00:00Z"),
                },
                &office,
            )
            .unwrap()
        };
        // Receives one item; the public receipt page's latest status kind for `code` after it.
        let receive = |c: &mut Connection, item: SignedNews| {
            save_incoming(c, &office.public(), &field.public().device_id(), &[item])
                .unwrap()
                .unwrap();
            public_latest(c, &code.to_string()).unwrap().map(|p| p.kind)
        };
        // About the dossier lost with the old card (same code, another dossier id).
        let lost = news(2, "01a250db-1111-7111-8111-111111111111");
        assert_eq!(receive(&mut c, lost), None);
        let mine = received_by_hamlet(&c, Some(&code)).unwrap();
        assert!(
            mine.is_empty(),
            "the new villager's receipt shows no news: {mine:?}"
        );
        let all = received_by_hamlet(&c, None).unwrap();
        assert_eq!(all.len(), 1);
        assert!(!all[0].items[0].dossier_held);
        assert_eq!(
            mark_told(&mut c, "01a250db-0000-7000-8000-000000000002").unwrap(),
            TellOutcome::NotHeld
        );
        // News about the dossier this hub holds does reach its receipt.
        let held = news(3, "01a250db-996a-75db-9559-a28457f56d69");
        assert_eq!(receive(&mut c, held), Some("received_verified"));
        let mine = received_by_hamlet(&c, Some(&code)).unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(mine[0].items.len(), 1);
        assert!(mine[0].items[0].dossier_held);
        assert!(matches!(
            mark_told(&mut c, "01a250db-0000-7000-8000-000000000003").unwrap(),
            TellOutcome::Told(_)
        ));
    }
}
