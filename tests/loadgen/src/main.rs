//! `office-load`: the issue-6 scale check. `generate` makes field devices and their batch files through the
//! hub library's own code paths, `import` brings them into an office, `measure` times the office's pages
//! and exports over HTTP. `tests/scale/office-scale.sh` runs the three against a release hub.

mod data;
mod generate;
mod import;
mod measure;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "office-load",
    about = "Scale check of the commune office (issue 6)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Make field devices with sealed dossiers and their batch files.
    Generate {
        /// The office's key card (`hub key show --data OFFICE`).
        #[arg(long)]
        office_card: PathBuf,
        #[arg(long, default_value_t = 50)]
        devices: usize,
        #[arg(long, default_value_t = 2000)]
        per_device: usize,
        /// Output folder: field/, cards/, batches/, held-back/.
        #[arg(long)]
        out: PathBuf,
        /// A JPEG to attach instead of the built-in small one.
        #[arg(long)]
        photo: Option<PathBuf>,
        /// Worker threads (devices in parallel).
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Delete each field data directory once its batches are written.
        #[arg(long)]
        drop_field: bool,
    },
    /// Trust the generated devices and import every batch file into an office data directory.
    Import {
        #[arg(long)]
        office_data: PathBuf,
        #[arg(long)]
        batches: PathBuf,
        /// Key cards of the devices (default: BATCHES/../cards).
        #[arg(long)]
        cards: Option<PathBuf>,
    },
    /// Time the office's pages and exports over HTTP.
    Measure {
        #[arg(long)]
        base: String,
        #[arg(long, default_value = "clerk")]
        user: String,
        #[arg(long, env = "OFFICE_LOAD_PASSWORD")]
        password: String,
        #[arg(long, default_value_t = 15)]
        runs: usize,
        #[arg(long, default_value = "tests/scale/paths.txt")]
        paths: PathBuf,
        /// The hub's process id, to report its memory (VmRSS, VmHWM).
        #[arg(long)]
        hub_pid: Option<u32>,
        /// Also write the results as JSON.
        #[arg(long)]
        json_out: Option<PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate {
            office_card,
            devices,
            per_device,
            out,
            photo,
            threads,
            drop_field,
        } => generate::run(generate::Options {
            office_card,
            devices,
            per_device,
            out,
            photo,
            threads,
            drop_field,
        }),
        Command::Import {
            office_data,
            batches,
            cards,
        } => import::run(import::Options {
            office_data,
            batches,
            cards,
        }),
        Command::Measure {
            base,
            user,
            password,
            runs,
            paths,
            hub_pid,
            json_out,
        } => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(measure::run(measure::Options {
                base,
                user,
                password,
                runs,
                paths,
                hub_pid,
                json_out,
            })),
    }
}
