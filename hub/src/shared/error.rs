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
///
/// A request with no body at all (no `Content-Type`, zero bytes) is read as the empty object `{}`: a call
/// whose body has only optional fields (`POST /api/v1/drafts/{id}/seal`) needs none, and one with required
/// fields answers `400` naming the first missing one, never an undocumented `415`. A body that is there
/// must be JSON (`415 unsupported_media` otherwise). The OpenAPI document says so: a JSON request body
/// whose schema requires no property is `required: false` (`api_doc::optional_empty_bodies`).
///
/// A number written with a zero fraction or an exponent (`1700000000000.0`, `2e3`) is an integer where
/// the body wants one, as JSON Schema's `integer` says (many JSON encoders write whole floats that way).
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_owned());
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| too_large_body())?;
        let bytes: &[u8] = match content_type {
            None if bytes.is_empty() => b"{}",
            None => return Err(unsupported_media()),
            Some(ct) if !is_json_content_type(&ct) => return Err(unsupported_media()),
            Some(_) => &bytes,
        };
        // Every request body of the API is a JSON object; serde would also read a struct from an array
        // (`[]` for a body whose fields are all optional), which no schema of the document allows.
        if bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b != b'{')
        {
            return Err(ApiError::bad_request(
                "Dữ liệu gửi lên phải là một đối tượng JSON ({…}).",
                "The request body must be a JSON object ({…}).",
            ));
        }
        match Json::<T>::from_bytes(bytes) {
            Ok(Json(v)) => Ok(JsonBody(v)),
            // A data error (not a syntax error) may come from a whole number written as a float: read
            // such numbers as integers and try once more; any other error stands as it was.
            Err(e @ axum::extract::rejection::JsonRejection::JsonDataError(_)) => {
                match whole_floats_as_integers(bytes) {
                    Some(again) => Json::<T>::from_bytes(&again)
                        .map(|Json(v)| JsonBody(v))
                        .map_err(|_| json_rejection(e)),
                    None => Err(json_rejection(e)),
                }
            }
            Err(e) => Err(json_rejection(e)),
        }
    }
}

/// `application/json` or any `application/*+json` type (as axum's `Json` accepts), parameters ignored.
fn is_json_content_type(ct: &str) -> bool {
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence
        .strip_prefix("application/")
        .is_some_and(|sub| sub == "json" || sub.ends_with("+json"))
}

/// The JSON text `json` with every number outside strings that is a whole number but written with a
/// fraction or an exponent (`-2436.0`, `1.5e3`) rewritten as an integer (`-2436`, `1500`), when it is
/// exactly representable (up to 2^53); `None` when there was nothing to rewrite. Works on the text, so
/// that everything else (a key given twice, which `unique_string_map` refuses) is kept as it was sent.
fn whole_floats_as_integers(json: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(json.len());
    let mut changed = false;
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        if b == b'"' {
            // Copy a string through its closing quote, escapes included.
            let start = i;
            i += 1;
            while i < json.len() && json[i] != b'"' {
                i += if json[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(json.len());
            out.extend_from_slice(&json[start..i]);
        } else if b == b'-' || b.is_ascii_digit() {
            let start = i;
            while i < json.len()
                && matches!(json[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
            {
                i += 1;
            }
            let token = &json[start..i];
            let whole = token
                .iter()
                .any(|c| matches!(c, b'.' | b'e' | b'E'))
                .then(|| std::str::from_utf8(token).ok()?.parse::<f64>().ok())
                .flatten()
                .filter(|f| f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0);
            match whole {
                Some(f) => {
                    out.extend_from_slice(format!("{}", f as i64).as_bytes());
                    changed = true;
                }
                None => out.extend_from_slice(token),
            }
        } else {
            out.push(b);
            i += 1;
        }
    }
    changed.then_some(out)
}

fn unsupported_media() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media",
        "Yêu cầu phải là JSON (Content-Type: application/json).",
        "The request must be JSON (Content-Type: application/json).",
    )
}

fn too_large_body() -> ApiError {
    ApiError::too_large("Yêu cầu quá lớn.", "The request is too large.")
}

fn json_rejection(e: axum::extract::rejection::JsonRejection) -> ApiError {
    use axum::extract::rejection::JsonRejection;
    match e {
        JsonRejection::MissingJsonContentType(_) => unsupported_media(),
        JsonRejection::BytesRejection(_) => too_large_body(),
        e => ApiError::bad_request(
            format!("Dữ liệu gửi lên không hợp lệ: {}", e.body_text()),
            format!("The request body is not valid: {}", e.body_text()),
        ),
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

#[cfg(test)]
mod json_body_tests {
    use super::JsonBody;
    use axum::extract::FromRequest;
    use axum::http::StatusCode;

    #[derive(serde::Deserialize, Debug)]
    struct AllOptional {
        #[serde(default)]
        reason: Option<String>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct NeedsName {
        name: String,
    }

    fn request(content_type: Option<&str>, body: &'static str) -> axum::extract::Request {
        let mut b = axum::http::Request::builder().method("POST").uri("/x");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        b.body(axum::body::Body::from(body)).unwrap()
    }

    async fn extract<T: serde::de::DeserializeOwned>(
        req: axum::extract::Request,
    ) -> Result<T, super::ApiError> {
        JsonBody::<T>::from_request(req, &())
            .await
            .map(|JsonBody(v)| v)
    }

    #[tokio::test]
    async fn a_missing_body_reads_as_the_empty_object() {
        let v: AllOptional = extract(request(None, "")).await.unwrap();
        assert!(v.reason.is_none());
        // Required fields: 400 naming the missing one, not 415.
        let e = extract::<NeedsName>(request(None, "")).await.unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(
            e.message_en.contains("missing field `name`"),
            "{}",
            e.message_en
        );
    }

    #[derive(serde::Deserialize, Debug)]
    struct Clock {
        phone_time: i64,
        #[serde(default)]
        factor: Option<f64>,
    }

    #[tokio::test]
    async fn whole_numbers_written_as_floats_are_integers() {
        let v: Clock = extract(request(
            Some("application/json"),
            r#"{"phone_time": -2436.0, "factor": 1.5}"#,
        ))
        .await
        .unwrap();
        assert_eq!((v.phone_time, v.factor), (-2436, Some(1.5)));
        let v: Clock = extract(request(
            Some("application/json"),
            r#"{"phone_time": 1.7e12}"#,
        ))
        .await
        .unwrap();
        assert_eq!(v.phone_time, 1_700_000_000_000);
        // Not whole, or inside a string: refused as before.
        let e = extract::<Clock>(request(Some("application/json"), r#"{"phone_time": 2.5}"#))
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            super::whole_floats_as_integers(br#"{"a.0": "1.0 \" 2.0", "b": [3.0, 4]}"#).unwrap(),
            br#"{"a.0": "1.0 \" 2.0", "b": [3, 4]}"#.to_vec()
        );
        assert_eq!(super::whole_floats_as_integers(br#"{"b": [3, 4.5]}"#), None);
    }

    #[tokio::test]
    async fn a_key_given_twice_is_still_refused() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Fields {
            #[serde(deserialize_with = "super::unique_string_map")]
            fields: std::collections::BTreeMap<String, String>,
            n: i64,
        }
        let e = extract::<Fields>(request(
            Some("application/json"),
            r#"{"fields": {"a": "x", "a": "y"}, "n": 1.0}"#,
        ))
        .await
        .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.message_en.contains("duplicate key"), "{}", e.message_en);
    }

    #[tokio::test]
    async fn a_body_must_be_an_object() {
        for body in ["[]", " [\"x\"]", "null", "\"{}\"", "1"] {
            let e = extract::<AllOptional>(request(Some("application/json"), body))
                .await
                .unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{body}");
        }
        let v: AllOptional = extract(request(Some("application/json"), " \n {}"))
            .await
            .unwrap();
        assert!(v.reason.is_none());
    }

    #[tokio::test]
    async fn a_body_must_be_json() {
        let e = extract::<AllOptional>(request(None, "{}"))
            .await
            .unwrap_err();
        assert_eq!(
            (e.status, e.code),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media")
        );
        let e = extract::<AllOptional>(request(Some("text/plain"), "{}"))
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // An empty body that claims to be JSON is malformed JSON.
        let e = extract::<AllOptional>(request(Some("application/json"), ""))
            .await
            .unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let v: AllOptional = extract(request(Some("application/json"), r#"{"reason":"x"}"#))
            .await
            .unwrap();
        assert_eq!(v.reason.as_deref(), Some("x"));
    }
}
