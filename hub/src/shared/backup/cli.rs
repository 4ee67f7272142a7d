//! `hub backup`, `hub backup verify` and `hub restore`: argument parsing, the passphrase, the summary
//! lines and the exit codes.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{passphrase, Output, Refused, EXIT_BAD_BACKUP, EXIT_OK, EXIT_TARGET_REFUSED};

const EXIT_CODES: &str = "Exit codes: 0 done; 1 error (cannot read or write, no passphrase…; nothing \
half-written is left); 2 the backup file is refused (wrong passphrase, damaged or truncated, fails a check, \
made by a newer hub); 3 the data directory is refused (a hub is serving it, or it is not empty without --force).";

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, after_help = EXIT_CODES)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
    pub data: PathBuf,
    /// The backup file to write (`-` for standard output). Written as FILE.partial, synced, then renamed:
    /// a file with the final name is always complete. An existing FILE is never overwritten.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Read the passphrase from the first line of this file (else HUB_BACKUP_PASSPHRASE, else asked twice).
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// Write a plain, unencrypted archive (it holds the hub's private keys and personal data: keep it safe).
    #[arg(long, conflicts_with = "passphrase_file")]
    pub unencrypted: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Check a backup file completely (decrypt, every checksum, database integrity, keys) without
    /// restoring it.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// The backup file (`-` for standard input).
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
#[command(after_help = EXIT_CODES)]
pub struct RestoreArgs {
    /// The data directory to restore into (refused while a hub serves it).
    #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
    pub data: PathBuf,
    /// The backup file (`-` for standard input).
    #[arg(long)]
    pub from: PathBuf,
    /// Replace a non-empty data directory; the old one is kept as DATA.replaced-<UTC time>.
    #[arg(long)]
    pub force: bool,
    /// Only check the backup (like `hub backup verify`); DATA is not touched.
    #[arg(long)]
    pub check: bool,
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

fn exit_code(e: &anyhow::Error) -> i32 {
    match e.downcast_ref::<Refused>() {
        Some(Refused::Backup(_)) => EXIT_BAD_BACKUP,
        Some(Refused::Target(_)) => EXIT_TARGET_REFUSED,
        None => super::EXIT_ERROR,
    }
}

fn report(r: anyhow::Result<i32>) -> anyhow::Result<i32> {
    match r {
        Ok(c) => Ok(c),
        Err(e) => {
            let code = exit_code(&e);
            if code == super::EXIT_ERROR {
                return Err(e);
            }
            eprintln!("error: {e:#}");
            Ok(code)
        }
    }
}

pub fn backup(args: BackupArgs) -> anyhow::Result<i32> {
    if let Some(BackupCommand::Verify {
        from,
        passphrase_file,
    }) = args.command
    {
        return report((|| {
            let r = super::verify(&from, passphrase_file.as_deref())?;
            print!("{}", r.text(None));
            Ok(EXIT_OK)
        })());
    }
    let Some(out) = args.out else {
        anyhow::bail!(
            "give --out FILE (or --out - for standard output), or `hub backup verify --from FILE`"
        );
    };
    let pass = if args.unencrypted {
        eprintln!(
            "WARNING: writing an UNENCRYPTED backup: anyone holding the file can read every dossier and \
             use this hub's keys. Keep it locked away."
        );
        None
    } else {
        Some(passphrase::obtain(
            args.passphrase_file.as_deref(),
            passphrase::Purpose::Encrypt,
        )?)
    };
    let to_stdout = out.as_os_str() == "-";
    let output = if to_stdout {
        Output::Stdout
    } else {
        Output::File(out)
    };
    report((|| {
        let s = super::backup(&args.data, output, pass, true)?;
        if to_stdout {
            eprintln!("{}", s.line());
        } else {
            println!("{}", s.line());
        }
        Ok(EXIT_OK)
    })())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<i32> {
    report((|| {
        if args.check {
            let r = super::verify(&args.from, args.passphrase_file.as_deref())?;
            print!("{}", r.text(None));
            return Ok(EXIT_OK);
        }
        let r = super::restore(
            &args.data,
            &args.from,
            args.force,
            args.passphrase_file.as_deref(),
        )?;
        print!("{}", r.text(Some(&args.data)));
        println!(
            "Start the hub on it (`hub serve --data {}`, or `sudo systemctl start outreach-hub`).",
            args.data.display()
        );
        Ok(EXIT_OK)
    })())
}
