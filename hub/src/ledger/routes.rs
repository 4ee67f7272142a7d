//! HTTP routes of reconciliation (office mode, clerks): the ledger per device, expected vs received per
//! session, and duplicates with their decisions.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{devices, duplicates, expected};
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::casework::audit::Actor;
use crate::clock;
use crate::error::{ApiError, FieldDetail, JsonBody};

const CLERKS: &[Role] = &[Role::Clerk, Role::Admin];

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/ledger", get(overview))
        .route("/api/v1/office/ledger/sessions", get(sessions))
        .route("/api/v1/office/ledger/{device}", get(device))
        .route("/api/v1/office/duplicates", get(duplicates_list))
        .route("/api/v1/office/duplicates/decision", post(decision))
}

/// Query parameters, parsed by hand so that a bad value gets the usual JSON error.
#[derive(Debug, Default, Deserialize)]
struct Params {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
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
        Some(s) if protocol::validate::parse_date(s).is_some() => Ok(s.to_string()),
        Some(_) => Err(bad(
            field,
            "Ngày phải có dạng NNNN-TT-NN.",
            "The date must be YYYY-MM-DD.",
        )),
    }
}

async fn overview(State(st): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    user.require(CLERKS)?;
    let devices = st.db.call(|c| devices::overview(c)).await?;
    let complete = devices.iter().all(|d| d.complete);
    Ok(Json(json!({ "devices": devices, "complete": complete })))
}

async fn device(
    State(st): State<AppState>,
    user: AuthUser,
    Path(device): Path<String>,
    Query(q): Query<Params>,
) -> Result<Json<devices::DeviceLedger>, ApiError> {
    user.require(CLERKS)?;
    let from = number(&q.from, "from", 1)?;
    let limit = number(&q.limit, "limit", devices::MAX_PAGE)?;
    st.db
        .call(move |c| devices::ledger(c, &device, from, limit))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("thiết bị", "Device"))
}

async fn sessions(
    State(st): State<AppState>,
    user: AuthUser,
    Query(q): Query<Params>,
) -> Result<Json<expected::SessionsReport>, ApiError> {
    user.require(CLERKS)?;
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

async fn duplicates_list(
    State(st): State<AppState>,
    user: AuthUser,
    Query(q): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    user.require(CLERKS)?;
    let offset = number(&q.offset, "offset", 0)? as usize;
    let limit = number(&q.limit, "limit", 50)? as usize;
    let (total, pairs) = st
        .db
        .call(move |c| duplicates::list(c, offset, limit))
        .await?;
    Ok(Json(
        json!({ "total": total, "offset": offset, "pairs": pairs }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    a: String,
    b: String,
    decision: String,
    #[serde(default)]
    kept: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn decision(
    State(st): State<AppState>,
    user: AuthUser,
    JsonBody(d): JsonBody<Decision>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    user.require(CLERKS)?;
    let note = d
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if note.as_ref().is_some_and(|n| n.chars().count() > 1000) {
        return Err(bad(
            "note",
            "Ghi chú tối đa 1000 ký tự.",
            "The note is at most 1000 characters.",
        ));
    }
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
            Json(json!({ "a": d.a, "b": d.b, "decision": d.decision, "kept": d.kept })),
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
