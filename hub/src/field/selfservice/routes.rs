//! HTTP routes: the public receipt status, the self-service form and pre-declarations (public, rate-limited
//! per IP, and at most `--predeclarations-per-session` per outreach session), and the team's list of waiting pre-declarations with "take as draft". Field mode only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use protocol::{ProcedureDef, ProcedureRef, Stage};
use serde::{Deserialize, Serialize};

use super::store::{self, Take};
use crate::field::capture::store::Draft;
use crate::field::outreach::Live;
use crate::field::seal::codes::{self, Typed};
use crate::field::seal::slip;
use crate::shared::auth::FieldTeam;
use crate::shared::error::{ApiError, FieldDetail, JsonBody};
use crate::shared::ip_limit::{ClientIp, IpLimiter};
use crate::shared::state::AppState;

/// Receipt status lookups per client IP per window (hits and misses alike).
pub const STATUS_PER_WINDOW: u32 = 30;
/// Pre-declarations per client IP per window.
pub const PREDECLARE_PER_WINDOW: u32 = 10;
/// The window of both limits.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Largest pre-declaration body.
pub const MAX_PREDECLARATION_BODY: usize = 32 * 1024;

struct Limits {
    status: IpLimiter,
    predeclare: IpLimiter,
}

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(public_status, form, predeclare, list, take),
    components(schemas(PredeclareIn))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    let limits = Arc::new(Limits {
        status: IpLimiter::new(STATUS_PER_WINDOW, WINDOW),
        predeclare: IpLimiter::new(PREDECLARE_PER_WINDOW, WINDOW),
    });
    Router::new()
        .route("/api/v1/public/receipts/{code}", get(public_status))
        .route("/api/v1/public/predeclare/{procedure}", get(form))
        .route(
            "/api/v1/public/predeclarations",
            post(predeclare).layer(DefaultBodyLimit::max(MAX_PREDECLARATION_BODY)),
        )
        .route("/api/v1/predeclarations", get(list))
        .route("/api/v1/predeclarations/{id}/take", post(take))
        .layer(Extension(limits))
}

fn no_store<T: Serialize>(body: Json<T>) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StatusQuery {
    /// The receipt's tracking key (printed on the slip, carried by the tracking QR), written like a receipt
    /// code; required (`422 key_required` without it).
    #[param(
        pattern = r"^([0-9]{4}-?[0-9]{4}-?[0-9]{4}-?[0-9]{2}|[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z*~$=])$"
    )]
    k: Option<String>,
}

/// One receipt's status as the public sees it: nothing personal.
#[derive(Serialize, utoipa::ToSchema)]
struct PublicStatus {
    /// The receipt code, as issued.
    code: String,
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    procedure: protocol::ProcedureRef,
    /// The procedure's title, when this hub knows the version.
    #[schema(value_type = Option<crate::shared::api_doc::field_schemas::Text>)]
    procedure_title: Option<protocol::Text>,
    /// The Vietnam calendar date it was sealed.
    #[schema(format = Date)]
    sealed_on: Option<String>,
    #[schema(value_type = PublicReceiptStatus)]
    status: &'static str,
    /// Sealed in the chain the office acknowledges (an office key was trusted).
    protected: bool,
    /// Acknowledged by the office.
    handed_over: bool,
    /// The latest status news, if any.
    news: Option<crate::field::news::store::PublicNews>,
    /// The deciding authority, when this hub knows the version.
    #[schema(value_type = Option<crate::shared::api_doc::field_schemas::Text>)]
    authority: Option<protocol::Text>,
    /// The papers to show or bring (empty unless the status is `new`).
    originals: Vec<slip::Original>,
    /// When the result is due (status `new` only).
    due: Option<slip::Due>,
}

/// A receipt's status for the villager: `new` (its own request stands), `refused`, `voided` (cancelled)
/// or `superseded` (a later dossier corrected it).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum PublicReceiptStatus {
    New,
    Refused,
    Voided,
    Superseded,
}

/// `GET /api/v1/public/receipts/{code}?k=<tracking key>`: one receipt's status, nothing personal.
#[utoipa::path(
    get,
    path = "/api/v1/public/receipts/{code}",
    operation_id = "selfservice_public_status",
    tag = "selfservice",
    summary = "One receipt's status for a villager (public, rate-limited per address), nothing personal",
    security(()),
    params(
        ("code" = String, Path, pattern = r"^([0-9]{4}-?[0-9]{4}-?[0-9]{4}-?[0-9]{2}|[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z*~$=])$", description = "Receipt code, e.g. `0576-4731-3978-80` (or, issued before digit codes, `GRW7-M2JC-F`); typed leniently (spaces, dots, case, `I`/`L`/`O` are forgiven), the check digit must match"),
        StatusQuery,
    ),
    responses(
        (status = 200, description = "The receipt's status, nothing personal", body = PublicStatus),
        (status = 404, description = "No receipt with this code and key", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`bad_code`, `bad_check_symbol` or `key_required`", body = crate::shared::api_doc::ErrorBody),
        (status = 429, description = "Too many lookups from this address", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn public_status(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    Extension(limits): Extension<Arc<Limits>>,
    ClientIp(ip): ClientIp,
    Path(code): Path<String>,
    Query(q): Query<StatusQuery>,
) -> Result<Response, ApiError> {
    limits.status.hit(ip)?;
    let code = codes::parse_typed(&code, Typed::Code, "code")?;
    let key = match q.k.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => codes::parse_typed(k, Typed::Key, "k")?,
        None => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "key_required",
                "Hãy gõ cả mã tra cứu in dưới mã QR trên giấy biên nhận.",
                "Also type the lookup key printed under the QR code on the receipt slip.",
            )
            .with_field("k"))
        }
    };
    let r = st
        .db
        .call(move |c| store::public_receipt(c, &code, &key))
        .await?
        .ok_or_else(|| ApiError::not_found("biên nhận với mã này", "A receipt with this code"))?;
    let def = slip::definition(&st, &r.procedure);
    let active = r.status == "new";
    // The papers recorded for this dossier when it was sealed, as on its slip.
    let code = r.code.clone();
    let slip_rec = st
        .db
        .call(move |c| slip::slip_record_of_code(c, &code))
        .await?;
    Ok(no_store(Json(PublicStatus {
        code: r.code,
        procedure: r.procedure,
        procedure_title: def.as_ref().map(|d| d.title.clone()),
        sealed_on: slip::vn_date(&r.sealed_at).map(|d| d.to_string()),
        status: r.status,
        protected: r.protected,
        handed_over: r.handed_over,
        news: r.news,
        authority: def.as_ref().map(|d| d.authority.clone()),
        originals: match &def {
            Some(d) if active => slip::originals_for(d, slip_rec.as_ref()),
            _ => Vec::new(),
        },
        due: match &def {
            Some(d) if active => Some(slip::due(&st, d, &r.sealed_at)),
            _ => None,
        },
    })))
}

/// The villager's version of a procedure's form: every group and field but the office-only ones and the
/// commune pickers (the team picks communes from the hub's list when taking the draft).
pub fn self_service_def(def: &ProcedureDef) -> ProcedureDef {
    let mut d = def.clone();
    for g in &mut d.groups {
        let id = g.id.clone();
        g.fields
            .retain(|f| crate::shared::procedures::in_self_service(&id, f));
    }
    d.groups.retain(|g| !g.fields.is_empty());
    d
}

/// The version of procedure `id` a new dossier uses today on this hub (the one in force).
fn latest(st: &AppState, id: &str) -> Option<ProcedureDef> {
    let current = crate::shared::procedures::in_force(id, crate::shared::clock::today_vn())?;
    st.procedures.get(&current.reference())
}

/// `GET /api/v1/public/predeclare/{procedure}`: the self-service form (catalogue data, nothing personal).
#[utoipa::path(
    get,
    path = "/api/v1/public/predeclare/{procedure}",
    operation_id = "selfservice_form",
    tag = "selfservice",
    summary = "The villager's self-service form of a procedure (public, catalogue data)",
    security(()),
    params(("procedure" = String, Path, description = "Procedure id, e.g. `marital-status-certificate`")),
    responses(
        (status = 200, description = "The procedure definition without office-only groups and commune \
                                      pickers", body = SelfServiceForm),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn form(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    Path(id): Path<String>,
) -> Result<Json<SelfServiceForm>, ApiError> {
    let def = latest(&st, &id).ok_or_else(|| ApiError::not_found("thủ tục", "Procedure"))?;
    Ok(Json(SelfServiceForm {
        procedure: self_service_def(&def),
    }))
}

/// The villager's form of a procedure.
#[derive(Serialize, utoipa::ToSchema)]
struct SelfServiceForm {
    /// A procedure definition (ProcedureDef): free-form here, its schema is specified in
    /// docs/protocol.md (procedure definitions) and checked by the protocol crate.
    #[schema(value_type = Object)]
    procedure: ProcedureDef,
}

/// A villager's answers: the procedure (`{id, version}`, see docs/protocol.md), field values by key, and
/// the language they used.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PredeclareIn {
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    procedure: ProcedureRef,
    fields: BTreeMap<String, String>,
    #[serde(default)]
    lang: Option<String>,
}

fn valid_lang(s: &str) -> bool {
    (2..=16).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// `POST /api/v1/public/predeclarations`: stores a villager's answers for the team; answers a pickup
/// number (and, when an outreach session is open, a queue ticket).
#[utoipa::path(
    post,
    path = "/api/v1/public/predeclarations",
    operation_id = "selfservice_predeclare",
    tag = "selfservice",
    summary = "Stores a villager's pre-declaration (public, rate-limited per address)",
    security(()),
    request_body = PredeclareIn,
    responses(
        (status = 201, description = "`number` is the one number to tell the villager, their queue `ticket` when a session is open (`number_kind` `ticket`), else the `pickup_number` (`pickup`)", body = Predeclared),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "Unknown procedure", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "More than 32 KiB", body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`validation_failed`, one detail per field", body = crate::shared::api_doc::ErrorBody),
        (status = 429, description = "Too many pre-declarations from this address", body = crate::shared::api_doc::ErrorBody),
        (status = 503, description = "`predeclarations_full`: the open session already has --predeclarations-per-session pre-declarations (with no session open: that many are waiting)", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn predeclare(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    Extension(limits): Extension<Arc<Limits>>,
    ClientIp(ip): ClientIp,
    JsonBody(body): JsonBody<PredeclareIn>,
) -> Result<(StatusCode, Response), ApiError> {
    limits.predeclare.hit(ip)?;
    let def = crate::field::capture::routes::procedure(&body.procedure)?;
    let allowed = self_service_def(def);
    let mut problems: Vec<FieldDetail> = body
        .fields
        .keys()
        .filter(|k| allowed.field(k).is_none())
        .map(|k| FieldDetail {
            field: k.clone(),
            code: "not_self_service".into(),
            message_vi: "Cán bộ sẽ điền thông tin này tại buổi làm việc.".into(),
            message_en: "The officer fills this in at the session.".into(),
        })
        .collect();
    let fields: BTreeMap<String, String> = protocol::normalize_fields(&body.fields)
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    if problems.is_empty() && fields.is_empty() {
        let first = allowed.fields().next().map(|f| f.key.clone());
        problems.push(FieldDetail {
            field: first.unwrap_or_default(),
            code: "required".into(),
            message_vi: "Hãy điền ít nhất họ tên trước khi gửi.".into(),
            message_en: "Fill in at least a name before sending.".into(),
        });
    }
    if !problems.is_empty() {
        return Err(ApiError::validation(problems));
    }
    let checked = fields.clone();
    let findings = st
        .db
        .call(move |c| crate::field::capture::rules::check(c, def, &checked, &[], Stage::Draft))
        .await?;
    let errors = protocol::blocking(&findings);
    if !errors.is_empty() {
        return Err(ApiError::validation(
            errors.into_iter().map(Into::into).collect(),
        ));
    }
    let lang = body
        .lang
        .filter(|l| valid_lang(l))
        .unwrap_or_else(|| "vi".into());
    let procedure = def.reference();
    let ceiling = st
        .part::<super::PredeclareLimits>()
        .predeclarations_per_session;
    let stored = st
        .db
        .call(move |c| store::insert(c, &procedure, &fields, &lang, ceiling))
        .await?
        .map_err(full)?;
    tracing::info!("pre-declaration stored");
    if stored.ticket.is_some() {
        st.part::<Live>().changed();
    }
    Ok((
        StatusCode::CREATED,
        no_store(Json(Predeclared {
            number: stored.number,
            number_kind: stored.number_kind,
            pickup_number: stored.pickup_number,
            ticket: stored.ticket,
        })),
    ))
}

/// What the villager is told after sending a pre-declaration.
#[derive(Serialize, utoipa::ToSchema)]
struct Predeclared {
    number: i64,
    number_kind: store::NumberKind,
    pickup_number: i64,
    /// The queue ticket number, when an outreach session is open.
    ticket: Option<i64>,
}

/// The waiting pre-declarations.
#[derive(Serialize, utoipa::ToSchema)]
struct WaitingList {
    predeclarations: Vec<store::Waiting>,
}

/// `503 predeclarations_full`: the session's ceiling is reached; the villager goes to the desk instead.
fn full(f: store::Full) -> ApiError {
    tracing::warn!(
        ceiling = f.ceiling,
        in_session = f.in_session,
        "pre-declaration refused: the ceiling is reached"
    );
    if f.in_session {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "predeclarations_full",
            format!(
                "Buổi làm việc này đã nhận đủ {} bản khai trước qua điện thoại. Xin mời đến bàn hướng dẫn để lấy số thứ tự và khai trực tiếp với cán bộ.",
                f.ceiling
            ),
            format!(
                "This session has already received {} pre-declarations from phones. Please go to the guidance desk to get a queue number and declare in person.",
                f.ceiling
            ),
        )
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "predeclarations_full",
            format!(
                "Trạm đang giữ {} bản khai trước chưa được xử lý. Xin mời khai trực tiếp với cán bộ tại buổi làm việc tới.",
                f.ceiling
            ),
            format!(
                "The hub already holds {} pre-declarations not yet handled. Please declare in person with the team at the next session.",
                f.ceiling
            ),
        )
    }
}

/// `GET /api/v1/predeclarations`: the waiting pre-declarations (team).
#[utoipa::path(
    get,
    path = "/api/v1/predeclarations",
    operation_id = "selfservice_list",
    tag = "selfservice",
    summary = "The waiting pre-declarations (field team)",
    security(("session" = ["officer", "volunteer", "admin"])),
    responses(
        (status = 200, description = "The waiting pre-declarations", body = WaitingList),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn list(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    _team: FieldTeam,
) -> Result<Json<WaitingList>, ApiError> {
    let predeclarations = st.db.call(|c| store::waiting(c)).await?;
    Ok(Json(WaitingList { predeclarations }))
}

/// `POST /api/v1/predeclarations/{id}/take`: creates a draft with the pre-declaration's answers.
#[utoipa::path(
    post,
    path = "/api/v1/predeclarations/{id}/take",
    operation_id = "selfservice_take",
    tag = "selfservice",
    summary = "Takes a waiting pre-declaration as the caller's draft (field team)",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Pre-declaration id")),
    responses(
        (status = 201, description = "The new draft (see the capture routes)", body = Draft),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Someone took it already", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn take(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    FieldTeam(user): FieldTeam,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Draft>), ApiError> {
    let uid = user.id.clone();
    match st.db.call(move |c| store::take(c, &id, &uid)).await? {
        Take::Taken(d) => Ok((StatusCode::CREATED, Json(*d))),
        Take::NotFound => Err(ApiError::not_found("bản khai trước", "Pre-declaration")),
        Take::AlreadyTaken { .. } => Err(ApiError::conflict(
            "Bản khai này đã được một người khác trong nhóm nhận làm hồ sơ nháp.",
            "Someone in the team already took this pre-declaration as a draft.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_self_service_form_leaves_out_office_fields_and_commune_pickers() {
        for def in protocol::catalogue() {
            let d = self_service_def(def);
            assert!(d.field("addressee.commune").is_none());
            assert!(d.field("declaration.confirmed").is_none());
            assert!(d.field("declaration.method").is_none());
            assert!(d.fields().all(|f| f.kind != protocol::FieldKind::Commune));
            assert!(d.fields().count() > 5, "{}", def.id);
        }
        let m = crate::shared::procedures::all()
            .into_iter()
            .find(|d| d.id == "marital-status-certificate")
            .unwrap();
        assert!(self_service_def(m).field("subject.full_name").is_some());
    }

    #[test]
    fn language_tags() {
        assert!(valid_lang("vi") && valid_lang("en") && valid_lang("cmo-Latn"));
        assert!(!valid_lang("x") && !valid_lang("<script>") && !valid_lang(&"a".repeat(20)));
    }
}
