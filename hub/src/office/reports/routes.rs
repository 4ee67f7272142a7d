//! HTTP routes of reports (office mode, clerks): period and session figures as JSON, charts as SVG,
//! tables as CSV.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::store::{self, Scope};
use super::{charts, tables};
use crate::shared::auth::Clerks;
use crate::shared::clock;
use crate::shared::error::{ApiError, FieldDetail};
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(period, session, chart, csv),
    components(schemas(PeriodOut, SessionOut))
)]
pub struct ApiDoc;

/// A period's report.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReportPeriod)]
struct PeriodOut {
    figures: store::Figures,
    /// The period's sessions, newest first, at most `sessions_limit`.
    sessions: Vec<store::SessionRow>,
    sessions_limit: usize,
    /// Every hamlet sessions were held in (for the filter).
    hamlets: Vec<String>,
    /// The charts available (`/api/v1/office/reports/charts/{name}.svg`).
    charts: &'static [&'static str],
}

/// One outreach session's report.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ReportSession)]
struct SessionOut {
    figures: store::Figures,
    /// The session's summary row; null when only dossiers of it were received (no summary yet).
    session: Option<store::SessionRow>,
    /// Dossiers the summary lists; null without a summary.
    dossiers_expected: Option<u64>,
    dossiers_received: u64,
    charts: &'static [&'static str],
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/reports", get(period))
        .route(
            "/api/v1/office/reports/session/{device}/{session}",
            get(session),
        )
        .route("/api/v1/office/reports/charts/{file}", get(chart))
        .route("/api/v1/office/reports/{file}", get(csv))
}

/// `?from=&to=&hamlet=` for a period (default: this month), or `?device=&session=` for one session.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day of the period, `YYYY-MM-DD` (default, also when empty: the first of this month).
    #[param(pattern = r"^\s*((19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?\s*$")]
    from: Option<String>,
    /// Last day of the period, `YYYY-MM-DD` (default: the end of this month); not before `from`, at most
    /// 5 years after it.
    #[param(pattern = r"^\s*((19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?\s*$")]
    to: Option<String>,
    /// Only sessions held in this hamlet (at most 200 characters).
    #[param(max_length = 200)]
    hamlet: Option<String>,
    /// With `session`: one session's figures instead of a period's (field device id).
    device: Option<String>,
    /// With `device`: the session id.
    session: Option<String>,
}

fn bad(field: &str, vi: &str, en: &str) -> FieldDetail {
    FieldDetail {
        field: field.into(),
        code: "invalid".into(),
        message_vi: vi.into(),
        message_en: en.into(),
    }
}

/// The first and last day of the current month in Vietnam.
fn this_month() -> (time::Date, time::Date) {
    let today = clock::today_vn();
    let first = today.replace_day(1).unwrap_or(today);
    let last = first
        .replace_day(first.month().length(first.year()))
        .unwrap_or(today);
    (first, last)
}

/// Checks the query and makes the report's scope.
fn scope_of(q: ReportQuery) -> Result<Scope, ApiError> {
    let clean = |s: Option<String>| s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (device, session) = (clean(q.device), clean(q.session));
    // The length as sent, before trimming: what the schema's `maxLength` says.
    if q.hamlet.as_ref().is_some_and(|h| h.chars().count() > 200) {
        return Err(ApiError::validation(vec![bad(
            "hamlet",
            "Tên thôn, ấp quá dài.",
            "The hamlet name is too long.",
        )]));
    }
    let hamlet = clean(q.hamlet);
    // The days are checked in either scope (a period's, or one session's that leaves them out): a bad
    // value is never silently ignored.
    let (first, last) = this_month();
    let mut errs = Vec::new();
    let mut day = |field: &str, v: Option<String>, default: time::Date| match v {
        None => Some(default),
        Some(v) => {
            let d = protocol::parse_date(&v).filter(|d| (1900..=2199).contains(&d.year()));
            if d.is_none() {
                errs.push(bad(
                    field,
                    "Ngày phải có dạng năm-tháng-ngày (YYYY-MM-DD), năm 1900–2199.",
                    "The date must look like YYYY-MM-DD, a year from 1900 to 2199.",
                ));
            }
            d
        }
    };
    let from = day("from", clean(q.from), first);
    let to = day("to", clean(q.to), last);
    if let (Some(d), Some(s)) = (&device, &session) {
        if !errs.is_empty() {
            return Err(ApiError::validation(errs));
        }
        if d.len() > 100 || s.len() > 100 {
            return Err(ApiError::not_found("buổi lưu động", "Session"));
        }
        return Ok(Scope {
            from: None,
            to: None,
            hamlet: None,
            session: Some((d.clone(), s.clone())),
        });
    }
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            errs.push(bad(
                "to",
                "Ngày kết thúc phải sau ngày bắt đầu.",
                "The end date must not be before the start date.",
            ));
        } else if (t - f).whole_days() > 366 * 5 {
            errs.push(bad(
                "to",
                "Khoảng thời gian tối đa 5 năm.",
                "The period is at most 5 years.",
            ));
        }
    }
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::validation(errs));
    };
    Ok(Scope {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        hamlet,
        session: None,
    })
}

/// A period's figures (or one session's with `device` and `session`), its sessions and the hamlets.
#[utoipa::path(
    get,
    path = "/api/v1/office/reports",
    operation_id = "reports_period",
    tag = "reports",
    security(("session" = ["clerk", "admin"])),
    params(ReportQuery),
    responses(
        (status = 200, body = PeriodOut),
        (status = 400, description = "Bad query string", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "Session ids too long", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Bad date, period or hamlet", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn period(
    State(st): State<AppState>,
    _user: Clerks,
    Query(q): Query<ReportQuery>,
) -> Result<Json<PeriodOut>, ApiError> {
    let scope = scope_of(q)?;
    let (figures, sessions, hamlets) = st
        .db
        .call(move |c| {
            let hamlets: Vec<String> = c
                .prepare("SELECT DISTINCT hamlet FROM session_summaries ORDER BY hamlet LIMIT 500")?
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok((
                super::memo::figures(c, &scope)?,
                store::sessions(c, &scope)?,
                hamlets,
            ))
        })
        .await?;
    Ok(Json(PeriodOut {
        figures,
        sessions,
        sessions_limit: store::MAX_SESSIONS_LISTED,
        hamlets,
        charts: tables::CHARTS,
    }))
}

/// One outreach session's figures, with dossiers expected (field summary) and received.
#[utoipa::path(
    get,
    path = "/api/v1/office/reports/session/{device}/{session}",
    operation_id = "reports_session",
    tag = "reports",
    security(("session" = ["clerk", "admin"])),
    params(
        ("device" = String, Path, description = "Field device id"),
        ("session" = String, Path, description = "Outreach session id"),
    ),
    responses(
        (status = 200, body = SessionOut),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn session(
    State(st): State<AppState>,
    _user: Clerks,
    Path((device, session)): Path<(String, String)>,
) -> Result<Json<SessionOut>, ApiError> {
    let scope = scope_of(ReportQuery {
        device: Some(device),
        session: Some(session),
        ..ReportQuery::default()
    })?;
    let Some((device, session)) = scope.session.clone() else {
        return Err(ApiError::not_found("buổi lưu động", "Session"));
    };
    let (figures, row, received) = st
        .db
        .call(move |c| {
            let row = store::sessions(c, &scope)?.into_iter().next();
            Ok((
                super::memo::figures(c, &scope)?,
                row,
                store::session_received(c, &device, &session)?,
            ))
        })
        .await?;
    if row.is_none() && received == 0 {
        return Err(ApiError::not_found("buổi lưu động", "Session"));
    }
    Ok(Json(SessionOut {
        figures,
        dossiers_expected: row.as_ref().map(|r| r.dossiers_expected),
        session: row,
        dossiers_received: received,
        charts: tables::CHARTS,
    }))
}

/// Splits `name.ext`, answering 404 for another extension or an unknown figure.
fn figure_name(file: &str, ext: &str) -> Result<String, ApiError> {
    file.strip_suffix(ext)
        .filter(|n| tables::is_table(n))
        .map(str::to_owned)
        .ok_or_else(|| ApiError::not_found("bảng số liệu", "Report table"))
}

/// A report figure drawn as an SVG bar chart, for a period or one session.
#[utoipa::path(
    get,
    path = "/api/v1/office/reports/charts/{file}",
    operation_id = "reports_chart",
    tag = "reports",
    security(("session" = ["clerk", "admin"])),
    params(("file" = String, Path, description = "`<chart>.svg`, a chart named in `charts`"), ReportQuery),
    responses(
        (status = 200, description = "The chart", content_type = "image/svg+xml; charset=utf-8", body = String),
        (status = 400, description = "Bad query string", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such chart", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Bad date, period or hamlet", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn chart(
    State(st): State<AppState>,
    _user: Clerks,
    Path(file): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let name = figure_name(&file, ".svg")?;
    let scope = scope_of(q)?;
    let figures = st.db.call(move |c| super::memo::figures(c, &scope)).await?;
    let bars =
        tables::chart(&name, &figures).ok_or_else(|| ApiError::not_found("biểu đồ", "Chart"))?;
    let svg = tokio::task::spawn_blocking(move || charts::svg(&bars))
        .await
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        svg,
    )
        .into_response())
}

/// A report table as a CSV attachment, for a period or one session.
#[utoipa::path(
    get,
    path = "/api/v1/office/reports/{file}",
    operation_id = "reports_csv",
    tag = "reports",
    security(("session" = ["clerk", "admin"])),
    params(("file" = String, Path, description = "`<table>.csv`, a report table's name"), ReportQuery),
    responses(
        (status = 200, description = "The table", content_type = "text/csv; charset=utf-8", body = String),
        (status = 400, description = "Bad query string", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such table", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Bad date, period or hamlet", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn csv(
    State(st): State<AppState>,
    _user: Clerks,
    Path(file): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let name = figure_name(&file, ".csv")?;
    let scope = scope_of(q)?;
    let label = match &scope.session {
        Some((_, s)) => format!(
            "buoi-{}",
            s.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(8)
                .collect::<String>()
        ),
        None => format!(
            "{}_{}",
            scope.from.clone().unwrap_or_default(),
            scope.to.clone().unwrap_or_default()
        ),
    };
    let (figures, sessions) = st
        .db
        .call(move |c| {
            Ok((
                super::memo::figures(c, &scope)?,
                store::sessions(c, &scope)?,
            ))
        })
        .await?;
    let table = tables::table(&name, &figures, &sessions)
        .ok_or_else(|| ApiError::not_found("bảng số liệu", "Report table"))?;
    let disposition = format!("attachment; filename=\"bao-cao_{name}_{label}.csv\"");
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        tables::csv(&table),
    )
        .into_response())
}
