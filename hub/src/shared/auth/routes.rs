//! HTTP routes for setup, login, logout, the current user, and user management.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::shared::api_doc::field_schemas::Empty;

use super::store::{self as users, UserOut};
use super::{
    hash_password, verify_password, AdminOnly, AuthUser, Role, OLD_SESSION_COOKIE, SESSION_COOKIE,
    SESSION_IDLE_SECS,
};
use crate::shared::auth::channel::{self, Channel, SecureChannel};
use crate::shared::auth::LoginLimiter;
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::ip_limit::ClientIp;
use crate::shared::state::AppState;
use crate::shared::store::write_tx;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        setup_status,
        setup,
        login,
        logout,
        me,
        list_users,
        add_user,
        super::lifecycle::disable_user,
        super::lifecycle::enable_user,
        super::lifecycle::reset_password,
        super::lifecycle::end_user_sessions,
        super::lifecycle::change_own_password,
        super::lifecycle::end_own_sessions,
        super::lifecycle::account_history
    ),
    components(schemas(SetupIn, LoginIn, AddUserIn, UserOut, super::Role, users::AccountOut))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/setup", get(setup_status).post(setup))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/users", get(list_users).post(add_user))
        .merge(super::lifecycle::router())
}

/// Checks a user name: 1–64 characters, no control characters, no leading/trailing spaces.
pub fn check_name(name: &str) -> Result<(), ApiError> {
    let n = name.chars().count();
    if n == 0 || n > 64 || name.trim() != name || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "Tên đăng nhập phải có 1–64 ký tự, không có ký tự điều khiển hay khoảng trắng ở đầu/cuối.",
            "The user name must be 1–64 characters, without control characters or surrounding spaces.",
        )
        .with_field("name"));
    }
    Ok(())
}

/// Checks a new password: at least 8 and at most 256 characters.
pub fn check_password(pw: &str) -> Result<(), ApiError> {
    let n = pw.chars().count();
    if !(8..=256).contains(&n) {
        return Err(ApiError::bad_request(
            "Mật khẩu phải có từ 8 đến 256 ký tự.",
            "The password must have 8 to 256 characters.",
        )
        .with_field("password"));
    }
    Ok(())
}

/// Hashes a password on the blocking pool (argon2 takes tens of milliseconds by design).
pub(super) async fn hash_off_thread(password: String) -> Result<String, ApiError> {
    crate::shared::cpu::run(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// The session cookie: `__Host-` prefixed, `Secure`, HttpOnly, SameSite=Strict (browsers treat loopback as
/// secure, so a hub used on its own machine over `http://127.0.0.1` keeps working).
fn session_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_IDLE_SECS}"
    )
}

/// Clears the session cookie, and the pre-`__Host-` one a browser may still hold.
pub(super) fn clear_cookies() -> AppendHeaders<[(header::HeaderName, String); 2]> {
    AppendHeaders([
        (
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        ),
        (
            header::SET_COOKIE,
            format!("{OLD_SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
        ),
    ])
}

/// A login's answer (the session cookie is set).
#[derive(Serialize, utoipa::ToSchema)]
struct LoggedIn {
    user: UserOut,
    /// Send it back as `X-CSRF-Token` on every state-changing call.
    csrf_token: String,
}

/// What the start page needs before anyone logs in.
#[derive(Serialize, utoipa::ToSchema)]
struct SetupStatus {
    /// No admin yet: the hub waits for its first admin (setup).
    needs_setup: bool,
    /// True while a restarted field hub waits for an officer to unlock it (a locked hub answers this
    /// route itself, `app/serve/locked.rs`); the full app serves only an unlocked hub.
    locked: bool,
    #[schema(value_type = crate::shared::api_doc::field_schemas::HubMode)]
    mode: protocol::HubMode,
    /// This connection may carry a team login (HTTPS, or on the hub itself).
    secure: bool,
    /// Where to log in instead, when not `secure`.
    https_url: Option<String>,
    /// The local CA's fingerprint, colon-separated hex, to compare with the hub's screen or printed join
    /// sheet (never with this page).
    ca_sha256: Option<String>,
}

/// The logged-in user and the hub.
#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    user: UserOut,
    csrf_token: String,
    #[schema(value_type = crate::shared::api_doc::field_schemas::HubMode)]
    mode: protocol::HubMode,
    #[schema(value_type = String, pattern = "^[0-9a-f]{16}$")]
    device_id: protocol::DeviceId,
    hub_name: String,
    /// An admin reset the password: the app asks for a new one first.
    must_change_password: bool,
}

/// The hub's accounts.
#[derive(Serialize, utoipa::ToSchema)]
struct UserList {
    users: Vec<users::AccountOut>,
}

fn logged_in(user: UserOut, token: String, csrf: String, status: StatusCode) -> Response {
    let AppendHeaders([_, old]) = clear_cookies();
    (
        status,
        AppendHeaders([(header::SET_COOKIE, session_cookie(&token)), old]),
        Json(LoggedIn {
            user,
            csrf_token: csrf,
        }),
    )
        .into_response()
}

/// Whether the hub still needs its first admin (setup), its mode, and whether this connection may carry
/// a team login (`secure`; when not, `https_url` is where to log in instead).
#[utoipa::path(
    get,
    path = "/api/v1/setup",
    operation_id = "auth_setup_status",
    tag = "auth",
    security(()),
    responses(
        (status = 200, description = "Whether setup is needed, the mode, and where to log in", body = SetupStatus),
    )
)]
async fn setup_status(
    State(st): State<AppState>,
    ch: Option<axum::Extension<Channel>>,
    ca: Option<axum::Extension<channel::CaFingerprint>>,
    headers: axum::http::HeaderMap,
) -> Result<Json<SetupStatus>, ApiError> {
    let needs = !st.db.call(|c| users::admin_exists(c)).await?;
    let secure = ch.as_ref().is_some_and(|c| c.secure());
    let https_url = ch
        .and_then(|c| c.https_port)
        .and_then(|p| channel::https_base(&headers, p));
    Ok(Json(SetupStatus {
        needs_setup: needs,
        // A locked hub answers this route itself (`app/serve/locked.rs`) with `true`; the full app
        // serves only an unlocked hub.
        locked: false,
        mode: st.mode,
        secure,
        https_url,
        ca_sha256: ca.map(|c| c.0 .0.to_string()),
    }))
}

/// The first admin account, with the one-time setup token printed by the hub at its first start.
#[derive(Deserialize, utoipa::ToSchema)]
struct SetupIn {
    /// The one-time setup token the hub printed at its first start.
    token: String,
    /// 1–64 characters, no control characters, no surrounding spaces.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F])?$"
    )]
    name: String,
    /// 8–256 characters.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
}

/// Creates the first admin with the one-time setup token, and logs them in (sets the session cookie).
#[utoipa::path(
    post,
    path = "/api/v1/setup",
    operation_id = "auth_setup",
    tag = "auth",
    security(()),
    request_body = SetupIn,
    responses(
        (status = 201, description = "Logged in, session cookie set", body = LoggedIn),
        (status = 400, description = "Bad JSON, name or password", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "`bad_setup_token`: wrong or expired setup token; `https_required`: over plain HTTP from another machine (`location`: the hub's HTTPS address)", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`setup_done`: an admin exists already", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn setup(
    _secure: SecureChannel,
    State(st): State<AppState>,
    JsonBody(body): JsonBody<SetupIn>,
) -> Result<Response, ApiError> {
    check_name(&body.name)?;
    check_password(&body.password)?;
    let password = body.password;
    let hash = hash_off_thread(password.clone()).await?;
    let name = body.name;
    let token = body.token;
    let hash_kept = hash.clone();
    let out = st
        .db
        .call(move |c| {
            let tx = write_tx(c)?;
            if users::admin_exists(&tx)? {
                return Ok(Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "setup_done",
                    "Trạm đã được thiết lập. Hãy đăng nhập.",
                    "This hub is already set up. Please log in.",
                )));
            }
            if !users::setup_token_valid(&tx, &token)? {
                return Ok(Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "bad_setup_token",
                    "Liên kết thiết lập không đúng hoặc đã hết hạn. Khởi động lại trạm để có liên kết mới.",
                    "The setup link is wrong or expired. Restart the hub to get a new link.",
                )
                .with_field("token")));
            }
            let user = users::insert_user(&tx, &name, Role::Admin, &hash)?;
            users::clear_setup_tokens(&tx)?;
            let (tok, csrf) = users::create_session(&tx, &user.id)?;
            tx.commit()?;
            Ok(Ok((user, tok, csrf)))
        })
        .await??;
    tracing::info!("first admin account created");
    // On a field hub the first admin's password protects the data at rest from now on.
    super::atrest::after_password(
        &st,
        &out.0.id,
        &out.0.name,
        out.0.role,
        &hash_kept,
        &password,
    )
    .await;
    Ok(logged_in(out.0, out.1, out.2, StatusCode::CREATED))
}

/// A user name and password.
#[derive(Deserialize, utoipa::ToSchema)]
struct LoginIn {
    name: String,
    password: String,
}

/// `429 rate_limited` with `Retry-After`: too many failed logins (see [`super::ratelimit`]).
pub fn login_locked(wait_secs: u64) -> Response {
    let mins = wait_secs.div_ceil(60);
    (
        [(header::RETRY_AFTER, wait_secs.to_string())],
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Đăng nhập sai quá nhiều lần. Hãy đợi khoảng {mins} phút rồi thử lại."),
            format!("Too many failed logins. Wait about {mins} minutes and try again."),
        ),
    )
        .into_response()
}

/// Logs in with a user name and password (sets the session cookie); rate-limited per name and address.
#[utoipa::path(
    post,
    path = "/api/v1/login",
    operation_id = "auth_login",
    tag = "auth",
    security(()),
    request_body = LoginIn,
    responses(
        (status = 200, description = "Logged in, session cookie set", body = LoggedIn),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 401, description = "`bad_credentials`", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "`https_required`: over plain HTTP from another machine (`location`: the hub's HTTPS address); `account_disabled`: the right password of a disabled account", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
        (status = 429, description = "`rate_limited`: too many failed logins (`Retry-After`)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn login(
    _secure: SecureChannel,
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<LoginIn>,
) -> Result<Response, ApiError> {
    // The limits count per user, whatever letter case or Unicode form the name was typed in.
    let key = users::name_key(&body.name);
    // The attempt is counted before the password is checked (a success gives it back), so simultaneous
    // guesses cannot all pass the limit while the slow hashes run.
    let attempt = match st.part::<LoginLimiter>().reserve(&key, ip) {
        Ok(attempt) => attempt,
        Err(wait) => return Ok(login_locked(wait)),
    };
    let name = body.name.clone();
    // An enabled user, else a disabled one (told so only after the right password: finding 7).
    let row = st
        .db
        .call(move |c| {
            Ok(match users::find_user(c, &name)? {
                Some(r) => Some((r, false)),
                None => users::find_disabled_user(c, &name)?.map(|r| (r, true)),
            })
        })
        .await?;
    let password = body.password;
    let stored = row.as_ref().map(|r| r.0.password_hash.clone());
    let typed = password.clone();
    let ok = crate::shared::cpu::run(move || verify_password(&password, stored.as_deref()))
        .await
        .map_err(ApiError::internal)?;
    let Some((row, disabled)) = row.filter(|_| ok) else {
        // The reservation stays counted: a failed attempt.
        drop(attempt);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "Tên đăng nhập hoặc mật khẩu không đúng.",
            "Wrong user name or password.",
        ));
    };
    attempt.succeeded();
    if disabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "Tài khoản này đã bị khóa. Hãy hỏi quản trị viên của trạm.",
            "This account is disabled. Ask the hub's admin.",
        )
        .with_field("name"));
    }
    // A field hub's data is protected by the first officer/admin password it sees (an upgraded hub), and
    // each officer's copy of the data key follows their password.
    super::atrest::after_password(
        &st,
        &row.user.id,
        &row.user.name,
        row.user.role,
        &row.password_hash,
        &typed,
    )
    .await;
    let uid = row.user.id.clone();
    let (tok, csrf) = st.db.call(move |c| users::create_session(c, &uid)).await?;
    Ok(logged_in(row.user, tok, csrf, StatusCode::OK))
}

/// Ends the caller's session and clears its cookie.
#[utoipa::path(
    post,
    path = "/api/v1/logout",
    operation_id = "auth_logout",
    tag = "auth",
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 200, description = "Logged out, session cookie cleared", body = Empty),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "No CSRF token", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn logout(
    State(st): State<AppState>,
    _user: AuthUser,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(tok) = super::session_token(&headers) {
        st.db.call(move |c| users::delete_session(c, &tok)).await?;
    }
    Ok((clear_cookies(), Json(Empty {})).into_response())
}

/// The logged-in user, their CSRF token, and the hub's mode, device id and name.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "auth_me",
    tag = "auth",
    security(("session" = [])),
    responses(
        (status = 200, description = "The user, their CSRF token and the hub", body = Me),
        crate::shared::api_doc::Unauthenticated,
    )
)]
async fn me(State(st): State<AppState>, user: AuthUser) -> Result<Json<Me>, ApiError> {
    let uid = user.id.clone();
    let must_change = st
        .db
        .call(move |c| users::must_change_password(c, &uid))
        .await?;
    Ok(Json(Me {
        user: user.public(),
        csrf_token: user.csrf.clone(),
        mode: st.mode,
        device_id: st.keys.device_id.clone(),
        hub_name: st.name.clone(),
        must_change_password: must_change,
    }))
}

/// The hub's user accounts, disabled ones included, with their state (admins only).
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "auth_list_users",
    tag = "auth",
    security(("session" = ["admin"])),
    responses(
        (status = 200, description = "The accounts, enabled first, then by name", body = UserList),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn list_users(
    State(st): State<AppState>,
    _admin: AdminOnly,
) -> Result<Json<UserList>, ApiError> {
    let users = st.db.call(|c| users::list_accounts(c)).await?;
    Ok(Json(UserList { users }))
}

/// A new account: name, role (`admin`, `officer`, `volunteer` on a field hub; `admin`, `clerk` at the
/// office) and initial password.
#[derive(Deserialize, utoipa::ToSchema)]
struct AddUserIn {
    /// 1–64 characters, no control characters, no surrounding spaces.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F])?$"
    )]
    name: String,
    /// A role of this hub's mode.
    #[schema(value_type = super::Role)]
    role: String,
    /// 8–256 characters.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
}

/// Adds a user account with a role of this hub's mode (admins only).
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "auth_add_user",
    tag = "auth",
    security(("session" = ["admin"], "csrf" = [])),
    request_body = AddUserIn,
    responses(
        (status = 201, body = UserOut),
        (status = 400, description = "Bad JSON, name, password, or a role not of this mode", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The name is taken", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn add_user(
    State(st): State<AppState>,
    AdminOnly(admin): AdminOnly,
    JsonBody(body): JsonBody<AddUserIn>,
) -> Result<(StatusCode, Json<UserOut>), ApiError> {
    check_name(&body.name)?;
    check_password(&body.password)?;
    let role = Role::parse(&body.role)
        .filter(|r| r.exists_in(st.mode))
        .ok_or_else(|| {
            ApiError::bad_request(
                format!("Vai trò \"{}\" không có trên trạm {}.", body.role, st.mode),
                format!(
                    "Role \"{}\" does not exist on a {} hub.",
                    body.role, st.mode
                ),
            )
            .with_field("role")
        })?;
    let hash = hash_off_thread(body.password).await?;
    let name = body.name;
    let created = st
        .db
        .call(move |c| {
            let tx = write_tx(c)?;
            if users::user_exists(&tx, &name)? {
                return Ok(None);
            }
            let u = users::insert_user(&tx, &name, role, &hash)?;
            if let Some(acc) = users::account(&tx, &u.id)? {
                users::audit_account(
                    &tx,
                    crate::shared::audit::Actor::user(&admin.id, &admin.name),
                    "user_created",
                    &acc,
                    0,
                )?;
            }
            tx.commit()?;
            Ok(Some(u))
        })
        .await?
        .ok_or_else(|| {
            ApiError::conflict("Tên đăng nhập này đã có.", "This user name already exists.")
                .with_field("name")
        })?;
    Ok((StatusCode::CREATED, Json(created)))
}
