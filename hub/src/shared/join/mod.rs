//! Joining the hub: the Wi-Fi and app-URL QR codes, the local CA's certificate for team phones, and what
//! the team's join page shows. `serve` computes a [`JoinInfo`] once at start (from the configuration, the
//! listeners and the CA) and hands it to these routes as a request extension; the URLs are then shaped
//! per request from its `Host`, so the QR shows an address that works on the viewer's network.

pub mod routes;
pub mod wifi;

use std::net::IpAddr;

use crate::shared::tls::LocalCa;
use wifi::WifiConfig;

pub use routes::router;

/// One listener as a phone may reach it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub port: u16,
    /// The addresses to offer, phone-reachable (non-loopback) ones first.
    pub ips: Vec<IpAddr>,
}

/// What the join routes need, fixed at start.
#[derive(Debug, Clone)]
pub struct JoinInfo {
    /// The mDNS host name, e.g. `tram-phuoc-minh.local`.
    pub host: String,
    /// Whether the host name is advertised (mDNS not off).
    pub host_advertised: bool,
    pub http: Endpoint,
    /// `None` when HTTPS is off.
    pub https: Option<Endpoint>,
    /// `None` when no Wi-Fi SSID is configured.
    pub wifi: Option<WifiConfig>,
    /// The local certificate authority, when HTTPS is on.
    pub ca: Option<LocalCa>,
}

/// The addresses a listener bound to `ip` is reachable on: itself, or every address of the machine when
/// unspecified (IPv4 non-loopback first, then loopback).
pub fn endpoint_ips(ip: IpAddr) -> Vec<IpAddr> {
    if !ip.is_unspecified() {
        return vec![ip];
    }
    let mut ips: Vec<IpAddr> = crate::shared::tls::machine_ips()
        .into_iter()
        .filter(|i| i.is_ipv4() && !i.is_loopback())
        .collect();
    ips.push(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    ips
}

/// `http://host:port/` with IPv6 addresses in brackets.
pub fn url(scheme: &str, host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("{scheme}://[{host}]:{port}/")
    } else {
        format!("{scheme}://{host}:{port}/")
    }
}

/// The host a request was sent to, from its `Host` header: a plain host name or IP address, and the
/// port if the header names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHost {
    /// Lower case; an IPv6 address without brackets.
    pub host: String,
    pub port: Option<u16>,
}

/// Parses a `Host` header (or a URI authority): `None` unless it is a plain host name or IP address with
/// an optional port (anything else is refused rather than echoed into a QR code).
pub fn parse_host(header: Option<&str>) -> Option<RequestHost> {
    let h = header?.trim();
    let port_of = |p: &str| -> Option<Option<u16>> {
        if p.is_empty() {
            return Some(None);
        }
        if !p.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        p.parse::<u16>().ok().map(Some)
    };
    if let Some(rest) = h.strip_prefix('[') {
        let (v6, tail) = rest.split_once(']')?;
        let v6 = v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match tail {
            "" => None,
            t => port_of(t.strip_prefix(':')?)?,
        };
        return Some(RequestHost {
            host: v6.to_string(),
            port,
        });
    }
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) => (host, port_of(port)?),
        None => (h, None),
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !host.starts_with(['.', '-']);
    ok.then(|| RequestHost {
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// The host name part of a `Host` header, if it is a plain host name or IP address (anything else is
/// ignored rather than echoed into a QR code).
pub fn request_host(header: Option<&str>) -> Option<String> {
    parse_host(header).map(|r| r.host)
}

/// The base URL (`scheme://host:port/`) that a QR code made for a request to this hub shows: the one
/// rule of every QR the hub draws with its own address (the join page's app and certificate codes, the
/// slip's tracking code). With the hub's [`JoinInfo`], [`JoinInfo::app_url`]: the request's host unless it
/// is loopback (`localhost`, `127.x`, `[::1]`), then the hub's first phone-reachable address — an IP
/// address, not the `.local` name, which many phones cannot resolve — and the port of the listener of
/// that scheme; `None` for HTTPS when it is off. Without it (a hub not assembled by `serve`), the
/// request's host and port as sent.
pub fn qr_base_url(
    info: Option<&JoinInfo>,
    https: bool,
    req: Option<&RequestHost>,
) -> Option<String> {
    let scheme = if https { "https" } else { "http" };
    match info {
        Some(info) => info.app_url(https, req.map(|r| r.host.as_str())),
        None => {
            let r = req?;
            Some(match r.port {
                Some(port) => url(scheme, &r.host, port),
                None if r.host.contains(':') => format!("{scheme}://[{}]/", r.host),
                None => format!("{scheme}://{}/", r.host),
            })
        }
    }
}

/// The [`JoinInfo`] of a running hub as a part of its state (`AppState::parts`), for the routes of
/// other concerns that draw the hub's address into a QR code (the slip's tracking QR). The state is
/// assembled before the HTTP listener is bound, so `serve` sets the value once it knows the addresses.
#[derive(Debug, Default)]
pub struct Published(std::sync::OnceLock<std::sync::Arc<JoinInfo>>);

impl Published {
    /// Sets the hub's join information (the first value stays).
    pub fn set(&self, info: std::sync::Arc<JoinInfo>) {
        let _ = self.0.set(info);
    }

    /// The hub's join information, once `serve` has set it.
    pub fn get(&self) -> Option<&JoinInfo> {
        self.0.get().map(|a| &**a)
    }
}

fn is_loopback_host(h: &str) -> bool {
    h == "localhost"
        || h.ends_with(".localhost")
        || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl JoinInfo {
    /// The host to put in a QR code for a request that came with `req_host`: that host unless it is
    /// loopback (a phone cannot use the hub laptop's `localhost`), else the first phone-reachable address.
    pub fn primary_host(&self, req_host: Option<&str>) -> String {
        if let Some(h) = req_host.filter(|h| !is_loopback_host(h)) {
            return h.to_string();
        }
        if let Some(ip) = self.http.ips.iter().find(|ip| !ip.is_loopback()) {
            return ip.to_string();
        }
        req_host.unwrap_or("127.0.0.1").to_string()
    }

    /// Whether HTTPS answers for `host`: a DNS name is taken as given (an alias the viewer used), an
    /// address only if the server certificate names it (the CA may not cover a network the hub moved to).
    fn https_serves(&self, host: &str) -> bool {
        host.parse::<IpAddr>().is_err()
            || self
                .ca
                .as_ref()
                .is_none_or(|ca| ca.served.iter().any(|n| n == host))
    }

    /// The host for an HTTPS URL: [`JoinInfo::primary_host`] when HTTPS answers there, else the first
    /// address of the HTTPS listener that phones can reach, else the advertised host name.
    pub fn https_host(&self, req_host: Option<&str>) -> String {
        let primary = self.primary_host(req_host);
        if self.https_serves(&primary) {
            return primary;
        }
        let ep_ip = self.https.as_ref().and_then(|e| {
            e.ips
                .iter()
                .find(|ip| !ip.is_loopback() && self.https_serves(&ip.to_string()))
        });
        match ep_ip {
            Some(ip) => ip.to_string(),
            None if self.host_advertised => self.host.clone(),
            None => primary,
        }
    }

    /// Every URL of `ep`: the primary one first, then the host name (when advertised), then each address.
    pub fn urls(&self, scheme: &str, ep: &Endpoint, req_host: Option<&str>) -> Vec<String> {
        let primary = if scheme == "https" {
            self.https_host(req_host)
        } else {
            self.primary_host(req_host)
        };
        let mut out = vec![url(scheme, &primary, ep.port)];
        if self.host_advertised {
            out.push(url(scheme, &self.host, ep.port));
        }
        for ip in &ep.ips {
            out.push(url(scheme, &ip.to_string(), ep.port));
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|u| seen.insert(u.clone()));
        out
    }

    /// The app URL for the QR code (HTTP, or HTTPS when `https` and it is on).
    pub fn app_url(&self, https: bool, req_host: Option<&str>) -> Option<String> {
        if https {
            let host = self.https_host(req_host);
            self.https.as_ref().map(|e| url("https", &host, e.port))
        } else {
            Some(url("http", &self.primary_host(req_host), self.http.port))
        }
    }

    /// Where a team phone downloads the CA certificate: over plain HTTP, as it does not trust HTTPS yet.
    pub fn ca_url(&self, req_host: Option<&str>) -> Option<String> {
        self.ca.as_ref()?;
        Some(format!(
            "{}ca.crt",
            url("http", &self.primary_host(req_host), self.http.port)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> JoinInfo {
        JoinInfo {
            host: "tram.local".into(),
            host_advertised: true,
            http: Endpoint {
                port: 8080,
                ips: vec!["192.168.4.1".parse().unwrap(), "127.0.0.1".parse().unwrap()],
            },
            https: Some(Endpoint {
                port: 8443,
                ips: vec!["192.168.4.1".parse().unwrap()],
            }),
            wifi: None,
            ca: None,
        }
    }

    #[test]
    fn request_hosts_are_parsed_and_odd_ones_refused() {
        assert_eq!(
            request_host(Some("Tram.local:8080")).as_deref(),
            Some("tram.local")
        );
        assert_eq!(
            request_host(Some("192.168.4.1")).as_deref(),
            Some("192.168.4.1")
        );
        assert_eq!(
            request_host(Some("[fd00::1]:8443")).as_deref(),
            Some("fd00::1")
        );
        assert_eq!(request_host(Some("evil;WIFI:x")), None);
        assert_eq!(request_host(Some("a b:80")), None);
        assert_eq!(request_host(None), None);
    }

    #[test]
    fn hosts_keep_their_port_and_the_qr_base_follows_the_join_rule() {
        let p = |h: &str| parse_host(Some(h));
        assert_eq!(
            p("Tram.local:8080"),
            Some(RequestHost {
                host: "tram.local".into(),
                port: Some(8080)
            })
        );
        assert_eq!(p("[::1]:8443").unwrap().port, Some(8443));
        assert_eq!(p("[::1]").unwrap().host, "::1");
        assert_eq!(p("tram.local:").unwrap().port, None);
        for odd in ["[::1]x", "tram:99999", "tram:8a", "a/b", "x;y"] {
            assert_eq!(p(odd), None, "{odd}");
        }
        let j = info();
        for loopback in [
            "localhost:8080",
            "127.0.0.1",
            "127.9.9.9:1",
            "[::1]:8080",
            "a.localhost",
        ] {
            assert_eq!(
                qr_base_url(Some(&j), false, p(loopback).as_ref()).unwrap(),
                "http://192.168.4.1:8080/",
                "{loopback}"
            );
            assert_eq!(
                qr_base_url(Some(&j), true, p(loopback).as_ref()).unwrap(),
                "https://192.168.4.1:8443/",
                "{loopback}"
            );
        }
        // No request host at all: the hub's own address.
        assert_eq!(
            qr_base_url(Some(&j), false, None).unwrap(),
            "http://192.168.4.1:8080/"
        );
        let mut off = info();
        off.https = None;
        assert_eq!(qr_base_url(Some(&off), true, p("tram.test").as_ref()), None);
        // Without the join information: the host and port as sent.
        assert_eq!(
            qr_base_url(None, false, p("[fd00::1]:81").as_ref()).unwrap(),
            "http://[fd00::1]:81/"
        );
        assert_eq!(
            qr_base_url(None, true, p("tram.test").as_ref()).unwrap(),
            "https://tram.test/"
        );
        assert_eq!(qr_base_url(None, false, None), None);
    }

    #[test]
    fn qr_urls_use_the_request_host_unless_it_is_loopback() {
        let j = info();
        assert_eq!(
            j.app_url(false, Some("tram.test")).unwrap(),
            "http://tram.test:8080/"
        );
        assert_eq!(
            j.app_url(true, Some("tram.test")).unwrap(),
            "https://tram.test:8443/"
        );
        assert_eq!(
            j.app_url(false, Some("127.0.0.1")).unwrap(),
            "http://192.168.4.1:8080/"
        );
        assert_eq!(
            j.app_url(false, Some("localhost")).unwrap(),
            "http://192.168.4.1:8080/"
        );
        assert_eq!(url("http", "fd00::1", 80), "http://[fd00::1]:80/");
        let u = j.urls("https", j.https.as_ref().unwrap(), Some("localhost"));
        assert_eq!(
            u,
            vec!["https://192.168.4.1:8443/", "https://tram.local:8443/"]
        );
    }

    #[test]
    fn https_urls_skip_addresses_the_certificate_does_not_name() {
        // The hub moved to 192.168.9.0/24, which its CA does not cover: the server certificate names only
        // the host name and loopback, so HTTPS links go to the host name instead of the new address.
        let mut j = info();
        j.http.ips = vec!["192.168.9.5".parse().unwrap(), "127.0.0.1".parse().unwrap()];
        j.https.as_mut().unwrap().ips = vec![];
        j.ca = Some(LocalCa {
            der: vec![],
            fingerprint: String::new(),
            notice: None,
            served: vec!["127.0.0.1".into(), "localhost".into(), "tram.local".into()],
        });
        assert_eq!(
            j.app_url(true, Some("192.168.9.5")).unwrap(),
            "https://tram.local:8443/"
        );
        assert_eq!(
            j.app_url(false, Some("192.168.9.5")).unwrap(),
            "http://192.168.9.5:8080/"
        );
        assert_eq!(
            j.urls("https", j.https.as_ref().unwrap(), None),
            vec!["https://tram.local:8443/"]
        );
        // A name the viewer typed is kept; an address the certificate names too.
        assert_eq!(
            j.app_url(true, Some("tram.test")).unwrap(),
            "https://tram.test:8443/"
        );
        j.ca.as_mut().unwrap().served.push("192.168.9.5".into());
        assert_eq!(
            j.app_url(true, Some("192.168.9.5")).unwrap(),
            "https://192.168.9.5:8443/"
        );
    }
}
