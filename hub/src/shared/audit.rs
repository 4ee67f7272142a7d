//! The audit log: who did what to which dossier, when. Append-only — the schema's triggers refuse any
//! update or deletion, and nothing in the hub offers one. Every concern that changes a dossier's standing
//! (status, merge, export) appends here in the same transaction as the change.

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::Value;

use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

/// Who acted: a signed-in user, or the hub itself (e.g. at intake).
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// `users.id`, or `None` for the hub.
    pub id: Option<&'a str>,
    /// The name shown in the log.
    pub name: &'a str,
}

impl<'a> Actor<'a> {
    /// A signed-in user.
    pub fn user(id: &'a str, name: &'a str) -> Self {
        Actor { id: Some(id), name }
    }
}

/// One event to append.
#[derive(Debug, Clone, Default)]
pub struct Event<'a> {
    /// The dossier concerned, if any.
    pub dossier_id: Option<&'a str>,
    /// A stable action code, e.g. `status_changed`, `merged`, `kept_both`, `exported`, `holiday_added`.
    pub action: &'a str,
    pub from_status: Option<&'a str>,
    pub to_status: Option<&'a str>,
    /// What else matters (papers asked, result numbers, export id…); no secrets.
    pub detail: Value,
}

/// A logged event as shown to clerks.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub dossier_id: Option<String>,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub detail: Value,
}

/// Appends `event` by `actor`, now. Returns the entry id.
pub fn append(c: &Connection, actor: Actor<'_>, event: &Event<'_>) -> StoreResult<i64> {
    let detail = if event.detail.is_null() {
        "{}".to_owned()
    } else {
        event.detail.to_string()
    };
    c.execute(
        "INSERT INTO audit_log(at, actor_id, actor_name, dossier_id, action, from_status, to_status, detail_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            clock::now_rfc3339(),
            actor.id,
            actor.name,
            event.dossier_id,
            event.action,
            event.from_status,
            event.to_status,
            detail
        ],
    )
    .map_err(StoreError::classify)?;
    Ok(c.last_insert_rowid())
}

/// The history of one dossier, oldest first.
pub fn for_dossier(c: &Connection, dossier_id: &str) -> StoreResult<Vec<Entry>> {
    let mut st = c.prepare(
        "SELECT id, at, actor_id, actor_name, dossier_id, action, from_status, to_status, detail_json
         FROM audit_log WHERE dossier_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([dossier_id], |r| {
        Ok(Entry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor_id: r.get(2)?,
            actor_name: r.get(3)?,
            dossier_id: r.get(4)?,
            action: r.get(5)?,
            from_status: r.get(6)?,
            to_status: r.get(7)?,
            detail: serde_json::from_str(&r.get::<_, String>(8)?).unwrap_or(Value::Null),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_takes_appends_and_refuses_edits_and_deletions() {
        let c = crate::shared::store::open_memory().unwrap();
        let id = append(
            &c,
            Actor {
                id: None,
                name: "hub",
            },
            &Event {
                dossier_id: Some("d1"),
                action: "status_changed",
                from_status: Some("received"),
                to_status: Some("in_progress"),
                detail: serde_json::json!({"note": "x"}),
            },
        )
        .unwrap();
        assert_eq!(for_dossier(&c, "d1").unwrap().len(), 1);
        assert!(c
            .execute(
                "UPDATE audit_log SET actor_name = 'someone else' WHERE id = ?1",
                [id]
            )
            .is_err());
        assert!(c
            .execute("DELETE FROM audit_log WHERE id = ?1", [id])
            .is_err());
        assert_eq!(for_dossier(&c, "d1").unwrap()[0].actor_name, "hub");
    }
}
