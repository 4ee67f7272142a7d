//! WAL checkpoints off the request path. SQLite's automatic checkpoint runs inside the commit that
//! crosses 1,000 WAL pages: with photos (100 KiB each) that is every ~40 uploads, and the unlucky request
//! waits while ~4 MiB are copied into the database file and synced. The serving connection turns the
//! automatic checkpoint off ([`disable_auto`]) and [`run`] checkpoints from its own connection once a
//! second instead: `PASSIVE`, so it never waits for (nor blocks) the writer; the next writer restarts the
//! WAL from the top once a checkpoint has caught up. Durability is unchanged: each commit is still synced
//! to the WAL before the hub answers.

use std::path::PathBuf;
use std::time::Duration;

use rusqlite::Connection;
use tokio_util::sync::CancellationToken;

use super::{open_connection, StoreResult};

/// How often the background checkpoint runs.
pub const EVERY: Duration = Duration::from_secs(1);

/// Turns the automatic checkpoint off on `conn` (the serving connection, while [`run`] is active).
pub fn disable_auto(conn: &Connection) -> StoreResult<()> {
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(())
}

/// One passive checkpoint: (frames in the WAL, frames checkpointed).
pub fn passive(conn: &Connection) -> StoreResult<(i64, i64)> {
    Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })?)
}

/// Checkpoints the database at `path` every [`EVERY`] until `cancel` fires, then once more. Failures
/// (a full disk, a locked file) are logged and retried at the next tick; nothing is lost by a missed
/// checkpoint, the WAL only grows until the next one.
pub async fn run(path: PathBuf, cancel: CancellationToken) {
    let conn = match tokio::task::spawn_blocking(move || open_connection(&path)).await {
        Ok(Ok(c)) => std::sync::Arc::new(std::sync::Mutex::new(c)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "background WAL checkpoint: cannot open the database");
            return;
        }
        Err(_) => return,
    };
    loop {
        let stop = tokio::select! {
            _ = cancel.cancelled() => true,
            _ = tokio::time::sleep(EVERY) => false,
        };
        let c = conn.clone();
        let done = tokio::task::spawn_blocking(move || {
            let guard = c.lock().map_err(|_| super::StoreError::Worker)?;
            passive(&guard)
        })
        .await;
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "background WAL checkpoint failed; retried in a second");
        }
        if stop {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passive_checkpoint_from_another_connection_catches_up_with_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.db");
        let w = open_connection(&path).unwrap();
        disable_auto(&w).unwrap();
        w.execute_batch("CREATE TABLE t (b BLOB)").unwrap();
        for _ in 0..50 {
            w.execute("INSERT INTO t VALUES (zeroblob(100000))", [])
                .unwrap();
        }
        let wal =
            |p: &std::path::Path| std::fs::metadata(p.with_extension("db-wal")).unwrap().len();
        assert!(
            wal(&path) > 4_000_000,
            "no automatic checkpoint: the WAL holds every write"
        );
        let c = open_connection(&path).unwrap();
        let (frames, done) = passive(&c).unwrap();
        assert!(frames > 1000 && done == frames, "{frames} {done}");
        // The next write restarts the WAL from the top (journal_size_limit truncates it).
        w.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert!(wal(&path) < 9 * 1024 * 1024);
        let n: i64 = c
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 51);
    }
}
