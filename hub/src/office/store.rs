//! Queries over received dossiers.

use std::collections::{BTreeMap, BTreeSet};

use protocol::ProcedureRef;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::batch::import::held_seqs;
use crate::store::{StoreError, StoreResult};

#[derive(Debug, Clone, Serialize)]
pub struct ReceivedSummary {
    pub dossier_id: String,
    pub device_id: String,
    pub device_name: Option<String>,
    pub seq: u64,
    pub procedure: ProcedureRef,
    pub title: String,
    pub receipt_code: String,
    pub sealed_at: String,
    pub received_at: String,
    /// `verified`, or `verified_gap_before` while earlier envelopes of the device are missing.
    pub verification: &'static str,
    pub attachments: i64,
    /// `new`, `refused`, `supersedes` or `voids` (protocol §3.1.1).
    pub disposition: String,
    /// The earlier dossier this one corrects or cancels.
    pub refers_to: Option<String>,
    /// Why it was refused, corrected or cancelled.
    pub reason: Option<String>,
    /// The later received dossier that corrects or cancels this one (the history, newest link).
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttachmentOut {
    pub index: i64,
    pub name: String,
    pub role: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceivedDossier {
    #[serde(flatten)]
    pub summary: ReceivedSummary,
    pub fields: BTreeMap<String, String>,
    pub attachments: Vec<AttachmentOut>,
    pub checks: serde_json::Value,
    pub procedure_def: Option<&'static protocol::ProcedureDef>,
}

fn verification(held: &BTreeMap<String, BTreeSet<u64>>, device: &str, seq: u64) -> &'static str {
    let complete = held
        .get(device)
        .is_some_and(|s| (1..seq).all(|i| s.contains(&i)));
    if complete {
        "verified"
    } else {
        "verified_gap_before"
    }
}

const SUMMARY_SQL: &str =
    "SELECT d.dossier_id, d.device_id, p.name, d.seq, d.procedure_id, d.procedure_version, d.title,
        d.receipt_code, d.sealed_at, d.received_at,
        (SELECT count(*) FROM received_attachments a WHERE a.dossier_id = d.dossier_id),
        d.disposition, d.refers_to, d.reason,
        (SELECT n.dossier_id FROM received_dossiers n WHERE n.refers_to = d.dossier_id ORDER BY n.seq LIMIT 1)
    FROM received_dossiers d LEFT JOIN trusted_peers p ON p.device_id = d.device_id";

fn summary_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReceivedSummary> {
    Ok(ReceivedSummary {
        dossier_id: r.get(0)?,
        device_id: r.get(1)?,
        device_name: r.get(2)?,
        seq: r.get::<_, i64>(3)? as u64,
        procedure: ProcedureRef {
            id: r.get(4)?,
            version: r.get(5)?,
        },
        title: r.get(6)?,
        receipt_code: r.get(7)?,
        sealed_at: r.get(8)?,
        received_at: r.get(9)?,
        verification: "verified",
        attachments: r.get(10)?,
        disposition: r.get(11)?,
        refers_to: r.get(12)?,
        reason: r.get(13)?,
        replaced_by: r.get(14)?,
    })
}

pub fn list(c: &Connection) -> StoreResult<Vec<ReceivedSummary>> {
    let held = held_seqs(c)?;
    let mut st = c.prepare(&format!(
        "{SUMMARY_SQL} ORDER BY d.received_at DESC, d.device_id, d.seq DESC"
    ))?;
    let rows = st.query_map([], summary_row)?;
    let mut out = Vec::new();
    for r in rows {
        let mut s = r?;
        s.verification = verification(&held, &s.device_id, s.seq);
        out.push(s);
    }
    Ok(out)
}

pub fn get(c: &Connection, id: &str) -> StoreResult<Option<ReceivedDossier>> {
    let held = held_seqs(c)?;
    let row = c
        .query_row(
            &format!("{SUMMARY_SQL} WHERE d.dossier_id = ?1"),
            [id],
            |r| Ok((summary_row(r)?, ())),
        )
        .optional()?;
    let Some((mut summary, ())) = row else {
        return Ok(None);
    };
    summary.verification = verification(&held, &summary.device_id, summary.seq);
    let (fields_json, checks_json): (String, String) = c.query_row(
        "SELECT fields_json, checks_json FROM received_dossiers WHERE dossier_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut st = c.prepare(
        "SELECT idx, name, role, media_type, size, sha256 FROM received_attachments WHERE dossier_id = ?1 ORDER BY idx",
    )?;
    let attachments = st
        .query_map([id], |r| {
            Ok(AttachmentOut {
                index: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
                media_type: r.get(3)?,
                size: r.get(4)?,
                sha256: r.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let procedure_def = protocol::find_procedure(&summary.procedure);
    Ok(Some(ReceivedDossier {
        summary,
        fields: serde_json::from_str(&fields_json)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        attachments,
        checks: serde_json::from_str(&checks_json).unwrap_or(serde_json::Value::Null),
        procedure_def,
    }))
}

pub fn attachment(c: &Connection, id: &str, index: i64) -> StoreResult<Option<(String, Vec<u8>)>> {
    Ok(c.query_row(
        "SELECT media_type, bytes FROM received_attachments WHERE dossier_id = ?1 AND idx = ?2",
        rusqlite::params![id, index],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()?)
}
