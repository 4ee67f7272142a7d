//! Outreach sessions, tickets and services rendered in the store.
//!
//! Ticket numbers come from the session row's `next_number` counter, bumped in the same statement that
//! hands a number out, so numbers are 1, 2, 3… per session, never reused, even under concurrent requests.
//! A villager's name on a ticket is personal data: it is never logged, never shown on the public board,
//! and cleared when the session closes.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use crate::shared::auth::store::UserOut;
use crate::shared::auth::Role;
use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $s)] $var),+ }
        // By hand: utoipa's derive does not see a `serde(rename)` whose value comes from a macro.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($s),+]))
                    .into()
            }
        }
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $s),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$var),)+ _ => None } }
        }
        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                Self::parse(s).ok_or_else(|| rusqlite::types::FromSqlError::Other(
                    format!("unknown {} {s:?}", stringify!($name)).into()))
            }
        }
        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }
    };
}

str_enum!(
    /// Where a session is held.
    VenueKind { CulturalHouse = "cultural_house", School = "school", Other = "other" }
);
str_enum!(
    /// The four desks of an outreach session (the four forces working together).
    Desk { CivilStatus = "civil_status", Police = "police", Telecom = "telecom", Guidance = "guidance" }
);
str_enum!(
    /// Who issued a ticket: a team member at a desk, or the villager on the self-service page.
    TicketSource { Desk = "desk", SelfService = "self_service" }
);
str_enum!(
    /// waiting → called (at a desk) → done / no_show.
    TicketStatus { Waiting = "waiting", Called = "called", Done = "done", NoShow = "no_show" }
);
str_enum!(
    /// A service rendered to one villager.
    ServiceKind {
        Vneid = "vneid_level2_activated",
        Sim = "sim_registered",
        Account = "account_created",
        Guidance = "guidance_given",
        Dossier = "dossier_captured",
        Other = "other",
    }
);
str_enum!(
    Sex { Male = "male", Female = "female", Other = "other" }
);
str_enum!(
    AgeBand { A0 = "0-5", A6 = "6-14", A15 = "15-17", A18 = "18-35", A36 = "36-59", A60 = "60+" }
);

/// An outreach session as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OutreachSession)]
pub struct Session {
    pub id: String,
    pub hamlet: String,
    pub venue_kind: VenueKind,
    pub venue_name: String,
    /// The commune's 5-digit code, when the session names one.
    #[schema(pattern = "^[0-9]{5}$")]
    pub commune_code: Option<String>,
    #[schema(format = Date)]
    pub date: String,
    /// Id of the user who opened it.
    pub opened_by: String,
    #[schema(format = DateTime)]
    pub opened_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub open: bool,
    pub team: Vec<UserOut>,
}

/// A villager's ticket. `name` is personal data (team only).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OutreachTicket)]
pub struct Ticket {
    pub id: String,
    pub session_id: String,
    pub number: i64,
    pub name: Option<String>,
    pub source: TicketSource,
    pub status: TicketStatus,
    pub desk: Option<Desk>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub called_at: Option<String>,
    #[schema(format = DateTime)]
    pub finished_at: Option<String>,
    pub recalls: i64,
}

/// What a new session is.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub hamlet: String,
    pub venue_kind: VenueKind,
    pub venue_name: String,
    pub commune_code: Option<String>,
    pub date: String,
    pub team: Vec<String>,
}

/// A domain refusal (answered as 4xx by the routes).
#[derive(Debug, Clone)]
pub enum Refused {
    /// Another session is open; its id, place and date.
    AlreadyOpen(Box<Session>),
    SessionNotFound,
    SessionClosed,
    TicketNotFound,
    UnknownCommune,
    /// A team member id that is not an active user of this hub.
    UnknownUser(String),
    /// The ticket is not in a state that allows this (its current status).
    WrongStatus(TicketStatus),
    /// The ticket does not belong to this session.
    TicketOfOtherSession,
    ServiceNotFound,
    /// Only a member's latest tap can be undone.
    NotLatestTap,
}

pub type Outcome<T> = StoreResult<Result<T, Refused>>;

fn now() -> (String, i64) {
    (clock::now_rfc3339(), clock::now_unix())
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Runs `f` in an immediate transaction, unless the caller already holds one (then inside it).
fn in_tx<T>(c: &Connection, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
    if !c.is_autocommit() {
        return f(c);
    }
    let tx = Transaction::new_unchecked(c, TransactionBehavior::Immediate)
        .map_err(StoreError::classify)?;
    let v = f(&tx)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(v)
}

// ---------- sessions ----------

const SESSION_COLS: &str =
    "id, hamlet, venue_kind, venue_name, commune_code, date, opened_by, opened_at, closed_at";

fn session_row(c: &Connection, r: &rusqlite::Row<'_>) -> rusqlite::Result<Session> {
    let id: String = r.get(0)?;
    let closed_at: Option<String> = r.get(8)?;
    Ok(Session {
        team: team_of(c, &id)?,
        id,
        hamlet: r.get(1)?,
        venue_kind: r.get(2)?,
        venue_name: r.get(3)?,
        commune_code: r.get(4)?,
        date: r.get(5)?,
        opened_by: r.get(6)?,
        opened_at: r.get(7)?,
        open: closed_at.is_none(),
        closed_at,
    })
}

fn team_of(c: &Connection, session_id: &str) -> rusqlite::Result<Vec<UserOut>> {
    let mut st = c.prepare_cached(
        "SELECT u.id, u.name, u.role FROM outreach_team t JOIN users u ON u.id = t.user_id
         WHERE t.session_id = ?1 ORDER BY u.name",
    )?;
    let rows = st.query_map([session_id], |r| {
        let role: String = r.get(2)?;
        Ok(UserOut {
            id: r.get(0)?,
            name: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Volunteer),
        })
    })?;
    rows.collect()
}

/// The session that is open now, if any.
pub fn current_session(conn: &Connection) -> StoreResult<Option<Session>> {
    Ok(conn
        .query_row(
            &format!("SELECT {SESSION_COLS} FROM outreach_sessions WHERE closed_at IS NULL"),
            [],
            |r| session_row(conn, r),
        )
        .optional()?)
}

pub fn get_session(c: &Connection, id: &str) -> StoreResult<Option<Session>> {
    Ok(c.query_row(
        &format!("SELECT {SESSION_COLS} FROM outreach_sessions WHERE id = ?1"),
        [id],
        |r| session_row(c, r),
    )
    .optional()?)
}

/// Every session, newest first.
pub fn list_sessions(c: &Connection) -> StoreResult<Vec<SessionSummary>> {
    let mut st = c.prepare(&format!(
        "SELECT {SESSION_COLS},
            (SELECT count(*) FROM outreach_tickets t WHERE t.session_id = s.id),
            (SELECT count(*) FROM outreach_services v WHERE v.session_id = s.id)
         FROM outreach_sessions s ORDER BY opened_at DESC, id DESC LIMIT 500"
    ))?;
    let rows = st.query_map([], |r| {
        Ok(SessionSummary {
            session: session_row(c, r)?,
            tickets: r.get(9)?,
            services: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A session in the list, with its ticket and service counts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OutreachSessionSummary)]
pub struct SessionSummary {
    #[serde(flatten)]
    pub session: Session,
    pub tickets: i64,
    pub services: i64,
}

/// Opens a session. Refused while another is open, for an unknown commune code or team member.
pub fn open_session(c: &Connection, new: &NewSession, user_id: &str) -> Outcome<Session> {
    in_tx(c, |c| {
        if let Some(s) = current_session(c)? {
            return Ok(Err(Refused::AlreadyOpen(Box::new(s))));
        }
        if let Some(code) = &new.commune_code {
            if !crate::shared::units::store::unit_exists(c, code)? {
                return Ok(Err(Refused::UnknownCommune));
            }
        }
        for u in &new.team {
            let ok: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1 AND disabled = 0)",
                [u],
                |r| r.get(0),
            )?;
            if !ok {
                return Ok(Err(Refused::UnknownUser(u.clone())));
            }
        }
        let id = new_id();
        c.execute(
            "INSERT INTO outreach_sessions(id, hamlet, venue_kind, venue_name, commune_code, date, opened_by, opened_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, new.hamlet, new.venue_kind, new.venue_name, new.commune_code, new.date, user_id,
                    clock::now_rfc3339()],
        )
        .map_err(StoreError::classify)?;
        for u in new.team.iter().map(String::as_str).chain([user_id]) {
            c.execute(
                "INSERT OR IGNORE INTO outreach_team(session_id, user_id) VALUES (?1, ?2)",
                params![id, u],
            )?;
        }
        Ok(Ok(get_session(c, &id)?.ok_or_else(|| {
            StoreError::Corrupt("session vanished".into())
        })?))
    })
}

/// Closes a session: tickets still at a desk count as served, and so do waiting tickets whose holder had
/// work done (see [`Villagers::with_ticket`]); the other waiting tickets count as no-shows, the
/// villagers' names on tickets are erased, and the session's pre-declarations never taken are deleted.
pub fn close_session(c: &Connection, id: &str, user_id: &str) -> Outcome<Session> {
    in_tx(c, |c| {
        let Some(s) = get_session(c, id)? else {
            return Ok(Err(Refused::SessionNotFound));
        };
        if !s.open {
            return Ok(Err(Refused::SessionClosed));
        }
        let now = clock::now_rfc3339();
        c.execute(
            "UPDATE outreach_tickets SET status = 'done', finished_at = ?2 WHERE session_id = ?1 AND status = 'called'",
            params![id, now],
        )?;
        // A villager still waiting whose work is done (e.g. the dossier of their pre-declaration) was
        // served, not a no-show.
        let (served, _) = served_tickets(c, id)?;
        for t in &served {
            c.execute(
                "UPDATE outreach_tickets SET status = 'done', finished_at = ?2 WHERE id = ?1 AND status = 'waiting'",
                params![t, now],
            )?;
        }
        c.execute(
            "UPDATE outreach_tickets SET status = 'no_show', finished_at = ?2 WHERE session_id = ?1 AND status = 'waiting'",
            params![id, now],
        )?;
        c.execute(
            "UPDATE outreach_tickets SET name = NULL WHERE session_id = ?1",
            [id],
        )?;
        // Pre-declarations of this session never taken as a draft: the villager did not come to the desk,
        // and their answers are not kept past the session (retention, issue 19; selfservice's
        // `purge_untaken` catches any left by an older hub).
        c.execute(
            "DELETE FROM predeclarations WHERE taken_at IS NULL
             AND ticket_id IN (SELECT id FROM outreach_tickets WHERE session_id = ?1)",
            [id],
        )?;
        c.execute(
            "UPDATE outreach_sessions SET closed_at = ?2, closed_by = ?3 WHERE id = ?1",
            params![id, now, user_id],
        )?;
        Ok(Ok(get_session(c, id)?.ok_or_else(|| {
            StoreError::Corrupt("session vanished".into())
        })?))
    })
}

/// Retention for a session left open: erases the names on its tickets issued before `before_unix` (a
/// session lasts a day; numbers, statuses and counts stay for the report). Returns how many were erased.
pub fn erase_stale_ticket_names(c: &Connection, before_unix: i64) -> StoreResult<usize> {
    Ok(c.execute(
        "UPDATE outreach_tickets SET name = NULL WHERE name IS NOT NULL AND created_unix < ?1",
        [before_unix],
    )?)
}

/// An open session by id, or why not.
fn open_session_by_id(c: &Connection, id: &str) -> StoreResult<Result<(), Refused>> {
    let closed: Option<Option<String>> = c
        .query_row(
            "SELECT closed_at FROM outreach_sessions WHERE id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match closed {
        None => Err(Refused::SessionNotFound),
        Some(Some(_)) => Err(Refused::SessionClosed),
        Some(None) => Ok(()),
    })
}

// ---------- tickets ----------

const TICKET_COLS: &str = "id, session_id, number, name, source, status, desk, created_at, called_at, finished_at, recalls";

fn ticket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Ticket> {
    Ok(Ticket {
        id: r.get(0)?,
        session_id: r.get(1)?,
        number: r.get(2)?,
        name: r.get(3)?,
        source: r.get(4)?,
        status: r.get(5)?,
        desk: r.get(6)?,
        created_at: r.get(7)?,
        called_at: r.get(8)?,
        finished_at: r.get(9)?,
        recalls: r.get(10)?,
    })
}

pub fn get_ticket(c: &Connection, id: &str) -> StoreResult<Option<Ticket>> {
    Ok(c.query_row(
        &format!("SELECT {TICKET_COLS} FROM outreach_tickets WHERE id = ?1"),
        [id],
        ticket_row,
    )
    .optional()?)
}

fn ticket(c: &Connection, id: &str) -> StoreResult<Ticket> {
    get_ticket(c, id)?.ok_or_else(|| StoreError::Corrupt("ticket vanished".into()))
}

/// Every ticket of a session, by number.
pub fn list_tickets(c: &Connection, session_id: &str) -> StoreResult<Vec<Ticket>> {
    let mut st = c.prepare(&format!(
        "SELECT {TICKET_COLS} FROM outreach_tickets WHERE session_id = ?1 ORDER BY number"
    ))?;
    let rows = st.query_map([session_id], ticket_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Issues the next ticket of an open session: numbers 1, 2, 3… per session, atomic, never reused.
/// `name` is optional personal data. Runs in its own immediate transaction, or in the caller's.
///
/// Errors: when `session_id` is not an open session, `StoreError::Sqlite(QueryReturnedNoRows)` (the
/// counter update matched no open session); callers normally pass [`current_session`]'s id, read on the
/// same connection call.
pub fn issue_ticket(
    conn: &Connection,
    session_id: &str,
    name: Option<&str>,
    source: TicketSource,
) -> StoreResult<Ticket> {
    in_tx(conn, |c| {
        let number: i64 = c.query_row(
            "UPDATE outreach_sessions SET next_number = next_number + 1
             WHERE id = ?1 AND closed_at IS NULL RETURNING next_number - 1",
            [session_id],
            |r| r.get(0),
        )?;
        let id = new_id();
        let (at, unix) = now();
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        c.execute(
            "INSERT INTO outreach_tickets(id, session_id, number, name, source, created_at, created_unix)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, session_id, number, name, source, at, unix],
        )
        .map_err(StoreError::classify)?;
        ticket(c, &id)
    })
}

/// The ticket an idempotency key already produced: `Some(None)` when the key was used and produced no
/// ticket (a "call next" with nobody waiting), `None` when the key is new.
fn idempotent(c: &Connection, key: Option<&str>) -> StoreResult<Option<Option<Ticket>>> {
    let Some(k) = key else { return Ok(None) };
    let hit: Option<Option<String>> = c
        .query_row(
            "SELECT ticket_id FROM outreach_idempotency WHERE key = ?1",
            [k],
            |r| r.get(0),
        )
        .optional()?;
    match hit {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(id)) => Ok(Some(get_ticket(c, &id)?)),
    }
}

fn remember(c: &Connection, key: Option<&str>, ticket_id: Option<&str>) -> StoreResult<()> {
    if let Some(k) = key {
        c.execute(
            "INSERT INTO outreach_idempotency(key, ticket_id, created_at) VALUES (?1, ?2, ?3)",
            params![k, ticket_id, clock::now_rfc3339()],
        )?;
    }
    Ok(())
}

/// Issues a ticket in an open session, once per idempotency key (a retry answers the same ticket).
pub fn issue_ticket_once(
    c: &Connection,
    session_id: &str,
    name: Option<&str>,
    source: TicketSource,
    key: Option<&str>,
) -> Outcome<(Ticket, bool)> {
    in_tx(c, |c| {
        if let Some(Some(t)) = idempotent(c, key)? {
            return Ok(Ok((t, false)));
        }
        if let Err(r) = open_session_by_id(c, session_id)? {
            return Ok(Err(r));
        }
        let t = issue_ticket(c, session_id, name, source)?;
        remember(c, key, Some(&t.id))?;
        Ok(Ok((t, true)))
    })
}

/// "Call next" at `desk`: the ticket being served there is done, and the lowest waiting number that is
/// for this desk or for any desk is called. `Ok(None)` when nobody is waiting.
pub fn call_next(
    c: &Connection,
    session_id: &str,
    desk: Desk,
    key: Option<&str>,
) -> Outcome<Option<Ticket>> {
    in_tx(c, |c| {
        if let Some(hit) = idempotent(c, key)? {
            return Ok(Ok(hit));
        }
        if let Err(r) = open_session_by_id(c, session_id)? {
            return Ok(Err(r));
        }
        let (at, unix) = now();
        c.execute(
            "UPDATE outreach_tickets SET status = 'done', finished_at = ?3
             WHERE session_id = ?1 AND desk = ?2 AND status = 'called'",
            params![session_id, desk, at],
        )?;
        let next: Option<String> = c
            .query_row(
                "SELECT id FROM outreach_tickets WHERE session_id = ?1 AND status = 'waiting'
                   AND (desk IS NULL OR desk = ?2) ORDER BY number LIMIT 1",
                params![session_id, desk],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = &next {
            c.execute(
                "UPDATE outreach_tickets SET status = 'called', desk = ?2, called_at = ?3, called_unix = ?4,
                    first_called_unix = coalesce(first_called_unix, ?4)
                 WHERE id = ?1",
                params![id, desk, at, unix],
            )?;
        }
        remember(c, key, next.as_deref())?;
        Ok(Ok(match next {
            Some(id) => Some(ticket(c, &id)?),
            None => None,
        }))
    })
}

/// What a team member may do to one ticket besides calling it.
#[derive(Debug, Clone, Copy)]
pub enum TicketAction {
    /// Call the ticket being served again (the villager did not hear it).
    Recall,
    /// Send the ticket to another desk: it waits there, keeping its number (so its place in the queue).
    Move(Desk),
    /// The villager was served.
    Done,
    /// The villager did not come when called.
    NoShow,
}

/// Applies `action` to a ticket of an open session.
pub fn act_on_ticket(c: &Connection, ticket_id: &str, action: TicketAction) -> Outcome<Ticket> {
    in_tx(c, |c| {
        let Some(t) = get_ticket(c, ticket_id)? else {
            return Ok(Err(Refused::TicketNotFound));
        };
        if let Err(r) = open_session_by_id(c, &t.session_id)? {
            return Ok(Err(r));
        }
        let (at, unix) = now();
        let allowed = match action {
            TicketAction::Recall | TicketAction::Done => t.status == TicketStatus::Called,
            TicketAction::Move(_) | TicketAction::NoShow => {
                matches!(t.status, TicketStatus::Called | TicketStatus::Waiting)
            }
        };
        if !allowed {
            return Ok(Err(Refused::WrongStatus(t.status)));
        }
        match action {
            TicketAction::Recall => c.execute(
                "UPDATE outreach_tickets SET recalls = recalls + 1, called_at = ?2, called_unix = ?3 WHERE id = ?1",
                params![ticket_id, at, unix],
            )?,
            TicketAction::Move(d) => c.execute(
                "UPDATE outreach_tickets SET status = 'waiting', desk = ?2 WHERE id = ?1",
                params![ticket_id, d],
            )?,
            TicketAction::Done => c.execute(
                "UPDATE outreach_tickets SET status = 'done', finished_at = ?2 WHERE id = ?1",
                params![ticket_id, at],
            )?,
            TicketAction::NoShow => c.execute(
                "UPDATE outreach_tickets SET status = 'no_show', finished_at = ?2 WHERE id = ?1",
                params![ticket_id, at],
            )?,
        };
        Ok(Ok(ticket(c, ticket_id)?))
    })
}

/// A place in the queue as the team sees it: the number and who holds it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = OutreachQueueEntry)]
pub struct QueueEntry {
    pub number: i64,
    pub ticket_id: String,
    /// The villager's name (personal data, team views only): typed when the ticket was issued, else the
    /// name in their pre-declaration, or in the draft it became.
    pub name: Option<String>,
    /// The villager's pre-declaration, while it waits to be taken as a draft.
    pub predeclaration: Option<String>,
}

/// One desk as the team sees it: the ticket being served, who holds it, and the next tickets waiting
/// for it. The public board shows only the numbers (`routes::BoardDesk`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OutreachDeskState)]
pub struct DeskState {
    pub desk: Desk,
    pub serving: Option<i64>,
    /// Id of the ticket being served.
    pub serving_ticket: Option<String>,
    /// Name of the villager being served (see [`QueueEntry::name`]).
    pub serving_name: Option<String>,
    /// Their pre-declaration, while it waits to be taken.
    pub serving_predeclaration: Option<String>,
    pub recalls: i64,
    /// The next numbers waiting for this desk (or for any desk), lowest first.
    pub next: Vec<i64>,
    /// The same tickets, with who holds them.
    pub queue: Vec<QueueEntry>,
}

/// The name to call a villager by, from a procedure's answers: the requester (the person at the desk),
/// else the subject.
fn caller_name(fields_json: Option<&str>) -> Option<String> {
    let fields: std::collections::BTreeMap<String, String> =
        serde_json::from_str(fields_json?).ok()?;
    [
        "requester.full_name",
        "subject.full_name",
        "child.full_name",
    ]
    .iter()
    .filter_map(|k| fields.get(*k))
    .map(|v| v.trim())
    .find(|v| !v.is_empty())
    .map(str::to_owned)
}

/// Ticket id → (the holder's name, their pre-declaration while it waits to be taken).
type Holders = std::collections::HashMap<String, (Option<String>, Option<String>)>;

/// Who holds each waiting or called ticket of a session: ticket id → (name, waiting pre-declaration).
/// Names are read where they are kept (the ticket, the pre-declaration, its draft), never copied.
fn holders(c: &Connection, session_id: &str) -> StoreResult<Holders> {
    let mut st = c.prepare_cached(
        "SELECT t.id, t.name, p.id, p.taken_at IS NULL, p.fields_json, d.fields_json
         FROM outreach_tickets t
         LEFT JOIN predeclarations p ON p.ticket_id = t.id
         LEFT JOIN drafts d ON d.id = p.draft_id
         WHERE t.session_id = ?1 AND t.status IN ('waiting', 'called')",
    )?;
    let rows = st.query_map([session_id], |r| {
        let id: String = r.get(0)?;
        let typed: Option<String> = r.get(1)?;
        let pid: Option<String> = r.get(2)?;
        let waiting: Option<bool> = r.get(3)?;
        let pre: Option<String> = r.get(4)?;
        let draft: Option<String> = r.get(5)?;
        let name = typed
            .or_else(|| caller_name(pre.as_deref()))
            .or_else(|| caller_name(draft.as_deref()));
        let pid = pid.filter(|_| waiting == Some(true));
        Ok((id, (name, pid)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The state of every desk of a session (team view); `next_n` waiting tickets per desk.
pub fn desks(c: &Connection, session_id: &str, next_n: usize) -> StoreResult<Vec<DeskState>> {
    let mut serving = c.prepare_cached(
        "SELECT id, number, recalls FROM outreach_tickets WHERE session_id = ?1 AND desk = ?2 AND status = 'called'
         ORDER BY called_unix DESC, number DESC LIMIT 1",
    )?;
    let mut next = c.prepare_cached(
        "SELECT number, id FROM outreach_tickets WHERE session_id = ?1 AND status = 'waiting'
           AND (desk IS NULL OR desk = ?2) ORDER BY number LIMIT ?3",
    )?;
    let who = holders(c, session_id)?;
    let holder = |id: &str| who.get(id).cloned().unwrap_or((None, None));
    let mut out = Vec::new();
    for &d in Desk::ALL {
        let s: Option<(String, i64, i64)> = serving
            .query_row(params![session_id, d], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        let queue = next
            .query_map(params![session_id, d, next_n as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|(number, ticket_id)| {
                let (name, predeclaration) = holder(&ticket_id);
                QueueEntry {
                    number,
                    ticket_id,
                    name,
                    predeclaration,
                }
            })
            .collect::<Vec<_>>();
        let (serving_name, serving_predeclaration) = match &s {
            Some((id, _, _)) => holder(id),
            None => (None, None),
        };
        out.push(DeskState {
            desk: d,
            serving: s.as_ref().map(|x| x.1),
            serving_ticket: s.as_ref().map(|x| x.0.clone()),
            serving_name,
            serving_predeclaration,
            recalls: s.map(|x| x.2).unwrap_or(0),
            next: queue.iter().map(|q| q.number).collect(),
            queue,
        });
    }
    Ok(out)
}

/// Ticket counts of a session by status.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = OutreachTicketCounts)]
pub struct TicketCounts {
    pub issued: i64,
    pub waiting: i64,
    pub called: i64,
    pub done: i64,
    pub no_show: i64,
}

pub fn ticket_counts(c: &Connection, session_id: &str) -> StoreResult<TicketCounts> {
    let mut st = c.prepare_cached(
        "SELECT status, count(*) FROM outreach_tickets WHERE session_id = ?1 GROUP BY status",
    )?;
    let mut out = TicketCounts::default();
    for row in st.query_map([session_id], |r| {
        Ok((r.get::<_, TicketStatus>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (s, n) = row?;
        out.issued += n;
        match s {
            TicketStatus::Waiting => out.waiting = n,
            TicketStatus::Called => out.called = n,
            TicketStatus::Done => out.done = n,
            TicketStatus::NoShow => out.no_show = n,
        }
    }
    Ok(out)
}

// ---------- services rendered ----------

/// Demographic facts a villager agreed to give for the session report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facts {
    pub sex: Option<Sex>,
    pub age_band: Option<AgeBand>,
    /// A group of the 1979 list.
    pub ethnicity: Option<&'static protocol::EthnicGroup>,
}

impl Facts {
    pub fn is_empty(&self) -> bool {
        self.sex.is_none() && self.age_band.is_none() && self.ethnicity.is_none()
    }
}

/// One tap: a service rendered to one villager at a desk.
#[derive(Debug, Clone)]
pub struct NewService {
    pub desk: Desk,
    pub kind: ServiceKind,
    pub note: Option<String>,
    pub ticket_id: Option<String>,
    pub consent: bool,
    pub facts: Facts,
}

/// A recorded service as the API shows it (no demographic facts: they are only counted in the report).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OutreachService)]
pub struct Service {
    pub id: String,
    pub session_id: String,
    pub desk: Desk,
    pub kind: ServiceKind,
    pub note: Option<String>,
    pub ticket_id: Option<String>,
    pub ticket_number: Option<i64>,
    pub consent: bool,
    pub recorded_by: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
}

const SERVICE_COLS: &str = "v.id, v.session_id, v.desk, v.kind, v.note, v.ticket_id, t.number, v.consent, v.recorded_by, v.recorded_at";

fn service_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Service> {
    Ok(Service {
        id: r.get(0)?,
        session_id: r.get(1)?,
        desk: r.get(2)?,
        kind: r.get(3)?,
        note: r.get(4)?,
        ticket_id: r.get(5)?,
        ticket_number: r.get(6)?,
        consent: r.get(7)?,
        recorded_by: r.get(8)?,
        recorded_at: r.get(9)?,
    })
}

pub fn get_service(c: &Connection, id: &str) -> StoreResult<Option<Service>> {
    Ok(c.query_row(
        &format!(
            "SELECT {SERVICE_COLS} FROM outreach_services v LEFT JOIN outreach_tickets t ON t.id = v.ticket_id
             WHERE v.id = ?1"
        ),
        [id],
        service_row,
    )
    .optional()?)
}

/// The latest services of a session, newest first.
pub fn list_services(c: &Connection, session_id: &str, limit: usize) -> StoreResult<Vec<Service>> {
    let mut st = c.prepare(&format!(
        "SELECT {SERVICE_COLS} FROM outreach_services v LEFT JOIN outreach_tickets t ON t.id = v.ticket_id
         WHERE v.session_id = ?1 ORDER BY v.recorded_at DESC, v.id DESC LIMIT ?2"
    ))?;
    let rows = st.query_map(params![session_id, limit as i64], service_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records one service in an open session, once per idempotency key. The caller has checked the consent
/// rule (facts only with consent); the schema checks it again.
pub fn record_service(
    c: &Connection,
    session_id: &str,
    new: &NewService,
    user_id: &str,
    key: Option<&str>,
) -> Outcome<(Service, bool)> {
    in_tx(c, |c| {
        if let Some(k) = key {
            let hit: Option<String> = c
                .query_row(
                    "SELECT id FROM outreach_services WHERE idempotency_key = ?1",
                    [k],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = hit {
                if let Some(s) = get_service(c, &id)? {
                    return Ok(Ok((s, false)));
                }
            }
        }
        if let Err(r) = open_session_by_id(c, session_id)? {
            return Ok(Err(r));
        }
        if let Some(tid) = &new.ticket_id {
            match get_ticket(c, tid)? {
                None => return Ok(Err(Refused::TicketNotFound)),
                Some(t) if t.session_id != session_id => {
                    return Ok(Err(Refused::TicketOfOtherSession))
                }
                Some(_) => {}
            }
        }
        let id = new_id();
        let f = &new.facts;
        c.execute(
            "INSERT INTO outreach_services(id, session_id, desk, kind, note, ticket_id, consent, sex, age_band,
                ethnicity, ethnicity_code, ethnicity_system, recorded_by, recorded_at, idempotency_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                id,
                session_id,
                new.desk,
                new.kind,
                new.note,
                new.ticket_id,
                new.consent,
                f.sex,
                f.age_band,
                f.ethnicity.map(|g| g.name),
                f.ethnicity.map(|g| g.code),
                f.ethnicity.map(|g| g.system),
                user_id,
                clock::now_rfc3339(),
                key
            ],
        )
        .map_err(StoreError::classify)?;
        Ok(Ok((
            get_service(c, &id)?.ok_or_else(|| StoreError::Corrupt("service vanished".into()))?,
            true,
        )))
    })
}

/// Undoes a tap: removes service `id` if it is the latest one `user_id` recorded in its session and that
/// session is still open. Refused otherwise (an older tap cannot be silently rewritten).
pub fn undo_service(c: &Connection, id: &str, user_id: &str) -> Outcome<Service> {
    in_tx(c, |c| {
        let Some(s) = get_service(c, id)? else {
            return Ok(Err(Refused::ServiceNotFound));
        };
        if let Err(r) = open_session_by_id(c, &s.session_id)? {
            return Ok(Err(r));
        }
        let latest: Option<String> = c
            .query_row(
                "SELECT id FROM outreach_services WHERE session_id = ?1 AND recorded_by = ?2
                 ORDER BY recorded_at DESC, id DESC LIMIT 1",
                params![s.session_id, user_id],
                |r| r.get(0),
            )
            .optional()?;
        if latest.as_deref() != Some(id) {
            return Ok(Err(Refused::NotLatestTap));
        }
        c.execute("DELETE FROM outreach_services WHERE id = ?1", [id])?;
        Ok(Ok(s))
    })
}

// ---------- the session report ----------

/// The villagers of a session, each counted once. A villager with a ticket is counted by the ticket; work
/// recorded without one is counted as the fewest villagers it can be.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = OutreachVillagers)]
pub struct Villagers {
    /// Villagers served: `with_ticket + without_ticket`.
    pub served: i64,
    /// Tickets whose holder was served: called to a desk (`called`, `done`), or with work done for them
    /// (a service tap linked to the ticket, a sealed dossier from their pre-declaration, or a dossier
    /// sealed at the civil-status desk while the ticket was served there).
    pub with_ticket: i64,
    /// Villagers served without a ticket, at least: each sealed dossier not linked to a ticket is one
    /// villager (a correction or cancellation of a dossier of the same session is that dossier's
    /// villager), and a villager gets a service once, so N unlinked taps of one kind at one desk are N
    /// villagers; work of different kinds or desks may be for the same villagers, so this is the
    /// largest of these counts.
    pub without_ticket: i64,
    /// Tickets not answered (`no_show`), with nothing done for their holder. (Tickets still waiting to be
    /// called are `tickets.waiting`: a waiting ticket may already count as served, e.g. when the team took
    /// its pre-declaration and sealed the dossier; it is not a no-show when the session closes.)
    pub no_show: i64,
}

/// Who a sealed dossier of a session was for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    Ticket(String),
    /// A villager without a ticket, named by their first dossier of the session.
    NoTicket(String),
}

/// The tickets of a session whose holder was served (see [`Villagers::with_ticket`]), and the number
/// of villagers whose dossiers were sealed without a ticket.
fn served_tickets(
    c: &Connection,
    session_id: &str,
) -> StoreResult<(std::collections::HashSet<String>, i64)> {
    use std::collections::{HashMap, HashSet};
    struct T {
        id: String,
        status: TicketStatus,
        desk: Option<Desk>,
        first_called: Option<i64>,
        finished: Option<i64>,
    }
    let tickets = {
        let mut st = c.prepare_cached(
            "SELECT id, status, desk, first_called_unix, finished_at FROM outreach_tickets WHERE session_id = ?1",
        )?;
        let rows = st.query_map([session_id], |r| {
            Ok(T {
                id: r.get(0)?,
                status: r.get(1)?,
                desk: r.get(2)?,
                first_called: r.get(3)?,
                finished: r
                    .get::<_, Option<String>>(4)?
                    .as_deref()
                    .and_then(clock::unix_of),
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let mut served: HashSet<String> = tickets
        .iter()
        .filter(|t| matches!(t.status, TicketStatus::Called | TicketStatus::Done))
        .map(|t| t.id.clone())
        .collect();
    {
        let mut st = c.prepare_cached(
            "SELECT DISTINCT ticket_id FROM outreach_services WHERE session_id = ?1 AND ticket_id IS NOT NULL",
        )?;
        for id in st.query_map([session_id], |r| r.get::<_, String>(0))? {
            served.insert(id?);
        }
    }
    let ours: HashSet<&str> = tickets.iter().map(|t| t.id.as_str()).collect();
    // The ticket being served at the civil-status desk at unix time `at`, if any (the latest called). Times
    // are whole seconds: a dossier sealed in the second a ticket was called is the previous villager's,
    // one sealed in the second it was finished is its holder's (sealing comes before calling the next).
    let at_civil_status = |at: i64| {
        tickets
            .iter()
            .filter(|t| t.desk == Some(Desk::CivilStatus))
            .filter(|t| t.first_called.is_some_and(|f| f < at))
            .filter(|t| t.finished.is_none_or(|f| f >= at))
            .max_by_key(|t| t.first_called)
            .map(|t| t.id.clone())
    };
    let mut holder_of: HashMap<String, Holder> = HashMap::new();
    let mut no_ticket = 0;
    let mut st = c.prepare_cached(
        "SELECT r.dossier_id, r.sealed_at, r.refers_to, p.ticket_id FROM receipts r
         LEFT JOIN predeclarations p ON p.draft_id = r.dossier_id
         WHERE r.session_id = ?1 ORDER BY r.sealed_at, r.dossier_id",
    )?;
    let rows = st.query_map([session_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    for row in rows {
        let (dossier, sealed_at, refers_to, predeclared) = row?;
        let holder = predeclared
            .filter(|t| ours.contains(t.as_str()))
            .map(Holder::Ticket)
            .or_else(|| refers_to.as_ref().and_then(|r| holder_of.get(r)).cloned())
            .or_else(|| {
                clock::unix_of(&sealed_at)
                    .and_then(at_civil_status)
                    .map(Holder::Ticket)
            })
            .unwrap_or_else(|| {
                no_ticket += 1;
                Holder::NoTicket(dossier.clone())
            });
        if let Holder::Ticket(t) = &holder {
            served.insert(t.clone());
        }
        holder_of.insert(dossier, holder);
    }
    Ok((served, no_ticket))
}

/// Counts the villagers of a session (see [`Villagers`]).
pub fn villagers(c: &Connection, session_id: &str) -> StoreResult<Villagers> {
    let (served, dossiers_without_ticket) = served_tickets(c, session_id)?;
    let taps_without_ticket: i64 = c.query_row(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM outreach_services
         WHERE session_id = ?1 AND ticket_id IS NULL GROUP BY desk, kind)",
        [session_id],
        |r| r.get(0),
    )?;
    let mut v = Villagers {
        with_ticket: served.len() as i64,
        without_ticket: dossiers_without_ticket.max(taps_without_ticket),
        ..Villagers::default()
    };
    v.served = v.with_ticket + v.without_ticket;
    let mut st = c.prepare_cached(
        "SELECT id FROM outreach_tickets WHERE session_id = ?1 AND status = 'no_show'",
    )?;
    for id in st.query_map([session_id], |r| r.get::<_, String>(0))? {
        if !served.contains(&id?) {
            v.no_show += 1;
        }
    }
    Ok(v)
}

/// A count under a key (a service kind, desk, sex, age band or ethnic group).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = OutreachCount)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// The session report: what was done, for whom (consented facts only), how long villagers waited.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = OutreachReport)]
pub struct Report {
    pub session: Session,
    /// Tickets by status, as they stand.
    pub tickets: TicketCounts,
    /// The villagers served, each once (tickets and work without a ticket), and those not answered.
    pub villagers: Villagers,
    /// Median seconds between a ticket's issue and its first call, over called tickets.
    pub median_wait_secs: Option<i64>,
    pub services_total: i64,
    pub by_kind: Vec<Count>,
    pub by_desk: Vec<Count>,
    /// Services with the villager's consent to demographic facts.
    pub consented: i64,
    pub by_sex: Vec<Count>,
    pub by_age_band: Vec<Count>,
    /// Keyed by the 1979 code; `name` gives the group.
    pub by_ethnicity: Vec<EthnicityCount>,
    /// Dossiers sealed from drafts started in this session, by procedure id, and by disposition
    /// (`new`, `refused`, `supersedes`, `voids`).
    pub dossiers_by_procedure: Vec<Count>,
    pub dossiers_by_disposition: Vec<Count>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = OutreachEthnicityCount)]
pub struct EthnicityCount {
    pub code: String,
    pub name: String,
    pub system: String,
    pub count: i64,
}

fn counts(
    c: &Connection,
    session_id: &str,
    col: &str,
    consented_only: bool,
) -> StoreResult<Vec<Count>> {
    let filter = if consented_only {
        "AND consent = 1"
    } else {
        ""
    };
    let mut st = c.prepare(&format!(
        "SELECT {col}, count(*) FROM outreach_services WHERE session_id = ?1 AND {col} IS NOT NULL {filter}
         GROUP BY {col} ORDER BY count(*) DESC, {col}"
    ))?;
    let rows = st.query_map([session_id], |r| {
        Ok(Count {
            key: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Median of whole seconds (the lower-middle mean rounded down for an even count).
fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

pub fn report(c: &Connection, session_id: &str) -> StoreResult<Option<Report>> {
    let Some(session) = get_session(c, session_id)? else {
        return Ok(None);
    };
    let waits = {
        let mut st = c.prepare(
            "SELECT first_called_unix - created_unix FROM outreach_tickets
             WHERE session_id = ?1 AND first_called_unix IS NOT NULL",
        )?;
        let rows = st.query_map([session_id], |r| r.get::<_, i64>(0))?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    let (total, consented): (i64, i64) = c.query_row(
        "SELECT count(*), coalesce(sum(consent), 0) FROM outreach_services WHERE session_id = ?1",
        [session_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let by_ethnicity = {
        let mut st = c.prepare(
            "SELECT ethnicity_code, ethnicity, ethnicity_system, count(*) FROM outreach_services
             WHERE session_id = ?1 AND consent = 1 AND ethnicity_code IS NOT NULL
             GROUP BY ethnicity_system, ethnicity_code ORDER BY count(*) DESC, ethnicity_code",
        )?;
        let rows = st.query_map([session_id], |r| {
            Ok(EthnicityCount {
                code: r.get(0)?,
                name: r.get(1)?,
                system: r.get(2)?,
                count: r.get(3)?,
            })
        })?;
        rows.collect::<Result<Vec<_>, _>>()?
    };
    Ok(Some(Report {
        tickets: ticket_counts(c, session_id)?,
        villagers: villagers(c, session_id)?,
        median_wait_secs: median(waits),
        services_total: total,
        by_kind: counts(c, session_id, "kind", false)?,
        by_desk: counts(c, session_id, "desk", false)?,
        consented,
        by_sex: counts(c, session_id, "sex", true)?,
        by_age_band: counts(c, session_id, "age_band", true)?,
        by_ethnicity,
        dossiers_by_procedure: dossier_counts(c, session_id, "procedure_id")?,
        dossiers_by_disposition: dossier_counts(c, session_id, "disposition")?,
        session,
    }))
}

/// Sealed dossiers of a session grouped by one column of `receipts` (a fixed name, never user input).
fn dossier_counts(c: &Connection, session_id: &str, column: &str) -> StoreResult<Vec<Count>> {
    let mut st = c.prepare(&format!(
        "SELECT {column}, count(*) FROM receipts WHERE session_id = ?1 GROUP BY {column} ORDER BY {column}"
    ))?;
    let rows = st.query_map([session_id], |r| {
        Ok(Count {
            key: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Active users of this hub who can join a session team (officers, volunteers, admins).
pub fn team_candidates(c: &Connection) -> StoreResult<Vec<UserOut>> {
    let mut st = c.prepare(
        "SELECT id, name, role FROM users WHERE disabled = 0 AND role IN ('admin','officer','volunteer')
         ORDER BY name",
    )?;
    let rows = st.query_map([], |r| {
        let role: String = r.get(2)?;
        Ok(UserOut {
            id: r.get(0)?,
            name: r.get(1)?,
            role: Role::parse(&role).unwrap_or(Role::Volunteer),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_enums_are_the_wire_values() {
        fn documented<T: utoipa::PartialSchema>() -> Vec<serde_json::Value> {
            serde_json::to_value(T::schema()).unwrap()["enum"]
                .as_array()
                .unwrap()
                .clone()
        }
        fn wire<T: Serialize>(all: &[T]) -> Vec<serde_json::Value> {
            all.iter()
                .map(|v| serde_json::to_value(v).unwrap())
                .collect()
        }
        assert_eq!(documented::<Desk>(), wire(Desk::ALL));
        assert_eq!(documented::<VenueKind>(), wire(VenueKind::ALL));
        assert_eq!(documented::<TicketSource>(), wire(TicketSource::ALL));
        assert_eq!(documented::<TicketStatus>(), wire(TicketStatus::ALL));
        assert_eq!(documented::<ServiceKind>(), wire(ServiceKind::ALL));
        assert_eq!(documented::<Sex>(), wire(Sex::ALL));
        assert_eq!(documented::<AgeBand>(), wire(AgeBand::ALL));
        assert_eq!(documented::<Desk>()[0], "civil_status");
    }

    fn db() -> (tempfile::TempDir, crate::shared::store::Db, String) {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::shared::store::Db::open(&dir.path().join("hub.sqlite")).unwrap();
        let uid = db
            .call_sync(|c| {
                Ok(crate::shared::auth::store::insert_user(c, "an", Role::Officer, "x")?.id)
            })
            .unwrap();
        (dir, db, uid)
    }

    fn new_session() -> NewSession {
        NewSession {
            hamlet: "Thôn Bù Lư".into(),
            venue_kind: VenueKind::CulturalHouse,
            venue_name: "Nhà văn hoá thôn".into(),
            commune_code: None,
            date: "2026-11-23".into(),
            team: vec![],
        }
    }

    #[test]
    fn tickets_number_per_session_and_calls_take_the_lowest_waiting() {
        let (_d, db, uid) = db();
        db.call_sync(|c| {
            assert!(current_session(c)?.is_none());
            let s = open_session(c, &new_session(), &uid)?.unwrap();
            assert!(matches!(
                open_session(c, &new_session(), &uid)?,
                Err(Refused::AlreadyOpen(_))
            ));
            assert_eq!(current_session(c)?.unwrap().id, s.id);
            let t1 = issue_ticket(c, &s.id, Some("Điểu Thị Lan"), TicketSource::Desk)?;
            let t2 = issue_ticket(c, &s.id, None, TicketSource::SelfService)?;
            assert_eq!((t1.number, t2.number), (1, 2));
            assert_eq!(t1.name.as_deref(), Some("Điểu Thị Lan"));
            // Moving ticket 1 to the police desk keeps it away from civil status.
            act_on_ticket(c, &t1.id, TicketAction::Move(Desk::Police))?.unwrap();
            let called = call_next(c, &s.id, Desk::CivilStatus, Some("k1"))?
                .unwrap()
                .unwrap();
            assert_eq!(called.number, 2);
            // A retry with the same key answers the same ticket and calls nobody else.
            let again = call_next(c, &s.id, Desk::CivilStatus, Some("k1"))?
                .unwrap()
                .unwrap();
            assert_eq!(again.id, called.id);
            let p = call_next(c, &s.id, Desk::Police, None)?.unwrap().unwrap();
            assert_eq!(p.number, 1);
            assert!(call_next(c, &s.id, Desk::Telecom, None)?.unwrap().is_none());
            let counts = ticket_counts(c, &s.id)?;
            assert_eq!((counts.issued, counts.called), (2, 2));
            close_session(c, &s.id, &uid)?.unwrap();
            assert!(list_tickets(c, &s.id)?.iter().all(|t| t.name.is_none()));
            assert!(issue_ticket(c, &s.id, None, TicketSource::Desk).is_err());
            // A new session starts again at 1.
            let s2 = open_session(c, &new_session(), &uid)?.unwrap();
            assert_eq!(issue_ticket(c, &s2.id, None, TicketSource::Desk)?.number, 1);
            Ok(())
        })
        .unwrap();
    }

    /// A receipt row as sealing writes it (the columns the counts read).
    fn sealed(
        c: &Connection,
        session_id: &str,
        dossier: &str,
        at: &str,
        disposition: &str,
        refers_to: Option<&str>,
    ) -> StoreResult<()> {
        c.execute(
            "INSERT INTO receipts(dossier_id, code, procedure_id, procedure_version, sealed_at, sealed_by,
                disposition, refers_to, session_id)
             VALUES (?1, ?1, 'marital-status-certificate', 1, ?2, 'u', ?3, ?4, ?5)",
            params![dossier, at, disposition, refers_to, session_id],
        )?;
        Ok(())
    }

    #[test]
    fn villagers_are_counted_once_whatever_was_recorded_for_them() {
        let (_d, db, uid) = db();
        db.call_sync(|c| {
            let s = open_session(c, &new_session(), &uid)?.unwrap();
            let t1 = issue_ticket(c, &s.id, None, TicketSource::Desk)?;
            let t2 = issue_ticket(c, &s.id, None, TicketSource::Desk)?;
            // Ticket 1 at the civil-status desk from 08:00 to 08:20.
            c.execute(
                "UPDATE outreach_tickets SET status = 'done', desk = 'civil_status',
                    first_called_unix = ?2, finished_at = '2026-11-23T08:20:00Z' WHERE id = ?1",
                params![t1.id, clock::unix_of("2026-11-23T08:00:00Z").unwrap()],
            )?;
            // Sealed while ticket 1 was served: its dossier, then a correction of it (same villager).
            sealed(c, &s.id, "d1", "2026-11-23T08:10:00Z", "new", None)?;
            sealed(
                c,
                &s.id,
                "d2",
                "2026-11-23T08:15:00Z",
                "supersedes",
                Some("d1"),
            )?;
            // Sealed in the second ticket 1 finished: still its villager's. Sealed in the second it was
            // called, and later: villagers without a ticket; the cancellation of one's dossier is the same
            // villager.
            sealed(c, &s.id, "d3", "2026-11-23T08:20:00Z", "refused", None)?;
            sealed(c, &s.id, "d0", "2026-11-23T08:00:00Z", "refused", None)?;
            sealed(c, &s.id, "d4", "2026-11-23T09:00:00Z", "new", None)?;
            sealed(c, &s.id, "d5", "2026-11-23T09:05:00Z", "voids", Some("d4"))?;
            // A correction, in this session, of a dossier sealed elsewhere: one more villager.
            sealed(
                c,
                &s.id,
                "d6",
                "2026-11-23T09:10:00Z",
                "supersedes",
                Some("elsewhere"),
            )?;
            let v = villagers(c, &s.id)?;
            assert_eq!(
                v,
                Villagers {
                    served: 4,
                    with_ticket: 1,
                    without_ticket: 3,
                    no_show: 0
                }
            );
            // Taps without a ticket: at least as many villagers as taps of one kind at one desk.
            let tap = |desk, kind| NewService {
                desk,
                kind,
                note: None,
                ticket_id: None,
                consent: false,
                facts: Facts::default(),
            };
            for (d, k) in [
                (Desk::Police, ServiceKind::Vneid),
                (Desk::Police, ServiceKind::Account),
                (Desk::Telecom, ServiceKind::Sim),
                (Desk::Telecom, ServiceKind::Sim),
                (Desk::Telecom, ServiceKind::Sim),
                (Desk::Telecom, ServiceKind::Sim),
            ] {
                record_service(c, &s.id, &tap(d, k), &uid, None)?.unwrap();
            }
            assert_eq!(villagers(c, &s.id)?.without_ticket, 4);
            // A tap linked to ticket 2: its holder was served, though never called.
            let mut linked = tap(Desk::Guidance, ServiceKind::Guidance);
            linked.ticket_id = Some(t2.id.clone());
            record_service(c, &s.id, &linked, &uid, None)?.unwrap();
            let v = villagers(c, &s.id)?;
            assert_eq!((v.served, v.with_ticket), (6, 2));
            // Closing makes it done, not a no-show.
            close_session(c, &s.id, &uid)?.unwrap();
            assert_eq!(get_ticket(c, &t2.id)?.unwrap().status, TicketStatus::Done);
            assert_eq!(villagers(c, &s.id)?.no_show, 0);
            Ok(())
        })
        .unwrap();
    }
}
