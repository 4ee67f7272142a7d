//! HTTP routes of procedure packages on the office hub: the Procedures page's list, publishing (admins),
//! one package's content. (The two sync routes a paired field device pulls packages with belong to the
//! sync session: `office::intake::packages`.)

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::Value;

use super::store;
use crate::shared::audit::Actor;
use crate::shared::auth::{AdminOnly, Clerks};
use crate::shared::error::{ApiError, JsonBody};
use crate::shared::procedures::registry::{self, Added};
use crate::shared::procedures::store::{self as packages, PackageError};
use crate::shared::state::{AppState, OfficeOnly};

/// The OpenAPI paths of this concern's routes (merged by `app::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, publish, show),
    components(schemas(
        PackagesOut,
        PackageRow,
        PackageOrigin,
        PackageDevice,
        Published,
        PublishStatus
    ))
)]
pub struct ApiDoc;

use crate::shared::api_doc::protocol as pdoc;

/// Where a package came from.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: `registry::Origin` travels
enum PackageOrigin {
    /// Compiled into this binary.
    Builtin,
    /// Published by this office.
    Published,
    /// Pulled from the paired office (field hubs only).
    Office,
}

/// One package version on the Procedures page.
#[derive(Serialize, utoipa::ToSchema)]
struct PackageRow {
    procedure_id: String,
    version: u32,
    #[schema(value_type = crate::shared::api_doc::field_schemas::Text)]
    title: protocol::Text,
    /// First day in force.
    #[schema(format = Date)]
    effective_from: String,
    #[schema(value_type = Option<crate::shared::api_doc::field_schemas::Text>)]
    legal_basis: Option<protocol::Text>,
    #[schema(value_type = PackageOrigin)]
    origin: registry::Origin,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    hash: String,
    /// The version a new dossier of the procedure uses today.
    in_force: bool,
    /// Form fields, export mappings and print layouts it has.
    fields: usize,
    exports: usize,
    layouts: usize,
    holders: Vec<store::Holder>,
}

/// A paired field device (for the holders table).
#[derive(Serialize, utoipa::ToSchema)]
struct PackageDevice {
    device_id: String,
    name: String,
    #[schema(value_type = Option<pdoc::DeviceStatus>)]
    status: Option<String>,
}

/// The Procedures page: every package, newest version of each procedure first, and the field devices.
#[derive(Serialize, utoipa::ToSchema)]
struct PackagesOut {
    packages: Vec<PackageRow>,
    devices: Vec<PackageDevice>,
}

/// `published`, or `already_published` when the very same package was published before.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // documentation only: travels as a string
enum PublishStatus {
    Published,
    AlreadyPublished,
}

/// A package published.
#[derive(Serialize, utoipa::ToSchema)]
struct Published {
    procedure_id: String,
    version: u32,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    hash: String,
    #[schema(value_type = PublishStatus)]
    status: &'static str,
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/office/packages",
            get(list).post(publish).layer(DefaultBodyLimit::max(
                protocol::MAX_PACKAGE_BYTES + 64 * 1024,
            )),
        )
        .route("/api/v1/office/packages/{hash}", get(show))
}

fn no_package() -> ApiError {
    ApiError::not_found("gói thủ tục", "Procedure package")
}

/// Every package this office knows (built-in and published), newest version of each procedure first,
/// with who holds it.
#[utoipa::path(
    get,
    path = "/api/v1/office/packages",
    operation_id = "packages_list",
    tag = "packages",
    summary = "Procedure packages: versions, effective dates, and which field hubs hold which (office)",
    security(("session" = ["clerk", "admin"])),
    responses(
        (status = 200, body = PackagesOut),
        crate::shared::api_doc::GatedReadErrors,
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn list(
    State(st): State<AppState>,
    _: OfficeOnly,
    _user: Clerks,
) -> Result<Json<PackagesOut>, ApiError> {
    let today = crate::shared::clock::today_vn();
    let entries = registry::entries();
    let (rows, devices) = st
        .db
        .call(move |c| {
            let mut rows = Vec::new();
            for e in entries.iter().rev() {
                let p = &e.package.procedure;
                let in_force = registry::in_force(&p.id, today)
                    .is_some_and(|d| d.version == p.version);
                rows.push(PackageRow {
                    procedure_id: p.id.clone(),
                    version: p.version,
                    title: p.title.clone(),
                    effective_from: p.effective_from.clone(),
                    legal_basis: p.legal_basis.clone(),
                    origin: e.origin,
                    hash: e.hash.clone(),
                    in_force,
                    fields: p.fields().count(),
                    exports: e.package.exports.len(),
                    layouts: e.package.layouts.len(),
                    holders: store::holders(c, &e.hash)?,
                });
            }
            let mut st = c.prepare(
                "SELECT device_id, name, status FROM trusted_peers WHERE mode = 'field' ORDER BY name",
            )?;
            let devices = st
                .query_map([], |r| {
                    Ok(PackageDevice {
                        device_id: r.get(0)?,
                        name: r.get(1)?,
                        status: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((rows, devices))
        })
        .await?;
    Ok(Json(PackagesOut {
        packages: rows,
        devices,
    }))
}

/// Maps a refusal to the answer the admin sees.
fn refused(e: PackageError) -> ApiError {
    match e {
        PackageError::Form(m) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "package_invalid",
            format!("Gói thủ tục không hợp lệ: {m}. Hãy chạy `hub procedure check` trên tệp nguồn để xem từng lỗi."),
            format!("The procedure package is not valid: {m}. Run `hub procedure check` on its source to see each error."),
        )
        .with_field("package"),
        PackageError::Conflict(c) => ApiError::new(
            StatusCode::CONFLICT,
            "package_version_taken",
            format!(
                "Thủ tục {} phiên bản {} đã có với nội dung khác. Một phiên bản đã công bố không bao giờ thay đổi: hãy công bố nội dung mới thành phiên bản {}.",
                c.id, c.version, c.version + 1
            ),
            format!(
                "{} version {} already exists with another content. A published version never changes: publish the new content as version {}.",
                c.id, c.version, c.version + 1
            ),
        )
        .with_field("procedure.version"),
        PackageError::Signature => ApiError::internal("a package signed here does not verify"),
        PackageError::Store(e) => e.into(),
    }
}

/// Publishes a procedure package version (admin): checked, signed with the office key, stored for good,
/// audited; paired field hubs pull it at their next sync.
#[utoipa::path(
    post,
    path = "/api/v1/office/packages",
    operation_id = "packages_publish",
    tag = "packages",
    summary = "Publishes a procedure package (the JSON `hub procedure build` writes); admins only (office)",
    security(("session" = ["admin"], "csrf" = [])),
    request_body(content = pdoc::ProcedurePackage, description = "A ProcedurePackage (docs/protocol.md §13.1), as \
        `hub procedure build` writes it"),
    responses(
        (status = 201, description = "Published (`status`: `published`)", body = Published),
        (status = 200, description = "The very same package was published before (`status`: `already_published`)", body = Published),
        crate::shared::api_doc::JsonWriteErrors,
        (status = 409, description = "`package_version_taken`: that version exists with another content", body = crate::shared::api_doc::ErrorBody),
        (status = 422, description = "`package_invalid`: what is wrong", body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn publish(
    State(st): State<AppState>,
    _: OfficeOnly,
    AdminOnly(user): AdminOnly,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let package: protocol::ProcedurePackage = serde_json::from_value(body).map_err(|e| {
        refused(PackageError::Form(protocol::ProtocolError::Package(
            e.to_string(),
        )))
    })?;
    let st2 = st.clone();
    let (uid, uname) = (user.id.clone(), user.name.clone());
    let (id, version) = (package.procedure.id.clone(), package.procedure.version);
    let (added, hash) = st
        .db
        .call(move |c| {
            Ok(packages::publish(
                c,
                package,
                &st2.keys.device,
                Actor::user(&uid, &uname),
            ))
        })
        .await?
        .map_err(refused)?;
    let (code, status) = match added {
        Added::New => (StatusCode::CREATED, "published"),
        Added::Known => (StatusCode::OK, "already_published"),
    };
    tracing::info!(procedure = %id, version, status, "procedure package published");
    Ok((
        code,
        Json(Published {
            procedure_id: id,
            version,
            hash,
            status,
        }),
    )
        .into_response())
}

/// One package, as its JSON (to read, or to start the next version from with `hub procedure sheets`).
#[utoipa::path(
    get,
    path = "/api/v1/office/packages/{hash}",
    operation_id = "packages_show",
    tag = "packages",
    security(("session" = ["clerk", "admin"])),
    params(("hash" = String, Path, description = "The package hash")),
    responses(
        (status = 200, description = "The ProcedurePackage, pretty-printed, as an attachment", content_type = "application/json", body = pdoc::ProcedurePackage),
        crate::shared::api_doc::GatedReadErrors,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    ),
    extensions(("x-hub-modes" = json!(["office"])))
)]
async fn show(
    _: OfficeOnly,
    _user: Clerks,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let e = registry::by_hash(&hash).ok_or_else(no_package)?;
    let bytes = serde_json::to_vec_pretty(e.package).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}.v{}.json\"",
                    e.package.procedure.id, e.package.procedure.version
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}
