//! Users, sessions and setup tokens in the store.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use super::{token_hash, AuthUser, Role, SESSION_ABSOLUTE_SECS, SESSION_IDLE_SECS};
use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

/// What two user names are compared by: NFC, then lower case. "Nguyễn Văn An" typed with decomposed
/// diacritics, or as "nguyễn văn an", names the same user.
pub fn name_key(name: &str) -> String {
    crate::shared::vault::keyring::name_key(name)
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
    find_named(c, name, false)
}

/// The user `name` names among the enabled (`disabled` false) or the disabled accounts.
fn find_named(c: &Connection, name: &str, disabled: bool) -> StoreResult<Option<UserRow>> {
    let key = name_key(name);
    let mut st = c.prepare(
        "SELECT id, name, role, password_hash FROM users WHERE disabled = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([disabled as i64], |r| {
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
            "SELECT u.id, u.name, u.role, s.csrf_token, s.expires_at,
                    CAST(strftime('%s', s.created_at) AS INTEGER), u.must_change_password
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND u.disabled = 0",
            [&th],
            |r| {
                Ok((
                    AuthUser {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        role: role_of(r.get(2)?)?,
                        csrf: r.get(3)?,
                        must_change_password: r.get::<_, i64>(6)? != 0,
                    },
                    r.get::<_, i64>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((user, expires, created)) = row else {
        return Ok(None);
    };
    // Idle for too long, or past the absolute lifetime (an unreadable start counts as past it).
    let hard_end = created.map_or(i64::MIN, |t| t + SESSION_ABSOLUTE_SECS);
    if expires < now || hard_end <= now {
        c.execute("DELETE FROM sessions WHERE token_hash = ?1", [&th])?;
        return Ok(None);
    }
    if expires - now < SESSION_IDLE_SECS - 600 {
        c.execute(
            "UPDATE sessions SET expires_at = ?1 WHERE token_hash = ?2",
            params![(now + SESSION_IDLE_SECS).min(hard_end), th],
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

// ---------- account lifecycle (issue 18, finding 7) ----------

/// A user as the admin's list shows it, with the account's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AccountOut {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// A disabled user cannot log in and has no session.
    pub disabled: bool,
    /// Set by an admin's password reset: the app asks for a new password before anything else.
    pub must_change_password: bool,
}

const ACCOUNT_COLUMNS: &str = "id, name, role, disabled, must_change_password";

fn account_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<AccountOut> {
    Ok(AccountOut {
        id: r.get(0)?,
        name: r.get(1)?,
        role: role_of(r.get(2)?)?,
        disabled: r.get::<_, i64>(3)? != 0,
        must_change_password: r.get::<_, i64>(4)? != 0,
    })
}

/// Every account, enabled first, then by name.
pub fn list_accounts(c: &Connection) -> StoreResult<Vec<AccountOut>> {
    let mut st = c.prepare(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY disabled, name"
    ))?;
    let rows = st.query_map([], account_of)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One account by id, disabled or not.
pub fn account(c: &Connection, id: &str) -> StoreResult<Option<AccountOut>> {
    Ok(c.query_row(
        &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = ?1"),
        [id],
        account_of,
    )
    .optional()?)
}

/// The account `name` names, disabled or not: the exact name, else the one account with the same
/// [`name_key`] (as [`find_user`], for the command line).
pub fn account_by_name(c: &Connection, name: &str) -> StoreResult<Option<AccountOut>> {
    let key = name_key(name);
    let mut st = c.prepare(&format!("SELECT {ACCOUNT_COLUMNS} FROM users ORDER BY id"))?;
    let mut same_key = Vec::new();
    for a in st.query_map([], account_of)? {
        let a = a?;
        if a.name == name {
            return Ok(Some(a));
        }
        if name_key(&a.name) == key {
            same_key.push(a);
        }
    }
    Ok(if same_key.len() == 1 {
        same_key.pop()
    } else {
        None
    })
}

/// The disabled user `name` names (matched as [`find_user`] matches enabled ones), for telling a
/// disabled user who typed the right password that the account is disabled.
pub fn find_disabled_user(c: &Connection, name: &str) -> StoreResult<Option<UserRow>> {
    find_named(c, name, true)
}

/// The stored password hash of an enabled user.
pub fn password_hash_of(c: &Connection, id: &str) -> StoreResult<Option<String>> {
    Ok(c.query_row(
        "SELECT password_hash FROM users WHERE id = ?1 AND disabled = 0",
        [id],
        |r| r.get(0),
    )
    .optional()?)
}

/// Whether the user must choose a new password (after an admin's reset).
pub fn must_change_password(c: &Connection, id: &str) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT must_change_password FROM users WHERE id = ?1",
        [id],
        |r| r.get::<_, i64>(0),
    )
    .optional()?
    .is_some_and(|v| v != 0))
}

/// Why a lifecycle change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such account.
    Missing,
    /// An admin cannot disable their own account.
    OwnAccount,
    /// The last enabled admin cannot be disabled: nobody could manage the hub any more.
    LastAdmin,
}

/// Ends every session of `user_id` except the one whose token is `keep`; returns how many ended. The hub
/// reads sessions from this table on every request, so the next request of an ended session is refused
/// at once, also when another process (the command line) ended it.
pub fn end_sessions(c: &Connection, user_id: &str, keep: Option<&str>) -> StoreResult<usize> {
    let keep = keep.map(token_hash).unwrap_or_default();
    Ok(c.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND token_hash <> ?2",
        params![user_id, keep],
    )?)
}

/// Disables (ending every session at once) or re-enables an account. `by` is the acting user's id (none
/// from the command line): an admin cannot disable themself, and nobody the last enabled admin. Returns
/// the account as it now is and the number of sessions ended.
pub fn set_disabled(
    c: &Connection,
    id: &str,
    disabled: bool,
    by: Option<&str>,
) -> StoreResult<Result<(AccountOut, usize), Refusal>> {
    let Some(acc) = account(c, id)? else {
        return Ok(Err(Refusal::Missing));
    };
    if disabled {
        if by == Some(id) {
            return Ok(Err(Refusal::OwnAccount));
        }
        if acc.role == Role::Admin && !acc.disabled {
            let admins: i64 = c.query_row(
                "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
                [],
                |r| r.get(0),
            )?;
            if admins <= 1 {
                return Ok(Err(Refusal::LastAdmin));
            }
        }
    }
    c.execute(
        "UPDATE users SET disabled = ?1 WHERE id = ?2",
        params![disabled as i64, id],
    )?;
    let ended = if disabled {
        end_sessions(c, id, None)?
    } else {
        0
    };
    Ok(Ok((AccountOut { disabled, ..acc }, ended)))
}

/// Stores a new password hash; `must_change` marks an admin's reset. Returns false when no such user.
pub fn set_password(
    c: &Connection,
    id: &str,
    password_hash: &str,
    must_change: bool,
) -> StoreResult<bool> {
    Ok(c.execute(
        "UPDATE users SET password_hash = ?1, must_change_password = ?2 WHERE id = ?3",
        params![password_hash, must_change as i64, id],
    )? == 1)
}

/// Appends an account change to the audit trail (no password, no hash, no token): `action` is
/// `user_created`, `user_disabled`, `user_enabled`, `password_changed`, `password_reset` or
/// `sessions_ended`.
pub fn audit_account(
    c: &Connection,
    actor: crate::shared::audit::Actor<'_>,
    action: &str,
    account: &AccountOut,
    sessions_ended: usize,
) -> StoreResult<i64> {
    crate::shared::audit::append(
        c,
        actor,
        &crate::shared::audit::Event {
            action,
            detail: serde_json::json!({
                "user_id": account.id,
                "user_name": account.name,
                "role": account.role,
                "sessions_ended": sessions_ended,
            }),
            ..Default::default()
        },
    )
}

/// The audit entries about accounts (not about a dossier), newest first, at most `limit`.
pub fn account_audit(c: &Connection, limit: i64) -> StoreResult<Vec<crate::shared::audit::Entry>> {
    let mut st = c.prepare(
        "SELECT id, at, actor_id, actor_name, dossier_id, action, from_status, to_status, detail_json
         FROM audit_log WHERE dossier_id IS NULL AND action IN
           ('user_created','user_disabled','user_enabled','password_changed','password_reset','sessions_ended')
         ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit], |r| {
        Ok(crate::shared::audit::Entry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor_id: r.get(2)?,
            actor_name: r.get(3)?,
            dossier_id: r.get(4)?,
            action: r.get(5)?,
            from_status: r.get(6)?,
            to_status: r.get(7)?,
            detail: serde_json::from_str(&r.get::<_, String>(8)?)
                .unwrap_or(serde_json::Value::Null),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod session_lifetime_tests {
    use super::*;

    fn user_with_session() -> (Connection, String) {
        let c = crate::shared::store::open_memory().unwrap();
        let u = insert_user(&c, "quantri", Role::Admin, "x").unwrap();
        let (token, _) = create_session(&c, &u.id).unwrap();
        (c, token)
    }

    #[test]
    fn a_session_in_use_still_ends_at_its_absolute_lifetime() {
        let (mut c, token) = user_with_session();
        assert!(session_user(&mut c, &token).unwrap().is_some());
        // Used a minute ago (idle expiry far ahead), but logged in just over the absolute lifetime ago.
        let started = clock::rfc3339_of_ms((clock::now_unix() - SESSION_ABSOLUTE_SECS - 1) * 1000);
        c.execute(
            "UPDATE sessions SET created_at = ?1, expires_at = ?2",
            params![started, clock::now_unix() + SESSION_IDLE_SECS - 60],
        )
        .unwrap();
        assert!(session_user(&mut c, &token).unwrap().is_none());
        let left: i64 = c
            .query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "the ended session is deleted");
    }

    #[test]
    fn sliding_never_extends_past_the_absolute_lifetime() {
        let (mut c, token) = user_with_session();
        // Logged in 23 h ago, idle expiry near: the slide stops at 24 h after the login.
        let login = clock::now_unix() - SESSION_ABSOLUTE_SECS + 3600;
        c.execute(
            "UPDATE sessions SET created_at = ?1, expires_at = ?2",
            params![clock::rfc3339_of_ms(login * 1000), clock::now_unix() + 60],
        )
        .unwrap();
        assert!(session_user(&mut c, &token).unwrap().is_some());
        let exp: i64 = c
            .query_row("SELECT expires_at FROM sessions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(exp, login + SESSION_ABSOLUTE_SECS);
    }
}
