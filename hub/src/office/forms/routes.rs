//! `GET /api/v1/office/dossiers/{id}/forms`: a received dossier's official forms, filled in, for the A4
//! print of the office dossier page (clerks).

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use super::FilledForm;
use crate::office::exports::systems::{Record, UnitLabels};
use crate::shared::auth::Clerks;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;
use crate::shared::store::{StoreError, StoreResult};

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(forms), components(schemas(FormsOut)))]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/office/dossiers/{id}/forms", get(forms))
}

/// The filled forms of a dossier, and the day they are dated.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FormsOut {
    pub dossier_id: String,
    pub receipt_code: String,
    /// `{"id", "version"}` of the catalogue procedure the dossier was sealed with.
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    pub procedure: protocol::ProcedureRef,
    /// The day the statement was made (`YYYY-MM-DD`, Vietnam): the sealing day for a dossier, today for
    /// a draft.
    #[schema(format = Date)]
    pub declared_on: Option<String>,
    pub forms: Vec<FilledForm>,
}

/// `[{"kind", "number"}]` of the casework status → pairs.
fn results(json: Option<&str>) -> Vec<(String, String)> {
    #[derive(serde::Deserialize)]
    struct R {
        kind: String,
        number: String,
    }
    json.and_then(|j| serde_json::from_str::<Vec<R>>(j).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|r| (r.kind, r.number))
        .collect()
}

/// Dossier `id` as the exports read it, with its sealing instant.
fn record(c: &Connection, id: &str) -> StoreResult<Option<(Record, String)>> {
    let row = c
        .query_row(
            "SELECT d.dossier_id, d.receipt_code, d.received_at, d.procedure_id, d.procedure_version,
                    d.fields_json, s.result_json, d.sealed_at
             FROM received_dossiers d LEFT JOIN dossier_status s ON s.dossier_id = d.dossier_id
             WHERE d.dossier_id = ?1",
            [id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((dossier_id, receipt_code, received_at, pid, pver, fields, res, sealed_at)) = row
    else {
        return Ok(None);
    };
    let fields = serde_json::from_str(&fields).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some((
        Record {
            dossier_id,
            receipt_code,
            received_at,
            procedure: protocol::ProcedureRef {
                id: pid,
                version: pver,
            },
            fields,
            results: results(res.as_deref()),
        },
        sealed_at,
    )))
}

/// The filled forms of `rec`, dated `on`.
pub fn forms_of(c: &Connection, rec: &Record, on: Option<time::Date>) -> StoreResult<FormsOut> {
    let mut units = UnitLabels::new(c);
    let forms = super::fill(rec, on, &mut units)?;
    Ok(FormsOut {
        dossier_id: rec.dossier_id.clone(),
        receipt_code: rec.receipt_code.clone(),
        procedure: rec.procedure.clone(),
        declared_on: on.map(|d| d.to_string()),
        forms,
    })
}

/// A received dossier's official forms, filled in and laid out as printed (A4).
///
/// One entry per form the dossier feeds (marital: the request; 3-in-1: birth declaration, CT01, TK1-TS),
/// each in the version in force on the sealing day: form code, title, addressee, items with the form's
/// labels in the form's order and their values (communes by name, dates `dd/mm/yyyy`, choices by their
/// Vietnamese label, empty when not given), the sworn statement, the place/date line and the signature
/// blocks.
#[utoipa::path(
    get,
    path = "/api/v1/office/dossiers/{id}/forms",
    operation_id = "office_dossier_forms",
    tag = "office",
    security(("session" = ["clerk", "admin"])),
    params(("id" = String, Path, description = "Dossier id")),
    responses(
        (status = 200, description = "The dossier's official forms, filled in", body = FormsOut),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such dossier", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn forms(
    State(st): State<AppState>,
    Clerks(_user): Clerks,
    Path(id): Path<String>,
) -> Result<Json<FormsOut>, ApiError> {
    let out = st
        .db
        .call(move |c| {
            let Some((rec, sealed_at)) = record(c, &id)? else {
                return Ok(None);
            };
            let on = crate::shared::clock::vn_date_of(&sealed_at);
            forms_of(c, &rec, on).map(Some)
        })
        .await?
        .ok_or_else(|| ApiError::not_found("hồ sơ", "Dossier"))?;
    Ok(Json(out))
}
