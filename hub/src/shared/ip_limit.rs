//! Per-client-IP rate limits for the public (no login) routes: a fixed window per IP address, counting
//! every request (hits and misses alike), so a phone on the Wi-Fi cannot walk the 40-bit receipt-code
//! space or flood the team with pre-declarations.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::http::{Extensions, StatusCode};

use crate::shared::error::ApiError;

/// At most `max` requests per `window` from one IP address.
pub struct IpLimiter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl IpLimiter {
    pub fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `ip`; refuses it (429) once the window's allowance is used up.
    pub fn hit(&self, ip: IpAddr) -> Result<(), ApiError> {
        let mut map = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 10_000 {
            let w = self.window;
            map.retain(|_, (_, since)| since.elapsed() < w);
        }
        let e = map.entry(ip).or_insert((0, Instant::now()));
        if e.1.elapsed() >= self.window {
            *e = (0, Instant::now());
        }
        if e.0 >= self.max {
            let wait = self.window.saturating_sub(e.1.elapsed()).as_secs().max(1);
            let mins = wait.div_ceil(60);
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Máy này đã hỏi quá nhiều lần. Hãy thử lại sau khoảng {mins} phút."),
                format!("Too many requests from this phone. Try again in about {mins} minutes."),
            ));
        }
        e.0 += 1;
        Ok(())
    }
}

/// The client's IP address as the listener saw it (the hub is reached directly on its Wi-Fi, no proxy).
/// Requests without one share a single allowance.
pub fn client_ip(ext: &Extensions) -> IpAddr {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Extractor for [`client_ip`].
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(&parts.extensions)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_ip_and_refuses_over_the_allowance() {
        let l = IpLimiter::new(3, Duration::from_secs(60));
        let a = IpAddr::from([192, 168, 4, 20]);
        let b = IpAddr::from([192, 168, 4, 21]);
        for _ in 0..3 {
            assert!(l.hit(a).is_ok());
        }
        let e = l.hit(a).unwrap_err();
        assert_eq!(e.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(e.code, "rate_limited");
        assert!(l.hit(b).is_ok());
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let l = IpLimiter::new(1, Duration::from_millis(30));
        let a = IpAddr::from([10, 0, 0, 1]);
        assert!(l.hit(a).is_ok());
        assert!(l.hit(a).is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(l.hit(a).is_ok());
    }
}
