//! `hub chain`: whether this field hub may seal (`shared::chain_guard`), and an admin's confirmation that
//! a hub restored from a backup may seal at once.

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;

use crate::shared::chain_guard::{self, Standing};
use crate::shared::datadir::DataDir;

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Whether sealed dossiers go into the chain now (exit 0), or wait for a sync (restored, diverged) or
    /// for the office (paused): exit 1, and why.
    Status {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
    },
    /// After `hub restore`: state that no dossier was sealed on this hub after the backup, so it may seal
    /// before its first sync. Wrong, it hands out receipt codes the office already holds (a later sync then
    /// stops sealing). A divergence found by a sync is not cleared by this.
    Confirm {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
    },
}

/// Runs a `hub chain` command; the exit code.
pub fn run(command: ChainCommand) -> anyhow::Result<i32> {
    match command {
        ChainCommand::Status { data } => {
            let dir = field_dir(&data)?;
            if let Some(p) = chain_guard::paused(&dir) {
                println!(
                    "Sealing paused by the office since {}: {}. Keep one machine with this card, sync, then ask \
                     the office to approve this device again.",
                    p.since, p.reason
                );
                return Ok(1);
            }
            Ok(match chain_guard::standing(&dir) {
                Standing::Sealable => {
                    println!("This hub may seal.");
                    0
                }
                Standing::Restored(r) => {
                    println!(
                        "Sealed dossiers wait for a sync: restored on {} from a backup made {} ({} envelope(s)); the \
                         first sync with the office chains them, or `hub chain confirm` at once.",
                        r.restored_at, r.backup_created_at, r.backup_envelopes
                    );
                    1
                }
                Standing::Diverged(d) => {
                    println!(
                        "Sealed dossiers wait for a sync, since {}: {} (office head seq {}, this hub's {}). The next \
                         sync numbers them after the office's chain; see docs/deployment.md, \"A restored or cloned \
                         field hub\".",
                        d.found_at, d.detail, d.office_head_seq, d.local_head_seq
                    );
                    1
                }
            })
        }
        ChainCommand::Confirm { data } => {
            let dir = field_dir(&data)?;
            match chain_guard::standing(&dir) {
                Standing::Diverged(d) => bail!(
                    "a sync found the office holding what this hub does not ({}); that is not confirmed away: \
                     call the commune office",
                    d.detail
                ),
                Standing::Sealable => {
                    println!("Nothing to confirm: this hub may seal.");
                    Ok(0)
                }
                Standing::Restored(_) => {
                    chain_guard::confirm_restored(&dir)?;
                    tracing::warn!("restore confirmed by an admin: sealing resumes before a sync");
                    println!("Confirmed: this hub may seal again.");
                    Ok(0)
                }
            }
        }
    }
}

/// The data directory of a field hub (checked, not opened: a locked hub's database needs no key here).
fn field_dir(data: &std::path::Path) -> anyhow::Result<PathBuf> {
    let dir = DataDir::open_existing(data)?;
    if dir.mode != protocol::HubMode::Field {
        bail!(
            "{} is an office hub; only a field hub seals",
            data.display()
        );
    }
    Ok(dir.path.clone())
}
