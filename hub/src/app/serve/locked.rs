//! A locked start (issue 19): a protected field hub that restarts (power cut, reboot, update) cannot read
//! its own data until an officer or admin gives a password. Until then it serves what needs no data —
//! the web app's files, the public procedure guides, `/healthz`, `/ca.crt`, `GET /api/v1/setup` (saying
//! `locked: true`) — and answers every other API call `503 hub_locked`. `POST /api/v1/login` with an
//! officer's or admin's password unwraps the data key (`shared::unlock`), wakes `serve`, which opens the
//! data directory and swaps the full app in ([`super::conn::Switch`]), and the same request is then
//! handed to the full app: the officer is logged in as by any login.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use protocol::HubMode;
use serde_json::json;
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

use super::conn::Switch;
use crate::shared::auth::channel::{self, Channel};
use crate::shared::auth::LoginLimiter;
use crate::shared::error::ApiError;
use crate::shared::state::Catalogue;
use crate::shared::vault::{keyring, VaultError};

/// How long an unlocking login waits for the full app to be in place (opening and checking the data
/// directory; on a Pi a few seconds).
const SWAP_WAIT: Duration = Duration::from_secs(120);

/// What the locked router's handlers share.
#[derive(Clone)]
pub struct Locked {
    pub data: PathBuf,
    /// The hub's name (from the keyring: public), for the pages' title while locked.
    pub name: String,
    pub procedures: Catalogue,
    pub limiter: Arc<LoginLimiter>,
    /// Woken once the data key is registered: `serve` goes on starting the full app.
    pub unlocked: Arc<Notify>,
    /// `true` once the full app is in force.
    pub swapped: watch::Receiver<bool>,
    pub switch: Switch,
}

impl FromRef<Locked> for Catalogue {
    fn from_ref(l: &Locked) -> Catalogue {
        l.procedures.clone()
    }
}

impl FromRef<Locked> for HubMode {
    fn from_ref(_: &Locked) -> HubMode {
        HubMode::Field
    }
}

/// The locked hub's router.
pub fn router(state: Locked) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/setup", get(setup_status))
        .route("/api/v1/login", post(login))
        .route("/ca.crt", get(crate::shared::join::routes::ca_crt))
        .merge(crate::shared::guides::router())
        .route("/api/{*rest}", any(|| async { ApiError::hub_locked() }))
        .fallback(get(crate::shared::web::asset))
        .method_not_allowed_fallback(|| async { ApiError::hub_locked() })
        .with_state(state)
}

async fn healthz(State(l): State<Locked>) -> Json<serde_json::Value> {
    Json(json!({"status": "locked", "locked": true, "mode": HubMode::Field, "name": l.name}))
}

async fn setup_status(
    ch: Option<axum::Extension<Channel>>,
    ca: Option<axum::Extension<channel::CaFingerprint>>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    let secure = ch.as_ref().is_some_and(|c| c.secure());
    let https_url = ch
        .and_then(|c| c.https_port)
        .and_then(|p| channel::https_base(&headers, p));
    Json(json!({
        "needs_setup": false,
        "locked": true,
        "mode": HubMode::Field,
        "secure": secure,
        "https_url": https_url,
        "ca_sha256": ca.map(|c| c.0 .0.to_string()),
    }))
}

#[derive(serde::Deserialize)]
struct LoginIn {
    name: String,
    password: String,
}

fn only_officers() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "hub_locked",
        "Trạm đang khóa, và tài khoản này chưa mở khóa được: chỉ cán bộ hoặc quản trị viên đã đăng nhập \
         trên trạm này từ khi dữ liệu được mã hóa mới mở khóa được. Hãy chờ một người như vậy đăng nhập.",
        "The hub is locked, and this account cannot unlock it: only officers or admins who have logged in \
         on this hub since its data was encrypted can. Wait for one of them to log in.",
    )
    .with_field("name")
}

/// Unlocks with an officer's/admin's password, then logs them in through the full app.
async fn login(State(l): State<Locked>, req: Request) -> Result<Response, ApiError> {
    let (parts, body) = req.into_parts();
    channel::require_secure(&parts)?;
    let ip: IpAddr = crate::shared::ip_limit::client_ip(&parts.extensions);
    let bytes: Bytes = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map_err(|_| ApiError::bad_request("Yêu cầu quá lớn.", "The request is too large."))?;
    let input: LoginIn = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::bad_request(
            "Cần tên đăng nhập và mật khẩu.",
            "A user name and password are needed.",
        )
    })?;
    if crate::shared::vault::unlocked(&l.data).is_none() {
        let name_key = keyring::name_key(&input.name);
        let attempt = match l.limiter.reserve(&name_key, ip) {
            Ok(a) => a,
            Err(wait) => return Ok(crate::shared::auth::routes::login_locked(wait)),
        };
        let (data, key, password) = (l.data.clone(), name_key.clone(), input.password);
        let result = crate::shared::cpu::run(move || {
            let has_copy = keyring::load(&data)
                .ok()
                .flatten()
                .is_some_and(|kr| kr.users.iter().any(|u| u.name_key == key));
            (
                crate::shared::unlock::unlock_password(&data, &key, &password),
                has_copy,
            )
        })
        .await
        .map_err(ApiError::internal)?;
        match result {
            (Ok(who), _) => {
                attempt.succeeded();
                tracing::info!(role = %who.role, "hub unlocked by an officer's password");
                l.unlocked.notify_one();
            }
            (Err(VaultError::BadPassword), false) => {
                drop(attempt);
                return Err(only_officers());
            }
            (Err(VaultError::BadPassword), true) => {
                drop(attempt);
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "bad_credentials",
                    "Tên đăng nhập hoặc mật khẩu không đúng.",
                    "Wrong user name or password.",
                ));
            }
            (Err(e), _) => return Err(ApiError::internal(e)),
        }
    }
    // Unlocked (by this request or another): once the full app is in force, it handles this login.
    let mut swapped = l.swapped.clone();
    match tokio::time::timeout(SWAP_WAIT, swapped.wait_for(|s| *s)).await {
        Ok(Ok(_)) => {}
        _ => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "hub_starting",
                "Trạm đã mở khóa và đang khởi động; hãy thử lại sau ít giây.",
                "The hub is unlocked and starting; try again in a few seconds.",
            ))
        }
    }
    let req = Request::from_parts(parts, Body::from(bytes));
    Ok(l.switch.current().oneshot(req).await.into_response())
}

/// Pings the systemd watchdog while the hub waits locked (there is no database to check yet).
pub async fn watchdog(every: Duration, until: watch::Receiver<bool>) {
    let mut until = until;
    loop {
        crate::shared::service::ping();
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = until.wait_for(|s| *s) => return,
        }
    }
}
