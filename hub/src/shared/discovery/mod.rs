//! mDNS advertisement: `_http._tcp` for people (`<name>.local`) and `_outreach-kit._tcp` with TXT records
//! (device id, mode, protocol version, key fingerprint) for other hubs. `--mdns loopback` keeps every mDNS
//! packet on the loopback interface (tests and CI); `--mdns off` starts nothing.

pub mod browse;

use std::net::{IpAddr, Ipv4Addr};

use mdns_sd::{IfKind, ServiceDaemon, ServiceInfo};
use serde::{Deserialize, Serialize};

/// Where to advertise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MdnsMode {
    /// Every network interface.
    #[default]
    All,
    /// Only the loopback interface (tests).
    Loopback,
    /// No mDNS at all.
    Off,
}

pub const KIT_SERVICE: &str = "_outreach-kit._tcp.local.";
pub const HTTP_SERVICE: &str = "_http._tcp.local.";

/// A running advertisement; dropping it withdraws the services.
pub struct Advertiser {
    daemon: ServiceDaemon,
}

impl Drop for Advertiser {
    fn drop(&mut self) {
        let _ = self.daemon.shutdown();
    }
}

/// What to advertise.
pub struct Advert<'a> {
    pub name: &'a str,
    /// The single host label (`tram-phuoc-minh` for `tram-phuoc-minh.local`), see [`host_label`].
    pub host_label: &'a str,
    pub port: u16,
    pub device_id: &'a str,
    pub mode: &'a str,
    pub key_fingerprint: &'a str,
}

/// Makes a host label from the hub name: Vietnamese letters folded to ASCII (`Trạm Phước Minh` →
/// `tram-phuoc-minh`, `đ` → `d`), lowercase ASCII letters, digits and single hyphens (a single label, as
/// Android resolves only `name.local`), at most 63 characters.
pub fn host_label(name: &str) -> String {
    use unicode_normalization::char::is_combining_mark;
    use unicode_normalization::UnicodeNormalization;
    let mut s = String::new();
    for c in name.nfd().filter(|c| !is_combining_mark(*c)) {
        let c = match c {
            'đ' | 'Đ' => 'd',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.is_empty() && !s.ends_with('-') {
            s.push('-');
        }
    }
    s.truncate(63);
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "hub".into()
    } else {
        s
    }
}

/// The instance name advertised for `name`: the hub's own name (UTF-8 is allowed in DNS-SD instance
/// names), cut to the 63-byte label limit on a character boundary.
pub fn instance_name(name: &str) -> String {
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    let n = name[..end].trim();
    if n.is_empty() {
        "hub".into()
    } else {
        n.to_string()
    }
}

/// Starts advertising per `mode`. Failures are logged, never fatal: the QR code and IP address still work.
pub fn start(mode: MdnsMode, ad: &Advert<'_>) -> Option<Advertiser> {
    if mode == MdnsMode::Off {
        return None;
    }
    let daemon = match ServiceDaemon::new() {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "mDNS unavailable; use the printed address or QR code");
            return None;
        }
    };
    let addrs: Vec<IpAddr> = if mode == MdnsMode::Loopback {
        // Queued before any registration, so nothing is ever announced on another interface.
        let _ = daemon.disable_interface(IfKind::All);
        let _ = daemon.enable_interface(IfKind::LoopbackV4);
        vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]
    } else {
        Vec::new()
    };
    let host = format!("{}.local.", ad.host_label);
    let txt = [
        ("device_id", ad.device_id),
        ("mode", ad.mode),
        ("protocol", "1"),
        ("fingerprint", ad.key_fingerprint),
    ];
    for (ty, props) in [
        (KIT_SERVICE, &txt[..]),
        (HTTP_SERVICE, &[("path", "/")][..]),
    ] {
        let info = ServiceInfo::new(
            ty,
            &instance_name(ad.name),
            &host,
            &addrs[..],
            ad.port,
            props,
        );
        let info = match info {
            Ok(i) if addrs.is_empty() => i.enable_addr_auto(),
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "cannot build the mDNS record");
                continue;
            }
        };
        if let Err(e) = daemon.register(info) {
            tracing::warn!(error = %e, "cannot register the mDNS service");
        }
    }
    tracing::info!(host = %host, ?mode, "mDNS advertising");
    Some(Advertiser { daemon })
}

#[cfg(test)]
mod tests {
    use super::{host_label, instance_name};

    #[test]
    fn host_labels_are_single_ascii_labels() {
        assert_eq!(host_label("Trạm Phước Minh"), "tram-phuoc-minh");
        assert_eq!(host_label("Trạm Bù Gia Mập"), "tram-bu-gia-map");
        assert_eq!(host_label("Đắk Lắk – điểm 2"), "dak-lak-diem-2");
        assert_eq!(host_label("  Xã  An--Bình "), "xa-an-binh");
        assert_eq!(host_label(&"ấ".repeat(80)).len(), 63);
        assert_eq!(host_label("hub-1a2b"), "hub-1a2b");
        assert_eq!(host_label("..."), "hub");
        assert!(!host_label("a.b").contains('.'));
    }

    #[test]
    fn instance_names_keep_the_hub_name_within_63_bytes() {
        assert_eq!(instance_name("Trạm Phước Minh"), "Trạm Phước Minh");
        let long = instance_name(&"ư".repeat(40));
        assert!(long.len() <= 63 && long.chars().all(|c| c == 'ư'));
    }
}
