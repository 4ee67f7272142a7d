//! HTTP routes for drafts and their photos (field mode).

use std::collections::BTreeMap;

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use protocol::{ProcedureDef, ProcedureRef, Stage};
use serde::{Deserialize, Serialize};

use super::store::{self as drafts, AttachmentInfo, Draft, DraftSummary, NewAttachment, Update};
use crate::shared::api_doc::field_schemas::Empty;
use crate::shared::auth::{FieldTeam, Leads};
use crate::shared::error::{ApiError, FieldDetail, JsonBody};
use crate::shared::media::{self, MediaError};
use crate::shared::state::AppState;

/// Most photos one draft may hold (the 3-in-1 needs a handful; a multi-page paper takes one per page).
pub const MAX_PHOTOS_PER_DRAFT: usize = 30;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list,
        create,
        read,
        update,
        remove,
        check,
        add_photo,
        photo,
        remove_photo
    ),
    components(schemas(
        CreateIn,
        UpdateIn,
        Draft,
        AttachmentInfo,
        PhotoForm,
        DraftList,
        DraftSummary,
        DraftCheck
    ))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/drafts", get(list).post(create))
        .route("/api/v1/drafts/{id}", get(read).put(update).delete(remove))
        .route("/api/v1/drafts/{id}/check", get(check))
        .route(
            "/api/v1/drafts/{id}/attachments",
            axum::routing::post(add_photo)
                .layer(DefaultBodyLimit::max(media::MAX_PHOTO_BYTES + 64 * 1024)),
        )
        .route(
            "/api/v1/drafts/{id}/attachments/{att}",
            get(photo).delete(remove_photo),
        )
}

/// Looks a procedure up in the catalogue, or answers 422 on the `procedure` field.
pub fn procedure(r: &ProcedureRef) -> Result<&'static ProcedureDef, ApiError> {
    crate::shared::procedures::find(r).ok_or_else(|| {
        ApiError::validation(vec![FieldDetail {
            field: "procedure".into(),
            code: "unknown_procedure".into(),
            message_vi: format!("Không có thủ tục \"{}\" phiên bản {}.", r.id, r.version),
            message_en: format!("There is no procedure \"{}\" version {}.", r.id, r.version),
        }])
    })
}

/// Normalises the fields and checks them at the draft stage (format, known communes); errors are
/// answered as 422, warnings (e.g. a late birth registration) do not stop a draft from being saved.
async fn checked_fields(
    st: &AppState,
    def: &'static ProcedureDef,
    fields: BTreeMap<String, String>,
    roles: Vec<String>,
) -> Result<BTreeMap<String, String>, ApiError> {
    let fields = protocol::normalize_fields(&fields);
    let checked = fields.clone();
    let findings = st
        .db
        .call(move |c| super::rules::check(c, def, &checked, &roles, Stage::Draft))
        .await?;
    let errors = protocol::blocking(&findings);
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(ApiError::validation(
            errors.into_iter().map(Into::into).collect(),
        ))
    }
}

fn draft_not_found() -> ApiError {
    ApiError::not_found("hồ sơ nháp", "Draft")
}

/// The drafts on this hub, newest first (summaries).
#[utoipa::path(
    get,
    path = "/api/v1/drafts",
    operation_id = "capture_list",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"])),
    responses(
        (status = 200, description = "The drafts, newest first", body = DraftList),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn list(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
) -> Result<Json<DraftList>, ApiError> {
    let mut list = st.db.call(|c| drafts::list(c)).await?;
    // Drafts retention will delete soon carry the day (issue 19).
    let retention = st
        .parts
        .get::<drafts::DraftRetention>()
        .copied()
        .unwrap_or_default();
    retention.annotate(&mut list, crate::shared::clock::now_utc());
    Ok(Json(DraftList { drafts: list }))
}

/// The drafts on this hub, newest first.
#[derive(Serialize, utoipa::ToSchema)]
struct DraftList {
    drafts: Vec<DraftSummary>,
}

/// A new draft: the procedure (`{"id", "version"}` of the catalogue) and the fields typed so far.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateIn {
    /// `{"id": "<procedure id>", "version": <n>}` (see docs/protocol.md).
    #[schema(value_type = crate::shared::api_doc::protocol::ProcedureRef)]
    procedure: ProcedureRef,
    #[serde(default, deserialize_with = "crate::shared::error::unique_string_map")]
    fields: BTreeMap<String, String>,
}

/// Starts a draft; an `Idempotency-Key` header makes a retried create return the same draft.
#[utoipa::path(
    post,
    path = "/api/v1/drafts",
    operation_id = "capture_create",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "At most 128 characters; a retry with the same key returns the draft first created")),
    request_body = CreateIn,
    responses(
        (status = 201, body = Draft),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Unknown procedure or invalid fields", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn create(
    State(st): State<AppState>,
    FieldTeam(user): FieldTeam,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateIn>,
) -> Result<(StatusCode, Json<Draft>), ApiError> {
    let def = procedure(&body.procedure)?;
    let fields = checked_fields(&st, def, body.fields, Vec::new()).await?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty() && k.len() <= 128)
        .map(|k| format!("{}:{k}", user.id));
    let uid = user.id.clone();
    let draft = st
        .db
        .call(move |c| drafts::create(c, &body.procedure, &fields, &uid, key.as_deref()))
        .await?;
    Ok((StatusCode::CREATED, Json(draft)))
}

/// One draft with its fields and photos.
#[utoipa::path(
    get,
    path = "/api/v1/drafts/{id}",
    operation_id = "capture_read",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("id" = String, Path, description = "Draft id")),
    responses(
        (status = 200, body = Draft),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn read(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<Draft>, ApiError> {
    let d = st
        .db
        .call(move |c| drafts::get(c, &id))
        .await?
        .ok_or_else(draft_not_found)?;
    Ok(Json(d))
}

/// The review before sealing: every value the sealed dossier would carry (typed and derived) and every
/// finding at the sealing stage, without sealing. Sealing runs the same checks again.
#[utoipa::path(
    get,
    path = "/api/v1/drafts/{id}/check",
    operation_id = "capture_check",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(("id" = String, Path, description = "Draft id")),
    responses(
        (status = 200, description = "The values and findings; sealing runs the same checks again", body = DraftCheck),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "The draft's procedure is not in the catalogue", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn check(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
) -> Result<Json<DraftCheck>, ApiError> {
    let d = st
        .db
        .call(move |c| drafts::get(c, &id))
        .await?
        .ok_or_else(draft_not_found)?;
    let def = procedure(&d.procedure)?;
    let (fields, derived) = protocol::derive_fields(def, &protocol::normalize_fields(&d.fields));
    let roles: Vec<String> = d.attachments.iter().map(|a| a.role.clone()).collect();
    let checked = fields.clone();
    let findings = st
        .db
        .call(move |c| super::rules::check(c, def, &checked, &roles, Stage::Seal))
        .await?;
    let (errors, warnings): (Vec<_>, Vec<_>) = findings
        .into_iter()
        .partition(|f| f.severity == protocol::Severity::Error);
    let ready = errors.is_empty();
    let details = |v: Vec<protocol::FieldError>| -> Vec<FieldDetail> {
        v.into_iter().map(Into::into).collect()
    };
    Ok(Json(DraftCheck {
        id: d.id,
        version: d.version,
        fields,
        derived,
        errors: details(errors),
        warnings: details(warnings),
        ready,
    }))
}

/// The review of a draft before sealing.
#[derive(Serialize, utoipa::ToSchema)]
struct DraftCheck {
    id: String,
    /// The draft's version the review was made on.
    version: i64,
    /// Every value the sealed dossier would carry, the derived ones included (normalised).
    fields: BTreeMap<String, String>,
    /// The keys of `fields` the hub derived rather than someone typed.
    derived: Vec<String>,
    /// Findings that stop sealing.
    #[schema(value_type = Vec<crate::shared::api_doc::field_schemas::FieldDetail>)]
    errors: Vec<FieldDetail>,
    /// Findings to look at that do not stop sealing.
    #[schema(value_type = Vec<crate::shared::api_doc::field_schemas::FieldDetail>)]
    warnings: Vec<FieldDetail>,
    /// No errors: the draft can be sealed.
    ready: bool,
}

/// The draft's fields as now typed, and the version they were typed on (optimistic concurrency).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateIn {
    #[serde(deserialize_with = "crate::shared::error::unique_string_map")]
    fields: BTreeMap<String, String>,
    version: i64,
}

/// Saves a draft's fields; refused with 409 when another phone saved a later version first.
#[utoipa::path(
    put,
    path = "/api/v1/drafts/{id}",
    operation_id = "capture_update",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Draft id")),
    request_body = UpdateIn,
    responses(
        (status = 200, body = Draft),
        (status = 400, description = "Bad JSON", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "A later version was saved first (`field`: version)", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Invalid fields", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn update(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateIn>,
) -> Result<Json<Draft>, ApiError> {
    let id2 = id.clone();
    let current = st
        .db
        .call(move |c| drafts::get(c, &id2))
        .await?
        .ok_or_else(draft_not_found)?;
    let def = procedure(&current.procedure)?;
    let roles: Vec<String> = current.attachments.iter().map(|a| a.role.clone()).collect();
    let fields = checked_fields(&st, def, body.fields, roles).await?;
    match st.db.call(move |c| drafts::update(c, &id, &fields, body.version)).await? {
        Update::Saved(d) => Ok(Json(*d)),
        Update::NotFound => Err(draft_not_found()),
        Update::Conflict { current } => Err(ApiError::conflict(
            format!(
                "Một máy khác đã lưu hồ sơ này trước (phiên bản {current}). Tải lại để xem bản mới nhất; \
                 những gì bạn gõ vẫn còn trên máy này."
            ),
            format!(
                "Another phone saved this draft first (version {current}). Reload to see the latest; \
                 what you typed is still kept on this phone."
            ),
        )
        .with_field("version")),
    }
}

/// Deletes a draft and its photos.
#[utoipa::path(
    delete,
    path = "/api/v1/drafts/{id}",
    operation_id = "capture_remove",
    tag = "capture",
    security(("session" = ["officer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Draft id")),
    responses(
        (status = 200, description = "The draft and its photos are deleted", body = Empty),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn remove(
    State(st): State<AppState>,
    Leads(_user): Leads,
    Path(id): Path<String>,
) -> Result<Json<Empty>, ApiError> {
    if st.db.call(move |c| drafts::delete(c, &id)).await? {
        Ok(Json(Empty {}))
    } else {
        Err(draft_not_found())
    }
}

fn media_error(e: MediaError) -> ApiError {
    let (status, code) = match e {
        MediaError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        MediaError::UnsupportedFormat => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media"),
        MediaError::TooManyPixels(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
        MediaError::Undecodable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad_photo"),
        MediaError::CannotCompress => (StatusCode::UNPROCESSABLE_ENTITY, "photo_too_detailed"),
    };
    let vi = match e {
        MediaError::TooLarge => "Ảnh quá lớn (tối đa 10 MB).".to_string(),
        MediaError::UnsupportedFormat => "Tệp không phải ảnh JPEG, PNG hay WebP.".to_string(),
        MediaError::TooManyPixels(_) => {
            "Ảnh có quá nhiều điểm ảnh (tối đa 40 megapixel).".to_string()
        }
        MediaError::Undecodable(_) => {
            "Không đọc được ảnh (tệp hỏng hoặc chưa tải xong). Hãy chụp lại.".to_string()
        }
        MediaError::CannotCompress => {
            "Không nén được ảnh xuống dưới 100 KB. Hãy chụp lại giấy tờ rõ hơn.".to_string()
        }
    };
    ApiError::new(status, code, vi, format!("{e}.")).with_field("file")
}

/// The multipart form of a photo upload (documentation only: the handler reads the parts itself).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct PhotoForm {
    /// The document role in the draft's procedure (e.g. `id_document`).
    role: String,
    /// The photo: JPEG, PNG or WebP, at most 10 MB and 40 megapixels. Its file name is not kept: the
    /// stored copy is named `<role>-<n>.jpg`.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Adds a photo of a paper to a draft; only the processed copy (upright, downsized, no metadata) is kept.
#[utoipa::path(
    post,
    path = "/api/v1/drafts/{id}/attachments",
    operation_id = "capture_add_photo",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(("id" = String, Path, description = "Draft id")),
    request_body(content = PhotoForm, content_type = "multipart/form-data", description = "One `role` part and one `file` part"),
    responses(
        (status = 201, body = AttachmentInfo),
        (status = 400, description = "Malformed upload, missing or extra part", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
        (status = 409, description = "The draft already has the most photos allowed", body = crate::shared::api_doc::ErrorBody),
        (status = 413, description = "Photo too large", body = crate::shared::api_doc::ErrorBody),
        (status = 415, description = "Not JPEG, PNG or WebP", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "Unknown document role, undecodable photo", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn add_photo(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Result<(StatusCode, Json<AttachmentInfo>), ApiError> {
    let mut role = None;
    let mut file: Option<Vec<u8>> = None;
    let mut unexpected: Option<String> = None;
    while let Some(field) = form.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            media_error(MediaError::TooLarge)
        } else {
            ApiError::bad_request(
                "Dữ liệu ảnh gửi lên bị lỗi.",
                format!("The upload is malformed: {e}."),
            )
        }
    })? {
        let part = field.name().unwrap_or_default().to_owned();
        let repeated = match part.as_str() {
            "role" => role.is_some(),
            "file" => file.is_some(),
            _ => true,
        };
        if repeated || unexpected.is_some() {
            // Only one `role` and one `file` part: after anything else, the rest of the upload (within
            // the route's body limit) is read and dropped, never kept, so the phone gets the answer
            // rather than a broken connection; then the whole upload is refused.
            unexpected.get_or_insert(if part.is_empty() {
                "file".to_owned()
            } else {
                part
            });
            continue;
        }
        match field.name() {
            Some("role") => {
                role = Some(field.text().await.map_err(|_| {
                    ApiError::bad_request(
                        "Vai trò ảnh không đọc được.",
                        "The photo role cannot be read.",
                    )
                })?)
            }
            Some("file") => {
                // The file name sent is not kept (see `media::stored_name`).
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|_| media_error(MediaError::TooLarge))?;
                file = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    if let Some(part) = unexpected {
        return Err(ApiError::bad_request(
            "Dữ liệu ảnh gửi lên có phần thừa.",
            "The upload has an unexpected or repeated part (only `role` and `file`, once each).",
        )
        .with_field(part));
    }
    let bytes = file.ok_or_else(|| {
        ApiError::bad_request(
            "Chưa chọn ảnh.",
            "No photo was sent (multipart part `file`).",
        )
        .with_field("file")
    })?;
    let role = role.unwrap_or_default();
    let id2 = id.clone();
    let draft = st
        .db
        .call(move |c| drafts::get(c, &id2))
        .await?
        .ok_or_else(draft_not_found)?;
    let def = procedure(&draft.procedure)?;
    if draft.attachments.len() >= MAX_PHOTOS_PER_DRAFT {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "too_many_photos",
            format!("Hồ sơ đã có {MAX_PHOTOS_PER_DRAFT} ảnh, là số tối đa. Xóa bớt ảnh không cần."),
            format!("The draft already has {MAX_PHOTOS_PER_DRAFT} photos, the most allowed. Remove some."),
        )
        .with_field("file"));
    }
    if !def.documents.iter().any(|d| d.role == role) {
        return Err(ApiError::validation(vec![FieldDetail {
            field: "role".into(),
            code: "unknown_document_role".into(),
            message_vi: format!("Thủ tục này không có loại giấy tờ \"{role}\"."),
            message_en: format!("This procedure has no document kind \"{role}\"."),
        }]));
    }
    // Only the processed copy (upright, downsized, no metadata) is ever stored; the bytes as sent, with
    // the phone's GPS position, are dropped here.
    let processed = crate::shared::cpu::run(move || media::process_photo(&bytes))
        .await
        .map_err(ApiError::internal)?
        .map_err(media_error)?;
    tracing::debug!(
        sent_width = processed.original.width,
        sent_height = processed.original.height,
        stored_bytes = processed.bytes.len(),
        width = processed.width,
        height = processed.height,
        quality = processed.quality,
        ms = processed.total_ms,
        "photo processed"
    );
    let info = st
        .db
        .call(move |c| {
            let name = drafts::next_photo_name(c, &id, &role)?;
            drafts::add_attachment(
                c,
                &id,
                NewAttachment {
                    role: &role,
                    name: &name,
                    media_type: media::STORED_MEDIA_TYPE,
                    bytes: &processed.bytes,
                },
            )
        })
        .await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// A draft's stored photo (JPEG).
#[utoipa::path(
    get,
    path = "/api/v1/drafts/{id}/attachments/{att}",
    operation_id = "capture_photo",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"])),
    params(
        ("id" = String, Path, description = "Draft id"),
        ("att" = String, Path, description = "Attachment id"),
    ),
    responses(
        (status = 200, description = "The processed photo", content_type = "image/jpeg", body = Vec<u8>),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn photo(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path((id, att)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let found = st
        .db
        .call(move |c| drafts::attachment_bytes(c, &id, &att))
        .await?;
    crate::shared::media::photo_response(found)
}

/// Removes a photo from a draft.
#[utoipa::path(
    delete,
    path = "/api/v1/drafts/{id}/attachments/{att}",
    operation_id = "capture_remove_photo",
    tag = "capture",
    security(("session" = ["officer", "volunteer", "admin"], "csrf" = [])),
    params(
        ("id" = String, Path, description = "Draft id"),
        ("att" = String, Path, description = "Attachment id"),
    ),
    responses(
        (status = 200, description = "The photo is removed", body = Empty),
        crate::shared::api_doc::Unauthenticated,
        (status = 403, description = "Role not allowed, or no CSRF token", body = crate::shared::api_doc::ErrorBody),
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn remove_photo(
    State(st): State<AppState>,
    FieldTeam(_user): FieldTeam,
    Path((id, att)): Path<(String, String)>,
) -> Result<Json<Empty>, ApiError> {
    if st
        .db
        .call(move |c| drafts::delete_attachment(c, &id, &att))
        .await?
    {
        Ok(Json(Empty {}))
    } else {
        Err(ApiError::not_found("ảnh", "Photo"))
    }
}
