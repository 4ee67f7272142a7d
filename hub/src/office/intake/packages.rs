//! The sync routes of procedure packages (docs/protocol.md §13.3): a paired, approved field device says
//! which packages it holds and gets the office's index, then downloads each one it lacks. What the office
//! serves and who holds what is `office::packages`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::session::SyncDevice;
use crate::office::packages::store;
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::AppState;

/// The OpenAPI paths of these routes (merged by `app::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(sync_index, sync_package), components(schemas(HaveBody)))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sync/packages", post(sync_index))
        .route("/api/v1/sync/packages/{hash}", get(sync_package))
}

fn canonical(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// What a field device holds.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct HaveBody {
    /// Hashes of every package the device holds (built-in and installed).
    have: Vec<String>,
}

/// The packages this office serves; records which of them the device holds.
#[utoipa::path(
    post,
    path = "/api/v1/sync/packages",
    operation_id = "packages_sync_index",
    tag = "packages",
    summary = "A paired field device says which packages it holds and gets the office's PackageIndex (office, sync session)",
    security(("sync_token" = [])),
    request_body = HaveBody,
    responses(
        (status = 200, description = "A PackageIndex in canonical JSON (docs/protocol.md §13.3)", content_type = "application/json", body = crate::shared::api_doc::protocol::PackageIndex),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 401, description = "No or unknown sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "The device is not approved", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "Body too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`have` lists too many hashes", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn sync_index(
    State(st): State<AppState>,
    device: SyncDevice,
    JsonBody(body): JsonBody<HaveBody>,
) -> Result<Response, ApiError> {
    device.require_approved()?;
    if body.have.len() > 4 * protocol::MAX_PACKAGES {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many",
            "Danh sách gói quá dài.",
            "The list of packages is too long.",
        )
        .with_field("have"));
    }
    let dev = device.device_id.to_string();
    st.db
        .call(move |c| store::confirm_held(c, &dev, &body.have))
        .await?;
    let index = store::index()?;
    index.check_form().map_err(ApiError::internal)?;
    Ok(canonical(
        protocol::canonical_bytes(&index).map_err(ApiError::internal)?,
    ))
}

/// One signed package by hash.
#[utoipa::path(
    get,
    path = "/api/v1/sync/packages/{hash}",
    operation_id = "packages_sync_get",
    tag = "packages",
    summary = "A paired field device downloads one signed package (office, sync session)",
    security(("sync_token" = [])),
    params(("hash" = String, Path, description = "The package hash, from the index")),
    responses(
        (status = 200, description = "A SignedPackage in canonical JSON (docs/protocol.md §13.2)", content_type = "application/json", body = crate::shared::api_doc::protocol::SignedPackage),
        (status = 401, description = "No or unknown sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "The device is not approved", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn sync_package(
    State(st): State<AppState>,
    device: SyncDevice,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    device.require_approved()?;
    let dev = device.device_id.to_string();
    let st2 = st.clone();
    let bytes = st
        .db
        .call(move |c| {
            let b = store::signed(c, &st2.keys.device, &hash)?;
            if b.is_some() {
                store::mark_pulled(c, &dev, &hash)?;
            }
            Ok(b)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("gói thủ tục", "Procedure package"))?;
    Ok(canonical(bytes))
}
