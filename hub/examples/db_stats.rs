//! Space figures of a hub's database for `tests/perf/run.sh` (bytes per dossier): used bytes (pages in use ×
//! page size), and the count and bytes of sealed envelopes and of photo ciphertexts. A protected field hub's
//! database is encrypted (issue 19), so no plain SQLite tool can read it: this opens it as the hub does,
//! unlocking with `HUB_UNLOCK_USER`/`HUB_UNLOCK_PASSWORD`.
//!
//! `db_stats DATA` prints `used_bytes envelopes envelope_bytes blobs blob_bytes` on one line.

fn main() -> anyhow::Result<()> {
    let data = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: db_stats DATA"))?;
    let dir = hub::shared::datadir::DataDir::open_existing(std::path::Path::new(&data))?;
    let line = dir.db.call_sync(|c| {
        let q = |sql: &str| -> rusqlite::Result<(i64, i64)> {
            c.query_row(sql, [], |r| Ok((r.get(0)?, r.get(1)?)))
        };
        // SQLCipher answers `PRAGMA page_size` as text (its cipher page size); plain SQLite as a number.
        let ps: i64 = c.query_row("PRAGMA page_size", [], |r| {
            Ok(match r.get::<_, rusqlite::types::Value>(0)? {
                rusqlite::types::Value::Integer(n) => n,
                rusqlite::types::Value::Text(t) => t.parse().unwrap_or(4096),
                _ => 4096,
            })
        })?;
        let pc: i64 = c.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let fl: i64 = c.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
        let env = q(
            "SELECT count(*), coalesce(sum(length(header) + length(signature) + length(hash) + \
                     length(payload)), 0) FROM envelopes",
        )?;
        let blobs = q("SELECT count(*), coalesce(sum(length(bytes)), 0) FROM envelope_blobs")?;
        Ok(format!(
            "{} {} {} {} {}",
            (pc - fl) * ps,
            env.0,
            env.1,
            blobs.0,
            blobs.1
        ))
    })?;
    println!("{line}");
    Ok(())
}
