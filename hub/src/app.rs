//! The application: shared state and the router built from each concern's routes.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{Json, Router};
use protocol::HubMode;
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::auth::{self, AuthUser, LoginLimiter};
use crate::error::ApiError;
use crate::keys::HubKeys;
use crate::store::Db;

/// Shared state of a running hub.
pub struct Shared {
    pub db: Db,
    pub keys: HubKeys,
    pub mode: HubMode,
    pub name: String,
    pub login_limiter: LoginLimiter,
    /// Procedure definitions as this hub serves them: the catalogue with the configured time limits.
    pub procedures: Vec<protocol::ProcedureDef>,
    /// Live queue-board updates.
    pub outreach: crate::outreach::Live,
    /// Open sync challenges and session tokens (office).
    pub sync: crate::intake::session::SyncSessions,
    /// The field uploader: settings, progress (a watch channel), one run at a time.
    pub upload: crate::uploader::Uploader,
}

/// The catalogue with `time_limits` (procedure id → working days) applied.
pub fn procedures_with_limits(time_limits: &[(String, u32)]) -> Vec<protocol::ProcedureDef> {
    protocol::catalogue()
        .iter()
        .cloned()
        .map(|mut d| {
            if let Some((_, days)) = time_limits.iter().rev().find(|(id, _)| *id == d.id) {
                d.time_limit_working_days = *days;
            }
            d
        })
        .collect()
}

/// Cheap-to-clone handle on [`Shared`].
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl AppState {
    /// Refuses a route of the other mode (`404 wrong_mode`) for routers merged on both modes.
    pub fn require_mode(&self, mode: HubMode) -> Result<(), ApiError> {
        if self.mode == mode {
            Ok(())
        } else {
            Err(ApiError::wrong_mode())
        }
    }
}

/// A route of a router merged on both modes that only the field hub serves: the extractor answers
/// `404 wrong_mode` on an office hub before the login, the role gate or the body are looked at (put it
/// first in the handler's signature, after `State`).
pub struct FieldOnly;

/// As [`FieldOnly`], for a route only the office hub serves.
pub struct OfficeOnly;

impl axum::extract::FromRequestParts<AppState> for FieldOnly {
    type Rejection = ApiError;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, ApiError> {
        st.require_mode(HubMode::Field).map(|_| FieldOnly)
    }
}

impl axum::extract::FromRequestParts<AppState> for OfficeOnly {
    type Rejection = ApiError;

    async fn from_request_parts(
        _: &mut axum::http::request::Parts,
        st: &AppState,
    ) -> Result<Self, ApiError> {
        st.require_mode(HubMode::Office).map(|_| OfficeOnly)
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Largest JSON request body (photos have their own, larger limit on their route).
pub const MAX_JSON_BODY: usize = 256 * 1024;

/// Builds the router for `state.mode`. Routes of the other mode answer `404 wrong_mode`.
pub fn make_app(state: AppState) -> Router {
    let field = crate::capture::routes::router().merge(crate::seal::routes::router());
    let field = field
        .merge(crate::outreach::router())
        .merge(crate::uploader::router());
    let office = crate::office::routes::router()
        .merge(crate::intake::router())
        .merge(crate::ledger::router())
        .merge(crate::casework::router())
        .merge(crate::exports::router())
        .merge(crate::reports::router());
    let (mine, other_paths): (Router<AppState>, &[&str]) = match state.mode {
        HubMode::Field => (field, &["/api/v1/office/{*rest}", "/api/v1/sync/{*rest}"]),
        HubMode::Office => (
            office,
            &[
                "/api/v1/drafts",
                "/api/v1/drafts/{*rest}",
                "/api/v1/dossiers",
                "/api/v1/receipts/{*rest}",
                "/api/v1/status",
            ],
        ),
    };
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/procedures", get(procedures))
        .merge(auth::routes::router())
        .merge(crate::units::routes::router())
        .merge(crate::join::router())
        .merge(crate::guides::router())
        .merge(crate::lang::router())
        .merge(crate::selfservice::router())
        .merge(crate::pairing::router())
        .merge(crate::news::router())
        .merge(crate::clock::router())
        .merge(crate::api_doc::router())
        .merge(mine);
    for p in other_paths {
        router = router.route(p, any(|| async { ApiError::wrong_mode() }));
    }
    router
        .route(
            "/api/{*rest}",
            any(|| async { ApiError::not_found("đường dẫn API", "API route") }),
        )
        .fallback(get(crate::web::asset))
        .layer(axum::middleware::map_response(json_errors))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        // gzip for text (the app shell, JSON) on slow Wi-Fi; images and event streams are left alone.
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .method_not_allowed_fallback(|m: Method| async move {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("Phương thức {m} không dùng được ở đây."),
                format!("Method {m} is not allowed here."),
            )
        })
        .with_state(state)
}

/// Turns axum's own plain-text rejections (a bad path parameter or query string, a malformed multipart
/// body…) into the JSON error every other failure answers: a stable code, Vietnamese and English.
async fn json_errors(res: axum::response::Response) -> axum::response::Response {
    let status = res.status();
    let plain = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    // A plain 404 is the web app's own "not found" for an unknown file (API routes answer JSON already).
    if !plain
        || status == StatusCode::NOT_FOUND
        || !(status.is_client_error() || status.is_server_error())
    {
        return res;
    }
    let text = axum::body::to_bytes(res.into_body(), 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status.as_u16() {
        400 | 422 => "bad_request",
        405 => "method_not_allowed",
        413 => "too_large",
        415 => "unsupported_media",
        s if s >= 500 => "internal",
        _ => "bad_request",
    };
    ApiError::new(
        status,
        code,
        format!("Yêu cầu không hợp lệ: {text}"),
        format!("The request is not valid: {text}"),
    )
    .into_response()
}

/// The OpenAPI paths of the routes defined here (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(healthz, procedures))]
pub struct ApiDoc;

/// Liveness and identity of the hub: mode, device id, version, name, last backup, clock plausibility.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The hub is up", body = Object))
)]
async fn healthz(State(st): State<AppState>) -> impl IntoResponse {
    // When the last `hub backup` finished (one indexed read; null if never): for `hubctl status`.
    let last_backup_at = st
        .db
        .call(|c| crate::store::meta_get(c, "last_backup_at"))
        .await
        .ok()
        .flatten();
    Json(json!({
        "status": "ok",
        "mode": st.mode,
        "device_id": st.keys.device_id,
        "version": env!("CARGO_PKG_VERSION"),
        "name": st.name,
        "last_backup_at": last_backup_at,
        "clock": {"plausible": crate::clock::guard::plausibility(&crate::clock::guard::cached_facts()).is_none()},
    }))
}

/// The procedure catalogue as this hub serves it (forms, documents, time limits).
#[utoipa::path(
    get,
    path = "/api/v1/procedures",
    operation_id = "procedures",
    tag = "meta",
    security(("session" = [])),
    responses(
        (status = 200, description = "`{\"procedures\": [ProcedureDef]}` (see docs/protocol.md)", body = Object),
        crate::api_doc::Unauthenticated,
    )
)]
async fn procedures(State(st): State<AppState>, _user: AuthUser) -> Json<serde_json::Value> {
    Json(json!({ "procedures": st.procedures }))
}
