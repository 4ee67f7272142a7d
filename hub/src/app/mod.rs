//! The top of the hub: the router assembled from every concern's routes (this file), the OpenAPI document
//! (`openapi`), the configuration (`config`), `hub serve` (`serve`) and the other commands (`cli`). Only
//! this folder imports concerns of both hubs; nothing below imports it.

pub mod cli;
pub mod config;
pub mod openapi;
pub mod print;
pub mod serve;
pub mod vault;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, get};
use axum::{Json, Router};
use protocol::HubMode;
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::shared::auth::{self, AuthUser};
use crate::shared::error::ApiError;
use crate::shared::state::{AppState, MAX_JSON_BODY};

/// Builds the router for `state.mode`. Routes of the other mode answer `404 wrong_mode`.
pub fn make_app(state: AppState) -> Router {
    let field = crate::field::capture::routes::router().merge(crate::field::seal::routes::router());
    let field = field
        .merge(crate::field::outreach::router())
        .merge(crate::field::uploader::router())
        .merge(crate::field::thermal::routes::router())
        .merge(print::router());
    let office = crate::office::received::routes::router()
        .merge(crate::office::intake::router())
        .merge(crate::office::ledger::router())
        .merge(crate::office::casework::router())
        .merge(crate::office::exports::router())
        .merge(crate::office::forms::router())
        .merge(crate::office::reports::router());
    let (mine, other_paths): (Router<AppState>, &[&str]) = match state.mode {
        HubMode::Field => (field, &["/api/v1/office/{*rest}", "/api/v1/sync/{*rest}"]),
        HubMode::Office => (
            office,
            &[
                "/api/v1/drafts",
                "/api/v1/drafts/{*rest}",
                "/api/v1/dossiers",
                "/api/v1/receipts/{*rest}",
                "/api/v1/printer",
                "/api/v1/status",
            ],
        ),
    };
    let mut router = Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/procedures", get(procedures))
        .merge(auth::routes::router())
        .merge(crate::shared::units::routes::router())
        .merge(crate::shared::join::router())
        .merge(crate::shared::guides::router())
        .merge(crate::shared::lang::router())
        .merge(crate::field::selfservice::router())
        .merge(crate::office::devices::router())
        .merge(crate::field::pairing::router())
        .merge(crate::office::news::router())
        .merge(crate::office::packages::router())
        .merge(crate::field::news::router())
        .merge(crate::shared::clock_guard::router())
        .merge(openapi::router())
        .merge(mine);
    for p in other_paths {
        router = router.route(p, any(|| async { ApiError::wrong_mode() }));
    }
    router
        .route(
            "/api/{*rest}",
            any(|| async { ApiError::not_found("đường dẫn API", "API route") }),
        )
        .fallback(get(crate::shared::web::asset))
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
    responses((status = 200, description = "The hub is up", body = Health))
)]
async fn healthz(State(st): State<AppState>) -> Json<Health> {
    // When the last `hub backup` finished (one indexed read; null if never): for `hubctl status`.
    let last_backup_at = st
        .db
        .call(|c| crate::shared::store::meta_get(c, "last_backup_at"))
        .await
        .ok()
        .flatten();
    Json(Health {
        status: "ok",
        mode: st.mode,
        device_id: st.keys.device_id.clone(),
        version: env!("CARGO_PKG_VERSION"),
        name: st.name.clone(),
        last_backup_at,
        clock: HealthClock {
            plausible: crate::shared::clock_guard::plausibility(
                &crate::shared::clock_guard::cached_facts(),
            )
            .is_none(),
        },
    })
}

/// Liveness and identity of the hub.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    /// Always `ok`.
    #[schema(pattern = "^ok$")]
    status: &'static str,
    #[schema(value_type = crate::shared::api_doc::field_schemas::HubMode)]
    mode: HubMode,
    #[schema(value_type = String, pattern = "^[0-9a-f]{16}$")]
    device_id: protocol::DeviceId,
    /// The hub's software version.
    version: &'static str,
    name: String,
    /// When the last `hub backup` finished (null: never).
    #[schema(format = DateTime)]
    last_backup_at: Option<String>,
    clock: HealthClock,
}

/// The hub's clock.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct HealthClock {
    /// The clock looks right (not before the software's build date, not decades after it).
    plausible: bool,
}

/// The procedure catalogue this hub serves.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Procedures {
    /// Every procedure version (old drafts and dossiers keep theirs): a ProcedureDef with its package's
    /// `results` (and, on an office hub, `exports`). Free-form here: a procedure definition's schema is
    /// specified in docs/protocol.md and checked by the protocol crate.
    #[schema(value_type = Vec<Object>)]
    procedures: Vec<serde_json::Value>,
    /// Which version of each procedure a new draft uses today.
    #[schema(value_type = Vec<crate::shared::api_doc::protocol::ProcedureRef>)]
    in_force: Vec<protocol::ProcedureRef>,
    /// The hub's commune (5 digits) for `default_from`, null when not set.
    #[schema(pattern = "^[0-9]{5}$")]
    hub_commune: Option<String>,
}

/// The procedure catalogue as this hub serves it (forms, documents, time limits).
#[utoipa::path(
    get,
    path = "/api/v1/procedures",
    operation_id = "procedures",
    tag = "meta",
    security(("session" = [])),
    responses(
        (status = 200, description = "Every procedure version (old drafts and dossiers keep theirs), which version a new draft uses today, and the hub's commune for `default_from` (see docs/protocol.md)", body = Procedures),
        crate::shared::api_doc::Unauthenticated,
    )
)]
async fn procedures(State(st): State<AppState>, _user: AuthUser) -> Json<Procedures> {
    let today = crate::shared::clock::today_vn();
    let in_force: Vec<protocol::ProcedureRef> = crate::shared::procedures::in_force_all(today)
        .into_iter()
        .map(|d| d.reference())
        .collect();
    let ctx = st.part::<crate::shared::procedures::HubContext>();
    // Each definition with what its package adds: the result numbers the office registers, and on an
    // office hub the export mappings (the casework page lays a dossier out like its official forms).
    let office = st.mode == HubMode::Office;
    let procedures: Vec<serde_json::Value> = st
        .procedures
        .defs()
        .into_iter()
        .map(|d| {
            let pkg = crate::shared::procedures::package(&d.reference());
            let mut v = serde_json::to_value(&d).unwrap_or_default();
            if let (Some(p), Some(o)) = (pkg, v.as_object_mut()) {
                o.insert("results".into(), json!(p.results));
                if office {
                    o.insert("exports".into(), json!(p.exports));
                }
            }
            v
        })
        .collect();
    Json(Procedures {
        procedures,
        in_force,
        hub_commune: ctx.commune.clone(),
    })
}

#[cfg(test)]
mod typed_responses {
    use protocol::HubMode;
    use serde_json::Value;

    fn is_bare_object(schema: &Value) -> bool {
        schema["type"] == "object"
            && [
                "properties",
                "$ref",
                "additionalProperties",
                "oneOf",
                "anyOf",
                "allOf",
            ]
            .iter()
            .all(|k| schema.get(k).is_none())
    }

    /// The operation ids of the field hub's document whose 2xx JSON response is a bare object.
    fn bare_operations(doc: &Value) -> Vec<String> {
        let mut out = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let Some(responses) = op["responses"].as_object() else {
                    continue;
                };
                for (status, r) in responses {
                    let Some(content) = r["content"].as_object() else {
                        continue;
                    };
                    for (ctype, media) in content {
                        if status.starts_with('2')
                            && ctype.contains("json")
                            && is_bare_object(&media["schema"])
                        {
                            out.push(op["operationId"].as_str().unwrap_or("?").to_string());
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_field_document_types_every_success_body() {
        let doc = serde_json::to_value(super::openapi::document(HubMode::Field)).unwrap();
        let bare = bare_operations(&doc);
        assert!(
            bare.is_empty(),
            "2xx JSON responses declared as a bare object: {bare:?}"
        );
        // The check itself sees a bare object.
        let bare_doc = serde_json::json!({"paths": {"/x": {"get": {"operationId": "x", "responses":
            {"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}}}}});
        assert_eq!(bare_operations(&bare_doc), vec!["x".to_string()]);
    }
}
