//! HTTP routes for the administrative units, for any logged-in user in both modes. The built-in sample is
//! stored on first use if no dataset has been imported.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::store::{self, MAX_LIMIT};
use crate::shared::auth::AuthUser;
use crate::shared::error::ApiError;
use crate::shared::state::AppState;

/// Results per search when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 20;
/// Longest accepted query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;

/// The OpenAPI paths of this concern's routes (merged by `api_doc`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(provinces, search, read),
    components(schemas(store::UnitOut, store::ProvinceRef, store::UnitRef))
)]
pub struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/units/provinces", get(provinces))
        .route("/api/v1/units/search", get(search))
        .route("/api/v1/units/{code}", get(read))
}

/// The administrative units dataset in use and its provinces (any logged-in user).
#[utoipa::path(
    get,
    path = "/api/v1/units/provinces",
    operation_id = "units_provinces",
    tag = "units",
    security(("session" = [])),
    responses(
        (status = 200, description = "The dataset in use (null: none stored) and its provinces", body = Provinces),
        crate::shared::api_doc::Unauthenticated,
    )
)]
async fn provinces(
    State(st): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Provinces>, ApiError> {
    let (dataset, provinces) = st
        .db
        .call(|c| {
            store::ensure_loaded(c)?;
            Ok((store::dataset(c)?, store::provinces(c)?))
        })
        .await?;
    Ok(Json(Provinces { dataset, provinces }))
}

/// The units dataset in use and its provinces.
#[derive(Serialize, utoipa::ToSchema)]
struct Provinces {
    dataset: Option<store::DatasetRow>,
    provinces: Vec<store::ProvinceOut>,
}

/// Communes and wards found.
#[derive(Serialize, utoipa::ToSchema)]
struct UnitsFound {
    units: Vec<store::UnitOut>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Name of a commune or ward, with or without diacritics (at most 100 characters). `q` or
    /// `province` is needed.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Province code (2 digits) to search in.
    #[param(pattern = "^[0-9]{2}$")]
    pub province: Option<String>,
    /// Results, 1–100 (default 20).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// A checked search request.
#[derive(Debug, PartialEq, Eq)]
pub struct SearchRequest {
    pub q: String,
    pub province: Option<String>,
    pub limit: u32,
}

fn is_code(s: &str, digits: usize) -> bool {
    s.len() == digits && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the query parameters of a search.
pub fn check_search(p: SearchParams) -> Result<SearchRequest, ApiError> {
    let q = p.q.unwrap_or_default();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(
            format!("Từ khoá tìm kiếm dài quá {MAX_QUERY_CHARS} ký tự."),
            format!("The search text is longer than {MAX_QUERY_CHARS} characters."),
        )
        .with_field("q"));
    }
    let province = match p.province.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) if is_code(code, 2) => Some(code.to_string()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "Mã tỉnh phải gồm 2 chữ số, ví dụ 75.",
                "The province code must be 2 digits, e.g. 75.",
            )
            .with_field("province"))
        }
    };
    let limit = match p.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_LIMIT,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    format!("Số kết quả (limit) phải từ 1 đến {MAX_LIMIT}."),
                    format!("The number of results (limit) must be between 1 and {MAX_LIMIT}."),
                )
                .with_field("limit"))
            }
        },
    };
    if super::search_key(&q).is_empty() && province.is_none() {
        return Err(ApiError::bad_request(
            "Hãy nhập tên xã, phường (có dấu hoặc không dấu) hoặc chọn tỉnh.",
            "Type the name of a commune or ward (with or without diacritics) or choose a province.",
        )
        .with_field("q"));
    }
    Ok(SearchRequest { q, province, limit })
}

/// Searches communes and wards by name (diacritics optional) and/or province (any logged-in user).
#[utoipa::path(
    get,
    path = "/api/v1/units/search",
    operation_id = "units_search",
    tag = "units",
    security(("session" = [])),
    params(SearchParams),
    responses(
        (status = 200, description = "The communes and wards found", body = UnitsFound),
        (status = 400, description = "Bad `q`, `province` or `limit`, or neither `q` nor `province`", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, description = "No such province", body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn search(
    State(st): State<AppState>,
    _user: AuthUser,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<UnitsFound>, ApiError> {
    let Query(params) = params.map_err(|e| {
        ApiError::bad_request(
            format!("Tham số tìm kiếm không hợp lệ: {}", e.body_text()),
            format!("The search parameters are not valid: {}", e.body_text()),
        )
    })?;
    let req = check_search(params)?;
    let found = st
        .db
        .call(move |c| {
            store::ensure_loaded(c)?;
            if let Some(p) = &req.province {
                if !store::province_exists(c, p)? {
                    return Ok(None);
                }
            }
            Ok(Some(store::search(
                c,
                &req.q,
                req.province.as_deref(),
                req.limit,
            )?))
        })
        .await?;
    match found {
        Some(units) => Ok(Json(UnitsFound { units })),
        None => Err(ApiError::not_found("tỉnh này", "Province").with_field("province")),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadParams {
    /// A day, YYYY-MM-DD (e.g. a dossier's capture date): the names that applied that day.
    #[param(format = Date)]
    pub on: Option<String>,
}

/// One commune or ward by its 5-digit code, also one no longer in the list (`former`, named as it last
/// was with "(cũ)", and its `successor` if known), optionally as named on a given day (any logged-in user).
#[utoipa::path(
    get,
    path = "/api/v1/units/{code}",
    operation_id = "units_read",
    tag = "units",
    security(("session" = [])),
    params(("code" = String, Path, pattern = "^[0-9]{5}$", description = "Commune or ward code, 5 digits, e.g. `25222`"), ReadParams),
    responses(
        (status = 200, body = store::UnitOut),
        (status = 400, description = "Not 5 digits, or `on` not a date", body = crate::shared::api_doc::ErrorBody),
        crate::shared::api_doc::Unauthenticated,
        (status = 404, body = crate::shared::api_doc::ErrorBody),
    )
)]
async fn read(
    State(st): State<AppState>,
    _user: AuthUser,
    Path(code): Path<String>,
    params: Result<Query<ReadParams>, QueryRejection>,
) -> Result<Json<store::UnitOut>, ApiError> {
    if !is_code(&code, 5) {
        return Err(ApiError::bad_request(
            "Mã xã, phường phải gồm 5 chữ số, ví dụ 25222.",
            "A commune or ward code must be 5 digits, e.g. 25222.",
        )
        .with_field("code"));
    }
    let on = match params.ok().and_then(|Query(p)| p.on) {
        None => None,
        // A day that is given must be a day, exactly (the schema's `format: date`).
        Some(s) => Some(protocol::parse_date(&s).ok_or_else(|| {
            ApiError::bad_request(
                "Ngày (on) phải có dạng YYYY-MM-DD, ví dụ 2026-03-15.",
                "The day (on) must be YYYY-MM-DD, e.g. 2026-03-15.",
            )
            .with_field("on")
        })?),
    };
    st.db
        .call(move |c| {
            store::ensure_loaded(c)?;
            store::lookup(c, &code, on)
        })
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("xã, phường này", "Commune or ward").with_field("code"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: Option<&str>, province: Option<&str>, limit: Option<&str>) -> SearchParams {
        SearchParams {
            q: q.map(Into::into),
            province: province.map(Into::into),
            limit: limit.map(Into::into),
        }
    }

    fn field(r: Result<SearchRequest, ApiError>) -> Option<String> {
        r.unwrap_err().field
    }

    #[test]
    fn search_parameters_are_checked() {
        assert_eq!(
            check_search(params(Some("bu gia map"), None, None)).unwrap(),
            SearchRequest {
                q: "bu gia map".into(),
                province: None,
                limit: DEFAULT_LIMIT
            }
        );
        assert_eq!(
            check_search(params(None, Some("75"), Some("100")))
                .unwrap()
                .limit,
            100
        );
        assert_eq!(field(check_search(params(None, None, None))).unwrap(), "q");
        assert_eq!(
            field(check_search(params(Some("?!"), None, None))).unwrap(),
            "q"
        );
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert_eq!(
            field(check_search(params(Some(&long), None, None))).unwrap(),
            "q"
        );
        for bad in ["0", "101", "-1", "abc"] {
            assert_eq!(
                field(check_search(params(Some("x"), None, Some(bad)))).unwrap(),
                "limit",
                "{bad}"
            );
        }
        for bad in ["7", "075", "ab"] {
            assert_eq!(
                field(check_search(params(Some("x"), Some(bad), None))).unwrap(),
                "province",
                "{bad}"
            );
        }
    }
}
