//! The schema history. Migrations are append-only: never edit one that has shipped; add a new one.

use rusqlite::Connection;

use super::{StoreError, StoreResult};

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_initial", include_str!("0001_initial.sql")),
    ("0002_admin_units", include_str!("0002_admin_units.sql")),
    (
        "0003_receipt_tokens",
        include_str!("0003_receipt_tokens.sql"),
    ),
    ("0004_dispositions", include_str!("0004_dispositions.sql")),
    ("0005_outreach", include_str!("0005_outreach.sql")),
    ("0006_languages", include_str!("0006_languages.sql")),
    ("0007_selfservice", include_str!("0007_selfservice.sql")),
    (
        "0008_dossier_sessions",
        include_str!("0008_dossier_sessions.sql"),
    ),
    ("0009_sync", include_str!("0009_sync.sql")),
    ("0010_office", include_str!("0010_office.sql")),
    ("0011_receipt_slips", include_str!("0011_receipt_slips.sql")),
    (
        "0012_admin_unit_history",
        include_str!("0012_admin_unit_history.sql"),
    ),
    (
        "0013_account_lifecycle",
        include_str!("0013_account_lifecycle.sql"),
    ),
    (
        "0014_revocation_cutoff",
        include_str!("0014_revocation_cutoff.sql"),
    ),
    (
        "0015_procedure_packages",
        include_str!("0015_procedure_packages.sql"),
    ),
    (
        "0016_receipt_prints",
        include_str!("0016_receipt_prints.sql"),
    ),
    ("0017_rechain", include_str!("0017_rechain.sql")),
    ("0018_audio_formats", include_str!("0018_audio_formats.sql")),
];

/// The names of the migrations, in order.
pub fn names() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|(n, _)| *n).collect()
}

#[cfg(test)]
pub fn count() -> usize {
    MIGRATIONS.len()
}

/// Applies every migration not yet recorded, each in its own transaction.
pub fn run(conn: &Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            name TEXT PRIMARY KEY,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
        );",
    )?;
    for (name, sql) in MIGRATIONS {
        let done: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if done {
            continue;
        }
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let res = conn.execute_batch(sql).and_then(|_| {
            conn.execute("INSERT INTO schema_migrations(name) VALUES (?1)", [name])
                .map(|_| ())
        });
        match res {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(StoreError::classify(e));
            }
        }
    }
    Ok(())
}
