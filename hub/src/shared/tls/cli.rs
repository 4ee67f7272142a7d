//! `hub tls show` and `hub tls rotate`: the hub's local certificate authority, read and replaced from the
//! command line (docs/cli.md, docs/operations.md "The hub's certificate authority").

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;

use super::{ca_facts, fingerprint, is_wide, machine_ips, pem_to_der, server_names, Permit};
use crate::shared::backup::lock::{DirLock, LockError};

#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Print the CA's SHA-256 fingerprint (what team phones compare), validity and the names and
    /// networks it may vouch for.
    Show {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
    },
    /// Make a new CA for this hub's names and current networks (the old one kept as tls/ca.old.*) and
    /// its server certificate; prints the new fingerprint. Restart the hub to serve it; team phones
    /// install it again from the join page, and field hubs paired with this office pair again.
    Rotate {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// The hub's host name as `hub serve --host-name` gives it (default: the one in use, else from
        /// the hub's name).
        #[arg(long, env = "HUB_HOST_NAME")]
        host_name: Option<String>,
    },
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
        .unwrap_or_else(|_| unix.to_string())
}

fn permits_line(permits: &[Permit]) -> String {
    permits
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs a `hub tls` command; returns the exit code.
pub fn run(command: TlsCommand) -> anyhow::Result<i32> {
    match command {
        TlsCommand::Show { data } => show(&data),
        TlsCommand::Rotate { data, host_name } => rotate(&data, host_name.as_deref()),
    }
}

fn show(data: &Path) -> anyhow::Result<i32> {
    let dir = data.join("tls");
    let pem = std::fs::read_to_string(dir.join("ca.pem")).with_context(|| {
        format!(
            "no certificate authority in {} yet: `hub serve` makes it at its first start with HTTPS on",
            dir.display()
        )
    })?;
    let der = pem_to_der(&pem).context("the CA certificate file is damaged")?;
    let facts = ca_facts(&der, None)?;
    println!(
        "Certificate authority of this hub ({}):",
        dir.join("ca.pem").display()
    );
    println!("  SHA-256:  {}", fingerprint(&der));
    println!("  subject:  {}", facts.subject);
    println!(
        "  valid:    {} to {}",
        date(facts.not_before),
        date(facts.not_after)
    );
    match &facts.permits {
        None => println!("  vouches for: anything (no name constraints)"),
        Some(p) => println!("  vouches only for: {}", permits_line(p)),
    }
    if facts.permits.as_deref().is_none_or(is_wide) {
        println!(
            "  WARNING: this CA vouches for every .local name and private address: a copy of its key could \
             impersonate any local server to team phones. Run `hub tls rotate`."
        );
    }
    if let Some(names) = super::served_names(data) {
        println!("Server certificate: {}", names.join(", "));
        if let Some(t) = super::server_not_after(data) {
            println!("  valid until {}", date(t));
        }
    }
    if let Ok(old) = std::fs::read_to_string(dir.join("ca.old.pem")) {
        if let Ok(d) = pem_to_der(&old) {
            println!(
                "Previous CA (ca.old.pem, replaced by `hub tls rotate`): {}",
                fingerprint(&d)
            );
        }
    }
    Ok(0)
}

fn rotate(data: &Path, host_name: Option<&str>) -> anyhow::Result<i32> {
    anyhow::ensure!(
        data.join("hub.sqlite").exists(),
        "{} is not a hub data directory",
        data.display()
    );
    // Held while rotating, so a hub cannot start halfway through; a serving hub keeps its old
    // certificates in memory until restarted.
    let (_lock, serving) = match DirLock::acquire_if_present(data) {
        Ok(l) => (l, false),
        Err(LockError::Held { .. }) => (None, true),
        Err(e) => return Err(e.into()),
    };
    let dir = crate::shared::datadir::DataDir::open_existing(data)?;
    let (hub_name, office) = (dir.name.clone(), dir.mode == protocol::HubMode::Office);
    drop(dir);
    let host = match host_name.map(str::trim).filter(|h| !h.is_empty()) {
        Some(h) => {
            let h = h.trim_end_matches('.');
            format!(
                "{}.local",
                crate::shared::discovery::host_label(h.strip_suffix(".local").unwrap_or(h))
            )
        }
        None => super::served_names(data)
            .and_then(|n| n.into_iter().find(|n| n.ends_with(".local")))
            .unwrap_or_else(|| {
                format!("{}.local", crate::shared::discovery::host_label(&hub_name))
            }),
    };
    let names = server_names(&host, &machine_ips());
    let r = super::rotate(data, &hub_name, &names)?;
    if let Some(old) = &r.old_fingerprint {
        println!("Old certificate authority (kept as tls/ca.old.pem and tls/ca.old.key): {old}");
    }
    println!("New certificate authority SHA-256: {}", r.ca.fingerprint);
    println!("  vouches only for: {}", permits_line(&r.permits));
    println!("  server certificate: {}", r.names.join(", "));
    if serving {
        println!(
            "A hub is serving {} with the old certificate: restart it to serve the new one \
             (on an installed kit: `sudo systemctl restart outreach-hub`).",
            data.display()
        );
    } else {
        println!("The hub serves the new certificate from its next start.");
    }
    println!(
        "Then on every team phone: remove the old \"Trạm hồ sơ local CA\" certificate, install the new one \
         from the join page (#/join), and check that its SHA-256 is the one above."
    );
    if office {
        println!(
            "Field hubs paired with this office pair again (a new pairing code): they pinned the old \
             certificate and refuse the new one until then."
        );
    }
    Ok(0)
}
