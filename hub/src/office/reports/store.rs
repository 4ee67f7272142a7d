//! The report figures, computed with SQL aggregates: per period (by session date for what the field
//! devices counted; by the Vietnamese day of sealing for dossiers), optionally one hamlet, or one
//! outreach session. Nothing here loads all dossiers: each query groups rows into a small table (at
//! most procedures × statuses × hamlets × sexes × age bands, or one row per number of days) and Rust
//! only adds those up.

use std::collections::BTreeMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection};
use serde::Serialize;

use crate::shared::store::StoreResult;

/// Age bands at capture, with the highest age (in whole years) each one holds; the last is open.
pub const AGE_BANDS: &[(&str, u32)] = &[
    ("0-5", 5),
    ("6-14", 14),
    ("15-17", 17),
    ("18-35", 35),
    ("36-59", 59),
    ("60+", u32::MAX),
];

/// The band of an age in whole years.
pub fn age_band(years: u32) -> &'static str {
    AGE_BANDS
        .iter()
        .find(|(_, max)| years <= *max)
        .map(|(b, _)| *b)
        .unwrap_or("60+")
}

/// SQL for the age band (as [`age_band`]) of date of birth `dob` (`YYYY-MM-DD`) on day `day`; `''`
/// when the date of birth is missing or malformed, or after the day.
fn age_band_sql(dob: &str, day: &str) -> String {
    let age = format!(
        "(CAST(substr({day},1,4) AS INTEGER) - CAST(substr({dob},1,4) AS INTEGER) \
         - (substr({day},6,5) < substr({dob},6,5)))"
    );
    let mut case =
        format!("CASE WHEN {dob} IS NULL OR date({dob}) IS NULL OR {dob} > {day} THEN ''");
    for (band, max) in AGE_BANDS {
        if *max == u32::MAX {
            case.push_str(&format!(" ELSE '{band}' END"));
        } else {
            case.push_str(&format!(" WHEN {age} <= {max} THEN '{band}'"));
        }
    }
    case
}

/// The value at quantile `q` (0..=1) of a distribution given as (value, count) pairs sorted by value,
/// by linear interpolation between closest ranks (the usual "type 7"); `None` when empty.
pub fn quantile(sorted: &[(i64, u64)], q: f64) -> Option<f64> {
    let n: u64 = sorted.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = pos.floor() as u64;
    let hi = pos.ceil() as u64;
    let at = |rank: u64| {
        let mut seen = 0;
        for (v, c) in sorted {
            seen += c;
            if rank < seen {
                return *v as f64;
            }
        }
        sorted.last().map(|(v, _)| *v as f64).unwrap_or(0.0)
    };
    let (a, b) = (at(lo), at(hi));
    Some(a + (b - a) * (pos - lo as f64))
}

/// What a report covers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ReportScope)]
pub struct Scope {
    /// First day (`YYYY-MM-DD`), inclusive; `None` for one session.
    #[schema(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive.
    #[schema(format = Date)]
    pub to: Option<String>,
    /// Only this hamlet (of the outreach session).
    pub hamlet: Option<String>,
    /// One session: `[device id, session id]`.
    #[schema(value_type = Option<Vec<String>>, min_items = 2, max_items = 2)]
    pub session: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = ReportCount)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = ReportEthnicityCount)]
pub struct EthnicityCount {
    pub system: String,
    pub code: String,
    pub name: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = ReportProcedureStatus)]
pub struct ProcedureStatus {
    pub procedure: String,
    pub status: String,
    pub count: u64,
}

/// What the field devices counted at their outreach sessions (session summaries).
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
#[schema(as = ReportServed)]
pub struct Served {
    pub sessions: u64,
    pub tickets_issued: u64,
    pub villagers_served: u64,
    pub no_show: u64,
    /// The median of the sessions' median waits, seconds.
    pub median_wait_secs: Option<f64>,
    pub services_total: u64,
    pub services: Vec<Count>,
    /// Services whose villager consented to demographic facts being recorded.
    pub consented: u64,
    pub by_sex: Vec<Count>,
    pub by_age_band: Vec<Count>,
    pub by_ethnicity: Vec<EthnicityCount>,
}

/// Dossiers received (live ones: not merged away, not replaced or cancelled by a later dossier).
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
#[schema(as = ReportDossiers)]
pub struct Dossiers {
    pub total: u64,
    /// Requests the villager made and the team refused on the spot (disposition `refused`).
    pub refused: u64,
    /// Cancellations (disposition `voids`) and dossiers replaced or cancelled by a later one.
    pub cancelled: u64,
    pub by_procedure: Vec<Count>,
    pub by_status: Vec<Count>,
    pub by_procedure_status: Vec<ProcedureStatus>,
    /// Hamlet of the session; `""` for dossiers captured outside any session, `"?"` for a session
    /// whose summary has not arrived yet.
    pub by_hamlet: Vec<Count>,
    /// The subject's sex (child or person concerned); `""` when not given.
    pub by_sex: Vec<Count>,
    /// The subject's age band when the dossier was sealed; `""` when no date of birth.
    pub by_age_band: Vec<Count>,
}

/// Time from capture (sealing) to registration, in Vietnamese calendar days.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
#[schema(as = ReportRegistration)]
pub struct Registration {
    pub registered: u64,
    pub median_days: Option<f64>,
    pub p90_days: Option<f64>,
    /// Registered on or before the legal limit (`due_on`).
    pub within_limit: u64,
    pub within_limit_pct: Option<f64>,
    /// How many took each number of days.
    pub days: Vec<DaysCount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = ReportDaysCount)]
pub struct DaysCount {
    pub days: i64,
    pub count: u64,
}

/// One outreach session with its headline numbers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ReportSessionRow)]
pub struct SessionRow {
    pub device_id: String,
    pub device_name: Option<String>,
    pub session_id: String,
    pub hamlet: String,
    pub venue_name: String,
    #[schema(format = Date)]
    pub date: String,
    #[schema(format = DateTime)]
    pub opened_at: String,
    #[schema(format = DateTime)]
    pub closed_at: Option<String>,
    pub tickets_issued: u64,
    pub villagers_served: u64,
    pub services: u64,
    /// Dossiers the session's summary lists (all dispositions).
    pub dossiers_expected: u64,
    /// Of those, received at the office.
    pub dossiers_received: u64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ReportFigures)]
pub struct Figures {
    pub scope: Scope,
    pub served: Served,
    pub dossiers: Dossiers,
    pub registration: Registration,
}

/// Most sessions listed in a period report (newest first).
pub const MAX_SESSIONS_LISTED: usize = 200;

/// WHERE clause and parameters selecting the session summaries of `scope`.
fn summary_filter(scope: &Scope) -> (String, Vec<SqlValue>) {
    let mut w = vec!["1".to_string()];
    let mut p = Vec::new();
    if let Some((dev, sid)) = &scope.session {
        w.push("ss.device_id = ? AND ss.session_id = ?".into());
        p.push(SqlValue::Text(dev.clone()));
        p.push(SqlValue::Text(sid.clone()));
    }
    if let Some(f) = &scope.from {
        w.push("ss.date >= ?".into());
        p.push(SqlValue::Text(f.clone()));
    }
    if let Some(t) = &scope.to {
        w.push("ss.date <= ?".into());
        p.push(SqlValue::Text(t.clone()));
    }
    if let Some(h) = &scope.hamlet {
        w.push("ss.hamlet = ?".into());
        p.push(SqlValue::Text(h.clone()));
    }
    (w.join(" AND "), p)
}

/// The Vietnamese day a dossier was sealed; the same expression as the index
/// `received_dossiers_report_day` so period filters use it.
const DAY: &str = "date(d.sealed_at, '+7 hours')";

/// FROM … WHERE … over live received dossiers of `scope` (aliases: d dossier, s status, ss summary).
fn dossier_from(scope: &Scope, live: bool) -> (String, Vec<SqlValue>) {
    let mut w = vec!["d.dossier_id NOT IN (SELECT dossier_id FROM merged_away)".to_string()];
    let mut p = Vec::new();
    if live {
        w.push("d.disposition IN ('new', 'supersedes')".into());
        w.push(REPLACED_NOT.into());
    }
    if let Some((dev, sid)) = &scope.session {
        w.push("d.session_id = ? AND d.device_id = ?".into());
        p.push(SqlValue::Text(sid.clone()));
        p.push(SqlValue::Text(dev.clone()));
    }
    if let Some(f) = &scope.from {
        w.push(format!("{DAY} >= ?"));
        p.push(SqlValue::Text(f.clone()));
    }
    if let Some(t) = &scope.to {
        w.push(format!("{DAY} <= ?"));
        p.push(SqlValue::Text(t.clone()));
    }
    if let Some(h) = &scope.hamlet {
        w.push("ss.hamlet = ?".into());
        p.push(SqlValue::Text(h.clone()));
    }
    (
        format!(
            "FROM received_dossiers d
             LEFT JOIN dossier_status s ON s.dossier_id = d.dossier_id
             LEFT JOIN session_summaries ss ON ss.device_id = d.device_id AND ss.session_id = d.session_id
             WHERE {}",
            w.join(" AND ")
        ),
        p,
    )
}

/// True for a dossier no later received dossier corrects or cancels.
const REPLACED_NOT: &str =
    "NOT EXISTS (SELECT 1 FROM received_dossiers n INDEXED BY received_dossiers_by_refers_to WHERE n.refers_to = d.dossier_id \
     AND n.disposition IN ('supersedes', 'voids'))";

fn sorted_counts(m: BTreeMap<String, u64>) -> Vec<Count> {
    let mut v: Vec<Count> = m
        .into_iter()
        .map(|(key, count)| Count { key, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v
}

fn u(v: i64) -> u64 {
    v.max(0) as u64
}

/// Sums the session summaries of `scope`.
pub fn served(c: &Connection, scope: &Scope) -> StoreResult<Served> {
    let (w, p) = summary_filter(scope);
    let mut out = c.query_row(
        &format!(
            "SELECT count(*),
                    coalesce(sum(json_extract(summary_json, '$.tickets_issued')), 0),
                    coalesce(sum(json_extract(summary_json, '$.villagers_served')), 0),
                    coalesce(sum(json_extract(summary_json, '$.no_show')), 0),
                    coalesce(sum(json_extract(summary_json, '$.consented')), 0)
             FROM session_summaries ss WHERE {w}"
        ),
        params_from_iter(p.iter()),
        |r| {
            Ok(Served {
                sessions: u(r.get(0)?),
                tickets_issued: u(r.get(1)?),
                villagers_served: u(r.get(2)?),
                no_show: u(r.get(3)?),
                consented: u(r.get(4)?),
                ..Served::default()
            })
        },
    )?;
    let mut waits: Vec<(i64, u64)> = Vec::new();
    {
        let mut st = c.prepare(&format!(
            "SELECT json_extract(summary_json, '$.median_wait_secs') AS mw, count(*)
             FROM session_summaries ss WHERE {w} AND mw IS NOT NULL GROUP BY mw ORDER BY mw"
        ))?;
        let rows = st.query_map(params_from_iter(p.iter()), |r| {
            Ok((r.get::<_, i64>(0)?, u(r.get(1)?)))
        })?;
        for r in rows {
            waits.push(r?);
        }
    }
    out.median_wait_secs = quantile(&waits, 0.5);
    let map_of = |path: &str| -> StoreResult<Vec<Count>> {
        let mut st = c.prepare(&format!(
            "SELECT j.key, sum(j.value) FROM session_summaries ss, json_each(ss.summary_json, '{path}') j
             WHERE {w} GROUP BY j.key"
        ))?;
        let rows = st.query_map(params_from_iter(p.iter()), |r| {
            Ok((r.get::<_, String>(0)?, u(r.get(1)?)))
        })?;
        let mut m = BTreeMap::new();
        for r in rows {
            let (k, n) = r?;
            m.insert(k, n);
        }
        Ok(sorted_counts(m))
    };
    out.services = map_of("$.services")?;
    out.services_total = out.services.iter().map(|c| c.count).sum();
    out.by_sex = map_of("$.by_sex")?;
    out.by_age_band = map_of("$.by_age_band")?;
    let mut st = c.prepare(&format!(
        "SELECT json_extract(j.value, '$.system'), json_extract(j.value, '$.code'),
                max(json_extract(j.value, '$.name')), sum(json_extract(j.value, '$.count')) AS n
         FROM session_summaries ss, json_each(ss.summary_json, '$.by_ethnicity') j
         WHERE {w} GROUP BY 1, 2 ORDER BY n DESC, 2"
    ))?;
    let rows = st.query_map(params_from_iter(p.iter()), |r| {
        Ok(EthnicityCount {
            system: r.get(0)?,
            code: r.get(1)?,
            name: r.get(2)?,
            count: u(r.get(3)?),
        })
    })?;
    for r in rows {
        out.by_ethnicity.push(r?);
    }
    Ok(out)
}

/// Counts the received dossiers of `scope` by procedure, status, hamlet, sex and age band.
pub fn dossiers(c: &Connection, scope: &Scope) -> StoreResult<Dossiers> {
    let mut out = Dossiers::default();
    // Refused and cancelled: counted apart, by disposition.
    let (from, p) = dossier_from(scope, false);
    let (refused, voids, replaced): (i64, i64, i64) = c.query_row(
        &format!(
            "SELECT coalesce(sum(d.disposition = 'refused'), 0), coalesce(sum(d.disposition = 'voids'), 0),
                    coalesce(sum(d.disposition IN ('new', 'supersedes') AND NOT {REPLACED_NOT}), 0) {from}"
        ),
        params_from_iter(p.iter()),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    out.refused = u(refused);
    out.cancelled = u(voids) + u(replaced);

    let (from, p) = dossier_from(scope, true);
    let sex = "coalesce(json_extract(d.fields_json, '$.\"child.sex\"'), \
               json_extract(d.fields_json, '$.\"subject.sex\"'), '')";
    let dob = "coalesce(json_extract(d.fields_json, '$.\"child.date_of_birth\"'), \
               json_extract(d.fields_json, '$.\"subject.date_of_birth\"'))";
    let band = age_band_sql(dob, DAY);
    let sql = format!(
        "SELECT d.procedure_id, coalesce(s.status, 'received'),
                CASE WHEN d.session_id IS NULL THEN '' ELSE coalesce(ss.hamlet, '?') END,
                {sex}, {band}, count(*)
         {from} GROUP BY 1, 2, 3, 4, 5"
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(params_from_iter(p.iter()), |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            u(r.get(5)?),
        ))
    })?;
    let (mut proc_, mut status, mut ps, mut hamlet, mut sexes, mut bands) = (
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::<(String, String), u64>::new(),
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::new(),
    );
    for r in rows {
        let (pr, stt, ham, sx, bd, n) = r?;
        out.total += n;
        *proc_.entry(pr.clone()).or_default() += n;
        *status.entry(stt.clone()).or_default() += n;
        *ps.entry((pr, stt)).or_default() += n;
        *hamlet.entry(ham).or_default() += n;
        *sexes.entry(sx).or_default() += n;
        *bands.entry(bd).or_default() += n;
    }
    out.by_procedure = sorted_counts(proc_);
    out.by_status = sorted_counts(status);
    out.by_procedure_status = ps
        .into_iter()
        .map(|((procedure, status), count)| ProcedureStatus {
            procedure,
            status,
            count,
        })
        .collect();
    out.by_hamlet = sorted_counts(hamlet);
    out.by_sex = sorted_counts(sexes);
    // Age bands in their natural order, unknown last.
    let mut ordered: Vec<Count> = AGE_BANDS
        .iter()
        .filter_map(|(b, _)| {
            bands.remove(*b).map(|count| Count {
                key: b.to_string(),
                count,
            })
        })
        .collect();
    ordered.extend(bands.into_iter().map(|(key, count)| Count { key, count }));
    out.by_age_band = ordered;
    Ok(out)
}

/// Time from capture to registration of the registered live dossiers of `scope`.
pub fn registration(c: &Connection, scope: &Scope) -> StoreResult<Registration> {
    let (from, p) = dossier_from(scope, true);
    let reg_day = "date(s.registered_at, '+7 hours')";
    let mut st = c.prepare(&format!(
        "SELECT CAST(julianday({reg_day}) - julianday({DAY}) AS INTEGER) AS days, count(*),
                sum({reg_day} <= s.due_on)
         {from} AND s.registered_at IS NOT NULL GROUP BY days ORDER BY days"
    ))?;
    let rows = st.query_map(params_from_iter(p.iter()), |r| {
        Ok((r.get::<_, i64>(0)?, u(r.get(1)?), u(r.get(2)?)))
    })?;
    let mut out = Registration::default();
    for r in rows {
        let (days, n, ok) = r?;
        out.registered += n;
        out.within_limit += ok;
        out.days.push(DaysCount { days, count: n });
    }
    let dist: Vec<(i64, u64)> = out.days.iter().map(|d| (d.days, d.count)).collect();
    out.median_days = quantile(&dist, 0.5);
    out.p90_days = quantile(&dist, 0.9);
    out.within_limit_pct = (out.registered > 0)
        .then(|| (out.within_limit as f64 * 1000.0 / out.registered as f64).round() / 10.0);
    Ok(out)
}

/// All figures of `scope`.
pub fn figures(c: &Connection, scope: &Scope) -> StoreResult<Figures> {
    Ok(Figures {
        scope: scope.clone(),
        served: served(c, scope)?,
        dossiers: dossiers(c, scope)?,
        registration: registration(c, scope)?,
    })
}

/// The sessions of `scope` (newest first, at most [`MAX_SESSIONS_LISTED`]) with their headline numbers.
pub fn sessions(c: &Connection, scope: &Scope) -> StoreResult<Vec<SessionRow>> {
    let (w, mut p) = summary_filter(scope);
    p.push(SqlValue::Integer(MAX_SESSIONS_LISTED as i64));
    let mut st = c.prepare(&format!(
        "SELECT ss.device_id, tp.name, ss.session_id, ss.hamlet,
                json_extract(ss.summary_json, '$.venue_name'), ss.date,
                json_extract(ss.summary_json, '$.opened_at'), json_extract(ss.summary_json, '$.closed_at'),
                json_extract(ss.summary_json, '$.tickets_issued'),
                json_extract(ss.summary_json, '$.villagers_served'),
                (SELECT coalesce(sum(j.value), 0) FROM json_each(ss.summary_json, '$.services') j),
                json_array_length(ss.summary_json, '$.dossiers'),
                (SELECT count(*) FROM received_dossiers d
                  WHERE d.session_id = ss.session_id AND d.device_id = ss.device_id)
         FROM session_summaries ss LEFT JOIN trusted_peers tp ON tp.device_id = ss.device_id
         WHERE {w} ORDER BY ss.date DESC, json_extract(ss.summary_json, '$.opened_at') DESC LIMIT ?"
    ))?;
    let rows = st.query_map(params_from_iter(p.iter()), |r| {
        Ok(SessionRow {
            device_id: r.get(0)?,
            device_name: r.get(1)?,
            session_id: r.get(2)?,
            hamlet: r.get(3)?,
            venue_name: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            date: r.get(5)?,
            opened_at: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            closed_at: r.get(7)?,
            tickets_issued: u(r.get::<_, Option<i64>>(8)?.unwrap_or(0)),
            villagers_served: u(r.get::<_, Option<i64>>(9)?.unwrap_or(0)),
            services: u(r.get(10)?),
            dossiers_expected: u(r.get::<_, Option<i64>>(11)?.unwrap_or(0)),
            dossiers_received: u(r.get(12)?),
        })
    })?;
    let list = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(list)
}

/// Received dossiers of one session that no summary has announced yet count as received too: this is
/// the number the office holds for the session, whatever the summary says.
pub fn session_received(c: &Connection, device: &str, session: &str) -> StoreResult<u64> {
    Ok(u(c.query_row(
        "SELECT count(*) FROM received_dossiers WHERE session_id = ?1 AND device_id = ?2",
        [session, device],
        |r| r.get(0),
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_have_their_edges() {
        let want = [
            (0, "0-5"),
            (5, "0-5"),
            (6, "6-14"),
            (14, "6-14"),
            (15, "15-17"),
            (17, "15-17"),
            (18, "18-35"),
            (35, "18-35"),
            (36, "36-59"),
            (59, "36-59"),
            (60, "60+"),
            (104, "60+"),
        ];
        for (age, band) in want {
            assert_eq!(age_band(age), band, "{age}");
        }
    }

    #[test]
    fn the_sql_age_band_agrees_with_rust_around_birthdays() {
        let c = crate::shared::store::open_memory().unwrap();
        let sql = format!("SELECT {}", age_band_sql("?1", "?2"));
        // (date of birth, day sealed, age in whole years on that day)
        let cases = [
            ("2020-06-15", "2026-06-14", 5),
            ("2020-06-15", "2026-06-15", 6),
            ("2008-02-29", "2026-02-28", 17),
            ("2008-02-29", "2026-03-01", 18),
            ("1966-11-23", "2026-11-22", 59),
            ("1966-11-23", "2026-11-23", 60),
            ("2026-11-01", "2026-11-23", 0),
            ("1990-01-01", "2026-12-31", 36),
        ];
        for (dob, day, age) in cases {
            let got: String = c.query_row(&sql, [dob, day], |r| r.get(0)).unwrap();
            assert_eq!(got, age_band(age), "{dob} on {day}");
        }
        for (dob, day) in [
            ("", "2026-01-01"),
            ("15/06/2020", "2026-01-01"),
            ("2027-01-01", "2026-01-01"),
        ] {
            let got: String = c.query_row(&sql, [dob, day], |r| r.get(0)).unwrap();
            assert_eq!(got, "", "{dob:?}");
        }
        let got: String = c
            .query_row(&sql, rusqlite::params![None::<String>, "2026-01-01"], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(got, "");
    }

    #[test]
    fn quantiles_interpolate_between_ranks() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[(7, 1)], 0.5), Some(7.0));
        assert_eq!(quantile(&[(7, 1)], 0.9), Some(7.0));
        // 1, 2, 3, 4 → median 2.5
        let d = [(1, 1), (2, 1), (3, 1), (4, 1)];
        assert_eq!(quantile(&d, 0.5), Some(2.5));
        // 0..=10 once each → p90 = 9
        let d: Vec<(i64, u64)> = (0..=10).map(|v| (v, 1)).collect();
        assert_eq!(quantile(&d, 0.9), Some(9.0));
        assert_eq!(quantile(&d, 0.0), Some(0.0));
        assert_eq!(quantile(&d, 1.0), Some(10.0));
        // Counts are ranks: 3×2 days, 1×10 days → 2, 2, 2, 10; median 2, p90 = 2 + 0.7×8
        let d = [(2, 3), (10, 1)];
        assert_eq!(quantile(&d, 0.5), Some(2.0));
        let p90 = quantile(&d, 0.9).unwrap();
        assert!((p90 - 7.6).abs() < 1e-9, "{p90}");
    }
}
