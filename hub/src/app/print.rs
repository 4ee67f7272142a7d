//! `GET /api/v1/drafts/{id}/forms` (field hub, the field team): a draft's official forms, filled in, for
//! the A4 print from the capture review. After sealing the field hub keeps only the encrypted dossier, so
//! the review is where the field prints. The forms are those of `office::forms` (one layout and one way
//! of writing values for both hubs); this route sits at the top because it joins a field draft
//! (`field::capture`) and an office concern, which only `app/` may import together.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

use crate::field::capture::store as drafts;
use crate::office::exports::systems::Record;
use crate::office::forms::routes::{forms_of, FormsOut};
use crate::shared::auth::FieldTeam;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// The OpenAPI paths of this route (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(draft_forms))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/drafts/{id}/forms", get(draft_forms))
}

/// A draft's official forms, filled in as they would print once sealed (dated today).
///
/// The same layouts and values as `GET /api/v1/office/dossiers/{id}/forms`, from the draft's fields as
/// now saved (with the values the hub derives). Result numbers (the child's PIN) are empty until the
/// office registers the dossier.
#[utoipa::path(
    get,
    path = "/api/v1/drafts/{id}/forms",
    operation_id = "capture_forms",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("id" = String, Path, description = "Draft id")),
    responses(
        (status = 200, description = "As `GET /api/v1/office/dossiers/{id}/forms`; `receipt_code` empty", body = FormsOut),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such draft", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn draft_forms(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<FormsOut>, ApiError> {
    let out = st
        .db
        .call(move |c| {
            let Some(d) = drafts::get(c, &id)? else {
                return Ok(None);
            };
            let rec = Record {
                dossier_id: d.id,
                receipt_code: String::new(),
                received_at: String::new(),
                procedure: d.procedure,
                fields: protocol::normalize_fields(&d.fields),
                results: Vec::new(),
            };
            forms_of(c, &rec, Some(crate::shared::clock::today_vn())).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ nháp", "Draft"))?;
    Ok(Json(out))
}
