//! What `hub serve` prints for the person starting it: the URLs, a QR code of the main one drawn with
//! Unicode blocks, and the one-time setup link.

use std::net::{IpAddr, SocketAddr};

use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;

/// The URLs a phone can use to reach a hub bound to `addr`: every non-loopback IPv4 address first (what a
/// phone on the same Wi-Fi needs), then loopback.
pub fn urls(addr: SocketAddr) -> Vec<String> {
    let port = addr.port();
    if !addr.ip().is_unspecified() {
        return vec![format!("http://{}/", fmt_host(addr.ip(), port))];
    }
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|list| {
            list.into_iter()
                .map(|i| i.ip())
                .filter(|ip| ip.is_ipv4() && !ip.is_loopback())
                .collect()
        })
        .unwrap_or_default();
    ips.sort();
    ips.dedup();
    let mut out: Vec<String> = ips
        .into_iter()
        .map(|ip| format!("http://{}/", fmt_host(ip, port)))
        .collect();
    out.push(format!("http://127.0.0.1:{port}/"));
    out
}

fn fmt_host(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("{v4}:{port}"),
    }
}

/// A QR code of `text` as terminal text (two rows per character).
pub fn qr(text: &str) -> String {
    match QrCode::new(text.as_bytes()) {
        Ok(code) => code.render::<Dense1x2>().quiet_zone(true).build(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_address_gives_one_url() {
        let u = urls("127.0.0.1:9000".parse().unwrap());
        assert_eq!(u, vec!["http://127.0.0.1:9000/"]);
    }

    #[test]
    fn unspecified_address_lists_loopback_last() {
        let u = urls("0.0.0.0:8080".parse().unwrap());
        assert_eq!(u.last().unwrap(), "http://127.0.0.1:8080/");
    }

    #[test]
    fn qr_is_drawn() {
        let q = qr("http://192.168.4.1:8080/");
        assert!(q.lines().count() > 10);
        assert!(q.contains('█') || q.contains('▀') || q.contains('▄'));
    }
}
