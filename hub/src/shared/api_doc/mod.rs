//! What every concern's OpenAPI annotations share: the error body and the named error sets. The document
//! itself (`GET /api/v1/openapi.json`, one per mode, with its security schemes) is assembled at the top, in
//! `app::openapi`, from the `ApiDoc` each concern keeps next to its routes.
//!
//! Conventions, checked by the integration tests `openapi` (every registered route is documented, every
//! documented route answers) and `role_matrix`
//! (every route × every role and no login → allowed or refused as documented here):
//! - `security(())`: no login. `security(("session" = []))`: any logged-in user.
//!   `security(("session" = ["officer", "admin"]))`: only those roles (the scopes are role names, as
//!   OpenAPI 3.1 allows for non-OAuth schemes); state-changing calls add `"csrf" = []` in the same
//!   requirement. `security(("sync_token" = []))`: a field hub's sync session (office only).
//! - `extensions(("x-hub-modes" = json!(["field"])))` on an operation of a router merged in both modes
//!   that answers only in one: its handler takes `crate::shared::state::FieldOnly` (or `OfficeOnly`) first, so the
//!   other mode answers `404 wrong_mode` to every caller before login, role or body are looked at; it is
//!   left out of the other mode's document.
//! - Errors are [`ErrorBody`]; the sets many routes share are named once ([`JsonWriteErrors`],
//!   [`GatedReadErrors`], [`Unauthenticated`]) and listed in `responses(...)` next to the route's own.
//! - A JSON request body whose schema requires no property may be left out: `JsonBody` reads a request
//!   without a body as `{}` ([`optional_empty_bodies`] marks such bodies `required: false`).

use utoipa::ToSchema;

pub mod field_schemas;
pub mod protocol;

/// Patterns the handlers check on free text, named once so that a schema says what the code refuses.
/// utoipa takes only a string literal in `#[schema(pattern = "…")]` and `IntoParams`, so each route writes
/// the literal; the test `api_doc::tests::free_text_patterns_are_the_named_ones` holds every such pattern
/// of both documents to this list. JSON Schema (ECMA 262) regular expressions whose `[^…]` with `\u`
/// escapes read the same in Python, Rust and browsers. "Control characters" are Unicode's `Cc`
/// (`char::is_control`): U+0000–001F and U+007F–009F.
pub mod patterns {
    /// One line of text: no control characters (a newline included); may be empty.
    pub const LINE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*$";
    /// A note or a reason: some visible text, no control characters (it is trimmed before it is stored).
    pub const REASON: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$";
    /// A name as typed at login: not empty, no control characters, no space at either end.
    pub const NAME: &str = r"^[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F])?$";
    /// A calendar day, `YYYY-MM-DD`, in the years the hub deals with (1900–2199).
    pub const DAY: &str = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
    /// Text of several lines: some visible text; line breaks (`\n`, `\r\n`) are the only control
    /// characters.
    pub const TEXT: &str = r"^([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*$";
    /// [`TEXT`], or nothing but spaces (read as no text at all).
    pub const TEXT_OR_BLANK: &str = r"^(\s*|([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*)$";
    /// All of them: every pattern of a document that mentions a control character must be one of these
    /// (`app::openapi` tests).
    pub const ALL: [&str; 6] = [LINE, REASON, NAME, DAY, TEXT, TEXT_OR_BLANK];
}

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
/// tuples (e.g. `responses((status = 201, ...), crate::shared::api_doc::JsonWriteErrors, (status = 404, ...))`).
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

/// What every document gets once its concerns are merged (`app::openapi::document`): the conventions that
/// follow from the shared extractors rather than from each route ([`optional_empty_bodies`],
/// [`query_rejections`]).
pub fn shared_conventions(doc: &mut utoipa::openapi::OpenApi) {
    optional_empty_bodies(doc);
    query_rejections(doc);
}

/// Documents `400` (the shared error body) on every operation with query parameters that does not list it:
/// axum's `Query` refuses a query string it cannot read into the handler's type (a parameter given twice,
/// a number that is not one) with `400 bad_request`, whatever the route (`app::json_errors`).
pub fn query_rejections(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    let response = &error_responses(&[(
        400,
        "A query string that cannot be read (a parameter given twice, a value of the wrong type)",
    )])["400"];
    for item in doc.paths.paths.values_mut() {
        let shared = item
            .parameters
            .as_ref()
            .is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let has_query = shared
                || op
                    .parameters
                    .as_ref()
                    .is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
            if has_query {
                op.responses
                    .responses
                    .entry("400".to_string())
                    .or_insert_with(|| response.clone());
            }
        }
    }
}

/// Marks `required: false` every JSON request body whose schema (inline or a `#/components/schemas/`
/// reference) is an object that requires no property: `JsonBody` reads a request with no body as `{}`, so
/// such a body may be left out (e.g. `POST /api/v1/drafts/{id}/seal`). Bodies of other shapes (`oneOf`,
/// arrays, …) stay as documented.
pub fn optional_empty_bodies(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{RefOr, Required, Schema};
    let schemas = doc
        .components
        .as_ref()
        .map(|c| c.schemas.clone())
        .unwrap_or_default();
    let requires_nothing = |schema: &RefOr<Schema>| -> bool {
        let resolved = match schema {
            RefOr::T(s) => Some(s),
            RefOr::Ref(r) => r
                .ref_location
                .strip_prefix("#/components/schemas/")
                .and_then(|name| schemas.get(name))
                .and_then(|s| match s {
                    RefOr::T(s) => Some(s),
                    RefOr::Ref(_) => None,
                }),
        };
        matches!(resolved, Some(Schema::Object(o)) if o.required.is_empty())
    };
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let Some(body) = op.request_body.as_mut() else {
                continue;
            };
            let Some(json) = body.content.get("application/json") else {
                continue;
            };
            if json.schema.as_ref().is_some_and(requires_nothing) {
                body.required = Some(Required::False);
            }
        }
    }
}

#[cfg(test)]
mod tests {

    /// Each free-text pattern says exactly what the handlers accept: generated text (controls, spaces,
    /// line breaks, Vietnamese letters) matches the pattern if and only if the handler's rule takes it.
    mod free_text_patterns {
        use super::super::patterns;
        use proptest::prelude::*;

        fn re(p: &str) -> regex::Regex {
            regex::Regex::new(p).unwrap()
        }

        /// Text from an alphabet that hits every edge: control characters (C0, DEL, C1), ASCII and
        /// Unicode spaces, line breaks, Vietnamese letters.
        fn text() -> impl Strategy<Value = String> {
            let alphabet = prop::sample::select(vec![
                'a', 'Ư', 'ệ', '0', '-', ' ', '\u{a0}', '\u{3000}', '\t', '\n', '\r', '\u{0}',
                '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}', '\u{200b}',
            ]);
            prop::collection::vec(alphabet, 0..8).prop_map(|v| v.into_iter().collect())
        }

        fn no_controls(s: &str) -> bool {
            !s.chars().any(char::is_control)
        }

        proptest! {
            #[test]
            fn line(s in text()) {
                prop_assert_eq!(re(patterns::LINE).is_match(&s), no_controls(&s));
            }

            #[test]
            fn reason(s in text()) {
                // Seal, refusal and cancellation reasons, revocation reasons, holiday and place names.
                prop_assert_eq!(re(patterns::REASON).is_match(&s), no_controls(&s) && !s.trim().is_empty());
            }

            #[test]
            fn name(s in text()) {
                // `auth::routes::check_name` less its length bound (`maxLength` in the schema).
                let ok = !s.is_empty() && s.trim() == s && no_controls(&s);
                prop_assert_eq!(re(patterns::NAME).is_match(&s), ok);
            }

            #[test]
            fn multiline_text(s in text()) {
                // `office::news::form::text` with line breaks allowed.
                let raw = s.replace("\r\n", "\n");
                let ok = !raw.chars().any(|c| c.is_control() && c != '\n') && !raw.trim().is_empty();
                prop_assert_eq!(re(patterns::TEXT).is_match(&s), ok);
                prop_assert_eq!(re(patterns::TEXT_OR_BLANK).is_match(&s), ok || s.trim().is_empty() && !s.chars().any(|c| c.is_control() && !c.is_whitespace()));
            }
        }

        #[test]
        fn days() {
            let day = re(patterns::DAY);
            for ok in ["2026-12-07", "1900-01-01", "2199-12-31"] {
                assert!(day.is_match(ok), "{ok}");
            }
            for bad in [
                "0084-01-01",
                "2026-13-01",
                "2026-1-01",
                "2200-01-01",
                "",
                "2026-12-07 ",
            ] {
                assert!(!day.is_match(bad), "{bad}");
            }
        }
    }
    #[test]
    fn error_body_schema_matches_api_error() {
        // The documented shape is the one ApiError writes.
        let e = crate::shared::error::ApiError::forbidden().with_field("x");
        let body = e.body_json();
        let inner = body["error"].as_object().unwrap();
        for k in ["code", "message_vi", "message_en", "field"] {
            assert!(inner.contains_key(k), "{k}");
        }
    }
}
