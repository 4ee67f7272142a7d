//! The hub's SQLite store: opening the database with durable settings, running migrations, and running
//! blocking database work off the async executor. Each concern's own tables and queries live in its folder;
//! this module only owns the connection and the schema history.

mod migrations;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let conn = open_connection(path)?;
        migrations::run(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
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

/// Opens one connection with the kit's settings: WAL, full sync (a user told "saved" must survive power
/// loss), foreign keys, a busy timeout so CLI commands and the server can share the file, and secure delete
/// so purged plaintext drafts are overwritten in the file.
pub fn open_connection(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Keep the WAL from growing without bound between checkpoints.
    conn.pragma_update(None, "journal_size_limit", 8 * 1024 * 1024)?;
    Ok(conn)
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

/// A migrated in-memory database with foreign keys on, for unit tests of the concerns' stores.
#[cfg(test)]
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
}
