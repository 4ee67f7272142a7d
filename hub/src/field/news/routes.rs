//! HTTP routes of status news on the field hub: the news page (by hamlet, by receipt code) and "told the
//! villager".

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::ReceiptCode;
use serde::{Deserialize, Serialize};

use super::store;
use crate::field::seal::codes::{self, Typed};
use crate::shared::auth::FieldTeam;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `app::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(field_news, told))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/news", get(field_news))
        .route("/api/v1/news/{id}/told", post(told))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FieldQuery {
    /// Only this receipt's news (a receipt code, typed leniently: separators, case and `I`/`L`/`O` are
    /// forgiven; the check digit must match). Empty or blank: all news.
    #[param(pattern = r"^([0-9A-Za-z*~$=\s.-]{9,40}|\s*)$")]
    receipt: Option<String>,
}

/// The news page: received news by hamlet.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FieldNews)]
struct FieldNews {
    /// The receipt code asked for, as parsed (null: all news).
    receipt: Option<String>,
    hamlets: Vec<store::HamletNews>,
    /// Items whose office signature did not verify again (shown with a warning).
    unverified: usize,
}

/// A news item marked told.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = NewsTold)]
struct Told {
    news_id: String,
    #[schema(format = DateTime)]
    told_at: String,
}

/// A receipt code typed or scanned by a volunteer, parsed leniently (either form; see `seal::codes`).
fn parse_receipt(s: &str) -> Result<ReceiptCode, ApiError> {
    codes::parse_typed(s, Typed::Code, "receipt")
}

/// `GET /api/v1/news[?receipt=CODE]`: received news by hamlet, newest first, each re-verified.
#[utoipa::path(
    get,
    path = "/api/v1/news",
    operation_id = "news_field_news",
    tag = "news",
    summary = "Received news by hamlet, newest first, each re-verified (field team)",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(FieldQuery),
    responses(
        (status = 200, description = "Received news by hamlet, newest first", body = FieldNews),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`bad_code` or `bad_check_symbol`", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn field_news(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    _team: FieldTeam,
    Query(q): Query<FieldQuery>,
) -> Result<Json<FieldNews>, ApiError> {
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
    Ok(Json(FieldNews {
        receipt: code,
        hamlets: groups,
        unverified,
    }))
}

/// `POST /api/v1/news/{id}/told`: a volunteer told the villager.
#[utoipa::path(
    post,
    path = "/api/v1/news/{id}/told",
    operation_id = "news_told",
    tag = "news",
    summary = "Marks a news item as told to the villager (field team)",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "News item id")),
    responses(
        (status = 200, description = "The item and when it was marked told", body = Told),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`dossier_not_held`: the item is about a dossier this hub does not hold", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn told(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    _team: FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<Told>, ApiError> {
    let nid = id.clone();
    let at = match st.db.call(move |c| store::mark_told(c, &nid)).await? {
        store::TellOutcome::Told(at) => at,
        store::TellOutcome::Unknown => return Err(ApiError::not_found("tin", "News item")),
        store::TellOutcome::NotHeld => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "dossier_not_held",
                "Tin này nói về một hồ sơ không có trên trạm này: đừng báo cho người dân, hãy hỏi văn phòng xã.",
                "This news is about a dossier this hub does not hold: do not tell the villager, ask the commune office.",
            ))
        }
    };
    Ok(Json(Told {
        news_id: id,
        told_at: at,
    }))
}
