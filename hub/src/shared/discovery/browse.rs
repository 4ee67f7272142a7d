//! mDNS browsing: a field hub looks for its pinned office among the `_outreach-kit._tcp` services on the
//! local network. A match proves nothing (anyone can advertise any TXT record): it only says where to try;
//! every message from that address is still verified against the pinned office key.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use mdns_sd::{IfKind, ServiceDaemon, ServiceEvent};

use super::{MdnsMode, KIT_SERVICE};

/// What the TXT records of a found office must say.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    /// The pinned office's device id.
    pub device_id: &'a str,
    /// The pinned office's key fingerprint (as advertised: first 16 hex of SHA-256 of sign key ‖ age key).
    pub fingerprint: &'a str,
}

/// True when a TXT record set names the wanted office, in office mode, protocol 1.
pub fn txt_matches(wanted: &Wanted<'_>, get: impl Fn(&str) -> Option<String>) -> bool {
    get("device_id").as_deref() == Some(wanted.device_id)
        && get("mode").as_deref() == Some("office")
        && get("protocol").as_deref() == Some("1")
        && get("fingerprint").as_deref() == Some(wanted.fingerprint)
}

/// `http://addr:port` for an address (IPv6 in brackets).
pub fn base_url(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("http://{a}:{port}"),
        IpAddr::V6(a) => format!("http://[{a}]:{port}"),
    }
}

/// Browses for the wanted office for at most `timeout` (blocking: call it from a blocking task). Returns its
/// base URL, preferring an IPv4 address. `MdnsMode::Off` browses nothing; `Loopback` listens on loopback
/// only.
pub fn find_office(mode: MdnsMode, wanted: &Wanted<'_>, timeout: Duration) -> Option<String> {
    if mode == MdnsMode::Off {
        return None;
    }
    let daemon = match ServiceDaemon::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!(error = %e, "mDNS browsing unavailable");
            return None;
        }
    };
    if mode == MdnsMode::Loopback {
        let _ = daemon.disable_interface(IfKind::All);
        let _ = daemon.enable_interface(IfKind::LoopbackV4);
    }
    let found = (|| {
        let rx = daemon.browse(KIT_SERVICE).ok()?;
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            let ev = rx.recv_timeout(left).ok()?;
            if let ServiceEvent::ServiceResolved(svc) = ev {
                let ok = txt_matches(wanted, |k| {
                    svc.txt_properties
                        .get_property_val_str(k)
                        .map(str::to_owned)
                });
                if !ok {
                    continue;
                }
                let mut ips: Vec<IpAddr> = svc.addresses.iter().map(|a| a.to_ip_addr()).collect();
                if mode == MdnsMode::Loopback {
                    ips.retain(|ip| ip.is_loopback());
                }
                ips.sort_by_key(|ip| (!ip.is_ipv4(), *ip));
                if let Some(ip) = ips.first() {
                    return Some(base_url(*ip, svc.port));
                }
            }
        }
    })();
    let _ = daemon.stop_browse(KIT_SERVICE);
    let _ = daemon.shutdown();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn only_the_pinned_office_in_office_mode_matches() {
        let w = Wanted {
            device_id: "24f6ed6acbfe1009",
            fingerprint: "0123456789abcdef",
        };
        let mut txt: HashMap<String, String> = [
            ("device_id", "24f6ed6acbfe1009"),
            ("mode", "office"),
            ("protocol", "1"),
            ("fingerprint", "0123456789abcdef"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let check = |t: &HashMap<String, String>| txt_matches(&w, |k| t.get(k).cloned());
        assert!(check(&txt));
        txt.insert("mode".into(), "field".into());
        assert!(!check(&txt));
        txt.insert("mode".into(), "office".into());
        txt.insert("fingerprint".into(), "ffffffffffffffff".into());
        assert!(!check(&txt));
        txt.insert("fingerprint".into(), "0123456789abcdef".into());
        txt.insert("protocol".into(), "2".into());
        assert!(!check(&txt));
        assert_eq!(
            base_url("::1".parse().unwrap(), 80),
            "http://[::1]:80".to_string()
        );
    }
}
