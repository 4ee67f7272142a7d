//! Session summaries for manifests (protocol §3.5): what each recent outreach session did, as the field
//! counts it — the same figures as the session report, with no personal data — so the office can reconcile
//! expected vs received per session and report on services rendered.

use std::collections::BTreeMap;

use protocol::{
    EthnicityTally, ProcedureRef, SessionDossier, SessionSummary, MAX_MANIFEST_SESSIONS,
};
use rusqlite::{params, Connection};

use super::store::{report, Count};
use crate::shared::store::StoreResult;

/// Sessions whose day is at most this many days back are summarised in every manifest, besides the
/// sessions of the batch's own dossiers (a session with services but no dossier still reaches the office).
pub const RECENT_DAYS: i64 = 60;

fn counts(v: &[Count]) -> BTreeMap<String, u64> {
    v.iter()
        .filter(|c| c.count > 0)
        .map(|c| (c.key.clone(), c.count as u64))
        .collect()
}

/// Summary of one session, or `None` when it does not exist.
pub fn summarise(c: &Connection, session_id: &str) -> StoreResult<Option<SessionSummary>> {
    let Some(r) = report(c, session_id)? else {
        return Ok(None);
    };
    let mut st = c.prepare_cached(
        "SELECT seq, procedure_id, procedure_version, disposition FROM receipts
         WHERE session_id = ?1 AND seq IS NOT NULL ORDER BY seq",
    )?;
    let dossiers = st
        .query_map([session_id], |row| {
            Ok(SessionDossier {
                seq: row.get::<_, i64>(0)? as u64,
                procedure: ProcedureRef {
                    id: row.get(1)?,
                    version: row.get(2)?,
                },
                disposition: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let s = r.session;
    Ok(Some(SessionSummary {
        session_id: s.id,
        hamlet: s.hamlet,
        venue_kind: s.venue_kind.as_str().to_owned(),
        venue_name: s.venue_name,
        commune_code: s.commune_code,
        date: s.date,
        opened_at: s.opened_at,
        closed_at: s.closed_at,
        tickets_issued: r.tickets.issued.max(0) as u64,
        villagers_served: r.villagers.served.max(0) as u64,
        no_show: r.villagers.no_show.max(0) as u64,
        median_wait_secs: r.median_wait_secs.map(|w| w.max(0) as u64),
        services: counts(&r.by_kind),
        consented: r.consented.max(0) as u64,
        by_sex: counts(&r.by_sex),
        by_age_band: counts(&r.by_age_band),
        by_ethnicity: r
            .by_ethnicity
            .into_iter()
            .map(|e| EthnicityTally {
                system: e.system,
                code: e.code,
                name: e.name,
                count: e.count.max(0) as u64,
            })
            .collect(),
        dossiers,
    }))
}

/// The summaries a manifest carrying envelopes `seqs` should hold: the sessions of those dossiers and every
/// session of the last [`RECENT_DAYS`] days, newest first, at most [`MAX_MANIFEST_SESSIONS`]. A summary that
/// would not pass the protocol's form check (e.g. data from an older hub) is left out with a warning rather
/// than making the whole manifest unacceptable.
pub fn for_manifest(c: &Connection, seqs: &[u64]) -> StoreResult<Vec<SessionSummary>> {
    let since = (crate::shared::clock::today_vn() - time::Duration::days(RECENT_DAYS)).to_string();
    let (lo, hi) = (
        seqs.iter().min().copied().unwrap_or(0) as i64,
        seqs.iter().max().copied().unwrap_or(0) as i64,
    );
    let mut st = c.prepare(
        "SELECT id FROM outreach_sessions
         WHERE date >= ?1 OR id IN (SELECT session_id FROM receipts WHERE seq BETWEEN ?2 AND ?3)
         ORDER BY date DESC, opened_at DESC LIMIT ?4",
    )?;
    let ids = st
        .query_map(params![since, lo, hi, MAX_MANIFEST_SESSIONS as i64], |r| {
            r.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(s) = summarise(c, &id)? {
            match s.check_form() {
                Ok(()) => out.push(s),
                Err(e) => {
                    tracing::warn!(session = %id, error = %e, "session summary left out of the manifest")
                }
            }
        }
    }
    Ok(out)
}
