//! The operating systems' connectivity checks, recognised by path (and, for Apple's old check hosts, by
//! host), and the exact "online" answer each expects:
//!
//! | who | check | online answer |
//! |---|---|---|
//! | Android (NetworkMonitor), ChromeOS, Chrome, MIUI, EMUI, Ubuntu | `/generate_204`, `/gen_204`, `connectivity-check.ubuntu.com` | `204`, empty |
//! | iOS, iPadOS, macOS (Captive Network Assistant) | `captive.apple.com/hotspot-detect.html`, `/library/test/success.html`, Apple's old check hosts | the `Success` page |
//! | Windows (NCSI) | `/connecttest.txt`, `/ncsi.txt` | `Microsoft Connect Test`, `Microsoft NCSI` |
//! | Firefox | `/success.txt`, `/canonical.html` | `success\n`, its canonical meta refresh |
//! | NetworkManager (GNOME, Arch) | `/check_network_status.txt`, `/nm-check.txt` | `NetworkManager is online\n` |

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A recognised connectivity check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    NoContent,
    Apple,
    MicrosoftConnectTest,
    MicrosoftNcsi,
    FirefoxSuccess,
    FirefoxCanonical,
    NetworkManager,
}

/// Apple's check hosts, where any path is a check.
const APPLE_HOSTS: &[&str] = &[
    "captive.apple.com",
    "www.appleiphonecell.com",
    "www.airport.us",
    "www.ibook.info",
    "www.itools.info",
    "www.thinkdifferent.us",
];

pub const APPLE_SUCCESS: &str =
    "<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>";
pub const FIREFOX_CANONICAL: &str =
    r#"<meta http-equiv="refresh" content="0;url=https://support.mozilla.org/kb/captive-portal"/>"#;

/// The check a request to `host` + `path` (on a foreign host) is, if any.
pub fn classify(host: &str, path: &str) -> Option<Probe> {
    Some(match path {
        "/generate_204" | "/gen_204" => Probe::NoContent,
        "/hotspot-detect.html" | "/library/test/success.html" => Probe::Apple,
        "/connecttest.txt" => Probe::MicrosoftConnectTest,
        "/ncsi.txt" => Probe::MicrosoftNcsi,
        "/success.txt" => Probe::FirefoxSuccess,
        "/canonical.html" => Probe::FirefoxCanonical,
        "/check_network_status.txt" | "/nm-check.txt" => Probe::NetworkManager,
        _ if APPLE_HOSTS.contains(&host) => Probe::Apple,
        _ if host == "connectivity-check.ubuntu.com" => Probe::NoContent,
        _ => return None,
    })
}

impl Probe {
    /// The answer that tells the operating system the network is online.
    pub fn online(self) -> Response {
        let text = |body: &'static str| {
            (
                [
                    (header::CONTENT_TYPE, "text/plain"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response()
        };
        let html = |body: &'static str| {
            (
                [
                    (header::CONTENT_TYPE, "text/html"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
                .into_response()
        };
        match self {
            Probe::NoContent => (
                StatusCode::NO_CONTENT,
                [(header::CACHE_CONTROL, "no-store")],
            )
                .into_response(),
            Probe::Apple => html(APPLE_SUCCESS),
            Probe::MicrosoftConnectTest => text("Microsoft Connect Test"),
            Probe::MicrosoftNcsi => text("Microsoft NCSI"),
            Probe::FirefoxSuccess => text("success\n"),
            Probe::FirefoxCanonical => html(FIREFOX_CANONICAL),
            Probe::NetworkManager => text("NetworkManager is online\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_recognised_by_path_and_apples_hosts() {
        let c = classify;
        assert_eq!(
            c("connectivitycheck.gstatic.com", "/generate_204"),
            Some(Probe::NoContent)
        );
        assert_eq!(c("www.google.com", "/gen_204"), Some(Probe::NoContent));
        assert_eq!(
            c("captive.apple.com", "/hotspot-detect.html"),
            Some(Probe::Apple)
        );
        assert_eq!(c("captive.apple.com", "/"), Some(Probe::Apple));
        assert_eq!(
            c("www.apple.com", "/library/test/success.html"),
            Some(Probe::Apple)
        );
        assert_eq!(
            c("www.msftconnecttest.com", "/connecttest.txt"),
            Some(Probe::MicrosoftConnectTest)
        );
        assert_eq!(
            c("www.msftncsi.com", "/ncsi.txt"),
            Some(Probe::MicrosoftNcsi)
        );
        assert_eq!(
            c("detectportal.firefox.com", "/success.txt"),
            Some(Probe::FirefoxSuccess)
        );
        assert_eq!(
            c("detectportal.firefox.com", "/canonical.html"),
            Some(Probe::FirefoxCanonical)
        );
        assert_eq!(
            c("nmcheck.gnome.org", "/check_network_status.txt"),
            Some(Probe::NetworkManager)
        );
        assert_eq!(
            c("connectivity-check.ubuntu.com", "/"),
            Some(Probe::NoContent)
        );
        assert_eq!(c("www.msftconnecttest.com", "/redirect"), None);
        assert_eq!(c("example.com", "/"), None);
    }
}
