//! Batch files: the self-describing file that carries sealed envelopes from a field hub to the office on a
//! USB stick. The file is an SQLite database (robust, inspectable with `sqlite3`) with this layout:
//!
//! ```sql
//! batch_meta(key TEXT PRIMARY KEY, value TEXT)   -- format = 'outreach-kit-batch', format_version = '2'
//!                                                -- ('1' still read), batch_id, device_id, created_at
//!                                                -- (unsigned copies, checked against the manifest)
//! manifest(id INTEGER PRIMARY KEY CHECK (id = 1), body BLOB, signature TEXT)
//!                                                -- body: canonical JSON of the BatchManifest
//! envelopes(seq INTEGER PRIMARY KEY, header BLOB, signature TEXT, payload BLOB)
//!                                                -- header: canonical JSON of the EnvelopeHeader
//! blobs(sha256 TEXT PRIMARY KEY, bytes BLOB)     -- encrypted photos, by hash of the ciphertext
//! ```
//!
//! The field writes one from its chain (`field::uploader::batch_file`); the office verifies it envelope by
//! envelope (`office::intake::batch_import`). This module holds what both sides agree on: the format
//! name, its version and the schema — and how a reader opens a file it must not trust
//! ([`UntrustedBatch`], protocol §8.1): the header checked before SQLite sees it, read-only and immutable,
//! defensive mode, no trusted schema, views and triggers off, tight limits, a deadline on every step, and
//! a schema proven identical to [`SCHEMA`] before any row is read.

pub const FORMAT: &str = "outreach-kit-batch";
/// The version this hub writes (2: session summaries sealed to the office, protocol §3.5, §8).
pub const FORMAT_VERSION: &str = protocol::BATCH_FORMAT_V2;
/// Every version this hub reads: 1 (summaries in plaintext, written by field hubs before format 2) and 2.
pub const READABLE_VERSIONS: [&str; 2] = [protocol::BATCH_FORMAT_V1, protocol::BATCH_FORMAT_V2];

pub(crate) const SCHEMA: &str = "
CREATE TABLE batch_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE manifest(id INTEGER PRIMARY KEY CHECK (id = 1), body BLOB NOT NULL, signature TEXT NOT NULL);
CREATE TABLE envelopes(seq INTEGER PRIMARY KEY, header BLOB NOT NULL, signature TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE blobs(sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);
";

/// The largest batch file a reader opens (the office's upload limit too).
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// The largest single value (string or blob) a reader accepts: a photo is at most 10 MiB before its
/// encryption, so 16 MiB leaves room and refuses anything far larger.
pub const MAX_VALUE_BYTES: i32 = 16 * 1024 * 1024;

/// How long any one step of reading a batch file may run before it is interrupted.
pub const STEP_BOUND: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the integrity check of a whole file may run (it reads every page).
pub const CHECK_BOUND: std::time::Duration = std::time::Duration::from_secs(60);

/// How long reading one file may take in all, whatever its steps.
pub const READ_BOUND: std::time::Duration = std::time::Duration::from_secs(600);

/// Why a batch file is refused before anything in it is trusted: a stable code and a message in
/// Vietnamese and English (no personal data: the file's contents are never quoted).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub code: &'static str,
    pub message_vi: String,
    pub message_en: String,
    /// A technical detail for the report and the log (SQLite's words, an object's name).
    #[serde(skip)]
    pub detail: String,
}

impl Refusal {
    fn new(code: &'static str, vi: &str, en: &str, detail: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message_vi: vi.into(),
            message_en: en.into(),
            detail: detail.into(),
        }
    }

    pub fn not_sqlite(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_not_sqlite",
            "Tệp này không phải tệp lô (.batch) của bộ công cụ: nó không phải cơ sở dữ liệu SQLite.",
            "This is not a batch file (.batch) of the kit: it is not an SQLite database.",
            detail,
        )
    }

    pub fn bad_header(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_bad_header",
            "Phần đầu của tệp lô có giá trị không được phép (cỡ trang, chế độ ghi nhật ký hoặc mã hoá ký tự); tệp bị từ chối.",
            "The batch file's header holds values a batch may not have (page size, journal mode or text encoding); the file is refused.",
            detail,
        )
    }

    pub fn damaged(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_damaged",
            "Tệp lô bị hỏng hoặc bị cắt ngắn (có thể do chép dở). Hãy xuất lại lô ở trạm hiện trường.",
            "The batch file is damaged or truncated (perhaps an interrupted copy). Export the batch again on the field hub.",
            detail,
        )
    }

    pub fn unexpected_schema(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_unexpected_schema",
            "Tệp lô chứa cấu trúc không có trong định dạng (view, trigger, bảng hoặc cột lạ); tệp bị từ chối, không có gì được lưu.",
            "The batch file holds structures the format does not have (a view, trigger, unknown table or column); it is refused and nothing is stored.",
            detail,
        )
    }

    pub fn value_too_large(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_value_too_large",
            "Tệp lô chứa một giá trị lớn hơn mọi giá trị thật (quá 16 MiB); tệp bị từ chối.",
            "The batch file holds a value larger than any real one (over 16 MiB); the file is refused.",
            detail,
        )
    }

    pub fn too_slow(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_too_slow",
            "Đọc tệp lô mất quá lâu nên đã bị dừng; tệp bị từ chối. Tệp lô thật được đọc trong vài giây.",
            "Reading the batch file took too long and was stopped; the file is refused. A real batch file reads in seconds.",
            detail,
        )
    }

    pub fn too_large(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_too_large",
            "Tệp lô lớn hơn 512 MiB; hãy xuất thành nhiều lô nhỏ hơn.",
            "The batch file is larger than 512 MiB; export it as several smaller batches.",
            detail,
        )
    }

    pub fn not_outreach(detail: impl Into<String>) -> Refusal {
        Refusal::new(
            "batch_wrong_format",
            "Tệp SQLite này không phải tệp lô của bộ công cụ, hoặc thuộc phiên bản định dạng không được hỗ trợ.",
            "This SQLite file is not a batch file of the kit, or has a format version this hub does not support.",
            detail,
        )
    }

    /// The refusal an SQLite error while reading stands for.
    pub fn from_sqlite(e: &rusqlite::Error) -> Refusal {
        use rusqlite::ffi::ErrorCode;
        match e.sqlite_error_code() {
            Some(ErrorCode::OperationInterrupted) => Refusal::too_slow(e.to_string()),
            Some(ErrorCode::TooBig) => Refusal::value_too_large(e.to_string()),
            Some(ErrorCode::NotADatabase) => Refusal::not_sqlite(e.to_string()),
            _ => Refusal::damaged(e.to_string()),
        }
    }
}

/// A batch file opened as untrusted input: read-only and immutable, defensive mode, no trusted schema,
/// views and triggers disabled, tight limits, a progress-handler deadline on every step, and a schema
/// proven to be exactly [`SCHEMA`] (plain tables, the expected columns, nothing else) before anything is
/// read from it.
pub struct UntrustedBatch {
    conn: rusqlite::Connection,
    deadline: std::sync::Arc<std::sync::Mutex<std::time::Instant>>,
    /// How long one step may run ([`STEP_BOUND`]; shorter in tests).
    step: std::time::Duration,
    /// When reading this file must have ended ([`READ_BOUND`] after it was opened).
    end: std::time::Instant,
}

impl UntrustedBatch {
    /// Opens and checks the file at `path`; a refusal says why it cannot be read safely.
    pub fn open(path: &std::path::Path) -> Result<UntrustedBatch, Refusal> {
        check_header(path)?;
        let conn = open_guarded(path)?;
        let deadline = std::sync::Arc::new(std::sync::Mutex::new(
            std::time::Instant::now() + STEP_BOUND,
        ));
        let d = deadline.clone();
        conn.progress_handler(
            1000,
            Some(move || {
                d.lock()
                    .map(|t| std::time::Instant::now() > *t)
                    .unwrap_or(true)
            }),
        );
        let b = UntrustedBatch {
            conn,
            deadline,
            step: STEP_BOUND,
            end: std::time::Instant::now() + READ_BOUND,
        };
        b.arm(STEP_BOUND);
        b.check_schema()?;
        b.arm(CHECK_BOUND);
        let rows: Vec<String> = b
            .conn
            .prepare("PRAGMA quick_check")
            .and_then(|mut st| st.query_map([], |r| r.get::<_, String>(0))?.collect())
            .map_err(|e| Refusal::from_sqlite(&e))?;
        if rows.len() != 1 || rows[0] != "ok" {
            return Err(Refusal::damaged(rows.join("; ")));
        }
        b.arm(STEP_BOUND);
        Ok(b)
    }

    /// Allows the next step `bound` from now, and never past the end of the whole read.
    fn arm(&self, bound: std::time::Duration) {
        if let Ok(mut t) = self.deadline.lock() {
            *t = (std::time::Instant::now() + bound).min(self.end);
        }
    }

    /// Every row of `sql` (a query of the checked tables), each step bounded by [`STEP_BOUND`].
    pub fn rows<T>(
        &self,
        sql: &str,
        f: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Refusal> {
        let past_end = || Refusal::too_slow("the whole read took longer than its bound");
        if std::time::Instant::now() > self.end {
            return Err(past_end());
        }
        self.arm(self.step);
        let mut st = self
            .conn
            .prepare(sql)
            .map_err(|e| Refusal::from_sqlite(&e))?;
        let mut rows = st.query([]).map_err(|e| Refusal::from_sqlite(&e))?;
        let mut out = Vec::new();
        loop {
            if std::time::Instant::now() > self.end {
                return Err(past_end());
            }
            self.arm(self.step);
            match rows.next() {
                Ok(Some(r)) => out.push(f(r).map_err(|e| Refusal::from_sqlite(&e))?),
                Ok(None) => break,
                Err(e) => return Err(Refusal::from_sqlite(&e)),
            }
        }
        Ok(out)
    }

    /// Refuses any object but the tables of [`SCHEMA`] (and their automatic indexes), compared by the
    /// text of their `CREATE TABLE` statement and by the columns SQLite parsed from it.
    fn check_schema(&self) -> Result<(), Refusal> {
        let expected = expected_schema();
        let found = schema_of(&self.conn).map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ffi::ErrorCode::OperationInterrupted)
            | Some(rusqlite::ffi::ErrorCode::TooBig)
            | Some(rusqlite::ffi::ErrorCode::DatabaseCorrupt)
            | Some(rusqlite::ffi::ErrorCode::NotADatabase) => Refusal::from_sqlite(&e),
            // A virtual table of an unknown module, a statement that does not parse…
            _ => Refusal::unexpected_schema(format!("the schema cannot be read: {e}")),
        })?;
        for o in &found {
            if !expected.contains(o) {
                return Err(Refusal::unexpected_schema(format!(
                    "unexpected {} `{}`",
                    o.kind, o.name
                )));
            }
        }
        for o in &expected {
            if !found.contains(o) {
                return Err(Refusal::unexpected_schema(format!(
                    "{} `{}` missing or different",
                    o.kind, o.name
                )));
            }
        }
        Ok(())
    }
}

/// One schema object as a reader compares it: its row in `sqlite_schema` (whitespace of the SQL
/// normalised) and, for a table, what SQLite parsed: its kind in `table_list` and its columns.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SchemaObject {
    kind: String,
    name: String,
    table: String,
    sql: Option<String>,
    parsed: Vec<String>,
}

fn schema_of(c: &rusqlite::Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    let mut objects: Vec<SchemaObject> = c
        .prepare("SELECT type, name, tbl_name, sql FROM main.sqlite_schema ORDER BY name")?
        .query_map([], |r| {
            Ok(SchemaObject {
                kind: r.get(0)?,
                name: r.get(1)?,
                table: r.get(2)?,
                sql: r
                    .get::<_, Option<String>>(3)?
                    .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")),
                parsed: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // What SQLite itself made of each object (a row's `type` can lie; the parser cannot).
    let listed: Vec<(String, String, i64, i64, i64)> = c
        .prepare(
            "SELECT name, type, ncol, wr, strict FROM pragma_table_list WHERE schema = 'main'",
        )?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (name, kind, ncol, wr, strict) in listed {
        if name == "sqlite_schema" {
            continue;
        }
        let mut parsed = vec![format!("{kind} ncol={ncol} wr={wr} strict={strict}")];
        if kind == "table" {
            let mut st = c.prepare(
                "SELECT name, type, \"notnull\", pk, hidden FROM pragma_table_xinfo(?1, 'main') ORDER BY cid",
            )?;
            let cols = st.query_map([&name], |r| {
                Ok(format!(
                    "{} {} notnull={} pk={} hidden={}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?
                ))
            })?;
            for col in cols {
                parsed.push(col?);
            }
        }
        match objects.iter_mut().find(|o| o.name == name) {
            Some(o) => o.parsed = parsed,
            None => objects.push(SchemaObject {
                kind,
                name: name.clone(),
                table: name,
                sql: None,
                parsed,
            }),
        }
    }
    Ok(objects)
}

/// The schema a batch must have: [`SCHEMA`] as SQLite makes it in memory.
fn expected_schema() -> Vec<SchemaObject> {
    let c = rusqlite::Connection::open_in_memory().expect("an in-memory database");
    c.execute_batch(SCHEMA).expect("the batch schema");
    schema_of(&c).expect("the batch schema reads back")
}

/// Checks the 100-byte SQLite header before SQLite sees the file: the magic string, a page size SQLite
/// allows, a rollback journal (not WAL), no reserved bytes, UTF-8 text, a size that is whole pages and
/// matches the page count.
fn check_header(path: &std::path::Path) -> Result<(), Refusal> {
    use std::io::Read;
    let meta = std::fs::metadata(path)
        .map_err(|e| Refusal::not_sqlite(format!("cannot read the file: {e}")))?;
    if !meta.is_file() {
        return Err(Refusal::not_sqlite("not a regular file"));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Refusal::too_large(format!("{} bytes", meta.len())));
    }
    let mut h = [0u8; 100];
    let mut f = std::fs::File::open(path)
        .map_err(|e| Refusal::not_sqlite(format!("cannot read the file: {e}")))?;
    if f.read_exact(&mut h).is_err() || &h[..16] != b"SQLite format 3\0" {
        return Err(Refusal::not_sqlite("no SQLite 3 header"));
    }
    let page = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65536u64,
        p => p as u64,
    };
    if !(512..=65536).contains(&page) || !page.is_power_of_two() {
        return Err(Refusal::bad_header(format!("page size {page}")));
    }
    if h[18] != 1 || h[19] != 1 {
        return Err(Refusal::bad_header(format!(
            "file format versions {}/{} (only a rollback journal is allowed)",
            h[18], h[19]
        )));
    }
    if h[20] != 0 || h[21] != 64 || h[22] != 32 || h[23] != 32 {
        return Err(Refusal::bad_header("reserved bytes or payload fractions"));
    }
    let be32 = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) as u64;
    if !(1..=4).contains(&be32(44)) {
        return Err(Refusal::bad_header(format!("schema format {}", be32(44))));
    }
    if be32(56) != 1 {
        return Err(Refusal::bad_header(format!(
            "text encoding {} (only UTF-8)",
            be32(56)
        )));
    }
    let pages = be32(28);
    if meta.len() % page != 0 || be32(92) != be32(24) || pages == 0 || pages * page != meta.len() {
        return Err(Refusal::damaged(format!(
            "{} bytes for {pages} pages of {page} bytes",
            meta.len()
        )));
    }
    Ok(())
}

/// Opens `path` read-only and immutable (no lock, no journal, no side file is read or made), then sets
/// defensive mode, an untrusted schema, views and triggers off and tight limits, before the schema is
/// parsed.
fn open_guarded(path: &std::path::Path) -> Result<rusqlite::Connection, Refusal> {
    use rusqlite::config::DbConfig;
    use rusqlite::limits::Limit;
    use rusqlite::OpenFlags;
    let uri = format!("file:{}?mode=ro&immutable=1", uri_path(path));
    let conn = rusqlite::Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| Refusal::from_sqlite(&e))?;
    let set = || -> rusqlite::Result<()> {
        for (cfg, on) in [
            (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
            (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
            (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
            (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
            (DbConfig::SQLITE_DBCONFIG_ENABLE_FKEY, false),
        ] {
            conn.set_db_config(cfg, on)?;
        }
        for (limit, v) in [
            (Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES),
            (Limit::SQLITE_LIMIT_SQL_LENGTH, 10_000),
            (Limit::SQLITE_LIMIT_COLUMN, 16),
            (Limit::SQLITE_LIMIT_EXPR_DEPTH, 16),
            (Limit::SQLITE_LIMIT_COMPOUND_SELECT, 2),
            (Limit::SQLITE_LIMIT_VDBE_OP, 25_000),
            (Limit::SQLITE_LIMIT_FUNCTION_ARG, 4),
            (Limit::SQLITE_LIMIT_ATTACHED, 0),
            (Limit::SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 64),
            (Limit::SQLITE_LIMIT_VARIABLE_NUMBER, 4),
            (Limit::SQLITE_LIMIT_TRIGGER_DEPTH, 1),
            (Limit::SQLITE_LIMIT_WORKER_THREADS, 0),
        ] {
            conn.set_limit(limit, v)?;
        }
        conn.pragma_update(None, "trusted_schema", "OFF")?;
        conn.pragma_update(None, "cell_size_check", "ON")?;
        conn.pragma_update(None, "mmap_size", 0)?;
        conn.pragma_update(None, "query_only", "ON")?;
        Ok(())
    };
    set().map_err(|e| Refusal::from_sqlite(&e))?;
    Ok(conn)
}

/// `path` for an SQLite URI: every byte but unreserved ones and `/` percent-encoded, so a name with
/// `?`, `#` or `%` cannot add URI parameters.
fn uri_path(path: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut s = String::new();
    for &b in abs.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A file with the batch schema and its format rows, written like the field writes one.
    fn plain_batch(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
        let p = dir.join("b.batch");
        let c = rusqlite::Connection::open(&p).unwrap();
        c.pragma_update(None, "journal_mode", "DELETE").unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c.execute_batch(&format!(
            "INSERT INTO batch_meta VALUES ('format', '{FORMAT}'), ('format_version', '{FORMAT_VERSION}'); {extra}"
        ))
        .unwrap();
        p
    }

    #[test]
    fn a_step_past_its_deadline_is_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = UntrustedBatch::open(&plain_batch(dir.path(), "")).unwrap();
        b.step = Duration::from_millis(300);
        let t = Instant::now();
        let r = b.rows(
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
            |r| r.get::<_, i64>(0),
        );
        assert_eq!(r.unwrap_err().code, "batch_too_slow");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        // The connection is usable again for the next, bounded step.
        let n = b
            .rows("SELECT count(*) FROM batch_meta", |r| r.get::<_, i64>(0))
            .unwrap();
        assert_eq!(n, vec![2]);
    }

    #[test]
    fn the_whole_read_has_an_end_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = UntrustedBatch::open(&plain_batch(dir.path(), "")).unwrap();
        b.end = Instant::now() + Duration::from_millis(200);
        std::thread::sleep(Duration::from_millis(250));
        let r = b.rows("SELECT key FROM batch_meta", |r| r.get::<_, String>(0));
        assert_eq!(r.unwrap_err().code, "batch_too_slow");
    }

    #[test]
    fn the_schema_must_be_exactly_the_format_s() {
        let dir = tempfile::tempdir().unwrap();
        assert!(UntrustedBatch::open(&plain_batch(dir.path(), "")).is_ok());
        for (i, extra) in [
            "CREATE VIEW v AS SELECT 1",
            "CREATE TABLE t(x)",
            "CREATE TRIGGER g AFTER INSERT ON blobs BEGIN SELECT 1; END",
            "CREATE INDEX i ON blobs(bytes)",
            "ALTER TABLE envelopes ADD COLUMN g INTEGER AS (seq * 2)",
        ]
        .iter()
        .enumerate()
        {
            let d = dir.path().join(i.to_string());
            std::fs::create_dir(&d).unwrap();
            let e = UntrustedBatch::open(&plain_batch(&d, extra)).err();
            assert_eq!(
                e.map(|e| e.code),
                Some("batch_unexpected_schema"),
                "{extra}"
            );
        }
    }

    #[test]
    fn a_name_cannot_add_uri_parameters() {
        let dir = tempfile::tempdir().unwrap();
        let odd = dir.path().join("x.batch?mode=rwc&immutable=0#%41");
        std::fs::copy(plain_batch(dir.path(), ""), &odd).unwrap();
        assert!(UntrustedBatch::open(&odd).is_ok());
        assert!(uri_path(&odd).ends_with("/x.batch%3Fmode%3Drwc%26immutable%3D0%23%2541"));
    }
}
