//! HTTP routes for clerks: received dossiers, their photos, and import reports (office mode).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::store;
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::error::ApiError;

const CLERKS: &[Role] = &[Role::Clerk, Role::Admin];

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/dossiers", get(list))
        .route("/api/v1/office/dossiers/{id}", get(read))
        .route(
            "/api/v1/office/dossiers/{id}/attachments/{index}",
            get(photo),
        )
        .route("/api/v1/office/imports", get(imports))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default)]
    procedure: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    device: Option<String>,
    #[serde(default)]
    session: Option<String>,
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /api/v1/office/dossiers?procedure=&status=&device=&session=&q=&limit=&cursor=`: newest first, at
/// most `limit` (≤ 200, default 200) per page; `next_cursor` for the next page; `total` matching.
async fn list(
    State(st): State<AppState>,
    user: AuthUser,
    Query(p): Query<ListParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(CLERKS)?;
    let empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let status = empty(p.status);
    if let Some(s) = &status {
        if !crate::casework::store::STATUSES.contains(&s.as_str()) {
            return Err(ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "bad_status",
                "Tình trạng không hợp lệ.",
                "Not a valid status.",
            )
            .with_field("status"));
        }
    }
    let q = store::ListQuery {
        procedure: empty(p.procedure),
        status,
        device: empty(p.device),
        session: empty(p.session),
        q: empty(p.q),
        limit: p.limit.unwrap_or(200).clamp(1, 200),
        cursor: empty(p.cursor),
    };
    let (list, next, total) = st.db.call(move |c| store::list_page(c, &q)).await?;
    Ok(Json(
        json!({ "dossiers": list, "next_cursor": next, "total": total }),
    ))
}

/// `GET /api/v1/office/dossiers/{id}`: the dossier, its `status`, `deadline` and `history` (audit + news).
async fn read(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(CLERKS)?;
    let found = st
        .db
        .call(move |c| {
            let Some(d) = store::get(c, &id)? else {
                return Ok(None);
            };
            let standing = crate::casework::status::standing(c, &id)?;
            let audit = crate::casework::audit::for_dossier(c, &id)?;
            let news = crate::news::store::dossier_news(c, &id)?;
            let hol = crate::casework::store::holidays(c)?;
            Ok(Some((d, standing, audit, news, hol)))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))?;
    let (d, standing, audit, news, hol) = found;
    let mut out = serde_json::to_value(&d).map_err(ApiError::internal)?;
    let mut history: Vec<serde_json::Value> = Vec::new();
    for a in audit {
        let mut v = serde_json::to_value(&a).map_err(ApiError::internal)?;
        v["kind"] = json!("audit");
        history.push(v);
    }
    for n in news {
        let mut v = serde_json::to_value(&n).map_err(ApiError::internal)?;
        v["kind"] = json!("news");
        v["at"] = json!(n.published_at);
        history.push(v);
    }
    history.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
    if let Some(s) = standing {
        use crate::casework::deadline as dl;
        let today = crate::clock::today_vn();
        let due = dl::parse_date(&s.due_on);
        out["deadline"] = json!({
            "received_on": s.received_on,
            "due_on": s.due_on,
            "extended": s.extended,
            "working_days_left": due.map(|d| dl::working_days_between(today, d, &hol)),
            "overdue": s.closed_at.is_none() && due.is_some_and(|d| d < today),
            "limit_working_days": crate::casework::store::limit_days(
                &d.summary.procedure.id, d.summary.procedure.version as i64, s.extended),
        });
        out["status"] = serde_json::to_value(&s).map_err(ApiError::internal)?;
    }
    out["history"] = json!(history);
    Ok(Json(out))
}

async fn photo(
    State(st): State<AppState>,
    user: AuthUser,
    Path((id, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user.require(CLERKS)?;
    let index: i64 = index
        .parse()
        .map_err(|_| ApiError::not_found("ảnh", "Photo"))?;
    let found = st
        .db
        .call(move |c| store::attachment(c, &id, index))
        .await?;
    crate::media::photo_response(found)
}

async fn imports(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(CLERKS)?;
    let list = st
        .db
        .call(|c| crate::batch::import::list_reports(c))
        .await?;
    Ok(Json(json!({ "imports": list })))
}
