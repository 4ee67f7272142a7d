//! Field routes of the uploader (`/api/v1/upload/*`): status and a live event stream of the progress,
//! "sync now", alarms, and the USB path (download a batch file of unacknowledged envelopes, import the
//! office's ack file). Officers and admins read and run; only an admin resolves an alarm.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use super::client::SyncError;
use super::{ackfile, store};
use crate::field::outreach::Live;
use crate::field::uploader::settings::OnOff;
use crate::field::uploader::Uploader;
use crate::shared::auth::{AdminOnly, Leads};
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// Largest ack file accepted (an ack of thousands of envelopes is well under this).
const MAX_ACK_FILE: usize = 4 * 1024 * 1024;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(status, events, run, acked, alarms, resolve, ack_file, batch_file),
    components(schemas(AckForm))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/upload/status", get(status))
        .route("/api/v1/upload/events", get(events))
        .route("/api/v1/upload/run", post(run))
        .route("/api/v1/upload/acked", get(acked))
        .route("/api/v1/upload/alarms", get(alarms))
        .route("/api/v1/upload/alarms/{id}/resolve", post(resolve))
        .route(
            "/api/v1/upload/ack-file",
            post(ack_file).layer(DefaultBodyLimit::max(MAX_ACK_FILE + 64 * 1024)),
        )
        .route("/api/v1/upload/batch-file", get(batch_file))
}

fn sync_api_error(e: SyncError) -> ApiError {
    let p = e.plain();
    let status = match &e {
        SyncError::Local { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        SyncError::Refused { status, .. } => {
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
        }
        _ => StatusCode::BAD_GATEWAY,
    };
    let code: &'static str = match &e {
        SyncError::Local { code, .. } | SyncError::Limit { code, .. } => code,
        SyncError::Refused { .. } => "office_refused",
        SyncError::Unreachable(_) => "office_unreachable",
        SyncError::BadAnswer(_) => "office_bad_answer",
        SyncError::Cancelled => "cancelled",
    };
    ApiError::new(status, code, p.message_vi, p.message_en)
}

/// The sync page's status.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadStatus)]
struct Status {
    progress: super::progress::Progress,
    counts: store::Counts,
    /// The paired office, null when none.
    office: Option<StatusOffice>,
    settings: StatusSettings,
}

/// The paired office as the sync page shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadStatusOffice)]
struct StatusOffice {
    name: String,
    #[schema(value_type = String, pattern = "^[0-9a-f]{16}$")]
    device_id: protocol::DeviceId,
    /// The URL it was paired at, if any.
    base_url: Option<String>,
}

/// The sync settings the hub runs with (from its command line).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadSettings)]
struct StatusSettings {
    /// --office-url, when set.
    office_url: Option<String>,
    /// Background sync on.
    background: bool,
    interval_secs: u64,
    concurrency: u32,
    bandwidth_kbps: u64,
    /// `HH:MM-HH:MM`, when set.
    #[schema(pattern = "^[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}$")]
    quiet_hours: Option<String>,
    in_quiet_hours: bool,
    retention_days: u32,
}

async fn status_json(st: &AppState) -> Result<Status, ApiError> {
    let (counts, office, last_success) = st
        .db
        .call(|c| {
            Ok((
                store::counts(c)?,
                store::pinned_office(c)?,
                store::last_success(c)?,
            ))
        })
        .await?;
    let mut progress = st.part::<Uploader>().progress.borrow().clone();
    if progress.last_success_at.is_none() {
        progress.last_success_at = last_success;
    }
    let s = &st.part::<Uploader>().settings;
    Ok(Status {
        progress,
        counts,
        office: office.map(|o| StatusOffice {
            name: o.name,
            device_id: o.device_id,
            base_url: o.base_url,
        }),
        settings: StatusSettings {
            office_url: s.office_url.clone(),
            background: s.sync == OnOff::On,
            interval_secs: s.sync_interval,
            concurrency: s.sync_concurrency,
            bandwidth_kbps: s.sync_bandwidth_kbps,
            quiet_hours: s.quiet_hours.map(|q| q.to_string()),
            in_quiet_hours: st.part::<Uploader>().quiet_now(),
            retention_days: s.retention_days,
        },
    })
}

/// The uploader's progress, counts of envelopes by state, the paired office and the sync settings.
#[utoipa::path(
    get,
    path = "/api/v1/upload/status",
    operation_id = "uploader_status",
    tag = "uploader",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "The progress, the envelope counts, the paired office (null: none) and the sync settings", body = Status),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn status(State(st): State<AppState>, Leads(_user): Leads) -> Result<Json<Status>, ApiError> {
    Ok(Json(status_json(&st).await?))
}

/// Server-Sent Events: `progress` each time it changes (a `watch`: a burst wakes a stream once).
#[utoipa::path(
    get,
    path = "/api/v1/upload/events",
    operation_id = "uploader_events",
    tag = "uploader",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "An event stream: `event: progress` with the progress JSON now and on each change; keep-alive comments every 15 s", content_type = "text/event-stream", body = String),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn events(State(st): State<AppState>, Leads(_user): Leads) -> Result<Response, ApiError> {
    let rx = st.part::<Uploader>().progress.subscribe();
    let closing = st.part::<Live>().closing();
    let stream = futures_util::stream::unfold((rx, true), move |(mut rx, first)| {
        let closing = closing.clone();
        async move {
            if !first {
                tokio::select! {
                    r = rx.changed() => if r.is_err() { return None },
                    _ = closing.cancelled() => return None,
                }
                // At most a few updates a second on a weak phone.
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            let p = rx.borrow_and_update().clone();
            let ev = Event::default()
                .event("progress")
                .json_data(&p)
                .unwrap_or_else(|_| Event::default().comment("progress unavailable"));
            Some((Ok::<_, Infallible>(ev), (rx, false)))
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// "Sync now": starts an upload run to the paired office (no body).
#[utoipa::path(
    post,
    path = "/api/v1/upload/run",
    operation_id = "uploader_run",
    tag = "uploader",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    responses(
        (status = 202, description = "Whether a run started or one was already running", body = RunStarted),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Not paired with an office", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn run(State(st): State<AppState>, Leads(_user): Leads) -> Result<Response, ApiError> {
    let pinned = st.db.call(|c| store::pinned_office(c)).await?.is_some();
    if !pinned {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_office",
            "Trạm chưa ghép nối với văn phòng xã. Hãy ghép nối trước khi đồng bộ.",
            "This hub is not paired with a commune office yet. Pair it before syncing.",
        ));
    }
    let warning = super::quiet_warning(st.part::<Uploader>());
    let started = super::request_run(&st);
    Ok((
        StatusCode::ACCEPTED,
        Json(RunStarted {
            started,
            already_running: !started,
            warning,
        }),
    )
        .into_response())
}

/// The answer to "sync now".
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadRunStarted)]
struct RunStarted {
    started: bool,
    already_running: bool,
    /// Quiet hours now (the run goes ahead), or null.
    warning: Option<super::progress::PlainError>,
}

/// The sequence numbers of acknowledged envelopes.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadAcked)]
struct Acked {
    seqs: Vec<i64>,
}

/// The uploader's alarms.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadAlarms)]
struct Alarms {
    alarms: Vec<store::Alarm>,
}

/// The alarm resolved.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadResolved)]
struct Resolved {
    resolved: i64,
}

/// What an ack file import acknowledged.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UploadAckFileImported)]
struct AckImported {
    report: ackfile::AckFileReport,
}

/// The sequence numbers of the envelopes the office has acknowledged.
#[utoipa::path(
    get,
    path = "/api/v1/upload/acked",
    operation_id = "uploader_acked",
    tag = "uploader",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "The acknowledged sequence numbers", body = Acked),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn acked(State(st): State<AppState>, Leads(_user): Leads) -> Result<Json<Acked>, ApiError> {
    let seqs = st.db.call(|c| store::acked_seqs(c)).await?;
    Ok(Json(Acked { seqs }))
}

/// The uploader's alarms (e.g. the office refused an envelope), resolved or not.
#[utoipa::path(
    get,
    path = "/api/v1/upload/alarms",
    operation_id = "uploader_alarms",
    tag = "uploader",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "The alarms, unresolved first, newest first", body = Alarms),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn alarms(State(st): State<AppState>, Leads(_user): Leads) -> Result<Json<Alarms>, ApiError> {
    let alarms = st.db.call(|c| store::list_alarms(c)).await?;
    Ok(Json(Alarms { alarms }))
}

/// Marks an alarm resolved (admin only).
#[utoipa::path(
    post,
    path = "/api/v1/upload/alarms/{id}/resolve",
    operation_id = "uploader_resolve",
    tag = "uploader",
    security(("session" = ["admin"], "csrf" = [])),
    params(("id" = i64, Path, description = "Alarm id")),
    responses(
        (status = 200, description = "The id of the alarm resolved", body = Resolved),
        (status = 400, description = "The id is not a number", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Not an admin, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No unresolved alarm with this id", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn resolve(
    State(st): State<AppState>,
    AdminOnly(user): AdminOnly,
    Path(id): Path<i64>,
) -> Result<Json<Resolved>, ApiError> {
    let uid = user.id.clone();
    if !st
        .db
        .call(move |c| store::resolve_alarm(c, id, &uid))
        .await?
    {
        return Err(ApiError::not_found(
            "cảnh báo chưa xử lý",
            "unresolved alarm",
        ));
    }
    Ok(Json(Resolved { resolved: id }))
}

/// The multipart form of an ack file import (documentation only: the handler reads the parts itself).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct AckForm {
    /// The office's acknowledgement file (`ack-….json`), at most 4 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Imports the office's ack file (the USB path), as the `file` field of a form.
#[utoipa::path(
    post,
    path = "/api/v1/upload/ack-file",
    operation_id = "uploader_ack_file",
    tag = "uploader",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    request_body(content = AckForm, content_type = "multipart/form-data", description = "A `file` part"),
    responses(
        (status = 200, description = "What the import acknowledged", body = AckImported),
        (status = 400, description = "Malformed upload or no `file` part", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "File too large", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Not a valid ack file for this hub (bad signature, other hub, unknown office)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn ack_file(
    State(st): State<AppState>,
    Leads(_user): Leads,
    mut form: Multipart,
) -> Result<Json<AckImported>, ApiError> {
    let mut bytes = None;
    while let Some(field) = form.next_field().await.map_err(|e| {
        ApiError::bad_request(
            "Tệp gửi lên bị lỗi.",
            format!("The upload is malformed: {e}."),
        )
    })? {
        if field.name() == Some("file") {
            let b = field.bytes().await.map_err(|_| {
                ApiError::too_large(
                    "Tệp xác nhận quá lớn.",
                    "The acknowledgement file is too large.",
                )
            })?;
            bytes = Some(b.to_vec());
        }
    }
    let bytes = bytes.ok_or_else(|| {
        ApiError::bad_request(
            "Hãy chọn tệp xác nhận của văn phòng (ack-….json).",
            "Choose the office's acknowledgement file (ack-….json).",
        )
        .with_field("file")
    })?;
    let st2 = st.clone();
    let dir = st
        .db
        .path()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let report = st
        .db
        .call(move |c| Ok(ackfile::import(c, &st2.keys, &dir, &bytes)))
        .await?
        .map_err(sync_api_error)?;
    Ok(Json(AckImported { report }))
}

/// A batch file of the envelopes not yet acknowledged, for a USB stick.
#[utoipa::path(
    get,
    path = "/api/v1/upload/batch-file",
    operation_id = "uploader_batch_file",
    tag = "uploader",
    security(("session" = ["officer", "admin"])),
    responses(
        (status = 200, description = "The batch file (SQLite, see docs/protocol.md) as an attachment; `X-Batch-Envelopes` tells how many envelopes it holds", content_type = "application/vnd.sqlite3", body = Vec<u8>),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Nothing is waiting for the office", body = crate::shared::api_doc::ErrorBody),
        (status = 507, description = "The disk is full", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn batch_file(State(st): State<AppState>, Leads(_user): Leads) -> Result<Response, ApiError> {
    let first: Option<i64> = st
        .db
        .call(|c| {
            Ok(c.query_row(
                "SELECT min(seq) FROM envelopes WHERE acked_at IS NULL AND pruned_at IS NULL",
                [],
                |r| r.get(0),
            )?)
        })
        .await?;
    let Some(first) = first else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "nothing_to_export",
            "Không có hồ sơ nào chờ gửi: văn phòng đã xác nhận tất cả.",
            "Nothing is waiting: the office has acknowledged every dossier.",
        ));
    };
    let st2 = st.clone();
    let (summary, bytes) = tokio::task::spawn_blocking(move || {
        let dir = st2
            .db
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let out = dir.join(format!("sync-export-{}.batch", uuid::Uuid::now_v7()));
        let r = crate::field::uploader::batch_file::export_with(
            &st2.db,
            &st2.keys,
            &st2.name,
            &dir,
            &out,
            first as u64,
        )
        .and_then(|s| Ok((std::fs::read(&out)?, s)));
        let _ = std::fs::remove_file(&out);
        r.map(|(b, s)| (s, b))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| {
        // The batch is written to the data directory first: a full disk is told as such.
        if e.chain().any(crate::shared::store::is_disk_full) {
            ApiError::from(crate::shared::store::StoreError::Full)
        } else {
            ApiError::internal(e)
        }
    })?;
    let name = format!("batch-{}.batch", summary.batch_id);
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.sqlite3".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (
                header::HeaderName::from_static("x-batch-envelopes"),
                summary.envelopes.to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
