//! The OpenAPI 3.1 document of the hub's HTTP API, served at `GET /api/v1/openapi.json` for this hub's
//! mode (field or office), so external API fuzzers and independent clients can be pointed at it. Each
//! concern's `ApiDoc` is merged here, at the top, in the order the routers are merged by [`super::make_app`];
//! the conventions they follow are in `shared::api_doc`.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use protocol::HubMode;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::shared::api_doc::{ErrorBody, ErrorInner};
use crate::shared::state::AppState;

/// The security schemes of the document: the session cookie, the CSRF header, a field hub's sync token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::shared::auth::SESSION_COOKIE,
                "The session cookie set by POST /api/v1/login (or POST /api/v1/setup). Scopes list the roles allowed.",
            ))),
        );
        c.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                crate::shared::auth::CSRF_HEADER,
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
        crate::shared::auth::routes::ApiDoc::openapi(),
        crate::shared::units::routes::ApiDoc::openapi(),
        crate::shared::join::routes::ApiDoc::openapi(),
        crate::shared::guides::ApiDoc::openapi(),
        crate::shared::lang::routes::ApiDoc::openapi(),
        crate::field::selfservice::routes::ApiDoc::openapi(),
        crate::office::devices::routes::ApiDoc::openapi(),
        crate::field::pairing::routes::ApiDoc::openapi(),
        crate::office::news::routes::ApiDoc::openapi(),
        crate::office::packages::ApiDoc::openapi(),
        crate::office::intake::packages::ApiDoc::openapi(),
        crate::field::news::routes::ApiDoc::openapi(),
        crate::shared::clock_guard::routes::ApiDoc::openapi(),
    ]
}

fn field() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::field::capture::routes::ApiDoc::openapi(),
        crate::field::seal::routes::ApiDoc::openapi(),
        crate::field::seal::slip::ApiDoc::openapi(),
        crate::field::thermal::routes::ApiDoc::openapi(),
        crate::field::outreach::routes::ApiDoc::openapi(),
        crate::field::uploader::routes::ApiDoc::openapi(),
        crate::app::print::ApiDoc::openapi(),
    ]
}

fn office() -> Vec<utoipa::openapi::OpenApi> {
    vec![
        crate::office::received::routes::ApiDoc::openapi(),
        crate::office::intake::routes::ApiDoc::openapi(),
        crate::office::ledger::routes::ApiDoc::openapi(),
        crate::office::casework::routes::ApiDoc::openapi(),
        crate::office::exports::routes::ApiDoc::openapi(),
        crate::office::forms::routes::ApiDoc::openapi(),
        crate::office::reports::routes::ApiDoc::openapi(),
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
    crate::shared::api_doc::shared_conventions(&mut doc);
    roles_of_mode(&mut doc, mode);
    doc
}

/// The `Role` schema lists only the roles a hub of `mode` has (`Role::exists_in`): a field hub has no
/// clerk, an office no officer or volunteer, and a request naming one is refused.
fn roles_of_mode(doc: &mut utoipa::openapi::OpenApi, mode: HubMode) {
    use crate::shared::auth::Role;
    use utoipa::openapi::{schema::Schema, RefOr};
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut("Role") {
        let roles = [Role::Admin, Role::Officer, Role::Volunteer, Role::Clerk];
        o.enum_values = Some(
            roles
                .into_iter()
                .filter(|r| r.exists_in(mode))
                .map(|r| serde_json::Value::from(r.as_str()))
                .collect(),
        );
    }
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
    // The shared conventions (shared::api_doc::shared_conventions) as they come out in the document.
    /// Whether the JSON request body of `method path` in the field document is required.
    fn body_required(method: &str, path: &str) -> Option<bool> {
        let doc = crate::app::openapi::document(protocol::HubMode::Field);
        let v = serde_json::to_value(&doc).unwrap();
        let body = &v["paths"][path][method]["requestBody"];
        assert!(body.is_object(), "{method} {path} has a request body");
        body["required"].as_bool()
    }

    #[test]
    fn bodies_without_required_fields_may_be_left_out() {
        // SealIn: every field optional; `JsonBody` reads no body as `{}`.
        assert_eq!(
            body_required("post", "/api/v1/drafts/{id}/seal"),
            Some(false)
        );
        // A body with required fields stays required.
        assert_eq!(body_required("post", "/api/v1/login"), Some(true));
        assert_eq!(body_required("post", "/api/v1/drafts"), Some(true));
    }

    #[test]
    fn query_rejections_are_documented() {
        // `?k=1&k=2` is refused by axum's `Query` with 400 (duplicate field), on any route with a query.
        let doc = crate::app::openapi::document(protocol::HubMode::Field);
        let v = serde_json::to_value(&doc).unwrap();
        let responses = &v["paths"]["/api/v1/public/receipts/{code}"]["get"]["responses"];
        assert_eq!(
            responses["400"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        // An operation without a query string is left as documented.
        assert!(v["paths"]["/api/v1/login"]["post"]["responses"]["400"].is_object());
        assert!(v["paths"]["/api/v1/me"]["get"]["responses"]["400"].is_null());
    }

    use super::*;

    /// A pattern about control characters is one of the named ones (`api_doc::patterns`), so that a typo
    /// in one route's copy of the literal cannot let a control character through the document.
    #[test]
    fn free_text_patterns_are_the_named_ones() {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if let Some(serde_json::Value::String(p)) = m.get("pattern") {
                        out.push(p.clone());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut found = 0;
        for mode in [HubMode::Field, HubMode::Office] {
            let doc = serde_json::to_value(document(mode)).unwrap();
            let mut patterns = Vec::new();
            walk(&doc, &mut patterns);
            for p in patterns.iter().filter(|p| p.contains("\\u0000")) {
                found += 1;
                assert!(
                    crate::shared::api_doc::patterns::ALL.contains(&p.as_str()),
                    "{mode:?}: a control-character pattern that is not a named one: {p}"
                );
            }
        }
        assert!(found >= 10, "only {found} free-text patterns found");
    }

    /// The `Role` enum of each document lists only that mode's roles.
    #[test]
    fn roles_are_the_modes_own() {
        for (mode, roles) in [
            (HubMode::Field, vec!["admin", "officer", "volunteer"]),
            (HubMode::Office, vec!["admin", "clerk"]),
        ] {
            let doc = serde_json::to_value(document(mode)).unwrap();
            assert_eq!(
                doc["components"]["schemas"]["Role"]["enum"],
                serde_json::json!(roles),
                "{mode:?}"
            );
        }
    }

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
}
