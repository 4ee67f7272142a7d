//! HTTP routes of sync intake on the office hub (protocol §11.9). Handlers are thin: parsing and checks are
//! in `protocol`, storage in this folder's modules.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use protocol::SignedSyncHello;
use serde_json::{json, Value};

use super::session::{field_device_status, CHALLENGE_TTL, TOKEN_TTL};
use crate::app::AppState;
use crate::error::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sync/challenge", post(challenge))
        .route("/api/v1/sync/hello", post(hello))
}

/// A malformed sync message.
pub fn bad_message(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_message",
        format!("Thông điệp đồng bộ ({what}) không hợp lệ: {e}"),
        format!("The sync message ({what}) is not valid: {e}"),
    )
}

async fn challenge(State(st): State<AppState>) -> Result<Json<Value>, ApiError> {
    let c = st.sync.challenge()?;
    Ok(Json(
        json!({ "challenge": c, "expires_in": CHALLENGE_TTL.as_secs() }),
    ))
}

async fn hello(State(st): State<AppState>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let signed = SignedSyncHello::from_bytes(&body).map_err(|e| bad_message("hello", e))?;
    let device = signed.hello.device_id.clone();
    let id = device.clone();
    let found = st
        .db
        .call(move |c| {
            Ok(match crate::trust::field_device(c, &id)? {
                Some((key, _)) => Some((key, field_device_status(c, &id)?)),
                None => None,
            })
        })
        .await?;
    let Some((key, Some((_name, status)))) = found else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unknown_device",
            "Văn phòng này chưa ghép nối với thiết bị này. Hãy ghép nối bằng mã ghép nối của văn phòng.",
            "This office is not paired with this device. Pair it with the office's pairing code.",
        ));
    };
    signed.verify(&key, &st.keys.device_id).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            format!("Lời chào đồng bộ không xác minh được: {e}"),
            format!("The sync hello does not verify: {e}"),
        )
    })?;
    if !st.sync.spend_challenge(&signed.hello.challenge) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "challenge_invalid",
            "Mã thử thách đã dùng, hết hạn hoặc không do văn phòng này cấp; hãy bắt đầu lại.",
            "The challenge was already used, has expired or was not issued by this office; start again.",
        )
        .with_field("challenge"));
    }
    let token = st.sync.open(device)?;
    Ok(Json(json!({
        "token": token,
        "expires_in": TOKEN_TTL.as_secs(),
        "device_status": status,
    })))
}
