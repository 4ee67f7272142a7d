//! HTTP routes of status news. Office: a clerk publishes news for a received dossier and lists it; a paired
//! field device pulls its news (`GET /api/v1/sync/news`, protocol §11.9). Field: the news page (by hamlet,
//! by receipt code) and "told the villager".

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::{HubMode, NewsBatch, ReceiptCode, ReceiptCodeError, MAX_NEWS_LIST, NEWS_BATCH_KIND};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{form, store};
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::error::{ApiError, JsonBody};
use crate::intake::session::SyncDevice;

const CLERKS: &[Role] = &[Role::Clerk, Role::Admin];
const FIELD_TEAM: &[Role] = &[Role::Officer, Role::Volunteer, Role::Admin];

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/office/dossiers/{id}/news",
            get(dossier_news).post(publish),
        )
        .route("/api/v1/sync/news", get(pull))
        .route("/api/v1/news", get(field_news))
        .route("/api/v1/news/{id}/told", post(told))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    status: Value,
    #[serde(default)]
    note: Option<Value>,
}

/// `POST /api/v1/office/dossiers/{id}/news`: sign and store one news item for the dossier's field device.
async fn publish(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PublishBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    st.require_mode(HubMode::Office)?;
    user.require(CLERKS)?;
    let (status, note) =
        form::parse(&body.status, body.note.as_ref()).map_err(ApiError::validation)?;
    let state = st.clone();
    let user_id = user.id.clone();
    let signed = st
        .db
        .call(move |c| store::publish(c, &state.keys.device, &id, status, note, &user_id))
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))?;
    let n = &signed.news;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "news_id": n.news_id,
            "seq": n.seq,
            "device_id": n.device_id,
            "receipt_code": n.receipt_code,
            "status": n.status,
            "note": n.note,
            "published_at": n.published_at,
        })),
    ))
}

/// `GET /api/v1/office/dossiers/{id}/news`: the dossier's news, newest first.
async fn dossier_news(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    st.require_mode(HubMode::Office)?;
    user.require(CLERKS)?;
    let list = st
        .db
        .call(move |c| {
            if crate::news::store::dossier_target(c, &id)?.is_none() {
                return Ok(None);
            }
            store::dossier_news(c, &id).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))?;
    Ok(Json(json!({ "news": list })))
}

#[derive(Debug, Deserialize)]
struct PullQuery {
    after: Option<String>,
}

/// `GET /api/v1/sync/news?after=N`: a `NewsBatch` of at most 50 items (approved devices only).
async fn pull(
    State(st): State<AppState>,
    device: SyncDevice,
    Query(q): Query<PullQuery>,
) -> Result<Response, ApiError> {
    device.require_approved()?;
    let after: u64 = match q.after.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(s) => s
            .parse()
            .ok()
            .filter(|n| *n <= protocol::MAX_INTEGER)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "Tham số after phải là số nguyên không âm.",
                    "The after parameter must be a non-negative integer.",
                )
                .with_field("after")
            })?,
    };
    let dev = device.device_id.clone();
    let (items, more) = st
        .db
        .call(move |c| store::news_after(c, &dev, after, MAX_NEWS_LIST))
        .await?;
    let batch = NewsBatch {
        kind: NEWS_BATCH_KIND.into(),
        v: protocol::PROTOCOL_VERSION,
        after,
        items,
        more,
    };
    batch.check_form().map_err(ApiError::internal)?;
    let bytes = protocol::canonical_bytes(&batch).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
struct FieldQuery {
    receipt: Option<String>,
}

/// A receipt code typed or scanned by a volunteer, parsed leniently (spaces, hyphens, case, I/L/O).
fn parse_receipt(s: &str) -> Result<ReceiptCode, ApiError> {
    ReceiptCode::parse(s).map_err(|e| match e {
        ReceiptCodeError::Check { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_check_symbol",
            "Mã biên nhận có một ký tự bị gõ sai (ký tự kiểm tra cuối không khớp). Hãy xem lại từng ký tự.",
            "The receipt code has a typo (its last, check symbol does not match). Check each symbol.",
        )
        .with_field("receipt"),
        _ => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_code",
            "Mã biên nhận không đúng dạng: 9 ký tự, ví dụ ABCD-EFGH-J.",
            "The receipt code is not valid: 9 symbols, e.g. ABCD-EFGH-J.",
        )
        .with_field("receipt"),
    })
}

/// `GET /api/v1/news[?receipt=CODE]`: received news by hamlet, newest first, each re-verified.
async fn field_news(
    State(st): State<AppState>,
    user: AuthUser,
    Query(q): Query<FieldQuery>,
) -> Result<Json<Value>, ApiError> {
    st.require_mode(HubMode::Field)?;
    user.require(FIELD_TEAM)?;
    let receipt = match q.receipt.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(parse_receipt(s)?),
    };
    let code = receipt.as_ref().map(|r| r.to_string());
    let groups = st
        .db
        .call(move |c| store::received_by_hamlet(c, receipt.as_ref()))
        .await?;
    let unverified = groups
        .iter()
        .flat_map(|g| &g.items)
        .filter(|i| !i.verified)
        .count();
    Ok(Json(
        json!({ "receipt": code, "hamlets": groups, "unverified": unverified }),
    ))
}

/// `POST /api/v1/news/{id}/told`: a volunteer told the villager.
async fn told(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    st.require_mode(HubMode::Field)?;
    user.require(FIELD_TEAM)?;
    let nid = id.clone();
    let at = st
        .db
        .call(move |c| store::mark_told(c, &nid))
        .await?
        .ok_or_else(|| ApiError::not_found("tin", "News item"))?;
    Ok(Json(json!({ "news_id": id, "told_at": at })))
}
