//! Storage for the public receipt status (read from `receipts`, no personal data there) and for
//! villagers' pre-declarations.

use std::collections::BTreeMap;

use protocol::{ProcedureRef, ReceiptCode};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::field::capture::store::{self as drafts, Draft};
use crate::field::outreach::store as outreach;
use crate::field::seal::tracking::key_matches;
use crate::shared::clock;
use crate::shared::store::{meta_get, meta_set, write_tx, StoreError, StoreResult};

/// What the public may know about one receipt.
#[derive(Debug, Clone)]
pub struct PublicReceipt {
    pub code: String,
    pub procedure: ProcedureRef,
    pub sealed_at: String,
    /// `new`, `refused`, `voided` or `superseded`.
    pub status: &'static str,
    pub protected: bool,
    pub handed_over: bool,
    /// The latest status news from the office (its public part), if any.
    pub news: Option<crate::field::news::store::PublicNews>,
}

/// The villager-facing status of a receipt: its own disposition, unless a later dossier replaced it.
fn status_of(own: &str, replaced_by_kind: Option<&str>) -> &'static str {
    match (own, replaced_by_kind) {
        (_, Some("voids")) => "voided",
        (_, Some(_)) => "superseded",
        ("refused", None) => "refused",
        // The receipt of a cancellation records that the earlier request was cancelled.
        ("voids", None) => "voided",
        _ => "new",
    }
}

/// The public view of receipt `code`, if it exists and `key` is its tracking key.
pub fn public_receipt(
    c: &Connection,
    code: &ReceiptCode,
    key: &ReceiptCode,
) -> StoreResult<Option<PublicReceipt>> {
    if !key_matches(c, code, key)? {
        return Ok(None);
    }
    let row = c
        .query_row(
            "SELECT r.procedure_id, r.procedure_version, r.sealed_at, r.seq, r.disposition,
                    (SELECT r2.disposition FROM receipts r2 WHERE r2.dossier_id = r.replaced_by),
                    (SELECT e.acked_at FROM envelopes e WHERE e.dossier_id = r.dossier_id)
             FROM receipts r WHERE r.code = ?1",
            [code.to_string()],
            |r| {
                Ok((
                    ProcedureRef {
                        id: r.get(0)?,
                        version: r.get(1)?,
                    },
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            },
        )
        .optional()?;
    let news = match row {
        Some(_) => crate::field::news::store::public_latest(c, &code.to_string())?,
        None => None,
    };
    Ok(row.map(
        |(procedure, sealed_at, seq, own, replaced, acked)| PublicReceipt {
            code: code.to_string(),
            procedure,
            sealed_at,
            status: status_of(&own, replaced.as_deref()),
            protected: seq.is_some(),
            handed_over: acked.is_some(),
            news,
        },
    ))
}

/// Which number a villager was told for their pre-declaration: its queue ticket when an outreach session
/// was open (the number the desks call and the board shows), else its pickup number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NumberKind {
    Ticket,
    Pickup,
}

/// The one number of a pre-declaration (see [`NumberKind`]).
fn told(pickup_number: i64, ticket: Option<i64>) -> (i64, NumberKind) {
    match ticket {
        Some(t) => (t, NumberKind::Ticket),
        None => (pickup_number, NumberKind::Pickup),
    }
}

/// A stored pre-declaration, as the team lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WaitingPredeclaration)]
pub struct Waiting {
    pub id: String,
    /// The number the villager was told, and which one it is.
    pub number: i64,
    pub number_kind: NumberKind,
    pub pickup_number: i64,
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: ProcedureRef,
    /// The name the villager typed (the team sees it; the public never does).
    pub title: String,
    /// The language the villager used (a BCP 47 tag).
    pub lang: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The queue ticket number issued with it, if an outreach session was open.
    pub ticket: Option<i64>,
}

/// What the villager gets back.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = PredeclarationStored)]
pub struct Stored {
    pub id: String,
    /// The one number the villager is told, and which one it is.
    pub number: i64,
    pub number_kind: NumberKind,
    pub pickup_number: i64,
    /// The queue ticket number, when an outreach session was open.
    pub ticket: Option<i64>,
}

/// A pre-declaration refused because its session already has `ceiling` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full {
    pub ceiling: u32,
    /// Whether an outreach session is open (else the ceiling counts waiting ones without a session).
    pub in_session: bool,
}

/// Pre-declarations counted against the ceiling: those of the open session `session` (every one sent
/// while it was open, taken or not), or, with no session open, the waiting ones without a session.
fn counted(c: &Connection, session: Option<&str>) -> StoreResult<i64> {
    Ok(match session {
        Some(id) => c.query_row(
            "SELECT count(*) FROM outreach_tickets WHERE session_id = ?1 AND source = 'self_service'",
            [id],
            |r| r.get(0),
        )?,
        None => c.query_row(
            "SELECT count(*) FROM predeclarations WHERE taken_at IS NULL AND ticket_id IS NULL",
            [],
            |r| r.get(0),
        )?,
    })
}

/// Stores a pre-declaration unless its session (or, with none open, the waiting list) already holds
/// `ceiling` of them; the count and the insert are one write transaction.
pub fn insert(
    c: &mut Connection,
    procedure: &ProcedureRef,
    fields: &BTreeMap<String, String>,
    lang: &str,
    ceiling: u32,
) -> StoreResult<Result<Stored, Full>> {
    let tx = write_tx(c)?;
    let session = outreach::current_session(&tx)?;
    if counted(&tx, session.as_ref().map(|s| s.id.as_str()))? >= i64::from(ceiling) {
        return Ok(Err(Full {
            ceiling,
            in_session: session.is_some(),
        }));
    }
    let id = uuid::Uuid::now_v7().to_string();
    // Numbers keep growing past the pre-declarations retention deleted (a villager may still hold one).
    let n: i64 = tx.query_row(
        "SELECT max(coalesce((SELECT max(pickup_number) FROM predeclarations), 0),
                    coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1), 0)) + 1",
        [LAST_PICKUP_KEY],
        |r| r.get(0),
    )?;
    meta_set(&tx, LAST_PICKUP_KEY, &n.to_string())?;
    let json = serde_json::to_string(fields).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    tx.execute(
        "INSERT INTO predeclarations(id, pickup_number, procedure_id, procedure_version, fields_json, lang, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![id, n, procedure.id, procedure.version, json, lang, clock::now_rfc3339()],
    )
    .map_err(StoreError::classify)?;
    // When an outreach session is open, the villager also gets a place in its queue (in the same
    // transaction). The ticket carries no name: the pre-declaration already holds it.
    let ticket = match session {
        Some(s) => {
            let t = outreach::issue_ticket(&tx, &s.id, None, outreach::TicketSource::SelfService)?;
            tx.execute(
                "UPDATE predeclarations SET ticket_id = ?1, ticket_number = ?2 WHERE id = ?3",
                params![t.id, t.number, id],
            )
            .map_err(StoreError::classify)?;
            Some(t.number)
        }
        None => None,
    };
    tx.commit().map_err(StoreError::classify)?;
    let (number, number_kind) = told(n, ticket);
    Ok(Ok(Stored {
        id,
        number,
        number_kind,
        pickup_number: n,
        ticket,
    }))
}

/// Pre-declarations not yet taken, oldest first.
pub fn waiting(c: &Connection) -> StoreResult<Vec<Waiting>> {
    let mut st = c.prepare(
        "SELECT id, pickup_number, procedure_id, procedure_version, fields_json, lang, created_at, ticket_number
         FROM predeclarations WHERE taken_at IS NULL ORDER BY created_at, pickup_number",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            ProcedureRef {
                id: r.get(2)?,
                version: r.get(3)?,
            },
            r.get::<_, Option<String>>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, Option<i64>>(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, pickup_number, procedure, fj, lang, created_at, ticket) = row?;
        let fields: BTreeMap<String, String> = fj
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("pre-declaration fields: {e}")))?
            .unwrap_or_default();
        let (number, number_kind) = told(pickup_number, ticket);
        out.push(Waiting {
            id,
            number,
            number_kind,
            pickup_number,
            procedure,
            title: crate::shared::procedures::title_of(&fields),
            lang,
            created_at,
            ticket,
        });
    }
    Ok(out)
}

/// `meta` key of the highest pickup number handed out (set at each insert), so numbers keep growing when
/// pre-declarations are deleted (by retention, or when their session closes).
const LAST_PICKUP_KEY: &str = "selfservice.last_pickup_number";

/// Retention: deletes the pre-declarations never taken as a draft whose outreach session has closed (the
/// villager did not come to the desk), and the untaken ones sent before `cutoff` (RFC 3339 UTC) whatever
/// their session (those sent with no session open wait that long). Taken ones keep their row, whose
/// answers were already cleared: it links the ticket to the dossier for the session's report. Returns
/// how many were deleted.
pub fn purge_untaken(c: &Connection, cutoff: &str) -> StoreResult<usize> {
    let tx = if c.is_autocommit() {
        Some(c.unchecked_transaction().map_err(StoreError::classify)?)
    } else {
        None
    };
    let highest: Option<i64> =
        c.query_row("SELECT max(pickup_number) FROM predeclarations", [], |r| {
            r.get(0)
        })?;
    let kept = meta_get(c, LAST_PICKUP_KEY)?.and_then(|v| v.parse::<i64>().ok());
    if let Some(h) = highest.filter(|h| kept.is_none_or(|k| h > &k)) {
        meta_set(c, LAST_PICKUP_KEY, &h.to_string())?;
    }
    let n = c.execute(
        "DELETE FROM predeclarations WHERE taken_at IS NULL AND (
             created_at < ?1
             OR ticket_id IN (SELECT t.id FROM outreach_tickets t
                              JOIN outreach_sessions s ON s.id = t.session_id
                              WHERE s.closed_at IS NOT NULL))",
        [cutoff],
    )?;
    if let Some(tx) = tx {
        tx.commit().map_err(StoreError::classify)?;
    }
    Ok(n)
}

/// Outcome of taking a pre-declaration.
pub enum Take {
    Taken(Box<Draft>),
    NotFound,
    AlreadyTaken { draft_id: Option<String> },
}

/// In one transaction: creates a draft with the pre-declaration's fields (by `user_id`), marks the
/// pre-declaration taken and clears its answers.
pub fn take(c: &mut Connection, id: &str, user_id: &str) -> StoreResult<Take> {
    let tx = write_tx(c)?;
    let row = tx
        .query_row(
            "SELECT procedure_id, procedure_version, fields_json, taken_at, draft_id
             FROM predeclarations WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    ProcedureRef {
                        id: r.get(0)?,
                        version: r.get(1)?,
                    },
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((procedure, fj, taken_at, draft_id)) = row else {
        return Ok(Take::NotFound);
    };
    let (Some(fj), None) = (fj, taken_at) else {
        return Ok(Take::AlreadyTaken { draft_id });
    };
    let fields: BTreeMap<String, String> = serde_json::from_str(&fj)
        .map_err(|e| StoreError::Corrupt(format!("pre-declaration fields: {e}")))?;
    let draft = drafts::create(&tx, &procedure, &fields, user_id, None)?;
    tx.execute(
        "UPDATE predeclarations SET fields_json = NULL, taken_at = ?1, taken_by = ?2, draft_id = ?3
         WHERE id = ?4",
        params![clock::now_rfc3339(), user_id, draft.id, id],
    )
    .map_err(StoreError::classify)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(Take::Taken(Box::new(draft)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retention deletes the pre-declarations never taken (after N days, or when their session closed);
    /// pickup numbers keep growing past the deleted ones.
    #[test]
    fn untaken_predeclarations_go_and_pickup_numbers_are_not_reused() {
        let mut c = crate::shared::store::open_memory().unwrap();
        let p = ProcedureRef {
            id: "marital-status-certificate".into(),
            version: 1,
        };
        let mut f = BTreeMap::new();
        f.insert("subject.full_name".to_string(), "Y Sơn".to_string());
        let a = insert(&mut c, &p, &f, "vi", 10).unwrap().ok().unwrap();
        let b = insert(&mut c, &p, &f, "vi", 10).unwrap().ok().unwrap();
        assert_eq!((a.pickup_number, b.pickup_number), (1, 2));
        c.execute(
            "UPDATE predeclarations SET created_at = '2026-10-01T00:00:00Z' WHERE id = ?1",
            [&b.id],
        )
        .unwrap();
        assert_eq!(purge_untaken(&c, "2026-11-01T00:00:00Z").unwrap(), 1);
        assert_eq!(waiting(&c).unwrap().len(), 1);
        let next = insert(&mut c, &p, &f, "vi", 10).unwrap().ok().unwrap();
        assert_eq!(next.pickup_number, 3, "number 2 was handed out before");
        assert_eq!(purge_untaken(&c, "9999-01-01T00:00:00Z").unwrap(), 2);
        let next = insert(&mut c, &p, &f, "vi", 10).unwrap().ok().unwrap();
        assert_eq!(next.pickup_number, 4);
    }

    #[test]
    fn villager_facing_status() {
        assert_eq!(status_of("new", None), "new");
        assert_eq!(status_of("supersedes", None), "new");
        assert_eq!(status_of("refused", None), "refused");
        assert_eq!(status_of("new", Some("voids")), "voided");
        assert_eq!(status_of("new", Some("supersedes")), "superseded");
        assert_eq!(status_of("voids", None), "voided");
    }
}
