//! HTTP routes for sealing, the sealed list, receipts and the field status banner.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use protocol::ReceiptCode;
use serde_json::json;

use serde::Deserialize;

use super::engine::{self, Receipt, Refusal, SealAs};
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::error::{ApiError, JsonBody};

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi()]
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
/// corrected version of an earlier dossier of this hub.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealIn {
    #[serde(default)]
    corrects: Option<CorrectsIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectsIn {
    dossier_id: String,
    reason: String,
}

/// `{"reason": "…"}` for refusals and cancellations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonIn {
    reason: String,
}

async fn seal(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SealIn>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    user.require(&[Role::Officer, Role::Admin])?;
    let how = match body.corrects {
        Some(c) => SealAs::Correction {
            dossier_id: c.dossier_id,
            reason: normalize_reason(&c.reason),
        },
        None => SealAs::New,
    };
    seal_draft_as(st, user, id, how).await
}

async fn refuse(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonIn>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    user.require(&[Role::Officer, Role::Admin])?;
    let how = SealAs::Refused {
        reason: normalize_reason(&body.reason),
    };
    seal_draft_as(st, user, id, how).await
}

/// Seals draft `id` as `how` (new, correction or refused).
async fn seal_draft_as(
    st: AppState,
    user: AuthUser,
    id: String,
    how: SealAs,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    run_seal(
        st,
        user,
        move |c, key, u| engine::seal_draft(c, key, u, &id, how),
        "draft",
    )
    .await
}

async fn void(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReasonIn>,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    user.require(&[Role::Officer, Role::Admin])?;
    let reason = normalize_reason(&body.reason);
    run_seal(
        st,
        user,
        move |c, key, u| engine::void_dossier(c, key, u, &id, reason),
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
        ) -> crate::store::StoreResult<Result<Receipt, Refusal>>
        + Send
        + 'static,
    what: &'static str,
) -> Result<(StatusCode, Json<Receipt>), ApiError> {
    let st2 = st.clone();
    let mode = st.mode;
    let result = st
        .db
        .call(move |c| {
            // No sealing on an implausible clock (a Pi without a real-time clock): an officer confirms
            // the time from a phone first.
            if let Err(reason) = crate::clock::guard::require_plausible(c, mode)? {
                return Ok(Err(reason));
            }
            f(c, &st2.keys.device, &user).map(Ok)
        })
        .await?
        .map_err(crate::clock::guard::unconfirmed_error)?;
    match result {
        Ok(r) => {
            if let Some(t) = crate::clock::unix_of(&r.sealed_at) {
                crate::clock::guard::note_sealed(t);
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

async fn sealed(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(&[Role::Officer, Role::Admin])?;
    let list = st.db.call(|c| engine::list_sealed(c)).await?;
    Ok(Json(json!({ "dossiers": list })))
}

fn parse_code(code: &str) -> Result<ReceiptCode, ApiError> {
    ReceiptCode::parse(code).map_err(|_| {
        ApiError::bad_request(
            "Mã biên nhận không đúng dạng (ví dụ ABCD-EFGH-J).",
            "The receipt code is not valid (e.g. ABCD-EFGH-J).",
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

async fn receipt(
    State(st): State<AppState>,
    _user: AuthUser,
    Path(code): Path<String>,
) -> Result<Json<Receipt>, ApiError> {
    find_receipt(&st, &code).await.map(Json)
}

/// The receipt's signed QR (protocol §6.1) as a PNG, for the screen and the printed slip.
async fn receipt_qr(
    State(st): State<AppState>,
    _user: AuthUser,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let r = find_receipt(&st, &code).await?;
    let text =
        r.qr.ok_or_else(|| ApiError::not_found("mã QR của biên nhận", "Receipt QR"))?;
    let png = crate::qr::png(&text).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        png,
    )
        .into_response())
}

async fn status(
    State(st): State<AppState>,
    _user: AuthUser,
) -> Result<Json<engine::FieldStatus>, ApiError> {
    Ok(Json(st.db.call(|c| engine::status(c)).await?))
}
