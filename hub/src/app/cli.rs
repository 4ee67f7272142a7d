//! The `hub` command line: `serve` and the administration commands. Every command except `serve` works
//! while a hub is serving the same data directory (SQLite WAL with a busy timeout).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};

use crate::app::config::ServeConfig;
use crate::shared::auth::{self, Role};
use crate::shared::datadir::DataDir;
use crate::shared::store::write_tx;
use crate::shared::trust::{self, TrustOutcome};

#[derive(Debug, Parser)]
#[command(
    name = "hub",
    version = concat!(env!("CARGO_PKG_VERSION"), " (built ", env!("HUB_BUILD_DATE"), ")"),
    about = "Outreach-kit hub: capture and seal dossiers in the field, verify them at the commune office."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub (web app and API).
    Serve(Box<ServeConfig>),
    /// Create a data directory (keys, database) without serving; prints the device id.
    Init {
        #[arg(long, env = "HUB_MODE", value_parser = crate::app::config::parse_mode)]
        mode: Option<protocol::HubMode>,
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[arg(long, env = "HUB_NAME")]
        name: Option<String>,
        /// Also make the backup recovery key (unless the hub has one) and print its secret once; see
        /// `hub backup recovery-key new`.
        #[arg(long)]
        recovery_key: bool,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Show this hub's keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Trust another hub's key card (field hubs trust their office; the office trusts its field hubs).
    Trust {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// The key card file written by `hub key show` on the other hub.
        file: PathBuf,
    },
    /// Batch files for carrying sealed dossiers on a USB stick.
    Batch {
        #[command(subcommand)]
        command: BatchCommand,
    },
    /// Sync with the paired office now (field hub): one run with a progress bar; exits 1 on failure.
    Sync {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// Where to look for the office over mDNS: all interfaces, loopback only (tests), or off.
        #[arg(long, env = "HUB_MDNS", value_enum, default_value_t = crate::shared::discovery::MdnsMode::All)]
        mdns: crate::shared::discovery::MdnsMode,
        #[command(flatten)]
        settings: crate::field::uploader::settings::SyncSettings,
    },
    /// Receipts given to villagers.
    Receipt {
        #[command(subcommand)]
        command: ReceiptCommand,
    },
    /// The list of provinces and communes/wards (import a dataset file, list, search).
    Units {
        #[command(subcommand)]
        command: crate::shared::units::cli::UnitsCommand,
    },
    /// Office: open a one-time pairing code (10 minutes) and print it with its QR for a field hub to scan.
    PairingCode {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// The office address the field hub will call (default: this machine's first LAN address, port of
        /// HUB_LISTEN or 8080).
        #[arg(long)]
        url: Option<String>,
        /// How long the code stays open, in seconds (tests).
        #[arg(long, default_value_t = crate::office::devices::store::CODE_TTL_SECS, hide = true)]
        ttl: i64,
    },
    /// Field: pair with the office by its QR text or its address and code (works while the hub runs).
    Pair {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// The office's QR text (`OKP1:http://…#XXXX-XXXX-XXXX-XXXX-X`).
        #[arg(long, conflicts_with_all = ["url", "code"])]
        qr: Option<String>,
        /// The office address, e.g. http://192.168.1.20:8080 (with --code).
        #[arg(long, requires = "code")]
        url: Option<String>,
        /// The pairing code shown by the office (with --url).
        #[arg(long, requires = "url")]
        code: Option<String>,
    },
    /// Office: the paired field devices; approve or revoke one.
    Devices {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[command(subcommand)]
        command: Option<DevicesCommand>,
    },
    /// Office: the holiday list that deadlines skip (besides weekends). None is built in: enter the
    /// year's official list (Tết and Hùng Kings' day move with the lunar calendar).
    Holidays {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data", global = true)]
        data: PathBuf,
        #[command(subcommand)]
        command: Option<HolidaysCommand>,
    },
    /// Back up the data directory (database, keys, certificates) into one encrypted file, even while the
    /// hub serves; `hub backup verify --from FILE` checks a backup file.
    Backup(crate::shared::backup::cli::BackupArgs),
    /// Restore a backup into a data directory (refused while a hub serves it).
    Restore(crate::shared::backup::cli::RestoreArgs),
    /// The hub's local HTTPS certificate authority: show its fingerprint and constraints, or rotate it.
    Tls {
        #[command(subcommand)]
        command: crate::shared::tls::cli::TlsCommand,
    },
    /// Whether this field hub may seal (after a restore, or a chain found diverged from the office's),
    /// and an admin's confirmation after a restore.
    Chain {
        #[command(subcommand)]
        command: crate::field::seal::chain_cli::ChainCommand,
    },
    /// Receipt printers (field hub): the USB printers found and the profiles, or print the test page.
    Printer {
        #[command(subcommand)]
        command: crate::field::thermal::cli::PrinterCommand,
    },
    /// Procedure packages authored as sheets (docs/procedures.md): check a source, build the package,
    /// or write a package's sheets.
    Procedure {
        #[command(subcommand)]
        command: crate::office::authoring::cli::ProcedureCommand,
    },
    /// Encryption at rest of a field hub: who can unlock it (`status`), and the office's recovery of a
    /// hub whose officers forgot their passwords (`recover`).
    Vault {
        #[command(subcommand)]
        command: crate::app::vault::VaultCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum HolidaysCommand {
    /// List the holidays (the default).
    List,
    /// Add (or rename) one day off: `hub holidays add 2027-02-06 "Tết Nguyên đán"`.
    Add { date: String, name: String },
    /// Remove one day off.
    Remove { date: String },
    /// Add every `date,name` line of a CSV file (UTF-8; a header line `date,name` is skipped).
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// List the field devices and their status (the default).
    List,
    /// Approve a device (its uploads are accepted from now on).
    Approve { id: String },
    /// Revoke a device: entirely (its uploads are refused from now on, at once), or with --from-seq from a
    /// sequence number (envelopes below it that chain correctly are still accepted, the rest quarantined).
    Revoke {
        id: String,
        #[arg(long)]
        reason: String,
        /// The first sequence number no longer accepted, or `next` for the last one received + 1 (the
        /// device reported lost or stolen). Without it: a full revocation.
        #[arg(long, value_name = "N|next")]
        from_seq: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password comes from HUB_PASSWORD or is asked for.
    Add {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// admin, officer or volunteer on a field hub; admin or clerk on an office hub.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
    },
    /// List the accounts with their state (disabled, must change password).
    List {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
    },
    /// Disable an account: it cannot log in, and every session of it ends at once (also on a running
    /// hub). The last enabled admin cannot be disabled.
    Disable {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Re-enable a disabled account (its password is unchanged).
    Enable {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Set an account's password (e.g. an admin who forgot theirs); the password comes from HUB_PASSWORD
    /// or is asked for. Every session of the account ends.
    Passwd {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Reset an account's password to a temporary one (HUB_PASSWORD or asked for) that the user must
    /// change at the next login. Every session of the account ends.
    Reset {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// End every session of an account ("log out everywhere"), also on a running hub.
    Logout {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print this hub's public key card (safe to share; another hub reads it with `hub trust`).
    Show {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReceiptCommand {
    /// Check a receipt QR offline (signed by this hub or by a hub it trusts); exits 2 if it does not verify.
    Verify {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// The QR text (`OKR1:{…}`), or `-` to read it from standard input.
        qr: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BatchCommand {
    /// Write the sealed envelopes of this field hub to a batch file.
    Export {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// First sequence number to include (default: all).
        #[arg(long, default_value_t = 1)]
        from_seq: u64,
    },
    /// Verify a batch file envelope by envelope and store it on this office hub (a bad envelope is
    /// quarantined, the others stored); writes the signed acknowledgement file for the field hub.
    Import {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// Print the report as JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Where to write the acknowledgement (default: `ack-<batch_id>.json` next to the batch file).
        #[arg(long)]
        ack_out: Option<PathBuf>,
        file: PathBuf,
    },
    /// Import the office's acknowledgement file (ack-<batch>.json) on this field hub: verified like an ack
    /// over the network; marks exactly the dossiers it covers as uploaded.
    ImportAck {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        file: PathBuf,
    },
}

/// Exit code of a refused batch import.
pub const EXIT_REFUSED: i32 = 2;
/// Exit code of an accepted batch import with envelopes quarantined or missing (the others were stored).
pub const EXIT_PARTIAL: i32 = 3;

/// Runs a command other than `serve`; returns the process exit code.
pub fn run(command: Command) -> anyhow::Result<i32> {
    match command {
        Command::Serve(_) => unreachable!("serve is run by main"),
        Command::Init {
            mode,
            data,
            name,
            recovery_key,
        } => {
            let dir = DataDir::open_or_create(&data, mode, name.as_deref())?;
            println!(
                "{} hub \"{}\" ready in {} (device {}).",
                dir.mode,
                dir.name,
                dir.path.display(),
                dir.keys.device_id
            );
            if recovery_key {
                crate::shared::backup::cli::init_recovery_key(&dir)?;
            }
            Ok(0)
        }
        Command::User {
            command: UserCommand::Add { data, role, name },
        } => {
            let dir = DataDir::open_existing(&data)?;
            let role = Role::parse(&role)
                .filter(|r| r.exists_in(dir.mode))
                .with_context(|| format!("role `{role}` does not exist on a {} hub", dir.mode))?;
            auth::routes::check_name(&name).map_err(|e| anyhow::anyhow!(e.message_en))?;
            let (password, hash) = new_password(&name)?;
            let created = dir.db.call_sync(|c| {
                let tx = write_tx(c)?;
                if auth::store::user_exists(&tx, &name)? {
                    return Ok(None);
                }
                let u = auth::store::insert_user(&tx, &name, role, &hash)?;
                if let Some(acc) = auth::store::account(&tx, &u.id)? {
                    auth::store::audit_account(&tx, CLI_ACTOR, "user_created", &acc, 0)?;
                }
                tx.commit()?;
                Ok(Some(u))
            })?;
            if let Some(u) = &created {
                keep_protection(&dir, &u.id, &u.name, u.role, &hash, &password)?;
            }
            match created {
                Some(u) => println!("Added {} `{}` ({}).", u.role.as_str(), u.name, u.id),
                None => bail!("a user named `{name}` already exists; nothing was changed"),
            }
            Ok(0)
        }
        Command::User { command } => user_lifecycle(command),
        Command::Key {
            command: KeyCommand::Show { data },
        } => {
            let dir = DataDir::open_existing(&data)?;
            print!("{}", dir.key_card()?.to_text());
            Ok(0)
        }
        Command::Trust { data, file } => {
            let dir = DataDir::open_existing(&data)?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let card = protocol::KeyCard::parse(&text).with_context(|| {
                format!(
                    "{} is not a valid key card (or it was altered)",
                    file.display()
                )
            })?;
            let outcome = dir.db.call_sync(|c| {
                let tx = write_tx(c)?;
                let r = trust::trust_card(&tx, dir.mode, &dir.keys.device_id, &card, &text);
                if r.is_ok() {
                    tx.commit()?;
                }
                Ok(r)
            })??;
            match outcome {
                TrustOutcome::Added => println!(
                    "Trusted {} hub \"{}\" (device {}).",
                    card.mode, card.name, card.device_id
                ),
                TrustOutcome::AlreadyTrusted => {
                    println!("{} hub \"{}\" was already trusted.", card.mode, card.name)
                }
            }
            if dir.mode == protocol::HubMode::Field {
                let n = dir.db.call_sync(|c| {
                    crate::field::seal::engine::protect_pending(
                        c,
                        &dir.keys.device,
                        crate::shared::chain_guard::place(&dir.path),
                    )
                })?;
                if n > 0 {
                    println!("Protected {n} dossier(s) sealed before this office key was known: they are now encrypted to the office.");
                }
            }
            Ok(0)
        }
        Command::Batch {
            command:
                BatchCommand::Export {
                    data,
                    out,
                    from_seq,
                },
        } => {
            let dir = DataDir::open_existing(&data)?;
            let s = crate::field::uploader::batch_file::export(&dir, &out, from_seq)?;
            println!(
                "Wrote batch {} to {}: {} envelope(s), seq {}–{}, {} bytes of sealed data.",
                s.batch_id,
                s.path.display(),
                s.envelopes,
                s.first_seq,
                s.last_seq,
                s.bytes
            );
            if s.not_yet_protected > 0 {
                println!(
                    "Note: {} sealed dossier(s) are not in the file because they are not yet protected (no office key trusted).",
                    s.not_yet_protected
                );
            }
            Ok(0)
        }
        Command::Batch {
            command:
                BatchCommand::Import {
                    data,
                    json,
                    ack_out,
                    file,
                },
        } => {
            let dir = DataDir::open_existing(&data)?;
            if dir.mode != protocol::HubMode::Office {
                bail!(
                    "only an office hub imports batches; {} is a field hub",
                    data.display()
                );
            }
            let identity = dir.keys.age_identity().to_string();
            let office = &dir.keys.device;
            let report = dir.db.call_sync(|c| {
                crate::office::intake::batch_import::import(c, &identity, office, &file)
            })?;
            let mut ack_path = None;
            if let (Some(ack), Some(batch_id)) = (&report.ack, &report.batch_id) {
                let bytes = dir
                    .db
                    .call_sync(|c| crate::office::intake::ack::usb_ack_file(c, office, ack))?;
                let path = ack_out.unwrap_or_else(|| {
                    file.parent()
                        .unwrap_or(std::path::Path::new("."))
                        .join(format!("ack-{batch_id}.json"))
                });
                crate::office::intake::ack::write_file(&path, &bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                ack_path = Some(path);
            }
            if json {
                let mut v = serde_json::to_value(&report)?;
                v["ack_file"] =
                    serde_json::json!(ack_path.as_ref().map(|p| p.display().to_string()));
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", report.to_text());
                if let Some(p) = &ack_path {
                    println!(
                        "Acknowledgement written to {} — import it on the field hub (`hub batch import-ack`).",
                        p.display()
                    );
                }
            }
            Ok(if !report.accepted {
                EXIT_REFUSED
            } else if report.complete() {
                0
            } else {
                EXIT_PARTIAL
            })
        }
        Command::Batch {
            command: BatchCommand::ImportAck { data, file },
        } => {
            let dir = DataDir::open_existing(&data)?;
            if dir.mode != protocol::HubMode::Field {
                bail!(
                    "only a field hub imports acknowledgement files; {} is an office hub",
                    data.display()
                );
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let r = dir.db.call_sync(|c| {
                Ok(crate::field::uploader::ackfile::import(
                    c, &dir.keys, &dir.path, &bytes,
                ))
            })?;
            match r {
                Ok(r) => {
                    println!(
                        "Acknowledgement of batch {} from {}: {} envelope(s) acknowledged, {} newly marked uploaded, {} set aside by the office, {} missing.",
                        r.batch_id, r.office, r.acked_in_file, r.marked.newly_acked, r.quarantined, r.missing.len()
                    );
                    if r.marked.alarms > 0 {
                        println!("{} new alarm(s): see the sync page.", r.marked.alarms);
                    }
                    if !r.packages_new.is_empty() {
                        println!(
                            "New procedure package(s) installed: {}.",
                            r.packages_new.join(", ")
                        );
                    }
                    for why in &r.packages_refused {
                        println!("Procedure package refused: {why}");
                    }
                    if let Some(s) = &r.settled {
                        println!(
                            "Chain settled on the office's holdings: rechained={} placed={}; the next batch file carries them.",
                            s.rechained, s.placed
                        );
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("error: {}", e.plain().message_en);
                    Ok(EXIT_REFUSED)
                }
            }
        }
        Command::Backup(args) => crate::shared::backup::cli::backup(args),
        Command::Restore(args) => crate::shared::backup::cli::restore(args),
        Command::Sync {
            data,
            mdns,
            settings,
        } => crate::field::uploader::cli::sync(&data, mdns, settings),
        Command::Receipt {
            command: ReceiptCommand::Verify { data, qr },
        } => {
            let dir = DataDir::open_existing(&data)?;
            let text = if qr == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
            } else {
                qr
            };
            let keys = &dir.keys;
            match dir
                .db
                .call_sync(|c| crate::field::seal::receipt_check::verify(c, keys, &text))?
            {
                Ok(v) => {
                    let r = &v.receipt;
                    let facts = format!(
                        "receipt {} — tracking number {}, signed by {}, procedure {} v{}, sealed on {}.",
                        r.code,
                        r.tracking_number(),
                        v.signer,
                        r.procedure.id,
                        r.procedure.version,
                        r.date
                    );
                    // At an office, a receipt of a revoked device stands by its dossier, not its signature.
                    let standing = if dir.mode == protocol::HubMode::Office {
                        let r2 = r.clone();
                        dir.db.call_sync(move |c| {
                            crate::office::devices::receipts::revoked_standing(c, &r2)
                        })?
                    } else {
                        None
                    };
                    match standing {
                        None => {
                            println!("VALID {facts}");
                            Ok(0)
                        }
                        Some(s) => {
                            println!("{}", s.to_text());
                            println!("  The signature checks out: {facts}");
                            Ok(if s.accepted() { 0 } else { 2 })
                        }
                    }
                }
                Err(why) => {
                    println!("NOT VALID: {why}");
                    Ok(2)
                }
            }
        }
        Command::Units { command } => crate::shared::units::cli::run(command),
        Command::PairingCode { data, url, ttl } => pairing_code(&data, url, ttl),
        Command::Pair {
            data,
            qr,
            url,
            code,
        } => pair(&data, qr, url, code),
        Command::Holidays { data, command } => {
            holidays(&data, command.unwrap_or(HolidaysCommand::List))
        }
        Command::Devices { data, command } => {
            devices(&data, command.unwrap_or(DevicesCommand::List))
        }
        Command::Tls { command } => crate::shared::tls::cli::run(command),
        Command::Vault { command } => crate::app::vault::run(command),
        Command::Procedure { command } => crate::office::authoring::cli::run(command),
        Command::Printer { command } => crate::field::thermal::cli::run(command),
        Command::Chain { command } => crate::field::seal::chain_cli::run(command),
    }
}

fn pairing_code(data: &std::path::Path, url: Option<String>, ttl: i64) -> anyhow::Result<i32> {
    use crate::office::devices::store;
    let dir = DataDir::open_existing(data)?;
    if dir.mode != protocol::HubMode::Office {
        bail!(
            "only an office hub opens pairing codes; {} is a field hub",
            data.display()
        );
    }
    let base = match url {
        Some(u) => u.trim().trim_end_matches('/').to_string(),
        None => {
            let listen: std::net::SocketAddr = std::env::var("HUB_LISTEN")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| ([0, 0, 0, 0], 8080).into());
            crate::shared::terminal::urls(listen)[0]
                .trim_end_matches('/')
                .to_string()
        }
    };
    let probe = protocol::PairingCode::from_bytes([0; protocol::PAIRING_CODE_BYTES]);
    protocol::PairingQr::new(base.clone(), probe)
        .with_context(|| format!("{base} cannot go in a pairing QR"))?;
    let admin = dir.db.call_sync(|c| store::first_admin(c))?.context(
        "create an admin first (`hub user add --role admin`): a code is opened in an admin's name",
    )?;
    let new = dir.db.call_sync(|c| store::open_code(c, &admin, ttl))?;
    let qr = protocol::PairingQr::new(base, new.code.clone())?;
    println!("Pairing code: {}", new.code);
    println!("Office address: {}", qr.base_url);
    println!("Valid until {} (one use).", new.expires_at);
    println!();
    print!("{}", crate::shared::terminal::qr(&qr.to_text()));
    println!();
    println!("QR text: {}", qr.to_text());
    println!("On the field hub: Pairing page → scan this QR, or type the address and the code (or `hub pair --qr '…'`).");
    Ok(0)
}

fn pair(
    data: &std::path::Path,
    qr: Option<String>,
    url: Option<String>,
    code: Option<String>,
) -> anyhow::Result<i32> {
    let dir = DataDir::open_existing(data)?;
    if dir.mode != protocol::HubMode::Field {
        bail!(
            "only a field hub pairs with an office; {} is an office hub",
            data.display()
        );
    }
    let target =
        crate::field::pairing::client::target(qr.as_deref(), url.as_deref(), code.as_deref())
            .map_err(|e| anyhow::anyhow!(e.message_en))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let paired = rt
        .block_on(crate::field::pairing::client::pair_with_office(
            &dir.db, &dir.keys, &dir.name, &target,
        ))
        .map_err(|e| anyhow::anyhow!("{} ({})", e.message_en, e.code))?;
    println!(
        "Paired with office \"{}\" (device {}, key {}) at {}.",
        paired.office.name, paired.office.device_id, paired.office.fingerprint, target.base_url
    );
    if paired.protected_now > 0 {
        println!(
            "Protected {} dossier(s) sealed before this office key was known: they are now encrypted to the office.",
            paired.protected_now
        );
    }
    match paired.device_status {
        protocol::DeviceStatus::PendingApproval => {
            println!("Waiting for a clerk at the office to approve this device (Devices page).")
        }
        protocol::DeviceStatus::Approved => println!("This device is approved by the office."),
        protocol::DeviceStatus::Revoked => {
            println!("The office has REVOKED this device: uploads will be refused.")
        }
    }
    Ok(0)
}

fn devices(data: &std::path::Path, command: DevicesCommand) -> anyhow::Result<i32> {
    use crate::office::devices::store;
    let dir = DataDir::open_existing(data)?;
    if dir.mode != protocol::HubMode::Office {
        bail!(
            "devices are managed on the office hub; {} is a field hub",
            data.display()
        );
    }
    match command {
        DevicesCommand::List => {
            let list = dir.db.call_sync(|c| store::list_devices(c))?;
            if list.is_empty() {
                println!("No field device is paired.");
            }
            for d in list {
                println!(
                    "{}  {:<17} {:<20} key {}  paired {} by {}{}{}{}",
                    d.device_id,
                    d.status.as_str(),
                    d.name,
                    d.fingerprint,
                    d.paired_at,
                    d.paired_via,
                    d.revoked_from_seq
                        .map(|n| format!("  from seq {n}"))
                        .unwrap_or_default(),
                    d.last_received_seq
                        .map(|n| format!(
                            "  last received seq {n} at {}",
                            d.last_received_at.as_deref().unwrap_or("?")
                        ))
                        .unwrap_or_default(),
                    d.status_note
                        .map(|n| format!("  ({n})"))
                        .unwrap_or_default()
                );
            }
        }
        DevicesCommand::Approve { id } => {
            if !dir.db.call_sync(|c| {
                store::set_device_status(c, &id, protocol::DeviceStatus::Approved, None, None)
            })? {
                bail!("no field device {id}");
            }
            println!("Approved {id}.");
        }
        DevicesCommand::Revoke {
            id,
            reason,
            from_seq,
        } => {
            let reason = reason.trim().to_string();
            if reason.is_empty() || reason.chars().count() > 500 {
                bail!("give a reason (1 to 500 characters) with --reason");
            }
            let id2 = id.clone();
            let last = dir.db.call_sync(move |c| store::last_received(c, &id2))?;
            let from = match from_seq.as_deref().map(str::trim) {
                None => None,
                Some("next") => Some(last.as_ref().map(|(s, _)| s + 1).unwrap_or(1)),
                Some(n) => match n.parse::<u64>() {
                    Ok(n) if (1..=protocol::MAX_INTEGER).contains(&n) => Some(n),
                    _ => bail!("--from-seq takes a sequence number from 1 up, or `next`"),
                },
            };
            match &last {
                Some((seq, at)) => println!("Last envelope received from {id}: seq {seq} at {at}."),
                None => println!("No envelope of {id} has been received yet."),
            }
            let shown = id.clone();
            let Some(done) = dir
                .db
                .call_sync(move |c| store::revoke(c, &id, from, None, &reason))?
            else {
                bail!("no field device {shown}");
            };
            match done.revoked_from_seq {
                Some(n) => {
                    println!(
                        "Revoked from seq {n}: envelopes below {n} that chain correctly are still accepted (by network and by batch file); those at or above are quarantined (device_revoked)."
                    );
                    if done.held_at_or_above > 0 {
                        println!(
                            "WARNING: {} envelope(s) at or above seq {n} were received before this revocation; they stay stored: check them with the team.",
                            done.held_at_or_above
                        );
                    }
                }
                None => println!(
                    "Revoked entirely: every upload of this device is refused from now on."
                ),
            }
        }
    }
    Ok(0)
}

/// `hub holidays …` (office): the days off deadlines skip; every change is audited as the hub (CLI) and
/// moves the deadlines of open dossiers.
fn holidays(data: &std::path::Path, command: HolidaysCommand) -> anyhow::Result<i32> {
    use crate::office::casework::{deadline, routes::parse_holiday, store};
    use crate::shared::audit::Actor;
    let dir = DataDir::open_existing(data)?;
    if dir.mode != protocol::HubMode::Office {
        bail!(
            "holidays are kept on the office hub; {} is a field hub",
            data.display()
        );
    }
    let actor = Actor {
        id: None,
        name: "hub holidays (CLI)",
    };
    let parse = |date: &str, name: &str| {
        parse_holiday(
            &serde_json::Value::String(date.to_owned()),
            &serde_json::Value::String(name.to_owned()),
        )
        .map_err(|errs| {
            anyhow::anyhow!(
                "{}",
                errs.iter()
                    .map(|e| format!("{}: {}", e.field, e.message_en))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })
    };
    match command {
        HolidaysCommand::List => {
            let list = dir.db.call_sync(|c| store::list_holidays(c))?;
            if list.is_empty() {
                println!("No holiday is listed: deadlines skip weekends only. Add the year's official days off.");
            }
            for h in list {
                println!("{}  {}", h.date, h.name);
            }
        }
        HolidaysCommand::Add { date, name } => {
            let day = parse(&date, &name)?;
            let (n, moved) = dir
                .db
                .call_sync(move |c| store::add_holidays(c, actor, &[day]))?;
            println!(
                "{} {date}; {moved} deadline(s) moved.",
                if n == 0 { "Already listed:" } else { "Added" }
            );
        }
        HolidaysCommand::Remove { date } => {
            let day = deadline::parse_date(date.trim())
                .ok_or_else(|| anyhow::anyhow!("{date} is not a date (YYYY-MM-DD)"))?;
            match dir
                .db
                .call_sync(move |c| store::remove_holiday(c, actor, day))?
            {
                Some(moved) => println!("Removed {date}; {moved} deadline(s) moved."),
                None => bail!("{date} is not in the holiday list"),
            }
        }
        HolidaysCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let mut days = Vec::new();
            for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || (i == 0 && line.to_ascii_lowercase().starts_with("date")) {
                    continue;
                }
                let (d, n) = line
                    .split_once(',')
                    .ok_or_else(|| anyhow::anyhow!("line {}: expected `date,name`", i + 1))?;
                let n = n.trim().trim_matches('"');
                days.push(parse(d.trim(), n).map_err(|e| anyhow::anyhow!("line {}: {e}", i + 1))?);
            }
            let count = days.len();
            let (n, moved) = dir
                .db
                .call_sync(move |c| store::add_holidays(c, actor, &days))?;
            println!("Read {count} day(s); {n} added or renamed; {moved} deadline(s) moved.");
        }
    }
    Ok(0)
}

/// Who the audit trail names for account changes made on the command line.
const CLI_ACTOR: crate::shared::audit::Actor<'static> = crate::shared::audit::Actor {
    id: None,
    name: "hub user (CLI)",
};

/// A new password for `name` from HUB_PASSWORD, or asked for twice; checked like the app's (8–256
/// characters) and hashed with argon2id. Returned with its hash: a field hub's encryption at rest wraps its
/// data key under it (`shared::unlock`).
fn new_password(name: &str) -> anyhow::Result<(String, String)> {
    let password = match std::env::var("HUB_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let p = rpassword::prompt_password(format!("Password for {name}: "))?;
            let again = rpassword::prompt_password("Repeat it: ")?;
            if p != again {
                bail!("the two passwords differ; nothing was changed");
            }
            p
        }
    };
    auth::routes::check_password(&password).map_err(|e| anyhow::anyhow!(e.message_en))?;
    let hash = auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
    Ok((password, hash))
}

/// Keeps a field hub's encryption at rest in step with a password set on the command line (see
/// `shared::unlock::after_password`).
fn keep_protection(
    dir: &DataDir,
    id: &str,
    name: &str,
    role: Role,
    hash: &str,
    password: &str,
) -> anyhow::Result<()> {
    // A serving hub has the plaintext database open: only it may encrypt it (at this user's next login
    // there); a command protecting it underneath would leave the server writing to a removed file.
    if !crate::shared::vault::is_protected(&dir.path)
        && crate::shared::unlock::served_by_another(&dir.path)?
    {
        if dir.mode == protocol::HubMode::Field
            && crate::shared::unlock::role_unlocks(role.as_str())
        {
            eprintln!(
                "note: the hub serving {} encrypts its data at rest when `{name}` first logs in there",
                dir.path.display()
            );
        }
        return Ok(());
    }
    let key = crate::shared::vault::keyring::name_key(name);
    crate::shared::unlock::after_password(
        &dir.db,
        dir.mode,
        &dir.name,
        &crate::shared::vault::keyring::Holder {
            user_id: id,
            name_key: &key,
            role: role.as_str(),
            password_hash: hash,
        },
        password,
    )
}

/// `hub user list|disable|enable|passwd|reset|logout`: account lifecycle on the data directory, also
/// while the hub serves it (sessions are read from the store on every request, so ended sessions are
/// refused by the running hub at once). Each change is in the audit trail as `hub user (CLI)`.
fn user_lifecycle(command: UserCommand) -> anyhow::Result<i32> {
    use auth::store::{self as users, AccountOut, Refusal};
    let (data, name) = match &command {
        UserCommand::Add { .. } => unreachable!("handled in run"),
        UserCommand::List { data } => (data, None),
        UserCommand::Disable { data, name }
        | UserCommand::Enable { data, name }
        | UserCommand::Passwd { data, name }
        | UserCommand::Reset { data, name }
        | UserCommand::Logout { data, name } => (data, Some(name.as_str())),
    };
    let dir = DataDir::open_existing(data)?;
    let Some(name) = name else {
        let list = dir.db.call_sync(|c| users::list_accounts(c))?;
        for a in list {
            let mut state = Vec::new();
            if a.disabled {
                state.push("disabled");
            }
            if a.must_change_password {
                state.push("must change password");
            }
            let state = if state.is_empty() {
                String::new()
            } else {
                format!("  [{}]", state.join(", "))
            };
            println!("{:<10} {}{state}", a.role.as_str(), a.name);
        }
        return Ok(0);
    };
    let find = |c: &mut rusqlite::Connection| users::account_by_name(c, name);
    let Some(acc) = dir.db.call_sync(find)? else {
        bail!("no account is named `{name}`; nothing was changed (see `hub user list`)");
    };
    let (password, hash) = match &command {
        UserCommand::Passwd { .. } | UserCommand::Reset { .. } => {
            let (p, h) = new_password(&acc.name)?;
            (Some(p), Some(h))
        }
        _ => (None, None),
    };
    let id = acc.id.clone();
    let done: Result<(AccountOut, usize, &str), Refusal> = dir.db.call_sync(|c| {
        let tx = write_tx(c)?;
        let r = match &command {
            UserCommand::Disable { .. } | UserCommand::Enable { .. } => {
                let off = matches!(command, UserCommand::Disable { .. });
                users::set_disabled(&tx, &id, off, None)?
                    .map(|(a, n)| (a, n, if off { "user_disabled" } else { "user_enabled" }))
            }
            UserCommand::Passwd { .. } | UserCommand::Reset { .. } => {
                let reset = matches!(command, UserCommand::Reset { .. });
                users::set_password(&tx, &id, hash.as_deref().unwrap_or_default(), reset)?;
                let n = users::end_sessions(&tx, &id, None)?;
                let a = AccountOut {
                    must_change_password: reset,
                    ..acc.clone()
                };
                Ok((
                    a,
                    n,
                    if reset {
                        "password_reset"
                    } else {
                        "password_changed"
                    },
                ))
            }
            _ => Ok((
                acc.clone(),
                users::end_sessions(&tx, &id, None)?,
                "sessions_ended",
            )),
        };
        if let Ok((a, n, action)) = &r {
            users::audit_account(&tx, CLI_ACTOR, action, a, *n)?;
            tx.commit()?;
        }
        Ok(r)
    })?;
    let (a, n, action) = match done {
        Ok(d) => d,
        Err(Refusal::LastAdmin) => bail!(
            "`{}` is the last enabled admin: disabled, nobody could manage the hub; nothing was changed",
            acc.name
        ),
        Err(r) => bail!("refused ({r:?}); nothing was changed"),
    };
    match (&password, &hash, action) {
        (Some(p), Some(h), _) => keep_protection(&dir, &a.id, &a.name, a.role, h, p)?,
        (_, _, "user_disabled") => {
            crate::shared::vault::keyring::remove(&dir.path, &a.id)?;
        }
        _ => {}
    }
    let what = match action {
        "user_disabled" => "disabled",
        "user_enabled" => "enabled",
        "password_reset" => "password reset (to be changed at the next login)",
        "password_changed" => "password set",
        _ => "logged out everywhere",
    };
    println!(
        "`{}` ({}): {what}; {n} session(s) ended.",
        a.name,
        a.role.as_str()
    );
    Ok(0)
}
