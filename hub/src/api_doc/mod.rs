//! The OpenAPI 3.1 document of the hub's HTTP API, served at `GET /api/v1/openapi.json` for this hub's
//! mode (field or office), so external API fuzzers and independent clients can be pointed at it.
//!
//! Every handler carries a `#[utoipa::path]` annotation next to it; each concern collects its own in an
//! `ApiDoc` (in its `routes.rs`) and [`document`] merges them. Conventions, checked by `tests/openapi.rs`
//! (every registered route is documented, every documented route answers) and `tests/role_matrix.rs`
//! (every route × every role and no login → allowed or refused as documented here):
//! - `security(())`: no login. `security(("session" = []))`: any logged-in user.
//!   `security(("session" = ["officer", "admin"]))`: only those roles (the scopes are role names, as
//!   OpenAPI 3.1 allows for non-OAuth schemes); state-changing calls add `"csrf" = []` in the same
//!   requirement. `security(("sync_token" = []))`: a field hub's sync session (office only).
//! - `extensions(("x-hub-modes" = json!(["field"])))` on an operation of a router merged in both modes
//!   that answers only in one: its handler takes `crate::app::FieldOnly` (or `OfficeOnly`) first, so the
//!   other mode answers `404 wrong_mode` to every caller before login, role or body are looked at; it is
//!   left out of the other mode's document.
//! - Errors are [`ErrorBody`]; the sets many routes share are named once ([`JsonWriteErrors`],
//!   [`GatedReadErrors`], [`Unauthenticated`]) and listed in `responses(...)` next to the route's own.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use protocol::HubMode;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::app::AppState;

/// The error body every failing call answers (see `error.rs`).
#[derive(ToSchema)]
#[allow(dead_code)] // documentation only: `ApiError` serializes the same shape
pub struct ErrorBody {
    pub error: ErrorInner,
}

/// A stable code, a plain-language message in Vietnamese and English, the offending field and, for
/// validation errors, one detail per field.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ErrorInner {
    /// Stable machine-readable code, e.g. `forbidden`, `validation_failed`, `csrf`.
    pub code: String,
    pub message_vi: String,
    pub message_en: String,
    /// The offending field (a form key, a header or a parameter name), when there is one.
    pub field: Option<String>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub details: Option<Vec<()>>,
}

/// Error answers shared by many routes, named once: list one in a route's `responses(...)` next to its own
/// tuples (e.g. `responses((status = 201, ...), crate::api_doc::JsonWriteErrors, (status = 404, ...))`).
/// Each is documented exactly as the tuple `(status = N, description = "...", body = ErrorBody)` would be.
fn error_responses(
    list: &[(u16, &str)],
) -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::response::Response>>
{
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    list.iter()
        .map(|&(status, description)| {
            let content = ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build();
            let response = ResponseBuilder::new()
                .description(description)
                .content("application/json", content)
                .build();
            (status.to_string(), response.into())
        })
        .collect()
}

/// Declares a named error set: a unit struct whose `IntoResponses` lists `(status, description)` pairs.
macro_rules! error_set {
    ($(#[$doc:meta])* $name:ident: $($status:literal => $description:literal),+ $(,)?) => {
        $(#[$doc])*
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> std::collections::BTreeMap<
                String,
                utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
            > {
                error_responses(&[$(($status, $description)),+])
            }
        }
    };
}

error_set!(
    /// `401` without a valid session.
    Unauthenticated: 401 => ""
);
error_set!(
    /// A role-gated read: `401` without a session, `403` for a role the route does not serve.
    GatedReadErrors: 401 => "", 403 => "Role not allowed"
);
error_set!(
    /// A role-gated JSON write: `400` bad JSON, `401`, `403` (role or missing CSRF token), `413` body too
    /// large, `415` not JSON.
    JsonWriteErrors:
        400 => "Bad JSON",
        401 => "",
        403 => "Role not allowed, or no CSRF token",
        413 => "",
        415 => "",
);

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "The session cookie set by POST /api/v1/auth/login. Scopes list the roles allowed.",
            ))),
        );
        c.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::auth::CSRF_HEADER,
                "The session's CSRF token (csrf_token of GET /api/v1/me), on every state-changing call.",
            ))),
        );
        c.add_security_scheme(
            "sync_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A field hub's sync session token from POST /api/v1/sync/hello (office only).",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Outreach hub API",
        description = "HTTP API of the commune outreach hub (field and office modes). Messages are \
                       Vietnamese first, English second. See docs/protocol.md for the signed formats.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(openapi_json),
    components(schemas(ErrorBody, ErrorInner)),
    modifiers(&SecuritySchemes)
)]
struct Base;

/// The routers merged on both modes (see `app::make_app`).
fn common() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::app::ApiDoc::openapi(),
        crate::auth::routes::ApiDoc::openapi(),
        crate::units::routes::ApiDoc::openapi(),
        crate::join::routes::ApiDoc::openapi(),
        crate::guides::ApiDoc::openapi(),
        crate::lang::routes::ApiDoc::openapi(),
        crate::selfservice::routes::ApiDoc::openapi(),
        crate::pairing::routes::ApiDoc::openapi(),
        crate::news::routes::ApiDoc::openapi(),
        crate::clock::routes::ApiDoc::openapi(),
    ]
}

fn field() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::capture::routes::ApiDoc::openapi(),
        crate::seal::routes::ApiDoc::openapi(),
        crate::seal::slip::ApiDoc::openapi(),
        crate::outreach::routes::ApiDoc::openapi(),
        crate::uploader::routes::ApiDoc::openapi(),
    ]
}

fn office() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::office::routes::ApiDoc::openapi(),
        crate::intake::routes::ApiDoc::openapi(),
        crate::ledger::routes::ApiDoc::openapi(),
        crate::casework::routes::ApiDoc::openapi(),
        crate::exports::routes::ApiDoc::openapi(),
        crate::reports::routes::ApiDoc::openapi(),
    ]
}

/// The document for a hub of `mode`: every route it serves, none of the other mode's.
pub fn document(mode: HubMode) -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let own = match mode {
        HubMode::Field => field(),
        HubMode::Office => office(),
    };
    for part in common().into_iter().chain(own) {
        doc.merge(part);
    }
    let name = match mode {
        HubMode::Field => "field",
        HubMode::Office => "office",
    };
    // Operations marked for the other mode only are left out; a path left with none goes too.
    doc.paths.paths.retain(|_, item| {
        for op in operations_mut(item) {
            if let Some(o) = op.as_ref() {
                if !serves(o, name) {
                    *op = None;
                }
            }
        }
        operations_mut(item).into_iter().any(|o| o.is_some())
    });
    doc
}

fn operations_mut(
    item: &mut utoipa::openapi::path::PathItem,
) -> [&mut Option<utoipa::openapi::path::Operation>; 8] {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
}

/// Whether an operation's `x-hub-modes` (absent: both) names `mode`.
fn serves(op: &utoipa::openapi::path::Operation, mode: &str) -> bool {
    let Some(ext) = op.extensions.as_ref() else {
        return true;
    };
    match ext.get("x-hub-modes") {
        Some(serde_json::Value::Array(modes)) => modes.iter().any(|m| m == mode),
        _ => true,
    }
}

/// The served document, rendered once per process.
fn rendered(mode: HubMode) -> &'static str {
    static FIELD: OnceLock<String> = OnceLock::new();
    static OFFICE: OnceLock<String> = OnceLock::new();
    let cell = match mode {
        HubMode::Field => &FIELD,
        HubMode::Office => &OFFICE,
    };
    cell.get_or_init(|| {
        document(mode)
            .to_json()
            .expect("the OpenAPI document serializes")
    })
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// The OpenAPI document of this hub (its mode's routes).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
async fn openapi_json(State(st): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        rendered(st.mode),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_render_and_differ_by_mode() {
        let f = document(HubMode::Field);
        let o = document(HubMode::Office);
        assert!(f.paths.paths.contains_key("/api/v1/openapi.json"));
        assert!(o.paths.paths.contains_key("/api/v1/openapi.json"));
        assert!(f.to_json().unwrap().contains("\"session\""));
        let c = f.components.as_ref().unwrap();
        assert!(c.security_schemes.contains_key("csrf"));
        assert!(c.schemas.contains_key("ErrorBody"));
    }

    #[test]
    fn error_body_schema_matches_api_error() {
        // The documented shape is the one ApiError writes.
        let e = crate::error::ApiError::forbidden().with_field("x");
        let body = e.body_json();
        let inner = body["error"].as_object().unwrap();
        for k in ["code", "message_vi", "message_en", "field"] {
            assert!(inner.contains_key(k), "{k}");
        }
    }
}
