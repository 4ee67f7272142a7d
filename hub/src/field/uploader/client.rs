//! The field's HTTP client of the office's sync API (protocol §11.9): bounded reads (a size limit per kind
//! of answer, an idle limit per read and a deadline per request, `policy::limits`), retries with
//! exponential backoff and full jitter on network errors and 5xx answers (never on 4xx refusals, which are
//! returned with the office's own plain words), cancellation, and TLS with exactly the office's pinned CA
//! (the bearer token never travels over plain HTTP to an address off this machine).

use std::time::Duration;

use tokio::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::policy::limits::{self, Reply};
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
    /// What answers at the office's address broke a limit of the field's reads: an answer larger than its
    /// kind allows (`office_answer_too_large`) or slower than the request's deadline
    /// (`office_answer_too_slow`). Not retried within the run: it may well be a fake office.
    Limit {
        code: &'static str,
        vi: String,
        en: String,
    },
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
            SyncError::Local { code, .. } | SyncError::Limit { code, .. } => code,
            SyncError::Cancelled => "cancelled",
        }
    }

    /// An answer larger than `reply` allows.
    pub fn too_large(reply: Reply) -> SyncError {
        let (wvi, wen) = reply.what();
        let n = reply.max_bytes();
        let limit = if n >= 1024 * 1024 {
            format!("{} MiB", n / (1024 * 1024))
        } else {
            format!("{} KiB", n / 1024)
        };
        SyncError::Limit {
            code: "office_answer_too_large",
            vi: format!("Máy trả lời ở địa chỉ văn phòng gửi {wvi} lớn hơn giới hạn {limit}; trạm đã ngừng đọc và không dùng câu trả lời này. Có thể đây không phải văn phòng thật: hãy kiểm tra địa chỉ văn phòng. Hồ sơ vẫn an toàn trên trạm."),
            en: format!("What answers at the office's address sent {wen} larger than the {limit} limit; this hub stopped reading and did not use it. It may not be the real office: check the office address. The dossiers are safe on this hub."),
        }
    }

    /// An answer still arriving when `reply`'s deadline passed.
    pub fn too_slow(reply: Reply) -> SyncError {
        let (wvi, wen) = reply.what();
        let secs = reply.deadline().as_secs();
        SyncError::Limit {
            code: "office_answer_too_slow",
            vi: format!("Máy trả lời ở địa chỉ văn phòng gửi {wvi} quá chậm (quá {secs} giây); trạm đã ngừng chờ. Có thể đường truyền quá yếu hoặc đây không phải văn phòng thật. Hồ sơ vẫn an toàn trên trạm; sẽ thử lại sau."),
            en: format!("What answers at the office's address sent {wen} too slowly (over {secs} s); this hub stopped waiting. The link may be too weak, or it may not be the real office. The dossiers are safe on this hub; it will try again later."),
        }
    }

    /// Whether a later attempt may succeed without a person doing anything.
    pub fn is_transient(&self) -> bool {
        matches!(self, SyncError::Unreachable(_))
            || matches!(self, SyncError::Limit { code, .. } if *code == "office_answer_too_slow")
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
            SyncError::Local { vi, en, .. } | SyncError::Limit { vi, en, .. } => {
                (vi.clone(), en.clone())
            }
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

/// Whether `url`'s host is this machine (`localhost`, `127.0.0.0/8`, `::1`): plain HTTP to it never
/// leaves the machine.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else {
        return false;
    };
    let Some(h) = u.host_str() else {
        return false;
    };
    let h = h.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `url` is `https://`.
pub fn is_https(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
}

/// The HTTPS address of the office at `url` whose HTTPS listener is on `port`: same host, `https`.
pub fn https_url(url: &str, port: u16) -> Option<String> {
    let mut u = reqwest::Url::parse(url).ok()?;
    if u.scheme() == "https" {
        return Some(url.trim_end_matches('/').to_string());
    }
    u.set_scheme("https").ok()?;
    u.set_port(Some(port)).ok()?;
    Some(u.as_str().trim_end_matches('/').to_string())
}

/// Why reading an answer's body stopped early.
#[derive(Debug)]
pub enum BodyFail {
    /// More bytes than allowed.
    TooLarge,
    /// The request's deadline passed while the body was still arriving.
    Deadline,
    /// No bytes for [`limits::IDLE`].
    Idle,
    /// The connection failed.
    Net(String),
}

/// Reads `resp`'s body, at most `max` bytes, by chunks: each chunk must come within [`limits::IDLE`] and
/// the whole before `deadline`. Never holds more than `max` bytes (plus one chunk being checked).
pub async fn read_body(
    resp: &mut reqwest::Response,
    max: u64,
    deadline: Instant,
) -> Result<Vec<u8>, BodyFail> {
    if resp.content_length().is_some_and(|n| n > max) {
        return Err(BodyFail::TooLarge);
    }
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(BodyFail::Deadline);
        }
        let wait = (deadline - now).min(limits::IDLE);
        match tokio::time::timeout(wait, resp.chunk()).await {
            Err(_) if Instant::now() >= deadline => return Err(BodyFail::Deadline),
            Err(_) => return Err(BodyFail::Idle),
            Ok(Err(e)) => return Err(BodyFail::Net(short_reqwest_error(&e))),
            Ok(Ok(None)) => return Ok(buf),
            Ok(Ok(Some(b))) => {
                if (buf.len() + b.len()) as u64 > max {
                    return Err(BodyFail::TooLarge);
                }
                buf.extend_from_slice(&b);
            }
        }
    }
}

/// The HTTP client of a field hub talking to its office: bounded connect time, no redirects (a redirect
/// could carry the token elsewhere), and, when `pinned_ca` is given, TLS that trusts exactly that CA
/// certificate (not the system's roots).
pub fn http_client(pinned_ca: Option<&[u8]>) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(limits::CONNECT)
        // A backstop: every request also has its own deadline and idle limit (`request`).
        .timeout(limits::REQUEST + Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("outreach-kit-hub/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = pinned_ca {
        let cfg = crate::shared::tls::pinned_client_config(ca).map_err(|e| e.to_string())?;
        b = b.use_preconfigured_tls(cfg);
    }
    b.build().map_err(|e| e.to_string())
}

impl OfficeClient {
    /// A client of the office at `base`. An `https://` base needs `pinned_ca` (the office's CA pinned at
    /// pairing); an `http://` one is used only without a token, or on loopback.
    pub fn new(
        base: &str,
        pinned_ca: Option<&[u8]>,
        cancel: CancellationToken,
    ) -> Result<OfficeClient, SyncError> {
        if is_https(base) && pinned_ca.is_none() {
            return Err(SyncError::local(
                "office_tls_not_pinned",
                "Trạm chưa có chứng chỉ HTTPS của văn phòng nên không kiểm tra được địa chỉ https này. Hãy đồng bộ một lần qua địa chỉ văn phòng lúc ghép nối, hoặc ghép nối lại.",
                "This hub has not pinned the office's HTTPS certificate, so it cannot check this https address. Sync once through the address used at pairing, or pair again.",
            ));
        }
        let http = http_client(if is_https(base) { pinned_ca } else { None })
            .map_err(SyncError::Unreachable)?;
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

    /// Whether the bearer token may travel to `base`: over HTTPS (with the pinned CA), or to this machine.
    pub fn token_safe(&self) -> bool {
        is_https(&self.base) || is_loopback_url(&self.base)
    }

    /// Waits `d`, or fails when cancelled.
    pub async fn sleep(&self, d: Duration) -> Result<(), SyncError> {
        tokio::select! {
            _ = tokio::time::sleep(d) => Ok(()),
            _ = self.cancel.cancelled() => Err(SyncError::Cancelled),
        }
    }

    /// One request, retried with backoff on network errors and 5xx; at most `attempts` tries. Answers the
    /// body bytes of a 2xx, or [`SyncError::Refused`] for a 4xx. The answer is read within the limits of
    /// its kind ([`Reply::of`] the path): too large or too slow ends the request at once
    /// ([`SyncError::Limit`]).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: &Body,
        attempts: u32,
    ) -> Result<Vec<u8>, SyncError> {
        if self.token.is_some() && !self.token_safe() {
            return Err(cleartext_refused());
        }
        let url = format!("{}{}", self.base, path);
        let reply = Reply::of(path);
        let mut last = String::new();
        for attempt in 0..attempts.max(1) {
            if attempt > 0 {
                self.sleep(Backoff::REQUEST.delay(attempt - 1)).await?;
            }
            let deadline = Instant::now() + reply.deadline();
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
                r = tokio::time::timeout_at(deadline, rb.send()) => r,
                _ = self.cancel.cancelled() => return Err(SyncError::Cancelled),
            };
            let mut resp = match res {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => {
                    if is_certificate_error(&e) {
                        tracing::warn!(%url, "the office's certificate does not chain to the pinned CA");
                        return Err(certificate_mismatch());
                    }
                    last = short_reqwest_error(&e);
                    tracing::debug!(%url, error = %last, attempt, "sync request failed");
                    continue;
                }
                Err(_) => {
                    last = "timed out".into();
                    tracing::debug!(%url, attempt, "sync request timed out");
                    continue;
                }
            };
            let status = resp.status();
            let max = if status.is_success() {
                reply.max_bytes()
            } else {
                limits::ERROR_BYTES
            };
            let read = tokio::select! {
                r = read_body(&mut resp, max, deadline) => r,
                _ = self.cancel.cancelled() => return Err(SyncError::Cancelled),
            };
            let bytes = match read {
                Ok(b) => b,
                Err(BodyFail::TooLarge) => {
                    tracing::warn!(%url, limit = max, "the office's answer is too large");
                    return Err(SyncError::too_large(reply));
                }
                Err(BodyFail::Deadline) => {
                    tracing::warn!(%url, "the office's answer is too slow");
                    return Err(SyncError::too_slow(reply));
                }
                Err(BodyFail::Idle) => {
                    last = "timed out".into();
                    continue;
                }
                Err(BodyFail::Net(e)) => {
                    last = e;
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

/// Whether `e` is a TLS certificate refusal (the server's certificate does not chain to the pinned CA, or
/// does not name the address).
pub fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io
                .get_ref()
                .is_some_and(|i| i.downcast_ref::<rustls::Error>().is_some())
            {
                return true;
            }
        }
        let text = err.to_string();
        if text.contains("invalid peer certificate") || text.contains("certificate") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The refusal of an office whose certificate is not the pinned one.
pub fn certificate_mismatch() -> SyncError {
    SyncError::local(
        "office_certificate_mismatch",
        "Máy trả lời ở địa chỉ văn phòng dùng chứng chỉ HTTPS khác với chứng chỉ đã ghi nhận lúc ghép nối; trạm không gửi gì cho nó. Có thể đây không phải văn phòng thật. Nếu văn phòng đã cài lại, hãy ghép nối lại.",
        "What answers at the office's address uses an HTTPS certificate other than the one pinned at pairing; this hub sent it nothing. It may not be the real office. If the office was reinstalled, pair again.",
    )
}

/// The refusal to send the sync token in clear.
pub fn cleartext_refused() -> SyncError {
    SyncError::local(
        "office_cleartext_refused",
        "Trạm không gửi mã phiên đồng bộ qua HTTP không mã hóa tới máy khác. Văn phòng cần bật HTTPS (cổng 8443) và trạm cần chứng chỉ của văn phòng: đồng bộ lại, hoặc ghép nối lại với văn phòng.",
        "This hub does not send the sync token over unencrypted HTTP to another machine. The office needs HTTPS on (port 8443) and this hub needs the office's certificate: sync again, or pair with the office again.",
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_in_clear_only_to_this_machine() {
        for (url, loopback) in [
            ("http://127.0.0.1:8080", true),
            ("http://127.8.0.3:8080", true),
            ("http://localhost:8080", true),
            ("http://[::1]:8080", true),
            ("http://192.168.1.20:8080", false),
            ("http://van-phong.local:8080", false),
            ("http://127.0.0.1.evil.example", false),
            ("not a url", false),
        ] {
            assert_eq!(is_loopback_url(url), loopback, "{url}");
        }
        let c = |u: &str, ca: Option<&[u8]>| OfficeClient::new(u, ca, CancellationToken::new());
        assert!(c("http://127.0.0.1:1", None).unwrap().token_safe());
        assert!(!c("http://10.0.0.2:8080", None).unwrap().token_safe());
        // An https address without a pinned CA is not used at all (no system roots, no "accept anything").
        assert_eq!(
            c("https://10.0.0.2:8443", None).err().unwrap().code(),
            "office_tls_not_pinned"
        );
    }

    #[test]
    fn an_http_office_url_is_upgraded_to_its_https_port() {
        assert_eq!(
            https_url("http://192.168.1.20:8080", 8443).as_deref(),
            Some("https://192.168.1.20:8443")
        );
        assert_eq!(
            https_url("http://van-phong.local:8080/", 9443).as_deref(),
            Some("https://van-phong.local:9443")
        );
        assert_eq!(
            https_url("https://10.0.0.2:7443", 8443).as_deref(),
            Some("https://10.0.0.2:7443")
        );
    }

    #[test]
    fn limit_errors_are_plain_and_typed() {
        let e = SyncError::too_large(Reply::Hello);
        assert_eq!(e.code(), "office_answer_too_large");
        assert!(!e.is_transient());
        assert!(
            e.plain().message_vi.contains("4 KiB"),
            "{}",
            e.plain().message_vi
        );
        let e = SyncError::too_slow(Reply::News);
        assert_eq!(e.code(), "office_answer_too_slow");
        assert!(e.plain().message_en.contains("too slowly"));
    }
}
