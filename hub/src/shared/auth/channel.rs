//! Which connection a request came over, and whether a team member may use it: passwords and session
//! cookies travel only over TLS, or over plain HTTP from this very machine (loopback, which no one on the
//! Wi-Fi can read — the rule browsers apply to `localhost`). Everything else on plain HTTP is the
//! villagers' public side; a team call there is refused with `https_required` and the hub's HTTPS address.

use std::net::{IpAddr, SocketAddr};

use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};

use crate::shared::error::ApiError;

/// Set by the serve path on every request: the peer, whether the connection is TLS, and the port of the
/// hub's HTTPS listener (if it has one) to point plain-HTTP callers at.
#[derive(Debug, Clone, Copy)]
pub struct Channel {
    pub peer: SocketAddr,
    pub tls: bool,
    pub https_port: Option<u16>,
}

impl Channel {
    /// TLS, or plain HTTP from a loopback address.
    pub fn secure(&self) -> bool {
        self.tls || is_loopback(self.peer.ip())
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        // An IPv4 client on a dual-stack socket shows as ::ffff:127.0.0.1.
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The local CA's SHA-256 fingerprint (colon-separated hex), set by the serve path when HTTPS is on: the
/// login page shows it to compare with the hub's screen or printed join sheet.
#[derive(Debug, Clone)]
pub struct CaFingerprint(pub std::sync::Arc<str>);

/// The HTTPS address of this hub as the caller reached it: the host of the request's `Host` header (an IP
/// address or name the caller can already resolve) with the HTTPS port.
pub fn https_base(headers: &HeaderMap, https_port: u16) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let host = host_only(host)?;
    Some(if https_port == 443 {
        format!("https://{host}")
    } else {
        format!("https://{host}:{https_port}")
    })
}

/// `host[:port]` → `host` (IPv6 literals keep their brackets); `None` for anything that is not a plain
/// host name or address (a hostile `Host` header must not become a redirect elsewhere).
fn host_only(h: &str) -> Option<&str> {
    let host = if let Some(rest) = h.strip_prefix('[') {
        let end = rest.find(']')?;
        &h[..end + 2]
    } else {
        h.split(':').next()?
    };
    let inner = host.trim_start_matches('[').trim_end_matches(']');
    let ok = !inner.is_empty()
        && inner.len() <= 253
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'));
    ok.then_some(host)
}

/// Refuses a team call (login, setup, anything with a session) that did not come over a secure channel.
pub fn require_secure(parts: &Parts) -> Result<(), ApiError> {
    let ch = parts.extensions.get::<Channel>().copied();
    if ch.is_some_and(|c| c.secure()) {
        return Ok(());
    }
    Err(https_required(
        ch.and_then(|c| c.https_port)
            .and_then(|p| https_base(&parts.headers, p)),
    ))
}

/// Extractor for handlers that take a password (login, setup) but no session yet: refuses the call before
/// its body is read unless it came over a secure channel.
pub struct SecureChannel;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SecureChannel {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        require_secure(parts).map(|()| SecureChannel)
    }
}

/// The refusal: 403 `https_required`, with the HTTPS address to use when the hub has one.
pub fn https_required(https: Option<String>) -> ApiError {
    let e = match &https {
        Some(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            "https_required",
            "Đăng nhập và công việc của tổ chỉ qua kết nối bảo mật (HTTPS). Hãy mở địa chỉ HTTPS của máy chủ.",
            "Team logins and work go over the secure connection (HTTPS) only. Open the hub's HTTPS address.",
        ),
        None => ApiError::new(
            StatusCode::FORBIDDEN,
            "https_required",
            "Máy chủ này đang tắt HTTPS nên không thể đăng nhập qua mạng Wi-Fi. Người quản trị cần bật HTTPS (--https-listen).",
            "HTTPS is off on this hub, so team members cannot log in over the Wi-Fi. The administrator must turn HTTPS on (--https-listen).",
        ),
    };
    match https {
        Some(u) => e.with_location(u),
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_plain_http_is_secure_other_plain_http_is_not() {
        let ch = |peer: &str, tls| Channel {
            peer: peer.parse().unwrap(),
            tls,
            https_port: Some(8443),
        };
        assert!(ch("127.0.0.1:5000", false).secure());
        assert!(ch("127.8.0.3:5000", false).secure());
        assert!(ch("[::1]:5000", false).secure());
        assert!(ch("[::ffff:127.0.0.1]:5000", false).secure());
        assert!(!ch("10.42.0.23:5000", false).secure());
        assert!(!ch("[::ffff:10.42.0.23]:5000", false).secure());
        assert!(ch("10.42.0.23:5000", true).secure());
    }

    #[test]
    fn the_https_address_keeps_the_callers_host_and_refuses_odd_hosts() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::HOST, v.parse().unwrap());
            m
        };
        assert_eq!(
            https_base(&h("10.42.0.1:8080"), 8443).as_deref(),
            Some("https://10.42.0.1:8443")
        );
        assert_eq!(
            https_base(&h("hub.local"), 8443).as_deref(),
            Some("https://hub.local:8443")
        );
        assert_eq!(
            https_base(&h("[fe80::1]:8080"), 443).as_deref(),
            Some("https://[fe80::1]")
        );
        assert_eq!(https_base(&h("evil.example/x?"), 8443), None);
        assert_eq!(https_base(&h("a@b"), 8443), None);
        assert_eq!(https_base(&HeaderMap::new(), 8443), None);
    }
}
