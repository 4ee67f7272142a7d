//! The field's pairing routes: pair with an office (`POST /api/v1/pairing/office`) and show the pinned
//! office.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::client;
use super::store;
use crate::shared::auth::{AdminOnly, Leads};
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::AppState;

/// The OpenAPI paths of this concern's routes (merged by `app::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(office, pair_office), components(schemas(PairBody)))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/pairing/office", get(office).post(pair_office))
}

/// The office this field hub is paired with, if any (field).
#[utoipa::path(
    get,
    path = "/api/v1/pairing/office",
    operation_id = "pairing_office",
    tag = "pairing",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "`office`: the pinned office, null when none", body = OfficeOut),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn office(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    _lead: Leads,
) -> Result<Json<OfficeOut>, ApiError> {
    let office = st.db.call(|c| store::pinned_office(c)).await?;
    Ok(Json(OfficeOut { office }))
}

/// The office this field hub is paired with.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = PairingOffice)]
struct OfficeOut {
    office: Option<store::OfficeRow>,
}

/// The office to pair with: the scanned QR text, or its address and code typed separately.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PairBody {
    #[serde(default)]
    qr_text: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// Pairs this field hub with an office by its pairing code, pinning the office's keys (field, admins).
#[utoipa::path(
    post,
    path = "/api/v1/pairing/office",
    operation_id = "pairing_pair_office",
    tag = "pairing",
    security(("session" = ["admin"], "csrf" = [])),
    request_body = PairBody,
    responses(
        (status = 200, description = "Paired: the office pinned and this device's status there", body = client::Paired),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, no CSRF token, or `pairing_code_invalid` at the office", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Another office or changed keys are pinned", body = crate::shared::api_doc::ErrorBody),
        (status = 413, body = crate::shared::api_doc::ErrorBody),
        (status = 415, body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "No usable office address or code", body = crate::shared::api_doc::ErrorBody),
        (status = 429, description = "`too_many_attempts` at the office", body = crate::shared::api_doc::ErrorBody),
        (status = 502, description = "The office cannot be reached or its answer does not verify", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["field"])))
)]
async fn pair_office(
    State(st): State<AppState>,
    _: crate::shared::state::FieldOnly,
    _admin: AdminOnly,
    JsonBody(body): JsonBody<PairBody>,
) -> Result<Json<client::Paired>, ApiError> {
    let target = client::target(
        body.qr_text.as_deref().filter(|s| !s.trim().is_empty()),
        body.url.as_deref().filter(|s| !s.trim().is_empty()),
        body.code.as_deref().filter(|s| !s.trim().is_empty()),
    )?;
    let paired = client::pair_with_office(&st.db, &st.keys, &st.name, &target).await?;
    Ok(Json(paired))
}
