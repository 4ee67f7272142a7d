//! The web client, embedded in the binary at compile time from `client-web/` (the hub needs no files
//! beside it). Unknown paths that are not API calls get `index.html` (the app routes by URL hash).

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../client-web/"]
struct Assets;

/// Serves an embedded file, or `index.html` for `/`.
pub async fn asset(uri: Uri) -> Response {
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
            (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, cache.to_string()),
                ],
                file.data.into_owned(),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::Assets;

    #[test]
    fn index_is_embedded() {
        assert!(
            Assets::get("index.html").is_some(),
            "client-web/index.html must be embedded"
        );
    }
}
