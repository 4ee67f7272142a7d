//! Captive portal of a hub that is its own Wi-Fi access point (`--captive-portal URL`, off by default).
//!
//! The access point's DNS answers every name with the hub, so a phone's connectivity check
//! (`connectivitycheck.gstatic.com/generate_204`, `captive.apple.com/hotspot-detect.html`, …) reaches the hub.
//! A phone that has not been welcomed yet is redirected to the portal page (`/captive-portal`): the OS opens
//! it in its sign-in window, it explains that this Wi-Fi has no internet and is the team's app, and its
//! "Open the app" button welcomes the phone's IP address (in memory, bounded, for [`WELCOME_TTL`]) and goes to
//! the app. From then on that phone's checks get their exact "online" answers, so the OS keeps the Wi-Fi.
//! Requests for other foreign host names go to the portal (or, once welcomed, to the app); the app and API
//! on the hub's own names (IP literals, its mDNS name, `localhost`, the portal URL's host) are untouched.
//! The RFC 8908 captive-portal API answers at `/captive-portal/api`. Nothing personal is logged.

mod probes;
mod routes;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How long a welcomed phone's checks are answered "online" (a long outreach day).
pub const WELCOME_TTL: Duration = Duration::from_secs(12 * 3600);
/// Most phones remembered at once (far above what one access point serves).
pub const WELCOME_CAPACITY: usize = 4096;
/// Path of the portal page; `/captive-portal/welcome` and `/captive-portal/api` sit under it.
pub const PORTAL_PATH: &str = "/captive-portal";

/// The `--captive-portal` setting: a [`PortalUrl`], or off when empty (`HUB_CAPTIVE_PORTAL=` in hub.env).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSetting(pub Option<PortalUrl>);

impl PortalSetting {
    pub fn parse(s: &str) -> Result<Box<PortalSetting>, String> {
        if s.trim().is_empty() {
            Ok(Box::new(PortalSetting(None)))
        } else {
            PortalUrl::parse(s).map(|u| Box::new(PortalSetting(Some(u))))
        }
    }
}

/// The hub's address as phones on its access point reach it, e.g. `http://10.42.0.1/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalUrl {
    /// `scheme://host[:port]`, no trailing slash.
    pub origin: String,
    /// The host, lower case, without port or IPv6 brackets.
    pub host: String,
}

impl PortalUrl {
    /// Parses `http://HOST[:PORT][/]` (or https): the hub's own address, not a page below it.
    pub fn parse(s: &str) -> Result<PortalUrl, String> {
        let t = s.trim();
        let rest = t
            .strip_prefix("http://")
            .or_else(|| t.strip_prefix("https://"))
            .ok_or_else(|| {
                format!("the captive portal URL must start with http:// (e.g. http://10.42.0.1/), not `{s}`")
            })?;
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty()
            || authority.contains(['/', '?', '#', '@'])
            || authority.contains(char::is_whitespace)
        {
            return Err(format!(
                "`{s}` is not the hub's address: give only http://HOST[:PORT]/ (e.g. http://10.42.0.1/); \
                 the portal page is served at {PORTAL_PATH}"
            ));
        }
        let host = split_host(authority)
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("`{s}` has no valid host"))?;
        let scheme = &t[..t.len() - rest.len()];
        Ok(PortalUrl {
            origin: format!("{scheme}{}", authority.to_ascii_lowercase()),
            host,
        })
    }

    /// The portal page's full URL.
    pub fn page(&self) -> String {
        format!("{}{PORTAL_PATH}", self.origin)
    }

    /// The app's full URL.
    pub fn app(&self) -> String {
        format!("{}/", self.origin)
    }
}

/// The host of a `Host` header or URL authority (`name`, `name:port`, `[v6]:port`), lower case, without a
/// trailing dot; `None` when malformed.
fn split_host(authority: &str) -> Option<String> {
    let a = authority.trim();
    let host = if let Some(r) = a.strip_prefix('[') {
        let (h, after) = r.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        h
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            Some(_) => return None,
            None => a,
        }
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// Phones that tapped "Open the app", by IP address, each until it expires.
#[derive(Debug)]
pub struct Welcomed {
    until: Mutex<HashMap<IpAddr, Instant>>,
    ttl: Duration,
    capacity: usize,
}

impl Welcomed {
    pub fn new(ttl: Duration, capacity: usize) -> Welcomed {
        Welcomed {
            until: Mutex::new(HashMap::new()),
            ttl,
            capacity: capacity.max(1),
        }
    }

    /// Welcomes `ip` (again) from `now`. At capacity, expired entries go first, then the oldest welcome.
    pub fn welcome(&self, ip: IpAddr, now: Instant) {
        let mut m = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if !m.contains_key(&ip) && m.len() >= self.capacity {
            m.retain(|_, until| *until > now);
            if m.len() >= self.capacity {
                if let Some(oldest) = m.iter().min_by_key(|(_, u)| **u).map(|(k, _)| *k) {
                    m.remove(&oldest);
                }
            }
        }
        m.insert(ip, now + self.ttl);
    }

    /// Time left of `ip`'s welcome, `None` when not welcomed or expired.
    pub fn remaining(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let mut m = self.until.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(&ip) {
            Some(until) if *until > now => Some(*until - now),
            Some(_) => {
                m.remove(&ip);
                None
            }
            None => None,
        }
    }

    pub fn len(&self) -> usize {
        self.until.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The captive portal of a running hub.
#[derive(Debug)]
pub struct Captive {
    pub portal: PortalUrl,
    /// The hub's own names besides IP literals and `localhost` (its mDNS name, the portal's host).
    own_names: Vec<String>,
    pub welcomed: Welcomed,
}

impl Captive {
    /// `mdns_host` is the hub's mDNS name, e.g. `tram-phuoc-minh.local`.
    pub fn new(portal: PortalUrl, mdns_host: &str) -> Captive {
        let mut own_names = vec![portal.host.clone()];
        if let Some(h) = split_host(mdns_host) {
            own_names.push(h);
        }
        Captive {
            portal,
            own_names,
            welcomed: Welcomed::new(WELCOME_TTL, WELCOME_CAPACITY),
        }
    }

    /// Whether `host` (from the Host header, already split) names this hub.
    pub fn is_own_host(&self, host: &str) -> bool {
        host.parse::<IpAddr>().is_ok()
            || host == "localhost"
            || host.ends_with(".localhost")
            || self.own_names.iter().any(|n| n == host)
    }
}

/// The host a request is addressed to: the URI's authority (HTTP/2) or the `Host` header.
fn request_host(req: &Request) -> Option<String> {
    if let Some(a) = req.uri().authority() {
        return split_host(a.as_str());
    }
    let h = req.headers().get(header::HOST)?.to_str().ok()?;
    split_host(h)
}

/// The client's address as the listener saw it (phones reach the hub directly; no proxy).
fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

/// A `302 Found` to `to`, never cached (the answer changes once the phone is welcomed).
fn redirect(to: &str) -> Response {
    let mut r = (
        StatusCode::FOUND,
        [(header::CACHE_CONTROL, "no-store")],
        format!("Moved to {to}\n"),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Wraps a finished app router with the captive portal.
pub fn layer(app: axum::Router, captive: Arc<Captive>) -> axum::Router {
    app.layer(axum::middleware::from_fn_with_state(captive, gate))
}

/// The portal's routes, the phones' connectivity checks and foreign host names; everything else passes.
async fn gate(State(c): State<Arc<Captive>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == PORTAL_PATH || path.starts_with("/captive-portal/") {
        return routes::handle(&c, req).await;
    }
    let host = match request_host(&req) {
        Some(h) if !c.is_own_host(&h) => h,
        _ => return next.run(req).await,
    };
    let welcomed = client_ip(&req)
        .and_then(|ip| c.welcomed.remaining(ip, Instant::now()))
        .is_some();
    match (probes::classify(&host, path), welcomed) {
        (Some(probe), true) => probe.online(),
        (_, false) => redirect(&c.portal.page()),
        (None, true) => redirect(&c.portal.app()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_url_is_the_hubs_own_address() {
        let p = PortalUrl::parse("http://10.42.0.1/").unwrap();
        assert_eq!(p.origin, "http://10.42.0.1");
        assert_eq!(p.host, "10.42.0.1");
        assert_eq!(p.page(), "http://10.42.0.1/captive-portal");
        assert_eq!(p.app(), "http://10.42.0.1/");
        let p = PortalUrl::parse("http://Hub.Local:8080").unwrap();
        assert_eq!(
            (p.origin.as_str(), p.host.as_str()),
            ("http://hub.local:8080", "hub.local")
        );
        let p = PortalUrl::parse("http://[fd00::1]:80/").unwrap();
        assert_eq!(p.host, "fd00::1");
        for bad in [
            "10.42.0.1",
            "ftp://x/",
            "http://",
            "http://x/portal",
            "http://u@x/",
            "http://x:y/",
        ] {
            assert!(PortalUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn own_hosts_are_ip_literals_localhost_the_mdns_name_and_the_portal_host() {
        let c = Captive::new(PortalUrl::parse("http://hub.lan/").unwrap(), "tram-a.local");
        for own in [
            "10.42.0.1",
            "fd00::1",
            "localhost",
            "tram-a.local",
            "hub.lan",
        ] {
            assert!(c.is_own_host(own), "{own}");
        }
        for foreign in [
            "captive.apple.com",
            "example.com",
            "tram-b.local",
            "hub.lan.evil",
        ] {
            assert!(!c.is_own_host(foreign), "{foreign}");
        }
        assert_eq!(
            split_host("Captive.Apple.com.:80").as_deref(),
            Some("captive.apple.com")
        );
        assert_eq!(split_host("[::1]:8080").as_deref(), Some("::1"));
        assert_eq!(split_host("x:y"), None);
    }

    #[test]
    fn welcomes_expire_and_stay_bounded() {
        let w = Welcomed::new(Duration::from_secs(10), 3);
        let t0 = Instant::now();
        let ip = |n: u8| IpAddr::from([10, 42, 0, n]);
        assert!(w.remaining(ip(1), t0).is_none());
        w.welcome(ip(1), t0);
        assert_eq!(
            w.remaining(ip(1), t0 + Duration::from_secs(4)),
            Some(Duration::from_secs(6))
        );
        assert!(w.remaining(ip(2), t0).is_none());
        assert!(w.remaining(ip(1), t0 + Duration::from_secs(10)).is_none());
        assert!(w.is_empty(), "expired entries are dropped when seen");
        for n in 1..=3 {
            w.welcome(ip(n), t0 + Duration::from_secs(n as u64));
        }
        w.welcome(ip(4), t0 + Duration::from_secs(5));
        assert_eq!(w.len(), 3);
        let now = t0 + Duration::from_secs(6);
        assert!(
            w.remaining(ip(1), now).is_none(),
            "the oldest welcome made room"
        );
        assert!(w.remaining(ip(4), now).is_some());
        // Expired entries are removed before an unexpired one is evicted.
        w.welcome(ip(5), t0 + Duration::from_secs(12));
        assert!(w.remaining(ip(3), t0 + Duration::from_secs(12)).is_some());
        assert!(w.remaining(ip(4), t0 + Duration::from_secs(12)).is_some());
    }
}
