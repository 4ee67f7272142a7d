//! A consistent copy of the live database while the hub serves and writes: SQLite's online backup API,
//! run from a connection that holds one read transaction for the whole copy. In WAL mode a reader never
//! blocks the hub's writers, and the open transaction pins one snapshot, so the copy is the database as
//! it was at one instant even when it takes minutes (the WAL grows meanwhile and is checkpointed after).
//!
//! The copy is encrypted as the source is: on a protected field hub (issue 19, `shared::vault`) both ends
//! are keyed with the same SQLCipher key, so the snapshot never exists in plaintext, not even in the
//! temporary file beside the live database (SQLCipher also refuses a backup between databases of
//! different encryption).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// Pages copied per step (4 KiB pages: 16 MiB), between progress reports.
const STEP_PAGES: std::os::raw::c_int = 4096;
/// Databases with more pages than this (about 100 MB) report progress on stderr.
const PROGRESS_FROM_PAGES: i32 = 25_000;

/// What the snapshot holds, read from the copy itself.
#[derive(Debug, Clone)]
pub struct SnapshotInfo {
    pub pages: i32,
    pub mode: Option<String>,
    pub name: Option<String>,
    /// Names of the applied schema migrations, in order.
    pub migrations: Vec<String>,
    /// Row counts of the tables that say what the hub holds (see [`COUNTED_TABLES`]).
    pub counts: BTreeMap<String, i64>,
}

/// Tables counted in the manifest and in the summaries (those absent from a schema are skipped).
pub const COUNTED_TABLES: &[&str] = &[
    "users",
    "drafts",
    "receipts",
    "envelopes",
    "received_dossiers",
    "trusted_peers",
];

/// Copies the database at `src` into a new file `dest` (which must not exist). When the data directory
/// of `src` is unlocked in this process (a protected hub), the source is read with its data key and the
/// copy is written encrypted with the same key.
pub fn take(src: &Path, dest: &Path, progress: bool) -> anyhow::Result<SnapshotInfo> {
    let data_dir = src.parent().unwrap_or(Path::new("."));
    // The key `open_connection` keys the source with: the copy gets the same.
    let key = crate::shared::vault::unlocked(data_dir);
    let source = crate::shared::store::open_connection(src)?;
    // Pin one snapshot: backup steps reuse this read transaction instead of starting their own.
    source.execute_batch("BEGIN DEFERRED")?;
    source.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
    let mut target = Connection::open_with_flags(
        dest,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    if let Some(key) = &key {
        crate::shared::store::apply_key(&target, key)
            .context("cannot key the encrypted snapshot")?;
    }
    let started = Instant::now();
    let mut pages;
    {
        let backup = Backup::new(&source, &mut target)?;
        let mut reported = 0;
        loop {
            let r = backup.step(STEP_PAGES)?;
            let p = backup.progress();
            pages = p.pagecount;
            if progress && p.pagecount >= PROGRESS_FROM_PAGES {
                let done = p.pagecount - p.remaining;
                let pct = (done as i64 * 100 / p.pagecount.max(1) as i64) as i32;
                if pct >= reported + 10 || matches!(r, StepResult::Done) {
                    reported = pct - pct % 10;
                    let _ = writeln!(
                        std::io::stderr(),
                        "  database snapshot: {done}/{} pages ({pct}%), {:.1} s",
                        p.pagecount,
                        started.elapsed().as_secs_f64()
                    );
                }
            }
            match r {
                StepResult::Done => break,
                StepResult::More => {}
                // Cannot happen while we hold the read transaction in WAL mode, but be patient if it does.
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
    source.execute_batch("COMMIT")?;
    drop(source);
    let info = describe(&target, pages)?;
    target
        .close()
        .map_err(|(_, e)| anyhow::anyhow!("cannot close the snapshot: {e}"))?;
    Ok(info)
}

/// Reads mode, name, migrations and counts from a database connection.
pub fn describe(c: &Connection, pages: i32) -> rusqlite::Result<SnapshotInfo> {
    use rusqlite::OptionalExtension;
    let has_table = |t: &str| -> rusqlite::Result<bool> {
        c.query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1)",
            [t],
            |r| r.get(0),
        )
    };
    let meta = |k: &str| -> rusqlite::Result<Option<String>> {
        if !has_table("meta")? {
            return Ok(None);
        }
        c.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()
    };
    let mut migrations = Vec::new();
    if has_table("schema_migrations")? {
        let mut st = c.prepare("SELECT name FROM schema_migrations ORDER BY name")?;
        for n in st.query_map([], |r| r.get(0))? {
            migrations.push(n?);
        }
    }
    let mut counts = BTreeMap::new();
    for t in COUNTED_TABLES {
        if has_table(t)? {
            let n: i64 = c.query_row(&format!("SELECT count(*) FROM \"{t}\""), [], |r| r.get(0))?;
            counts.insert((*t).to_string(), n);
        }
    }
    Ok(SnapshotInfo {
        pages,
        mode: meta("mode")?,
        name: meta("name")?,
        migrations,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_is_consistent_while_another_connection_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("hub.sqlite");
        let db = crate::shared::store::Db::open(&src).unwrap();
        db.call_sync(|c| {
            c.execute_batch("CREATE TABLE t(x INTEGER)")?;
            for i in 0..2000 {
                c.execute("INSERT INTO t VALUES (?1)", [i])?;
            }
            Ok(())
        })
        .unwrap();
        // Writers keep inserting while the snapshot is taken.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (db2, stop2) = (db.clone(), stop.clone());
        // The snapshot starts once the writer has written (a fixed sleep was too short on a loaded machine:
        // the writer had not run at all when the snapshot finished).
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            let mut n = 0;
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                db2.call_sync(|c| Ok(c.execute("INSERT INTO t VALUES (-1)", [])?))
                    .unwrap();
                n += 1;
                if n == 1 {
                    let _ = first_tx.send(());
                }
            }
            n
        });
        first_rx.recv().unwrap();
        let dest = tmp.path().join("copy.sqlite");
        let info = take(&src, &dest, true).unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(writer.join().unwrap() > 0);
        assert!(info.pages > 0);
        assert_eq!(
            info.migrations.len(),
            crate::shared::store::migration_names().len()
        );
        let c = Connection::open(&dest).unwrap();
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let n: i64 = c
            .query_row("SELECT count(*) FROM t WHERE x >= 0", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2000);
    }

    #[test]
    fn snapshot_of_a_protected_database_is_encrypted_with_the_same_key() {
        use crate::shared::vault::{self, DataKey};
        let tmp = tempfile::tempdir().unwrap();
        let key = DataKey::generate().unwrap();
        vault::register(tmp.path(), key.clone());
        let src = tmp.path().join("hub.sqlite");
        let db = crate::shared::store::Db::open(&src).unwrap();
        db.call_sync(|c| {
            c.execute_batch("CREATE TABLE t(x TEXT)")?;
            c.execute("INSERT INTO t VALUES ('Nguyễn Thị Bí Mật')", [])?;
            Ok(())
        })
        .unwrap();
        assert!(crate::shared::store::is_encrypted_file(&src));
        let dest = tmp.path().join(".backup-test.sqlite");
        let info = take(&src, &dest, false).unwrap();
        vault::forget(tmp.path());
        assert!(info.pages > 0);
        let raw = std::fs::read(&dest).unwrap();
        assert!(!raw.starts_with(b"SQLite format 3"), "plaintext snapshot");
        assert!(
            !raw.windows("Bí Mật".len())
                .any(|w| w == "Bí Mật".as_bytes()),
            "the name is in clear in the snapshot"
        );
        // Without the key the copy is unreadable; with it, it is whole.
        let c = Connection::open(&dest).unwrap();
        assert!(c
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r
                .get::<_, i64>(0))
            .is_err());
        drop(c);
        let c = crate::shared::store::open_keyed(&dest, Some(&key)).unwrap();
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let name: String = c.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(name, "Nguyễn Thị Bí Mật");
        // A wrong key does not open it.
        assert!(
            crate::shared::store::open_keyed(&dest, Some(&DataKey::generate().unwrap())).is_err()
        );
    }
}
