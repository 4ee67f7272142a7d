//! Casework storage: where each received dossier stands (`dossier_status`), its deadline, the holiday list.
//!
//! A received dossier with no `dossier_status` row is `received`. Rows are created lazily: on a status
//! change, and in bulk by [`ensure_rows`] (for every dossier received since the last call, tracked by a
//! rowid cursor in `meta`) before the work lists are read, so overdue / due-soon views see every dossier
//! without scanning them all on each request.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use time::Date;

use super::deadline::{self, Holidays, Rules};
use crate::shared::clock;
use crate::shared::store::{meta_get, meta_set, StoreError, StoreResult};

/// Every status code, in the order of the workflow.
pub const STATUSES: &[&str] = &[
    "received",
    "in_progress",
    "needs_papers",
    "registered",
    "ready_for_pickup",
    "handed_over",
    "rejected",
];

/// Statuses after which nothing more happens.
pub const FINAL: &[&str] = &["handed_over", "rejected"];

/// The 3-in-1's procedure id (its receipts after 15:00 count from the next working day: the rule is
/// `shared::deadline::counting`).
pub const CUTOFF_PROCEDURE: &str = "birth-residence-insurance";

const CURSOR_KEY: &str = "casework.status_rows_rowid";

/// The status of dossier `dossier_id`: its `dossier_status` row, or `received` when it has none.
pub fn status_of(c: &Connection, dossier_id: &str) -> StoreResult<String> {
    Ok(c.query_row(
        "SELECT status FROM dossier_status WHERE dossier_id = ?1",
        [dossier_id],
        |r| r.get::<_, String>(0),
    )
    .optional()?
    .unwrap_or_else(|| "received".to_owned()))
}

/// Where the office keeps the deadline rules it was last served with (`--time-limit`, the calendar with
/// `--holidays` applied), so every request and the command line count alike.
const RULES_KEY: &str = "casework.deadline_rules";

/// The office's deadline rules: those it was last served with (the built-in calendar and the
/// catalogue's limits before the first serve), with the `holidays` table's days off added.
pub fn rules(c: &Connection) -> StoreResult<Rules> {
    let mut r = meta_get(c, RULES_KEY)?
        .and_then(|s| Rules::from_json(&s).ok())
        .unwrap_or_default();
    let mut st = c.prepare("SELECT date, name FROM holidays")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut days = Vec::new();
    for row in rows {
        let (d, name) = row?;
        if let Some(d) = deadline::parse_date(&d) {
            days.push((d, name));
        }
    }
    r.calendar = r.calendar.with_days_off(days);
    Ok(r)
}

/// The calendar deadlines are counted with: the served rules' calendar plus the holiday list.
pub fn holidays(c: &Connection) -> StoreResult<Holidays> {
    Ok(rules(c)?.calendar)
}

/// Keeps `served` (this serve's `--time-limit` and calendar) as the office's rules; when they differ from
/// the ones kept, recomputes the deadlines of every open dossier. Returns how many deadlines moved.
pub fn apply_rules(c: &mut Connection, served: &Rules) -> StoreResult<usize> {
    let json = served.to_json();
    if meta_get(c, RULES_KEY)?.as_deref() == Some(json.as_str()) {
        return Ok(0);
    }
    let tx = crate::shared::store::write_tx(c)?;
    meta_set(&tx, RULES_KEY, &json)?;
    let moved = recompute_open(&tx)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(moved)
}

/// The limit in working days of a procedure version under `rules` (the catalogue's limits with the
/// office's `--time-limit` applied), normal or extended.
pub fn limit_days(rules: &Rules, procedure_id: &str, version: i64, extended: bool) -> u32 {
    rules
        .limit(procedure_id, u32::try_from(version).unwrap_or(0))
        .days(extended)
}

/// Day 1 of the count of a dossier of `procedure_id` received at `received_at` (RFC 3339): the sealing
/// time carried in the sealed dossier — at an outreach session the officer receives the dossier there,
/// not at the office's import (`shared::deadline`).
pub fn received_on_of(received_at: &str, procedure_id: &str, hol: &Holidays) -> Date {
    let t =
        time::OffsetDateTime::parse(received_at, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| clock::now_utc());
    deadline::first_day(t, deadline::counting(procedure_id), hol)
}

/// Creates the missing `received` rows (with received_on / due_on) for dossiers received since the last
/// call. Cheap when nothing new arrived.
pub fn ensure_rows(c: &mut Connection) -> StoreResult<usize> {
    let last: i64 = meta_get(c, CURSOR_KEY)?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let max: Option<i64> =
        c.query_row("SELECT max(rowid) FROM received_dossiers", [], |r| r.get(0))?;
    let Some(max) = max.filter(|m| *m > last) else {
        return Ok(0);
    };
    let tx = crate::shared::store::write_tx(c)?;
    let rules = rules(&tx)?;
    let hol = &rules.calendar;
    let now = clock::now_rfc3339();
    let mut n = 0;
    {
        let mut sel = tx.prepare(
            "SELECT dossier_id, procedure_id, procedure_version, sealed_at FROM received_dossiers
             WHERE rowid > ?1 AND rowid <= ?2",
        )?;
        let mut ins = tx.prepare(
            "INSERT OR IGNORE INTO dossier_status(dossier_id, status, received_on, due_on, updated_at)
             VALUES (?1, 'received', ?2, ?3, ?4)",
        )?;
        let rows = sel.query_map(params![last, max], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        for row in rows {
            let (id, proc_id, version, sealed_at) = row?;
            let on = received_on_of(&sealed_at, &proc_id, hol);
            let due = deadline::due_on(on, limit_days(&rules, &proc_id, version, false), hol);
            n += ins.execute(params![
                id,
                deadline::fmt_date(on),
                deadline::fmt_date(due),
                now
            ])?;
        }
    }
    meta_set(&tx, CURSOR_KEY, &max.to_string())?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(n)
}

/// Recomputes received_on / due_on of every dossier not yet closed (after the holiday list changed).
/// Runs inside the caller's transaction. Returns how many rows changed.
pub fn recompute_open(c: &Connection) -> StoreResult<usize> {
    let rules = rules(c)?;
    let hol = &rules.calendar;
    let mut sel = c.prepare(
        "SELECT s.dossier_id, d.procedure_id, d.procedure_version, d.sealed_at, s.extended, s.due_on
         FROM dossier_status s JOIN received_dossiers d ON d.dossier_id = s.dossier_id
         WHERE s.closed_at IS NULL",
    )?;
    let mut upd =
        c.prepare("UPDATE dossier_status SET received_on = ?2, due_on = ?3 WHERE dossier_id = ?1")?;
    let rows = sel.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, bool>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut n = 0;
    for row in rows {
        let (id, proc_id, version, sealed_at, extended, old_due) = row?;
        let on = received_on_of(&sealed_at, &proc_id, hol);
        let due = deadline::fmt_date(deadline::due_on(
            on,
            limit_days(&rules, &proc_id, version, extended),
            hol,
        ));
        if due != old_due {
            n += 1;
        }
        upd.execute(params![id, deadline::fmt_date(on), due])?;
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------------------
// Work lists
// ---------------------------------------------------------------------------------------------------------

/// Which work list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    /// Open work past its due day.
    Overdue,
    /// Open work due today or on the next working day (and not overdue).
    DueSoon,
    /// All open work (not handed over or rejected).
    Open,
    /// Dossiers in one status.
    Status(String),
}

impl View {
    pub fn parse(s: &str) -> Option<View> {
        match s {
            "overdue" => Some(View::Overdue),
            "due_soon" => Some(View::DueSoon),
            "open" | "" => Some(View::Open),
            _ => s
                .strip_prefix("status:")
                .filter(|x| STATUSES.contains(x))
                .map(|x| View::Status(x.to_owned())),
        }
    }
}

/// One row of a work list.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WorkRow {
    pub dossier_id: String,
    pub receipt_code: String,
    pub title: String,
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: protocol::ProcedureRef,
    #[schema(format = DateTime)]
    pub received_at: String,
    #[schema(value_type = super::status::CaseworkStatus)]
    pub status: String,
    #[schema(format = Date)]
    pub received_on: String,
    #[schema(format = Date)]
    pub due_on: String,
    pub overdue: bool,
    /// Working days from today until due_on (negative when overdue).
    pub working_days_left: i64,
    pub extended: bool,
}

/// Dossiers that need no casework: refused / voiding ones, ones replaced by a later dossier, merged-away
/// duplicates. A SQL condition on `d` (received_dossiers) and `s` (dossier_status).
pub const COUNTS_AS_WORK: &str = "+d.disposition IN ('new', 'supersedes')
    AND NOT EXISTS (SELECT 1 FROM received_dossiers n WHERE n.refers_to = d.dossier_id)
    AND NOT EXISTS (SELECT 1 FROM duplicate_decisions m WHERE m.dossier_a = d.dossier_id
                    AND m.decision = 'merge' AND m.kept <> d.dossier_id)
    AND NOT EXISTS (SELECT 1 FROM duplicate_decisions m WHERE m.dossier_b = d.dossier_id
                    AND m.decision = 'merge' AND m.kept <> d.dossier_id)";

/// Today (Vietnam) and the last day that is "due soon" (the next working day).
pub fn today_and_soon(hol: &Holidays) -> (Date, Date) {
    let today = clock::today_vn();
    (today, deadline::next_working_day(today, hol))
}

/// One page of a work list, ordered by due day, with the cursor of the next page.
pub fn work(
    c: &mut Connection,
    view: &View,
    procedure: Option<&str>,
    limit: usize,
    cursor: Option<&str>,
) -> StoreResult<(Vec<WorkRow>, Option<String>)> {
    ensure_rows(c)?;
    let hol = holidays(c)?;
    let (today, soon) = today_and_soon(&hol);
    let today_s = deadline::fmt_date(today);
    let soon_s = deadline::fmt_date(soon);
    let (cur_due, cur_id) = cursor
        .and_then(|c| c.split_once('|'))
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap_or_default();
    let view_sql = match view {
        View::Overdue => "s.closed_at IS NULL AND s.due_on < ?1",
        View::DueSoon => "s.closed_at IS NULL AND s.due_on >= ?1 AND s.due_on <= ?2",
        View::Open => "s.closed_at IS NULL",
        View::Status(_) => "s.status = ?3",
    };
    let status = match view {
        View::Status(s) => s.clone(),
        _ => String::new(),
    };
    let sql = format!(
        "SELECT s.dossier_id, d.receipt_code, d.title, d.procedure_id, d.procedure_version, d.received_at,
                s.status, s.received_on, s.due_on, s.extended, s.closed_at
         FROM dossier_status s JOIN received_dossiers d ON d.dossier_id = s.dossier_id
         WHERE {view_sql} AND {COUNTS_AS_WORK}
           AND (?4 IS NULL OR d.procedure_id = ?4)
           AND (?5 = '' OR s.due_on > ?5 OR (s.due_on = ?5 AND s.dossier_id > ?6))
         ORDER BY s.due_on, s.dossier_id LIMIT ?7"
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(
        params![
            today_s,
            soon_s,
            status,
            procedure,
            cur_due,
            cur_id,
            limit as i64 + 1
        ],
        |r| {
            Ok((
                WorkRow {
                    dossier_id: r.get(0)?,
                    receipt_code: r.get(1)?,
                    title: r.get(2)?,
                    procedure: protocol::ProcedureRef {
                        id: r.get(3)?,
                        version: r.get(4)?,
                    },
                    received_at: r.get(5)?,
                    status: r.get(6)?,
                    received_on: r.get(7)?,
                    due_on: r.get(8)?,
                    extended: r.get(9)?,
                    overdue: false,
                    working_days_left: 0,
                },
                r.get::<_, Option<String>>(10)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (mut w, closed) = row?;
        if let Some(due) = deadline::parse_date(&w.due_on) {
            w.overdue = closed.is_none() && due < today;
            w.working_days_left = deadline::working_days_between(today, due, &hol);
        }
        out.push(w);
    }
    let next = if out.len() > limit {
        out.truncate(limit);
        out.last().map(|w| format!("{}|{}", w.due_on, w.dossier_id))
    } else {
        None
    };
    Ok((out, next))
}

/// Counts for the work-list badges: `overdue`, `due_soon`, `open`, and `status:<s>` for every status.
/// Counted over `dossier_status` (small rows, one pass), minus the few dossiers that need no casework
/// (refused, voiding, replaced, merged away), found through their indexes — never a per-row subquery over
/// all dossiers.
pub fn work_counts(
    c: &mut Connection,
    procedure: Option<&str>,
) -> StoreResult<BTreeMap<String, i64>> {
    ensure_rows(c)?;
    let hol = holidays(c)?;
    let (today, soon) = today_and_soon(&hol);
    let sums = "s.status, count(*),
                sum(s.closed_at IS NULL AND s.due_on < ?1),
                sum(s.closed_at IS NULL AND s.due_on >= ?1 AND s.due_on <= ?2),
                sum(s.closed_at IS NULL)";
    // With a procedure: joined to the dossiers of that procedure; without: `?3 IS NULL` (always true).
    let proc_join = if procedure.is_some() {
        "JOIN received_dossiers d ON d.dossier_id = s.dossier_id AND d.procedure_id = ?3 WHERE 1"
    } else {
        "WHERE ?3 IS NULL"
    };
    let all = format!("SELECT {sums} FROM dossier_status s {proc_join} GROUP BY s.status");
    let excluded = format!(
        "SELECT {sums} FROM dossier_status s {proc_join}
           AND s.dossier_id IN (
             SELECT dossier_id FROM received_dossiers WHERE disposition IN ('refused', 'voids')
             UNION SELECT refers_to FROM received_dossiers WHERE refers_to IS NOT NULL
             UNION SELECT dossier_id FROM merged_away)
         GROUP BY s.status"
    );
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    for k in ["overdue", "due_soon", "open"] {
        out.insert(k.into(), 0);
    }
    for s in STATUSES {
        out.insert(format!("status:{s}"), 0);
    }
    let args = params![
        deadline::fmt_date(today),
        deadline::fmt_date(soon),
        procedure
    ];
    if procedure.is_none() {
        // Index-only counts over dossier_status (the partial index of open rows by due day).
        let one = |sql: &str, a: &[&dyn rusqlite::ToSql]| -> StoreResult<i64> {
            Ok(c.query_row(sql, a, |r| r.get(0))?)
        };
        let (t, s2) = (deadline::fmt_date(today), deadline::fmt_date(soon));
        out.insert(
            "overdue".into(),
            one(
                "SELECT count(*) FROM dossier_status WHERE closed_at IS NULL AND due_on < ?1",
                &[&t],
            )?,
        );
        out.insert(
            "due_soon".into(),
            one(
                "SELECT count(*) FROM dossier_status WHERE closed_at IS NULL AND due_on >= ?1 AND due_on <= ?2",
                &[&t, &s2],
            )?,
        );
        out.insert(
            "open".into(),
            one(
                "SELECT count(*) FROM dossier_status WHERE closed_at IS NULL AND due_on > ''",
                &[],
            )?,
        );
        let mut st = c.prepare("SELECT status, count(*) FROM dossier_status GROUP BY status")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            out.insert(format!("status:{status}"), n);
        }
    }
    let parts = if procedure.is_none() {
        vec![(excluded, -1i64)]
    } else {
        vec![(all, 1i64), (excluded, -1i64)]
    };
    for (sql, sign) in parts {
        let mut st = c.prepare(&sql)?;
        let rows = st.query_map(args, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            ))
        })?;
        for row in rows {
            let (status, all, overdue, soon, open) = row?;
            *out.entry(format!("status:{status}")).or_default() += sign * all;
            *out.entry("overdue".into()).or_default() += sign * overdue;
            *out.entry("due_soon".into()).or_default() += sign * soon;
            *out.entry("open".into()).or_default() += sign * open;
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------------
// Holidays
// ---------------------------------------------------------------------------------------------------------

/// One day off.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Holiday {
    #[schema(format = Date)]
    pub date: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub added_at: String,
}

pub fn list_holidays(c: &Connection) -> StoreResult<Vec<Holiday>> {
    let mut st = c.prepare("SELECT date, name, added_at FROM holidays ORDER BY date")?;
    let rows = st.query_map([], |r| {
        Ok(Holiday {
            date: r.get(0)?,
            name: r.get(1)?,
            added_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Adds (or renames) holidays and recomputes open deadlines, all in one transaction, each audited.
/// Returns (days added or renamed, deadlines that moved).
pub fn add_holidays(
    c: &mut Connection,
    actor: crate::shared::audit::Actor<'_>,
    days: &[(Date, String)],
) -> StoreResult<(usize, usize)> {
    ensure_rows(c)?;
    let tx = crate::shared::store::write_tx(c)?;
    let now = clock::now_rfc3339();
    let mut n = 0;
    for (d, name) in days {
        let ds = deadline::fmt_date(*d);
        let old: Option<String> = tx
            .query_row("SELECT name FROM holidays WHERE date = ?1", [&ds], |r| {
                r.get(0)
            })
            .optional()?;
        if old.as_deref() == Some(name.as_str()) {
            continue;
        }
        tx.execute(
            "INSERT INTO holidays(date, name, added_by, added_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(date) DO UPDATE SET name = excluded.name, added_by = excluded.added_by,
                 added_at = excluded.added_at",
            params![ds, name, actor.id, now],
        )?;
        crate::shared::audit::append(
            &tx,
            actor,
            &crate::shared::audit::Event {
                action: "holiday_added",
                detail: serde_json::json!({"date": ds, "name": name, "previous_name": old}),
                ..Default::default()
            },
        )?;
        n += 1;
    }
    let moved = if n > 0 { recompute_open(&tx)? } else { 0 };
    tx.commit().map_err(StoreError::classify)?;
    Ok((n, moved))
}

/// Removes a holiday (audited) and recomputes open deadlines. `None` when it was not listed.
pub fn remove_holiday(
    c: &mut Connection,
    actor: crate::shared::audit::Actor<'_>,
    day: Date,
) -> StoreResult<Option<usize>> {
    ensure_rows(c)?;
    let tx = crate::shared::store::write_tx(c)?;
    let ds = deadline::fmt_date(day);
    let name: Option<String> = tx
        .query_row("SELECT name FROM holidays WHERE date = ?1", [&ds], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(name) = name else {
        return Ok(None);
    };
    tx.execute("DELETE FROM holidays WHERE date = ?1", [&ds])?;
    crate::shared::audit::append(
        &tx,
        actor,
        &crate::shared::audit::Event {
            action: "holiday_removed",
            detail: serde_json::json!({"date": ds, "name": name}),
            ..Default::default()
        },
    )?;
    let moved = recompute_open(&tx)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(Some(moved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_one_follows_the_15h_rule_for_the_3_in_1_only_and_limits_are_the_configured_ones() {
        let hol = Holidays::new();
        // 08:30Z = 15:30 in Vietnam, Monday 2026-11-23.
        let d = |s: &str| deadline::fmt_date(received_on_of("2026-11-23T08:30:00Z", s, &hol));
        assert_eq!(d(CUTOFF_PROCEDURE), "2026-11-24");
        // Other procedures: the receipt day is not counted, whatever the hour.
        assert_eq!(d("marital-status-certificate"), "2026-11-24");
        // 07:59Z = 14:59: the 3-in-1's receipt day is day 1.
        assert_eq!(
            deadline::fmt_date(received_on_of(
                "2026-11-23T07:59:00Z",
                CUTOFF_PROCEDURE,
                &hol
            )),
            "2026-11-23"
        );
        // 18:00Z Sunday = 01:00 Monday local.
        assert_eq!(
            deadline::fmt_date(received_on_of(
                "2026-11-22T18:00:00Z",
                CUTOFF_PROCEDURE,
                &hol
            )),
            "2026-11-23"
        );
        let rules = Rules::default();
        assert_eq!(limit_days(&rules, CUTOFF_PROCEDURE, 1, false), 3);
        assert_eq!(limit_days(&rules, CUTOFF_PROCEDURE, 1, true), 5);
        assert_eq!(
            limit_days(&rules, "marital-status-certificate", 1, true),
            23
        );
        let rules = Rules {
            time_limits: vec![("marital-status-certificate".into(), 5)],
            ..Rules::default()
        };
        assert_eq!(
            limit_days(&rules, "marital-status-certificate", 1, false),
            5
        );
    }

    #[test]
    fn views_parse_and_transitions_end_in_final_statuses() {
        assert_eq!(
            View::parse("status:needs_papers"),
            Some(View::Status("needs_papers".into()))
        );
        assert_eq!(View::parse("status:lost"), None);
        for s in STATUSES {
            let next = super::super::status::next_statuses(s);
            assert_eq!(next.is_empty(), FINAL.contains(s), "{s}");
            assert!(!next.contains(s) && !next.contains(&"received"));
        }
    }
}
