//! How a field hub syncs with its office: the settings of `hub serve` and `hub sync` (command line and
//! environment), owned by the uploader and flattened into the hub's one configuration struct
//! (`app::config`).

use clap::Args;

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// How a field hub syncs with its office (`hub serve` and `hub sync`).
#[derive(Debug, Clone, Args)]
pub struct SyncSettings {
    /// The office hub's URL (e.g. https://office.example.vn:8443), tried before mDNS and the URL used
    /// when pairing. Needed when the office is reached over the internet.
    #[arg(long, env = "HUB_OFFICE_URL", value_parser = parse_office_url)]
    pub office_url: Option<String>,
    /// Seconds between background syncs.
    #[arg(long, env = "HUB_SYNC_INTERVAL", default_value_t = 300, value_parser = clap::value_parser!(u64).range(5..=86_400))]
    pub sync_interval: u64,
    /// Ciphertext chunks uploaded at once.
    #[arg(long, env = "HUB_SYNC_CONCURRENCY", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=8))]
    pub sync_concurrency: u32,
    /// Upload bandwidth cap in kbit/s (0: no cap).
    #[arg(long, env = "HUB_SYNC_BANDWIDTH_KBPS", default_value_t = 0)]
    pub sync_bandwidth_kbps: u64,
    /// A daily window with no background sync, HH:MM-HH:MM in Vietnam time (e.g. 16:30-18:30, the
    /// end-of-day congestion on commune links); "Sync now" still works, with a warning.
    #[arg(long, env = "HUB_QUIET_HOURS", value_parser = super::policy::QuietHours::parse)]
    pub quiet_hours: Option<super::policy::QuietHours>,
    /// Days an acknowledged dossier's sealed data is kept before it is deleted (its header and receipt
    /// stay). Unacknowledged dossiers are never deleted.
    #[arg(long, env = "HUB_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub retention_days: u32,
    /// Retention in seconds instead of days (tests).
    #[arg(long, env = "HUB_RETENTION_SECONDS", hide = true)]
    pub retention_seconds: Option<u64>,
    /// Background sync with the office (field hub).
    #[arg(long = "sync", env = "HUB_SYNC", value_enum, default_value_t = OnOff::On)]
    pub sync: OnOff,
}

impl SyncSettings {
    /// The retention period in seconds.
    pub fn retention_secs(&self) -> u64 {
        self.retention_seconds
            .unwrap_or(self.retention_days as u64 * 86_400)
    }
}

/// An office URL: `http://` or `https://` with a host, no user information; the trailing `/` dropped.
pub fn parse_office_url(s: &str) -> Result<String, String> {
    let t = s.trim().trim_end_matches('/');
    let rest = t
        .strip_prefix("http://")
        .or_else(|| t.strip_prefix("https://"))
        .ok_or_else(|| format!("the office URL must start with http:// or https://, not `{s}`"))?;
    if rest.is_empty() || rest.contains('@') || rest.contains(char::is_whitespace) {
        return Err(format!("`{s}` is not an office URL (http://HOST:PORT)"));
    }
    Ok(t.to_string())
}
