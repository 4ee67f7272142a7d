//! HTTP routes of reconciliation (office mode, clerks): the ledger per device, expected vs received per
//! session, and duplicates with their decisions.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{devices, duplicates, expected};
use crate::shared::audit::Actor;
use crate::shared::auth::Clerks;
use crate::shared::clock;
use crate::shared::error::{ApiError, FieldDetail, JsonBody};
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(overview, sessions, device, duplicates_list, decision),
    components(schemas(Decision, OverviewOut, DuplicatesOut, DecisionOut, DecisionKind))
)]
pub struct ApiDoc;

/// The ledger of every paired field device.
#[derive(Serialize, utoipa::ToSchema)]
struct OverviewOut {
    devices: Vec<devices::DeviceRow>,
    /// Every device's envelopes all received (nothing missing, nothing set aside).
    complete: bool,
}

/// A page of duplicate pairs.
#[derive(Serialize, utoipa::ToSchema)]
struct DuplicatesOut {
    /// Pairs in all.
    total: usize,
    offset: usize,
    pairs: Vec<duplicates::Pair>,
}

/// `merge` (one dossier stays) or `keep` (both stay).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: the decision travels as a string
enum DecisionKind {
    Merge,
    Keep,
}

/// A decision as recorded.
#[derive(Serialize, utoipa::ToSchema)]
struct DecisionOut {
    a: String,
    b: String,
    #[schema(value_type = DecisionKind)]
    decision: String,
    /// With `merge`: the dossier that stays; null with `keep`.
    kept: Option<String>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/ledger", get(overview))
        .route("/api/v1/office/ledger/sessions", get(sessions))
        .route("/api/v1/office/ledger/{device}", get(device))
        .route("/api/v1/office/duplicates", get(duplicates_list))
        .route("/api/v1/office/duplicates/decision", post(decision))
}

/// `GET /api/v1/office/ledger/{device}`: a page of a device's seqs. Parsed by hand so that a bad value
/// gets the usual JSON error; an empty value is the default.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeviceParams {
    /// First seq of the page (default 1).
    #[param(pattern = "^[0-9]{0,18}$")]
    from: Option<String>,
    /// Page size (default and at most 500).
    #[param(pattern = "^[0-9]{0,18}$")]
    limit: Option<String>,
}

/// `GET /api/v1/office/ledger/sessions`: sessions held in a period (days in Vietnam's calendar).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SessionParams {
    /// First day, `YYYY-MM-DD` (default 30 days ago); not after `to`.
    #[param(pattern = "^((19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$")]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default today).
    #[param(pattern = "^((19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$")]
    to: Option<String>,
    /// Rows to skip (default 0).
    #[param(pattern = "^[0-9]{0,18}$")]
    offset: Option<String>,
    /// Page size (default and at most the report's maximum).
    #[param(pattern = "^[0-9]{0,18}$")]
    limit: Option<String>,
}

/// `GET /api/v1/office/duplicates`: a page of pairs.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PageParams {
    /// Rows to skip (default 0).
    #[param(pattern = "^[0-9]{0,18}$")]
    offset: Option<String>,
    /// Page size (default 50).
    #[param(pattern = "^[0-9]{0,18}$")]
    limit: Option<String>,
}

fn bad(field: &str, vi: &str, en: &str) -> ApiError {
    ApiError::validation(vec![FieldDetail {
        field: field.into(),
        code: "invalid".into(),
        message_vi: vi.into(),
        message_en: en.into(),
    }])
}

fn number(v: &Option<String>, field: &str, default: u64) -> Result<u64, ApiError> {
    match v.as_deref() {
        None | Some("") => Ok(default),
        Some(s) => s.parse().map_err(|_| {
            bad(
                field,
                "Phải là một số nguyên không âm.",
                "Must be a whole number, 0 or more.",
            )
        }),
    }
}

fn date(v: &Option<String>, field: &str, default: String) -> Result<String, ApiError> {
    match v.as_deref() {
        None | Some("") => Ok(default),
        Some(s)
            if protocol::validate::parse_date(s)
                .is_some_and(|d| (1900..=2199).contains(&d.year())) =>
        {
            Ok(s.to_string())
        }
        Some(_) => Err(bad(
            field,
            "Ngày phải có dạng NNNN-TT-NN, năm 1900–2199.",
            "The date must be YYYY-MM-DD, a year from 1900 to 2199.",
        )),
    }
}

/// The ledger of every paired field device: envelopes expected, received, missing, set aside.
#[utoipa::path(
    get,
    path = "/api/v1/office/ledger",
    operation_id = "ledger_overview",
    tag = "ledger",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = OverviewOut),
        crate::shared::api_doc::GatedReadErrors,
    )
)]
async fn overview(
    State(st): State<AppState>,
    _user: Clerks,
) -> Result<Json<OverviewOut>, ApiError> {
    let devices = st.db.call(|c| devices::overview(c)).await?;
    let complete = devices.iter().all(|d| d.complete);
    Ok(Json(OverviewOut { devices, complete }))
}

/// One device's ledger: its overview row, runs of seqs, and a page of per-seq rows.
#[utoipa::path(
    get,
    path = "/api/v1/office/ledger/{device}",
    operation_id = "ledger_device",
    tag = "ledger",
    security(("session" = ["clerk", "admin"])),
    params(("device" = String, Path, description = "Field device id"), DeviceParams),
    responses(
        (status = 200, body = devices::DeviceLedger),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such device", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`from` or `limit` not a whole number", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn device(
    State(st): State<AppState>,
    _user: Clerks,
    Path(device): Path<String>,
    Query(q): Query<DeviceParams>,
) -> Result<Json<devices::DeviceLedger>, ApiError> {
    let from = number(&q.from, "from", 1)?;
    let limit = number(&q.limit, "limit", devices::MAX_PAGE)?;
    st.db
        .call(move |c| devices::ledger(c, &device, from, limit))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("thiết bị", "Device"))
}

/// Outreach sessions in a period: dossiers expected (from the field's summaries) against received.
#[utoipa::path(
    get,
    path = "/api/v1/office/ledger/sessions",
    operation_id = "ledger_sessions",
    tag = "ledger",
    security(("session" = ["clerk", "admin"])),
    params(SessionParams),
    responses(
        (status = 200, body = expected::SessionsReport),
        crate::shared::api_doc::GatedReadErrors,
        (status = 422, description = "Bad date, period or number", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn sessions(
    State(st): State<AppState>,
    _user: Clerks,
    Query(q): Query<SessionParams>,
) -> Result<Json<expected::SessionsReport>, ApiError> {
    let today = clock::today_vn();
    let from = date(
        &q.from,
        "from",
        (today - time::Duration::days(30)).to_string(),
    )?;
    let to = date(&q.to, "to", today.to_string())?;
    if from > to {
        return Err(bad(
            "to",
            "Ngày kết thúc phải sau ngày bắt đầu.",
            "The end date must not be before the start date.",
        ));
    }
    let offset = number(&q.offset, "offset", 0)? as usize;
    let limit = number(&q.limit, "limit", expected::MAX_SESSIONS as u64)? as usize;
    let r = st
        .db
        .call(move |c| expected::sessions(c, &from, &to, offset, limit))
        .await?;
    Ok(Json(r))
}

/// Pairs of dossiers that look like duplicates, with any decision taken.
#[utoipa::path(
    get,
    path = "/api/v1/office/duplicates",
    operation_id = "ledger_duplicates_list",
    tag = "ledger",
    security(("session" = ["clerk", "admin"])),
    params(PageParams),
    responses(
        (status = 200, body = DuplicatesOut),
        crate::shared::api_doc::GatedReadErrors,
        (status = 422, description = "`offset` or `limit` not a whole number", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn duplicates_list(
    State(st): State<AppState>,
    _user: Clerks,
    Query(q): Query<PageParams>,
) -> Result<Json<DuplicatesOut>, ApiError> {
    let offset = number(&q.offset, "offset", 0)? as usize;
    let limit = number(&q.limit, "limit", 50)? as usize;
    let (total, pairs) = st
        .db
        .call(move |c| duplicates::list(c, offset, limit))
        .await?;
    Ok(Json(DuplicatesOut {
        total,
        offset,
        pairs,
    }))
}

/// A decision on a duplicate pair: `merge` (keeping `kept`, one of the two) or `keep` (both).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Decision {
    /// The two dossier ids of the pair (different; a pair `GET /api/v1/office/duplicates` lists).
    #[schema(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    a: String,
    #[schema(pattern = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    b: String,
    /// `merge` or `keep`.
    #[schema(value_type = DecisionKind)]
    decision: String,
    /// With `merge`: the dossier that stays (`a` or `b`).
    #[serde(default)]
    kept: Option<String>,
    /// At most 1000 characters.
    #[serde(default)]
    #[schema(max_length = 1000)]
    note: Option<String>,
}

/// Records a clerk's decision on a duplicate pair (once per pair; audited).
#[utoipa::path(
    post,
    path = "/api/v1/office/duplicates/decision",
    operation_id = "ledger_decision",
    tag = "ledger",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    request_body = Decision,
    responses(
        (status = 201, description = "The decision as recorded", body = DecisionOut),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 404, description = "No such dossier", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Already decided, or not a listed pair", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Invalid decision, `kept` or note", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn decision(
    State(st): State<AppState>,
    Clerks(user): Clerks,
    JsonBody(d): JsonBody<Decision>,
) -> Result<(StatusCode, Json<DecisionOut>), ApiError> {
    // The length as sent, before trimming: what the schema's `maxLength` says.
    if d.note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(bad(
            "note",
            "Ghi chú tối đa 1000 ký tự.",
            "The note is at most 1000 characters.",
        ));
    }
    let note = d
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if d.a == d.b {
        return Err(bad(
            "b",
            "Hãy chọn hai hồ sơ khác nhau.",
            "Choose two different dossiers.",
        ));
    }
    let kept = match (d.decision.as_str(), d.kept.as_deref()) {
        ("merge", Some(k)) if k == d.a || k == d.b => Some(k.to_string()),
        ("merge", _) => {
            return Err(bad(
                "kept",
                "Hãy chọn hồ sơ được giữ lại (một trong hai hồ sơ).",
                "Choose which dossier stays (one of the two).",
            ))
        }
        ("keep", None) => None,
        ("keep", Some(_)) => {
            return Err(bad(
                "kept",
                "\"Giữ cả hai\" không chọn hồ sơ nào.",
                "\"Keep both\" takes no dossier to keep.",
            ))
        }
        _ => {
            return Err(bad(
                "decision",
                "Quyết định phải là \"merge\" hoặc \"keep\".",
                "The decision must be \"merge\" or \"keep\".",
            ))
        }
    };
    let (uid, uname) = (user.id.clone(), user.name.clone());
    let (a, b, decision) = (d.a.clone(), d.b.clone(), d.decision.clone());
    let r = st
        .db
        .call(move |c| {
            duplicates::decide(
                c,
                &a,
                &b,
                &decision,
                kept.as_deref(),
                note.as_deref(),
                Actor::user(&uid, &uname),
            )
        })
        .await?;
    match r {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(DecisionOut {
                a: d.a,
                b: d.b,
                decision: d.decision,
                kept: d.kept,
            }),
        )),
        Err(duplicates::Refused::Unknown(_)) => Err(ApiError::not_found("hồ sơ", "Dossier")),
        Err(duplicates::Refused::AlreadyDecided) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_decided",
            "Cặp hồ sơ này đã được quyết định rồi.",
            "This pair has already been decided.",
        )),
        Err(duplicates::Refused::NotAPair) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_duplicates",
            "Hai hồ sơ này không nằm trong danh sách hồ sơ trùng.",
            "These two dossiers are not a listed duplicate pair.",
        )),
    }
}
