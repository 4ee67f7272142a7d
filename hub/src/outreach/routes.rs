//! HTTP routes for outreach sessions, tickets, desks, services rendered, the report, and the public
//! queue board (JSON and Server-Sent Events). Handlers check input and roles, then call `store`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{
    self, AgeBand, Desk, DeskState, Facts, NewService, NewSession, Refused, ServiceKind, Sex,
    TicketAction, TicketSource, VenueKind,
};
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::error::{ApiError, FieldDetail, JsonBody};

/// Who works at the desks: volunteers guide villagers, so they issue tickets, call and record services.
const TEAM: &[Role] = &[Role::Officer, Role::Volunteer, Role::Admin];
/// Who opens and closes sessions.
const LEADS: &[Role] = &[Role::Officer, Role::Admin];
/// Waiting numbers shown per desk on the board.
const BOARD_NEXT: usize = 5;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/board", get(board))
        .route("/api/v1/board/events", get(board_events))
        .route("/api/v1/outreach/team-candidates", get(team_candidates))
        .route(
            "/api/v1/outreach/sessions",
            get(list_sessions).post(open_session),
        )
        .route("/api/v1/outreach/current", get(current))
        .route("/api/v1/outreach/sessions/{id}", get(read_session))
        .route("/api/v1/outreach/sessions/{id}/close", post(close_session))
        .route(
            "/api/v1/outreach/sessions/{id}/tickets",
            get(list_tickets).post(issue_ticket),
        )
        .route(
            "/api/v1/outreach/sessions/{id}/desks/{desk}/call-next",
            post(call_next),
        )
        .route("/api/v1/outreach/tickets/{id}/action", post(ticket_action))
        .route(
            "/api/v1/outreach/sessions/{id}/services",
            get(list_services).post(record_service),
        )
        .route("/api/v1/outreach/services/{id}", delete(undo_service))
        .route("/api/v1/outreach/sessions/{id}/report", get(report))
}

// ---------- helpers ----------

fn refused(r: Refused) -> ApiError {
    match r {
        Refused::AlreadyOpen(s) => ApiError::new(
            StatusCode::CONFLICT,
            "session_already_open",
            format!(
                "Đang có một buổi lưu động mở ({}, {}, ngày {}). Hãy đóng buổi đó trước khi mở buổi mới: mỗi lúc chỉ mở một buổi.",
                s.hamlet, s.venue_name, s.date
            ),
            format!(
                "An outreach session is already open ({}, {}, {}). Close it before opening a new one: one session is open at a time.",
                s.hamlet, s.venue_name, s.date
            ),
        ),
        Refused::SessionNotFound => ApiError::not_found("buổi lưu động", "Outreach session"),
        Refused::SessionClosed => ApiError::new(
            StatusCode::CONFLICT,
            "session_closed",
            "Buổi lưu động này đã đóng.",
            "This outreach session is closed.",
        ),
        Refused::TicketNotFound => ApiError::not_found("số thứ tự", "Ticket"),
        Refused::ServiceNotFound => ApiError::not_found("lượt phục vụ", "Service record"),
        Refused::UnknownCommune => ApiError::validation(vec![detail(
            "commune_code",
            "unknown_unit",
            "Không có xã/phường với mã này trong danh mục của trạm.",
            "There is no commune with this code in the hub's list.",
        )]),
        Refused::UnknownUser(_) => ApiError::validation(vec![detail(
            "team",
            "unknown_user",
            "Một thành viên tổ công tác không phải là người dùng đang hoạt động của trạm.",
            "A team member is not an active user of this hub.",
        )]),
        Refused::WrongStatus(s) => ApiError::new(
            StatusCode::CONFLICT,
            "wrong_ticket_status",
            format!(
                "Số thứ tự đang ở trạng thái \"{}\"; không làm được việc này.",
                s.as_str()
            ),
            format!(
                "The ticket is \"{}\"; this cannot be done now.",
                s.as_str()
            ),
        ),
        Refused::TicketOfOtherSession => ApiError::validation(vec![detail(
            "ticket_id",
            "other_session",
            "Số thứ tự này thuộc buổi lưu động khác.",
            "This ticket belongs to another session.",
        )]),
        Refused::NotLatestTap => ApiError::new(
            StatusCode::CONFLICT,
            "not_latest_tap",
            "Chỉ hoàn tác được lượt bấm gần nhất của bạn.",
            "Only your latest tap can be undone.",
        ),
    }
}

fn detail(field: &str, code: &str, vi: &str, en: &str) -> FieldDetail {
    FieldDetail {
        field: field.into(),
        code: code.into(),
        message_vi: vi.into(),
        message_en: en.into(),
    }
}

/// The request's `Idempotency-Key`, scoped to the caller and the action.
fn idem_key(headers: &HeaderMap, user: &AuthUser, action: &str) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .map(|k| format!("{}:{action}:{k}", user.id))
}

/// A short free text: trimmed, at most `max` characters, no control characters; `None` when blank.
fn short_text(
    v: Option<String>,
    field: &str,
    max: usize,
    errs: &mut Vec<FieldDetail>,
) -> Option<String> {
    let v = v?;
    let t = v.trim();
    if t.is_empty() {
        return None;
    }
    if t.chars().count() > max || t.chars().any(char::is_control) {
        errs.push(detail(
            field,
            "invalid_text",
            &format!("Tối đa {max} ký tự, không có ký tự điều khiển."),
            &format!("At most {max} characters, without control characters."),
        ));
        return None;
    }
    use unicode_normalization::UnicodeNormalization;
    Some(t.nfc().collect())
}

fn parse_desk(s: &str) -> Result<Desk, ApiError> {
    Desk::parse(s).ok_or_else(|| {
        ApiError::validation(vec![detail(
            "desk",
            "unknown_desk",
            "Bàn không hợp lệ (civil_status, police, telecom, guidance).",
            "Unknown desk (civil_status, police, telecom, guidance).",
        )])
    })
}

async fn session_or_404(st: &AppState, id: String) -> Result<store::Session, ApiError> {
    st.db
        .call(move |c| store::get_session(c, &id))
        .await?
        .ok_or_else(|| refused(Refused::SessionNotFound))
}

// ---------- the public board ----------

/// The queue board as anyone on the Wi-Fi sees it: no names, no ticket ids.
#[derive(Serialize)]
struct Board {
    hub_name: String,
    session: Option<BoardSession>,
    desks: Vec<DeskState>,
    version: u64,
}

#[derive(Serialize)]
struct BoardSession {
    hamlet: String,
    venue_kind: VenueKind,
    venue_name: String,
    commune: Option<String>,
    date: String,
}

async fn board_now(st: &AppState, version: u64) -> Result<Board, ApiError> {
    let (session, desks) = st
        .db
        .call(|c| {
            let Some(s) = store::current_session(c)? else {
                return Ok((None, Vec::new()));
            };
            let commune = match &s.commune_code {
                Some(code) => crate::units::store::unit_label(c, code)?,
                None => None,
            };
            let mut desks = store::desks(c, &s.id, BOARD_NEXT)?;
            for d in &mut desks {
                d.serving_ticket = None;
            }
            Ok((
                Some(BoardSession {
                    hamlet: s.hamlet,
                    venue_kind: s.venue_kind,
                    venue_name: s.venue_name,
                    commune,
                    date: s.date,
                }),
                desks,
            ))
        })
        .await?;
    Ok(Board {
        hub_name: st.name.clone(),
        session,
        desks,
        version,
    })
}

async fn board(State(st): State<AppState>) -> Result<Json<Board>, ApiError> {
    let v = *st.outreach.subscribe().borrow();
    Ok(Json(board_now(&st, v).await?))
}

/// `event: board` with the board JSON now and after every change; keep-alive comments in between.
async fn board_events(State(st): State<AppState>) -> Result<Response, ApiError> {
    let Some(guard) = st.outreach.open_stream() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_boards",
            "Có quá nhiều màn hình đang theo dõi bảng số thứ tự.",
            "Too many screens are following the queue board.",
        ));
    };
    let rx = st.outreach.subscribe();
    let closing = st.outreach.closing();
    let stream =
        futures_util::stream::unfold((st, rx, guard, true), move |(st, mut rx, guard, first)| {
            let closing = closing.clone();
            async move {
                if !first {
                    tokio::select! {
                        r = rx.changed() => if r.is_err() { return None },
                        _ = closing.cancelled() => return None, // the hub is stopping
                    }
                }
                let version = *rx.borrow_and_update();
                let ev = match board_now(&st, version).await {
                    Ok(b) => Event::default()
                        .event("board")
                        .json_data(&b)
                        .unwrap_or_else(|_| Event::default().comment("board unavailable")),
                    Err(_) => Event::default().comment("board unavailable"),
                };
                Some((Ok::<_, Infallible>(ev), (st, rx, guard, false)))
            }
        });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

// ---------- sessions ----------

async fn team_candidates(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(LEADS)?;
    let users = st.db.call(|c| store::team_candidates(c)).await?;
    Ok(Json(json!({ "users": users })))
}

async fn list_sessions(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(TEAM)?;
    let list = st.db.call(|c| store::list_sessions(c)).await?;
    Ok(Json(json!({ "sessions": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenIn {
    hamlet: Option<String>,
    venue_kind: Option<String>,
    venue_name: Option<String>,
    #[serde(default)]
    commune_code: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    team: Vec<String>,
}

fn check_open(body: OpenIn) -> Result<NewSession, ApiError> {
    let mut errs = Vec::new();
    let hamlet = short_text(body.hamlet, "hamlet", 100, &mut errs);
    if hamlet.is_none() && !errs.iter().any(|e| e.field == "hamlet") {
        errs.push(detail(
            "hamlet",
            "required",
            "Hãy nhập tên thôn/ấp/bản.",
            "Enter the hamlet or village name.",
        ));
    }
    let venue_kind = body.venue_kind.as_deref().and_then(VenueKind::parse);
    if venue_kind.is_none() {
        errs.push(detail(
            "venue_kind",
            "required",
            "Hãy chọn nơi tổ chức: nhà văn hoá, trường học hoặc nơi khác.",
            "Choose the venue: cultural house, school or other.",
        ));
    }
    let venue_name = short_text(body.venue_name, "venue_name", 100, &mut errs);
    if venue_name.is_none() && !errs.iter().any(|e| e.field == "venue_name") {
        errs.push(detail(
            "venue_name",
            "required",
            "Hãy nhập tên nơi tổ chức.",
            "Enter the venue's name.",
        ));
    }
    let commune_code = body
        .commune_code
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if let Some(c) = &commune_code {
        if c.len() != 5 || !c.bytes().all(|b| b.is_ascii_digit()) {
            errs.push(detail(
                "commune_code",
                "invalid_code",
                "Mã xã/phường gồm 5 chữ số.",
                "A commune code has 5 digits.",
            ));
        }
    }
    let date = match body
        .date
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
    {
        None => Some(crate::clock::today_vn()),
        Some(d) => {
            let fmt = time::macros::format_description!("[year]-[month]-[day]");
            match time::Date::parse(&d, fmt) {
                Ok(d) => Some(d),
                Err(_) => {
                    errs.push(detail(
                        "date",
                        "invalid_date",
                        "Ngày phải có dạng NNNN-TT-NN.",
                        "The date must be YYYY-MM-DD.",
                    ));
                    None
                }
            }
        }
    };
    if body.team.len() > 50 || body.team.iter().any(|u| u.len() > 64) {
        errs.push(detail(
            "team",
            "too_many",
            "Tổ công tác tối đa 50 người.",
            "A team has at most 50 members.",
        ));
    }
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let (Some(hamlet), Some(venue_kind), Some(venue_name), Some(date)) =
        (hamlet, venue_kind, venue_name, date)
    else {
        return Err(ApiError::bad_request("Thiếu dữ liệu.", "Missing data."));
    };
    let mut team = body.team;
    team.sort();
    team.dedup();
    Ok(NewSession {
        hamlet,
        venue_kind,
        venue_name,
        commune_code,
        date: format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        team,
    })
}

async fn open_session(
    State(st): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<OpenIn>,
) -> Result<(StatusCode, Json<store::Session>), ApiError> {
    user.require(LEADS)?;
    let new = check_open(body)?;
    let uid = user.id.clone();
    let s = st
        .db
        .call(move |c| store::open_session(c, &new, &uid))
        .await?
        .map_err(refused)?;
    tracing::info!(session = %s.id, "outreach session opened");
    st.outreach.changed();
    Ok((StatusCode::CREATED, Json(s)))
}

async fn close_session(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<store::Session>, ApiError> {
    user.require(LEADS)?;
    let uid = user.id.clone();
    let s = st
        .db
        .call(move |c| store::close_session(c, &id, &uid))
        .await?
        .map_err(refused)?;
    tracing::info!(session = %s.id, "outreach session closed");
    st.outreach.changed();
    Ok(Json(s))
}

/// The open session (`null` when none), for the team's start screen.
async fn current(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(TEAM)?;
    let s = st.db.call(|c| store::current_session(c)).await?;
    Ok(Json(json!({ "session": s })))
}

/// A session with its ticket counts and desks (team view: includes ticket ids for desk actions).
async fn read_session(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(TEAM)?;
    let out = st
        .db
        .call(move |c| {
            let Some(s) = store::get_session(c, &id)? else {
                return Ok(None);
            };
            let commune = match &s.commune_code {
                Some(code) => crate::units::store::unit_label(c, code)?,
                None => None,
            };
            let counts = store::ticket_counts(c, &id)?;
            let desks = store::desks(c, &id, BOARD_NEXT)?;
            let services: i64 = c.query_row(
                "SELECT count(*) FROM outreach_services WHERE session_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            Ok(Some(json!({
                "session": s,
                "commune": commune,
                "tickets": counts,
                "services": services,
                "desks": desks,
            })))
        })
        .await?
        .ok_or_else(|| refused(Refused::SessionNotFound))?;
    Ok(Json(out))
}

// ---------- tickets ----------

async fn list_tickets(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(TEAM)?;
    session_or_404(&st, id.clone()).await?;
    let list = st.db.call(move |c| store::list_tickets(c, &id)).await?;
    Ok(Json(json!({ "tickets": list })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct IssueIn {
    #[serde(default)]
    name: Option<String>,
}

async fn issue_ticket(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<IssueIn>,
) -> Result<(StatusCode, Json<store::Ticket>), ApiError> {
    user.require(TEAM)?;
    let mut errs = Vec::new();
    let name = short_text(body.name, "name", 80, &mut errs);
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let key = idem_key(&headers, &user, "ticket");
    let (t, created) = st
        .db
        .call(move |c| {
            store::issue_ticket_once(c, &id, name.as_deref(), TicketSource::Desk, key.as_deref())
        })
        .await?
        .map_err(refused)?;
    if created {
        st.outreach.changed();
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(t)))
}

async fn call_next(
    State(st): State<AppState>,
    user: AuthUser,
    Path((id, desk)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(TEAM)?;
    let desk = parse_desk(&desk)?;
    let key = idem_key(&headers, &user, "call");
    let t = st
        .db
        .call(move |c| store::call_next(c, &id, desk, key.as_deref()))
        .await?
        .map_err(refused)?;
    st.outreach.changed();
    Ok(Json(json!({ "desk": desk, "ticket": t })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionIn {
    action: String,
    #[serde(default)]
    desk: Option<String>,
}

async fn ticket_action(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ActionIn>,
) -> Result<Json<store::Ticket>, ApiError> {
    user.require(TEAM)?;
    let action = match body.action.as_str() {
        "recall" => TicketAction::Recall,
        "done" => TicketAction::Done,
        "no_show" => TicketAction::NoShow,
        "move" => TicketAction::Move(parse_desk(body.desk.as_deref().unwrap_or(""))?),
        _ => {
            return Err(ApiError::validation(vec![detail(
                "action",
                "unknown_action",
                "Thao tác không hợp lệ (recall, move, done, no_show).",
                "Unknown action (recall, move, done, no_show).",
            )]))
        }
    };
    let t = st
        .db
        .call(move |c| store::act_on_ticket(c, &id, action))
        .await?
        .map_err(refused)?;
    st.outreach.changed();
    Ok(Json(t))
}

// ---------- services rendered ----------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceIn {
    desk: String,
    kind: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    ticket_id: Option<String>,
    #[serde(default)]
    consent: bool,
    #[serde(default)]
    sex: Option<String>,
    #[serde(default)]
    age_band: Option<String>,
    /// Code in the 1979 list, e.g. "22" (Xtiêng).
    #[serde(default)]
    ethnicity: Option<String>,
}

fn check_service(b: ServiceIn) -> Result<NewService, ApiError> {
    let mut errs = Vec::new();
    let desk = Desk::parse(&b.desk);
    if desk.is_none() {
        errs.push(detail(
            "desk",
            "unknown_desk",
            "Bàn không hợp lệ.",
            "Unknown desk.",
        ));
    }
    let kind = ServiceKind::parse(&b.kind);
    if kind.is_none() {
        errs.push(detail(
            "kind",
            "unknown_kind",
            "Loại dịch vụ không hợp lệ.",
            "Unknown service kind.",
        ));
    }
    let note = short_text(b.note, "note", 200, &mut errs);
    if kind == Some(ServiceKind::Other) && note.is_none() && !errs.iter().any(|e| e.field == "note")
    {
        errs.push(detail(
            "note",
            "required",
            "Hãy ghi ngắn gọn dịch vụ khác là gì.",
            "Write briefly what the other service was.",
        ));
    }
    let blank = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let (sex_in, age_in, eth_in) = (blank(b.sex), blank(b.age_band), blank(b.ethnicity));
    let any_fact = sex_in.is_some() || age_in.is_some() || eth_in.is_some();
    if any_fact && !b.consent {
        errs.push(detail(
            "consent",
            "consent_required",
            "Chỉ ghi giới tính, nhóm tuổi, dân tộc khi người dân đồng ý.",
            "Record sex, age band or ethnicity only when the villager agrees.",
        ));
    }
    let mut facts = Facts::default();
    if let Some(s) = sex_in {
        facts.sex = Sex::parse(&s);
        if facts.sex.is_none() {
            errs.push(detail(
                "sex",
                "invalid",
                "Giới tính: male, female hoặc other.",
                "Sex: male, female or other.",
            ));
        }
    }
    if let Some(a) = age_in {
        facts.age_band = AgeBand::parse(&a);
        if facts.age_band.is_none() {
            errs.push(detail(
                "age_band",
                "invalid",
                "Nhóm tuổi: 0-5, 6-14, 15-17, 18-35, 36-59 hoặc 60+.",
                "Age band: 0-5, 6-14, 15-17, 18-35, 36-59 or 60+.",
            ));
        }
    }
    if let Some(e) = eth_in {
        facts.ethnicity = protocol::ethnic_groups().iter().find(|g| g.code == e);
        if facts.ethnicity.is_none() {
            errs.push(detail(
                "ethnicity",
                "unknown_ethnicity",
                "Mã dân tộc không có trong danh mục 1979.",
                "The ethnicity code is not in the 1979 list.",
            ));
        }
    }
    if b.ticket_id.as_ref().is_some_and(|t| t.len() > 64) {
        errs.push(detail(
            "ticket_id",
            "invalid",
            "Mã số thứ tự không hợp lệ.",
            "Invalid ticket id.",
        ));
    }
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let (Some(desk), Some(kind)) = (desk, kind) else {
        return Err(ApiError::bad_request("Thiếu dữ liệu.", "Missing data."));
    };
    Ok(NewService {
        desk,
        kind,
        note,
        ticket_id: b.ticket_id.filter(|t| !t.is_empty()),
        consent: b.consent,
        facts,
    })
}

async fn record_service(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ServiceIn>,
) -> Result<(StatusCode, Json<store::Service>), ApiError> {
    user.require(TEAM)?;
    let new = check_service(body)?;
    let key = idem_key(&headers, &user, "service");
    let uid = user.id.clone();
    let (s, created) = st
        .db
        .call(move |c| store::record_service(c, &id, &new, &uid, key.as_deref()))
        .await?
        .map_err(refused)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(s)))
}

async fn list_services(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(TEAM)?;
    session_or_404(&st, id.clone()).await?;
    let list = st
        .db
        .call(move |c| store::list_services(c, &id, 50))
        .await?;
    Ok(Json(json!({ "services": list })))
}

async fn undo_service(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<store::Service>, ApiError> {
    user.require(TEAM)?;
    let uid = user.id.clone();
    let s = st
        .db
        .call(move |c| store::undo_service(c, &id, &uid))
        .await?
        .map_err(refused)?;
    Ok(Json(s))
}

async fn report(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<store::Report>, ApiError> {
    user.require(TEAM)?;
    let r = st
        .db
        .call(move |c| store::report(c, &id))
        .await?
        .ok_or_else(|| refused(Refused::SessionNotFound))?;
    Ok(Json(r))
}
