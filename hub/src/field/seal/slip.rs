//! The printed receipt slip: everything a slip needs (hub name, procedure title in every language the
//! catalogue has, receipt code, tracking number and tracking URL, the originals to bring, the due date
//! counted in working days), and the tracking QR — a phone camera opens URLs, not `OKR1:` text, so the
//! slip carries a second QR with `<scheme>://<host>/#/r/<CODE>` leading to the public receipt status.
//! The due date and the originals list are shared with the public status (`selfservice`).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use protocol::{Condition, ProcedureDef, ReceiptCode, Text, Visit};
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Weekday};

use super::engine::{self, Receipt};
use crate::shared::auth::FieldTeam;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(slip, track_png))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/receipts/{code}/slip", get(slip))
        .route("/api/v1/receipts/{code}/track.png", get(track_png))
}

/// One paper whose original the villager must show or bring.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Original {
    pub role: String,
    pub label: Text,
    /// `capture` (show at the session) or `pickup` (bring when collecting the result).
    pub visit: Visit,
    pub help: Option<Text>,
    /// When the paper is needed only in some cases: the case in plain words ("if …"). The hub no longer
    /// holds the sealed answers in plaintext, so a conditional paper is printed with its condition.
    pub only_if: Option<Text>,
}

/// The papers of `def` whose original is needed (`original: true`) or that are brought at pickup.
pub fn originals(def: &ProcedureDef) -> Vec<Original> {
    def.documents
        .iter()
        .filter(|d| d.original || d.visit == Visit::Pickup)
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

/// `from` plus `days` working days: counting starts the day after `from`; Saturdays and Sundays are
/// skipped. Public holidays are not known to the hub yet (the slip says so).
pub fn add_working_days(from: Date, days: u32) -> Date {
    let mut d = from;
    let mut left = days;
    while left > 0 {
        d += Duration::days(1);
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    d
}

/// The Vietnam (UTC+7) calendar date of an RFC 3339 instant.
pub fn vn_date(rfc3339: &str) -> Option<Date> {
    let t = OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    Some((t + Duration::hours(7)).date())
}

/// When and where the result is due: the legal time limit counted in working days from the sealing date.
#[derive(Debug, Clone, Serialize)]
pub struct Due {
    /// The Vietnam calendar date the dossier was sealed.
    pub sealed_on: String,
    pub time_limit_working_days: u32,
    pub time_limit_extended_working_days: Option<u32>,
    /// `sealed_on` + the time limit in working days (weekends skipped, public holidays not).
    pub due_by: String,
    /// The later date if the case needs verification (the extended limit), when the law has one.
    pub due_by_extended: Option<String>,
    /// Always true for now: public holidays are not yet known to the hub and are not skipped.
    pub excludes_public_holidays: bool,
    /// Where: the deciding authority (the commune office).
    pub authority: Text,
    pub note: Option<Text>,
}

pub fn due(def: &ProcedureDef, sealed_at: &str) -> Due {
    let on = vn_date(sealed_at).unwrap_or_else(crate::shared::clock::today_vn);
    Due {
        sealed_on: on.to_string(),
        time_limit_working_days: def.time_limit_working_days,
        time_limit_extended_working_days: def.time_limit_extended_working_days,
        due_by: add_working_days(on, def.time_limit_working_days).to_string(),
        due_by_extended: def
            .time_limit_extended_working_days
            .map(|n| add_working_days(on, n).to_string()),
        excludes_public_holidays: true,
        authority: def.authority.clone(),
        note: def.time_limit_note.clone(),
    }
}

/// The hub's definition of a receipt's procedure (with this hub's configured time limits).
pub fn definition<'a>(st: &'a AppState, r: &protocol::ProcedureRef) -> Option<&'a ProcedureDef> {
    st.procedures
        .iter()
        .find(|d| d.id == r.id && d.version == r.version)
}

/// The tracking URL of `code` on the hub the request reached: `<scheme>://<host>/#/r/<CODE>?k=<KEY>`
/// (`KEY` = the receipt's tracking key, see `tracking::tracking_key`).
/// `scheme` is `https` when the client says so (`?scheme=https`, the page's own protocol) or the request
/// URI carries it; the host is the request's `Host` header, refused unless it is a plain host[:port].
pub fn tracking_url(
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    scheme: Option<&str>,
    code: &ReceiptCode,
    key: &ReceiptCode,
) -> Result<String, ApiError> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.host())
        .unwrap_or("");
    let ok = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !ok {
        return Err(ApiError::bad_request(
            "Không xác định được địa chỉ của trạm (tiêu đề Host).",
            "Cannot tell this hub's address (Host header).",
        ));
    }
    let https = scheme == Some("https") || uri.scheme_str() == Some("https");
    Ok(format!(
        "{}://{host}/#/r/{}?k={}",
        if https { "https" } else { "http" },
        code.compact(),
        key.compact()
    ))
}

#[derive(Debug, Deserialize)]
struct SlipQuery {
    scheme: Option<String>,
}

/// What the printed slip shows.
#[derive(Debug, Serialize)]
struct Slip {
    hub_name: String,
    #[serde(flatten)]
    receipt: Receipt,
    /// Compact code (no hyphens), as in the tracking URL.
    code_compact: String,
    /// The tracking key (display form), printed under the tracking QR for typing the lookup by hand.
    tracking_key: String,
    tracking_url: String,
    authority: Text,
    originals: Vec<Original>,
    due: Due,
    /// Where to go: the commune office; the next outreach session when one is known (none yet).
    next_session: Option<serde_json::Value>,
    /// The languages the slip can be printed in besides Vietnamese (procedure title and labels).
    languages: Vec<String>,
}

async fn find(st: &AppState, code: &str) -> Result<(ReceiptCode, Receipt, ReceiptCode), ApiError> {
    let code = ReceiptCode::parse(code).map_err(|_| {
        ApiError::bad_request(
            "Mã biên nhận không đúng dạng (ví dụ ABCD-EFGH-J).",
            "The receipt code is not valid (e.g. ABCD-EFGH-J).",
        )
        .with_field("code")
    })?;
    let c2 = code.clone();
    let (r, key) = st
        .db
        .call(move |c| {
            Ok(match engine::receipt(c, &c2)? {
                Some(r) => Some((r, super::tracking::tracking_key(c, &c2)?)),
                None => None,
            })
        })
        .await?
        .ok_or_else(|| ApiError::not_found("biên nhận", "Receipt"))?;
    Ok((code, r, key))
}

/// Everything the printed receipt slip shows (receipt, tracking URL and key, originals, due date).
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/slip",
    operation_id = "seal_slip",
    tag = "seal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(
        ("code" = String, Path, description = "Receipt code, e.g. ABCD-EFGH-J"),
        ("scheme" = Option<String>, Query, description = "`https` when the page was served over HTTPS (the tracking URL's scheme)"),
    ),
    responses(
        (status = 200, description = "The receipt's keys plus `hub_name, code_compact, tracking_key, tracking_url, authority, originals, due, next_session, languages`", body = Object),
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
    let (code, r, key) = find(&st, &code).await?;
    let tracking_url = tracking_url(&headers, &uri, q.scheme.as_deref(), &code, &key)?;
    let def = definition(&st, &r.procedure)
        .ok_or_else(|| ApiError::not_found("thủ tục của biên nhận", "Receipt's procedure"))?;
    let mut languages = vec!["en".to_owned()];
    languages.extend(def.title.more.keys().cloned());
    Ok(Json(Slip {
        hub_name: st.name.clone(),
        code_compact: code.compact(),
        tracking_key: key.to_string(),
        tracking_url,
        authority: def.authority.clone(),
        // A refusal or a cancellation asks for nothing more.
        originals: if matches!(r.disposition.as_str(), "refused" | "voids") {
            Vec::new()
        } else {
            originals(def)
        },
        due: due(def, &r.sealed_at),
        next_session: None,
        languages,
        receipt: r,
    }))
}

/// PNG of the tracking URL's QR.
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/track.png",
    operation_id = "seal_track_png",
    tag = "seal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(
        ("code" = String, Path, description = "Receipt code, e.g. ABCD-EFGH-J"),
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
    let (code, _, key) = find(&st, &code).await?;
    let url = tracking_url(&headers, &uri, q.scheme.as_deref(), &code, &key)?;
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
    fn working_days_skip_weekends() {
        // Friday + 3 working days = Wednesday.
        assert_eq!(
            add_working_days(date!(2026 - 11 - 20), 3),
            date!(2026 - 11 - 25)
        );
        // Saturday + 1 = Monday; Sunday + 5 = next Friday.
        assert_eq!(
            add_working_days(date!(2026 - 11 - 21), 1),
            date!(2026 - 11 - 23)
        );
        assert_eq!(
            add_working_days(date!(2026 - 11 - 22), 5),
            date!(2026 - 11 - 27)
        );
        // Monday + 23 = 4 weeks and 3 days later (Thursday).
        assert_eq!(
            add_working_days(date!(2026 - 11 - 23), 23),
            date!(2026 - 12 - 24)
        );
        assert_eq!(
            add_working_days(date!(2026 - 11 - 23), 0),
            date!(2026 - 11 - 23)
        );
    }

    #[test]
    fn vietnam_date_of_a_utc_instant() {
        assert_eq!(vn_date("2026-11-20T17:30:00Z"), Some(date!(2026 - 11 - 21)));
        assert_eq!(vn_date("2026-11-20T16:59:59Z"), Some(date!(2026 - 11 - 20)));
        assert_eq!(vn_date("nonsense"), None);
    }

    #[test]
    fn originals_of_the_marital_status_certificate() {
        let def = protocol::catalogue()
            .iter()
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

    #[test]
    fn tracking_url_uses_the_host_and_refuses_odd_ones() {
        let code = ReceiptCode::derive(&protocol::DeviceId::parse("56475aa75463474c").unwrap(), 1);
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "192.168.4.1:8080".parse().unwrap());
        let uri: axum::http::Uri = "/api/v1/receipts/x/slip".parse().unwrap();
        let key = ReceiptCode::from_entropy([1, 2, 3, 4, 5]);
        let u = tracking_url(&h, &uri, None, &code, &key).unwrap();
        assert_eq!(
            u,
            format!(
                "http://192.168.4.1:8080/#/r/{}?k={}",
                code.compact(),
                key.compact()
            )
        );
        let u = tracking_url(&h, &uri, Some("https"), &code, &key).unwrap();
        assert!(u.starts_with("https://192.168.4.1:8080/#/r/"));
        h.insert(header::HOST, "evil.example/x?".parse().unwrap());
        assert!(tracking_url(&h, &uri, None, &code, &key).is_err());
    }
}
