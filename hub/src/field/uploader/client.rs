//! The field's HTTP client of the office's sync API (protocol §11.9): per-request timeouts, retries with
//! exponential backoff and full jitter on network errors and 5xx answers (never on 4xx refusals, which are
//! returned with the office's own plain words), and cancellation.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::policy::Backoff;
use super::progress::PlainError;

/// Attempts of one request before giving up on the office for this run.
pub const MAX_ATTEMPTS: u32 = 6;

/// Why a sync step failed.
#[derive(Debug, Clone)]
pub enum SyncError {
    /// The office refused the request (4xx): its JSON error, with the raw body for extra members (`held`).
    Refused {
        status: u16,
        code: String,
        vi: String,
        en: String,
        body: Value,
    },
    /// The office could not be reached, or kept failing (network errors, timeouts, 5xx), after retries.
    Unreachable(String),
    /// The office answered something that does not verify or parse.
    BadAnswer(String),
    /// Something on this hub (no office paired, database).
    Local {
        code: &'static str,
        vi: String,
        en: String,
    },
    /// The run was cancelled (the hub is stopping).
    Cancelled,
}

impl SyncError {
    pub fn local(code: &'static str, vi: impl Into<String>, en: impl Into<String>) -> SyncError {
        SyncError::Local {
            code,
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> &str {
        match self {
            SyncError::Refused { code, .. } => code,
            SyncError::Unreachable(_) => "office_unreachable",
            SyncError::BadAnswer(_) => "office_bad_answer",
            SyncError::Local { code, .. } => code,
            SyncError::Cancelled => "cancelled",
        }
    }

    /// Whether a later attempt may succeed without a person doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Unreachable(_))
    }

    /// In plain words, Vietnamese and English.
    pub fn plain(&self) -> PlainError {
        let (vi, en) = match self {
            SyncError::Refused { vi, en, .. } => (vi.clone(), en.clone()),
            SyncError::Unreachable(why) => (
                format!("Không kết nối được với văn phòng xã ({why}). Hồ sơ vẫn an toàn trên trạm; sẽ tự thử lại."),
                format!("Cannot reach the commune office ({why}). The dossiers are safe on this hub; it will try again by itself."),
            ),
            SyncError::BadAnswer(why) => (
                format!("Câu trả lời của văn phòng không xác minh được ({why}); không đánh dấu hồ sơ nào là đã gửi."),
                format!("The office's answer does not verify ({why}); no dossier was marked uploaded."),
            ),
            SyncError::Local { vi, en, .. } => (vi.clone(), en.clone()),
            SyncError::Cancelled => (
                "Đồng bộ đã dừng vì trạm đang tắt.".into(),
                "Sync stopped because the hub is stopping.".into(),
            ),
        };
        PlainError {
            code: self.code().to_string(),
            message_vi: vi,
            message_en: en,
        }
    }
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code(), self.plain().message_en)
    }
}

impl From<crate::shared::store::StoreError> for SyncError {
    fn from(e: crate::shared::store::StoreError) -> Self {
        SyncError::local(
            "local_store",
            format!("Lỗi cơ sở dữ liệu của trạm: {e}"),
            format!("This hub's database failed: {e}"),
        )
    }
}

/// A connection to one office URL.
#[derive(Clone)]
pub struct OfficeClient {
    http: reqwest::Client,
    pub base: String,
    token: Option<String>,
    cancel: CancellationToken,
}

/// Body of a request.
pub enum Body {
    None,
    Json(Vec<u8>),
    Octets(Vec<u8>),
}

impl OfficeClient {
    pub fn new(base: &str, cancel: CancellationToken) -> Result<OfficeClient, SyncError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("outreach-kit-hub/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SyncError::Unreachable(e.to_string()))?;
        Ok(OfficeClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: None,
            cancel,
        })
    }

    pub fn with_token(mut self, token: String) -> OfficeClient {
        self.token = Some(token);
        self
    }

    /// Waits `d`, or fails when cancelled.
    pub async fn sleep(&self, d: Duration) -> Result<(), SyncError> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(SyncError::Cancelled),
        }
    }

    /// One request, retried with backoff on network errors and 5xx; at most `attempts` tries. Answers the
    /// body bytes of a 2xx, or [`SyncError::Refused`] for a 4xx.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: &Body,
        attempts: u32,
    ) -> Result<Vec<u8>, SyncError> {
        let url = format!("{}{}", self.base, path);
        let mut last = String::new();
        for attempt in 0..attempts.max(1) {
            if attempt > 0 {
                self.sleep(Backoff::REQUEST.delay(attempt - 1)).await?;
            }
            let mut rb = self.http.request(method.clone(), &url);
            if let Some(t) = &self.token {
                rb = rb.bearer_auth(t);
            }
            rb = match body {
                Body::None => rb,
                Body::Json(b) => rb
                    .header("content-type", "application/json")
                    .body(b.clone()),
                Body::Octets(b) => rb
                    .header("content-type", "application/octet-stream")
                    .body(b.clone()),
            };
            let res = tokio::select! {
                r = rb.send() => r,
                _ = self.cancel.cancelled() => return Err(SyncError::Cancelled),
            };
            let resp = match res {
                Ok(r) => r,
                Err(e) => {
                    last = short_reqwest_error(&e);
                    tracing::debug!(%url, error = %last, attempt, "sync request failed");
                    continue;
                }
            };
            let status = resp.status();
            let bytes = match resp.bytes().await {
                Ok(b) => b.to_vec(),
                Err(e) => {
                    last = short_reqwest_error(&e);
                    continue;
                }
            };
            if status.is_success() {
                return Ok(bytes);
            }
            if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                last = format!("HTTP {}", status.as_u16());
                continue;
            }
            return Err(refusal(status, &bytes));
        }
        Err(SyncError::Unreachable(last))
    }

    /// A JSON answer.
    pub async fn json(&self, method: Method, path: &str, body: &Body) -> Result<Value, SyncError> {
        let b = self.request(method, path, body, MAX_ATTEMPTS).await?;
        serde_json::from_slice(&b).map_err(|e| SyncError::BadAnswer(format!("{path}: {e}")))
    }
}

fn short_reqwest_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or no route".into()
    } else {
        let mut s = e.to_string();
        s.truncate(160);
        s
    }
}

/// A 4xx answer as a refusal with the office's plain words (or generic ones if it sent none).
fn refusal(status: StatusCode, bytes: &[u8]) -> SyncError {
    let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let e = &body["error"];
    let s = |k: &str| e[k].as_str().map(str::to_owned);
    let code = s("code").unwrap_or_else(|| format!("http_{}", status.as_u16()));
    let vi = s("message_vi")
        .unwrap_or_else(|| format!("Văn phòng từ chối yêu cầu (HTTP {}).", status.as_u16()));
    let en = s("message_en")
        .unwrap_or_else(|| format!("The office refused the request (HTTP {}).", status.as_u16()));
    SyncError::Refused {
        status: status.as_u16(),
        code,
        vi,
        en,
        body,
    }
}

/// The `held` of a `409 chunk_offset` refusal (in the error object or at the top level).
pub fn held_of(body: &Value) -> Option<u64> {
    body["error"]["held"]
        .as_u64()
        .or_else(|| body["held"].as_u64())
}
