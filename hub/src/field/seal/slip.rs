//! The printed receipt slip: everything a slip needs (hub name, procedure title in every language the
//! catalogue has, receipt code, tracking number and tracking URL, the originals to bring, the due date
//! counted in working days), and the tracking QR — a phone camera opens URLs, not `OKR1:` text, so the
//! slip's one QR is `<scheme>://<host>/#/r/<CODE>?k=<KEY>`, leading to the public receipt status (the
//! signed `OKR1:` QR stays on the receipt screen and the A5 layout, for officers to verify offline).
//!
//! What a slip needs beyond the receipt is recorded when sealing (table `receipt_slips`, no personal
//! data): the villager's language chosen at capture, and the roles of the papers whose original applies
//! to this dossier, worked out from the answers while the hub still holds them. A receipt sealed before
//! that record existed prints every paper with its condition, as before.
//! The due date and the originals list are shared with the public status (`selfservice`).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use protocol::{Condition, ProcedureDef, ReceiptCode, Text, Visit};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, Duration, OffsetDateTime};

use super::engine::{self, Receipt};
use crate::shared::auth::FieldTeam;
use crate::shared::deadline;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;
use crate::shared::store::{StoreError, StoreResult};

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(slip, track_png), components(schemas(Slip, Original, Due)))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/receipts/{code}/slip", get(slip))
        .route("/api/v1/receipts/{code}/track.png", get(track_png))
}

/// One paper whose original the villager must show or bring.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = SlipOriginal)]
pub struct Original {
    /// The paper's role in the procedure (its document id).
    pub role: String,
    #[schema(value_type = crate::shared::api_doc::field_schemas::Text)]
    pub label: Text,
    /// `capture` (show at the session) or `pickup` (bring when collecting the result).
    #[schema(value_type = crate::shared::api_doc::field_schemas::Visit)]
    pub visit: Visit,
    #[schema(value_type = Option<crate::shared::api_doc::field_schemas::Text>)]
    pub help: Option<Text>,
    /// When the paper is needed only in some cases: the case in plain words ("if …"). The hub no longer
    /// holds the sealed answers in plaintext, so a conditional paper is printed with its condition.
    #[schema(value_type = Option<crate::shared::api_doc::field_schemas::Text>)]
    pub only_if: Option<Text>,
}

/// Whether the villager shows or brings `d`'s original: it is needed (`original: true`) or brought at
/// pickup.
fn is_original(d: &protocol::DocumentDef) -> bool {
    d.original || d.visit == Visit::Pickup
}

/// The roles of the papers of `def` whose original applies to a dossier with these answers (`fields`,
/// derived values included) and photos (`photo_roles`): a paper always needed, one whose condition holds
/// for these answers, and an optional one ("if you have it") the team photographed. Catalogue order.
pub fn applicable_originals(
    def: &ProcedureDef,
    fields: &BTreeMap<String, String>,
    photo_roles: &[String],
) -> Vec<String> {
    def.documents
        .iter()
        .filter(|d| is_original(d))
        .filter(|d| d.required_for(fields) || photo_roles.contains(&d.role))
        .map(|d| d.role.clone())
        .collect()
}

/// The papers named by `roles` (as recorded at sealing, see [`applicable_originals`]), in catalogue
/// order, with no condition: they apply to this dossier.
pub fn originals_of(def: &ProcedureDef, roles: &[String]) -> Vec<Original> {
    def.documents
        .iter()
        .filter(|d| is_original(d) && roles.contains(&d.role))
        .map(|d| Original {
            role: d.role.clone(),
            label: d.label.clone(),
            visit: d.visit,
            help: d.help.clone(),
            only_if: None,
        })
        .collect()
}

/// Every paper of `def` whose original may be needed, a conditional one with its condition: what a slip
/// shows when the answers are not known (a receipt sealed before the slip record existed).
pub fn originals(def: &ProcedureDef) -> Vec<Original> {
    def.documents
        .iter()
        .filter(|d| is_original(d))
        .map(|d| Original {
            role: d.role.clone(),
            label: d.label.clone(),
            visit: d.visit,
            help: d.help.clone(),
            only_if: if d.required {
                None
            } else {
                Some(
                    d.required_if
                        .as_ref()
                        .map(|c| condition_text(def, c))
                        .unwrap_or_else(|| Text {
                            vi: "nếu có".into(),
                            en: "if you have it".into(),
                            more: Default::default(),
                            audio: Default::default(),
                        }),
                )
            },
        })
        .collect()
}

/// "If <field label>: <option label>" (or "… is not …") in Vietnamese and English (and the further
/// languages both labels have).
fn condition_text(def: &ProcedureDef, c: &Condition) -> Text {
    let field = def.field(&c.field);
    let label = field.map(|f| f.label.clone());
    let value = c
        .equals
        .as_deref()
        .or(c.not_equals.as_deref())
        .unwrap_or("");
    let option = field
        .and_then(|f| f.options.iter().find(|o| o.value == value))
        .map(|o| o.label.clone());
    let pick = |t: &Option<Text>, lang: &str, fallback: &str| -> String {
        t.as_ref()
            .map(|t| match lang {
                "vi" => t.vi.clone(),
                "en" => t.en.clone(),
                other => t.more.get(other).cloned().unwrap_or_else(|| t.en.clone()),
            })
            .unwrap_or_else(|| fallback.to_owned())
    };
    let neg = c.equals.is_none();
    let make = |lang: &str| {
        let (l, v) = (pick(&label, lang, &c.field), pick(&option, lang, value));
        match (lang, neg) {
            ("vi", false) => format!("nếu {l}: {v}"),
            ("vi", true) => format!("nếu {l}: không phải {v}"),
            (_, false) => format!("if {l}: {v}"),
            (_, true) => format!("if {l}: not {v}"),
        }
    };
    Text {
        vi: make("vi"),
        en: make("en"),
        more: Default::default(),
        audio: Default::default(),
    }
}

/// What the slip of one sealed dossier records beyond its receipt (table `receipt_slips`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipRecord {
    /// The villager's language, chosen at capture (`vi`: the slip is in Vietnamese only).
    pub lang: String,
    /// The roles of the papers whose original applies to this dossier.
    pub originals: Vec<String>,
}

/// Records the slip of the dossier `dossier_id` (inside the sealing transaction).
pub fn record(c: &Connection, dossier_id: &str, r: &SlipRecord) -> StoreResult<()> {
    let roles = serde_json::to_string(&r.originals)
        .map_err(|e| StoreError::Corrupt(format!("slip originals: {e}")))?;
    c.execute(
        "INSERT INTO receipt_slips(dossier_id, lang, originals) VALUES (?1, ?2, ?3)",
        params![dossier_id, r.lang, roles],
    )
    .map_err(StoreError::classify)?;
    Ok(())
}

/// The slip record of the dossier `dossier_id`; `None` for a receipt sealed before records existed.
pub fn slip_record(c: &Connection, dossier_id: &str) -> StoreResult<Option<SlipRecord>> {
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT lang, originals FROM receipt_slips WHERE dossier_id = ?1",
            [dossier_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(lang, roles)| {
        let originals = serde_json::from_str(&roles)
            .map_err(|e| StoreError::Corrupt(format!("slip originals of {dossier_id}: {e}")))?;
        Ok(SlipRecord { lang, originals })
    })
    .transpose()
}

/// The slip record of the receipt `code` (display form, as in `receipts.code`).
pub fn slip_record_of_code(c: &Connection, code: &str) -> StoreResult<Option<SlipRecord>> {
    let id: Option<String> = c
        .query_row(
            "SELECT dossier_id FROM receipts WHERE code = ?1",
            [code],
            |r| r.get(0),
        )
        .optional()?;
    match id {
        Some(id) => slip_record(c, &id),
        None => Ok(None),
    }
}

/// The papers a slip or the public status lists: those recorded for this dossier at sealing, else
/// (older receipts) every one that may be needed, with its condition.
pub fn originals_for(def: &ProcedureDef, rec: Option<&SlipRecord>) -> Vec<Original> {
    match rec {
        Some(rec) => originals_of(def, &rec.originals),
        None => originals(def),
    }
}

/// The villager's language for a slip as a request names it (`slip_lang`): a written language this hub
/// carries (Vietnamese, English, or one an admin added with a script). `None` (not given) is Vietnamese.
pub async fn slip_lang(st: &AppState, lang: Option<String>) -> Result<String, ApiError> {
    let Some(code) = lang.map(|l| l.trim().to_ascii_lowercase()) else {
        return Ok("vi".into());
    };
    let c2 = code.clone();
    let known = st
        .db
        .call(move |c| crate::shared::lang::store::get(c, &c2))
        .await?;
    match known {
        Some(l) if l.has_script => Ok(code),
        _ => Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_language",
            "Ngôn ngữ in trên phiếu hẹn không có trên trạm này (hoặc chưa có chữ viết).",
            "The slip's language is not one this hub carries (or it has no script).",
        )
        .with_field("slip_lang")),
    }
}

/// The Vietnam (UTC+7) calendar date of an RFC 3339 instant.
pub fn vn_date(rfc3339: &str) -> Option<Date> {
    let t = OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t + Duration::hours(7)).date())
}

/// When and where the result is due: the legal time limit in working days from the sealing time, counted
/// by `shared::deadline` (the same function as the office's casework).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = SlipDue)]
pub struct Due {
    /// The Vietnam calendar date the dossier was sealed (received by the officer).
    #[schema(format = Date)]
    pub sealed_on: String,
    /// Day 1 of the count: the next working day, or — for the 3-in-1 received on a working day before
    /// 15:00 — the sealing day.
    #[schema(format = Date)]
    pub counted_from: String,
    pub time_limit_working_days: u32,
    pub time_limit_extended_working_days: Option<u32>,
    /// The last working day of the limit (weekends and the hub's holiday list skipped).
    #[schema(format = Date)]
    pub due_by: String,
    /// The later date if the case needs verification (the extended limit), when the law has one.
    #[schema(format = Date)]
    pub due_by_extended: Option<String>,
    /// Public holidays are not counted: always true (the hub's holiday list, `--holidays`).
    pub excludes_public_holidays: bool,
    /// Whether the hub's holiday list covers every year up to the due date; when not, a holiday there is
    /// unknown and the date may move later (the slip and the status page say so).
    pub holidays_known: bool,
    /// Where: the deciding authority (the commune office).
    #[schema(value_type = crate::shared::api_doc::field_schemas::Text)]
    pub authority: Text,
    #[schema(value_type = Option<crate::shared::api_doc::field_schemas::Text>)]
    pub note: Option<Text>,
}

/// The due date of a dossier of `def` (this hub's definition, time limits applied) sealed at `sealed_at`,
/// with this hub's holiday calendar.
pub fn due(st: &AppState, def: &ProcedureDef, sealed_at: &str) -> Due {
    let default_rules;
    let rules = match st.parts.get::<deadline::Rules>() {
        Some(r) => r,
        None => {
            default_rules = deadline::Rules::default();
            &default_rules
        }
    };
    due_with(def, sealed_at, &rules.calendar)
}

/// [`due`] with calendar `cal`.
pub fn due_with(def: &ProcedureDef, sealed_at: &str, cal: &deadline::Calendar) -> Due {
    let limit = deadline::Limit::of(def);
    let t = OffsetDateTime::parse(sealed_at, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| crate::shared::clock::now_utc());
    let dl = deadline::deadline(&def.id, limit, t, cal);
    Due {
        sealed_on: dl.received_on.to_string(),
        counted_from: dl.first_day.to_string(),
        time_limit_working_days: limit.working_days,
        time_limit_extended_working_days: limit.extended_working_days,
        due_by: dl.due_on.to_string(),
        due_by_extended: dl.due_on_extended.map(|d| d.to_string()),
        excludes_public_holidays: true,
        holidays_known: dl.holidays_known,
        authority: def.authority.clone(),
        note: def.time_limit_note.clone(),
    }
}

/// The hub's definition of a receipt's procedure (with this hub's configured time limits).
pub fn definition(st: &AppState, r: &protocol::ProcedureRef) -> Option<ProcedureDef> {
    st.procedures.get(r)
}

/// The tracking URL of `code` on the hub the request reached: `<scheme>://<host>:<port>/#/r/<CODE>?k=<KEY>`
/// (`KEY` = the receipt's tracking key, see `tracking::tracking_key`).
/// `scheme` is `https` when the client says so (`?scheme=https`, the page's own protocol) or the request
/// URI carries it. The host is the request's (`Host` header, else the URI's authority), refused unless
/// it is a plain host[:port]; the base URL is then made by the join page's rule
/// ([`crate::shared::join::qr_base_url`] with the hub's `info`): a loopback host (`localhost`, `127.x`,
/// `[::1]`: the slip printed from the hub's own screen) is replaced with the hub's LAN address, since a
/// villager's phone cannot open the hub laptop's `localhost`.
pub fn tracking_url(
    info: Option<&crate::shared::join::JoinInfo>,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    scheme: Option<&str>,
    code: &ReceiptCode,
    key: &ReceiptCode,
) -> Result<String, ApiError> {
    let raw = match headers.get(header::HOST) {
        Some(v) => v.to_str().ok(),
        None => uri.authority().map(|a| a.as_str()),
    };
    let https = scheme == Some("https") || uri.scheme_str() == Some("https");
    let req = crate::shared::join::parse_host(raw);
    let base = req.as_ref().and_then(|r| {
        crate::shared::join::qr_base_url(info, https, Some(r))
            // `?scheme=https` on a hub that serves no HTTPS itself (a TLS proxy in front of it): the
            // address the page was reached at, as sent.
            .or_else(|| crate::shared::join::qr_base_url(None, https, Some(r)))
    });
    let Some(base) = base else {
        return Err(ApiError::bad_request(
            "Không xác định được địa chỉ của trạm (tiêu đề Host).",
            "Cannot tell this hub's address (Host header).",
        ));
    };
    Ok(format!("{base}#/r/{}?k={}", code.compact(), key.compact()))
}

/// The hub's join information, when it runs under `serve` (see [`crate::shared::join::Published`]).
fn join_info(st: &AppState) -> Option<&crate::shared::join::JoinInfo> {
    st.parts
        .get::<crate::shared::join::Published>()
        .and_then(|p| p.get())
}

#[derive(Debug, Deserialize)]
struct SlipQuery {
    scheme: Option<String>,
}

/// What the printed slip shows: the receipt's members plus the rest.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Slip {
    pub hub_name: String,
    #[serde(flatten)]
    pub receipt: Receipt,
    /// Compact code (no hyphens), as in the tracking URL.
    pub code_compact: String,
    /// The tracking key (display form), printed under the tracking QR for typing the lookup by hand.
    pub tracking_key: String,
    pub tracking_url: String,
    /// The deciding authority.
    #[schema(value_type = crate::shared::api_doc::field_schemas::Text)]
    pub authority: Text,
    /// The papers to show or bring: those that apply to this dossier when `originals_apply`, else
    /// every one that may be needed, a conditional one with its condition (`only_if`).
    pub originals: Vec<Original>,
    /// Whether `originals` are the papers worked out for this dossier when it was sealed.
    pub originals_apply: bool,
    /// The villager's language chosen at capture, printed first (`vi`: Vietnamese only); `null` for a
    /// receipt sealed before the choice was recorded.
    pub lang: Option<String>,
    pub due: Due,
    /// Where to go: the commune office; the next outreach session when one is known (none yet).
    #[schema(value_type = Option<Object>)]
    pub next_session: Option<serde_json::Value>,
    /// The written languages this hub carries, Vietnamese first: what the slip can be printed in.
    pub languages: Vec<String>,
}

/// The receipt, its tracking key, and its slip record if it has one.
type Found = (ReceiptCode, Receipt, ReceiptCode, Option<SlipRecord>);

async fn find(st: &AppState, code: &str) -> Result<Found, ApiError> {
    let code = ReceiptCode::parse(code).map_err(|_| {
        ApiError::bad_request(
            "Mã biên nhận không đúng dạng: 14 chữ số, ví dụ 0576-4731-3978-80 (mã cũ: 9 ký tự, ví dụ GRW7-M2JC-F).",
            "The receipt code is not valid: 14 digits, e.g. 0576-4731-3978-80 (older codes: 9 symbols, e.g. GRW7-M2JC-F).",
        )
        .with_field("code")
    })?;
    let c2 = code.clone();
    let (r, key, rec) = st
        .db
        .call(move |c| {
            Ok(match engine::receipt(c, &c2)? {
                Some(r) => {
                    let key = super::tracking::tracking_key(c, &c2)?;
                    let rec = slip_record(c, &r.dossier_id)?;
                    Some((r, key, rec))
                }
                None => None,
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("biên nhận", "Receipt"))?;
    Ok((code, r, key, rec))
}

/// Everything the printed receipt slip shows (receipt, tracking URL and key, originals, due date).
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/slip",
    operation_id = "seal_slip",
    tag = "seal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(
        ("code" = String, Path, description = "Receipt code, e.g. 0576-4731-3978-80 or, issued before digit codes, GRW7-M2JC-F"),
        ("scheme" = Option<String>, Query, description = "`https` when the page was served over HTTPS (the tracking URL's scheme)"),
    ),
    responses(
        (status = 200, description = "The receipt's members plus what the slip prints", body = Slip),
        (status = 400, description = "Not a receipt code, or an unusable Host header", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No such receipt, or its procedure is unknown", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn slip(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    FieldTeam(_user): FieldTeam,
    Path(code): Path<String>,
    Query(q): Query<SlipQuery>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Json<Slip>, ApiError> {
    slip_of(&st, &code, &headers, &uri, q.scheme.as_deref())
        .await
        .map(Json)
}

/// Everything the slip of receipt `code` shows (also what the thermal printer prints); the tracking URL
/// from the request's `Host` and `scheme` (see [`tracking_url`]).
pub async fn slip_of(
    st: &AppState,
    code: &str,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    scheme: Option<&str>,
) -> Result<Slip, ApiError> {
    let (code, r, key, rec) = find(st, code).await?;
    let tracking_url = tracking_url(join_info(st), headers, uri, scheme, &code, &key)?;
    let def = definition(st, &r.procedure)
        .ok_or_else(|| ApiError::not_found("thủ tục của biên nhận", "Receipt's procedure"))?;
    let languages = st
        .db
        .call(|c| crate::shared::lang::store::list(c))
        .await?
        .into_iter()
        .filter(|l| l.has_script)
        .map(|l| l.code)
        .collect();
    Ok(Slip {
        hub_name: st.name.clone(),
        code_compact: code.compact(),
        tracking_key: key.to_string(),
        tracking_url,
        authority: def.authority.clone(),
        // A refusal or a cancellation asks for nothing more.
        originals: if matches!(r.disposition.as_str(), "refused" | "voids") {
            Vec::new()
        } else {
            originals_for(&def, rec.as_ref())
        },
        originals_apply: rec.is_some(),
        lang: rec.map(|r| r.lang),
        due: due(st, &def, &r.sealed_at),
        next_session: None,
        languages,
        receipt: r,
    })
}

/// PNG of the tracking URL's QR.
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/track.png",
    operation_id = "seal_track_png",
    tag = "seal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(
        ("code" = String, Path, description = "Receipt code, e.g. 0576-4731-3978-80 or, issued before digit codes, GRW7-M2JC-F"),
        ("scheme" = Option<String>, Query, description = "`https` when the page was served over HTTPS (the tracking URL's scheme)"),
    ),
    responses(
        (status = 200, description = "QR of the tracking URL", content_type = "image/png", body = Vec<u8>),
        (status = 400, description = "Not a receipt code, or an unusable Host header", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn track_png(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    FieldTeam(_user): FieldTeam,
    Path(code): Path<String>,
    Query(q): Query<SlipQuery>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    let (code, _, key, _) = find(&st, &code).await?;
    let url = tracking_url(
        join_info(&st),
        &headers,
        &uri,
        q.scheme.as_deref(),
        &code,
        &key,
    )?;
    let png = crate::shared::qr::png(&url).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        png,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_slip_counts_with_the_shared_rule_and_the_configured_limit() {
        let cal = deadline::Calendar::builtin();
        let applied =
            crate::shared::procedures::with_limits(&[("marital-status-certificate".to_owned(), 5)]);
        let marital = applied
            .iter()
            .find(|d| d.id == "marital-status-certificate")
            .unwrap();
        // Wednesday 30/12/2026 10:00 in Vietnam: day 1 is Thursday; New Year's Day is skipped.
        let d = due_with(marital, "2026-12-30T03:00:00Z", cal);
        assert_eq!(
            (
                d.sealed_on.as_str(),
                d.counted_from.as_str(),
                d.due_by.as_str()
            ),
            ("2026-12-30", "2026-12-31", "2027-01-07")
        );
        assert_eq!(d.time_limit_working_days, 5);
        assert!(d.holidays_known);
        let three = crate::shared::procedures::all()
            .into_iter()
            .find(|d| d.id == "birth-residence-insurance")
            .unwrap();
        // 14:30 and 15:30 local the same day: the 15:00 rule.
        let before = due_with(three, "2026-12-30T07:30:00Z", cal);
        let after = due_with(three, "2026-12-30T08:30:00Z", cal);
        assert_eq!(
            (before.due_by.as_str(), after.due_by.as_str()),
            ("2027-01-04", "2027-01-05")
        );
        assert_eq!(before.due_by_extended.as_deref(), Some("2027-01-06"));
    }

    #[test]
    fn vietnam_date_of_a_utc_instant() {
        assert_eq!(vn_date("2026-11-20T17:30:00Z"), Some(date!(2026 - 11 - 21)));
        assert_eq!(vn_date("2026-11-20T16:59:59Z"), Some(date!(2026 - 11 - 20)));
        assert_eq!(vn_date("nonsense"), None);
    }

    #[test]
    fn originals_of_the_marital_status_certificate() {
        let def = crate::shared::procedures::all()
            .into_iter()
            .find(|d| d.id == "marital-status-certificate")
            .unwrap();
        let o = originals(def);
        let roles: Vec<&str> = o.iter().map(|x| x.role.as_str()).collect();
        assert_eq!(
            roles,
            [
                "id_document",
                "previous_certificate",
                "authorisation_letter"
            ]
        );
        assert!(o[0].only_if.is_none());
        let cond = o[2].only_if.as_ref().unwrap();
        assert!(
            cond.vi.starts_with("nếu ") && cond.vi.contains("không phải"),
            "{}",
            cond.vi
        );
        assert!(
            cond.en.starts_with("if ") && cond.en.contains("not "),
            "{}",
            cond.en
        );
    }

    fn def_of(id: &str) -> &'static ProcedureDef {
        crate::shared::procedures::all()
            .into_iter()
            .find(|d| d.id == id)
            .unwrap()
    }

    fn answers(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn only_the_papers_that_apply_to_the_answers() {
        let m = def_of("marital-status-certificate");
        // Asking for oneself, never married, no earlier certificate: the identity document only.
        let own = answers(&[
            ("requester.relationship", "self"),
            ("subject.marital_status", "never_married"),
        ]);
        assert_eq!(applicable_originals(m, &own, &[]), ["id_document"]);
        // For someone else: the letter of authorisation too; an earlier certificate the team
        // photographed ("if you have it") is handed in as well.
        let other = answers(&[
            ("requester.relationship", "other"),
            ("subject.marital_status", "divorced"),
        ]);
        assert_eq!(
            applicable_originals(m, &other, &["previous_certificate".to_string()]),
            [
                "id_document",
                "previous_certificate",
                "authorisation_letter"
            ]
        );
        // 3-in-1 born at a health facility: its birth certificate, and the filer's ID at pickup; not
        // the witness statement, the other proof, the letter of authorisation or the head's consent.
        let b = def_of("birth-residence-insurance");
        let facility = answers(&[
            ("birth.proof", "facility"),
            ("requester.relationship", "mother"),
            ("residence.head_is", "mother"),
        ]);
        let roles = applicable_originals(b, &facility, &[]);
        assert_eq!(roles, ["birth_certificate", "requester_id"]);
        let shown = originals_of(b, &roles);
        assert_eq!(shown.len(), 2);
        assert!(shown.iter().all(|o| o.only_if.is_none()));
        assert_eq!(shown[1].visit, Visit::Pickup);
        // Without the record (older receipts): every paper that may be needed, with its condition.
        let all = originals(b);
        assert_eq!(all.len(), 6);
        assert_eq!(all.iter().filter(|o| o.only_if.is_some()).count(), 5);
    }

    #[test]
    fn the_slip_record_is_kept_per_dossier() {
        let c = crate::shared::store::open_memory().unwrap();
        c.execute(
            "INSERT INTO receipts(dossier_id, code, procedure_id, procedure_version, sealed_at, sealed_by)
             VALUES ('d1', 'C1', 'marital-status-certificate', 1, '2026-11-20T03:00:00Z', 'u1')",
            [],
        )
        .unwrap();
        assert_eq!(
            slip_record(&c, "d1").unwrap(),
            None,
            "no record: older receipt"
        );
        let rec = SlipRecord {
            lang: "stg".into(),
            originals: vec!["id_document".into(), "authorisation_letter".into()],
        };
        record(&c, "d1", &rec).unwrap();
        assert_eq!(slip_record(&c, "d1").unwrap(), Some(rec.clone()));
        assert!(record(&c, "d1", &rec).is_err(), "one record per dossier");
        assert!(
            record(&c, "nope", &rec).is_err(),
            "only for a sealed dossier"
        );
    }

    #[test]
    fn tracking_url_uses_the_host_and_refuses_odd_ones() {
        let code = ReceiptCode::derive(&protocol::DeviceId::parse("56475aa75463474c").unwrap(), 1);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "192.168.4.1:8080".parse().unwrap());
        let uri: axum::http::Uri = "/api/v1/receipts/x/slip".parse().unwrap();
        let key = ReceiptCode::from_entropy([1, 2, 3, 4, 5]);
        let u = tracking_url(None, &h, &uri, None, &code, &key).unwrap();
        assert_eq!(
            u,
            format!(
                "http://192.168.4.1:8080/#/r/{}?k={}",
                code.compact(),
                key.compact()
            )
        );
        let u = tracking_url(None, &h, &uri, Some("https"), &code, &key).unwrap();
        assert!(u.starts_with("https://192.168.4.1:8080/#/r/"));
        for odd in ["evil.example/x?", "a b:80", "x:80;WIFI:", "[::1]x"] {
            h.insert(header::HOST, odd.parse().unwrap());
            assert!(
                tracking_url(None, &h, &uri, None, &code, &key).is_err(),
                "{odd}"
            );
        }
        h.remove(header::HOST);
        assert!(tracking_url(None, &h, &uri, None, &code, &key).is_err());
    }

    /// A hub listening on every interface, with a LAN address and HTTPS, as `serve` describes it.
    fn lan_hub() -> crate::shared::join::JoinInfo {
        use crate::shared::join::{Endpoint, JoinInfo};
        JoinInfo {
            host: "tram.local".into(),
            host_advertised: true,
            http: Endpoint {
                port: 8080,
                ips: vec!["192.168.4.1".parse().unwrap(), "127.0.0.1".parse().unwrap()],
            },
            https: Some(Endpoint {
                port: 8443,
                ips: vec!["192.168.4.1".parse().unwrap()],
            }),
            wifi: None,
            ca: None,
        }
    }

    #[test]
    fn tracking_url_never_points_at_loopback_when_the_hub_has_a_lan_address() {
        let code = ReceiptCode::derive(&protocol::DeviceId::parse("56475aa75463474c").unwrap(), 1);
        let key = ReceiptCode::from_entropy([1, 2, 3, 4, 5]);
        let tail = format!("#/r/{}?k={}", code.compact(), key.compact());
        let info = lan_hub();
        let uri: axum::http::Uri = "/api/v1/receipts/x/track.png".parse().unwrap();
        let at = |host: &str, scheme: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, host.parse().unwrap());
            tracking_url(Some(&info), &h, &uri, scheme, &code, &key)
        };
        // The slip printed from the hub's own screen: the LAN address (not the `.local` name, which many
        // phones cannot resolve), the listener's port.
        for host in [
            "localhost:8080",
            "LOCALHOST",
            "127.0.0.1:8080",
            "127.1.2.3:8080",
            "[::1]:8080",
        ] {
            assert_eq!(
                at(host, None).unwrap(),
                format!("http://192.168.4.1:8080/{tail}"),
                "{host}"
            );
            assert_eq!(
                at(host, Some("https")).unwrap(),
                format!("https://192.168.4.1:8443/{tail}"),
                "{host}"
            );
        }
        // A name or address a phone used is kept, as on the join page.
        assert_eq!(
            at("tram.test:8080", None).unwrap(),
            format!("http://tram.test:8080/{tail}")
        );
        assert_eq!(
            at("[fd00::1]:8080", None).unwrap(),
            format!("http://[fd00::1]:8080/{tail}")
        );
        // The same base as the join page's app QR, for every host.
        for host in ["localhost:8080", "192.168.4.1:8080", "tram.test"] {
            let req = crate::shared::join::parse_host(Some(host));
            let join = crate::shared::join::qr_base_url(Some(&info), false, req.as_ref()).unwrap();
            assert_eq!(at(host, None).unwrap(), format!("{join}{tail}"));
        }
        assert!(at("evil.example/x?", None).is_err());
        // `?scheme=https` on a hub serving no HTTPS itself (behind a TLS proxy): the address as sent.
        let mut no_tls = lan_hub();
        no_tls.https = None;
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "hub.commune.test".parse().unwrap());
        assert_eq!(
            tracking_url(Some(&no_tls), &h, &uri, Some("https"), &code, &key).unwrap(),
            format!("https://hub.commune.test/{tail}")
        );
        // HTTP/2: no Host header, the authority of the URI.
        let uri: axum::http::Uri = "http://localhost:8080/api/v1/receipts/x/track.png"
            .parse()
            .unwrap();
        assert_eq!(
            tracking_url(Some(&info), &HeaderMap::new(), &uri, None, &code, &key).unwrap(),
            format!("http://192.168.4.1:8080/{tail}")
        );
    }
}
