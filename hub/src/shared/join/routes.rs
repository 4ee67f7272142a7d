//! Join routes: the join page's data and its QR PNGs (team only: the Wi-Fi password is in them), and the
//! public CA certificate that team phones install.

use std::sync::Arc;

use axum::extract::Query;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};

use super::{parse_host, qr_base_url, JoinInfo, RequestHost};
use crate::shared::auth::AuthUser;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(join, wifi_png, app_png, ca_png, ca_crt),
    components(schemas(JoinPage, JoinWifi, JoinUrls, JoinCa))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/join", get(join))
        .route("/api/v1/join/wifi.png", get(wifi_png))
        .route("/api/v1/join/app.png", get(app_png))
        .route("/api/v1/join/ca.png", get(ca_png))
        .route("/ca.crt", get(ca_crt))
}

type Info = Extension<Arc<JoinInfo>>;

/// The request's host when its `Host` header is a plain host[:port] (an odd one is ignored: the QR codes
/// then show the hub's own address).
fn host_of(headers: &HeaderMap) -> Option<RequestHost> {
    parse_host(headers.get(header::HOST).and_then(|v| v.to_str().ok()))
}

/// The join page's data: Wi-Fi (with its password), the app's addresses and the CA fingerprint (any
/// logged-in user: the team).
#[utoipa::path(
    get,
    path = "/api/v1/join",
    operation_id = "join_join",
    tag = "join",
    security(("session" = [])),
    responses(
        (status = 200, description = "Wi-Fi, app addresses and CA, each with its QR code", body = JoinPage),
        crate::shared::api_doc::Unauthenticated,
    )
)]
async fn join(
    axum::extract::State(st): axum::extract::State<AppState>,
    _user: AuthUser,
    Extension(info): Info,
    headers: HeaderMap,
) -> Json<JoinPage> {
    let req = host_of(&headers);
    let rh = req.as_ref().map(|r| r.host.as_str());
    let wifi = info.wifi.as_ref().map(|w| JoinWifi {
        ssid: w.ssid.clone(),
        security: w.security.as_str(),
        password: w.password.clone(),
        qr_text: w.qr_text(),
        png: "/api/v1/join/wifi.png",
    });
    let https_urls = info
        .https
        .as_ref()
        .map(|e| info.urls("https", e, rh))
        .unwrap_or_default();
    Json(JoinPage {
        hub_name: st.name.clone(),
        host_name: info.host.clone(),
        wifi,
        app_url: qr_base_url(Some(&info), false, req.as_ref()),
        app_png: "/api/v1/join/app.png",
        app_url_https: qr_base_url(Some(&info), true, req.as_ref()),
        app_https_png: info.https.as_ref().map(|_| "/api/v1/join/app.png?https=1"),
        urls: JoinUrls {
            http: info.urls("http", &info.http, rh),
            https: https_urls,
        },
        ca: info.ca.as_ref().map(|ca| JoinCa {
            sha256: ca.fingerprint.clone(),
            download_url: info.ca_url(rh),
            png: "/api/v1/join/ca.png",
        }),
    })
}

/// The join page's data.
#[derive(Serialize, utoipa::ToSchema)]
struct JoinPage {
    hub_name: String,
    /// The hub's mDNS host name, e.g. `tram-phuoc-minh.local`.
    host_name: String,
    /// The Wi-Fi to join; `null` when no SSID is configured.
    wifi: Option<JoinWifi>,
    /// The app's HTTP address as the QR code writes it.
    app_url: Option<String>,
    /// The app QR code (PNG).
    app_png: &'static str,
    /// The app's HTTPS address; `null` when HTTPS is off.
    app_url_https: Option<String>,
    /// The HTTPS app QR code (PNG); `null` when HTTPS is off.
    app_https_png: Option<&'static str>,
    urls: JoinUrls,
    /// The local certificate authority team phones install; `null` when HTTPS is off.
    ca: Option<JoinCa>,
}

/// The Wi-Fi network team phones and villagers join.
#[derive(Serialize, utoipa::ToSchema)]
struct JoinWifi {
    ssid: String,
    /// `WPA`, `WEP` or `nopass`.
    #[schema(value_type = String, pattern = "^(WPA|WEP|nopass)$")]
    security: &'static str,
    /// `null` for an open network.
    password: Option<String>,
    /// The `WIFI:T:…;S:…;P:…;;` text the QR code holds.
    qr_text: String,
    /// The Wi-Fi QR code (PNG).
    png: &'static str,
}

/// Every address the app is reachable at, phone-reachable ones first.
#[derive(Serialize, utoipa::ToSchema)]
struct JoinUrls {
    http: Vec<String>,
    /// Empty when HTTPS is off.
    https: Vec<String>,
}

/// The local certificate authority.
#[derive(Serialize, utoipa::ToSchema)]
struct JoinCa {
    /// The certificate's SHA-256 fingerprint.
    sha256: String,
    /// Where to download the certificate (`/ca.crt` on the hub's address).
    download_url: Option<String>,
    /// The QR code of `download_url` (PNG).
    png: &'static str,
}

fn png_response(text: &str) -> Result<Response, ApiError> {
    let png = crate::shared::qr::png(text).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        png,
    )
        .into_response())
}

/// The QR image that joins a phone to the hub's Wi-Fi (any logged-in user: it holds the password).
#[utoipa::path(
    get,
    path = "/api/v1/join/wifi.png",
    operation_id = "join_wifi_png",
    tag = "join",
    security(("session" = [])),
    responses(
        (status = 200, description = "PNG image", content_type = "image/png", body = Vec<u8>),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, description = "No Wi-Fi configured", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn wifi_png(_user: AuthUser, Extension(info): Info) -> Result<Response, ApiError> {
    let w = info.wifi.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "mạng Wi-Fi (tên và mật khẩu Wi-Fi chưa được cài cho trạm)",
            "Wi-Fi network (the Wi-Fi name and password are not set on this hub)",
        )
    })?;
    png_response(&w.qr_text())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AppQuery {
    /// `1` or `true`: the HTTPS address.
    #[serde(default)]
    https: Option<String>,
}

/// The QR image of the app's address (any logged-in user).
#[utoipa::path(
    get,
    path = "/api/v1/join/app.png",
    operation_id = "join_app_png",
    tag = "join",
    security(("session" = [])),
    params(AppQuery),
    responses(
        (status = 200, description = "PNG image", content_type = "image/png", body = Vec<u8>),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, description = "HTTPS asked for while it is off", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn app_png(
    _user: AuthUser,
    Extension(info): Info,
    headers: HeaderMap,
    Query(q): Query<AppQuery>,
) -> Result<Response, ApiError> {
    let https = matches!(q.https.as_deref(), Some("1" | "true"));
    let url = qr_base_url(Some(&info), https, host_of(&headers).as_ref()).ok_or_else(|| {
        ApiError::not_found(
            "địa chỉ HTTPS (HTTPS đang tắt)",
            "HTTPS address (HTTPS is off)",
        )
    })?;
    png_response(&url)
}

/// The QR image of the CA certificate's download address (any logged-in user).
#[utoipa::path(
    get,
    path = "/api/v1/join/ca.png",
    operation_id = "join_ca_png",
    tag = "join",
    security(("session" = [])),
    responses(
        (status = 200, description = "PNG image", content_type = "image/png", body = Vec<u8>),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, description = "HTTPS is off", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn ca_png(
    _user: AuthUser,
    Extension(info): Info,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let url = info
        .ca_url(host_of(&headers).as_ref().map(|r| r.host.as_str()))
        .ok_or_else(no_ca)?;
    png_response(&url)
}

fn no_ca() -> ApiError {
    ApiError::not_found(
        "chứng chỉ của trạm (HTTPS đang tắt)",
        "hub certificate (HTTPS is off)",
    )
}

/// The CA certificate (DER), public: a phone downloads it before anyone logs in on it. The key never
/// leaves the data directory.
#[utoipa::path(
    get,
    path = "/ca.crt",
    operation_id = "join_ca_crt",
    tag = "join",
    security(()),
    responses(
        (status = 200, description = "The CA certificate, DER", content_type = "application/x-x509-ca-cert", body = Vec<u8>),
        (status = 404, description = "HTTPS is off", body = crate::shared::api_doc::ErrorBody),
    )
)]
pub async fn ca_crt(Extension(info): Info) -> Result<Response, ApiError> {
    let ca = info.ca.as_ref().ok_or_else(no_ca)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-x509-ca-cert"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        ca.der.clone(),
    )
        .into_response())
}
