//! HTTP routes for sealing, the sealed list, receipts and the field status banner.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::ReceiptCode;

use serde::Deserialize;

use super::engine::{self, Receipt, Refusal, SealAs};
use crate::shared::auth::{AuthUser, Leads};
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(seal, refuse, void, sealed, receipt, receipt_qr, status),
    components(schemas(SealIn, CorrectsIn, ReasonIn, RefuseIn, Receipt, engine::FieldStatus))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/drafts/{id}/seal", post(seal))
        .route("/api/v1/drafts/{id}/refuse", post(refuse))
        .route("/api/v1/dossiers/{id}/void", post(void))
        .route("/api/v1/dossiers", get(sealed))
        .route("/api/v1/receipts/{code}", get(receipt))
        .route("/api/v1/receipts/{code}/qr.png", get(receipt_qr))
        .route("/api/v1/status", get(status))
        .merge(super::slip::router())
}

/// Optional body of a seal: `{"corrects": {"dossier_id", "reason"}}` seals the draft as the complete
/// corrected version of an earlier dossier of this hub; `slip_lang` is the villager's language for the
/// printed slip (a written language of this hub; Vietnamese when absent).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SealIn {
    #[serde(default)]
    corrects: Option<CorrectsIn>,
    /// A language code of this hub (`422 unknown_language` otherwise); Vietnamese when absent.
    #[serde(default)]
    #[schema(pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$")]
    slip_lang: Option<String>,
}

/// The earlier dossier of this hub that a seal corrects, and why.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CorrectsIn {
    dossier_id: String,
    /// 1–500 characters, no control characters (trimmed and NFC-normalised).
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    reason: String,
}

/// `{"reason": "…"}` for cancellations.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonIn {
    /// 1–500 characters, no control characters (trimmed and NFC-normalised).
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    reason: String,
}

/// `{"reason": "…", "slip_lang": "…"}` for refusals (`slip_lang` as in a seal: the slip's language).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RefuseIn {
    /// 1–500 characters, no control characters (trimmed and NFC-normalised).
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    reason: String,
    /// A language code of this hub (`422 unknown_language` otherwise); Vietnamese when absent.
    #[serde(default)]
    #[schema(pattern = "^[a-z]{2,3}(-[a-z0-9]{2,8}){0,2}$")]
    slip_lang: Option<String>,
}

/// Seals a draft into a signed dossier (or, with `corrects`, the corrected version of an earlier one).
#[utoipa::path(
    post,
    path = "/api/v1/drafts/{id}/seal",
    operation_id = "seal_seal",
    tag = "seal",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Draft id")),
    request_body = SealIn,
    responses(
        (status = 201, body = Receipt),
        (status = 400, description = "Bad JSON, or the procedure is no longer in the catalogue", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The hub's clock is not confirmed (`clock_unconfirmed`), or the office paused this hub (`device_paused`: two copies of its card sealing)", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "The draft does not pass the sealing checks (`validation_failed`), or `slip_lang` is not a written language of this hub (`unknown_language`)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn seal(
    State(st): State<AppState>,
    Leads(user): Leads,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SealIn>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    let lang = super::slip::slip_lang(&st, body.slip_lang).await?;
    let how = match body.corrects {
        Some(c) => SealAs::Correction {
            dossier_id: c.dossier_id,
            reason: normalize_reason(&c.reason),
        },
        None => SealAs::New,
    };
    seal_draft_as(st, user, id, how, lang).await
}

/// Seals a draft as a refused application, with the reason (the villager gets a receipt saying so).
#[utoipa::path(
    post,
    path = "/api/v1/drafts/{id}/refuse",
    operation_id = "seal_refuse",
    tag = "seal",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Draft id")),
    request_body = RefuseIn,
    responses(
        (status = 201, body = Receipt),
        (status = 400, description = "Bad JSON, or the procedure is no longer in the catalogue", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The hub's clock is not confirmed (`clock_unconfirmed`), or the office paused this hub (`device_paused`: two copies of its card sealing)", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Missing reason or failing checks (`validation_failed`), or `slip_lang` is not a written language of this hub (`unknown_language`)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn refuse(
    State(st): State<AppState>,
    Leads(user): Leads,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RefuseIn>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    let lang = super::slip::slip_lang(&st, body.slip_lang).await?;
    let how = SealAs::Refused {
        reason: normalize_reason(&body.reason),
    };
    seal_draft_as(st, user, id, how, lang).await
}

/// Seals draft `id` as `how` (new, correction or refused), the slip in `lang` (see `slip::slip_lang`).
async fn seal_draft_as(
    st: AppState,
    user: AuthUser,
    id: String,
    how: SealAs,
    lang: String,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    run_seal(
        st,
        user,
        move |c, key, u, place| engine::seal_draft_for(c, key, u, &id, how, &lang, place),
        "draft",
    )
    .await
}

/// Cancels a sealed dossier of this hub: seals a `voids` record with the reason.
#[utoipa::path(
    post,
    path = "/api/v1/dossiers/{id}/void",
    operation_id = "seal_void",
    tag = "seal",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Sealed dossier id")),
    request_body = ReasonIn,
    responses(
        (status = 201, body = Receipt),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "The body is too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "A body that is not JSON (`Content-Type` not `application/json`); no body at all reads as `{}`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The hub's clock is not confirmed (`clock_unconfirmed`), or the office paused this hub (`device_paused`: two copies of its card sealing)", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Missing reason, or the dossier cannot be cancelled", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn void(
    State(st): State<AppState>,
    Leads(user): Leads,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonIn>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    let reason = normalize_reason(&body.reason);
    run_seal(
        st,
        user,
        move |c, key, u, place| engine::void_dossier(c, key, u, &id, reason, place),
        "dossier",
    )
    .await
}

fn normalize_reason(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfc().collect::<String>().trim().to_owned()
}

/// Runs one sealing operation on the blocking pool and maps its refusals to HTTP.
async fn run_seal(
    st: AppState,
    user: AuthUser,
    f: impl FnOnce(
            &mut rusqlite::Connection,
            &protocol::DeviceKey,
            &AuthUser,
            crate::shared::chain_guard::ChainPlace,
        ) -> crate::shared::store::StoreResult<Result<Receipt, Refusal>>
        + Send
        + 'static,
    what: &'static str,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    // While this hub's chain may not be the one the office knows (restored, or diverged), a sealed dossier
    // waits for a sync before it is numbered; its receipt comes from a fresh range at once.
    let place = crate::shared::chain_guard::place(&data_dir(&st));
    if let Some(p) = crate::shared::chain_guard::paused(&data_dir(&st)) {
        return Err(paused_error(&p));
    }
    let st2 = st.clone();
    let mode = st.mode;
    let result = st
        .db
        .call(move |c| {
            // No sealing on an implausible clock (a Pi without a real-time clock): an officer confirms
            // the time from a phone first.
            if let Err(reason) = crate::shared::clock_guard::require_plausible(c, mode)? {
                return Ok(Err(reason));
            }
            f(c, &st2.keys.device, &user, place).map(Ok)
        })
        .await?
        .map_err(crate::shared::clock_guard::unconfirmed_error)?;
    match result {
        Ok(r) => {
            if let Some(t) = crate::shared::clock::unix_of(&r.sealed_at) {
                crate::shared::clock_guard::note_sealed(t);
            }
            tracing::info!(seq = ?r.seq, protected = r.protected, disposition = %r.disposition, "dossier sealed");
            Ok((StatusCode::CREATED, Json(r)))
        }
        Err(Refusal::NotFound) if what == "dossier" => {
            Err(ApiError::not_found("hồ sơ đã niêm phong", "Sealed dossier"))
        }
        Err(Refusal::NotFound) => Err(ApiError::not_found("hồ sơ nháp", "Draft")),
        Err(Refusal::UnknownProcedure) => Err(ApiError::bad_request(
            "Thủ tục của hồ sơ này không còn trong danh mục.",
            "This draft's procedure is not in the catalogue.",
        )),
        Err(Refusal::Invalid(errors)) => Err(ApiError::validation(
            errors.into_iter().map(Into::into).collect(),
        )),
    }
}

/// The dossiers sealed on this hub, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/dossiers",
    operation_id = "seal_sealed",
    tag = "seal",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "One summary per sealed dossier, newest first (nothing personal)", body = SealedList),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn sealed(
    State(st): State<AppState>,
    Leads(_user): Leads,
) -> Result<Json<SealedList>, ApiError> {
    let dossiers = st.db.call(|c| engine::list_sealed(c)).await?;
    Ok(Json(SealedList { dossiers }))
}

/// The dossiers sealed on this hub.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct SealedList {
    dossiers: Vec<engine::SealedSummary>,
}

fn parse_code(code: &str) -> Result<ReceiptCode, ApiError> {
    ReceiptCode::parse(code).map_err(|_| {
        ApiError::bad_request(
            "Mã biên nhận không đúng dạng: 14 chữ số, ví dụ 0576-4731-3978-80 (mã cũ: 9 ký tự, ví dụ GRW7-M2JC-F).",
            "The receipt code is not valid: 14 digits, e.g. 0576-4731-3978-80 (older codes: 9 symbols, e.g. GRW7-M2JC-F).",
        )
        .with_field("code")
    })
}

async fn find_receipt(st: &AppState, code: &str) -> Result<Receipt, ApiError> {
    let code = parse_code(code)?;
    st.db
        .call(move |c| engine::receipt(c, &code))
        .await?
        .ok_or_else(|| ApiError::not_found("biên nhận", "Receipt"))
}

/// A receipt by its code.
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}",
    operation_id = "seal_receipt",
    tag = "seal",
    security(("session" = [])),
    params(("code" = String, Path, pattern = r"^([0-9]{4}-?[0-9]{4}-?[0-9]{4}-?[0-9]{2}|[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z*~$=])$", description = "Receipt code, e.g. 0576-4731-3978-80 or, issued before digit codes, GRW7-M2JC-F (hyphens optional)")),
    responses(
        (status = 200, body = Receipt),
        (status = 400, description = "Not a receipt code (wrong form, or the check digit does not match)", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn receipt(
    State(st): State<AppState>,
    _user: AuthUser,
    Path(code): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    find_receipt(&st, &code).await.map(Json)
}

/// The receipt's signed QR (protocol §6.1) as a PNG, for the screen and the printed slip.
#[utoipa::path(
    get,
    path = "/api/v1/receipts/{code}/qr.png",
    operation_id = "seal_receipt_qr",
    tag = "seal",
    security(("session" = [])),
    params(("code" = String, Path, pattern = r"^([0-9]{4}-?[0-9]{4}-?[0-9]{4}-?[0-9]{2}|[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}-?[0-9A-Za-z*~$=])$", description = "Receipt code, e.g. 0576-4731-3978-80 or, issued before digit codes, GRW7-M2JC-F")),
    responses(
        (status = 200, description = "The signed QR", content_type = "image/png", body = Vec<u8>),
        (status = 400, description = "Not a receipt code (wrong form, or the check digit does not match)", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, description = "No such receipt, or it has no QR", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn receipt_qr(
    State(st): State<AppState>,
    _user: AuthUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let r = find_receipt(&st, &code).await?;
    let text =
        r.qr.ok_or_else(|| ApiError::not_found("mã QR của biên nhận", "Receipt QR"))?;
    let png = crate::shared::qr::png(&text).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        png,
    )
        .into_response())
}

/// The data directory of this hub (where `shared::chain_guard` keeps its markers).
fn data_dir(st: &AppState) -> std::path::PathBuf {
    st.db
        .path()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

/// `409 device_paused`: the office paused this device (protocol §11.4.3).
fn paused_error(p: &crate::shared::chain_guard::Paused) -> ApiError {
    tracing::warn!(since = %p.since, "sealing refused: the office paused this device");
    ApiError::new(
        StatusCode::CONFLICT,
        "device_paused",
        "Văn phòng xã đã tạm dừng trạm này: có hai máy đang dùng cùng một thẻ nhớ (cùng danh tính) và cùng niêm phong. \
         Chỉ giữ một máy, đồng bộ cả hai, rồi gọi văn phòng xã để được phép niêm phong lại. Hồ sơ nháp vẫn được lưu.",
        format!(
            "The commune office paused this hub: two machines are sealing with one card (one identity): {}. Keep \
             one machine, sync both, then call the office to be allowed to seal again. Drafts are kept.",
            p.reason
        ),
    )
}

/// The field status banner: pairing with the office, sealed dossiers, those awaiting protection.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    operation_id = "seal_status",
    tag = "seal",
    security(("session" = [])),
    responses(
        (status = 200, body = engine::FieldStatus),
        crate::shared::api_doc::Unauthenticated,
    )
)]
async fn status(
    State(st): State<AppState>,
    _user: AuthUser,
) -> Result<Json<engine::FieldStatus>, ApiError> {
    let guard = crate::shared::chain_guard::standing(&data_dir(&st));
    let paused = crate::shared::chain_guard::paused(&data_dir(&st));
    let mut s = st.db.call(move |c| engine::status(c, &guard)).await?;
    if let Some(p) = paused {
        s.chain = "paused";
        s.chain_detail = Some(p.reason);
    }
    Ok(Json(s))
}
