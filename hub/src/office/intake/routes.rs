//! HTTP routes of sync intake on the office hub (protocol §11.9), the clerks' quarantine page, and the
//! upload of a batch file through the office UI. Handlers are thin: parsing and checks are in `protocol`,
//! storage in this folder's `store`, `ack`, `quarantine` and `verify` modules.

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::StreamExt;
use protocol::{SignedManifest, SignedSyncHello};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::io::AsyncWriteExt;

use super::session::{field_device_standing, SyncDevice, CHALLENGE_TTL, TOKEN_TTL};
use super::store::{self, Device, Refusal, CHUNK_BODY_LIMIT};
use crate::office::intake::session::SyncSessions;
use crate::shared::auth::Clerks;
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::state::AppState;

/// Largest batch file accepted through the office UI.
pub const MAX_BATCH_UPLOAD: u64 = 512 * 1024 * 1024;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        challenge,
        hello,
        holdings,
        manifest,
        envelope,
        chunk,
        blob,
        ack,
        quarantine_list,
        quarantine_resolve,
        upload_batch,
        ack_file
    ),
    components(schemas(
        AckRequest,
        ResolveRequest,
        ChallengeOut,
        HelloOut,
        QuarantineOut,
        ResolvedOut,
        UploadOut
    ))
)]
pub struct ApiDoc;

use crate::shared::api_doc::protocol as pdoc;

/// A one-time sync challenge.
#[derive(Serialize, utoipa::ToSchema)]
struct ChallengeOut {
    #[schema(pattern = "^[0-9a-f]{64}$")]
    challenge: String,
    /// Seconds it stays valid.
    expires_in: u64,
}

/// A sync session opened by a hello.
#[derive(Serialize, utoipa::ToSchema)]
struct HelloOut {
    /// The bearer token of the sync session (`Authorization: Bearer …`).
    token: String,
    /// Seconds the session lives.
    expires_in: u64,
    /// A device revoked from a sequence number is told `approved` (it may upload below the cutoff).
    #[schema(value_type = pdoc::DeviceStatus)]
    device_status: protocol::DeviceStatus,
    /// Only for a device revoked from a sequence number: the first seq no longer accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_from_seq: Option<u64>,
    /// Only for a device the office paused (two copies of its card sealing, protocol §11.4.3): since when
    /// and why. Uploads go on; the device seals no more until a clerk approves it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    paused: Option<Paused>,
}

/// A pause of a field device, as its sync hello is told.
#[derive(Serialize, utoipa::ToSchema)]
struct Paused {
    #[schema(format = DateTime)]
    since: String,
    reason: String,
}

/// The quarantine list.
#[derive(Serialize, utoipa::ToSchema)]
struct QuarantineOut {
    items: Vec<super::quarantine::Item>,
    /// Items not resolved yet.
    unresolved: i64,
}

/// A quarantine item resolved.
#[derive(Serialize, utoipa::ToSchema)]
struct ResolvedOut {
    id: i64,
    /// Always true.
    resolved: bool,
    /// False when it was already resolved.
    changed: bool,
}

/// The report of a batch file imported through the office UI.
#[derive(Serialize, utoipa::ToSchema)]
struct UploadOut {
    #[serde(flatten)]
    report: crate::office::intake::batch_import::ImportReport,
    /// Nothing missing and nothing set aside.
    complete: bool,
    /// The signed acknowledgement's file for the field hub (`/api/v1/office/imports/{batch_id}/ack`), or
    /// null.
    ack_url: Option<String>,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/sync/challenge", post(challenge))
        .route("/api/v1/sync/hello", post(hello))
        .route("/api/v1/sync/holdings", get(holdings))
        .route("/api/v1/sync/manifest", post(manifest))
        .route("/api/v1/sync/envelopes/{seq}", put(envelope))
        .route(
            "/api/v1/sync/blobs/{sha256}",
            put(chunk)
                .layer(DefaultBodyLimit::max(CHUNK_BODY_LIMIT))
                .get(blob),
        )
        .route("/api/v1/sync/ack", post(ack))
        .route("/api/v1/office/quarantine", get(quarantine_list))
        .route(
            "/api/v1/office/quarantine/{id}/resolve",
            post(quarantine_resolve),
        )
        .route("/api/v1/office/imports", post(upload_batch))
        .route("/api/v1/office/imports/{batch_id}/ack", get(ack_file))
}

/// A malformed sync message.
pub fn bad_message(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_message",
        format!("Thông điệp đồng bộ ({what}) không hợp lệ: {e}"),
        format!("The sync message ({what}) is not valid: {e}"),
    )
}

/// The HTTP answer of a refusal.
fn refused(r: Refusal) -> Response {
    let e = match r {
        Refusal::Bad(e) => bad_message("upload", e),
        Refusal::Signature(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            format!("Chữ ký của bản kê không xác minh được: {e}"),
            format!("The manifest's signature does not verify: {e}"),
        ),
        Refusal::Mismatch(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "manifest_mismatch",
            format!("Bản kê không nhất quán: {e}"),
            format!("The manifest is inconsistent: {e}"),
        ),
        Refusal::UnexpectedEnvelope => ApiError::new(
            StatusCode::CONFLICT,
            "unexpected_envelope",
            "Văn phòng chưa được báo trước gói hồ sơ này: hãy gửi bản kê trước.",
            "The office was not told about this envelope: send the manifest first.",
        ),
        Refusal::UnexpectedBlob => ApiError::new(
            StatusCode::CONFLICT,
            "unexpected_blob",
            "Văn phòng chưa được báo trước dữ liệu này: hãy gửi bản kê trước.",
            "The office was not told about this ciphertext: send the manifest first.",
        ),
        Refusal::ChunkOffset { held } => {
            return (
                StatusCode::CONFLICT,
                Json(json!({ "error": {
                    "code": "chunk_offset",
                    "message_vi": format!("Văn phòng đang giữ {held} byte; hãy gửi tiếp từ vị trí đó."),
                    "message_en": format!("The office holds {held} bytes; resume from there."),
                    "held": held,
                }})),
            )
                .into_response()
        }
        Refusal::CiphertextMismatch => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ciphertext_mismatch",
            "Dữ liệu nhận đủ nhưng không khớp mã băm; văn phòng đã bỏ và cần gửi lại từ đầu.",
            "The complete ciphertext does not match its hash; the office discarded it: send it again from the start.",
        ),
        Refusal::UnknownBatch => ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_batch",
            "Văn phòng không có bản kê nào với mã lô này từ thiết bị này.",
            "The office has no manifest with this batch id from this device.",
        )
        .with_field("batch_id"),
    };
    e.into_response()
}

fn answer<T: serde::Serialize>(r: Result<T, Refusal>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(r) => refused(r),
    }
}

/// Runs `f` with the calling device's pinned key and the office identity.
async fn with_device<T: Send + 'static>(
    st: &AppState,
    dev: &SyncDevice,
    f: impl FnOnce(
            &mut rusqlite::Connection,
            &Device<'_>,
            &AppState,
        ) -> crate::shared::store::StoreResult<T>
        + Send
        + 'static,
) -> Result<T, ApiError> {
    let id = dev.device_id.clone();
    let st2 = st.clone();
    Ok(st
        .db
        .call(move |c| {
            let Some((key, _)) = crate::shared::trust::field_device(c, &id)? else {
                return Err(crate::shared::store::StoreError::Corrupt(
                    "the session's device is no longer pinned".into(),
                ));
            };
            let d = Device {
                id: &id,
                key: &key,
                identity: st2.keys.age_identity(),
                cutoff: super::verify::Cutoff::of(c, &id)?,
            };
            f(c, &d, &st2)
        })
        .await?)
}

/// Starts a sync handshake: a fresh one-time challenge for a field hub to sign in its hello.
#[utoipa::path(
    post,
    path = "/api/v1/sync/challenge",
    operation_id = "intake_challenge",
    tag = "intake",
    security(()),
    responses(
        (status = 200, body = ChallengeOut),
    )
)]
async fn challenge(State(st): State<AppState>) -> Result<Json<ChallengeOut>, ApiError> {
    let c = st.part::<SyncSessions>().challenge()?;
    Ok(Json(ChallengeOut {
        challenge: c,
        expires_in: CHALLENGE_TTL.as_secs(),
    }))
}

/// Ends the handshake: a paired field hub's signed hello (with the challenge) opens a sync session.
#[utoipa::path(
    post,
    path = "/api/v1/sync/hello",
    operation_id = "intake_hello",
    tag = "intake",
    security(()),
    request_body(content = pdoc::SignedSyncHello, content_type = "application/json",
        description = "A `SignedSyncHello` in canonical JSON (docs/protocol.md §11.8); read as bytes"),
    responses(
        (status = 200, description = "A sync session (a device revoked from a sequence number is told \
            `approved` with the cutoff: it may upload below it)", body = HelloOut),
        (status = 400, description = "Malformed hello, or its signature does not verify", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "Device not paired (`unknown_device`), or challenge spent, expired or \
            unknown (`challenge_invalid`)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn hello(
    State(st): State<AppState>,
    _channel: super::session::SyncChannel,
    body: Bytes,
) -> Result<Json<HelloOut>, ApiError> {
    let signed = SignedSyncHello::from_bytes(&body).map_err(|e| bad_message("hello", e))?;
    let device = signed.hello.device_id.clone();
    let id = device.clone();
    let found = st
        .db
        .call(move |c| {
            Ok(match crate::shared::trust::field_device(c, &id)? {
                Some((key, _)) => Some((key, field_device_standing(c, &id)?)),
                None => None,
            })
        })
        .await?;
    let Some((key, Some((_name, status, revoked_from)))) = found else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unknown_device",
            "Văn phòng này chưa ghép nối với thiết bị này. Hãy ghép nối bằng mã ghép nối của văn phòng.",
            "This office is not paired with this device. Pair it with the office's pairing code.",
        ));
    };
    signed.verify(&key, &st.keys.device_id).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_signature",
            format!("Lời chào đồng bộ không xác minh được: {e}"),
            format!("The sync hello does not verify: {e}"),
        )
    })?;
    if !st
        .part::<SyncSessions>()
        .spend_challenge(&signed.hello.challenge)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "challenge_invalid",
            "Mã thử thách đã dùng, hết hạn hoặc không do văn phòng này cấp; hãy bắt đầu lại.",
            "The challenge was already used, has expired or was not issued by this office; start again.",
        )
        .with_field("challenge"));
    }
    let dev = device.clone();
    let paused = st
        .db
        .call(move |c| {
            use rusqlite::OptionalExtension;
            Ok(c.query_row(
                "SELECT paused_at, pause_reason FROM trusted_peers
                  WHERE device_id = ?1 AND mode = 'field' AND paused_at IS NOT NULL",
                [dev.as_str()],
                |r| {
                    Ok(Paused {
                        since: r.get(0)?,
                        reason: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    })
                },
            )
            .optional()?)
        })
        .await?;
    let token = st.part::<SyncSessions>().open(device)?;
    // A device revoked from a sequence number is told `approved` (it may upload what it sealed below the
    // cutoff) and the cutoff itself, for information: the office enforces it per envelope (§9 step 7).
    Ok(Json(HelloOut {
        token,
        expires_in: TOKEN_TTL.as_secs(),
        device_status: super::session::wire_status(status, revoked_from),
        revoked_from_seq: revoked_from,
        paused,
    }))
}

fn canonical_json(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// What the office holds of the calling device (allowed in every status: it names the status).
#[utoipa::path(
    get,
    path = "/api/v1/sync/holdings",
    operation_id = "intake_holdings",
    tag = "intake",
    security(("sync_token" = [])),
    responses(
        (status = 200, description = "Signed holdings in canonical JSON (docs/protocol.md §11.4)", body = pdoc::SignedHoldings),
        (status = 401, description = "No live sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "`sync_https_required`: not over HTTPS (nor from this machine)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn holdings(State(st): State<AppState>, dev: SyncDevice) -> Result<Response, ApiError> {
    let status = dev.wire_status();
    let signed = with_device(&st, &dev, move |c, d, st| {
        super::ack::holdings(c, &st.keys.device, d.id, status)
    })
    .await?;
    Ok(canonical_json(
        signed.to_bytes().map_err(ApiError::internal)?,
    ))
}

/// Announces a batch: the signed manifest of the envelopes and ciphertexts the field hub will send.
#[utoipa::path(
    post,
    path = "/api/v1/sync/manifest",
    operation_id = "intake_manifest",
    tag = "intake",
    security(("sync_token" = [])),
    request_body(content = pdoc::SignedManifest, content_type = "application/json",
        description = "A `SignedManifest` in canonical JSON (docs/protocol.md §3.4, §11.5); read as bytes"),
    responses(
        (status = 200, description = "What the office still needs of the batch (envelopes, blobs)", body = store::ManifestAnswer),
        (status = 400, description = "Malformed manifest, bad signature or inconsistent", body = crate::shared::api_doc::ErrorBody),
        (status = 401, description = "No live sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "Device pending approval or revoked, or `sync_https_required`", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn manifest(
    State(st): State<AppState>,
    dev: SyncDevice,
    body: Bytes,
) -> Result<Response, ApiError> {
    dev.require_upload()?;
    let signed: SignedManifest =
        protocol::parse_canonical(&body).map_err(|e| bad_message("manifest", e))?;
    signed
        .manifest
        .check_form()
        .map_err(|e| bad_message("manifest", e))?;
    let r = with_device(&st, &dev, move |c, d, _| {
        store::accept_manifest(c, d, &signed)
    })
    .await?;
    Ok(answer(r))
}

/// Delivers one announced envelope (a signed, sealed dossier) by its sequence number.
#[utoipa::path(
    put,
    path = "/api/v1/sync/envelopes/{seq}",
    operation_id = "intake_envelope",
    tag = "intake",
    security(("sync_token" = [])),
    params(("seq" = u64, Path, description = "The envelope's sequence number on its device")),
    request_body(content = pdoc::SignedEnvelope, content_type = "application/json",
        description = "A `SignedEnvelope` in canonical JSON (docs/protocol.md §3.2, §11.5); read as bytes"),
    responses(
        (status = 200, description = "The envelope's intake result", body = store::EnvelopeAnswer),
        (status = 400, description = "Malformed envelope or path", body = crate::shared::api_doc::ErrorBody),
        (status = 401, description = "No live sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "Device pending approval or revoked, or `sync_https_required`", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Not announced in a manifest", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn envelope(
    State(st): State<AppState>,
    dev: SyncDevice,
    Path(seq): Path<u64>,
    body: Bytes,
) -> Result<Response, ApiError> {
    dev.require_upload()?;
    let r = with_device(&st, &dev, move |c, d, _| {
        store::put_envelope(c, d, seq, &body)
    })
    .await?;
    Ok(answer(r))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct OffsetQuery {
    /// Where this chunk starts in the ciphertext (the bytes the office holds).
    offset: u64,
}

/// Delivers one chunk (at most 256 KiB) of an announced ciphertext, resumable at the held offset.
#[utoipa::path(
    put,
    path = "/api/v1/sync/blobs/{sha256}",
    operation_id = "intake_chunk",
    tag = "intake",
    security(("sync_token" = [])),
    params(("sha256" = String, Path, description = "The ciphertext's SHA-256, hex"), OffsetQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses(
        (status = 200, description = "The ciphertext's state after the chunk", body = store::ChunkAnswer),
        (status = 400, description = "Bad query string", body = crate::shared::api_doc::ErrorBody),
        (status = 401, description = "No live sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "Device pending approval or revoked, or `sync_https_required`", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Not announced (`unexpected_blob`), or wrong offset (`chunk_offset`, with \
            `held` in the error object)", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "Chunk over 256 KiB", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "The complete ciphertext does not match its hash (discarded)", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn chunk(
    State(st): State<AppState>,
    dev: SyncDevice,
    Path(sha): Path<String>,
    Query(q): Query<OffsetQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    dev.require_upload()?;
    if body.len() as u64 > protocol::MAX_CHUNK_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "chunk_too_large",
            "Mỗi phần dữ liệu tối đa 256 KiB.",
            "A chunk is at most 256 KiB.",
        ));
    }
    let r = with_device(&st, &dev, move |c, d, _| {
        store::put_chunk(c, d, &sha, q.offset, &body)
    })
    .await?;
    Ok(answer(r))
}

/// How much of an announced ciphertext the office holds (to resume an interrupted upload).
#[utoipa::path(
    get,
    path = "/api/v1/sync/blobs/{sha256}",
    operation_id = "intake_blob",
    tag = "intake",
    security(("sync_token" = [])),
    params(("sha256" = String, Path, description = "The ciphertext's SHA-256, hex")),
    responses(
        (status = 200, description = "The ciphertext's state (bytes held, complete)", body = store::ChunkAnswer),
        (status = 401, description = "No live sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "Device pending approval or revoked, or `sync_https_required`", body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "Not announced in a manifest", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn blob(
    State(st): State<AppState>,
    dev: SyncDevice,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    dev.require_upload()?;
    let r = with_device(&st, &dev, move |c, d, _| store::blob_state(c, d, &sha)).await?;
    Ok(answer(r))
}

/// Asks for the acknowledgement of a batch.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AckRequest {
    /// The manifest's batch id (a UUID).
    batch_id: String,
}

/// The office's signed acknowledgement of a batch: what it received and accepted (any device status).
#[utoipa::path(
    post,
    path = "/api/v1/sync/ack",
    operation_id = "intake_ack",
    tag = "intake",
    security(("sync_token" = [])),
    request_body = AckRequest,
    responses(
        (status = 200, description = "A signed `Ack` in canonical JSON (docs/protocol.md §11.6)", body = pdoc::SignedAck),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "Body too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "Not JSON", body = crate::shared::api_doc::ErrorBody),
        (status = 401, description = "No live sync session", body = crate::shared::api_doc::ErrorBody),
        (status = 403, description = "`sync_https_required`: not over HTTPS (nor from this machine)", body = crate::shared::api_doc::ErrorBody),
        (status = 404, description = "No manifest with this batch id from this device", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn ack(
    State(st): State<AppState>,
    dev: SyncDevice,
    JsonBody(req): JsonBody<AckRequest>,
) -> Result<Response, ApiError> {
    let approved = dev.may_upload();
    let r = with_device(&st, &dev, move |c, d, st| {
        store::ack(c, d, &st.keys.device, &req.batch_id, approved)
    })
    .await?;
    match r {
        Ok(signed) => Ok(canonical_json(
            signed.to_bytes().map_err(ApiError::internal)?,
        )),
        Err(r) => Ok(refused(r)),
    }
}

fn require_office(st: &AppState) -> Result<(), ApiError> {
    if st.mode != protocol::HubMode::Office {
        return Err(ApiError::wrong_mode());
    }
    Ok(())
}

/// Envelopes set aside at intake (bad signature, unknown sender, …), for a clerk to look at.
#[utoipa::path(
    get,
    path = "/api/v1/office/quarantine",
    operation_id = "intake_quarantine_list",
    tag = "intake",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = QuarantineOut),
        crate::shared::api_doc::GatedReadErrors,
    )
)]
async fn quarantine_list(
    State(st): State<AppState>,
    _user: Clerks,
) -> Result<Json<QuarantineOut>, ApiError> {
    require_office(&st)?;
    let (items, unresolved) = st
        .db
        .call(|c| {
            Ok((
                super::quarantine::list(c)?,
                super::quarantine::unresolved_count(c)?,
            ))
        })
        .await?;
    Ok(Json(QuarantineOut { items, unresolved }))
}

/// A clerk's resolution of a quarantine item.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ResolveRequest {
    /// What was checked and decided: 1 to 1000 characters, some visible; line breaks are the only
    /// control characters.
    #[schema(
        min_length = 1,
        max_length = 1000,
        pattern = r"^([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*[^\s\u0000-\u001F\u007F-\u009F]([^\u0000-\u0009\u000B-\u001F\u007F-\u009F]|\r\n)*$"
    )]
    note: String,
}

/// Marks a quarantine item resolved, with the clerk's note (audited).
#[utoipa::path(
    post,
    path = "/api/v1/office/quarantine/{id}/resolve",
    operation_id = "intake_quarantine_resolve",
    tag = "intake",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    params(("id" = i64, Path, description = "Quarantine item id")),
    request_body = ResolveRequest,
    responses(
        (status = 200, body = ResolvedOut),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 404, description = "No such item", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Note missing or too long", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn quarantine_resolve(
    State(st): State<AppState>,
    Clerks(user): Clerks,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<ResolveRequest>,
) -> Result<Json<ResolvedOut>, ApiError> {
    require_office(&st)?;
    // Judged as sent (what the schema says): the length, and no control character but line breaks.
    let raw = req.note.replace("\r\n", "\n");
    let note = raw.trim().to_owned();
    if note.is_empty()
        || req.note.chars().count() > 1000
        || raw.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "note_required",
            "Hãy ghi rõ đã kiểm tra gì và quyết định thế nào (tối đa 1000 ký tự, không có ký tự điều khiển).",
            "Write what was checked and what was decided (at most 1000 characters, no control characters).",
        )
        .with_field("note"));
    }
    let uid = user.id.clone();
    match st
        .db
        .call(move |c| super::quarantine::resolve(c, id, &uid, &note))
        .await?
    {
        None => Err(ApiError::not_found("mục cách ly", "Quarantine item")),
        Some(now) => Ok(Json(ResolvedOut {
            id,
            resolved: true,
            changed: now,
        })),
    }
}

/// Imports a batch file uploaded through the office UI.
///
/// Streamed to a temporary file in the data directory (at most 512 MiB), imported envelope by envelope
/// like `hub batch import`, then deleted.
#[utoipa::path(
    post,
    path = "/api/v1/office/imports",
    operation_id = "intake_upload_batch",
    tag = "intake",
    security(("session" = ["clerk", "admin"], "csrf" = [])),
    params(("x-file-name" = Option<String>, Header, description = "The file's name, URI-encoded (shown in the \
        import report)")),
    request_body(content(
        (Vec<u8> = "application/octet-stream"),
        (Vec<u8> = "application/vnd.sqlite3")),
        description = "The `.batch` file as it is (at most 512 MiB)"),
    responses(
        (status = 200, description = "The import report", body = UploadOut),
        (status = 400, description = "Empty file, or a file refused before anything in it is trusted \
            (`field` = `file`; codes `batch_not_sqlite`, `batch_bad_header`, `batch_damaged`, \
            `batch_unexpected_schema`, `batch_value_too_large`, `batch_too_slow`, `batch_too_large`, \
            `batch_wrong_format`; see docs/protocol.md §8). The refusal is kept in the import history.", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "Larger than 512 MiB", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "Not sent as a raw file", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn upload_batch(
    State(st): State<AppState>,
    _user: Clerks,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadOut>, ApiError> {
    require_office(&st)?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ctype = ctype.split(';').next().unwrap_or("").trim();
    if ctype != "application/octet-stream" && ctype != "application/vnd.sqlite3" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Hãy gửi tệp lô (.batch) nguyên dạng.",
            "Send the batch file (.batch) as it is.",
        ));
    }
    let shown: String = headers
        .get("x-file-name")
        .and_then(|v| v.to_str().ok())
        .map(|n| {
            percent_decode(n)
                .chars()
                .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
                .take(200)
                .collect()
        })
        .filter(|n: &String| !n.is_empty())
        .unwrap_or_else(|| "uploaded.batch".into());
    let dir = st
        .db
        .path()
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("uploads");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(ApiError::internal)?;
    let tmp = dir.join(format!("{}.batch", uuid::Uuid::now_v7()));
    let written = receive(body, &tmp).await;
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    // The file is read as untrusted input on a blocking thread with its own connection to it, never
    // inside the office database's connection: a hostile file cannot hold the lock every request needs.
    let path = tmp.clone();
    let read =
        tokio::task::spawn_blocking(move || crate::office::intake::batch_import::read_batch(&path))
            .await;
    let _ = tokio::fs::remove_file(&tmp).await;
    let read = read.map_err(ApiError::internal)?;
    let st2 = st.clone();
    let report = st
        .db
        .call(move |c| {
            crate::office::intake::batch_import::import_read(
                c,
                st2.keys.age_identity(),
                &st2.keys.device,
                read,
                &shown,
            )
        })
        .await?;
    if let Some(r) = &report.error {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            r.code,
            r.message_vi.clone(),
            r.message_en.clone(),
        )
        .with_field("file"));
    }
    let complete = report.complete();
    let ack_url = match (&report.ack, &report.batch_id) {
        (Some(_), Some(b)) => Some(format!("/api/v1/office/imports/{b}/ack")),
        _ => None,
    };
    Ok(Json(UploadOut {
        report,
        complete,
        ack_url,
    }))
}

/// Streams `body` into `path`, refusing more than [`MAX_BATCH_UPLOAD`] bytes; synced before returning.
async fn receive(body: Body, path: &std::path::Path) -> Result<(), ApiError> {
    let mut f = tokio::fs::File::create(path)
        .await
        .map_err(ApiError::internal)?;
    let mut stream = body.into_data_stream();
    let mut n: u64 = 0;
    while let Some(part) = stream.next().await {
        let part = part.map_err(|e| bad_message("upload", e))?;
        n += part.len() as u64;
        if n > MAX_BATCH_UPLOAD {
            return Err(ApiError::too_large(
                "Tệp lô lớn hơn 512 MiB; hãy xuất thành nhiều lô nhỏ hơn.",
                "The batch file is larger than 512 MiB; export it as several smaller batches.",
            ));
        }
        f.write_all(&part).await.map_err(ApiError::internal)?;
    }
    if n == 0 {
        return Err(ApiError::bad_request(
            "Tệp gửi lên trống.",
            "The uploaded file is empty.",
        ));
    }
    f.sync_all().await.map_err(ApiError::internal)?;
    Ok(())
}

/// The signed acknowledgement of an imported batch, as a file for the field hub.
#[utoipa::path(
    get,
    path = "/api/v1/office/imports/{batch_id}/ack",
    operation_id = "intake_ack_file",
    tag = "intake",
    security(("session" = ["clerk", "admin"])),
    params(("batch_id" = String, Path, description = "The batch id (a UUID)")),
    responses(
        (status = 200, description = "The USB acknowledgement file, as an attachment: the signed `Ack` in \
            canonical JSON (docs/protocol.md §11.6), alone (`application/json`) or, for a field hub that reads \
            procedure packages and lacks some, on the first line followed by one canonical `SignedPackage` per \
            line (§13.4; `application/x-ndjson`)", content(
                (pdoc::SignedAck = "application/json"),
                (String = "application/x-ndjson"))),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, description = "No such batch", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn ack_file(
    State(st): State<AppState>,
    _user: Clerks,
    Path(batch_id): Path<String>,
) -> Result<Response, ApiError> {
    require_office(&st)?;
    if !protocol::is_uuid(&batch_id) {
        return Err(ApiError::not_found("lô", "Batch"));
    }
    let st2 = st.clone();
    let b = batch_id.clone();
    let bytes = st
        .db
        .call(move |c| match super::ack::manifest_by_batch(c, &b)? {
            Some(m) => {
                let ack = super::ack::build_ack(c, &st2.keys.device, &m)?;
                Ok(Some(super::ack::usb_ack_file(c, &st2.keys.device, &ack)?))
            }
            None => Ok(None),
        })
        .await?
        .ok_or_else(|| ApiError::not_found("lô", "Batch"))?;
    // One JSON document, or JSON lines when signed packages follow the ack: typed as what it is.
    let lines = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    let ctype = if lines > 1 {
        "application/x-ndjson"
    } else {
        "application/json"
    };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ack-{batch_id}.json\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Decodes `%XX` escapes (the browser sends the file name URI-encoded); invalid UTF-8 is replaced.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 && s.is_char_boundary(i + 3) {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
