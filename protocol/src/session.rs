//! Session summaries: what one outreach session did, counted by the field device, with no personal data.
//! They ride in batch manifests (protocol §3.5) so the office can reconcile "expected vs received" per
//! session and report on services rendered, without the field sending anything else.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalogue::ProcedureRef;
use crate::error::ProtocolError;
use crate::sync::{check_seq, check_text, check_uuid, sync_err};
use crate::timestamp::parse_timestamp;

/// Most session summaries in one manifest.
pub const MAX_MANIFEST_SESSIONS: usize = 200;
/// Most dossiers listed in one session summary.
pub const MAX_SESSION_DOSSIERS: usize = 20_000;
/// Most distinct keys in one count map of a summary.
pub const MAX_SUMMARY_KEYS: usize = 200;

/// One dossier sealed in the session: which envelope, which procedure, what it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionDossier {
    /// The envelope's seq on the device's chain.
    pub seq: u64,
    /// The procedure.
    pub procedure: ProcedureRef,
    /// `new`, `refused`, `supersedes` or `voids` (§3.1.1).
    pub disposition: String,
}

/// Consented demographic facts of one ethnic group, by code system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EthnicityTally {
    /// Code system tag, e.g. `vn-1979`.
    pub system: String,
    /// Code in that system.
    pub code: String,
    /// Name of the group (Vietnamese).
    pub name: String,
    /// Services recorded with this ethnicity and the villager's consent.
    pub count: u64,
}

/// What one outreach session did, as its field device counts it when the manifest is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSummary {
    /// The session's UUID (the `session_id` of its dossiers).
    pub session_id: String,
    /// Hamlet or village.
    pub hamlet: String,
    /// `cultural_house`, `school` or `other`.
    pub venue_kind: String,
    /// Venue name.
    pub venue_name: String,
    /// 5-digit commune code, or `null`.
    pub commune_code: Option<String>,
    /// Day of the session, `YYYY-MM-DD` (Asia/Ho_Chi_Minh).
    pub date: String,
    /// RFC 3339 time it was opened.
    pub opened_at: String,
    /// RFC 3339 time it was closed, or `null` while open.
    pub closed_at: Option<String>,
    /// Queue tickets issued.
    pub tickets_issued: u64,
    /// Tickets served to the end (villagers served).
    pub villagers_served: u64,
    /// Tickets called but not answered.
    pub no_show: u64,
    /// Median wait from ticket to first call, seconds, or `null` with no call.
    pub median_wait_secs: Option<u64>,
    /// Services rendered, by kind (`vneid_level2_activated`, `sim_registered`, `dossier_captured`, …).
    pub services: BTreeMap<String, u64>,
    /// Services with the villager's consent to record demographic facts.
    pub consented: u64,
    /// Consented services by sex (`male`, `female`, `other`).
    pub by_sex: BTreeMap<String, u64>,
    /// Consented services by age band (`0-5`, `6-14`, `15-17`, `18-35`, `36-59`, `60+`).
    pub by_age_band: BTreeMap<String, u64>,
    /// Consented services by ethnicity.
    pub by_ethnicity: Vec<EthnicityTally>,
    /// Every dossier sealed in the session so far, ascending seq.
    pub dossiers: Vec<SessionDossier>,
}

const DISPOSITIONS: &[&str] = &["new", "refused", "supersedes", "voids"];
const VENUES: &[&str] = &["cultural_house", "school", "other"];

fn check_counts(what: &str, m: &BTreeMap<String, u64>) -> Result<(), ProtocolError> {
    if m.len() > MAX_SUMMARY_KEYS {
        return Err(sync_err(format!(
            "{what}: more than {MAX_SUMMARY_KEYS} keys"
        )));
    }
    for (k, v) in m {
        check_text(what, k, 64, false)?;
        if *v > crate::MAX_INTEGER {
            return Err(sync_err(format!("{what}: count above 2^53-1")));
        }
    }
    Ok(())
}

impl SessionSummary {
    /// Ids, texts, dates, count limits, dossiers in strictly ascending seq with known dispositions.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        check_uuid("session_id", &self.session_id)?;
        check_text("hamlet", &self.hamlet, 200, false)?;
        if !VENUES.contains(&self.venue_kind.as_str()) {
            return Err(sync_err(format!(
                "venue_kind {:?} is unknown",
                self.venue_kind
            )));
        }
        check_text("venue_name", &self.venue_name, 200, false)?;
        if let Some(c) = &self.commune_code {
            if c.len() != 5 || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err(sync_err(format!("commune_code {c:?} is not 5 digits")));
            }
        }
        if crate::validate::parse_date(&self.date).is_none() {
            return Err(sync_err(format!("date {:?} is not a date", self.date)));
        }
        parse_timestamp(&self.opened_at)?;
        if let Some(t) = &self.closed_at {
            parse_timestamp(t)?;
        }
        for n in [
            self.tickets_issued,
            self.villagers_served,
            self.no_show,
            self.consented,
        ] {
            if n > crate::MAX_INTEGER {
                return Err(sync_err("a count is above 2^53-1"));
            }
        }
        check_counts("services", &self.services)?;
        check_counts("by_sex", &self.by_sex)?;
        check_counts("by_age_band", &self.by_age_band)?;
        if self.by_ethnicity.len() > MAX_SUMMARY_KEYS {
            return Err(sync_err("by_ethnicity: too many groups"));
        }
        for e in &self.by_ethnicity {
            check_text("ethnicity system", &e.system, 64, false)?;
            check_text("ethnicity code", &e.code, 64, false)?;
            check_text("ethnicity name", &e.name, 200, false)?;
        }
        if self.dossiers.len() > MAX_SESSION_DOSSIERS {
            return Err(sync_err(format!(
                "a session lists at most {MAX_SESSION_DOSSIERS} dossiers"
            )));
        }
        let mut last = 0;
        for d in &self.dossiers {
            check_seq("session dossier seq", d.seq)?;
            if d.seq <= last {
                return Err(sync_err(
                    "session dossiers are not in strictly ascending seq",
                ));
            }
            last = d.seq;
            if !DISPOSITIONS.contains(&d.disposition.as_str()) {
                return Err(sync_err(format!(
                    "disposition {:?} is unknown",
                    d.disposition
                )));
            }
            check_text("procedure id", &d.procedure.id, 100, false)?;
        }
        Ok(())
    }
}

/// Checks a manifest's `sessions`: each summary's form, at most [`MAX_MANIFEST_SESSIONS`], ids unique.
pub fn check_sessions(sessions: &[SessionSummary]) -> Result<(), ProtocolError> {
    if sessions.len() > MAX_MANIFEST_SESSIONS {
        return Err(sync_err(format!(
            "a manifest carries at most {MAX_MANIFEST_SESSIONS} session summaries"
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for s in sessions {
        s.check_form()?;
        if !seen.insert(s.session_id.as_str()) {
            return Err(sync_err(format!(
                "session {} is summarised twice",
                s.session_id
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> SessionSummary {
        SessionSummary {
            session_id: "01936f3e-8a2b-7c4d-9e1f-0a1b2c3d4e5f".into(),
            hamlet: "Bù Khơn".into(),
            venue_kind: "cultural_house".into(),
            venue_name: "Nhà văn hóa ấp Bù Khơn".into(),
            commune_code: Some("25480".into()),
            date: "2026-11-20".into(),
            opened_at: "2026-11-20T07:30:00+07:00".into(),
            closed_at: None,
            tickets_issued: 12,
            villagers_served: 10,
            no_show: 1,
            median_wait_secs: Some(300),
            services: BTreeMap::from([
                ("dossier_captured".into(), 3),
                ("sim_registered".into(), 2),
            ]),
            consented: 4,
            by_sex: BTreeMap::from([("female".into(), 3), ("male".into(), 1)]),
            by_age_band: BTreeMap::from([("18-35".into(), 4)]),
            by_ethnicity: vec![EthnicityTally {
                system: "vn-1979".into(),
                code: "40".into(),
                name: "Xtiêng".into(),
                count: 4,
            }],
            dossiers: vec![
                SessionDossier {
                    seq: 3,
                    procedure: ProcedureRef {
                        id: "birth-residence-insurance".into(),
                        version: 1,
                    },
                    disposition: "new".into(),
                },
                SessionDossier {
                    seq: 5,
                    procedure: ProcedureRef {
                        id: "marital-status-certificate".into(),
                        version: 1,
                    },
                    disposition: "refused".into(),
                },
            ],
        }
    }

    #[test]
    fn a_good_summary_passes_and_round_trips() {
        let s = sample();
        s.check_form().unwrap();
        let bytes = crate::canonical_bytes(&s).unwrap();
        let back: SessionSummary = crate::parse_canonical(&bytes).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn bad_summaries_are_refused() {
        let mut s = sample();
        s.dossiers.swap(0, 1);
        assert!(s.check_form().is_err(), "seq order");
        let mut s = sample();
        s.venue_kind = "market".into();
        assert!(s.check_form().is_err(), "venue");
        let mut s = sample();
        s.dossiers[0].disposition = "lost".into();
        assert!(s.check_form().is_err(), "disposition");
        let mut s = sample();
        s.commune_code = Some("2548".into());
        assert!(s.check_form().is_err(), "commune code");
        let s = sample();
        assert!(check_sessions(&[s.clone(), s]).is_err(), "twice");
    }
}
