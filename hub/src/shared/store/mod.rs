//! The hub's SQLite store: opening the database with durable settings, running migrations, and running
//! blocking database work off the async executor. Each concern's own tables and queries live in its folder;
//! this module only owns the connection and the schema history, and the WAL hygiene that makes deleted
//! personal data leave the disk ([`scrubber`]).

mod migrations;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

/// Errors from the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    #[error("the disk is full")]
    Full,
    #[error("data directory problem: {0}")]
    Io(std::io::Error),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("protocol error: {0}")]
    Protocol(#[from] protocol::ProtocolError),
    #[error("database worker stopped")]
    Worker,
    #[error("the hub's data is locked: an officer must log in to unlock it")]
    Locked,
}

impl StoreError {
    /// Maps SQLite's "disk full" to [`StoreError::Full`] so users get a clear message.
    pub fn classify(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            if f.code == rusqlite::ErrorCode::DiskFull {
                return StoreError::Full;
            }
        }
        StoreError::Sqlite(e)
    }
}

/// Every SQLite error is classified, so a full disk met by any statement (not only those that call
/// [`StoreError::classify`] themselves) reaches the user as "storage full", not as an internal error.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::classify(e)
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        if is_disk_full(&e) {
            StoreError::Full
        } else {
            StoreError::Io(e)
        }
    }
}

/// Whether `e` or one of its causes is a full disk (SQLite's SQLITE_FULL, ENOSPC, a quota exceeded).
pub fn is_disk_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(StoreError::Full) = e.downcast_ref::<StoreError>() {
            return true;
        }
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = e.downcast_ref::<rusqlite::Error>() {
            if f.code == rusqlite::ErrorCode::DiskFull {
                return true;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) {
                return true;
            }
        }
        cur = e.source();
    }
    false
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A handle on the hub database, cheap to clone. One connection serialises access; every call runs on
/// tokio's blocking pool.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    scrub: Arc<Scrub>,
}

/// Tables whose deleted rows held personal data (drafts and their photos, pre-declarations, status news,
/// tickets, dossiers sealed before pairing), and tables an update of which erases personal data (a
/// pre-declaration taken as a draft has its answers cleared; closing an outreach session erases the names
/// on its tickets). A change to one of them asks for a WAL checkpoint soon ([`scrubber`]). SQLite's update
/// hook does not see a `DELETE` without `WHERE` (the truncate optimisation): delete from these tables
/// with a `WHERE` clause.
const SCRUBBED_ON_DELETE: &[&str] = &[
    "drafts",
    "draft_attachments",
    "predeclarations",
    "news_in",
    "outreach_tickets",
    "pending_protection",
    "pending_attachments",
];
const SCRUBBED_ON_UPDATE: &[&str] = &["predeclarations", "outreach_sessions"];

/// How long after personal data was deleted the WAL is checkpointed and truncated: requests arriving in
/// that time share one checkpoint, and none waits for it.
pub const SCRUB_DELAY: Duration = Duration::from_secs(2);

/// Whether personal data was deleted since the last WAL checkpoint, and the wake-up of [`scrubber`].
#[derive(Default)]
struct Scrub {
    pending: AtomicBool,
    wake: tokio::sync::Notify,
}

impl Scrub {
    fn mark(&self) {
        self.pending.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// What `PRAGMA wal_checkpoint(TRUNCATE)` reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Another connection (a CLI command) held a read or write lock: the WAL could not be emptied.
    pub busy: bool,
    /// Frames left in the WAL (0 after a TRUNCATE checkpoint that ran; -1 when the database is not in
    /// WAL mode).
    pub frames: i64,
    /// Frames of the WAL copied into the database file (as `frames`, 0 once truncated).
    pub checkpointed: i64,
}

/// Copies every frame of the WAL into the database file and truncates the WAL to zero bytes, so the old
/// page images it held (with `secure_delete`, the only copies of deleted rows) leave the disk.
pub fn checkpoint_truncate(c: &Connection) -> StoreResult<Checkpoint> {
    let (busy, frames, checkpointed): (i64, i64, i64) =
        c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    Ok(Checkpoint {
        busy: busy != 0,
        frames,
        checkpointed,
    })
}

/// Watches changes to the tables of personal data, asking [`scrubber`] for a checkpoint.
fn install_hook(conn: &Connection, scrub: &Arc<Scrub>) {
    let hook = scrub.clone();
    conn.update_hook(Some(
        move |action: rusqlite::hooks::Action, _db: &str, table: &str, _row: i64| {
            use rusqlite::hooks::Action;
            let personal = match action {
                Action::SQLITE_DELETE => SCRUBBED_ON_DELETE.contains(&table),
                Action::SQLITE_UPDATE => SCRUBBED_ON_UPDATE.contains(&table),
                _ => false,
            };
            if personal {
                hook.mark();
            }
        },
    ));
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = open_connection(path)?;
        migrations::run(&conn)?;
        let scrub = Arc::new(Scrub::default());
        install_hook(&conn, &scrub);
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
            scrub,
        })
    }

    /// Whether personal data was deleted since the last WAL checkpoint (tests).
    pub fn scrub_pending(&self) -> bool {
        self.scrub.pending.load(Ordering::SeqCst)
    }

    /// Checkpoints and truncates the WAL now if personal data was deleted since the last time (the CLI,
    /// which has no [`scrubber`], calls it before exiting). Returns the checkpoint when one ran; a busy one
    /// leaves the request pending.
    pub fn scrub_now(&self) -> StoreResult<Option<Checkpoint>> {
        if !self.scrub.pending.swap(false, Ordering::SeqCst) {
            return Ok(None);
        }
        let r = self.call_sync(|c| checkpoint_truncate(c));
        if !matches!(r, Ok(Checkpoint { busy: false, .. })) {
            self.scrub.pending.store(true, Ordering::SeqCst);
        }
        r.map(Some)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Encrypts the plaintext database in place with `key` (issue 19), holding the connection so no request
    /// writes in between: the whole database is exported into `hub.sqlite.protecting` (SQLCipher,
    /// `sqlcipher_export`) and fsynced; `commit` then makes the change official (it writes the keyring and
    /// registers the key: a crash before it leaves the plaintext database in use and the export is dropped
    /// at the next start, a crash after it is rolled forward by [`finish_encrypt`]); then the plaintext
    /// file, its WAL and shared memory are overwritten and removed, the export takes its name, and the
    /// connection is opened again with the key.
    pub fn encrypt(
        &self,
        key: &crate::shared::vault::DataKey,
        commit: impl FnOnce() -> StoreResult<()>,
    ) -> StoreResult<()> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Worker)?;
        let target = protecting_path(&self.path);
        crate::shared::vault::files::shred(&target).map_err(vault_io)?;
        // Owner-only from the start, like the plaintext file (SQLite gives -wal and -shm the same mode).
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&target)?;
        }
        let quoted = target.to_string_lossy().replace('\'', "''");
        guard.execute_batch(&format!(
            "ATTACH DATABASE '{quoted}' AS protecting KEY \"{}\";",
            key.sqlcipher_pragma()
        ))?;
        let exported = guard
            .query_row("SELECT sqlcipher_export('protecting')", [], |_| Ok(()))
            .map_err(StoreError::from);
        guard.execute_batch("DETACH DATABASE protecting;")?;
        exported?;
        std::fs::File::open(&target)?.sync_all()?;
        commit()?;
        // The plaintext connection is closed (its last checkpoint goes to the file about to be shredded).
        drop(std::mem::replace(
            &mut *guard,
            Connection::open_in_memory()?,
        ));
        finish_encrypt(&self.path)?;
        let conn = open_keyed(&self.path, Some(key))?;
        install_hook(&conn, &self.scrub);
        *guard = conn;
        Ok(())
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Worker)?;
            f(&mut guard)
        })
        .await
        .map_err(|_| StoreError::Worker)?
    }

    /// Runs `f` synchronously (for CLI commands, which have no runtime).
    pub fn call_sync<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut guard = self.conn.lock().map_err(|_| StoreError::Worker)?;
        f(&mut guard)
    }
}

/// The background task that makes deleted personal data leave the disk: `secure_delete` overwrites
/// deleted rows in the database file, but the WAL keeps the page images written before the deletion
/// until a checkpoint, and a checkpoint that does not truncate leaves them in the WAL file's bytes. So
/// [`SCRUB_DELAY`] after a change to a table of [`SCRUBBED_ON_DELETE`] or [`SCRUBBED_ON_UPDATE`] (sealing
/// deletes the draft, a draft or photo is discarded, a session closes, retention runs), the WAL is
/// checkpointed with TRUNCATE, off every request's path; a checkpoint kept busy by a CLI command is tried
/// again after the delay. Stops when `cancel` fires, after a last checkpoint if one is due.
pub async fn scrubber(db: Db, delay: Duration, cancel: tokio_util::sync::CancellationToken) {
    loop {
        let stopping = tokio::select! {
            _ = db.scrub.wake.notified() => false,
            _ = cancel.cancelled() => true,
        };
        if !stopping {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.cancelled() => {}
            }
        }
        if db.scrub.pending.swap(false, Ordering::SeqCst) {
            let started = std::time::Instant::now();
            match db.call(|c| checkpoint_truncate(c)).await {
                Ok(cp) if !cp.busy => tracing::debug!(
                    ms = started.elapsed().as_millis() as u64,
                    "WAL checkpointed and truncated after personal data was deleted"
                ),
                r => {
                    if let Err(e) = &r {
                        tracing::warn!(error = %e, "WAL checkpoint failed; trying again");
                    }
                    db.scrub.mark();
                }
            }
        }
        if stopping || cancel.is_cancelled() {
            return;
        }
    }
}

/// Where [`Db::encrypt`] writes the encrypted copy of the database at `path`.
pub fn protecting_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".protecting");
    PathBuf::from(p)
}

fn vault_io(e: crate::shared::vault::VaultError) -> StoreError {
    match e {
        crate::shared::vault::VaultError::Io { source, .. } => StoreError::from(source),
        other => StoreError::Corrupt(other.to_string()),
    }
}

/// Completes an encryption whose commit happened ([`Db::encrypt`]; also called at start when one was cut
/// short): the plaintext database, WAL and shared-memory files are overwritten with zeros and removed, and
/// the encrypted copy takes the database's name. Does nothing when there is no encrypted copy waiting.
pub fn finish_encrypt(path: &Path) -> StoreResult<()> {
    let target = protecting_path(path);
    if !target.exists() {
        return Ok(());
    }
    for suffix in ["-wal", "-shm", ""] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        crate::shared::vault::files::shred(Path::new(&p)).map_err(vault_io)?;
    }
    std::fs::rename(&target, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Drops an encrypted copy whose commit never happened (the plaintext database stays in use).
pub fn abandon_encrypt(path: &Path) -> StoreResult<()> {
    crate::shared::vault::files::shred(&protecting_path(path)).map_err(vault_io)
}

/// Opens one connection with the kit's settings: WAL, full sync (a user told "saved" must survive power
/// loss), foreign keys, a busy timeout so CLI commands and the server can share the file, and secure delete
/// so purged plaintext drafts are overwritten in the file. The database of a protected data directory
/// (`shared::vault`) is opened with its SQLCipher key, which needs the directory unlocked in this process
/// ([`StoreError::Locked`] otherwise).
pub fn open_connection(path: &Path) -> StoreResult<Connection> {
    let data_dir = path.parent().unwrap_or(Path::new("."));
    let key = crate::shared::vault::unlocked(data_dir);
    if key.is_none() && crate::shared::vault::is_protected(data_dir) && is_encrypted_file(path) {
        return Err(StoreError::Locked);
    }
    open_keyed(path, key.as_deref())
}

/// Whether the file at `path` is not a plaintext SQLite database (an SQLCipher file starts with random
/// bytes, a plaintext one with "SQLite format 3").
pub fn is_encrypted_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)) {
        Ok(()) => &head != b"SQLite format 3\0",
        Err(_) => false,
    }
}

/// Opens the database at `path` with the kit's settings, keyed by `key` (SQLCipher) when given.
pub fn open_keyed(
    path: &Path,
    key: Option<&crate::shared::vault::DataKey>,
) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    if let Some(key) = key {
        apply_key(&conn, key)?;
    }
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Keep the WAL from growing without bound between checkpoints.
    conn.pragma_update(None, "journal_size_limit", 8 * 1024 * 1024)?;
    Ok(conn)
}

/// Keys a fresh connection with SQLCipher (the raw data-derived key: no key derivation on open) and checks
/// the key opens the file: a wrong key fails here, not at the first query.
pub fn apply_key(conn: &Connection, key: &crate::shared::vault::DataKey) -> StoreResult<()> {
    conn.execute_batch(&format!("PRAGMA key = \"{}\";", key.sqlcipher_pragma()))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .map_err(|e| StoreError::Corrupt(format!("the data key does not open the database: {e}")))?;
    Ok(())
}

/// Starts a write transaction that takes the write lock at once (no SQLITE_BUSY on lock upgrade when a
/// CLI command and the server write at the same time).
pub fn write_tx(conn: &mut Connection) -> StoreResult<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(StoreError::classify)
}

/// Reads a value from the `meta` key-value table.
pub fn meta_get(conn: &Connection, key: &str) -> StoreResult<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a value to the `meta` key-value table.
pub fn meta_set(conn: &Connection, key: &str, value: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

/// The names of the schema migrations this binary knows, in order (a backup whose database has others was
/// made by a newer hub).
pub fn migration_names() -> Vec<&'static str> {
    migrations::names()
}

/// A migrated in-memory database with foreign keys on, for unit tests of the concerns' stores and for
/// measuring tools (`hub/examples`).
pub fn open_memory() -> StoreResult<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrations::run(&conn)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_with_durable_settings_and_migrates_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite");
        let db = Db::open(&path).unwrap();
        db.call_sync(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            assert_eq!(mode, "wal");
            let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
            assert_eq!(sync, 2, "synchronous must be FULL");
            let fk: i64 = c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
            assert_eq!(fk, 1);
            Ok(())
        })
        .unwrap();
        drop(db);
        // A second open runs no migration twice.
        let db = Db::open(&path).unwrap();
        let n: i64 = db
            .call_sync(|c| {
                Ok(c.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))?)
            })
            .unwrap();
        assert_eq!(n as usize, migrations::count());
    }

    fn file_has(path: &Path, needle: &[u8]) -> bool {
        std::fs::read(path)
            .map(|b| b.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    }

    /// A deleted draft stays readable in the WAL until a checkpoint; deleting it asks for one, and the
    /// TRUNCATE checkpoint (with `secure_delete`) leaves its text in no file.
    #[test]
    fn deleting_personal_data_asks_for_a_checkpoint_that_leaves_nothing_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite");
        let db = Db::open(&path).unwrap();
        let marker = "Điểu Thị Dấu Vết 0701980";
        db.call_sync(|c| {
            let secure: i64 = c.query_row("PRAGMA secure_delete", [], |r| r.get(0))?;
            assert_eq!(secure, 1, "secure_delete must be on");
            c.execute(
                "INSERT INTO users(id, name, role, password_hash, created_at)
                 VALUES ('u', 'an', 'officer', 'x', '2026-12-07T00:00:00Z')",
                [],
            )?;
            c.execute(
                "INSERT INTO drafts(id, procedure_id, procedure_version, fields_json, created_by,
                                    created_at, updated_at)
                 VALUES ('d', 'p', 1, ?1, 'u', '2026-12-07T00:00:00Z', '2026-12-07T00:00:00Z')",
                [format!("{{\"subject.full_name\":\"{marker}\"}}")],
            )?;
            Ok(())
        })
        .unwrap();
        assert!(!db.scrub_pending(), "an insert deletes nothing");
        db.call_sync(|c| Ok(c.execute("DELETE FROM drafts WHERE id = 'd'", [])?))
            .unwrap();
        assert!(db.scrub_pending(), "deleting a draft asks for a checkpoint");
        let files = ["hub.sqlite", "hub.sqlite-wal", "hub.sqlite-shm"].map(|f| dir.path().join(f));
        assert!(
            files.iter().any(|f| file_has(f, marker.as_bytes())),
            "before the checkpoint the deleted draft is still on disk (the WAL)"
        );
        let cp = db.scrub_now().unwrap().expect("a checkpoint ran");
        assert!(!cp.busy, "{cp:?}");
        assert!(!db.scrub_pending());
        assert_eq!(
            std::fs::metadata(&files[1]).unwrap().len(),
            0,
            "WAL truncated"
        );
        for f in &files {
            assert!(!file_has(f, marker.as_bytes()), "{} holds it", f.display());
        }
        assert_eq!(
            db.scrub_now().unwrap(),
            None,
            "nothing pending: no checkpoint"
        );
    }

    /// The scrubber checkpoints once, a delay after the deletions it was woken for.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_scrubber_checkpoints_soon_after_a_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("hub.sqlite")).unwrap();
        let cancel = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(scrubber(
            db.clone(),
            Duration::from_millis(200),
            cancel.clone(),
        ));
        db.call(|c| {
            c.execute(
                "INSERT INTO news_in(news_id, office_id, seq, dossier_id, receipt_code, status_kind, signed,
                                     published_at, received_at)
                 VALUES ('n', 'o', 1, 'd', 'c', 'k', x'00', 't', 't')",
                [],
            )?;
            Ok(c.execute("DELETE FROM news_in WHERE seq = 1", [])?)
        })
        .await
        .unwrap();
        assert!(db.scrub_pending());
        let wal = dir.path().join("hub.sqlite-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        let start = std::time::Instant::now();
        while db.scrub_pending() || std::fs::metadata(&wal).unwrap().len() > 0 {
            assert!(start.elapsed() < Duration::from_secs(10), "no checkpoint");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cancel.cancel();
        task.await.unwrap();
    }
}
