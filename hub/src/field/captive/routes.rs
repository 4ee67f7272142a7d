//! The portal's own routes, on any host name:
//! `GET /captive-portal` (the page), `POST /captive-portal/welcome` (the "Open the app" button: welcomes the
//! phone's IP, `303` to the app) and `GET /captive-portal/api` (RFC 8908 captive-portal API).

use std::time::Instant;

use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{client_ip, Captive, PORTAL_PATH};

const PAGE: &str = include_str!("portal.html");

pub async fn handle(c: &Captive, req: Request) -> Response {
    let path = req.uri().path().trim_end_matches('/');
    let ip = client_ip(&req);
    let now = Instant::now();
    let remaining = ip.and_then(|ip| c.welcomed.remaining(ip, now));
    match (req.method().clone(), path.strip_prefix(PORTAL_PATH)) {
        (Method::GET | Method::HEAD, Some("")) => page(c, remaining.is_some()),
        (Method::POST, Some("/welcome")) => {
            if let Some(ip) = ip {
                c.welcomed.welcome(ip, now);
                tracing::info!("captive portal: a phone opened the app");
            }
            (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, c.portal.app()),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response()
        }
        (Method::GET | Method::HEAD, Some("/api")) => {
            let mut body = json!({
                "captive": remaining.is_none(),
                "user-portal-url": c.portal.page(),
            });
            if let Some(r) = remaining {
                body["seconds-remaining"] = json!(r.as_secs());
            }
            (
                [
                    (header::CONTENT_TYPE, "application/captive+json"),
                    (header::CACHE_CONTROL, "private, no-store"),
                ],
                body.to_string(),
            )
                .into_response()
        }
        (_, Some("" | "/welcome" | "/api")) => (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::CONTENT_TYPE, "text/plain")],
            "method not allowed\n",
        )
            .into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain")],
            "not found\n",
        )
            .into_response(),
    }
}

fn page(c: &Captive, welcomed: bool) -> Response {
    let app = html_escape(&c.portal.app());
    let (state, action) = if welcomed {
        (
            r#"<p class="box ok" data-testid="captive-welcomed">Điện thoại này đã vào mạng của tổ công tác. <span class="en" lang="en">This phone is on the team's network.</span></p>"#.to_string(),
            format!(
                r#"<p><a class="go" href="{app}" data-testid="captive-open">Mở ứng dụng <small lang="en">Open the app</small></a></p>"#
            ),
        )
    } else {
        (
            String::new(),
            r#"<form method="post" action="/captive-portal/welcome"><button class="go" type="submit" data-testid="captive-open">Mở ứng dụng <small lang="en">Open the app</small></button></form>"#.to_string(),
        )
    };
    let body = PAGE
        .replace("{{STATE}}", &state)
        .replace("{{ACTION}}", &action)
        .replace("{{APP_URL}}", &app);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
