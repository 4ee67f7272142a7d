//! HTTP routes of the clock guard: the hub's time and whether it is plausible (`GET /api/v1/clock`), and
//! the one-tap confirmation from a phone (`POST /api/v1/clock/confirm`).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::HubMode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super as guard;
use super::Confirmation;
use crate::shared::audit;
use crate::shared::auth::{AuthUser, Responsible, Role};
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::AppState;
use crate::shared::store::write_tx;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(status, confirm), components(schemas(ClockStatus, ConfirmIn)))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/clock", get(status))
        .route("/api/v1/clock/confirm", post(confirm))
}

/// Who may confirm the time: officers and admins on a field hub, admins and clerks at the office (the
/// [`Responsible`] gate).
fn may_confirm(role: Role, mode: HubMode) -> bool {
    Responsible::ROLES.contains(&role) && role.exists_in(mode)
}

/// The hub's clock as `GET /api/v1/clock` shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClockStatus {
    /// The hub's time (corrected when confirmed), RFC 3339 UTC, and unix milliseconds.
    pub hub_time: String,
    pub hub_unix_ms: i64,
    pub plausible: bool,
    /// `before_build`, `behind_last_seal` or `behind_last_confirmed` when not plausible.
    pub reason: Option<&'static str>,
    /// The confirmation in effect in this boot, if any.
    pub confirmed_at: Option<String>,
    pub confirmed_by: Option<String>,
    /// Corrected minus system clock, seconds (0 without a confirmation).
    pub correction_seconds: i64,
    pub build_date: &'static str,
    pub last_seal_at: Option<String>,
    /// Whether the caller may confirm the time.
    pub can_confirm: bool,
}

fn status_of(facts: &guard::Facts, conf: Option<&Confirmation>, can_confirm: bool) -> ClockStatus {
    let now_ms = crate::shared::clock::now_unix_ms();
    let active = crate::shared::clock::anchor().is_some();
    let conf = conf.filter(|_| active);
    ClockStatus {
        hub_time: crate::shared::clock::rfc3339_of_ms(now_ms),
        hub_unix_ms: now_ms,
        plausible: guard::plausibility(facts).is_none(),
        reason: guard::plausibility(facts).map(guard::Reason::code),
        confirmed_at: conf.map(|k| k.confirmed_at.clone()),
        confirmed_by: conf.map(|k| k.by_role.clone()),
        correction_seconds: if active {
            (now_ms - crate::shared::clock::system_unix_ms()).div_euclid(1000)
        } else {
            0
        },
        build_date: crate::shared::clock::BUILD_DATE,
        last_seal_at: facts
            .last_seal
            .map(|s| crate::shared::clock::rfc3339_of_ms(s * 1000)),
        can_confirm,
    }
}

/// The hub's time and whether it is plausible; whether the caller may confirm it.
#[utoipa::path(
    get,
    path = "/api/v1/clock",
    operation_id = "clock_status",
    tag = "clock",
    security(("session" = [])),
    responses(
        (status = 200, body = ClockStatus),
        crate::shared::api_doc::Unauthenticated,
    )
)]
async fn status(State(st): State<AppState>, user: AuthUser) -> Result<Json<ClockStatus>, ApiError> {
    let mode = st.mode;
    let (facts, conf) = st
        .db
        .call(move |c| Ok((guard::facts(c, mode)?, guard::load(c)?)))
        .await?;
    let can = may_confirm(user.role, mode);
    Ok(Json(status_of(&facts, conf.as_ref(), can)))
}

/// `{"phone_time": <unix ms, the phone's Date.now()>, "really": true}` (`really`: the second tap that
/// takes a time behind the latest sealed dossier).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfirmIn {
    phone_time: i64,
    #[serde(default)]
    really: bool,
}

/// Confirms the hub's time from a phone's clock (one tap); refused when the phone's time is implausible
/// or, without `really`, behind the latest sealed dossier.
#[utoipa::path(
    post,
    path = "/api/v1/clock/confirm",
    operation_id = "clock_confirm",
    tag = "clock",
    security(("session" = ["officer", "clerk", "admin"], "csrf" = [])),
    request_body = ConfirmIn,
    responses(
        (status = 200, body = ClockStatus),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The phone's time is refused", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`clock_phone_wrong`: the phone's time is before the software's build date, or decades after it (field `phone_time`)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn confirm(
    State(st): State<AppState>,
    Responsible(user): Responsible,
    JsonBody(body): JsonBody<ConfirmIn>,
) -> Result<Json<ClockStatus>, ApiError> {
    let mode = st.mode;
    let role = user.role.as_str().to_owned();
    let (conf, facts) = st
        .db
        .call(move |c| {
            let before = guard::facts(c, mode)?;
            let refusal = guard::check_confirmation(
                body.phone_time.div_euclid(1000),
                before.build,
                before.last_seal,
                body.really,
            );
            if let Err(r) = refusal {
                return Ok(Err(r));
            }
            let tx = write_tx(c)?;
            let conf = guard::apply(&tx, body.phone_time, &role)?;
            audit::append(
                &tx,
                audit::Actor::user(&user.id, &user.name),
                &audit::Event {
                    action: "clock_confirmed",
                    detail: json!({
                        "role": role,
                        "hub_time_before": crate::shared::clock::rfc3339_of_ms(before.now * 1000),
                        "confirmed_time": conf.confirmed_at,
                        "correction_seconds": conf.correction_s,
                        "was_plausible": guard::plausibility(&before).is_none(),
                        "reason": guard::plausibility(&before).map(guard::Reason::code),
                        "behind_last_seal": body.really,
                    }),
                    ..Default::default()
                },
            )?;
            tx.commit()?;
            Ok(Ok((conf, before)))
        })
        .await?
        .map_err(guard::ConfirmRefusal::to_api)?;
    guard::activate(&conf);
    tracing::info!(
        role = %conf.by_role,
        correction_seconds = conf.correction_s,
        was_plausible = guard::plausibility(&facts).is_none(),
        "hub time confirmed from a phone"
    );
    let facts = guard::Facts {
        now: crate::shared::clock::now_unix(),
        confirmed_this_boot: true,
        ..facts
    };
    Ok(Json(status_of(&facts, Some(&conf), true)))
}
