//! The hub's configuration: one typed struct with defaults, read from the command line or environment
//! variables (`HUB_MODE`, `HUB_DATA`, `HUB_LISTEN`, `HUB_MDNS`, `HUB_NAME`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use protocol::HubMode;

use crate::discovery::MdnsMode;

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
}

pub fn parse_mode(s: &str) -> Result<HubMode, String> {
    s.parse()
        .map_err(|_| format!("mode must be `field` or `office`, not `{s}`"))
}
