//! HTTP routes for clerks: received dossiers, their photos, and import reports (office mode).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::store;
use crate::app::AppState;
use crate::auth::{AuthUser, Role};
use crate::error::ApiError;

const CLERKS: &[Role] = &[Role::Clerk, Role::Admin];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/dossiers", get(list))
        .route("/api/v1/office/dossiers/{id}", get(read))
        .route(
            "/api/v1/office/dossiers/{id}/attachments/{index}",
            get(photo),
        )
        .route("/api/v1/office/imports", get(imports))
}

async fn list(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(CLERKS)?;
    let list = st.db.call(|c| store::list(c)).await?;
    Ok(Json(json!({ "dossiers": list })))
}

async fn read(
    State(st): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<store::ReceivedDossier>, ApiError> {
    user.require(CLERKS)?;
    st.db
        .call(move |c| store::get(c, &id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))
}

async fn photo(
    State(st): State<AppState>,
    user: AuthUser,
    Path((id, index)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user.require(CLERKS)?;
    let index: i64 = index
        .parse()
        .map_err(|_| ApiError::not_found("ảnh", "Photo"))?;
    let found = st
        .db
        .call(move |c| store::attachment(c, &id, index))
        .await?;
    crate::media::photo_response(found)
}

async fn imports(
    State(st): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(CLERKS)?;
    let list = st
        .db
        .call(|c| crate::batch::import::list_reports(c))
        .await?;
    Ok(Json(json!({ "imports": list })))
}
