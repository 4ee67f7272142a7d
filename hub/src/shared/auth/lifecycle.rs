//! Account lifecycle (issue 18, finding 7): disable and re-enable a user, change one's own password,
//! reset another's, end a user's sessions ("log out everywhere"), and the account changes' history.
//!
//! Admins act on others (`/api/v1/users/{id}/…`), every user on themself (`/api/v1/users/me/…`). Each
//! change is appended to the audit trail in the same transaction as the change (actor, action, the
//! account's id, name and role, how many sessions ended; never a password, hash or token). Sessions live
//! in the store and are read on every request, so an ended session's next request is `401` at once.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::store::{self as users, AccountOut, Refusal};
use super::{verify_password, AdminOnly, AuthUser, LoginLimiter};
use crate::shared::audit::Actor;
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::ip_limit::ClientIp;
use crate::shared::state::AppState;
use crate::shared::store::write_tx;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users/history", get(account_history))
        .route("/api/v1/users/me/password", post(change_own_password))
        .route("/api/v1/users/me/sessions", delete(end_own_sessions))
        .route("/api/v1/users/{id}/disable", post(disable_user))
        .route("/api/v1/users/{id}/enable", post(enable_user))
        .route("/api/v1/users/{id}/password", post(reset_password))
        .route("/api/v1/users/{id}/sessions", delete(end_user_sessions))
}

fn no_such_user() -> ApiError {
    ApiError::not_found("tài khoản này", "This account").with_field("id")
}

fn refusal(r: Refusal) -> ApiError {
    match r {
        Refusal::Missing => no_such_user(),
        Refusal::OwnAccount => ApiError::new(
            StatusCode::CONFLICT,
            "own_account",
            "Bạn không thể tự khóa tài khoản của mình. Hãy nhờ một quản trị viên khác.",
            "You cannot disable your own account. Ask another admin.",
        )
        .with_field("id"),
        Refusal::LastAdmin => ApiError::new(
            StatusCode::CONFLICT,
            "last_admin",
            "Đây là quản trị viên cuối cùng còn hoạt động: nếu khóa, không ai quản lý được trạm.",
            "This is the last enabled admin: disabled, nobody could manage the hub.",
        )
        .with_field("id"),
    }
}

/// An account and how many of its sessions the change ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct AccountChanged {
    user: AccountOut,
    sessions_ended: usize,
}

/// How many sessions a password change or "log out everywhere" ended.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct SessionsEnded {
    sessions_ended: usize,
}

/// The latest account changes.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(super) struct AccountHistory {
    #[schema(value_type = Vec<AccountHistoryEntry>)]
    entries: Vec<crate::shared::audit::Entry>,
}

/// One account change in the audit log (documentation of `audit::Entry` as this route fills it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: `audit::Entry` travels
struct AccountHistoryEntry {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    /// Who made the change (null: the hub itself).
    actor_id: Option<String>,
    actor_name: String,
    /// Always null: account changes concern no dossier.
    dossier_id: Option<String>,
    #[schema(value_type = AccountAction)]
    action: String,
    /// Always null here.
    from_status: Option<String>,
    /// Always null here.
    to_status: Option<String>,
    detail: AccountHistoryDetail,
}

/// What an account change was about.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
struct AccountHistoryDetail {
    user_id: String,
    user_name: String,
    role: super::Role,
    sessions_ended: usize,
}

/// The kinds of account change the history lists.
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only
enum AccountAction {
    UserCreated,
    UserDisabled,
    UserEnabled,
    PasswordChanged,
    PasswordReset,
    SessionsEnded,
}

async fn set_disabled(
    st: &AppState,
    admin: &AuthUser,
    id: String,
    disabled: bool,
) -> Result<Json<AccountChanged>, ApiError> {
    let (actor_id, actor_name) = (admin.id.clone(), admin.name.clone());
    let (user, ended) = st
        .db
        .call(move |c| {
            let tx = write_tx(c)?;
            let r = users::set_disabled(&tx, &id, disabled, Some(&actor_id))?;
            let Ok((acc, ended)) = r else {
                return Ok(r);
            };
            let action = if disabled {
                "user_disabled"
            } else {
                "user_enabled"
            };
            users::audit_account(
                &tx,
                Actor::user(&actor_id, &actor_name),
                action,
                &acc,
                ended,
            )?;
            tx.commit()?;
            Ok(Ok((acc, ended)))
        })
        .await?
        .map_err(refusal)?;
    tracing::info!(
        disabled,
        sessions_ended = ended,
        "account {}",
        if disabled { "disabled" } else { "enabled" }
    );
    if disabled {
        super::atrest::account_disabled(st, &user.id);
    }
    Ok(Json(AccountChanged {
        user,
        sessions_ended: ended,
    }))
}

/// Disables an account (admins only, not their own, not the last enabled admin): the user cannot log in
/// any more (`403 account_disabled`) and every session of theirs ends at once.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/disable",
    operation_id = "auth_disable_user",
    tag = "auth",
    security(("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The user's id (`UserOut.id`)")),
    responses(
        (status = 200, body = AccountChanged),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such account", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`own_account`: the admin's own account; `last_admin`: the last enabled admin", body = crate::shared::api_doc::ErrorBody),
    )
)]
pub(super) async fn disable_user(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    Path(id): Path<String>,
) -> Result<Json<AccountChanged>, ApiError> {
    set_disabled(&st, &admin, id, true).await
}

/// Re-enables a disabled account (admins only); its password is unchanged.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/enable",
    operation_id = "auth_enable_user",
    tag = "auth",
    security(("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The user's id (`UserOut.id`)")),
    responses(
        (status = 200, body = AccountChanged),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such account", body = crate::shared::api_doc::ErrorBody),
    )
)]
pub(super) async fn enable_user(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    Path(id): Path<String>,
) -> Result<Json<AccountChanged>, ApiError> {
    set_disabled(&st, &admin, id, false).await
}

/// A new password chosen by an admin for another user.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ResetIn {
    /// 8–256 characters.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
}

/// Resets another user's password (admins only): every session of that user ends, and the user must
/// choose a new password at the next login (`must_change_password` in `GET /api/v1/me`). An admin changes
/// their own password with `POST /api/v1/users/me/password`.
#[utoipa::path(
    post,
    path = "/api/v1/users/{id}/password",
    operation_id = "auth_reset_password",
    tag = "auth",
    security(("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The user's id (`UserOut.id`)")),
    request_body = ResetIn,
    responses(
        (status = 200, body = AccountChanged),
        (status = 400, description = "Bad JSON, or a password of fewer than 8 or more than 256 characters", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such account", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`own_account`: use `POST /api/v1/users/me/password`", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
    )
)]
pub(super) async fn reset_password(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ResetIn>,
) -> Result<Json<AccountChanged>, ApiError> {
    if id == admin.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "own_account",
            "Hãy đổi mật khẩu của chính bạn ở mục \"Đổi mật khẩu\" (cần mật khẩu hiện tại).",
            "Change your own password under \"Change my password\" (it needs the current one).",
        )
        .with_field("id"));
    }
    super::routes::check_password(&body.password)?;
    let temporary = body.password;
    let hash = super::routes::hash_off_thread(temporary.clone()).await?;
    let hash_kept = hash.clone();
    let (actor_id, actor_name) = (admin.id.clone(), admin.name.clone());
    let (user, ended) = st
        .db
        .call(move |c| {
            let tx = write_tx(c)?;
            let Some(acc) = users::account(&tx, &id)? else {
                return Ok(None);
            };
            users::set_password(&tx, &id, &hash, true)?;
            let ended = users::end_sessions(&tx, &id, None)?;
            let acc = AccountOut {
                must_change_password: true,
                ..acc
            };
            users::audit_account(
                &tx,
                Actor::user(&actor_id, &actor_name),
                "password_reset",
                &acc,
                ended,
            )?;
            tx.commit()?;
            Ok(Some((acc, ended)))
        })
        .await?
        .ok_or_else(no_such_user)?;
    tracing::info!(sessions_ended = ended, "password reset by an admin");
    // The temporary password unlocks the hub for this user until they choose their own.
    super::atrest::after_password(&st, &user.id, &user.name, user.role, &hash_kept, &temporary)
        .await;
    Ok(Json(AccountChanged {
        user,
        sessions_ended: ended,
    }))
}

/// Ends every session of a user (admins only; their own included when they name themself).
#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}/sessions",
    operation_id = "auth_end_user_sessions",
    tag = "auth",
    security(("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The user's id (`UserOut.id`)")),
    responses(
        (status = 200, body = AccountChanged),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such account", body = crate::shared::api_doc::ErrorBody),
    )
)]
pub(super) async fn end_user_sessions(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    Path(id): Path<String>,
) -> Result<Json<AccountChanged>, ApiError> {
    let (actor_id, actor_name) = (admin.id.clone(), admin.name.clone());
    let (user, ended) = st
        .db
        .call(move |c| {
            let tx = write_tx(c)?;
            let Some(acc) = users::account(&tx, &id)? else {
                return Ok(None);
            };
            let ended = users::end_sessions(&tx, &id, None)?;
            users::audit_account(
                &tx,
                Actor::user(&actor_id, &actor_name),
                "sessions_ended",
                &acc,
                ended,
            )?;
            tx.commit()?;
            Ok(Some((acc, ended)))
        })
        .await?
        .ok_or_else(no_such_user)?;
    tracing::info!(sessions_ended = ended, "sessions ended by an admin");
    Ok(Json(AccountChanged {
        user,
        sessions_ended: ended,
    }))
}

/// The caller's current password and the new one.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ChangeIn {
    current_password: String,
    /// 8–256 characters, not the current one.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
}

/// Changes the caller's own password (every user): needs the current password (wrong guesses count
/// against the login rate limit); the caller's other sessions end, this one stays; clears
/// `must_change_password`.
#[utoipa::path(
    post,
    path = "/api/v1/users/me/password",
    operation_id = "auth_change_own_password",
    tag = "auth",
    security(("session" = [], "csrf" = [])),
    request_body = ChangeIn,
    responses(
        (status = 200, description = "The caller's other sessions ended (this one stays)", body = SessionsEnded),
        (status = 400, description = "Bad JSON; a new password of fewer than 8 or more than 256 characters, or equal to the current one (field `password`)", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "No CSRF token, or `bad_current_password` (field `current_password`): the current password is wrong", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
        (status = 429, description = "`rate_limited`: too many wrong passwords (`Retry-After`)", body = crate::shared::api_doc::ErrorBody),
    )
)]
pub(super) async fn change_own_password(
    State(st): State<AppState>,
    user: AuthUser,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    JsonBody(body): JsonBody<ChangeIn>,
) -> Result<Response, ApiError> {
    super::routes::check_password(&body.password)?;
    if body.password == body.current_password {
        return Err(ApiError::bad_request(
            "Mật khẩu mới phải khác mật khẩu hiện tại.",
            "The new password must differ from the current one.",
        )
        .with_field("password"));
    }
    // Wrong current passwords count like failed logins of this user from this address.
    let attempt = match st
        .part::<LoginLimiter>()
        .reserve(&users::name_key(&user.name), ip)
    {
        Ok(a) => a,
        Err(wait) => return Ok(super::routes::login_locked(wait)),
    };
    let uid = user.id.clone();
    let stored = st
        .db
        .call(move |c| users::password_hash_of(c, &uid))
        .await?;
    let current = body.current_password;
    let ok = crate::shared::cpu::run(move || verify_password(&current, stored.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    if !ok {
        drop(attempt);
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_current_password",
            "Mật khẩu hiện tại không đúng.",
            "The current password is wrong.",
        )
        .with_field("current_password"));
    }
    attempt.succeeded();
    let new_password = body.password;
    let hash = super::routes::hash_off_thread(new_password.clone()).await?;
    let hash_kept = hash.clone();
    let keep = super::session_token(&headers);
    let (uid, uname) = (user.id.clone(), user.name.clone());
    let ended = st
        .db
        .call(move |c| {
            let tx = write_tx(c)?;
            let Some(acc) = users::account(&tx, &uid)? else {
                return Ok(None);
            };
            users::set_password(&tx, &uid, &hash, false)?;
            let ended = users::end_sessions(&tx, &uid, keep.as_deref())?;
            let acc = AccountOut {
                must_change_password: false,
                ..acc
            };
            users::audit_account(
                &tx,
                Actor::user(&uid, &uname),
                "password_changed",
                &acc,
                ended,
            )?;
            tx.commit()?;
            Ok(Some(ended))
        })
        .await?
        .ok_or_else(ApiError::unauthenticated)?;
    tracing::info!(sessions_ended = ended, "own password changed");
    // The old password no longer unlocks the hub; the new one does.
    super::atrest::after_password(
        &st,
        &user.id,
        &user.name,
        user.role,
        &hash_kept,
        &new_password,
    )
    .await;
    Ok(Json(SessionsEnded {
        sessions_ended: ended,
    })
    .into_response())
}

/// "Log out everywhere": ends every session of the caller, this one included, and clears its cookie.
#[utoipa::path(
    delete,
    path = "/api/v1/users/me/sessions",
    operation_id = "auth_end_own_sessions",
    tag = "auth",
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Every session of the caller ended; session cookie cleared", body = SessionsEnded),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "No CSRF token", body = crate::shared::api_doc::ErrorBody),
    )
)]
pub(super) async fn end_own_sessions(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Response, ApiError> {
    let (uid, uname) = (user.id.clone(), user.name.clone());
    let ended = st
        .db
        .call(move |c| {
            let tx = write_tx(c)?;
            let Some(acc) = users::account(&tx, &uid)? else {
                return Ok(0);
            };
            let ended = users::end_sessions(&tx, &uid, None)?;
            users::audit_account(
                &tx,
                Actor::user(&uid, &uname),
                "sessions_ended",
                &acc,
                ended,
            )?;
            tx.commit()?;
            Ok(ended)
        })
        .await?;
    tracing::info!(sessions_ended = ended, "logged out everywhere");
    Ok((
        super::routes::clear_cookies(),
        Json(SessionsEnded {
            sessions_ended: ended,
        }),
    )
        .into_response())
}

/// The latest account changes (created, disabled, enabled, password changed or reset, sessions ended),
/// newest first, at most 50 (admins only).
#[utoipa::path(
    get,
    path = "/api/v1/users/history",
    operation_id = "auth_account_history",
    tag = "auth",
    security(("session" = ["admin"])),
    responses(
        (status = 200, description = "The latest account changes, newest first (at most 50)", body = AccountHistory),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
pub(super) async fn account_history(
    State(st): State<AppState>,
    _admin: AdminOnly,
) -> Result<Json<AccountHistory>, ApiError> {
    let entries = st.db.call(|c| users::account_audit(c, 50)).await?;
    Ok(Json(AccountHistory { entries }))
}
