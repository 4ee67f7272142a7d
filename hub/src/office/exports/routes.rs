//! HTTP routes of exports (office mode, clerks):
//! - `POST /api/v1/office/exports` records an export of a system's dossiers and makes its file, kept in
//!   the data directory → `{id, rows, sha256}`;
//! - `GET /api/v1/office/exports/{id}/file` sends the kept file: the same bytes at every download;
//! - `GET /api/v1/office/exports` lists past exports; `GET /api/v1/office/exports/pending` counts, per
//!   system, the dossiers not yet exported there and those waiting for a number the system needs.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{store, systems};
use crate::shared::auth::Clerks;
use crate::shared::error::{ApiError, FieldDetail, JsonBody};
use crate::shared::state::AppState;

/// Most dossier ids one request may name.
pub const MAX_IDS: usize = 5_000;

const STATUSES: &[&str] = &[
    "received",
    "in_progress",
    "needs_papers",
    "registered",
    "ready_for_pickup",
    "handed_over",
    "rejected",
];

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list, pending, file),
    components(schemas(
        CreateBody,
        Filter,
        ExportFormat,
        ExportMade,
        NothingToExport,
        ExportList,
        PendingOut,
        PendingSystem
    ))
)]
pub struct ApiDoc;

/// The file format of an export.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: travels as a string
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// An export recorded and its file kept; the file is fetched from `file`.
#[derive(Serialize, utoipa::ToSchema)]
struct ExportMade {
    id: String,
    rows: i64,
    /// `/api/v1/office/exports/{id}/file`.
    file: String,
    /// The kept file's SHA-256: every download of it has this digest.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    sha256: String,
}

/// Nothing matched: no export was recorded (`id` is null, `rows` 0).
#[derive(Serialize, utoipa::ToSchema)]
struct NothingToExport {
    #[schema(value_type = Option<String>)]
    id: Option<String>,
    #[schema(minimum = 0, maximum = 0)]
    rows: i64,
}

#[derive(Serialize)]
#[serde(untagged)]
enum CreateOut {
    Made(ExportMade),
    Nothing(NothingToExport),
}

/// Past exports, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct ExportList {
    exports: Vec<store::ExportOut>,
    /// More exports before the last one listed.
    more: bool,
}

/// One national system and how many dossiers wait to be exported there.
#[derive(Serialize, utoipa::ToSchema)]
struct PendingSystem {
    system: String,
    /// The procedure id it takes.
    procedure: String,
    form_vi: String,
    form_en: String,
    target_vi: String,
    target_en: String,
    /// Ready and not yet exported there.
    pending: i64,
    /// Not yet exported there, but waiting for a number the system needs (`waiting_for`) before they
    /// can go.
    waiting: i64,
    /// The result number the system waits for (`pin`: the child's personal identification number,
    /// recorded at registration), or null when it waits for none.
    waiting_for: Option<String>,
}

/// Per national system, the dossiers waiting.
#[derive(Serialize, utoipa::ToSchema)]
struct PendingOut {
    systems: Vec<PendingSystem>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/office/exports", post(create).get(list))
        .route("/api/v1/office/exports/pending", get(pending))
        .route("/api/v1/office/exports/{id}/file", get(file))
}

/// Which dossiers to export when no ids are given.
#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Filter {
    /// Must be the system's procedure id.
    #[serde(default)]
    procedure: Option<String>,
    /// A casework status (`received`, `in_progress`, …).
    #[serde(default)]
    #[schema(value_type = Option<crate::shared::api_doc::protocol::CaseworkStatus>)]
    status: Option<String>,
    /// `YYYY-MM-DD`, Vietnam's local day, inclusive.
    #[serde(default)]
    #[schema(format = Date)]
    received_from: Option<String>,
    /// `YYYY-MM-DD`, Vietnam's local day, inclusive.
    #[serde(default)]
    #[schema(format = Date)]
    received_to: Option<String>,
}

/// An export to record: the target system, the file format, and the dossiers (by id or by filter).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    /// A system id of `GET /api/v1/office/exports/pending`.
    system: String,
    /// `csv` or `xlsx`.
    #[schema(value_type = ExportFormat)]
    format: String,
    /// 1 to 5,000 dossier ids (1–64 characters each), all of the system's procedure.
    #[serde(default)]
    #[schema(min_items = 1, max_items = 5000)]
    dossier_ids: Option<Vec<String>>,
    #[serde(default)]
    filter: Option<Filter>,
    /// Include dossiers already exported to this system.
    #[serde(default)]
    again: bool,
}

fn bad(field: &str, code: &str, vi: &str, en: &str) -> FieldDetail {
    FieldDetail {
        field: field.into(),
        code: code.into(),
        message_vi: vi.into(),
        message_en: en.into(),
    }
}

/// The UTC instant at which Vietnam's local day `d` (+ `plus_days`) starts.
fn vn_day_start(d: &str, plus_days: i64) -> Option<String> {
    let day = protocol::parse_date(d)?.checked_add(time::Duration::days(plus_days))?;
    let t = day
        .midnight()
        .assume_offset(time::UtcOffset::from_hms(7, 0, 0).ok()?);
    crate::shared::clock::to_utc_rfc3339(
        &t.format(&time::format_description::well_known::Rfc3339)
            .ok()?,
    )
}

fn check(body: CreateBody) -> Result<(systems::System, &'static str, store::Selection), ApiError> {
    let mut errors = Vec::new();
    let sys = systems::find(&body.system);
    if sys.is_none() {
        errors.push(bad(
            "system",
            "unknown_system",
            "Không có hệ thống này.",
            "No such system.",
        ));
    }
    let format = match body.format.as_str() {
        "csv" => "csv",
        "xlsx" => "xlsx",
        _ => {
            errors.push(bad(
                "format",
                "bad_format",
                "Chọn định dạng CSV hoặc XLSX.",
                "Choose CSV or XLSX.",
            ));
            "csv"
        }
    };
    let filter = body.filter.unwrap_or_default();
    if let (Some(p), Some(s)) = (&filter.procedure, &sys) {
        if *p != s.procedure_id {
            errors.push(bad(
                "filter.procedure",
                "not_for_system",
                "Thủ tục này không được xuất sang hệ thống đã chọn.",
                "This procedure does not go to the chosen system.",
            ));
        }
    }
    if let Some(s) = &filter.status {
        if !STATUSES.contains(&s.as_str()) {
            errors.push(bad(
                "filter.status",
                "bad_status",
                "Trạng thái không hợp lệ.",
                "Unknown status.",
            ));
        }
    }
    let mut day = |key: &str, v: &Option<String>, plus: i64| -> Option<String> {
        let v = v.as_deref()?;
        let t = vn_day_start(v, plus);
        if t.is_none() {
            errors.push(bad(
                key,
                "bad_date",
                "Ngày ghi theo dạng năm-tháng-ngày, ví dụ 2026-11-20.",
                "Use YYYY-MM-DD, e.g. 2026-11-20.",
            ));
        }
        t
    };
    let received_from = day("filter.received_from", &filter.received_from, 0);
    let received_before = day("filter.received_to", &filter.received_to, 1);
    if let Some(ids) = &body.dossier_ids {
        if ids.is_empty() || ids.len() > MAX_IDS || ids.iter().any(|i| i.is_empty() || i.len() > 64)
        {
            errors.push(bad(
                "dossier_ids",
                "bad_ids",
                "Danh sách hồ sơ không hợp lệ (1 đến 5.000 mã hồ sơ).",
                "Invalid dossier list (1 to 5,000 dossier ids).",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let sys = sys.ok_or_else(|| ApiError::internal("system checked above"))?;
    Ok((
        sys,
        format,
        store::Selection {
            dossier_ids: body.dossier_ids,
            status: filter.status,
            received_from,
            received_before,
            again: body.again,
        },
    ))
}

/// Records an export of dossiers to a national system; its file is then fetched from `file`.
///
/// `POST /api/v1/office/exports`.
#[utoipa::path(
    post,
    path = "/api/v1/office/exports",
    operation_id = "exports_create",
    tag = "exports",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "Recorded", body = ExportMade),
        (status = 200, description = "Nothing to export", body = NothingToExport),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 422, description = "Unknown system, format, status, date or dossier list", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn create(
    State(st): State<AppState>,
    Clerks(user): Clerks,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<CreateOut>), ApiError> {
    let (sys, format, sel) = check(body)?;
    let (uid, uname) = (user.id.clone(), user.name.clone());
    let files = files_of(&st);
    let made = st
        .db
        .call(move |c| {
            if let Some(ids) = &sel.dossier_ids {
                let mut unique = ids.clone();
                unique.sort();
                unique.dedup();
                if store::count_of_procedure(c, &sys, &unique)? != unique.len() as i64 {
                    return Ok(Err(()));
                }
            }
            let made = store::create(
                c,
                &sys,
                format,
                &sel,
                store::Maker {
                    id: &uid,
                    name: &uname,
                },
                &files,
            )?;
            let made = match made {
                Some((id, rows)) => {
                    let sha = store::get(c, &id)?
                        .and_then(|x| x.sha256)
                        .unwrap_or_default();
                    Some((id, rows, sha))
                }
                None => None,
            };
            Ok(Ok(made))
        })
        .await?
        .map_err(|()| {
            ApiError::validation(vec![bad(
                "dossier_ids",
                "not_for_system",
                "Có hồ sơ không thuộc thủ tục của hệ thống này, hoặc không tồn tại.",
                "Some dossiers are not of this system's procedure, or do not exist.",
            )])
        })?;
    Ok(match made {
        Some((id, rows, sha256)) => (
            StatusCode::CREATED,
            Json(CreateOut::Made(ExportMade {
                file: format!("/api/v1/office/exports/{id}/file"),
                id,
                rows,
                sha256,
            })),
        ),
        None => (
            StatusCode::OK,
            Json(CreateOut::Nothing(NothingToExport { id: None, rows: 0 })),
        ),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Exports made before this one (its id), for the next page.
    #[serde(default)]
    before: Option<String>,
    /// Page size, 1 to 200 (default 50).
    #[serde(default)]
    limit: Option<i64>,
}

/// Past exports, newest first.
///
/// `GET /api/v1/office/exports?before=&limit=`.
#[utoipa::path(
    get,
    path = "/api/v1/office/exports",
    operation_id = "exports_list",
    tag = "exports",
    security(("session" = ["clerk", "admin"])),
    params(ListQuery),
    responses(
        (status = 200, body = ExportList),
        (status = 400, description = "Bad query string", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::GatedReadErrors,
    )
)]
async fn list(
    State(st): State<AppState>,
    _user: Clerks,
    Query(q): Query<ListQuery>,
) -> Result<Json<ExportList>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before = q.before;
    let list = st
        .db
        .call(move |c| store::list(c, before.as_deref(), limit + 1))
        .await?;
    let more = list.len() as i64 > limit;
    let list: Vec<_> = list.into_iter().take(limit as usize).collect();
    Ok(Json(ExportList {
        exports: list,
        more,
    }))
}

/// Per national system: its form, how many dossiers are ready to be exported there, and how many more wait
/// for a number the system needs (CT01 and TK1-TS: the child's personal identification number).
#[utoipa::path(
    get,
    path = "/api/v1/office/exports/pending",
    operation_id = "exports_pending",
    tag = "exports",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = PendingOut),
        crate::shared::api_doc::GatedReadErrors,
    )
)]
async fn pending(State(st): State<AppState>, _user: Clerks) -> Result<Json<PendingOut>, ApiError> {
    let counts = st.db.call(|c| store::pending(c)).await?;
    let systems = counts
        .into_iter()
        .map(|(s, n, waiting)| PendingSystem {
            waiting,
            waiting_for: store::needs(&s).map(str::to_owned),
            system: s.id.to_string(),
            procedure: s.procedure_id.to_string(),
            form_vi: s.newest.form.vi.to_string(),
            form_en: s.newest.form.en.to_string(),
            target_vi: s.newest.target.vi.to_string(),
            target_en: s.newest.target.en.to_string(),
            pending: n,
        })
        .collect();
    Ok(Json(PendingOut { systems }))
}

/// The kept export files of the hub whose state is `st`.
fn files_of(st: &AppState) -> store::Files {
    store::Files {
        data_dir: st
            .db
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default(),
    }
}

/// An export's file (CSV or XLSX), as an attachment: the bytes kept when it was made, whose SHA-256 is the
/// one recorded.
#[utoipa::path(
    get,
    path = "/api/v1/office/exports/{id}/file",
    operation_id = "exports_file",
    tag = "exports",
    security(("session" = ["clerk", "admin"])),
    params(("id" = String, Path, description = "Export id")),
    responses(
        (status = 200, description = "The file, as an attachment", content(
            (String = "text/csv; charset=utf-8"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such export", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn file(
    State(st): State<AppState>,
    _user: Clerks,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let ex = st
        .db
        .call(move |c| store::get(c, &id))
        .await?
        .ok_or_else(|| ApiError::not_found("lần xuất", "Export"))?;
    let files = files_of(&st);
    let db_path = st.db.path().to_path_buf();
    let disposition = format!("attachment; filename=\"{}\"", ex.file_name);
    let content_type = if ex.format == "csv" {
        "text/csv; charset=utf-8"
    } else {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    };
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        if let Some(bytes) = files.read(&ex)? {
            let sha = hex::encode(Sha256::digest(&bytes));
            if ex.sha256.as_deref() != Some(sha.as_str()) {
                // Altered on disk since it was made: never send other bytes than those delivered.
                tracing::error!(export = %ex.id, "kept export file does not match its recorded digest");
                return Err(ApiError::internal("export file does not match its digest"));
            }
            return Ok(bytes);
        }
        // An export made before files were kept: made once now, kept, and sent the same from now on.
        let sys = systems::find(&ex.system)
            .ok_or_else(|| ApiError::internal(format!("unknown system {}", ex.system)))?;
        let c = crate::shared::store::open_connection(&db_path)?;
        let sha = files.make(&c, &sys, &ex)?;
        store::completed(&c, &ex.id, &sha)?;
        Ok(files.read(&ex)?.unwrap_or_default())
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from(bytes),
    )
        .into_response())
}
