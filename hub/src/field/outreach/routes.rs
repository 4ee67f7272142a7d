//! HTTP routes for outreach sessions, tickets, desks, services rendered, the report, and the public
//! queue board (JSON and Server-Sent Events). Handlers check input and roles, then call `store`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::store::{
    self, AgeBand, Desk, DeskState, Facts, NewService, NewSession, Refused, ServiceKind, Sex,
    TicketAction, TicketSource, VenueKind,
};
use crate::field::outreach::{Live, StreamRefused};
use crate::shared::auth::{AuthUser, FieldTeam, Leads};
use crate::shared::error::{ApiError, FieldDetail, JsonBody};
use crate::shared::ip_limit::ClientIp;
use crate::shared::state::AppState;

// Who works at the desks: volunteers guide villagers, so they issue tickets, call and record services
// (the `FieldTeam` gate); officers and admins open and close sessions (`Leads`).
/// Waiting numbers shown per desk on the board.
const BOARD_NEXT: usize = 5;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        board,
        board_events,
        team_candidates,
        list_sessions,
        open_session,
        current,
        read_session,
        close_session,
        list_tickets,
        issue_ticket,
        call_next,
        ticket_action,
        list_services,
        record_service,
        undo_service,
        report
    ),
    components(schemas(OpenIn, IssueIn, ActionIn, ServiceIn))
)]
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
    // Length and control characters as sent (a control character trimmed away was still sent): what
    // the schema's `maxLength` and `pattern` say.
    if v.chars().count() > max || v.chars().any(char::is_control) {
        errs.push(detail(
            field,
            "invalid_text",
            &format!("Tối đa {max} ký tự, không có ký tự điều khiển."),
            &format!("At most {max} characters, without control characters."),
        ));
        return None;
    }
    if t.is_empty() {
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
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachBoard)]
struct Board {
    hub_name: String,
    session: Option<BoardSession>,
    desks: Vec<BoardDesk>,
    version: u64,
}

/// One desk on the public board: numbers only. A type of its own, so nothing the team sees (names,
/// ticket and pre-declaration ids) can reach the board by accident.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachBoardDesk)]
struct BoardDesk {
    desk: Desk,
    serving: Option<i64>,
    recalls: i64,
    next: Vec<i64>,
}

impl From<DeskState> for BoardDesk {
    fn from(d: DeskState) -> Self {
        Self {
            desk: d.desk,
            serving: d.serving,
            recalls: d.recalls,
            next: d.next,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachBoardSession)]
struct BoardSession {
    hamlet: String,
    venue_kind: VenueKind,
    venue_name: String,
    /// The commune's label, when the session names one.
    commune: Option<String>,
    #[schema(format = Date)]
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
                Some(code) => crate::shared::units::store::unit_label(c, code)?,
                None => None,
            };
            let desks = store::desks(c, &s.id, BOARD_NEXT)?
                .into_iter()
                .map(BoardDesk::from)
                .collect();
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

/// The public queue board: the open session's place and each desk's waiting numbers (no names).
#[utoipa::path(
    get,
    path = "/api/v1/board",
    operation_id = "outreach_board",
    tag = "outreach",
    security(()),
    responses(
        (status = 200, description = "The board: `session` null when none is open", body = Board),
    )
)]
async fn board(State(st): State<AppState>) -> Result<Json<Board>, ApiError> {
    let v = *st.part::<Live>().subscribe().borrow();
    Ok(Json(board_now(&st, v).await?))
}

/// Seconds a refused board is told to wait before asking for a stream again (`Retry-After`); it polls
/// `GET /api/v1/board` meanwhile.
pub const STREAM_RETRY_AFTER_SECS: u64 = 30;
/// A `ping` event this often, so a screen notices a stream that died silently (the board treats a
/// stream with no event for three of these as lost and polls).
const PING_EVERY: Duration = Duration::from_secs(15);

fn stream_refused(why: StreamRefused) -> Response {
    let err = match why {
        StreamRefused::PerAddress => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_streams",
            "Máy này đã mở quá nhiều bảng số thứ tự trực tiếp. Bảng sẽ tự cập nhật vài giây một lần.",
            "This device has too many live queue boards open. The board will refresh every few seconds instead.",
        ),
        StreamRefused::Global => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_boards",
            "Có quá nhiều màn hình đang theo dõi bảng số thứ tự. Bảng sẽ tự cập nhật vài giây một lần.",
            "Too many screens are following the queue board. The board will refresh every few seconds instead.",
        ),
    };
    (
        [
            (header::RETRY_AFTER, STREAM_RETRY_AFTER_SECS.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        err,
    )
        .into_response()
}

/// `event: board` with the board JSON now and after every change, `event: ping` (the board's version)
/// every 15 s in between. Capped per client address and in all (see [`crate::field::outreach`]).
#[utoipa::path(
    get,
    path = "/api/v1/board/events",
    operation_id = "outreach_board_events",
    tag = "outreach",
    security(()),
    responses(
        (status = 200, description = "An event stream: `event: board` with the board JSON (as GET /api/v1/board) now and on each change; `event: ping` with the board's version every 15 s", content_type = "text/event-stream", body = String),
        (status = 429, description = "`too_many_streams`: this client address has --board-streams-per-address streams open (`Retry-After`); poll GET /api/v1/board meanwhile", body = crate::shared::api_doc::ErrorBody),
        (status = 503, description = "`too_many_boards`: --max-board-streams are open (`Retry-After`); poll GET /api/v1/board meanwhile", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn board_events(State(st): State<AppState>, ClientIp(ip): ClientIp) -> Response {
    let guard = match st.part::<Live>().open_stream(ip) {
        Ok(g) => g,
        Err(why) => return stream_refused(why),
    };
    let rx = st.part::<Live>().subscribe();
    let closing = st.part::<Live>().closing();
    let ended = guard.ended();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stream = futures_util::stream::unfold(
        (st, rx, guard, ping, true),
        move |(st, mut rx, guard, mut ping, first)| {
            let (closing, ended) = (closing.clone(), ended.clone());
            async move {
                if !first {
                    tokio::select! {
                        r = rx.changed() => if r.is_err() { return None },
                        _ = ping.tick() => {
                            let v = *rx.borrow();
                            let ev = Event::default().event("ping").data(v.to_string());
                            return Some((Ok::<_, Infallible>(ev), (st, rx, guard, ping, false)));
                        }
                        _ = closing.cancelled() => return None, // the hub is stopping
                        _ = ended.cancelled() => return None, // made room for another address
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
                Some((Ok::<_, Infallible>(ev), (st, rx, guard, ping, false)))
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(PING_EVERY))
        .into_response()
}

// ---------- sessions ----------

/// The active users a lead may put on a session's team.
#[utoipa::path(
    get,
    path = "/api/v1/outreach/team-candidates",
    operation_id = "outreach_team_candidates",
    tag = "outreach",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "The active users, by name", body = TeamCandidates),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn team_candidates(
    State(st): State<AppState>,
    Leads(_user): Leads,
) -> Result<Json<TeamCandidates>, ApiError> {
    let users = st.db.call(|c| store::team_candidates(c)).await?;
    Ok(Json(TeamCandidates { users }))
}

/// The users a lead may put on a session's team.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachTeamCandidates)]
struct TeamCandidates {
    users: Vec<crate::shared::auth::store::UserOut>,
}

/// The outreach sessions, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/outreach/sessions",
    operation_id = "outreach_list_sessions",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"])),
    responses(
        (status = 200, description = "The sessions, newest first (at most 500)", body = SessionList),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn list_sessions(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
) -> Result<Json<SessionList>, ApiError> {
    let sessions = st.db.call(|c| store::list_sessions(c)).await?;
    Ok(Json(SessionList { sessions }))
}

/// The outreach sessions, newest first.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachSessionList)]
struct SessionList {
    sessions: Vec<store::SessionSummary>,
}

/// A session to open: where (hamlet, venue), optionally the commune, the date (today by default) and
/// the team's user ids. All but `team` are strings checked by the handler (422 per field).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OpenIn {
    /// Required: at most 100 characters, no control characters.
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$")]
    hamlet: Option<String>,
    #[schema(value_type = VenueKind)]
    venue_kind: Option<String>,
    /// Required: at most 100 characters, no control characters.
    #[schema(value_type = String, min_length = 1, max_length = 100, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$")]
    venue_name: Option<String>,
    /// The commune's 5-digit code (see GET /api/v1/units/search); empty or blank: none.
    #[serde(default)]
    #[schema(pattern = r"^\s*([0-9]{5})?\s*$")]
    commune_code: Option<String>,
    /// YYYY-MM-DD; today (Vietnam time) when left out or null.
    #[serde(default)]
    #[schema(format = Date)]
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
    // Absent or null: today. An empty string is not a date (the schema's `format: date`).
    let date = match body.date.map(|d| d.trim().to_string()) {
        None => Some(crate::shared::clock::today_vn()),
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

/// Opens an outreach session; one session is open at a time.
#[utoipa::path(
    post,
    path = "/api/v1/outreach/sessions",
    operation_id = "outreach_open_session",
    tag = "outreach",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    request_body = OpenIn,
    responses(
        (status = 201, description = "The session", body = store::Session),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "A session is already open", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Invalid fields, unknown commune or team member", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn open_session(
    State(st): State<AppState>,
    Leads(user): Leads,
    JsonBody(body): JsonBody<OpenIn>,
) -> Result<(StatusCode, Json<store::Session>), ApiError> {
    let new = check_open(body)?;
    let uid = user.id.clone();
    let s = st
        .db
        .call(move |c| store::open_session(c, &new, &uid))
        .await?
        .map_err(refused)?;
    tracing::info!(session = %s.id, "outreach session opened");
    st.part::<Live>().changed();
    Ok((StatusCode::CREATED, Json(s)))
}

/// Closes an outreach session (no body).
#[utoipa::path(
    post,
    path = "/api/v1/outreach/sessions/{id}/close",
    operation_id = "outreach_close_session",
    tag = "outreach",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Outreach session id")),
    responses(
        (status = 200, description = "The closed session", body = store::Session),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Already closed", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn close_session(
    State(st): State<AppState>,
    Leads(user): Leads,
    Path(id): Path<String>,
) -> Result<Json<store::Session>, ApiError> {
    let uid = user.id.clone();
    let s = st
        .db
        .call(move |c| store::close_session(c, &id, &uid))
        .await?
        .map_err(refused)?;
    tracing::info!(session = %s.id, "outreach session closed");
    st.part::<Live>().changed();
    Ok(Json(s))
}

/// The open session (`null` when none), for the team's start screen.
#[utoipa::path(
    get,
    path = "/api/v1/outreach/current",
    operation_id = "outreach_current",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"])),
    responses(
        (status = 200, description = "`session`: the open session, null when none", body = CurrentSession),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn current(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
) -> Result<Json<CurrentSession>, ApiError> {
    let session = st.db.call(|c| store::current_session(c)).await?;
    Ok(Json(CurrentSession { session }))
}

/// The open session, if any.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachCurrentSession)]
struct CurrentSession {
    session: Option<store::Session>,
}

/// A session as the team sees it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachSessionView)]
struct SessionView {
    session: store::Session,
    /// The commune's label, when the session names one.
    commune: Option<String>,
    tickets: store::TicketCounts,
    /// Services recorded in the session.
    services: i64,
    desks: Vec<DeskState>,
}

/// A session with its ticket counts and desks (team view: includes ticket ids for desk actions).
#[utoipa::path(
    get,
    path = "/api/v1/outreach/sessions/{id}",
    operation_id = "outreach_read_session",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("id" = String, Path, description = "Outreach session id")),
    responses(
        (status = 200, description = "The session, its ticket counts by status, its service count and its desks", body = SessionView),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn read_session(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, ApiError> {
    let out = st
        .db
        .call(move |c| {
            let Some(s) = store::get_session(c, &id)? else {
                return Ok(None);
            };
            let commune = match &s.commune_code {
                Some(code) => crate::shared::units::store::unit_label(c, code)?,
                None => None,
            };
            let counts = store::ticket_counts(c, &id)?;
            let desks = store::desks(c, &id, BOARD_NEXT)?;
            let services: i64 = c.query_row(
                "SELECT count(*) FROM outreach_services WHERE session_id = ?1",
                [&id],
                |r| r.get(0),
            )?;
            Ok(Some(SessionView {
                session: s,
                commune,
                tickets: counts,
                services,
                desks,
            }))
        })
        .await?
        .ok_or_else(|| refused(Refused::SessionNotFound))?;
    Ok(Json(out))
}

// ---------- tickets ----------

/// A session's tickets (queue numbers) in issue order.
#[utoipa::path(
    get,
    path = "/api/v1/outreach/sessions/{id}/tickets",
    operation_id = "outreach_list_tickets",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("id" = String, Path, description = "Outreach session id")),
    responses(
        (status = 200, description = "The session's tickets in issue order", body = TicketList),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn list_tickets(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<TicketList>, ApiError> {
    session_or_404(&st, id.clone()).await?;
    let tickets = st.db.call(move |c| store::list_tickets(c, &id)).await?;
    Ok(Json(TicketList { tickets }))
}

/// A session's tickets.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachTicketList)]
struct TicketList {
    tickets: Vec<store::Ticket>,
}

/// A ticket to issue: optionally the villager's name (at most 80 characters).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct IssueIn {
    /// The villager's name as they give it, to call them by (optional; at most 80 characters, one line).
    #[serde(default)]
    #[schema(max_length = 80, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    name: Option<String>,
}

/// Issues the next queue number in a session.
#[utoipa::path(
    post,
    path = "/api/v1/outreach/sessions/{id}/tickets",
    operation_id = "outreach_issue_ticket",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(
        ("id" = String, Path, description = "Outreach session id"),
        ("Idempotency-Key" = Option<String>, Header, description = "At most 128 characters; a retry with the same key answers the first result"),
    ),
    request_body = IssueIn,
    responses(
        (status = 201, description = "The new ticket", body = store::Ticket),
        (status = 200, description = "The ticket first issued with this Idempotency-Key", body = store::Ticket),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The session is closed", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Invalid name", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn issue_ticket(
    State(st): State<AppState>,
    FieldTeam(user): FieldTeam,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<IssueIn>,
) -> Result<(StatusCode, Json<store::Ticket>), ApiError> {
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
        st.part::<Live>().changed();
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(t)))
}

/// Calls the next waiting number to a desk (no body).
#[utoipa::path(
    post,
    path = "/api/v1/outreach/sessions/{id}/desks/{desk}/call-next",
    operation_id = "outreach_call_next",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(
        ("id" = String, Path, description = "Outreach session id"),
        ("desk" = Desk, Path, description = "civil_status, police, telecom or guidance"),
        ("Idempotency-Key" = Option<String>, Header, description = "At most 128 characters; a retry with the same key answers the first result"),
    ),
    responses(
        (status = 200, description = "The desk and the ticket called to it (`ticket` null: nobody waiting)", body = Called),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The session is closed", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Unknown desk", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn call_next(
    State(st): State<AppState>,
    FieldTeam(user): FieldTeam,
    Path((id, desk)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Called>, ApiError> {
    let desk = parse_desk(&desk)?;
    let key = idem_key(&headers, &user, "call");
    let t = st
        .db
        .call(move |c| store::call_next(c, &id, desk, key.as_deref()))
        .await?
        .map_err(refused)?;
    st.part::<Live>().changed();
    Ok(Json(Called { desk, ticket: t }))
}

/// The ticket called to a desk.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachCalled)]
struct Called {
    desk: Desk,
    ticket: Option<store::Ticket>,
}

/// `action`: `recall`, `move` (with `desk`), `done` or `no_show`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ActionIn {
    #[schema(value_type = TicketActionName)]
    action: String,
    /// The desk to move to (`move` only).
    #[serde(default)]
    #[schema(value_type = Option<Desk>)]
    desk: Option<String>,
}

/// What to do with a ticket (documentation of `ActionIn::action`).
#[derive(utoipa::ToSchema)]
#[schema(as = OutreachTicketAction)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum TicketActionName {
    Recall,
    Move,
    Done,
    NoShow,
}

/// Acts on a ticket at a desk: recall, move to another desk, done, no-show.
#[utoipa::path(
    post,
    path = "/api/v1/outreach/tickets/{id}/action",
    operation_id = "outreach_ticket_action",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Ticket id")),
    request_body = ActionIn,
    responses(
        (status = 200, description = "The ticket after the action", body = store::Ticket),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such ticket", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The ticket's status does not allow it, or the session is closed", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Unknown action or desk", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn ticket_action(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ActionIn>,
) -> Result<Json<store::Ticket>, ApiError> {
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
    st.part::<Live>().changed();
    Ok(Json(t))
}

// ---------- services rendered ----------

/// A service rendered at a desk: `desk`, `kind` and a short `note` (required for `other`); optional
/// link to a ticket; sex, age band and ethnicity only with the villager's `consent`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ServiceIn {
    #[schema(value_type = Desk)]
    desk: String,
    #[schema(value_type = ServiceKind)]
    kind: String,
    /// What the service was, at most 200 characters, no control characters (needed when `kind` is
    /// `other`).
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    note: Option<String>,
    /// The queue ticket served, if any.
    #[serde(default)]
    #[schema(max_length = 64)]
    ticket_id: Option<String>,
    #[serde(default)]
    consent: bool,
    #[serde(default)]
    #[schema(value_type = Option<Sex>)]
    sex: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<AgeBand>)]
    age_band: Option<String>,
    /// Code in the 1979 list (01–56), e.g. "22" (Xtiêng). `sex`, `age_band` and `ethnicity` are
    /// recorded only with `consent` (`422 consent_required` otherwise).
    #[serde(default)]
    #[schema(pattern = r"^\s*(0[1-9]|[1-4][0-9]|5[0-6])?\s*$")]
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

/// Records a service rendered in a session (one tap at a desk).
#[utoipa::path(
    post,
    path = "/api/v1/outreach/sessions/{id}/services",
    operation_id = "outreach_record_service",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(
        ("id" = String, Path, description = "Outreach session id"),
        ("Idempotency-Key" = Option<String>, Header, description = "At most 128 characters; a retry with the same key answers the first result"),
    ),
    request_body = ServiceIn,
    responses(
        (status = 201, description = "The recorded service", body = store::Service),
        (status = 200, description = "The service first recorded with this Idempotency-Key", body = store::Service),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session or ticket", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The session is closed", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Invalid fields, missing consent, ticket of another session", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn record_service(
    State(st): State<AppState>,
    FieldTeam(user): FieldTeam,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ServiceIn>,
) -> Result<(StatusCode, Json<store::Service>), ApiError> {
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

/// The latest services recorded in a session (at most 50, newest first).
#[utoipa::path(
    get,
    path = "/api/v1/outreach/sessions/{id}/services",
    operation_id = "outreach_list_services",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("id" = String, Path, description = "Outreach session id")),
    responses(
        (status = 200, description = "The latest services, newest first (at most 50)", body = ServiceList),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn list_services(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<ServiceList>, ApiError> {
    session_or_404(&st, id.clone()).await?;
    let services = st
        .db
        .call(move |c| store::list_services(c, &id, 50))
        .await?;
    Ok(Json(ServiceList { services }))
}

/// A session's latest services.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = OutreachServiceList)]
struct ServiceList {
    services: Vec<store::Service>,
}

/// Undoes a recorded service. Only the caller's own latest tap can be undone (checked on the record).
#[utoipa::path(
    delete,
    path = "/api/v1/outreach/services/{id}",
    operation_id = "outreach_undo_service",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Service record id")),
    responses(
        (status = 200, description = "The service as it was, now undone", body = store::Service),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such service record", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Not the caller's latest tap, or the session is closed", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn undo_service(
    State(st): State<AppState>,
    FieldTeam(user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<store::Service>, ApiError> {
    let uid = user.id.clone();
    let s = st
        .db
        .call(move |c| store::undo_service(c, &id, &uid))
        .await?
        .map_err(refused)?;
    Ok(Json(s))
}

/// A session's report: ticket counts, waiting time, services by desk and kind, consented facts in aggregate.
#[utoipa::path(
    get,
    path = "/api/v1/outreach/sessions/{id}/report",
    operation_id = "outreach_report",
    tag = "outreach",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("id" = String, Path, description = "Outreach session id")),
    responses(
        (status = 200, description = "The session report", body = store::Report),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such session", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn report(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<store::Report>, ApiError> {
    let r = st
        .db
        .call(move |c| store::report(c, &id))
        .await?
        .ok_or_else(|| refused(Refused::SessionNotFound))?;
    Ok(Json(r))
}
