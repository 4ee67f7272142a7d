//! The web client, embedded in the binary at compile time from `client-web/` (the hub needs no files
//! beside it). Unknown paths that are not API calls get `index.html` (the app routes by URL hash).

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use protocol::HubMode;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../client-web/"]
struct Assets;

/// The modules an office hub's page fetches alongside `app.js` (its home page: the received list), in place
/// of the field's capture modules that `index.html` names between `<!--preload-->` and `<!--/preload-->`.
const OFFICE_PRELOAD: &[&str] = &["lib.js", "office.js", "casework.js", "values.js"];

/// `index.html` as the hub of `mode` serves it: on an office hub the capture path's module preloads are
/// replaced by the office's own, so the office app never downloads the field's capture code.
fn index_for(mode: HubMode, page: &[u8]) -> Vec<u8> {
    const START: &str = "<!--preload-->";
    const END: &str = "<!--/preload-->";
    if mode != HubMode::Office {
        return page.to_vec();
    }
    let text = String::from_utf8_lossy(page);
    let (Some(a), Some(b)) = (text.find(START), text.find(END)) else {
        return page.to_vec();
    };
    if b < a {
        return page.to_vec();
    }
    let links: String = OFFICE_PRELOAD
        .iter()
        .map(|m| format!("<link rel=\"modulepreload\" href=\"{m}\">\n"))
        .collect();
    format!("{}{START}\n{links}{}", &text[..a], &text[b..]).into_bytes()
}

/// Serves an embedded file, or `index.html` for `/`.
pub async fn asset(State(mode): State<HubMode>, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if path.starts_with("api/") {
        return crate::shared::error::ApiError::not_found("đường dẫn API", "API route")
            .into_response();
    }
    match Assets::get(path) {
        Some(file) => {
            let mime = file.metadata.mimetype().to_string();
            let cache = if path == "index.html" || path == "sw.js" {
                "no-cache"
            } else {
                "public, max-age=300"
            };
            let body = if path == "index.html" {
                index_for(mode, &file.data)
            } else {
                file.data.into_owned()
            };
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, cache.to_string()),
                ],
                body,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{index_for, Assets, OFFICE_PRELOAD};
    use protocol::HubMode;

    #[test]
    fn index_is_embedded() {
        assert!(
            Assets::get("index.html").is_some(),
            "client-web/index.html must be embedded"
        );
    }

    #[test]
    fn the_office_page_preloads_the_office_modules_not_the_capture_path() {
        let page = Assets::get("index.html").unwrap().data;
        let field = String::from_utf8(index_for(HubMode::Field, &page)).unwrap();
        let office = String::from_utf8(index_for(HubMode::Office, &page)).unwrap();
        assert!(field.contains(r#"<link rel="modulepreload" href="field.js">"#));
        for m in ["field.js", "form.js", "store.js", "outbox.js"] {
            assert!(
                !office.contains(&format!(r#"href="{m}""#)),
                "{m} on the office page"
            );
        }
        for m in OFFICE_PRELOAD {
            assert!(office.contains(&format!(r#"<link rel="modulepreload" href="{m}">"#)));
            assert!(Assets::get(m).is_some(), "{m} is embedded");
        }
        assert!(office.contains(r#"<script type="module" src="app.js">"#));
    }
}
