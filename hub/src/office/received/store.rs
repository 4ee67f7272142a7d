//! Queries over received dossiers.

use std::collections::BTreeMap;

use protocol::ProcedureRef;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::shared::store::{StoreError, StoreResult};

/// `verified`, or `verified_gap_before` while earlier envelopes of the device are missing.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: travels as a string
pub enum Verification {
    Verified,
    VerifiedGapBefore,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceivedSummary {
    pub dossier_id: String,
    pub device_id: String,
    pub device_name: Option<String>,
    pub seq: u64,
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: ProcedureRef,
    pub title: String,
    #[schema(
        pattern = "^([0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{2}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U])$"
    )]
    pub receipt_code: String,
    #[schema(format = DateTime)]
    pub sealed_at: String,
    #[schema(format = DateTime)]
    pub received_at: String,
    /// `verified`, or `verified_gap_before` while earlier envelopes of the device are missing.
    #[schema(value_type = Verification)]
    pub verification: &'static str,
    pub attachments: i64,
    /// `new`, `refused`, `supersedes` or `voids` (protocol §3.1.1).
    #[schema(value_type = crate::shared::api_doc::field_schemas::Disposition)]
    pub disposition: String,
    /// The earlier dossier this one corrects or cancels.
    pub refers_to: Option<String>,
    /// Why it was refused, corrected or cancelled.
    pub reason: Option<String>,
    /// The later received dossier that corrects or cancels this one (the history, newest link).
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentOut {
    pub index: i64,
    pub name: String,
    /// The role the procedure gives the photo (e.g. `birth_notice`).
    pub role: String,
    pub media_type: String,
    pub size: i64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceivedDossier {
    #[serde(flatten)]
    pub summary: ReceivedSummary,
    /// The dossier's fields by key (values as typed, text).
    pub fields: BTreeMap<String, String>,
    pub attachments: Vec<AttachmentOut>,
    /// The checks recorded when it was stored (null if unreadable).
    #[schema(value_type = Option<Vec<crate::office::intake::verify::CheckResult>>)]
    pub checks: serde_json::Value,
    /// The procedure definition it was sealed under, when this hub knows it: free-form here, its schema is
    /// the ProcedureDef of docs/protocol.md §7.1 (fields, labels, rules).
    #[schema(value_type = Option<Object>)]
    pub procedure_def: Option<&'static protocol::ProcedureDef>,
}

/// `verified`, or `verified_gap_before` while an earlier envelope of the device is missing: seqs are unique
/// per device from 1, so all are held when `seq - 1` of them are below `seq` (one index range count).
fn verification(c: &Connection, device: &str, seq: u64) -> StoreResult<&'static str> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM received_envelopes WHERE device_id = ?1 AND seq < ?2",
        rusqlite::params![device, seq as i64],
        |r| r.get(0),
    )?;
    Ok(if n as u64 == seq.saturating_sub(1) {
        "verified"
    } else {
        "verified_gap_before"
    })
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

pub fn get(c: &Connection, id: &str) -> StoreResult<Option<ReceivedDossier>> {
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
    summary.verification = verification(c, &summary.device_id, summary.seq)?;
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
    let procedure_def = crate::shared::procedures::find(&summary.procedure);
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

/// Filters and page of the received list (`GET /api/v1/office/dossiers`).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub procedure: Option<String>,
    pub status: Option<String>,
    pub device: Option<String>,
    pub session: Option<String>,
    /// A receipt code, or its beginning (hyphens and case ignored).
    pub q: Option<String>,
    pub limit: usize,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// A row of the received list: the summary plus where it stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListRow {
    #[serde(flatten)]
    pub summary: ReceivedSummary,
    #[schema(value_type = crate::shared::api_doc::protocol::CaseworkStatus)]
    pub status: String,
    #[schema(format = Date)]
    pub received_on: Option<String>,
    #[schema(format = Date)]
    pub due_on: Option<String>,
    pub overdue: bool,
    pub session_id: Option<String>,
}

/// The receipt code as stored (display form, upper case) from what a clerk typed, for prefix search: a
/// whole code (either form, typed leniently) as its display form, else the beginning of one with the
/// hyphens re-inserted where both forms have them (`0576-4731-3978-80`, `GRW7-M2JC-F`: after 4, 8 and 12).
fn code_prefix(q: &str) -> String {
    if let Ok(code) = protocol::ReceiptCode::parse(q) {
        return code.to_string();
    }
    let clean: String = q
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let mut out = String::new();
    for (i, ch) in clean.chars().enumerate() {
        if i == 4 || i == 8 || i == 12 {
            out.push('-');
        }
        out.push(ch);
    }
    out
}

/// One page of received dossiers, newest first (keyset on received_at, rowid), with the next cursor and
/// the total matching the filters. Only the filters given enter the SQL, so each can use its index.
pub fn list_page(
    c: &mut Connection,
    q: &ListQuery,
) -> StoreResult<(Vec<ListRow>, Option<String>, i64)> {
    use rusqlite::types::Value as V;
    crate::office::casework::store::ensure_rows(c)?;
    let today = crate::office::casework::deadline::fmt_date(crate::shared::clock::today_vn());
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<V> = Vec::new();
    let mut add = |clause: &str, vals: Vec<V>| {
        let mut cl = clause.to_owned();
        for v in vals {
            args.push(v);
            cl = cl.replacen('$', &format!("?{}", args.len()), 1);
        }
        clauses.push(cl);
    };
    if let Some(p) = &q.procedure {
        add("d.procedure_id = $", vec![V::Text(p.clone())]);
    }
    if let Some(st) = &q.status {
        add("s.status = $", vec![V::Text(st.clone())]);
    }
    if let Some(dv) = &q.device {
        add("d.device_id = $", vec![V::Text(dv.clone())]);
    }
    if let Some(se) = &q.session {
        add("d.session_id = $", vec![V::Text(se.clone())]);
    }
    if let Some(pre) = q.q.as_deref().map(code_prefix).filter(|p| !p.is_empty()) {
        add(
            "d.receipt_code >= $ AND d.receipt_code < $",
            vec![V::Text(pre.clone()), V::Text(format!("{pre}~"))],
        );
    }
    let filters = if clauses.is_empty() {
        "1".to_owned()
    } else {
        clauses.join(" AND ")
    };
    let status_join = if q.status.is_some() {
        "JOIN dossier_status s ON s.dossier_id = d.dossier_id"
    } else {
        "LEFT JOIN dossier_status s ON s.dossier_id = d.dossier_id"
    };
    let total: i64 = c.query_row(
        &format!("SELECT count(*) FROM received_dossiers d {status_join} WHERE {filters}"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut page_args = args.clone();
    let mut page_filters = filters.clone();
    if let Some((at, rowid)) = q
        .cursor
        .as_deref()
        .and_then(|c| c.rsplit_once('|'))
        .and_then(|(a, b)| Some((a.to_owned(), b.parse::<i64>().ok()?)))
    {
        let n = page_args.len();
        page_filters.push_str(&format!(
            " AND (d.received_at < ?{a} OR (d.received_at = ?{a} AND d.rowid < ?{b}))",
            a = n + 1,
            b = n + 2
        ));
        page_args.push(V::Text(at));
        page_args.push(V::Integer(rowid));
    }
    page_args.push(V::Integer(q.limit as i64 + 1));
    let sql = format!(
        "SELECT d.dossier_id, d.device_id, p.name, d.seq, d.procedure_id, d.procedure_version, d.title,
            d.receipt_code, d.sealed_at, d.received_at,
            (SELECT count(*) FROM received_attachments a WHERE a.dossier_id = d.dossier_id),
            d.disposition, d.refers_to, d.reason,
            (SELECT n.dossier_id FROM received_dossiers n WHERE n.refers_to = d.dossier_id ORDER BY n.seq LIMIT 1),
            coalesce(s.status, 'received'), s.received_on, s.due_on, s.closed_at, d.session_id, d.rowid
         FROM received_dossiers d LEFT JOIN trusted_peers p ON p.device_id = d.device_id {status_join}
         WHERE {page_filters}
         ORDER BY d.received_at DESC, d.rowid DESC LIMIT ?{}",
        page_args.len()
    );
    let mut st = c.prepare(&sql)?;
    let rows = st.query_map(rusqlite::params_from_iter(page_args.iter()), |r| {
        let summary = summary_row(r)?;
        let closed: Option<String> = r.get(18)?;
        let due: Option<String> = r.get(17)?;
        Ok((
            ListRow {
                overdue: closed.is_none() && due.as_deref().is_some_and(|d| d < today.as_str()),
                summary,
                status: r.get(15)?,
                received_on: r.get(16)?,
                due_on: due,
                session_id: r.get(19)?,
            },
            r.get::<_, i64>(20)?,
        ))
    })?;
    let mut out = Vec::new();
    let mut last_rowid = 0;
    for row in rows {
        let (mut row, rowid) = row?;
        row.summary.verification = verification(c, &row.summary.device_id, row.summary.seq)?;
        if out.len() < q.limit {
            last_rowid = rowid;
        }
        out.push(row);
    }
    let next = if out.len() > q.limit {
        out.truncate(q.limit);
        out.last()
            .map(|r| format!("{}|{}", r.summary.received_at, last_rowid))
    } else {
        None
    };
    Ok((out, next, total))
}

#[cfg(test)]
mod code_search_tests {
    use super::code_prefix;

    #[test]
    fn a_typed_code_or_its_beginning_becomes_the_stored_form() {
        // Whole codes, either form, typed leniently.
        assert_eq!(code_prefix("0576 4731 3978 80"), "0576-4731-3978-80");
        assert_eq!(code_prefix("05764731397880"), "0576-4731-3978-80");
        assert_eq!(code_prefix("grw7 m2jc f"), "GRW7-M2JC-F");
        // Beginnings: hyphens where the stored codes have them.
        assert_eq!(code_prefix("0576"), "0576");
        assert_eq!(code_prefix("057647"), "0576-47");
        assert_eq!(code_prefix("0576 4731 3978"), "0576-4731-3978");
        assert_eq!(code_prefix("0576473139788"), "0576-4731-3978-8");
        assert_eq!(code_prefix("grw7m2"), "GRW7-M2");
    }
}
