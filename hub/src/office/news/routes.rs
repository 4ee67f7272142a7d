//! HTTP routes of status news on the office hub: a clerk publishes news for a received dossier and lists
//! it; a paired field device pulls its news (`GET /api/v1/sync/news`, protocol §11.9).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use protocol::{NewsBatch, MAX_NEWS_LIST, NEWS_BATCH_KIND};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{form, store};
use crate::office::intake::session::SyncDevice;
use crate::shared::auth::Clerks;
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `app::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(publish, dossier_news, pull),
    components(schemas(PublishBody, PublishedOut, DossierNewsOut))
)]
pub struct ApiDoc;

/// A news item as published (signed and stored for the field device to pull).
#[derive(Serialize, utoipa::ToSchema)]
struct PublishedOut {
    #[schema(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    news_id: String,
    /// Per field device, 1, 2, 3…
    seq: u64,
    device_id: String,
    #[schema(
        pattern = "^([0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{2}|[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z*~$=U])$"
    )]
    receipt_code: String,
    #[schema(value_type = crate::shared::api_doc::protocol::NewsStatus)]
    status: protocol::NewsStatus,
    note: Option<String>,
    #[schema(format = DateTime)]
    published_at: String,
}

/// A dossier's published news, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct DossierNewsOut {
    news: Vec<store::PublishedNews>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/office/dossiers/{id}/news",
            get(dossier_news).post(publish),
        )
        .route("/api/v1/sync/news", get(pull))
}

/// A news item: its `status` (`kind` and the fields of that kind) and an optional note for the villager.
/// Read as free JSON first so each offending field gets its own error (`status.papers[1]`, `note`, …).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PublishBody {
    #[schema(value_type = crate::shared::api_doc::protocol::NewsStatus)]
    status: Value,
    /// A note for the villager (1–500 characters, line breaks allowed), or null (empty or blank: none).
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^(\s*|([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*)$")]
    note: Option<Value>,
}

/// `POST /api/v1/office/dossiers/{id}/news`: sign and store one news item for the dossier's field device.
#[utoipa::path(
    post,
    path = "/api/v1/office/dossiers/{id}/news",
    operation_id = "news_publish",
    tag = "news",
    summary = "Signs and stores a status news item for a received dossier's field device (office)",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Dossier id")),
    request_body = PublishBody,
    responses(
        (status = 201, description = "The news item as published", body = PublishedOut),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`validation_failed`: status or note", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn publish(
    State(st): State<AppState>,
    _: crate::shared::state::OfficeOnly,
    Clerks(user): Clerks,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PublishBody>,
) -> Result<(StatusCode, Json<PublishedOut>), ApiError> {
    let (status, note) =
        form::parse(&body.status, body.note.as_ref()).map_err(ApiError::validation)?;
    let state = st.clone();
    let user_id = user.id.clone();
    let signed = st
        .db
        .call(move |c| store::publish(c, &state.keys.device, &id, status, note, &user_id))
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))?;
    let n = signed.news;
    Ok((
        StatusCode::CREATED,
        Json(PublishedOut {
            news_id: n.news_id,
            seq: n.seq,
            device_id: n.device_id.to_string(),
            receipt_code: n.receipt_code.to_string(),
            status: n.status,
            note: n.note,
            published_at: n.published_at,
        }),
    ))
}

/// `GET /api/v1/office/dossiers/{id}/news`: the dossier's news, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/office/dossiers/{id}/news",
    operation_id = "news_dossier_news",
    tag = "news",
    summary = "A received dossier's published news, newest first (office)",
    security(("session" = ["clerk", "admin"])),
    params(("id" = String, Path, description = "Dossier id")),
    responses(
        (status = 200, body = DossierNewsOut),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn dossier_news(
    State(st): State<AppState>,
    _: crate::shared::state::OfficeOnly,
    _clerk: Clerks,
    Path(id): Path<String>,
) -> Result<Json<DossierNewsOut>, ApiError> {
    let list = st
        .db
        .call(move |c| {
            if crate::office::news::store::dossier_target(c, &id)?.is_none() {
                return Ok(None);
            }
            store::dossier_news(c, &id).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))?;
    Ok(Json(DossierNewsOut { news: list }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PullQuery {
    /// The last news sequence number the device has (default 0).
    after: Option<String>,
}

/// `GET /api/v1/sync/news?after=N`: a `NewsBatch` of at most 50 items (approved devices only).
#[utoipa::path(
    get,
    path = "/api/v1/sync/news",
    operation_id = "news_pull",
    tag = "news",
    summary = "A paired field device pulls its news after a sequence number (office, sync session)",
    security(("sync_token" = [])),
    params(PullQuery),
    responses(
        (status = 200, description = "A NewsBatch of at most 50 items in canonical JSON (docs/protocol.md §11.9)", content_type = "application/json", body = crate::shared::api_doc::protocol::NewsBatch),
        (status = 400, description = "`after` is not a non-negative integer", body = crate::shared::api_doc::ErrorBody),
        (status = 401, description = "No or unknown sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "The device is not approved", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
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
    let st2 = st.clone();
    let (items, more) = st
        .db
        .call(move |c| {
            // A relinked receipt code (intake, §6.2) is news the office tells by itself.
            let told = store::publish_relinks(c, &st2.keys.device, &dev)?;
            if told > 0 {
                tracing::info!(count = told, "news of relinked receipt codes published");
            }
            store::news_after(c, &dev, after, MAX_NEWS_LIST)
        })
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
