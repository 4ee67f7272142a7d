//! The hub's configuration: one typed struct with defaults, read from the command line or environment
//! variables (`HUB_MODE`, `HUB_DATA`, `HUB_LISTEN`, `HUB_HTTPS_LISTEN`, `HUB_MDNS`, `HUB_NAME`,
//! `HUB_HOST_NAME`, `HUB_TIME_LIMITS`, `HUB_HOLIDAYS`, `HUB_WIFI_SSID`, `HUB_WIFI_PASSWORD`, `HUB_WIFI_SECURITY`, and the sync
//! settings `HUB_OFFICE_URL`, `HUB_SYNC_INTERVAL`, `HUB_SYNC_CONCURRENCY`, `HUB_SYNC_BANDWIDTH_KBPS`,
//! `HUB_QUIET_HOURS`, `HUB_RETENTION_DAYS`, `HUB_SYNC`), the captive portal `HUB_CAPTIVE_PORTAL`, and the
//! connection limits `HUB_HEADER_READ_TIMEOUT`, `HUB_BODY_READ_TIMEOUT`, `HUB_MAX_CONNECTIONS`,
//! `HUB_MAX_CONNECTIONS_PER_ADDRESS`, the queue board's `HUB_BOARD_STREAMS_PER_ADDRESS`,
//! `HUB_MAX_BOARD_STREAMS`, `HUB_PREDECLARATIONS_PER_SESSION`, and the field retention settings
//! `HUB_DRAFT_RETENTION_DAYS`, `HUB_DRAFT_WARNING_DAYS`, `HUB_PREDECLARATION_RETENTION_DAYS`,
//! `HUB_NEWS_RETENTION_DAYS`, `HUB_TICKET_NAME_HOURS`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use protocol::HubMode;

use crate::field::uploader::settings::SyncSettings;
use crate::shared::discovery::MdnsMode;
use crate::shared::join::wifi::{WifiConfig, WifiSecurity};

/// Settings of `hub serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Field hub (capture and seal) or office hub (verify and reconcile). Fixed when the data
    /// directory is created; default field.
    #[arg(long, env = "HUB_MODE", value_parser = parse_mode)]
    pub mode: Option<HubMode>,
    /// Data directory (database and keys); created on first run.
    #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
    pub data: PathBuf,
    /// Address and port to listen on (port 0 picks a free port).
    #[arg(long, env = "HUB_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Where to advertise over mDNS: all interfaces, loopback only (tests), or off.
    #[arg(long, env = "HUB_MDNS", value_enum, default_value_t = MdnsMode::All)]
    pub mdns: MdnsMode,
    /// A name for this hub, shown to users and other hubs (default: hub-<first 4 of device id>).
    #[arg(long, env = "HUB_NAME")]
    pub name: Option<String>,
    /// Legal time limit of a procedure in working days, where the commune's practice differs from the
    /// catalogue's default (DOMAIN.md marks some limits "to check"): `PROCEDURE=DAYS`, repeatable, or a
    /// comma-separated list in HUB_TIME_LIMITS, e.g. `marital-status-certificate=5`.
    #[arg(long = "time-limit", env = "HUB_TIME_LIMITS", value_delimiter = ',', value_parser = parse_time_limit)]
    pub time_limits: Vec<(String, u32)>,
    /// Days off that deadlines skip besides weekends, replacing the built-in list year by year: a JSON file
    /// in the format of the built-in list (`{"years": {"2027": {"off": [{"date": "2027-02-11", "name":
    /// "…"}], "work": [{"date": "…", "name": "…"}]}}}`; `work` = a Saturday or Sunday worked instead of a
    /// swapped day). Each year the file lists replaces that year of the built-in list; other years are
    /// kept. Give every hub (field and office) the same file, so the slip and the office agree.
    // Boxed: rarely set, and it keeps `Command::Serve` small (clippy::large_enum_variant).
    #[arg(long, env = "HUB_HOLIDAYS", value_parser = parse_path)]
    pub holidays: Option<Box<PathBuf>>,
    /// The commune (or ward, special zone) this hub serves: its 5-digit official code, e.g. 25222. New
    /// dossiers are addressed to it unless the team picks another ("Kính gửi"), and a birth's place
    /// starts there. Checked against the administrative-units list at start.
    #[arg(long, env = "HUB_COMMUNE", value_parser = parse_commune_code)]
    pub commune: Option<String>,
    /// HTTPS listener (certificate from the hub's local certificate authority): `ADDR:PORT` or `off`.
    /// Default: the IP of --listen, port 8443 (a busy default port only disables HTTPS, with a warning).
    #[arg(long, env = "HUB_HTTPS_LISTEN", value_parser = parse_https_listen)]
    pub https_listen: Option<HttpsListen>,
    /// mDNS host name (`NAME` or `NAME.local`), one ASCII label. Default: made from the hub name
    /// ("Trạm Phước Minh" → tram-phuoc-minh.local).
    #[arg(long, env = "HUB_HOST_NAME")]
    pub host_name: Option<String>,
    /// Wi-Fi network name (SSID) shown in the join QR code on the team's join page.
    #[arg(long, env = "HUB_WIFI_SSID")]
    pub wifi_ssid: Option<String>,
    /// Wi-Fi password for the join QR code (none: an open network).
    #[arg(long, env = "HUB_WIFI_PASSWORD", hide_env_values = true)]
    pub wifi_password: Option<String>,
    /// Wi-Fi security for the join QR code: WPA (default with a password), WEP, or nopass (open).
    #[arg(long, env = "HUB_WIFI_SECURITY", value_enum, ignore_case = true)]
    pub wifi_security: Option<WifiSecurity>,
    /// Sync with the office (field hub).
    #[command(flatten)]
    pub upload: SyncSettings,
    /// Captive portal for a hub that is its own Wi-Fi access point: the hub's address as phones reach it
    /// (e.g. http://10.42.0.1/). Phones' connectivity checks and requests for foreign host names are sent
    /// to the portal page (that address + /captive-portal) until the phone taps "Open the app"; then its
    /// checks get their "online" answers so it stays on the Wi-Fi. Unset or empty: off.
    // Boxed: rarely set, and it keeps `Command::Serve` small (clippy::large_enum_variant).
    #[arg(long, env = "HUB_CAPTIVE_PORTAL", value_parser = crate::field::captive::PortalSetting::parse)]
    pub captive_portal: Option<Box<crate::field::captive::PortalSetting>>,
    /// Tests only: seconds added to the system clock, to simulate a device without a real-time clock
    /// (e.g. -157680000: five years behind). Never set on a real kit.
    #[arg(
        long,
        env = "HUB_CLOCK_SKEW_SECONDS",
        hide = true,
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    pub clock_skew_seconds: i64,
    /// Tests only: the window of the login rate limits in seconds (default 300: five minutes).
    #[arg(
        long,
        env = "HUB_LOGIN_LOCKOUT_SECONDS",
        hide = true,
        default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub login_lockout_seconds: u64,
    /// Connection limits of the HTTP and HTTPS listeners (header and body read timeouts, caps).
    #[command(flatten)]
    pub connections: ConnectionLimits,
    /// Caps on live queue-board streams (field hub).
    #[command(flatten)]
    pub board: crate::field::outreach::BoardLimits,
    /// Ceiling on villagers' pre-declarations per outreach session (field hub).
    #[command(flatten)]
    pub predeclarations: crate::field::selfservice::PredeclareLimits,
    /// How long personal data the field no longer needs is kept (field hub).
    #[command(flatten)]
    pub retention: crate::field::retention::RetentionSettings,
    /// The receipt printer on the hub's USB port and its profile (field hub).
    #[command(flatten)]
    pub printer: crate::field::thermal::Settings,
}

/// How long a client may take and how many connections it may hold (issue 18: one laptop on the open
/// Wi-Fi must not take the hub down by opening connections and sending nothing, or half a request).
#[derive(Debug, Clone, Args)]
pub struct ConnectionLimits {
    /// Seconds a client has to send a request's complete header (also how long an idle kept-alive
    /// connection stays open); slower connections are closed.
    #[arg(
        long,
        env = "HUB_HEADER_READ_TIMEOUT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_read_timeout: u64,
    /// Seconds a request body may stall (no byte received while the hub waits for one); the request then
    /// fails and its connection is closed. A slow but moving upload is not cut.
    #[arg(
        long,
        env = "HUB_BODY_READ_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub body_read_timeout: u64,
    /// Most connections open at once, HTTP and HTTPS together; at the cap a new one sheds the oldest
    /// connection that has not sent a complete request yet, or is closed when every one is busy. Default
    /// (0): derived from the open-file limit (RLIMIT_NOFILE), leaving room for the database and files.
    #[arg(long, env = "HUB_MAX_CONNECTIONS", default_value_t = 0)]
    pub max_connections: usize,
    /// Most connections open at once from one client address (an IPv6 client: its /64); further ones are
    /// closed at once. Loopback clients (the hub's own machine) count only towards --max-connections.
    #[arg(
        long,
        env = "HUB_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 32,
        value_parser = clap::value_parser!(u64).range(1..=100_000)
    )]
    pub max_connections_per_address: u64,
    /// Tests only: apply --max-connections-per-address to loopback clients too.
    #[arg(
        long,
        env = "HUB_CONNECTION_CAP_ON_LOOPBACK",
        hide = true,
        default_value_t = false
    )]
    pub connection_cap_on_loopback: bool,
}

/// Open-file descriptors kept out of the global connection cap: the database (and its WAL and journal),
/// photos and exports being written, backups, the TLS and key files, mDNS sockets, logs.
pub const FD_RESERVE_MIN: u64 = 128;
/// The automatic global connection cap never exceeds this (memory on a Raspberry Pi).
pub const AUTO_MAX_CONNECTIONS: u64 = 4096;

impl ConnectionLimits {
    /// The global connection cap for a process that may open `nofile` files: `--max-connections` when set,
    /// else `nofile` minus a reserve of a quarter (at least 128), between 16 and 4096.
    pub fn global_cap(&self, nofile: u64) -> usize {
        if self.max_connections > 0 {
            return self.max_connections;
        }
        let reserve = (nofile / 4).max(FD_RESERVE_MIN);
        nofile
            .saturating_sub(reserve)
            .clamp(16, AUTO_MAX_CONNECTIONS) as usize
    }
}

/// Where to serve HTTPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpsListen {
    Off,
    Addr(SocketAddr),
}

/// Default HTTPS port (next to the HTTP --listen IP).
pub const DEFAULT_HTTPS_PORT: u16 = 8443;

pub fn parse_https_listen(s: &str) -> Result<HttpsListen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(HttpsListen::Off);
    }
    s.parse()
        .map(HttpsListen::Addr)
        .map_err(|_| format!("expected ADDR:PORT (e.g. 0.0.0.0:8443) or `off`, not `{s}`"))
}

impl ServeConfig {
    /// The Wi-Fi settings for the join QR, checked: `None` when no SSID is configured; `nopass` when there
    /// is no password (or `nopass` was chosen).
    pub fn wifi(&self) -> Result<Option<WifiConfig>, String> {
        let Some(ssid) = self.wifi_ssid.as_deref().filter(|s| !s.is_empty()) else {
            if self.wifi_password.as_deref().is_some_and(|p| !p.is_empty()) {
                return Err("--wifi-password needs --wifi-ssid (the network's name)".into());
            }
            return Ok(None);
        };
        if ssid.len() > 32 {
            return Err(format!(
                "the Wi-Fi SSID is {} bytes; at most 32",
                ssid.len()
            ));
        }
        let password = self.wifi_password.clone().filter(|p| !p.is_empty());
        let security = match (self.wifi_security, &password) {
            (Some(WifiSecurity::Nopass), _) | (None, None) => WifiSecurity::Nopass,
            (Some(s), Some(_)) => s,
            (None, Some(_)) => WifiSecurity::Wpa,
            (Some(s), None) => {
                return Err(format!(
                    "Wi-Fi security {} needs --wifi-password",
                    s.as_str()
                ))
            }
        };
        let password = if security == WifiSecurity::Nopass {
            None
        } else {
            password
        };
        if let (WifiSecurity::Wpa, Some(p)) = (security, &password) {
            if !(8..=63).contains(&p.chars().count()) {
                return Err("a WPA Wi-Fi password has 8 to 63 characters".into());
            }
        }
        Ok(Some(WifiConfig {
            ssid: ssid.to_string(),
            security,
            password,
        }))
    }

    /// The deadline rules of this hub: `--time-limit` and the built-in holiday list with `--holidays`
    /// applied. An unreadable or invalid holidays file is an error (the hub does not start).
    pub fn deadline_rules(&self) -> Result<crate::shared::deadline::Rules, String> {
        use crate::shared::deadline::{Calendar, Rules};
        let mut calendar = Calendar::builtin().clone();
        if let Some(path) = &self.holidays {
            let text = std::fs::read_to_string(path.as_path())
                .map_err(|e| format!("cannot read the holidays file {}: {e}", path.display()))?;
            let over = Calendar::parse(&text)
                .map_err(|e| format!("the holidays file {} is not valid: {e}", path.display()))?;
            calendar = calendar.overridden_by(&over);
        }
        Ok(Rules {
            time_limits: self.time_limits.clone(),
            calendar,
        })
    }

    /// The captive portal's URL, `None` when off (unset or empty).
    pub fn captive_portal(&self) -> Option<crate::field::captive::PortalUrl> {
        self.captive_portal.clone().and_then(|s| s.0)
    }

    /// The mDNS host label (without `.local`): --host-name, or made from the hub's name.
    pub fn host_label(&self, hub_name: &str) -> String {
        match self.host_name.as_deref().map(str::trim) {
            Some(h) if !h.is_empty() => {
                let h = h.trim_end_matches('.');
                let h = h.strip_suffix(".local").unwrap_or(h);
                crate::shared::discovery::host_label(h)
            }
            _ => crate::shared::discovery::host_label(hub_name),
        }
    }

    /// The HTTPS address to bind, and whether it was chosen explicitly (then failing to bind is an error).
    pub fn https_addr(&self) -> Option<(SocketAddr, bool)> {
        match self.https_listen {
            Some(HttpsListen::Off) => None,
            Some(HttpsListen::Addr(a)) => Some((a, true)),
            None => Some((SocketAddr::new(self.listen.ip(), DEFAULT_HTTPS_PORT), false)),
        }
    }
}

/// `PROCEDURE=DAYS` for a procedure of the catalogue and 1–365 working days.
/// A 5-digit administrative-unit code (its existence is checked against the units list at start).
pub fn parse_commune_code(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a commune code: give the 5-digit official code (see `hub units list --search NAME`)"
        ))
    }
}

pub fn parse_time_limit(s: &str) -> Result<(String, u32), String> {
    let (id, days) = s.split_once('=').ok_or_else(|| {
        format!("expected PROCEDURE=DAYS, e.g. marital-status-certificate=5, not `{s}`")
    })?;
    let id = id.trim();
    if !crate::shared::procedures::all()
        .into_iter()
        .any(|d| d.id == id)
    {
        let known: Vec<&str> = crate::shared::procedures::all()
            .into_iter()
            .map(|d| d.id.as_str())
            .collect();
        return Err(format!(
            "unknown procedure `{id}` (known: {})",
            known.join(", ")
        ));
    }
    match days.trim().parse::<u32>() {
        Ok(n) if (1..=365).contains(&n) => Ok((id.to_owned(), n)),
        _ => Err(format!(
            "`{days}` is not a number of working days from 1 to 365"
        )),
    }
}

/// A file path (boxed, see `ServeConfig::holidays`).
pub fn parse_path(s: &str) -> Result<Box<PathBuf>, String> {
    if s.is_empty() {
        return Err("expected a file path".into());
    }
    Ok(Box::new(PathBuf::from(s)))
}

pub fn parse_mode(s: &str) -> Result<HubMode, String> {
    s.parse()
        .map_err(|_| format!("mode must be `field` or `office`, not `{s}`"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::uploader::settings::{parse_office_url, OnOff};

    #[test]
    fn time_limits_name_a_known_procedure_and_a_sensible_number_of_days() {
        assert_eq!(
            parse_time_limit("marital-status-certificate=5"),
            Ok(("marital-status-certificate".to_owned(), 5))
        );
        assert!(parse_time_limit("marital-status-certificate").is_err());
        assert!(parse_time_limit("marital-status-certificate=0").is_err());
        assert!(parse_time_limit("marital-status-certificate=ba").is_err());
        let e = parse_time_limit("passport=3").unwrap_err();
        assert!(e.contains("birth-residence-insurance"), "{e}");
    }

    fn cfg(args: &[&str]) -> ServeConfig {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            c: ServeConfig,
        }
        let mut v = vec!["hub"];
        v.extend_from_slice(args);
        T::try_parse_from(v).unwrap().c
    }

    #[test]
    fn wifi_qr_text_escapes_special_characters() {
        let w = cfg(&[
            "--wifi-ssid",
            r#"Trạm;1,"A":\"#,
            "--wifi-password",
            "p;a,s:s\"w\\rd",
        ])
        .wifi()
        .unwrap()
        .unwrap();
        assert_eq!(
            w.qr_text(),
            r#"WIFI:T:WPA;S:Trạm\;1\,\"A\"\:\\;P:p\;a\,s\:s\"w\\rd;;"#
        );
        let open = cfg(&["--wifi-ssid", "Tram"]).wifi().unwrap().unwrap();
        assert_eq!(open.qr_text(), "WIFI:T:nopass;S:Tram;;");
        let wep = cfg(&[
            "--wifi-ssid",
            "T",
            "--wifi-password",
            "12345",
            "--wifi-security",
            "wep",
        ]);
        assert_eq!(
            wep.wifi().unwrap().unwrap().qr_text(),
            "WIFI:T:WEP;S:T;P:12345;;"
        );
        assert!(cfg(&[]).wifi().unwrap().is_none());
        assert!(cfg(&["--wifi-ssid", "T", "--wifi-password", "short"])
            .wifi()
            .is_err());
        assert!(cfg(&["--wifi-password", "longenough"]).wifi().is_err());
        assert!(cfg(&["--wifi-ssid", "T", "--wifi-security", "WPA"])
            .wifi()
            .is_err());
    }

    #[test]
    fn https_listen_defaults_to_the_http_ip_on_port_8443_or_off() {
        let c = cfg(&["--listen", "127.0.0.1:9000"]);
        assert_eq!(
            c.https_addr(),
            Some(("127.0.0.1:8443".parse().unwrap(), false))
        );
        let c = cfg(&["--https-listen", "off"]);
        assert_eq!(c.https_addr(), None);
        let c = cfg(&["--https-listen", "0.0.0.0:9443"]);
        assert_eq!(
            c.https_addr(),
            Some(("0.0.0.0:9443".parse().unwrap(), true))
        );
        assert!(parse_https_listen("nope").is_err());
    }

    #[test]
    fn sync_settings_have_field_defaults_and_check_their_values() {
        let c = cfg(&[]).upload;
        assert_eq!(c.sync_interval, 300);
        assert_eq!(c.sync_concurrency, 2);
        assert_eq!(c.sync_bandwidth_kbps, 0);
        assert_eq!(c.retention_days, 90);
        assert_eq!(c.retention_secs(), 90 * 86_400);
        assert_eq!(c.sync, OnOff::On);
        assert!(c.quiet_hours.is_none() && c.office_url.is_none());
        let c = cfg(&[
            "--office-url",
            "https://office.example.vn:8443/",
            "--quiet-hours",
            "16:30-18:30",
            "--sync",
            "off",
        ])
        .upload;
        assert_eq!(
            c.office_url.as_deref(),
            Some("https://office.example.vn:8443")
        );
        assert_eq!(c.quiet_hours.unwrap().to_string(), "16:30-18:30");
        assert_eq!(c.sync, OnOff::Off);
        assert!(parse_office_url("ftp://x").is_err());
        assert!(parse_office_url("http://u@x").is_err());
        assert!(parse_office_url("http://").is_err());
    }

    #[test]
    fn the_captive_portal_is_off_unless_given_and_empty_is_off() {
        assert!(cfg(&[]).captive_portal().is_none());
        assert!(cfg(&["--captive-portal", ""]).captive_portal().is_none());
        assert_eq!(
            cfg(&["--captive-portal", "http://10.42.0.1/"])
                .captive_portal()
                .unwrap()
                .page(),
            "http://10.42.0.1/captive-portal"
        );
    }

    #[test]
    fn the_holidays_file_replaces_built_in_years_and_a_bad_one_is_refused() {
        let d = |s: &str| crate::shared::deadline::parse_date(s).unwrap();
        let r = cfg(&["--time-limit", "marital-status-certificate=5"])
            .deadline_rules()
            .unwrap();
        assert_eq!(
            r.time_limits,
            [("marital-status-certificate".to_owned(), 5)]
        );
        assert!(r.calendar.is_day_off(d("2027-01-01")));
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("h.json");
        std::fs::write(
            &good,
            r#"{"years": {"2027": {"off": [{"date": "2027-02-11", "name": "Tết"}]}}}"#,
        )
        .unwrap();
        let r = cfg(&["--holidays", good.to_str().unwrap()])
            .deadline_rules()
            .unwrap();
        assert!(r.calendar.is_day_off(d("2027-02-11")));
        assert!(!r.calendar.is_day_off(d("2027-01-01")));
        assert!(r.calendar.is_day_off(d("2026-01-01")));
        let bad = dir.path().join("bad.json");
        std::fs::write(
            &bad,
            r#"{"years": {"2027": {"off": [{"date": "2027-05-01", "name": "x"}]}}}"#,
        )
        .unwrap();
        let e = cfg(&["--holidays", bad.to_str().unwrap()])
            .deadline_rules()
            .unwrap_err();
        assert!(e.contains("bad.json") && e.contains("Saturday"), "{e}");
        let e = cfg(&["--holidays", "/nonexistent/h.json"])
            .deadline_rules()
            .unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }

    #[test]
    fn connection_limits_default_for_a_pi_and_leave_room_for_files() {
        let c = cfg(&[]).connections;
        assert_eq!(c.header_read_timeout, 10);
        assert_eq!(c.body_read_timeout, 30);
        assert_eq!(c.max_connections_per_address, 32);
        assert!(!c.connection_cap_on_loopback);
        // ulimit -n 1024 (a Pi's usual default): 256 descriptors stay for the database and files.
        assert_eq!(c.global_cap(1024), 768);
        assert_eq!(c.global_cap(4096), 3072);
        assert_eq!(c.global_cap(256), 128);
        assert_eq!(c.global_cap(64), 16);
        assert_eq!(c.global_cap(1 << 20), 4096);
        let c = cfg(&["--max-connections", "50", "--header-read-timeout", "3"]).connections;
        assert_eq!(c.global_cap(1024), 50);
        assert_eq!(c.header_read_timeout, 3);
    }

    #[test]
    fn host_name_comes_from_the_hub_name_or_the_option() {
        assert_eq!(cfg(&[]).host_label("Trạm Phước Minh"), "tram-phuoc-minh");
        assert_eq!(cfg(&["--host-name", "Tram.local"]).host_label("x"), "tram");
    }
}
