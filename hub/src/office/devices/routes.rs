//! The office's pairing routes: open a code (`/api/v1/pairing/codes`), its QR, the devices list with approve
//! and revoke, and the protocol endpoint `POST /api/v1/sync/pair` (no login; rate-limited per client IP).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use protocol::{DeviceStatus, HubMode, PairAnswer, PairingQr, SignedPairAnswer, SignedPairRequest};
use serde::{Deserialize, Serialize};

use super::store::{self, PairOutcome, CODE_TTL_SECS};
use crate::shared::auth::Clerks;
use crate::shared::auth::LoginLimiter;
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::ip_limit::ClientIp;
use crate::shared::join::{request_host, JoinInfo};
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        new_code, addresses, code_qr, devices, approve, revoke, sync_pair, sync_tls
    ),
    components(schemas(
        NewCodeBody,
        RevokeBody,
        AddressesOut,
        NewCodeOut,
        DevicesOut,
        ApproveOut,
        RevokeOut
    ))
)]
pub struct ApiDoc;

use crate::shared::api_doc::protocol as pdoc;

/// The addresses the office can be reached at.
#[derive(Serialize, utoipa::ToSchema)]
struct AddressesOut {
    /// Base URLs (`http://…` or `https://…`, no trailing slash), the request's own first.
    addresses: Vec<String>,
}

/// A newly opened pairing code and what its QR says.
#[derive(Serialize, utoipa::ToSchema)]
struct NewCodeOut {
    id: String,
    /// The one-time code, `XXXX-XXXX-XXXX-XXXX-C` (16 data symbols and a check symbol).
    #[schema(
        pattern = "^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}-[0-9A-HJKMNP-TV-Z*~$=U]$"
    )]
    code: String,
    /// The text of the pairing QR (docs/protocol.md §11.3).
    qr_text: String,
    /// The office address put in the QR.
    base_url: String,
    #[schema(format = DateTime)]
    expires_at: String,
    ttl_secs: i64,
    /// The URL of the QR image (`/api/v1/pairing/codes/{id}/qr.png`).
    qr_png: String,
    /// Every address the office can be reached at (see `GET /api/v1/pairing/addresses`).
    addresses: Vec<String>,
}

/// The field devices known to the office, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct DevicesOut {
    devices: Vec<store::DeviceRow>,
}

/// A device's new status after an approval.
#[derive(Serialize, utoipa::ToSchema)]
struct ApproveOut {
    device_id: String,
    #[schema(value_type = pdoc::DeviceStatus)]
    status: DeviceStatus,
}

/// What a revocation did.
#[derive(Serialize, utoipa::ToSchema)]
struct RevokeOut {
    device_id: String,
    #[schema(value_type = pdoc::DeviceStatus)]
    status: DeviceStatus,
    /// The first sequence number no longer accepted; null: revoked entirely.
    revoked_from_seq: Option<u64>,
    /// Envelopes at or above the cutoff the office already held before the revocation.
    held_at_or_above: u64,
    /// The highest sequence number the office holds of the device.
    last_received_seq: Option<u64>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pairing/codes", post(new_code))
        .route("/api/v1/pairing/addresses", get(addresses))
        .route("/api/v1/pairing/codes/{id}/qr.png", get(code_qr))
        .route("/api/v1/pairing/devices", get(devices))
        .route("/api/v1/pairing/devices/{id}/approve", post(approve))
        .route("/api/v1/pairing/devices/{id}/revoke", post(revoke))
        .route("/api/v1/sync/pair", post(sync_pair))
        .route("/api/v1/sync/tls", get(sync_tls))
}

/// `GET /api/v1/sync/tls` (protocol §11.9): the office's HTTPS CA and port, signed with the office key, for
/// a paired field hub to pin (right after pairing, or at the next sync of a hub paired before this
/// existed). No login: it says nothing secret, and its signature makes it useless to a fake office.
#[utoipa::path(
    get,
    path = "/api/v1/sync/tls",
    operation_id = "pairing_sync_tls",
    tag = "pairing",
    summary = "The office's HTTPS certificate authority and port, signed with the office key (no login)",
    security(()),
    responses(
        (status = 200, description = "A SignedOfficeTls in canonical JSON (docs/protocol.md §11.9)", content_type = "application/json", body = pdoc::SignedOfficeTls),
        (status = 404, description = "`office_https_off`: this office serves no HTTPS; `wrong_mode`", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn sync_tls(
    State(st): State<AppState>,
    info: Option<Extension<Arc<JoinInfo>>>,
) -> Result<Response, ApiError> {
    if st.mode != HubMode::Office {
        return Err(ApiError::wrong_mode());
    }
    let info = info.map(|Extension(i)| i);
    let (Some(ca), Some(port)) = (
        info.as_ref().and_then(|i| i.ca.clone()),
        info.as_ref().and_then(|i| i.https.as_ref().map(|e| e.port)),
    ) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "office_https_off",
            "Văn phòng đang tắt HTTPS nên trạm hiện trường không thể đồng bộ an toàn qua mạng nội bộ. Hãy bật HTTPS (--https-listen) ở văn phòng.",
            "HTTPS is off at the office, so field hubs cannot sync safely over the local network. Turn HTTPS on (--https-listen) at the office.",
        ));
    };
    let tls = protocol::OfficeTls {
        kind: protocol::OFFICE_TLS_KIND.into(),
        v: 1,
        office_id: st.keys.device_id.clone(),
        ca_cert: hex::encode(&ca.der),
        https_port: Some(port),
        issued_at: crate::shared::clock::now_rfc3339(),
    };
    let signed =
        protocol::SignedOfficeTls::sign(tls, &st.keys.device).map_err(ApiError::internal)?;
    let bytes = signed.to_bytes().map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// The base URLs the office can be reached at: the request's own address first unless it is loopback,
/// then the host name and every listener address (the clerk may choose). Without the join information
/// (not served by `hub serve`), the request's Host.
fn base_urls(info: Option<&JoinInfo>, headers: &HeaderMap) -> Vec<String> {
    let rh = request_host(headers.get(header::HOST).and_then(|v| v.to_str().ok()));
    let mut out: Vec<String> = match info {
        Some(info) => {
            let mut v = info.urls("http", &info.http, rh.as_deref());
            if let Some(ep) = &info.https {
                v.extend(info.urls("https", ep, rh.as_deref()));
            }
            v
        }
        None => Vec::new(),
    };
    if out.is_empty() {
        if let Some(h) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) {
            out.push(format!("http://{h}"));
        }
    }
    out.iter_mut().for_each(|u| {
        while u.ends_with('/') {
            u.pop();
        }
    });
    out
}

type Info = Option<Extension<Arc<JoinInfo>>>;

/// The addresses the office can be reached at, to choose the one put in a pairing QR (office).
#[utoipa::path(
    get,
    path = "/api/v1/pairing/addresses",
    operation_id = "pairing_addresses",
    tag = "pairing",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = AddressesOut),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn addresses(
    _: crate::shared::state::OfficeOnly,
    _clerk: Clerks,
    info: Info,
    headers: HeaderMap,
) -> Result<Json<AddressesOut>, ApiError> {
    let urls = base_urls(info.as_deref().map(|a| a.as_ref()), &headers);
    Ok(Json(AddressesOut { addresses: urls }))
}

/// Options of a new pairing code.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewCodeBody {
    /// One of the office's addresses (or a public URL) to put in the QR; default: the first address.
    /// `http://` or `https://`, a host (no user information), printable ASCII without `#`, `"` or `\\`;
    /// at most 200 characters (protocol §8, pairing QR).
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^\s*https?://[\x21\x24-\x2E\x30-\x39\x3B-\x3E\x41-\x5B\x5D-\x7E][\x21\x24-\x2E\x30-\x3E\x41-\x5B\x5D-\x7E]*([/?][\x21\x24-\x5B\x5D-\x7E]*)?\s*$"
    )]
    base_url: Option<String>,
}

/// An office address as typed for a QR: at most 200 characters as sent, trimmed, without trailing `/`
/// (the rest is checked by `PairingQr::new`).
fn typed_base(u: &str) -> Result<String, ApiError> {
    if u.chars().count() > protocol::MAX_PAIRING_URL_BYTES {
        return Err(qr_url_invalid("the URL is longer than 200 characters"));
    }
    Ok(u.trim().trim_end_matches('/').to_string())
}

fn qr_url_invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "office_url_invalid",
        format!("Địa chỉ văn phòng không dùng được trong mã QR ({e})."),
        format!("This office address cannot go in the QR code ({e})."),
    )
    .with_field("base_url")
}

/// Opens a one-time pairing code (10 minutes) and its QR text for a field hub to pair with (office).
#[utoipa::path(
    post,
    path = "/api/v1/pairing/codes",
    operation_id = "pairing_new_code",
    tag = "pairing",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    request_body = NewCodeBody,
    responses(
        (status = 201, description = "The code opened", body = NewCodeOut),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 422, description = "`office_url_invalid`: the address cannot go in a QR", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn new_code(
    State(st): State<AppState>,
    _: crate::shared::state::OfficeOnly,
    Clerks(user): Clerks,
    info: Info,
    headers: HeaderMap,
    JsonBody(body): JsonBody<NewCodeBody>,
) -> Result<(StatusCode, Json<NewCodeOut>), ApiError> {
    let urls = base_urls(info.as_deref().map(|a| a.as_ref()), &headers);
    let base = match body.base_url {
        Some(u) => typed_base(&u)?,
        None => urls
            .first()
            .cloned()
            .ok_or_else(|| qr_url_invalid("no address"))?,
    };
    // Checked before a code is drawn: a bad address opens nothing.
    let probe = protocol::PairingCode::from_bytes([0; protocol::PAIRING_CODE_BYTES]);
    PairingQr::new(base.clone(), probe).map_err(qr_url_invalid)?;
    let uid = user.id.clone();
    let new = st
        .db
        .call(move |c| store::open_code(c, &uid, CODE_TTL_SECS))
        .await?;
    let qr = PairingQr::new(base.clone(), new.code.clone()).map_err(qr_url_invalid)?;
    tracing::info!(code_id = %new.id, "pairing code opened");
    Ok((
        StatusCode::CREATED,
        Json(NewCodeOut {
            qr_png: format!("/api/v1/pairing/codes/{}/qr.png", new.id),
            id: new.id,
            code: new.code.to_string(),
            qr_text: qr.to_text(),
            base_url: base,
            expires_at: new.expires_at,
            ttl_secs: CODE_TTL_SECS,
            addresses: urls,
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct QrQuery {
    /// The office address to put in the QR (default: the first address); as `base_url` of a new code.
    #[serde(default)]
    #[param(
        max_length = 200,
        pattern = r"^\s*https?://[\x21\x24-\x2E\x30-\x39\x3B-\x3E\x41-\x5B\x5D-\x7E][\x21\x24-\x2E\x30-\x3E\x41-\x5B\x5D-\x7E]*([/?][\x21\x24-\x5B\x5D-\x7E]*)?\s*$"
    )]
    url: Option<String>,
}

/// The QR image of an open pairing code (office).
#[utoipa::path(
    get,
    path = "/api/v1/pairing/codes/{id}/qr.png",
    operation_id = "pairing_code_qr",
    tag = "pairing",
    security(("session" = ["clerk", "admin"])),
    params(("id" = String, Path, description = "Pairing code id"), QrQuery),
    responses(
        (status = 200, description = "PNG image of the pairing QR", content_type = "image/png", body = Vec<u8>),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No open code with this id (used or expired)", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`office_url_invalid`", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn code_qr(
    State(st): State<AppState>,
    _: crate::shared::state::OfficeOnly,
    _clerk: Clerks,
    info: Info,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<QrQuery>,
) -> Result<Response, ApiError> {
    let base = match q.url {
        Some(u) => typed_base(&u)?,
        None => base_urls(info.as_deref().map(|a| a.as_ref()), &headers)
            .into_iter()
            .next()
            .ok_or_else(|| qr_url_invalid("no address"))?,
    };
    let found = st.db.call(move |c| store::open_code_by_id(c, &id)).await?;
    let Some((code, _)) = found else {
        return Err(ApiError::not_found(
            "mã ghép nối (đã dùng hoặc hết hạn)",
            "Pairing code (used or expired)",
        ));
    };
    let qr = PairingQr::new(base, code).map_err(qr_url_invalid)?;
    let png =
        crate::shared::qr::png(&qr.to_text()).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response())
}

fn code_invalid() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "pairing_code_invalid",
        "Mã ghép nối sai, đã dùng hoặc đã hết hạn. Hãy tạo mã mới trên trang thiết bị của văn phòng.",
        "The pairing code is wrong, already used or expired. Open a new code on the office's devices page.",
    )
    .with_field("code")
}

/// `POST /api/v1/sync/pair` (protocol §11.3, §11.9).
#[utoipa::path(
    post,
    path = "/api/v1/sync/pair",
    operation_id = "pairing_sync_pair",
    tag = "pairing",
    summary = "A field hub's signed pair request with a pairing code (no login; failures rate-limited per address)",
    security(()),
    request_body(
        content = pdoc::SignedPairRequest,
        content_type = "application/json",
        description = "A SignedPairRequest in canonical JSON (docs/protocol.md §11.3); read as bytes, so any \
                       content type is taken"
    ),
    responses(
        (status = 200, description = "A SignedPairAnswer in canonical JSON (docs/protocol.md §11.3)", content_type = "application/json", body = pdoc::SignedPairAnswer),
        (status = 400, description = "`bad_message`: not a valid signed pair request", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "`pairing_code_invalid`", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`device_key_changed`, `not_a_field_device`", body = crate::shared::api_doc::ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn sync_pair(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Bytes,
) -> Result<Response, ApiError> {
    if st.mode != HubMode::Office {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "wrong_mode",
            "Đây là trạm hiện trường, không phải văn phòng xã: không ghép nối được với nó.",
            "This is a field hub, not a commune office: it cannot be paired with.",
        ));
    }
    // Attempts are counted per client IP, in the login limiter under a name no user name can take, before
    // the code is checked (a success or an unrelated refusal gives the slot back).
    let key = "\u{0}pair";
    let Ok(attempt) = st.part::<LoginLimiter>().reserve(key, ip) else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "Đã thử sai quá nhiều lần. Hãy đợi 5 phút rồi thử lại.",
            "Too many wrong attempts. Wait 5 minutes, then try again.",
        ));
    };
    let signed = match SignedPairRequest::from_bytes(&body).and_then(|s| s.verify().map(|_| s)) {
        Ok(s) => s,
        Err(e) => {
            drop(attempt); // counted: a failure
            return Err(crate::office::intake::routes::bad_message(
                "pair request",
                e,
            ));
        }
    };
    let request = signed.request.clone();
    let me = st.keys.device_id.clone();
    let req2 = request.clone();
    let outcome = st
        .db
        .call(move |c| store::accept_pair_request(c, &me, &req2))
        .await?;
    let (code, status) = match outcome {
        PairOutcome::Pinned { code, status } => (code, status),
        PairOutcome::NoCode => {
            drop(attempt); // counted: a failure
            return Err(code_invalid());
        }
        PairOutcome::KeyChanged => {
            attempt.release();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "device_key_changed",
                "Thiết bị có mã số này đã được ghép nối với khóa khác; văn phòng không thay khóa tự động.",
                "A device with this id is already paired with different keys; the office never replaces keys silently.",
            ));
        }
        PairOutcome::NotAField => {
            attempt.release();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_a_field_device",
                "Thẻ khóa này không phải của một trạm hiện trường.",
                "This key card is not a field hub's.",
            ));
        }
    };
    attempt.succeeded();
    tracing::info!(device = %request.card.device_id, %status, "field device paired by code");
    let created_at = st
        .db
        .call(|c| crate::shared::store::meta_get(c, "created_at"))
        .await?
        .unwrap_or_default();
    let card = st
        .keys
        .key_card(HubMode::Office, &st.name, &created_at)
        .map_err(ApiError::internal)?;
    let answer = PairAnswer::new(
        card,
        &request,
        &code,
        status,
        crate::shared::clock::now_rfc3339(),
    )
    .map_err(ApiError::internal)?;
    let bytes = SignedPairAnswer::sign(answer, &st.keys.device)
        .and_then(|a| a.to_bytes())
        .map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// The field devices known to the office, with their status (office).
#[utoipa::path(
    get,
    path = "/api/v1/pairing/devices",
    operation_id = "pairing_devices",
    tag = "pairing",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = DevicesOut),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn devices(
    State(st): State<AppState>,
    _: crate::shared::state::OfficeOnly,
    _clerk: Clerks,
) -> Result<Json<DevicesOut>, ApiError> {
    let list = st.db.call(|c| store::list_devices(c)).await?;
    Ok(Json(DevicesOut { devices: list }))
}

fn no_device() -> ApiError {
    ApiError::not_found("thiết bị hiện trường", "Field device")
}

/// Approves a paired field device: its uploads are accepted from now on (office).
#[utoipa::path(
    post,
    path = "/api/v1/pairing/devices/{id}/approve",
    operation_id = "pairing_approve",
    tag = "pairing",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Field device id")),
    responses(
        (status = 200, body = ApproveOut),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn approve(
    State(st): State<AppState>,
    _: crate::shared::state::OfficeOnly,
    Clerks(user): Clerks,
    Path(id): Path<String>,
) -> Result<Json<ApproveOut>, ApiError> {
    let uid = user.id.clone();
    let id2 = id.clone();
    let ok = st
        .db
        .call(move |c| store::set_device_status(c, &id2, DeviceStatus::Approved, Some(&uid), None))
        .await?;
    if !ok {
        return Err(no_device());
    }
    tracing::info!(device = %id, "field device approved");
    Ok(Json(ApproveOut {
        device_id: id,
        status: DeviceStatus::Approved,
    }))
}

/// Why a device is revoked (1–500 characters), and from which sequence number.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    /// 1–500 characters, some of them visible, no control characters.
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    reason: String,
    /// The first sequence number no longer accepted (≥ 1): envelopes below it that chain correctly are
    /// still accepted, those at or above it are quarantined (`device_revoked`). Usually the last seq
    /// received before the theft + 1 (the devices list gives `last_received_seq`). Absent or null: a full
    /// revocation, every upload refused.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 9007199254740991_u64)]
    from_seq: Option<u64>,
}

/// Revokes a field device with a reason, entirely or from a sequence number (office).
#[utoipa::path(
    post,
    path = "/api/v1/pairing/devices/{id}/revoke",
    operation_id = "pairing_revoke",
    tag = "pairing",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Field device id")),
    request_body = RevokeBody,
    responses(
        (status = 200, body = RevokeOut),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`reason_required`, `from_seq_invalid`", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn revoke(
    State(st): State<AppState>,
    _: crate::shared::state::OfficeOnly,
    Clerks(user): Clerks,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RevokeBody>,
) -> Result<Json<RevokeOut>, ApiError> {
    let reason = body.reason.trim().to_string();
    if reason.is_empty()
        || body.reason.chars().count() > 500
        || body.reason.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
            "Hãy ghi lý do thu hồi (một dòng, tối đa 500 ký tự).",
            "Write the reason for revoking (one line, at most 500 characters).",
        )
        .with_field("reason"));
    }
    let from_seq = body.from_seq;
    if from_seq.is_some_and(|n| n == 0 || n > protocol::MAX_INTEGER) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "from_seq_invalid",
            "Số thứ tự bắt đầu thu hồi phải là một số nguyên từ 1 trở lên.",
            "The sequence number the revocation starts from must be a whole number from 1 up.",
        )
        .with_field("from_seq"));
    }
    let uid = user.id.clone();
    let id2 = id.clone();
    let done = st
        .db
        .call(move |c| store::revoke(c, &id2, from_seq, Some(&uid), &reason))
        .await?;
    let Some(done) = done else {
        return Err(no_device());
    };
    tracing::info!(device = %id, from_seq = ?from_seq, "field device revoked");
    Ok(Json(RevokeOut {
        device_id: id,
        status: DeviceStatus::Revoked,
        revoked_from_seq: done.revoked_from_seq,
        held_at_or_above: done.held_at_or_above,
        last_received_seq: done.last_received_seq,
    }))
}
