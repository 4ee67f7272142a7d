//! `hub backup`, `hub backup verify`, `hub backup recovery-key` and `hub restore`: argument parsing, the
//! keys, the summary lines and the exit codes.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{keys, Output, Refused, Unlock, EXIT_BAD_BACKUP, EXIT_OK, EXIT_TARGET_REFUSED};

const EXIT_CODES: &str = "Exit codes: 0 done; 1 error (cannot read or write, no backup key…; nothing \
half-written is left); 2 the backup file is refused (wrong key or passphrase, damaged or truncated, fails a \
check, made by a newer hub); 3 the data directory is refused (a hub is serving it, or it is not empty \
without --force).";

const KEYS_HELP: &str = "Backups are encrypted to public keys whose secrets are not on the hub: a field \
hub's to the office it is paired with and to its recovery key, an office hub's to its recovery key. \
Making one needs no secret. Make the recovery key once: `hub backup recovery-key new`. On a protected \
field hub (data encrypted at rest) the database and key files stay encrypted inside; the hub serving the \
directory, once unlocked, makes the backup for this command (DATA/backup.sock); otherwise give \
HUB_UNLOCK_USER and HUB_UNLOCK_PASSWORD of an officer or admin.";

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, before_help = KEYS_HELP, after_help = EXIT_CODES)]
pub struct BackupArgs {
    #[command(subcommand)]
    pub command: Option<BackupCommand>,
    #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
    pub data: PathBuf,
    /// The backup file to write (`-` for standard output). Written as FILE.partial, synced, then renamed:
    /// a file with the final name is always complete. An existing FILE is never overwritten.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No longer used: new backups are encrypted to keys, not to a passphrase (refused with a message).
    #[arg(long, hide = true)]
    pub passphrase_file: Option<PathBuf>,
    /// Write a plain, unencrypted archive (it holds the hub's private keys and personal data: keep it safe).
    #[arg(long)]
    pub unencrypted: bool,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Check a backup file completely (decrypt, every checksum, database integrity, keys) without
    /// restoring it. A protected field hub's data key is unwrapped from the archive's keyring with the same
    /// key, else HUB_UNLOCK_IDENTITY or HUB_UNLOCK_USER/HUB_UNLOCK_PASSWORD; without it the database and
    /// keys are not checked and the output says PARTLY CHECKED.
    #[command(after_help = EXIT_CODES)]
    Verify {
        /// The backup file (`-` for standard input).
        #[arg(long)]
        from: PathBuf,
        /// The key that opens it: a file with the recovery key, or the office hub's keys/encrypt.age.
        #[arg(long)]
        identity: Option<PathBuf>,
        /// For a backup made before backup keys: the file holding its passphrase.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// The same as `hub restore`.
    Restore(RestoreArgs),
    /// The recovery key: made once at installation, its secret printed once and kept at the office.
    RecoveryKey {
        #[command(subcommand)]
        command: RecoveryKeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum RecoveryKeyCommand {
    /// Make the recovery key: stores its public part in DATA/backup-recovery-key.pub and prints the secret
    /// ONCE (text and QR code). Write it down and keep it at the office, never with the hub.
    New {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// Replace an existing recovery key (backups made until now still need the old one).
        #[arg(long)]
        replace: bool,
    },
    /// Show the public part and the fingerprint of the recovery key, and who this hub's backups go to.
    Show {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
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
    /// The key that opens the backup: a file with the recovery key (as printed at installation), or, at
    /// the office, the office hub's keys/encrypt.age. Without it, on a terminal, the recovery key is asked.
    /// A protected field hub's backup restores protected and locked; its checks need the data key, unwrapped
    /// with this key (else HUB_UNLOCK_IDENTITY or HUB_UNLOCK_USER/HUB_UNLOCK_PASSWORD).
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// For a backup made before backup keys (encrypted to the backup passphrase): the file holding it
    /// (else HUB_BACKUP_PASSPHRASE, else asked).
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
}

impl RestoreArgs {
    fn unlock(&self) -> Unlock {
        Unlock {
            identity: self.identity.clone(),
            passphrase_file: self.passphrase_file.clone(),
        }
    }
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

fn recovery_key(command: RecoveryKeyCommand) -> anyhow::Result<i32> {
    match command {
        RecoveryKeyCommand::New { data, replace } => {
            // The database is not opened: install.sh runs this as root on the service's data directory.
            let k = keys::new_recovery_key(&data, replace)?;
            print!("{}", k.text(&data.display().to_string()));
            println!(
                "The public part is in {}; `hub backup recovery-key show` shows its fingerprint.",
                k.path.display()
            );
            Ok(EXIT_OK)
        }
        RecoveryKeyCommand::Show { data } => {
            match keys::recovery_recipient(&data)? {
                Some(r) => println!(
                    "Recovery key: {r}\nFingerprint: {} (compare with the paper kept at the office)",
                    keys::fingerprint(&r)
                ),
                None => println!(
                    "This hub has no recovery key. Make one: hub backup recovery-key new --data {}",
                    data.display()
                ),
            }
            if let Ok(dir) = crate::shared::datadir::DataDir::open_existing(&data) {
                match keys::plan(&dir) {
                    Ok(p) => {
                        println!("Backups of this hub are encrypted to {}.", p.describe());
                        if let Some(n) = p.note {
                            println!("Note: {n}.");
                        }
                    }
                    Err(e) => println!("Backups of this hub are refused: {e:#}"),
                }
            }
            Ok(EXIT_OK)
        }
    }
}

pub fn backup(args: BackupArgs) -> anyhow::Result<i32> {
    match args.command {
        Some(BackupCommand::Verify {
            from,
            identity,
            passphrase_file,
        }) => {
            return report((|| {
                let r = super::verify(
                    &from,
                    &Unlock {
                        identity,
                        passphrase_file,
                    },
                )?;
                print!("{}", r.text(None));
                Ok(EXIT_OK)
            })());
        }
        Some(BackupCommand::Restore(r)) => return restore(r),
        Some(BackupCommand::RecoveryKey { command }) => return recovery_key(command),
        None => {}
    }
    if args.passphrase_file.is_some() {
        anyhow::bail!(
            "backups are no longer encrypted with a passphrase: they are encrypted to the office key and \
             the recovery key, and making one needs no secret. Drop --passphrase-file (it is still \
             accepted by `hub restore` for backups made before). See `hub backup recovery-key --help`."
        );
    }
    let Some(out) = args.out else {
        anyhow::bail!(
            "give --out FILE (or --out - for standard output), or `hub backup verify --from FILE`"
        );
    };
    if args.unencrypted {
        eprintln!(
            "WARNING: writing an UNENCRYPTED backup: anyone holding the file can read every dossier and \
             use this hub's keys. Keep it locked away."
        );
    } else if std::env::var_os(super::passphrase::ENV).is_some() {
        eprintln!(
            "note: {} is ignored: backups are encrypted to keys now (it still opens older backups)",
            super::passphrase::ENV
        );
    }
    let to_stdout = out.as_os_str() == "-";
    let output = if to_stdout {
        Output::Stdout
    } else {
        Output::File(out)
    };
    report((|| {
        let s = super::backup(&args.data, output, !args.unencrypted, true)?;
        if to_stdout {
            eprintln!("{}", s.line());
        } else {
            println!("{}", s.line());
        }
        if let Some(n) = &s.note {
            eprintln!("note: {n}.");
        }
        Ok(EXIT_OK)
    })())
}

pub fn restore(args: RestoreArgs) -> anyhow::Result<i32> {
    report((|| {
        if args.check {
            let r = super::verify(&args.from, &args.unlock())?;
            print!("{}", r.text(None));
            return Ok(EXIT_OK);
        }
        let r = super::restore(&args.data, &args.from, args.force, &args.unlock())?;
        print!("{}", r.text(Some(&args.data)));
        if r.manifest.mode == "field" {
            println!(
                "What this backup cannot know: dossiers sealed on the hub after {} (the backup holds {} \
                 envelope(s)). Those the office received by sync or batch file are safe at the office; any \
                 others are lost with the old card, and their villagers must be captured again.\n\
                 Until this hub has synced with the office once, it does not seal (it could hand out receipt \
                 codes the office already holds); drafts can be captured meanwhile. An admin who is sure that \
                 no dossier was sealed after this backup may allow sealing at once: `hub chain confirm --data {}`.",
                r.manifest.created_at,
                r.manifest.counts.get("envelopes").copied().unwrap_or(0),
                args.data.display()
            );
        }
        println!(
            "Start the hub on it (`hub serve --data {}`, or `sudo systemctl start outreach-hub`).",
            args.data.display()
        );
        Ok(EXIT_OK)
    })())
}

/// `hub init --recovery-key`: makes the recovery key unless the hub has one, printing its secret once.
pub fn init_recovery_key(dir: &crate::shared::datadir::DataDir) -> anyhow::Result<()> {
    if let Some(r) = keys::recovery_recipient(&dir.path)? {
        println!(
            "The backup recovery key exists already (fingerprint {}); it is not shown again.",
            keys::fingerprint(&r)
        );
        return Ok(());
    }
    let k = keys::new_recovery_key(&dir.path, false)?;
    print!("{}", k.text(&format!("\"{}\"", dir.name)));
    Ok(())
}
