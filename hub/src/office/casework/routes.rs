//! HTTP routes of casework (office mode, clerks): status changes, work lists with deadlines, holidays.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::status::{self, ChangeError, StatusBody};
use super::{deadline, store};
use crate::shared::audit::Actor;
use crate::shared::auth::{AdminOnly, Clerks};
use crate::shared::error::{ApiError, FieldDetail, JsonBody};
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(change_status, work, holidays, add_holiday, remove_holiday),
    components(schemas(
        StatusBody,
        HolidayBody,
        StatusOut,
        WorkOut,
        HolidaysOut,
        HolidayAdded,
        HolidayRemoved
    ))
)]
pub struct ApiDoc;

/// A dossier's standing after a status change.
#[derive(Serialize, utoipa::ToSchema)]
struct StatusOut {
    status: status::Standing,
}

/// A page of the clerks' work list.
#[derive(Serialize, utoipa::ToSchema)]
struct WorkOut {
    /// The view asked for (`overdue`, `due_soon`, `open` or `status:<status>`), as given: empty when the
    /// query gave an empty one (the open list).
    #[schema(
        pattern = "^(|overdue|due_soon|open|status:(received|in_progress|needs_papers|registered|ready_for_pickup|handed_over|rejected))$"
    )]
    view: String,
    dossiers: Vec<store::WorkRow>,
    /// The cursor of the next page, or null on the last.
    next_cursor: Option<String>,
    /// Dossier counts by view and status (`overdue`, `due_soon`, `open`, `status:<status>`, …).
    counts: BTreeMap<String, i64>,
    /// Today in Vietnam.
    #[schema(format = Date)]
    today: String,
}

/// The days off deadlines skip, by date.
#[derive(Serialize, utoipa::ToSchema)]
struct HolidaysOut {
    holidays: Vec<store::Holiday>,
}

/// A day off added.
#[derive(Serialize, utoipa::ToSchema)]
struct HolidayAdded {
    /// Days added (0 or 1).
    added: usize,
    /// Open dossiers whose deadline moved.
    deadlines_moved: usize,
}

/// A day off removed.
#[derive(Serialize, utoipa::ToSchema)]
struct HolidayRemoved {
    /// Always true.
    removed: bool,
    /// Open dossiers whose deadline moved.
    deadlines_moved: usize,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/dossiers/{id}/status", post(change_status))
        .route("/api/v1/office/work", get(work))
        .route("/api/v1/office/holidays", get(holidays).post(add_holiday))
        .route("/api/v1/office/holidays/{date}", delete(remove_holiday))
}

fn change_error(e: ChangeError) -> ApiError {
    match e {
        ChangeError::NotFound => ApiError::not_found("hồ sơ", "Dossier"),
        ChangeError::Transition { from, to } => ApiError::new(
            StatusCode::CONFLICT,
            "bad_transition",
            format!("Không thể chuyển hồ sơ từ “{from}” sang “{to}”."),
            format!("A dossier cannot go from “{from}” to “{to}”."),
        )
        .with_field("to"),
        ChangeError::Stale { current } => ApiError::new(
            StatusCode::CONFLICT,
            "stale_version",
            format!(
                "Hồ sơ vừa được người khác cập nhật (phiên bản {current}). Hãy tải lại trang rồi làm lại."
            ),
            format!(
                "Someone else has just updated this dossier (version {current}). Reload the page and try again."
            ),
        )
        .with_field("expected_version"),
        ChangeError::Invalid(details) => ApiError::validation(details),
        ChangeError::Store(e) => e.into(),
    }
}

/// Changes a dossier's casework status (audited; signed status news where the villager should know).
#[utoipa::path(
    post,
    path = "/api/v1/office/dossiers/{id}/status",
    operation_id = "casework_change_status",
    tag = "casework",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Dossier id")),
    request_body = StatusBody,
    responses(
        (status = 200, description = "The dossier's new standing", body = StatusOut),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 404, description = "No such dossier", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Transition not allowed, or `expected_version` is stale", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "A field of the status form is invalid", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn change_status(
    State(st): State<AppState>,
    Clerks(user): Clerks,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<StatusBody>,
) -> Result<Json<StatusOut>, ApiError> {
    let state = st.clone();
    let result = st
        .db
        .call(move |c| {
            Ok(status::change(
                c,
                &state.keys.device,
                Actor::user(&user.id, &user.name),
                &id,
                &body,
            ))
        })
        .await?;
    let standing = result.map_err(change_error)?;
    Ok(Json(StatusOut { status: standing }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct WorkQuery {
    /// `overdue`, `due_soon`, `open` (default; also when empty) or `status:<status>`.
    #[serde(default)]
    #[param(
        pattern = "^(|overdue|due_soon|open|status:(received|in_progress|needs_papers|registered|ready_for_pickup|handed_over|rejected))$"
    )]
    view: Option<String>,
    /// Only dossiers of this procedure id.
    #[serde(default)]
    procedure: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    #[serde(default)]
    cursor: Option<String>,
}

/// The clerks' work list: open dossiers with their deadlines, by view, with counts per view.
///
/// `GET /api/v1/office/work?view=overdue|due_soon|open|status:<s>&procedure=&limit=&cursor=`.
#[utoipa::path(
    get,
    path = "/api/v1/office/work",
    operation_id = "casework_work",
    tag = "casework",
    security(("session" = ["clerk", "admin"])),
    params(WorkQuery),
    responses(
        (status = 200, body = WorkOut),
        (status = 400, description = "Bad query string", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::GatedReadErrors,
        (status = 422, description = "Unknown `view`", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn work(
    State(st): State<AppState>,
    _user: Clerks,
    Query(q): Query<WorkQuery>,
) -> Result<Json<WorkOut>, ApiError> {
    let view_s = q.view.clone().unwrap_or_else(|| "open".into());
    let view = store::View::parse(&view_s).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_view",
            "Danh sách không hợp lệ (overdue, due_soon, open, status:<tình trạng>).",
            "Unknown list (overdue, due_soon, open, status:<status>).",
        )
        .with_field("view")
    })?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let procedure = q.procedure.filter(|p| !p.is_empty());
    let cursor = q.cursor.filter(|c| !c.is_empty());
    let (rows, next, counts) = st
        .db
        .call(move |c| {
            let (rows, next) =
                store::work(c, &view, procedure.as_deref(), limit, cursor.as_deref())?;
            let counts = store::work_counts(c, procedure.as_deref())?;
            Ok((rows, next, counts))
        })
        .await?;
    Ok(Json(WorkOut {
        view: view_s,
        dossiers: rows,
        next_cursor: next,
        counts,
        today: deadline::fmt_date(crate::shared::clock::today_vn()),
    }))
}

/// The public holidays and days off that deadlines skip.
#[utoipa::path(
    get,
    path = "/api/v1/office/holidays",
    operation_id = "casework_holidays",
    tag = "casework",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = HolidaysOut),
        crate::shared::api_doc::GatedReadErrors,
    )
)]
async fn holidays(
    State(st): State<AppState>,
    _user: Clerks,
) -> Result<Json<HolidaysOut>, ApiError> {
    let list = st.db.call(|c| store::list_holidays(c)).await?;
    Ok(Json(HolidaysOut { holidays: list }))
}

/// A day off to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct HolidayBody {
    /// `YYYY-MM-DD`, a year from 1900 to 2199.
    #[schema(value_type = String, format = Date, pattern = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
    date: Value,
    /// One line of 1–100 characters, some of them visible; no control characters.
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$")]
    name: Value,
}

/// Checks a holiday's date and name.
pub fn parse_holiday(date: &Value, name: &Value) -> Result<(time::Date, String), Vec<FieldDetail>> {
    let mut errs = Vec::new();
    let d = date
        .as_str()
        .map(str::trim)
        .and_then(deadline::parse_date)
        .filter(|d| (1900..=2199).contains(&d.year()));
    if d.is_none() {
        errs.push(FieldDetail {
            field: "date".into(),
            code: "bad_date".into(),
            message_vi: "Ngày không hợp lệ (năm-tháng-ngày, năm 1900–2199, ví dụ 2027-02-06)."
                .into(),
            message_en:
                "Not a valid date (year-month-day, a year from 1900 to 2199, e.g. 2027-02-06)."
                    .into(),
        });
    }
    // Length and control characters as sent (a newline trimmed away is still a newline sent).
    let raw = name.as_str().unwrap_or_default();
    let n = unicode_normalization::UnicodeNormalization::nfc(raw.trim()).collect::<String>();
    if n.is_empty() || raw.chars().count() > 100 || raw.chars().any(char::is_control) {
        errs.push(FieldDetail {
            field: "name".into(),
            code: "bad_name".into(),
            message_vi: "Hãy ghi tên ngày nghỉ (một dòng, tối đa 100 ký tự).".into(),
            message_en: "Give the day off a name (one line, at most 100 characters).".into(),
        });
    }
    match d {
        Some(d) if errs.is_empty() => Ok((d, n)),
        _ => Err(errs),
    }
}

/// Adds a day off (admin); open dossiers' deadlines move accordingly.
///
/// `POST /api/v1/office/holidays` `{date, name}`.
#[utoipa::path(
    post,
    path = "/api/v1/office/holidays",
    operation_id = "casework_add_holiday",
    tag = "casework",
    security(("session" = ["admin"], "csrf" = [])),
    request_body = HolidayBody,
    responses(
        (status = 201, body = HolidayAdded),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 422, description = "Invalid date or name", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn add_holiday(
    State(st): State<AppState>,
    AdminOnly(user): AdminOnly,
    JsonBody(body): JsonBody<HolidayBody>,
) -> Result<(StatusCode, Json<HolidayAdded>), ApiError> {
    let (d, name) = parse_holiday(&body.date, &body.name).map_err(ApiError::validation)?;
    let (added, moved) = st
        .db
        .call(move |c| store::add_holidays(c, Actor::user(&user.id, &user.name), &[(d, name)]))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(HolidayAdded {
            added,
            deadlines_moved: moved,
        }),
    ))
}

/// Removes a day off (admin); open dossiers' deadlines move accordingly.
#[utoipa::path(
    delete,
    path = "/api/v1/office/holidays/{date}",
    operation_id = "casework_remove_holiday",
    tag = "casework",
    security(("session" = ["admin"], "csrf" = [])),
    params(("date" = String, Path, description = "The day off, `YYYY-MM-DD`")),
    responses(
        (status = 200, body = HolidayRemoved),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such day off", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn remove_holiday(
    State(st): State<AppState>,
    AdminOnly(user): AdminOnly,
    Path(date): Path<String>,
) -> Result<Json<HolidayRemoved>, ApiError> {
    let d =
        deadline::parse_date(&date).ok_or_else(|| ApiError::not_found("ngày nghỉ", "Holiday"))?;
    let moved = st
        .db
        .call(move |c| store::remove_holiday(c, Actor::user(&user.id, &user.name), d))
        .await?
        .ok_or_else(|| ApiError::not_found("ngày nghỉ", "Holiday"))?;
    Ok(Json(HolidayRemoved {
        removed: true,
        deadlines_moved: moved,
    }))
}
