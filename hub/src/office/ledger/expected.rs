//! Expected vs received per outreach session: what each session's summary says was sealed (by procedure)
//! against the envelopes the office holds, with the missing and set-aside seqs, and totals per procedure
//! and per hamlet over a period. Sessions whose dossiers arrived before their summary are listed too.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::shared::clock;
use crate::shared::store::StoreResult;

/// Expected, received, missing and set-aside counts.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = LedgerCounts)]
pub struct Counts {
    /// Announced by the session summary (None-like 0 when no summary is held).
    pub expected: u64,
    pub received: u64,
    pub missing: u64,
    pub quarantined: u64,
}

impl Counts {
    fn add(&mut self, o: &Counts) {
        self.expected += o.expected;
        self.received += o.received;
        self.missing += o.missing;
        self.quarantined += o.quarantined;
    }
}

/// One outreach session of one device.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionRow {
    pub device_id: String,
    pub device_name: Option<String>,
    pub session_id: String,
    /// Unknown (None) until the summary is received.
    pub hamlet: Option<String>,
    #[schema(format = Date)]
    pub date: String,
    pub venue_kind: Option<String>,
    pub venue_name: Option<String>,
    /// False: the session's summary has not arrived yet; only received counts are known.
    pub summary_received: bool,
    #[serde(flatten)]
    pub counts: Counts,
    pub missing_seqs: Vec<u64>,
    pub quarantined_seqs: Vec<u64>,
    pub by_procedure: BTreeMap<String, Counts>,
    /// Complete: a summary is held and everything it announced is received.
    pub complete: bool,
}

/// Sessions in a period with totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionsReport {
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    /// Sessions in the period (all of them, before paging).
    pub total_sessions: usize,
    pub offset: usize,
    pub limit: usize,
    pub sessions: Vec<SessionRow>,
    pub totals: Counts,
    pub by_procedure: BTreeMap<String, Counts>,
    pub by_hamlet: BTreeMap<String, Counts>,
}

/// Most sessions in one page.
pub const MAX_SESSIONS: usize = 200;

/// The sessions held between `from` and `to` (inclusive, `YYYY-MM-DD`), newest first, paged.
pub fn sessions(
    c: &Connection,
    from: &str,
    to: &str,
    offset: usize,
    limit: usize,
) -> StoreResult<SessionsReport> {
    let limit = limit.clamp(1, MAX_SESSIONS);
    let mut rows: Vec<SessionRow> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    {
        let mut st = c.prepare(
            "SELECT s.device_id, p.name, s.session_id, s.hamlet, s.date,
                    json_extract(s.summary_json, '$.venue_kind'), json_extract(s.summary_json, '$.venue_name')
             FROM session_summaries s LEFT JOIN trusted_peers p ON p.device_id = s.device_id
             WHERE s.date BETWEEN ?1 AND ?2",
        )?;
        let it = st.query_map(params![from, to], |r| {
            Ok(SessionRow {
                device_id: r.get(0)?,
                device_name: r.get(1)?,
                session_id: r.get(2)?,
                hamlet: r.get(3)?,
                date: r.get(4)?,
                venue_kind: r.get(5)?,
                venue_name: r.get(6)?,
                summary_received: true,
                counts: Counts::default(),
                missing_seqs: Vec::new(),
                quarantined_seqs: Vec::new(),
                by_procedure: BTreeMap::new(),
                complete: false,
            })
        })?;
        for row in it {
            let row = row?;
            index.insert((row.device_id.clone(), row.session_id.clone()), rows.len());
            rows.push(row);
        }
    }
    // Every announced envelope of those sessions, with what the office holds of it: one query.
    {
        let mut st = c.prepare(
            "SELECT e.device_id, e.session_id, e.seq, e.procedure_id, r.seq IS NOT NULL,
                    EXISTS (SELECT 1 FROM quarantine q
                            WHERE q.device_id = e.device_id AND q.seq = e.seq AND q.resolved_at IS NULL)
             FROM session_summaries s
             JOIN session_envelopes e ON e.device_id = s.device_id AND e.session_id = s.session_id
             LEFT JOIN received_envelopes r ON r.device_id = e.device_id AND r.seq = e.seq
             WHERE s.date BETWEEN ?1 AND ?2
             ORDER BY e.device_id, e.seq",
        )?;
        let it = st.query_map(params![from, to], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?;
        for row in it {
            let (dev, sid, seq, proc_id, received, held) = row?;
            let Some(&i) = index.get(&(dev, sid)) else {
                continue;
            };
            let s = &mut rows[i];
            let mut one = Counts {
                expected: 1,
                ..Counts::default()
            };
            if received {
                one.received = 1;
            } else if held {
                one.quarantined = 1;
                s.quarantined_seqs.push(seq);
            } else {
                one.missing = 1;
                s.missing_seqs.push(seq);
            }
            s.counts.add(&one);
            s.by_procedure.entry(proc_id).or_default().add(&one);
        }
    }
    // Sessions whose dossiers are here but whose summary is not yet.
    {
        let mut st = c.prepare(
            "SELECT d.device_id, p.name, d.session_id, d.procedure_id, count(*), min(d.sealed_at)
             FROM received_dossiers d LEFT JOIN trusted_peers p ON p.device_id = d.device_id
             WHERE d.session_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM session_summaries s
                               WHERE s.device_id = d.device_id AND s.session_id = d.session_id)
             GROUP BY d.device_id, d.session_id, d.procedure_id",
        )?;
        let it = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)? as u64,
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in it {
            let (dev, name, sid, proc_id, n, sealed) = row?;
            let date = clock::vn_date_of(&sealed)
                .map(|d| d.to_string())
                .unwrap_or_else(|| sealed.chars().take(10).collect());
            let i = *index.entry((dev.clone(), sid.clone())).or_insert_with(|| {
                rows.push(SessionRow {
                    device_id: dev,
                    device_name: name,
                    session_id: sid,
                    hamlet: None,
                    date: date.clone(),
                    venue_kind: None,
                    venue_name: None,
                    summary_received: false,
                    counts: Counts::default(),
                    missing_seqs: Vec::new(),
                    quarantined_seqs: Vec::new(),
                    by_procedure: BTreeMap::new(),
                    complete: false,
                });
                rows.len() - 1
            });
            let s = &mut rows[i];
            if date < s.date {
                s.date = date;
            }
            let one = Counts {
                received: n,
                ..Counts::default()
            };
            s.counts.add(&one);
            s.by_procedure.entry(proc_id).or_default().add(&one);
        }
    }
    let mut rows: Vec<SessionRow> = rows
        .into_iter()
        .filter(|r| r.date.as_str() >= from && r.date.as_str() <= to)
        .map(|mut r| {
            r.complete = r.summary_received && r.counts.received == r.counts.expected;
            r
        })
        .collect();
    rows.sort_by(|a, b| {
        (&b.date, &a.hamlet, &a.device_id, &a.session_id).cmp(&(
            &a.date,
            &b.hamlet,
            &b.device_id,
            &b.session_id,
        ))
    });
    let mut totals = Counts::default();
    let mut by_procedure: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_hamlet: BTreeMap<String, Counts> = BTreeMap::new();
    for r in &rows {
        totals.add(&r.counts);
        for (p, n) in &r.by_procedure {
            by_procedure.entry(p.clone()).or_default().add(n);
        }
        by_hamlet
            .entry(r.hamlet.clone().unwrap_or_default())
            .or_default()
            .add(&r.counts);
    }
    let total_sessions = rows.len();
    let sessions = rows.into_iter().skip(offset).take(limit).collect();
    Ok(SessionsReport {
        from: from.into(),
        to: to.into(),
        total_sessions,
        offset,
        limit,
        sessions,
        totals,
        by_procedure,
        by_hamlet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(c: &Connection, sql: &str) {
        c.execute_batch(sql).unwrap();
    }

    #[test]
    fn expected_received_missing_per_session_procedure_and_hamlet() {
        let c = crate::shared::store::open_memory().unwrap();
        exec(
            &c,
            "INSERT INTO session_summaries VALUES ('d1','s1','Thôn A','2026-03-02',
                 '{\"venue_kind\":\"school\",\"venue_name\":\"Trường\"}','b','x','x');
             INSERT INTO session_summaries VALUES ('d1','s2','Thôn B','2026-02-01','{}','b','x','x');
             INSERT INTO session_envelopes VALUES ('d1',1,'s1','marital-status-certificate','new');
             INSERT INTO session_envelopes VALUES ('d1',2,'s1','birth-residence-insurance','new');
             INSERT INTO session_envelopes VALUES ('d1',3,'s1','birth-residence-insurance','new');
             INSERT INTO session_envelopes VALUES ('d1',4,'s2','birth-residence-insurance','new');
             INSERT INTO quarantine(device_id, seq, hash, reason, detail, via, raised_at)
                 VALUES ('d1', 3, 'h', 'payload_hash', 'x', 'file', 'x');",
        );
        for (seq, proc_id, sid) in [
            (1, "marital-status-certificate", "s1"),
            (5, "birth-residence-insurance", "s9"),
        ] {
            c.execute(
                "INSERT INTO received_envelopes VALUES ('d1', ?1, 'h', 'p', x'00', 's', ?2, 'b', 'x')",
                params![seq, format!("x{seq}")],
            )
            .unwrap();
            c.execute(
                "INSERT INTO received_dossiers(dossier_id, device_id, seq, procedure_id, procedure_version, receipt_code,
                     title, fields_json, signed_dossier, sealed_at, received_at, checks_json, session_id)
                 VALUES (?1, 'd1', ?2, ?3, 1, 'R', 't', '{}', x'00', '2026-03-03T09:00:00+07:00', 'x', '[]', ?4)",
                params![format!("x{seq}"), seq, proc_id, sid],
            )
            .unwrap();
        }
        let r = sessions(&c, "2026-03-01", "2026-03-31", 0, 50).unwrap();
        assert_eq!(r.total_sessions, 2, "s1 and s9 (summary not here yet)");
        let s9 = &r.sessions[0];
        assert_eq!((s9.session_id.as_str(), s9.summary_received), ("s9", false));
        assert_eq!(s9.counts.received, 1);
        assert_eq!(s9.date, "2026-03-03");
        let s1 = &r.sessions[1];
        assert_eq!(
            s1.counts,
            Counts {
                expected: 3,
                received: 1,
                missing: 1,
                quarantined: 1
            }
        );
        assert_eq!(s1.missing_seqs, vec![2]);
        assert_eq!(s1.quarantined_seqs, vec![3]);
        assert_eq!(s1.venue_name.as_deref(), Some("Trường"));
        assert_eq!(s1.by_procedure["birth-residence-insurance"].expected, 2);
        assert!(!s1.complete);
        assert_eq!(r.totals.received, 2);
        assert_eq!(r.by_hamlet["Thôn A"].missing, 1);
        assert_eq!(r.by_procedure["birth-residence-insurance"].received, 1);
        let feb = sessions(&c, "2026-02-01", "2026-02-28", 0, 50).unwrap();
        assert_eq!(feb.sessions.len(), 1);
        assert_eq!(feb.sessions[0].missing_seqs, vec![4]);
    }
}
