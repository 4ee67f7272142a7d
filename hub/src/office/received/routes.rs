//! HTTP routes for clerks: received dossiers, their photos, and import reports (office mode).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use super::store;
use crate::shared::auth::Clerks;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, read, photo, imports),
    components(schemas(ListOut, DossierOut, Deadline, HistoryEntry, ImportsOut))
)]
pub struct ApiDoc;

/// A page of received dossiers, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct ListOut {
    dossiers: Vec<store::ListRow>,
    /// The cursor of the next page, or null on the last.
    next_cursor: Option<String>,
    /// Dossiers matching the filters, all pages.
    total: i64,
}

/// A dossier's deadline as the clerk sees it today.
#[derive(Serialize, utoipa::ToSchema)]
struct Deadline {
    #[schema(format = Date)]
    received_on: String,
    #[schema(format = Date)]
    due_on: String,
    extended: bool,
    /// Working days from today until `due_on` (negative when overdue; null if `due_on` is unreadable).
    working_days_left: Option<i64>,
    overdue: bool,
    /// The legal limit in working days that applies (the extended one with `extended`).
    limit_working_days: u32,
}

/// One entry of a dossier's history: an audit entry (`kind: audit`: `id, at, actor_id, actor_name,
/// dossier_id, action, from_status, to_status, detail`) or a published news item (`kind: news`: the news
/// fields and `at` = `published_at`).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: built from the audit log and the news
enum HistoryEntry {
    Audit(AuditDoc),
    News(NewsHistoryDoc),
}

/// An audit entry (`shared::audit::Entry`).
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
struct AuditDoc {
    id: i64,
    #[schema(format = DateTime)]
    at: String,
    actor_id: Option<String>,
    actor_name: String,
    dossier_id: Option<String>,
    /// What happened, e.g. `status_changed`, `deadline_extended`, `received`.
    action: String,
    from_status: Option<String>,
    to_status: Option<String>,
    /// The action's details (free-form: each action records its own, e.g. `{reason, due_on_before, due_on}`).
    #[schema(value_type = Object)]
    detail: (),
}

/// A published news item in the history.
#[derive(Serialize, utoipa::ToSchema)]
#[allow(dead_code)] // documentation only
struct NewsHistoryDoc {
    #[serde(flatten)]
    news: crate::office::news::store::PublishedNews,
    #[schema(format = DateTime)]
    at: String,
}

/// One received dossier: its summary, fields, photos and checks, with its casework standing, deadline
/// and history. `status` and `deadline` are absent while the dossier has no casework row.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documentation only: `read` builds the same shape (checked by a test)
struct DossierOut {
    #[serde(flatten)]
    dossier: store::ReceivedDossier,
    deadline: Option<Deadline>,
    status: Option<crate::office::casework::status::Standing>,
    /// Audit entries and news, oldest first.
    history: Vec<HistoryEntry>,
}

/// The reports of the batch imports done at this office, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct ImportsOut {
    #[schema(value_type = Vec<crate::office::intake::batch_import::ImportReport>)]
    imports: Vec<serde_json::Value>,
}

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

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only dossiers of this procedure id.
    #[serde(default)]
    procedure: Option<String>,
    /// Only dossiers in this casework status (empty or blank: any).
    #[serde(default)]
    #[param(
        pattern = r"^\s*(received|in_progress|needs_papers|registered|ready_for_pickup|handed_over|rejected)?\s*$"
    )]
    status: Option<String>,
    /// Only dossiers sealed on this field device.
    #[serde(default)]
    device: Option<String>,
    /// Only dossiers of this outreach session.
    #[serde(default)]
    session: Option<String>,
    /// Free-text search (applicant name, receipt number).
    #[serde(default)]
    q: Option<String>,
    /// Page size, 1 to 200 (default 200).
    #[serde(default)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

/// Received dossiers, newest first, filtered and paged.
///
/// `GET /api/v1/office/dossiers?procedure=&status=&device=&session=&q=&limit=&cursor=`: newest first, at
/// most `limit` (≤ 200, default 200) per page; `next_cursor` for the next page; `total` matching.
#[utoipa::path(
    get,
    path = "/api/v1/office/dossiers",
    operation_id = "office_list",
    tag = "office",
    security(("session" = ["clerk", "admin"])),
    params(ListParams),
    responses(
        (status = 200, body = ListOut),
        (status = 400, description = "Bad query string", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::GatedReadErrors,
        (status = 422, description = "Unknown `status`", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn list(
    State(st): State<AppState>,
    Clerks(_user): Clerks,
    Query(p): Query<ListParams>,
) -> Result<Json<ListOut>, ApiError> {
    let empty = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let status = empty(p.status);
    if let Some(s) = &status {
        if !crate::office::casework::store::STATUSES.contains(&s.as_str()) {
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
    Ok(Json(ListOut {
        dossiers: list,
        next_cursor: next,
        total,
    }))
}

/// One received dossier with its casework status, deadline and history.
///
/// `GET /api/v1/office/dossiers/{id}`: the dossier, its `status`, `deadline` and `history` (audit + news).
#[utoipa::path(
    get,
    path = "/api/v1/office/dossiers/{id}",
    operation_id = "office_read",
    tag = "office",
    security(("session" = ["clerk", "admin"])),
    params(("id" = String, Path, description = "Dossier id")),
    responses(
        (status = 200, body = DossierOut),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such dossier", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn read(
    State(st): State<AppState>,
    Clerks(_user): Clerks,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let found = st
        .db
        .call(move |c| {
            let Some(d) = store::get(c, &id)? else {
                return Ok(None);
            };
            let standing = crate::office::casework::status::standing(c, &id)?;
            let audit = crate::shared::audit::for_dossier(c, &id)?;
            let news = crate::office::news::store::dossier_news(c, &id)?;
            let rules = crate::office::casework::store::rules(c)?;
            Ok(Some((d, standing, audit, news, rules)))
        })
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))?;
    let (d, standing, audit, news, rules) = found;
    let hol = &rules.calendar;
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
        use crate::office::casework::deadline as dl;
        let today = crate::shared::clock::today_vn();
        let due = dl::parse_date(&s.due_on);
        let deadline = Deadline {
            received_on: s.received_on.clone(),
            due_on: s.due_on.clone(),
            extended: s.extended,
            working_days_left: due.map(|d| dl::working_days_between(today, d, hol)),
            overdue: s.closed_at.is_none() && due.is_some_and(|d| d < today),
            limit_working_days: crate::office::casework::store::limit_days(
                &rules,
                &d.summary.procedure.id,
                d.summary.procedure.version as i64,
                s.extended,
            ),
        };
        out["deadline"] = serde_json::to_value(deadline).map_err(ApiError::internal)?;
        out["status"] = serde_json::to_value(&s).map_err(ApiError::internal)?;
    }
    out["history"] = json!(history);
    Ok(Json(out))
}

/// A photo attached to a received dossier, as stored (JPEG, PNG or WebP).
#[utoipa::path(
    get,
    path = "/api/v1/office/dossiers/{id}/attachments/{index}",
    operation_id = "office_photo",
    tag = "office",
    security(("session" = ["clerk", "admin"])),
    params(
        ("id" = String, Path, description = "Dossier id"),
        ("index" = i64, Path, description = "Attachment index in the dossier"),
    ),
    responses(
        (status = 200, description = "The photo's bytes, with its media type", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such dossier or photo", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn photo(
    State(st): State<AppState>,
    Clerks(_user): Clerks,
    Path((id, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let index: i64 = index
        .parse()
        .map_err(|_| ApiError::not_found("ảnh", "Photo"))?;
    let found = st
        .db
        .call(move |c| store::attachment(c, &id, index))
        .await?;
    crate::shared::media::photo_response(found)
}

/// Reports of the batch imports done at this office, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/office/imports",
    operation_id = "office_imports",
    tag = "office",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = ImportsOut),
        crate::shared::api_doc::GatedReadErrors,
    )
)]
async fn imports(
    State(st): State<AppState>,
    Clerks(_user): Clerks,
) -> Result<Json<ImportsOut>, ApiError> {
    let list = st
        .db
        .call(|c| crate::office::intake::batch_import::list_reports(c))
        .await?;
    Ok(Json(ImportsOut { imports: list }))
}
