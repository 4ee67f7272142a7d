//! A short-lived memo of computed figures. A report page asks for its figures and then, at once, for each
//! chart and CSV of the same scope; at 100,000 dossiers one computation of a month takes seconds, so they
//! share it. An entry is used only while the data it was computed from is unchanged (the newest received
//! dossier, audit entry and session summary — every status change, merge or holiday change is audited) and
//! for at most [`TTL`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::store::{self, Figures, Scope};
use crate::shared::store::StoreResult;

/// How long an entry may be reused.
pub const TTL: Duration = Duration::from_secs(120);
/// Entries kept (one per recently viewed scope).
const KEEP: usize = 8;

static MEMO: Mutex<Vec<(String, Instant, Figures)>> = Mutex::new(Vec::new());

/// What the figures depend on, read in O(1) from the tables' keys.
fn data_version(c: &Connection) -> StoreResult<String> {
    Ok(c.query_row(
        "SELECT coalesce((SELECT max(rowid) FROM received_dossiers), 0) || '/' ||
                coalesce((SELECT max(id) FROM audit_log), 0) || '/' ||
                (SELECT count(*) FROM session_summaries) || '/' ||
                coalesce((SELECT max(received_at) FROM session_summaries), '') || '/' ||
                (SELECT count(*) FROM duplicate_decisions)",
        [],
        |r| r.get(0),
    )?)
}

/// The figures of `scope`, computed at most once per data version within [`TTL`].
pub fn figures(c: &Connection, scope: &Scope) -> StoreResult<Figures> {
    let key = format!(
        "{}|{}",
        serde_json::to_string(scope).unwrap_or_default(),
        data_version(c)?
    );
    let now = Instant::now();
    if let Ok(mut memo) = MEMO.lock() {
        memo.retain(|(_, at, _)| now.duration_since(*at) < TTL);
        if let Some((_, _, f)) = memo.iter().find(|(k, _, _)| *k == key) {
            return Ok(f.clone());
        }
    }
    let f = store::figures(c, scope)?;
    if let Ok(mut memo) = MEMO.lock() {
        memo.retain(|(k, _, _)| *k != key);
        memo.push((key, now, f.clone()));
        if memo.len() > KEEP {
            memo.remove(0);
        }
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_in_the_data_gives_a_new_version() {
        let c = crate::shared::store::open_memory().unwrap();
        let v1 = data_version(&c).unwrap();
        crate::shared::audit::append(
            &c,
            crate::shared::audit::Actor {
                id: None,
                name: "hub",
            },
            &crate::shared::audit::Event {
                action: "holiday_added",
                ..Default::default()
            },
        )
        .unwrap();
        assert_ne!(data_version(&c).unwrap(), v1);
    }
}
