//! Users, sessions and setup tokens in the store.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use super::{token_hash, AuthUser, Role, SESSION_IDLE_SECS};
use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

/// What two user names are compared by: NFC, then lower case. "Nguyễn Văn An" typed with decomposed
/// diacritics, or as "nguyễn văn an", names the same user.
pub fn name_key(name: &str) -> String {
    name.nfc().collect::<String>().to_lowercase()
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserOut {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// A stored user with the password hash, for login.
pub struct UserRow {
    pub user: UserOut,
    pub password_hash: String,
}

fn role_of(s: String) -> rusqlite::Result<Role> {
    Role::parse(&s)
        .ok_or_else(|| rusqlite::Error::InvalidColumnType(0, s, rusqlite::types::Type::Text))
}

pub fn insert_user(
    c: &Connection,
    name: &str,
    role: Role,
    password_hash: &str,
) -> StoreResult<UserOut> {
    let id = uuid::Uuid::now_v7().to_string();
    // Stored as NFC, as typed otherwise (the letter case is the user's).
    let name: String = name.nfc().collect();
    c.execute(
        "INSERT INTO users(id, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, name, role.as_str(), password_hash, clock::now_rfc3339()],
    )
    .map_err(StoreError::classify)?;
    Ok(UserOut { id, name, role })
}

/// Whether a user with this name exists, whatever its letter case or Unicode form ([`name_key`]).
pub fn user_exists(c: &Connection, name: &str) -> StoreResult<bool> {
    let key = name_key(name);
    let mut st = c.prepare("SELECT name FROM users")?;
    let names = st.query_map([], |r| r.get::<_, String>(0))?;
    for n in names {
        if name_key(&n?) == key {
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn admin_exists(c: &Connection) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE role = 'admin' AND disabled = 0)",
        [],
        |r| r.get(0),
    )?)
}

/// The enabled user `name` names: the exact name, else the one user whose name has the same [`name_key`]
/// (a phone's keyboard may send decomposed diacritics; people capitalise names differently). Two users
/// whose names differ only so (created before names were compared this way) are not guessed between.
pub fn find_user(c: &Connection, name: &str) -> StoreResult<Option<UserRow>> {
    let key = name_key(name);
    let mut st = c.prepare(
        "SELECT id, name, role, password_hash FROM users WHERE disabled = 0 ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(UserRow {
            user: UserOut {
                id: r.get(0)?,
                name: r.get(1)?,
                role: role_of(r.get(2)?)?,
            },
            password_hash: r.get(3)?,
        })
    })?;
    let mut same_key = Vec::new();
    for row in rows {
        let row = row?;
        if row.user.name == name {
            return Ok(Some(row));
        }
        if name_key(&row.user.name) == key {
            same_key.push(row);
        }
    }
    Ok(if same_key.len() == 1 {
        same_key.pop()
    } else {
        None
    })
}

pub fn list_users(c: &Connection) -> StoreResult<Vec<UserOut>> {
    let mut st = c.prepare("SELECT id, name, role FROM users WHERE disabled = 0 ORDER BY name")?;
    let rows = st.query_map([], |r| {
        Ok(UserOut {
            id: r.get(0)?,
            name: r.get(1)?,
            role: role_of(r.get(2)?)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Creates a session; returns (cookie token, csrf token).
pub fn create_session(c: &Connection, user_id: &str) -> StoreResult<(String, String)> {
    let token = super::random_token().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let csrf = super::random_token().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let now = clock::now_unix();
    c.execute("DELETE FROM sessions WHERE expires_at < ?1", [now])?;
    c.execute(
        "INSERT INTO sessions(token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash(&token), user_id, csrf, clock::now_rfc3339(), now + SESSION_IDLE_SECS],
    )
    .map_err(StoreError::classify)?;
    Ok((token, csrf))
}

/// The user of a live session, sliding its expiry forward when it is more than 10 minutes old.
pub fn session_user(c: &mut Connection, token: &str) -> StoreResult<Option<AuthUser>> {
    let th = token_hash(token);
    let now = clock::now_unix();
    let row = c
        .query_row(
            "SELECT u.id, u.name, u.role, s.csrf_token, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND u.disabled = 0",
            [&th],
            |r| {
                Ok((
                    AuthUser { id: r.get(0)?, name: r.get(1)?, role: role_of(r.get(2)?)?, csrf: r.get(3)? },
                    r.get::<_, i64>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((user, expires)) = row else {
        return Ok(None);
    };
    if expires < now {
        c.execute("DELETE FROM sessions WHERE token_hash = ?1", [&th])?;
        return Ok(None);
    }
    if expires - now < SESSION_IDLE_SECS - 600 {
        c.execute(
            "UPDATE sessions SET expires_at = ?1 WHERE token_hash = ?2",
            params![now + SESSION_IDLE_SECS, th],
        )?;
    }
    Ok(Some(user))
}

pub fn delete_session(c: &Connection, token: &str) -> StoreResult<()> {
    c.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        [token_hash(token)],
    )?;
    Ok(())
}

/// Replaces any setup token with a fresh one valid for 24 hours; returns it.
pub fn new_setup_token(c: &Connection) -> StoreResult<String> {
    let token = super::random_token().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    c.execute("DELETE FROM setup_tokens", [])?;
    c.execute(
        "INSERT INTO setup_tokens(token_hash, expires_at) VALUES (?1, ?2)",
        params![token_hash(&token), clock::now_unix() + 24 * 3600],
    )?;
    Ok(token)
}

/// Whether `token` is the live setup token.
pub fn setup_token_valid(c: &Connection, token: &str) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM setup_tokens WHERE token_hash = ?1 AND expires_at >= ?2)",
        params![token_hash(token), clock::now_unix()],
        |r| r.get(0),
    )?)
}

pub fn clear_setup_tokens(c: &Connection) -> StoreResult<()> {
    c.execute("DELETE FROM setup_tokens", [])?;
    Ok(())
}
