//! The hub's configuration: one typed struct with defaults, read from the command line or environment
//! variables (`HUB_MODE`, `HUB_DATA`, `HUB_LISTEN`, `HUB_MDNS`, `HUB_NAME`, `HUB_TIME_LIMITS`).

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
    /// Legal time limit of a procedure in working days, where the commune's practice differs from the
    /// catalogue's default (DOMAIN.md marks some limits "to check"): `PROCEDURE=DAYS`, repeatable, or a
    /// comma-separated list in HUB_TIME_LIMITS, e.g. `marital-status-certificate=5`.
    #[arg(long = "time-limit", env = "HUB_TIME_LIMITS", value_delimiter = ',', value_parser = parse_time_limit)]
    pub time_limits: Vec<(String, u32)>,
}

/// `PROCEDURE=DAYS` for a procedure of the catalogue and 1–365 working days.
pub fn parse_time_limit(s: &str) -> Result<(String, u32), String> {
    let (id, days) = s.split_once('=').ok_or_else(|| {
        format!("expected PROCEDURE=DAYS, e.g. marital-status-certificate=5, not `{s}`")
    })?;
    let id = id.trim();
    if !protocol::catalogue().iter().any(|d| d.id == id) {
        let known: Vec<&str> = protocol::catalogue()
            .iter()
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

pub fn parse_mode(s: &str) -> Result<HubMode, String> {
    s.parse()
        .map_err(|_| format!("mode must be `field` or `office`, not `{s}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
