//! Exports in the store: which dossiers a system still waits for, recording an export (the export, its
//! items and an `exported` audit entry per dossier, in one transaction of set-based inserts), the list of
//! past exports, and reading an export's dossiers back in chunks to write the file.

use rusqlite::{named_params, params, Connection, OptionalExtension};
use serde::Serialize;

use super::systems::{Record, System};
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// Which dossiers to export, besides the system's procedure.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only these dossiers (still subject to the other rules).
    pub dossier_ids: Option<Vec<String>>,
    /// Only dossiers with this casework status (`received` when no status row).
    pub status: Option<String>,
    /// Received at or after this instant (RFC 3339 UTC).
    pub received_from: Option<String>,
    /// Received before this instant (RFC 3339 UTC).
    pub received_before: Option<String>,
    /// Include dossiers already exported to the system.
    pub again: bool,
}

/// The dossiers of the system's procedure that may go to it: not merged into another, not refused, not a
/// cancellation, not replaced by a later correction or cancellation, not rejected (unless that status is
/// asked for), and — unless `again` — not yet exported to this system. `:p`-named parameters are bound by
/// [`bind`].
const SELECT_SQL: &str = "
    SELECT d.dossier_id FROM received_dossiers d
    LEFT JOIN dossier_status s ON s.dossier_id = d.dossier_id
    WHERE d.procedure_id = :procedure
      AND d.disposition NOT IN ('refused', 'voids')
      AND NOT EXISTS (SELECT 1 FROM received_dossiers n WHERE n.refers_to = d.dossier_id)
      AND NOT EXISTS (SELECT 1 FROM merged_away m WHERE m.dossier_id = d.dossier_id)
      AND (:again OR NOT EXISTS
            (SELECT 1 FROM export_items e WHERE e.system = :system AND e.dossier_id = d.dossier_id))
      AND (CASE WHEN :status IS NULL THEN COALESCE(s.status, 'received') <> 'rejected'
                ELSE COALESCE(s.status, 'received') = :status END)
      AND (:from IS NULL OR d.received_at >= :from)
      AND (:before IS NULL OR d.received_at < :before)
      AND (:ids IS NULL OR d.dossier_id IN (SELECT value FROM json_each(:ids)))
      AND (:needs IS NULL OR EXISTS (
            SELECT 1 FROM json_each(CASE WHEN json_valid(s.result_json) THEN s.result_json ELSE '[]' END) r
            WHERE json_extract(r.value, '$.kind') = :needs
              AND COALESCE(json_extract(r.value, '$.number'), '') <> ''))
      AND (:w_op IS NULL OR (CASE :w_op
            WHEN 'equals' THEN NULLIF(json_extract(d.fields_json, :w_path), '') = :w_val
            WHEN 'not_equals' THEN NULLIF(json_extract(d.fields_json, :w_path), '') <> :w_val
            WHEN 'empty' THEN NULLIF(json_extract(d.fields_json, :w_path), '') IS NULL
            WHEN 'filled' THEN NULLIF(json_extract(d.fields_json, :w_path), '') IS NOT NULL
            WHEN 'one_of' THEN NULLIF(json_extract(d.fields_json, :w_path), '')
                               IN (SELECT value FROM json_each(:w_val))
          END))";

/// The system's condition (`when` of its newest mapping, see protocol §13a) as the `:w_op`, `:w_path` and
/// `:w_val` parameters of [`SELECT_SQL`]: which test, the JSON path of the field in `fields_json`, the value
/// (a JSON list for `one_of`). All `None` when every dossier of the procedure goes to the system.
fn when_params(sys: &System) -> (Option<&'static str>, Option<String>, Option<String>) {
    let Some(c) = &sys.newest.when else {
        return (None, None, None);
    };
    let path = Some(format!("$.\"{}\"", c.field));
    match (&c.equals, &c.not_equals, c.empty, &c.one_of) {
        (Some(v), _, _, _) => (Some("equals"), path, Some(v.clone())),
        (None, Some(v), _, _) => (Some("not_equals"), path, Some(v.clone())),
        (None, None, Some(true), _) => (Some("empty"), path, None),
        (None, None, Some(false), _) => (Some("filled"), path, None),
        (None, None, None, Some(l)) => (
            Some("one_of"),
            path,
            Some(serde_json::Value::from(l.clone()).to_string()),
        ),
        // A malformed condition (refused by the package checks): nothing goes.
        _ => (Some("equals"), path, Some("\u{0}".into())),
    }
}

/// The result number a system waits for: the child's personal identification number (`pin`) when its
/// newest mapping exports it (CT01, TK1-TS). Such a dossier is not delivered there, and stays pending for
/// it, until the number is recorded. Other result numbers (a registration's own number) do not hold a
/// dossier back: the system they go to is where that number is made.
pub fn needs(sys: &System) -> Option<&'static str> {
    use protocol::package::export::Source;
    sys.columns()
        .iter()
        .any(|i| matches!(&i.value, Source::ResultNumber(k) if k == PIN))
        .then_some(PIN)
}

/// The result kind of the personal identification number given at registration.
pub const PIN: &str = "pin";

fn ids_json(sel: &Selection) -> Option<String> {
    sel.dossier_ids
        .as_ref()
        .map(|ids| serde_json::Value::from(ids.clone()).to_string())
}

/// How many dossiers `sel` picks for `sys` now.
pub fn count(c: &Connection, sys: &System, sel: &Selection) -> StoreResult<i64> {
    count_with(c, sys, sel, needs(sys))
}

/// Like [`count`], waiting for the result number `needs` (none: every dossier otherwise ready).
fn count_with(
    c: &Connection,
    sys: &System,
    sel: &Selection,
    needs: Option<&str>,
) -> StoreResult<i64> {
    let ids = ids_json(sel);
    let (w_op, w_path, w_val) = when_params(sys);
    Ok(c.query_row(
        &format!("SELECT count(*) FROM ({SELECT_SQL})"),
        named_params! {
            ":procedure": sys.procedure_id.as_str(),
            ":system": sys.id.as_str(),
            ":again": sel.again,
            ":status": sel.status,
            ":from": sel.received_from,
            ":before": sel.received_before,
            ":ids": ids,
            ":w_op": w_op,
            ":w_path": w_path,
            ":w_val": w_val,
            ":needs": needs,
        },
        |r| r.get(0),
    )?)
}

/// Of `ids`, how many are dossiers of the system's procedure (to refuse a selection naming others).
pub fn count_of_procedure(c: &Connection, sys: &System, ids: &[String]) -> StoreResult<i64> {
    let ids = serde_json::Value::from(ids.to_vec()).to_string();
    Ok(c.query_row(
        "SELECT count(DISTINCT d.dossier_id) FROM received_dossiers d
         WHERE d.procedure_id = ?1 AND d.dossier_id IN (SELECT value FROM json_each(?2))",
        params![sys.procedure_id.as_str(), ids],
        |r| r.get(0),
    )?)
}

/// Who made an export.
pub struct Maker<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// Records an export of the dossiers `sel` picks and makes its file, in one transaction: the export, its
/// items, one `exported` audit entry per dossier, the file written durably in the data directory (see
/// [`Files`]) and its SHA-256. The file's bytes are what every download of the export then sends. `None`
/// when nothing is picked (nothing is recorded).
pub fn create(
    c: &mut Connection,
    sys: &System,
    format: &str,
    sel: &Selection,
    by: Maker<'_>,
    files: &Files,
) -> StoreResult<Option<(String, i64)>> {
    let tx = write_tx(c)?;
    let id = uuid::Uuid::now_v7().to_string();
    let now = crate::shared::clock::now_rfc3339();
    tx.execute(
        "INSERT INTO exports(id, system, format, rows, created_by, created_at) VALUES (?1, ?2, ?3, 0, ?4, ?5)",
        params![id, sys.id.as_str(), format, by.id, now],
    )
    .map_err(StoreError::classify)?;
    let ids = ids_json(sel);
    let (w_op, w_path, w_val) = when_params(sys);
    let rows = tx
        .execute(
            &format!(
                "INSERT INTO export_items(export_id, dossier_id, system)
                 SELECT :export, dossier_id, :system FROM ({SELECT_SQL})"
            ),
            named_params! {
                ":export": id,
                ":procedure": sys.procedure_id.as_str(),
                ":system": sys.id.as_str(),
                ":again": sel.again,
                ":status": sel.status,
                ":from": sel.received_from,
                ":before": sel.received_before,
                ":ids": ids,
                ":w_op": w_op,
                ":w_path": w_path,
                ":w_val": w_val,
                ":needs": needs(sys),
            },
        )
        .map_err(StoreError::classify)? as i64;
    if rows == 0 {
        // Nothing to export: record nothing.
        return Ok(None);
    }
    // The audit log (casework's table, append-only): one entry per dossier, set-based.
    tx.execute(
        "INSERT INTO audit_log(at, actor_id, actor_name, dossier_id, action, detail_json)
         SELECT ?1, ?2, ?3, dossier_id, 'exported',
                json_object('export_id', ?4, 'system', ?5, 'format', ?6, 'again', json(?7))
         FROM export_items WHERE export_id = ?4",
        params![
            now,
            by.id,
            by.name,
            id,
            sys.id.as_str(),
            format,
            if sel.again { "true" } else { "false" }
        ],
    )
    .map_err(StoreError::classify)?;
    tx.execute(
        "UPDATE exports SET rows = ?2 WHERE id = ?1",
        params![id, rows],
    )
    .map_err(StoreError::classify)?;
    let ex = get(&tx, &id)?.ok_or_else(|| StoreError::Corrupt("export just made".into()))?;
    let sha = files.make(&tx, sys, &ex)?;
    let recorded = tx
        .execute(
            "UPDATE exports SET sha256 = ?2, completed_at = ?3 WHERE id = ?1",
            params![id, sha, now],
        )
        .and_then(|_| tx.commit());
    if let Err(e) = recorded {
        // Not recorded (rolled back): its file must not outlive it.
        let _ = std::fs::remove_file(files.path(&ex));
        return Err(StoreError::classify(e));
    }
    Ok(Some((id, rows)))
}

/// Where export files are kept: `exports/<id>.<format>` in the data directory, written once (temporary
/// file, fsync, rename, directory fsync; mode 0600; sealed under the data key when the directory is
/// protected) and never rewritten. Backups take them with the rest of the data directory.
pub struct Files {
    pub data_dir: std::path::PathBuf,
}

impl Files {
    /// The folder of the kept files.
    pub fn dir(&self) -> std::path::PathBuf {
        self.data_dir.join("exports")
    }

    /// The kept file of `ex`.
    pub fn path(&self, ex: &ExportOut) -> std::path::PathBuf {
        self.dir().join(format!("{}.{}", ex.id, ex.format))
    }

    /// Builds the file of `ex` from the store as it is now, keeps it durably, and gives its SHA-256.
    pub fn make(&self, c: &Connection, sys: &System, ex: &ExportOut) -> StoreResult<String> {
        use sha2::Digest;
        use std::os::unix::fs::PermissionsExt;
        let dir = self.dir();
        std::fs::create_dir_all(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let bytes = if ex.format == "xlsx" {
            let tmp = self.data_dir.join("exports-tmp");
            std::fs::create_dir_all(&tmp)?;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o700))?;
            super::render::xlsx(c, sys, ex, &tmp)?
        } else {
            super::render::csv(c, sys, ex)?
        };
        crate::shared::vault::files::write_secret(&self.data_dir, &self.path(ex), &bytes)
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        Ok(hex::encode(sha2::Sha256::digest(&bytes)))
    }

    /// The kept bytes of `ex`, or `None` when it has none (an export made before files were kept).
    pub fn read(&self, ex: &ExportOut) -> StoreResult<Option<Vec<u8>>> {
        let path = self.path(ex);
        if !path.exists() {
            return Ok(None);
        }
        crate::shared::vault::files::read_secret(&self.data_dir, &path)
            .map(Some)
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))
    }
}

/// A past export as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExportOut {
    pub id: String,
    /// The national system's id.
    pub system: String,
    /// `csv` or `xlsx`.
    #[schema(value_type = super::routes::ExportFormat)]
    pub format: String,
    pub rows: i64,
    pub created_by: String,
    pub created_by_name: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When its file was first fully written (null until then).
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
    /// The file's SHA-256 once written.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: Option<String>,
    /// The file name it downloads as.
    pub file_name: String,
}

const EXPORT_SQL: &str =
    "SELECT x.id, x.system, x.format, x.rows, x.created_by, u.name, x.created_at,
        x.completed_at, x.sha256,
        (SELECT count(*) FROM exports y WHERE y.system = x.system AND y.id <= x.id)
    FROM exports x LEFT JOIN users u ON u.id = x.created_by";

fn export_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ExportOut> {
    let system: String = r.get(1)?;
    let format: String = r.get(2)?;
    let created_at: String = r.get(6)?;
    let n: i64 = r.get(9)?;
    let file_name = file_name(&system, &created_at, n, &format);
    Ok(ExportOut {
        id: r.get(0)?,
        system,
        format,
        rows: r.get(3)?,
        created_by: r.get(4)?,
        created_by_name: r.get(5)?,
        created_at,
        completed_at: r.get(7)?,
        sha256: r.get(8)?,
        file_name,
    })
}

/// `<system>-<YYYYMMDD-HHMM>-<n>.<format>`: the local (Vietnam) time of the export and its ordinal among
/// the system's exports.
pub fn file_name(system: &str, created_at: &str, n: i64, format: &str) -> String {
    let stamp = local_time(created_at)
        .map(|t| {
            format!(
                "{:04}{:02}{:02}-{:02}{:02}",
                t.year(),
                t.month() as u8,
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|| "00000000-0000".into());
    format!("{system}-{stamp}-{n}.{format}")
}

/// An RFC 3339 time in Vietnam's local time (UTC+7).
pub fn local_time(s: &str) -> Option<time::PrimitiveDateTime> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let t = t.to_offset(time::UtcOffset::from_hms(7, 0, 0).ok()?);
    Some(time::PrimitiveDateTime::new(t.date(), t.time()))
}

/// One export.
pub fn get(c: &Connection, id: &str) -> StoreResult<Option<ExportOut>> {
    Ok(
        c.query_row(&format!("{EXPORT_SQL} WHERE x.id = ?1"), [id], export_row)
            .optional()?,
    )
}

/// Past exports, newest first, `limit` at most, older than `before` (an export id) when given.
pub fn list(c: &Connection, before: Option<&str>, limit: i64) -> StoreResult<Vec<ExportOut>> {
    let mut st = c.prepare(&format!(
        "{EXPORT_SQL} WHERE (?1 IS NULL OR x.id < ?1) ORDER BY x.id DESC LIMIT ?2"
    ))?;
    let rows = st.query_map(params![before, limit], export_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Per system: how many dossiers are ready and not yet exported there, and how many more wait for the
/// result number it needs (see [`needs`]).
pub fn pending(c: &Connection) -> StoreResult<Vec<(System, i64, i64)>> {
    super::systems::systems()
        .into_iter()
        .map(|s| {
            let n = count(c, &s, &Selection::default())?;
            let waiting = match needs(&s) {
                Some(_) => count_with(c, &s, &Selection::default(), None)? - n,
                None => 0,
            };
            Ok((s, n, waiting))
        })
        .collect()
}

/// Up to `limit` dossiers of export `id` after `after` (by dossier id), with their fields and result
/// numbers.
pub fn chunk(c: &Connection, id: &str, after: &str, limit: i64) -> StoreResult<Vec<Record>> {
    let mut st = c.prepare_cached(
        "SELECT e.dossier_id, d.receipt_code, d.received_at, d.procedure_id, d.procedure_version,
                d.fields_json, s.result_json
         FROM export_items e
         JOIN received_dossiers d ON d.dossier_id = e.dossier_id
         LEFT JOIN dossier_status s ON s.dossier_id = e.dossier_id
         WHERE e.export_id = ?1 AND e.dossier_id > ?2
         ORDER BY e.dossier_id LIMIT ?3",
    )?;
    let rows = st.query_map(params![id, after, limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, u32>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (dossier_id, receipt_code, received_at, pid, pver, fields, results) = row?;
        let fields =
            serde_json::from_str(&fields).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        out.push(Record {
            dossier_id,
            receipt_code,
            received_at,
            procedure: protocol::ProcedureRef {
                id: pid,
                version: pver,
            },
            fields,
            results: results.as_deref().map(parse_results).unwrap_or_default(),
        });
    }
    Ok(out)
}

/// `[{"kind": …, "number": …}]` → pairs; anything else is no numbers.
fn parse_results(json: &str) -> Vec<(String, String)> {
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            Some((
                i.get("kind")?.as_str()?.to_owned(),
                i.get("number")?.as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Notes the file's digest of an export made before files were kept, the first time its file is made.
pub fn completed(c: &Connection, id: &str, sha256: &str) -> StoreResult<()> {
    c.execute(
        "UPDATE exports SET sha256 = ?2, completed_at = ?3 WHERE id = ?1 AND completed_at IS NULL",
        params![id, sha256, crate::shared::clock::now_rfc3339()],
    )
    .map_err(StoreError::classify)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::procedures::registry;

    fn store(c: &Connection, id: &str, proc_id: &str, fields: serde_json::Value) {
        c.execute(
            "INSERT INTO received_envelopes(device_id, seq, hash, prev, header, signature, dossier_id, batch_id, received_at)
             VALUES ('dev', (SELECT count(*) + 1 FROM received_envelopes), 'h', 'p', x'00', 's', ?1, 'b', 'x')",
            [id],
        )
        .unwrap();
        c.execute(
            "INSERT INTO received_dossiers(dossier_id, device_id, seq, procedure_id, procedure_version, receipt_code,
                 title, fields_json, signed_dossier, sealed_at, received_at, checks_json, disposition)
             VALUES (?1, 'dev', (SELECT seq FROM received_envelopes WHERE dossier_id = ?1), ?2, 1, 'R', 't', ?3,
                 x'00', 'x', 'x', '[]', 'new')",
            params![id, proc_id, fields.to_string()],
        )
        .unwrap();
    }

    /// A system with a condition takes only the dossiers that meet it; each kind of condition.
    #[test]
    fn a_system_with_a_condition_takes_only_the_dossiers_that_meet_it() {
        let base = protocol::builtin_packages()
            .iter()
            .find(|p| p.procedure.id == "marital-status-certificate" && p.procedure.version == 1)
            .unwrap();
        let cases: [(&str, serde_json::Value, &[&str]); 5] = [
            (
                "equals",
                serde_json::json!({"field": "requester.relationship", "equals": "other"}),
                &["b"],
            ),
            (
                "not-equals",
                serde_json::json!({"field": "requester.relationship", "not_equals": "other"}),
                &["a"],
            ),
            (
                "empty",
                serde_json::json!({"field": "requester.phone", "empty": true}),
                &["b", "c"],
            ),
            (
                "filled",
                serde_json::json!({"field": "requester.phone", "empty": false}),
                &["a"],
            ),
            (
                "one-of",
                serde_json::json!({"field": "requester.relationship", "one_of": ["self", "other"]}),
                &["a", "b"],
            ),
        ];
        for (name, when, want) in cases {
            let mut p = base.clone();
            p.procedure.id = format!("when-test-{name}");
            let mut sys = p.exports[0].clone();
            sys.id = format!("when_test_{}", name.replace('-', "_"));
            sys.when = Some(serde_json::from_value(when).unwrap());
            p.exports = vec![sys.clone()];
            p.layouts.clear();
            p.check_form().unwrap();
            let hash = p.hash().unwrap();
            let pid = p.procedure.id.clone();
            registry::add(p, hash, registry::Origin::Published).unwrap();
            let c = crate::shared::store::open_memory().unwrap();
            store(
                &c,
                "a",
                &pid,
                serde_json::json!({"requester.relationship": "self", "requester.phone": "0912345678"}),
            );
            store(
                &c,
                "b",
                &pid,
                serde_json::json!({"requester.relationship": "other", "requester.phone": ""}),
            );
            store(&c, "c", &pid, serde_json::json!({}));
            let system = super::super::systems::systems()
                .into_iter()
                .find(|s| s.id == sys.id)
                .unwrap();
            let n = count(&c, &system, &Selection::default()).unwrap();
            assert_eq!(n, want.len() as i64, "{name}");
            let mut ids: Vec<String> = c
                .prepare(&format!("SELECT dossier_id FROM ({SELECT_SQL}) ORDER BY 1"))
                .unwrap()
                .query_map(
                    named_params! {
                        ":procedure": pid.as_str(), ":system": sys.id.as_str(), ":again": false,
                        ":status": None::<String>, ":from": None::<String>, ":before": None::<String>,
                        ":ids": None::<String>, ":needs": None::<String>, ":w_op": when_params(&system).0,
                        ":w_path": when_params(&system).1, ":w_val": when_params(&system).2,
                    },
                    |r| r.get(0),
                )
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            ids.sort();
            assert_eq!(ids, want, "{name}");
        }
    }
}
