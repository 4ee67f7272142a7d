//! The one HTTP error type: a stable code, a plain-language message in Vietnamese and English, and the
//! offending field. Every handler returns `Result<_, ApiError>`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// One per-field problem, as the protocol's validation engine reports it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FieldDetail {
    pub field: String,
    pub code: String,
    pub message_vi: String,
    pub message_en: String,
}

/// An error answered to an HTTP client as JSON.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message_vi: String,
    pub message_en: String,
    pub field: Option<String>,
    /// A boxed slice, not a `Vec`: `ApiError` stays small enough to return by value everywhere.
    pub details: Box<[FieldDetail]>,
    /// Where to go instead (e.g. the hub's HTTPS address for `https_required`): the JSON `location`.
    /// Boxed: errors are returned by value everywhere, and this one is rare.
    pub location: Option<Box<String>>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message_vi: &'a str,
    message_en: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[FieldDetail]>::is_empty")]
    details: &'a [FieldDetail],
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<&'a str>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        vi: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            message_vi: vi.into(),
            message_en: en.into(),
            field: None,
            details: Box::default(),
            location: None,
        }
    }

    /// With a place to go instead (the JSON `location`).
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(Box::new(location.into()));
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Bạn cần đăng nhập.",
            "You need to log in.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Vai trò của bạn không được phép làm việc này.",
            "Your role is not allowed to do this.",
        )
    }

    pub fn not_found(what_vi: &str, what_en: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("Không tìm thấy {what_vi}."),
            format!("{what_en} not found."),
        )
    }

    pub fn bad_request(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", vi, en)
    }

    pub fn conflict(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", vi, en)
    }

    pub fn too_large(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", vi, en)
    }

    pub fn wrong_mode() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "wrong_mode",
            "Chức năng này thuộc chế độ khác của trạm (hiện trường / văn phòng).",
            "This function belongs to the other hub mode (field / office).",
        )
    }

    /// Validation errors from the protocol engine, one detail per field.
    pub fn validation(details: Vec<FieldDetail>) -> Self {
        let field = details.first().map(|d| d.field.clone());
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            message_vi: "Một số thông tin chưa đúng hoặc còn thiếu. Xem từng ô được đánh dấu."
                .into(),
            message_en: "Some information is missing or wrong. See each marked field.".into(),
            field,
            details: details.into_boxed_slice(),
            location: None,
        }
    }

    /// An unexpected failure: the cause goes to the log (no personal data), the user gets a plain message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Trạm gặp lỗi nội bộ; dữ liệu đã lưu không bị ảnh hưởng. Hãy thử lại.",
            "The hub hit an internal error; saved data is not affected. Please try again.",
        )
    }
}

impl ApiError {
    /// The JSON body this error answers (as `IntoResponse` writes it).
    pub fn body_json(&self) -> serde_json::Value {
        serde_json::to_value(Body {
            error: Inner {
                code: self.code,
                message_vi: &self.message_vi,
                message_en: &self.message_en,
                field: self.field.as_deref(),
                details: &self.details,
                location: self.location.as_deref().map(String::as_str),
            },
        })
        .unwrap_or_default()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message_vi: &self.message_vi,
                message_en: &self.message_en,
                field: self.field.as_deref(),
                details: &self.details,
                location: self.location.as_deref().map(String::as_str),
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<crate::shared::store::StoreError> for ApiError {
    fn from(e: crate::shared::store::StoreError) -> Self {
        match e {
            crate::shared::store::StoreError::Full => Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_full",
                "Bộ nhớ của trạm đã đầy; chưa lưu được. Dữ liệu cũ vẫn an toàn.",
                "The hub's storage is full; nothing was saved. Earlier data is safe.",
            ),
            crate::shared::store::StoreError::Locked => Self::hub_locked(),
            other => Self::internal(other),
        }
    }
}

impl ApiError {
    /// `503 hub_locked`: the hub started after a power cut or restart and its data is still encrypted; an
    /// officer or admin logs in to unlock it (issue 19).
    pub fn hub_locked() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "hub_locked",
            "Trạm đang khóa (vừa khởi động lại). Cán bộ hoặc quản trị viên đăng nhập để mở khóa; sau đó mọi \
             việc tiếp tục như trước.",
            "The hub is locked (it has just restarted). An officer or admin logs in to unlock it; then \
             everything carries on as before.",
        )
    }
}

impl From<protocol::FieldError> for FieldDetail {
    fn from(e: protocol::FieldError) -> Self {
        Self {
            field: e.field,
            code: e.code,
            message_vi: e.message_vi,
            message_en: e.message_en,
        }
    }
}

/// `Json<T>` whose rejections (bad JSON, wrong content type, too large) are answered as [`ApiError`]s.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media",
                "Yêu cầu phải là JSON (Content-Type: application/json).",
                "The request must be JSON (Content-Type: application/json).",
            )),
            Err(JsonRejection::BytesRejection(_)) => Err(ApiError::too_large(
                "Yêu cầu quá lớn.",
                "The request is too large.",
            )),
            Err(e) => Err(ApiError::bad_request(
                format!("Dữ liệu gửi lên không hợp lệ: {}", e.body_text()),
                format!("The request body is not valid: {}", e.body_text()),
            )),
        }
    }
}

/// `deserialize_with` for a JSON object of strings that refuses a key given twice (serde's maps keep the
/// last silently, so `{"a":"x","a":"y"}` would store a value the client may not have shown its user).
pub fn unique_string_map<'de, D>(
    d: D,
) -> Result<std::collections::BTreeMap<String, String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = std::collections::BTreeMap<String, String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of strings")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = std::collections::BTreeMap::new();
            while let Some((k, v)) = m.next_entry::<String, String>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format_args!(
                        "duplicate key `{k}`"
                    )));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(V)
}
