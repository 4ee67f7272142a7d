//! HTTP routes of the thermal printer: its state, a receipt's ESC/POS bytes (what a phone sends over
//! Bluetooth), their preview as a PNG and as text lines, and printing on the hub's USB printer. Handlers
//! are thin: the slip's content comes from `seal::slip`, the layout from `slip_doc` and `page`, the bytes
//! from `escpos`, the device from `device`.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::device::{PrintError, Printer, Setting};
use super::page::{self, Page};
use super::profiles::{self, Profile};
use super::slip_doc::{self, Texts};
use super::store::{self, Printed};
use super::Settings;
use crate::field::seal::slip::slip_of;
use crate::shared::auth::FieldTeam;
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::{AppState, FieldOnly};

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    modifiers(&ProfileIds),
    paths(
    printer_state,
    escpos,
    thermal_png,
    thermal_lines,
    print,
    test_bytes,
    test_png,
    test_print
))]
pub struct ApiDoc;

/// Lists the printer profile ids (data: `profiles.json`) as the allowed values of every `profile` query
/// parameter and body member of these routes, so a client learns them from the document.
struct ProfileIds;

impl utoipa::Modify for ProfileIds {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{RefOr, Schema};
        let ids: Vec<serde_json::Value> = profiles::all()
            .iter()
            .map(|p| serde_json::Value::String(p.id.clone()))
            .collect();
        // A query parameter is a string or absent (empty: the hub's profile, as absent); a body member may
        // also be `null`.
        let query: Vec<serde_json::Value> = ids
            .iter()
            .cloned()
            .chain(std::iter::once(serde_json::Value::from("")))
            .collect();
        let nullable: Vec<serde_json::Value> = ids
            .iter()
            .cloned()
            .chain(std::iter::once(serde_json::Value::Null))
            .collect();
        let set = |schema: &mut RefOr<Schema>, values: &Vec<serde_json::Value>| {
            if let RefOr::T(Schema::Object(o)) = schema {
                o.enum_values = Some(values.clone());
            }
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                for p in op.parameters.iter_mut().flatten() {
                    if p.name == "profile" {
                        p.schema.iter_mut().for_each(|s| set(s, &query));
                    }
                }
            }
        }
        if let Some(c) = openapi.components.as_mut() {
            for name in ["PrintIn", "ProfileIn"] {
                if let Some(RefOr::T(Schema::Object(o))) = c.schemas.get_mut(name) {
                    if let Some(s) = o.properties.get_mut("profile") {
                        set(s, &nullable);
                    }
                }
            }
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/printer", get(printer_state))
        .route("/api/v1/receipts/{code}/escpos", get(escpos))
        .route("/api/v1/receipts/{code}/thermal.png", get(thermal_png))
        .route("/api/v1/receipts/{code}/thermal", get(thermal_lines))
        .route("/api/v1/receipts/{code}/print", post(print))
        .route("/api/v1/printer/test", post(test_print))
        .route("/api/v1/printer/test.escpos", get(test_bytes))
        .route("/api/v1/printer/test.png", get(test_png))
}

fn printer(st: &AppState) -> Result<&Arc<Printer>, ApiError> {
    st.parts
        .get::<Arc<Printer>>()
        .ok_or_else(|| ApiError::internal("printer not set up"))
}

fn default_profile(st: &AppState) -> &'static str {
    st.parts
        .get::<Settings>()
        .map(|s| s.printer_profile.as_str())
        .and_then(profiles::find)
        .map_or(profiles::DEFAULT, |p| p.id.as_str())
}

/// Which profile, language and scheme a render is for.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RenderQuery {
    /// Printer profile id (default: the hub's `--printer-profile`).
    profile: Option<String>,
    /// The villager's language (default: the one recorded at sealing).
    lang: Option<String>,
    /// `https` when the page is on HTTPS (the QR's URL).
    scheme: Option<String>,
}

/// One render of a receipt as a GET asks for it: the code from the path, profile, language and scheme from
/// the query, and the request's host and URI (the QR's tracking URL is built from them).
struct RenderRequest {
    code: String,
    q: RenderQuery,
    headers: HeaderMap,
    uri: axum::http::Uri,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RenderRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let Path(code) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("biên nhận", "Receipt"))?;
        let Query(q) = Query::<RenderQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::bad_request(
                    format!("Tham số không hợp lệ: {e}"),
                    format!("Bad query parameters: {e}"),
                )
            })?;
        Ok(RenderRequest {
            code,
            q,
            headers: parts.headers.clone(),
            uri: parts.uri.clone(),
        })
    }
}

fn profile_of(st: &AppState, id: Option<&str>) -> Result<&'static Profile, ApiError> {
    match id {
        None | Some("") => Ok(profiles::find(default_profile(st)).expect("default profile exists")),
        Some(id) => profiles::find(id).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_printer_profile",
                format!("Không có kiểu máy in “{id}”. Các kiểu có: {}.", ids()),
                format!("No printer profile “{id}”. Profiles: {}.", ids()),
            )
            .with_field("profile")
        }),
    }
}

fn ids() -> String {
    profiles::all()
        .iter()
        .map(|p| p.id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A receipt's slip laid out for `q.profile`, in `q.lang` (default: the language recorded at sealing).
struct Rendered {
    code: String,
    profile: &'static Profile,
    page: Page,
    bytes: Vec<u8>,
    lang: String,
    /// Texts of the villager's language printed in Vietnamese only (the fonts lack their script).
    unprintable: usize,
}

async fn render(st: &AppState, req: &RenderRequest) -> Result<Rendered, ApiError> {
    let (code, q, headers, uri) = (req.code.as_str(), &req.q, &req.headers, &req.uri);
    let profile = profile_of(st, q.profile.as_deref())?;
    let slip = slip_of(st, code, headers, uri, q.scheme.as_deref()).await?;
    let lang = match q.lang.as_deref() {
        None | Some("") => slip.lang.clone().unwrap_or_else(|| "vi".into()),
        Some(l) if slip.languages.iter().any(|x| x == l) || l == "vi" => l.to_string(),
        Some(l) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unknown_language",
                format!("Trạm không có ngôn ngữ viết “{l}” để in."),
                format!("This hub has no written language “{l}” to print in."),
            )
            .with_field("lang"))
        }
    };
    let strings = if matches!(lang.as_str(), "vi" | "en") {
        Default::default()
    } else {
        let l = lang.clone();
        st.db
            .call(move |c| crate::shared::lang::store::strings(c, &l))
            .await?
    };
    let lang2 = lang.clone();
    tokio::task::spawn_blocking(move || {
        let tx = Texts::new(&lang2, strings);
        let blocks = slip_doc::blocks(&slip, &tx);
        let page = page::layout(
            &blocks,
            profile.dots as usize,
            profile.native_qr,
            profile.qr_module,
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
        let bytes = super::escpos::encode(&page, profile);
        Ok(Rendered {
            code: slip.receipt.code.clone(),
            profile,
            page,
            bytes,
            lang: lang2,
            unprintable: tx.unprintable.get(),
        })
    })
    .await
    .map_err(ApiError::internal)?
}

fn length_header(r: &Rendered) -> String {
    format!("{:.1}", r.page.length_mm(r.profile.feed_lines))
}

/// The hub printer's state and the printer profiles.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrinterState {
    /// `auto`, `off`, or the configured device path.
    setting: String,
    /// The printer device found now, if any.
    device: Option<String>,
    /// `ready` (a device is there), `absent`, or `off`.
    #[schema(pattern = "^(ready|absent|off)$")]
    state: String,
    /// The hub's default profile id.
    profile: String,
    profiles: Vec<Profile>,
}

/// The hub printer's state and the printer profiles.
#[utoipa::path(
    get,
    path = "/api/v1/printer",
    operation_id = "thermal_printer",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"])),
    responses(
        (status = 200, description = "The hub printer's state and the profiles", body = PrinterState),
        crate::shared::api_doc::Unauthenticated,
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn printer_state(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(_user): FieldTeam,
) -> Result<Json<PrinterState>, ApiError> {
    let p = printer(&st)?.clone();
    let device = tokio::task::spawn_blocking(move || p.rescan())
        .await
        .map_err(ApiError::internal)?;
    let p = printer(&st)?;
    let state = match (&p.setting, &device) {
        (Setting::Off, _) => "off",
        (_, Some(_)) => "ready",
        (_, None) => "absent",
    };
    Ok(Json(PrinterState {
        setting: p.setting.label(),
        device: device.map(|d| d.display().to_string()),
        state: state.into(),
        profile: default_profile(&st).into(),
        profiles: profiles::all().to_vec(),
    }))
}

/// The exact ESC/POS bytes that print this receipt (what a team phone sends to a Bluetooth printer).
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/escpos",
    operation_id = "thermal_escpos",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("code" = String, Path, description = "Receipt code"), RenderQuery),
    responses(
        (status = 200, description = "ESC/POS bytes; `X-Paper-Length-Mm`, `X-Profile`", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn escpos(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(_user): FieldTeam,
    req: RenderRequest,
) -> Result<Response, ApiError> {
    let r = render(&st, &req).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (
                header::HeaderName::from_static("x-paper-length-mm"),
                length_header(&r),
            ),
            (
                header::HeaderName::from_static("x-profile"),
                r.profile.id.clone(),
            ),
        ],
        r.bytes,
    )
        .into_response())
}

/// What the printer will print, as a PNG (one pixel a dot).
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/thermal.png",
    operation_id = "thermal_png",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("code" = String, Path, description = "Receipt code"), RenderQuery),
    responses(
        (status = 200, description = "PNG preview", content_type = "image/png", body = Vec<u8>),
        (status = 400, body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn thermal_png(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(_user): FieldTeam,
    req: RenderRequest,
) -> Result<Response, ApiError> {
    let r = render(&st, &req).await?;
    let png = tokio::task::spawn_blocking(move || {
        let mut out = std::io::Cursor::new(Vec::new());
        r.page
            .preview()
            .to_image()
            .write_to(&mut out, image::ImageFormat::Png)
            .map(|_| (out.into_inner(), length_header(&r)))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
            (header::HeaderName::from_static("x-paper-length-mm"), png.1),
        ],
        png.0,
    )
        .into_response())
}

/// A slip as laid out for a printer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThermalInfo {
    profile: String,
    /// The villager's language it is printed in (then Vietnamese).
    lang: String,
    /// Dots across.
    dots: u32,
    /// Rows of dots (raster and native QR), before the final feed.
    rows: u32,
    /// Paper used, the final feed included.
    length_mm: f32,
    /// Size of the ESC/POS stream.
    bytes: usize,
    /// The text lines exactly as drawn, top to bottom.
    lines: Vec<String>,
    qr: ThermalQr,
    /// Texts of the villager's language printed in Vietnamese only (the fonts cannot write them).
    unprintable: usize,
    /// Whether the receipt was printed before (on the hub's printer or a phone's), so a phone asks
    /// before printing another copy; `null` when never.
    printed: Option<PrintedSoFar>,
}

/// How often and when a receipt was printed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrintedSoFar {
    /// RFC 3339 time of the last print.
    last_at: String,
    count: u32,
}

/// The slip's QR.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThermalQr {
    /// The tracking URL.
    data: Option<String>,
    /// Drawn by the printer (GS ( k) rather than sent as raster.
    native: bool,
}

/// The slip's text lines as laid out, top to bottom, and the QR's data.
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/thermal",
    operation_id = "thermal_lines",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("code" = String, Path, description = "Receipt code"), RenderQuery),
    responses(
        (status = 200, description = "The slip's lines as laid out", body = ThermalInfo),
        (status = 400, body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn thermal_lines(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(_user): FieldTeam,
    req: RenderRequest,
) -> Result<Json<ThermalInfo>, ApiError> {
    let r = render(&st, &req).await?;
    let rc = r.code.clone();
    let printed = st
        .db
        .call(move |c| store::last(c, &rc))
        .await?
        .map(|(last_at, count)| PrintedSoFar { last_at, count });
    Ok(Json(ThermalInfo {
        printed,
        profile: r.profile.id.clone(),
        lang: r.lang,
        dots: r.profile.dots,
        rows: r.page.rows(),
        length_mm: (r.page.length_mm(r.profile.feed_lines) * 10.0).round() / 10.0,
        bytes: r.bytes.len(),
        lines: r.page.lines,
        qr: ThermalQr {
            data: r.page.qr,
            native: r.profile.native_qr,
        },
        unprintable: r.unprintable,
    }))
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrintIn {
    /// `hub` (default): print on the hub's USB printer; `phone`: record that a team phone printed it.
    via: Option<String>,
    profile: Option<String>,
    lang: Option<String>,
    scheme: Option<String>,
    /// Print although the receipt was printed before.
    #[serde(default)]
    again: bool,
}

fn print_error(e: PrintError) -> ApiError {
    let u = StatusCode::SERVICE_UNAVAILABLE;
    match e {
        PrintError::Off => ApiError::new(
            u,
            "printer_off",
            "Trạm này không dùng máy in (cài đặt --printer off). In bằng điện thoại qua Bluetooth hoặc in giấy A5.",
            "This hub has no printer (--printer off). Print from a phone over Bluetooth, or on A5.",
        ),
        PrintError::Absent => ApiError::new(
            u,
            "printer_absent",
            "Không thấy máy in. Cắm cáp USB của máy in vào trạm, bật máy in, đợi 3 giây rồi bấm In lại.",
            "No printer found. Plug the printer's USB cable into the hub, switch it on, wait 3 seconds, then tap Print again.",
        ),
        PrintError::NoPaper => ApiError::new(
            u,
            "printer_no_paper",
            "Máy in hết giấy. Lắp cuộn giấy mới (mặt giấy nhiệt hướng lên), đóng nắp rồi bấm In lại.",
            "The printer is out of paper. Load a new roll (thermal side up), close the lid, then tap Print again.",
        ),
        PrintError::Failed(why) => {
            tracing::warn!(error = %why, "receipt printer write failed");
            ApiError::new(
                u,
                "printer_error",
                "Máy in không nhận lệnh in. Kiểm tra máy in đã bật, còn giấy, nắp đóng; tắt rồi bật lại máy in và bấm In lại.",
                "The printer did not take the print. Check it is on, has paper and its lid is closed; switch it off and on, then tap Print again.",
            )
        }
    }
}

/// Prints the receipt on the hub's USB printer (`via: hub`), or records that a team phone printed it
/// (`via: phone`). A receipt printed before is printed again only with `again: true`; the same
/// `Idempotency-Key` answers the first print again without printing.
#[utoipa::path(
    post,
    path = "/api/v1/receipts/{code}/print",
    operation_id = "thermal_print",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(
        ("code" = String, Path, description = "Receipt code"),
        ("Idempotency-Key" = Option<String>, Header, description = "At most 128 characters; a retry with the same key answers the first print"),
    ),
    request_body = PrintIn,
    responses(
        (status = 200, description = "The print", body = Printed),
        (status = 400, body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "`already_printed`: printed before; send `again: true`", body = crate::shared::api_doc::ErrorBody),
        (status = 503, description = "`printer_absent`, `printer_no_paper`, `printer_error`, `printer_off`", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn print(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(user): FieldTeam,
    Path(code): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    JsonBody(body): JsonBody<PrintIn>,
) -> Result<Json<Printed>, ApiError> {
    let via = match body.via.as_deref() {
        None | Some("hub") => "hub",
        Some("phone") => "phone",
        Some(_) => {
            return Err(ApiError::bad_request(
                "Cách in phải là “hub” (máy in của trạm) hoặc “phone” (điện thoại).",
                "`via` must be “hub” (the hub's printer) or “phone”.",
            )
            .with_field("via"))
        }
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .map(|k| format!("{}:print:{code}:{k}", user.id));
    let req = RenderRequest {
        code: code.clone(),
        q: RenderQuery {
            profile: body.profile.clone(),
            lang: body.lang.clone(),
            scheme: body.scheme.clone(),
        },
        headers: headers.clone(),
        uri,
    };
    let r = render(&st, &req).await?;
    let printer = printer(&st)?.clone();
    let held = printer.hold().await;
    if let Some(k) = key.clone() {
        if let Some(p) = st.db.call(move |c| store::replay(c, &k)).await? {
            return Ok(Json(p));
        }
    }
    let rc = r.code.clone();
    if let Some((at, n)) = st.db.call(move |c| store::last(c, &rc)).await? {
        if !body.again {
            let hm = vn_time(&at);
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "already_printed",
                format!("Biên nhận này đã in {n} lần, lần cuối lúc {hm}. In thêm một bản?"),
                format!("This receipt was printed {n} time(s), last at {hm}. Print another copy?"),
            )
            .with_field("again"));
        }
    }
    let device = if via == "hub" {
        let dev = printer
            .print(&held, r.bytes.clone(), r.profile.status_query)
            .await
            .map_err(print_error)?;
        Some(dev.display().to_string())
    } else {
        None
    };
    let p = Printed {
        code: r.code.clone(),
        printed_at: crate::shared::clock::now_rfc3339(),
        via: via.into(),
        device,
        profile: r.profile.id.clone(),
        length_mm: (r.page.length_mm(r.profile.feed_lines) * 10.0).round() / 10.0,
        bytes: r.bytes.len(),
        prints: 0,
    };
    let p = st
        .db
        .call(move |c| store::record(c, p, key.as_deref()))
        .await?;
    drop(held);
    Ok(Json(p))
}

/// An RFC 3339 instant as Vietnam's wall clock, `HH:MM dd/mm/yyyy`.
fn vn_time(rfc3339: &str) -> String {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .map(|t| {
            let t = t.to_offset(time::macros::offset!(+7));
            format!(
                "{:02}:{:02} {:02}/{:02}/{}",
                t.hour(),
                t.minute(),
                t.day(),
                u8::from(t.month()),
                t.year()
            )
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileIn {
    profile: Option<String>,
}

/// The test page laid out for `profile`: the page and its bytes.
async fn test_page_of(
    st: &AppState,
    profile: Option<&str>,
) -> Result<(&'static Profile, Page, Vec<u8>), ApiError> {
    let p = profile_of(st, profile)?;
    let name = st.name.clone();
    tokio::task::spawn_blocking(move || {
        let page = page::layout(
            &super::test_page::blocks(p, &name),
            p.dots as usize,
            p.native_qr,
            p.qr_module,
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
        let bytes = super::escpos::encode(&page, p);
        Ok((p, page, bytes))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The printer test page's ESC/POS bytes (a team phone prints it on a Bluetooth printer before a session).
#[utoipa::path(
    get,
    path = "/api/v1/printer/test.escpos",
    operation_id = "thermal_test_escpos",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("profile" = Option<String>, Query, description = "Printer profile id")),
    responses(
        (status = 200, description = "ESC/POS bytes; `X-Paper-Length-Mm`", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn test_bytes(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(_user): FieldTeam,
    Query(q): Query<ProfileIn>,
) -> Result<Response, ApiError> {
    let (p, page, bytes) = test_page_of(&st, q.profile.as_deref()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::HeaderName::from_static("x-paper-length-mm"),
                format!("{:.1}", page.length_mm(p.feed_lines)),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The printer test page as a PNG.
#[utoipa::path(
    get,
    path = "/api/v1/printer/test.png",
    operation_id = "thermal_test_png",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("profile" = Option<String>, Query, description = "Printer profile id")),
    responses(
        (status = 200, description = "PNG", content_type = "image/png", body = Vec<u8>),
        (status = 400, body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn test_png(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(_user): FieldTeam,
    Query(q): Query<ProfileIn>,
) -> Result<Response, ApiError> {
    let (_, page, _) = test_page_of(&st, q.profile.as_deref()).await?;
    let png = tokio::task::spawn_blocking(move || {
        let mut out = std::io::Cursor::new(Vec::new());
        page.preview()
            .to_image()
            .write_to(&mut out, image::ImageFormat::Png)
            .map(|_| out.into_inner())
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// A printed test page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TestPrinted {
    device: String,
    profile: String,
    length_mm: f32,
    bytes: usize,
}

/// Prints the test page on the hub's USB printer (before a session: printer, paper and profile right?).
#[utoipa::path(
    post,
    path = "/api/v1/printer/test",
    operation_id = "thermal_test_print",
    tag = "thermal",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    request_body = ProfileIn,
    responses(
        (status = 200, description = "The test page was printed", body = TestPrinted),
        (status = 400, body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 503, description = "`printer_absent`, `printer_no_paper`, `printer_error`, `printer_off`", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn test_print(
    State(st): State<AppState>,
    _: FieldOnly,
    FieldTeam(_user): FieldTeam,
    JsonBody(body): JsonBody<ProfileIn>,
) -> Result<Json<TestPrinted>, ApiError> {
    let (p, page, bytes) = test_page_of(&st, body.profile.as_deref()).await?;
    let printer = printer(&st)?.clone();
    let held = printer.hold().await;
    let n = bytes.len();
    let dev = printer
        .print(&held, bytes, p.status_query)
        .await
        .map_err(print_error)?;
    Ok(Json(TestPrinted {
        device: dev.display().to_string(),
        profile: p.id.clone(),
        length_mm: (page.length_mm(p.feed_lines) * 10.0).round() / 10.0,
        bytes: n,
    }))
}
