//! Backups of a hub's data directory, and restoring them (issue 7).
//!
//! `hub backup` works while the hub serves and writes: the database is copied with SQLite's online backup
//! API ([`snapshot`]), then written with the keys and certificates into a tar archive ([`archive`]) that
//! starts with a manifest (what the backup is; each file's size and SHA-256). The archive is encrypted with
//! age to public keys whose secrets are not on the hub ([`keys`]: the office key pinned at pairing, the
//! recovery key kept on paper at the office): it holds the hub's private keys and personal data and travels
//! on USB sticks, and making it needs no secret on the hub. Backups made before issue 19 were encrypted to
//! a passphrase ([`passphrase`]); they still restore with `--passphrase-file`. `hub restore` refuses a
//! directory a hub serves ([`lock`]), unpacks beside the target, checks every file, the database's
//! integrity and the keys, and only then moves it into place.
//! `hub backup verify` (or `hub restore --check`) does every check without touching a data directory.

pub mod archive;
pub mod cli;
pub mod keys;
pub mod lock;
pub mod passphrase;
pub mod snapshot;
pub mod socket;

use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use age::secrecy::ExposeSecret;
use anyhow::Context;
use zeroize::Zeroizing;

use crate::shared::datadir::DataDir;
use archive::{ArchiveError, FileEntry, Manifest, SourceFile};

/// Exit codes of `hub backup` and `hub restore` (also in their `--help`).
pub const EXIT_OK: i32 = 0;
/// Any other failure (cannot read or write, disk full, no backup key…); nothing half-written is left.
pub const EXIT_ERROR: i32 = 1;
/// The backup file is refused: wrong key or passphrase, damaged or truncated, fails a check, or newer format.
pub const EXIT_BAD_BACKUP: i32 = 2;
/// The target is refused: a hub is serving the data directory, or it is not empty (without `--force`).
pub const EXIT_TARGET_REFUSED: i32 = 3;

/// The scrypt work factor of passphrase backups (made before issue 19: N = 2^16). Reading them accepts this
/// and a little more, not the gigabytes an arbitrary file could ask for.
pub const SCRYPT_LOG_N: u8 = 16;

/// A refusal with its own exit code; other errors exit 1.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("{0}")]
    Backup(String),
    #[error("{0}")]
    Target(String),
}

impl From<ArchiveError> for Refused {
    fn from(e: ArchiveError) -> Self {
        Refused::Backup(e.to_string())
    }
}

/// Names in the data directory that are never backed up: the live database and its journals (the
/// snapshot stands for them), the serve lock, temporary upload and export folders, our own temp files.
fn skipped(rel: &str, name: &str) -> bool {
    matches!(
        rel,
        "hub.sqlite"
            | "hub.sqlite-wal"
            | "hub.sqlite-shm"
            | "hub.sqlite-journal"
            | lock::LOCK_FILE
            | socket::SOCKET
            | "uploads"
            | "exports-tmp"
    ) || name.starts_with(".backup-")
        || name.ends_with(".tmp")
        || name.ends_with(".partial")
        // Transient files of a protection under way (`shared::unlock`): the finished files stand for them.
        || name.ends_with(".sealing")
        || name.ends_with(".protecting")
}

/// Lists the directories and regular files of `root` to back up (besides the database), sorted.
fn collect(root: &Path) -> anyhow::Result<(Vec<String>, Vec<SourceFile>)> {
    let (mut dirs, mut files) = (Vec::new(), Vec::new());
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let mut entries: Vec<_> = fs::read_dir(&dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let Some(name) = e.file_name().to_str().map(str::to_string) else {
                tracing::warn!(dir = %dir.display(), "skipping a file whose name is not UTF-8");
                continue;
            };
            let rel = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}/{name}")
            };
            if skipped(&rel, &name) {
                continue;
            }
            let ft = e.file_type()?;
            if ft.is_dir() {
                dirs.push(rel.clone());
                stack.push((e.path(), rel));
            } else if ft.is_file() {
                files.push(SourceFile { rel, abs: e.path() });
            } else {
                tracing::warn!(file = %rel, "skipping a link or special file in the data directory");
            }
        }
    }
    dirs.sort();
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok((dirs, files))
}

/// Where a backup goes.
pub enum Output {
    File(PathBuf),
    Stdout,
    /// A stream (the socket of a `hub backup` asking the serving hub, [`socket`]).
    Writer(Box<dyn Write + Send>),
}

/// What `hub backup` did.
#[derive(Debug)]
pub struct BackupSummary {
    pub manifest: Manifest,
    pub bytes: u64,
    /// The SHA-256 of the bytes written, to check a copy read back from a USB stick without the key.
    pub sha256: String,
    /// Why the backup went to fewer keys than usual (an unpaired field hub, no recovery key).
    pub note: Option<String>,
    pub seconds: f64,
    pub path: Option<PathBuf>,
}

impl BackupSummary {
    pub fn line(&self) -> String {
        let m = &self.manifest;
        format!(
            "Backup of {} hub \"{}\" (device {}) {}: {}, {} dossier(s), {} user(s), {}, {:.1} s, sha256 {}.",
            m.mode,
            m.name,
            m.device_id,
            match &self.path {
                Some(p) => format!("written to {}", p.display()),
                None => "written to standard output".into(),
            },
            human_bytes(self.bytes),
            dossiers(m),
            m.counts.get("users").copied().unwrap_or(0),
            match (m.encrypted, m.protected) {
                (true, false) => format!("encrypted to {}", m.encrypted_to.join(" and ")),
                (true, true) => format!(
                    "encrypted to {}; inside, the database and key files stay encrypted with the hub's \
                     data key",
                    m.encrypted_to.join(" and ")
                ),
                (false, false) => "NOT encrypted".into(),
                (false, true) => "the archive NOT encrypted (the database and key files in it stay \
                                  encrypted with the hub's data key)"
                    .into(),
            },
            self.seconds,
            self.sha256
        )
    }
}

/// The dossiers a hub holds: sealed ones on a field hub, received ones at the office.
pub fn dossiers(m: &Manifest) -> i64 {
    let key = if m.mode == "office" {
        "received_dossiers"
    } else {
        "receipts"
    };
    m.counts.get(key).copied().unwrap_or(0)
}

pub fn human_bytes(n: u64) -> String {
    if n >= 1 << 30 {
        format!("{:.2} GB", n as f64 / (1u64 << 30) as f64)
    } else if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} kB", n as f64 / 1024.0)
    }
}

/// Counts and hashes the bytes written through it.
struct Counting<W> {
    inner: W,
    n: u64,
    hash: sha2::Sha256,
}

impl<W: Write> Counting<W> {
    fn new(inner: W) -> Self {
        Counting {
            inner,
            n: 0,
            hash: sha2::Digest::new(),
        }
    }
    fn sha256(&self) -> String {
        hex::encode(sha2::Digest::finalize(self.hash.clone()))
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n += k as u64;
        sha2::Digest::update(&mut self.hash, &buf[..k]);
        Ok(k)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Removes a path when dropped (temporary snapshot files and directories), unless disarmed.
struct Cleanup(Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if p.is_dir() {
                let _ = fs::remove_dir_all(&p);
            } else {
                let _ = fs::remove_file(&p);
                let _ = fs::remove_file(p.with_extension("sqlite-journal"));
            }
        }
    }
}

/// The effective user id of this process (from /proc; None off Linux).
fn euid() -> Option<u32> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

fn utc_stamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default()
}

/// `hub backup`: a consistent, verified-on-write archive of `data` to `out`, encrypted to the hub's backup
/// keys ([`keys::plan`]; refused when it has none) unless `encrypt` is false; records `last_backup_at` in
/// the store on success.
pub fn backup(
    data: &Path,
    out: Output,
    encrypt: bool,
    progress: bool,
) -> anyhow::Result<BackupSummary> {
    let started = Instant::now();
    // A protected hub's key is in the serving hub's memory only: when it serves, unlocked, it makes the
    // backup for us (the USB stick service has no password to give).
    if crate::shared::unlock::is_locked(data) && !socket::unlock_env_given() {
        if let Some(stream) = socket::connect(data) {
            return socket::request(stream, out, encrypt);
        }
    }
    if let (Some(0), Ok(meta)) = (euid(), fs::metadata(data)) {
        if meta.uid() != 0 {
            anyhow::bail!(
                "run the backup as the owner of {} (on an installed kit: `hubctl backup …` or \
                 `runuser -u outreach-hub -- hub backup …`), not as root: root would leave database \
                 files the hub cannot open",
                data.display()
            );
        }
    }
    let dir = DataDir::open_existing(data)?;
    // Decided before anything is written: no key, no backup (never plaintext by default).
    let plan = if encrypt {
        Some(keys::plan(&dir)?)
    } else {
        None
    };
    let db_path = dir.path.join("hub.sqlite");
    let snap_path = dir.path.join(format!(
        ".backup-{}-{}.sqlite",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    ));
    let _snap_guard = Cleanup(Some(snap_path.clone()));
    let info =
        snapshot::take(&db_path, &snap_path, progress).context("cannot copy the database")?;
    // A protected hub's backup holds its data as it is on disk: the database encrypted with the data key
    // (the snapshot is keyed like the live database), the key files sealed, the keyring with the wrapped
    // copies of the key. Never a plaintext copy of the database, whatever went wrong above.
    let protected = crate::shared::vault::is_protected(&dir.path);
    if protected && !crate::shared::store::is_encrypted_file(&snap_path) {
        anyhow::bail!(
            "the database snapshot of this protected hub came out unencrypted; no backup was written"
        );
    }
    let (dirs, mut files) = collect(&dir.path)?;
    files.insert(
        0,
        SourceFile {
            rel: "hub.sqlite".into(),
            abs: snap_path.clone(),
        },
    );
    let mut entries = Vec::with_capacity(files.len());
    for f in &files {
        let (size, sha256) =
            archive::hash_file(&f.abs).with_context(|| format!("cannot read {}", f.rel))?;
        entries.push(FileEntry {
            path: f.rel.clone(),
            size,
            sha256,
        });
    }
    let created_at = crate::shared::clock::now_rfc3339();
    let manifest = Manifest {
        format: archive::FORMAT.into(),
        hub_version: env!("CARGO_PKG_VERSION").into(),
        created_at,
        device_id: dir.keys.device_id.as_str().to_string(),
        mode: dir.mode.to_string(),
        name: dir.name.clone(),
        schema_version: info.migrations.len(),
        migrations: info.migrations.clone(),
        encrypted: plan.is_some(),
        encrypted_to: plan
            .as_ref()
            .map(|p| p.keys.iter().map(keys::BackupKey::describe).collect())
            .unwrap_or_default(),
        protected,
        counts: info.counts.clone(),
        dirs,
        files: entries,
    };
    let mtime = crate::shared::clock::now_unix().max(0) as u64;
    let write_to = |w: &mut dyn Write| -> anyhow::Result<()> {
        let buffered = BufWriter::with_capacity(256 * 1024, w);
        match &plan {
            Some(p) => {
                let enc = keys::encryptor(p)?;
                let stream = enc.wrap_output(buffered)?;
                let stream = archive::write(stream, &manifest, &files, mtime)?;
                let mut buffered = stream.finish()?;
                buffered.flush()?;
            }
            None => {
                let mut buffered = archive::write(buffered, &manifest, &files, mtime)?;
                buffered.flush()?;
            }
        }
        Ok(())
    };
    let (bytes, sha256, path) = emit(out, write_to)?;
    drop(_snap_guard);
    let summary = BackupSummary {
        manifest,
        bytes,
        sha256,
        note: plan.and_then(|p| p.note),
        seconds: started.elapsed().as_secs_f64(),
        path,
    };
    let (at, size, where_) = (
        summary.manifest.created_at.clone(),
        bytes.to_string(),
        summary
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "-".into()),
    );
    dir.db.call_sync(move |c| {
        crate::shared::store::meta_set(c, "last_backup_at", &at)?;
        crate::shared::store::meta_set(c, "last_backup_bytes", &size)?;
        crate::shared::store::meta_set(c, "last_backup_path", &where_)
    })?;
    Ok(summary)
}

/// Writes a backup to `out` through `write_to`: counted and hashed; a file is written as `FILE.partial`,
/// synced, renamed and its folder synced (an existing file is never overwritten). Returns the bytes
/// written, their SHA-256 and the file's path.
fn emit(
    out: Output,
    write_to: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<(u64, String, Option<PathBuf>)> {
    Ok(match out {
        Output::Stdout => {
            let mut c = Counting::new(io::stdout().lock());
            write_to(&mut c).context("cannot write the backup to standard output")?;
            (c.n, c.sha256(), None)
        }
        Output::Writer(w) => {
            let mut c = Counting::new(w);
            write_to(&mut c).context("cannot write the backup")?;
            (c.n, c.sha256(), None)
        }
        Output::File(path) => {
            if path.exists() {
                anyhow::bail!(
                    "{} already exists; choose another name (a backup is never overwritten)",
                    path.display()
                );
            }
            let partial = PathBuf::from(format!("{}.partial", path.display()));
            let mut guard = Cleanup(Some(partial.clone()));
            let file = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&partial)
                .with_context(|| format!("cannot create {}", partial.display()))?;
            let mut c = Counting::new(file);
            write_to(&mut c).with_context(|| format!("cannot write {}", partial.display()))?;
            c.inner
                .sync_all()
                .with_context(|| format!("cannot sync {}", partial.display()))?;
            let (n, sha) = (c.n, c.sha256());
            drop(c.inner);
            fs::rename(&partial, &path)
                .with_context(|| format!("cannot rename {}", partial.display()))?;
            guard.0 = None;
            let parent = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            fsync_dir(&parent).with_context(|| format!("cannot sync {}", parent.display()))?;
            (n, sha, Some(path))
        }
    })
}

/// How to open an encrypted backup: the recovery key or the office's key file (`--identity`), or the
/// passphrase of a backup made before issue 19 (`--passphrase-file`, or `HUB_BACKUP_PASSPHRASE`).
#[derive(Debug, Default, Clone)]
pub struct Unlock {
    pub identity: Option<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
}

/// A backup file opened for reading.
struct Opened {
    /// The plain tar stream.
    reader: Box<dyn Read>,
    /// What the file was encrypted to (empty when plain).
    encrypted_to: Vec<String>,
    /// The age identities that opened it (`AGE-SECRET-KEY-1…` lines; empty for a plain or passphrase
    /// backup): the same key opens the escrow copy of a protected hub's data key in the archive.
    identities: Zeroizing<String>,
}

/// Opens a backup file (or `-` for standard input) as a plain tar stream, decrypting it when it is an age
/// file: to keys (with `--identity`, or the recovery key typed on a terminal) or, for a backup made before
/// issue 19, to a passphrase. Returns what it was encrypted to (empty when plain).
fn open_backup(from: &Path, unlock: &Unlock) -> anyhow::Result<Opened> {
    let input: Box<dyn Read> = if from == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        Box::new(
            fs::File::open(from)
                .with_context(|| format!("cannot open the backup file {}", from.display()))?,
        )
    };
    let mut r = BufReader::with_capacity(256 * 1024, input);
    let head = r.fill_buf()?;
    if !head.starts_with(b"age-encryption.org/") {
        return Ok(Opened {
            reader: Box::new(r),
            encrypted_to: Vec::new(),
            identities: Zeroizing::new(String::new()),
        });
    }
    let labels = keys::labels_in_header(head);
    let dec = age::Decryptor::new_buffered(r)
        .map_err(|e| Refused::Backup(format!("the backup file is damaged: {e}")))?;
    if dec.is_scrypt() {
        return open_passphrase_backup(dec, unlock);
    }
    let made_for = if labels.is_empty() {
        "keys this hub does not know (it is not a hub backup, or it was re-encrypted)".to_string()
    } else {
        keys::describe_labels(&labels)
    };
    if unlock.passphrase_file.is_some() && unlock.identity.is_none() {
        return Err(Refused::Backup(format!(
            "this backup is encrypted to keys, not to a passphrase: it was made for {made_for}. Give \
              --identity FILE (the recovery key kept at the office, or the office hub's keys/encrypt.age)"
        ))
        .into());
    }
    let (ids, source) = match &unlock.identity {
        Some(f) => (keys::read_identities(f)?, f.display().to_string()),
        None => {
            use std::io::IsTerminal;
            if !io::stdin().is_terminal() || from == Path::new("-") {
                anyhow::bail!(
                    "this backup is encrypted to {made_for}: give --identity FILE (the recovery key kept at \
                      the office, or the office hub's keys/encrypt.age)"
                );
            }
            let typed = rpassword::prompt_password(format!(
                "This backup was made for {made_for}.\nType the recovery key (AGE-SECRET-KEY-1…, spaces \
                  allowed): "
            ))?;
            let ids = keys::parse_identities(&typed);
            if ids.is_empty() {
                return Err(Refused::Backup(
                    "that is not a recovery key (AGE-SECRET-KEY-1…)".into(),
                )
                .into());
            }
            (ids, "the typed key".to_string())
        }
    };
    let reader = dec
        .decrypt(ids.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys
            | age::DecryptError::DecryptionFailed
            | age::DecryptError::KeyDecryptionFailed => {
                let given: Vec<String> = ids
                    .iter()
                    .map(|i| keys::fingerprint(&i.to_public().to_string()))
                    .collect();
                Refused::Backup(format!(
                    "wrong key: this backup was made for {made_for}; the key in {source} is {}, which is \
                      not one of them",
                    given.join(", ")
                ))
            }
            age::DecryptError::InvalidMac | age::DecryptError::InvalidHeader => {
                Refused::Backup(format!("the backup file is damaged: {e}"))
            }
            other => Refused::Backup(format!("cannot decrypt the backup: {other}")),
        })?;
    let to = if labels.is_empty() {
        vec!["keys".to_string()]
    } else {
        labels
    };
    let mut identities = Zeroizing::new(String::new());
    for id in &ids {
        identities.push_str(id.to_string().expose_secret());
        identities.push('\n');
    }
    Ok(Opened {
        reader: Box::new(reader),
        encrypted_to: to,
        identities,
    })
}

/// A backup made before issue 19, encrypted to the backup passphrase.
fn open_passphrase_backup<R: BufRead + 'static>(
    dec: age::Decryptor<R>,
    unlock: &Unlock,
) -> anyhow::Result<Opened> {
    if unlock.identity.is_some() && unlock.passphrase_file.is_none() {
        return Err(Refused::Backup(
            "this backup was made before backup keys (issue 19), with the backup passphrase: restore it \
              with --passphrase-file FILE (the passphrase written down at installation; \
              /etc/outreach-hub/backup.pass on older kits)"
                .into(),
        )
        .into());
    }
    let pass = passphrase::obtain(unlock.passphrase_file.as_deref())?;
    let mut id = age::scrypt::Identity::new(pass);
    // Accept our own work factor on any machine, and a little more; not the gigabytes an arbitrary file
    // could ask for.
    id.set_max_work_factor(SCRYPT_LOG_N + 2);
    let reader = dec
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .map_err(|e| {
            match e {
            age::DecryptError::NoMatchingKeys
            | age::DecryptError::DecryptionFailed
            | age::DecryptError::KeyDecryptionFailed => Refused::Backup(
                "wrong passphrase: the backup could not be decrypted (check the passphrase written \
                 down at installation; /etc/outreach-hub/backup.pass on older kits)"
                    .into(),
            ),
            age::DecryptError::InvalidMac | age::DecryptError::InvalidHeader => {
                Refused::Backup(format!("the backup file is damaged: {e}"))
            }
            other => Refused::Backup(format!("cannot decrypt the backup: {other}")),
        }
        })?;
    Ok(Opened {
        reader: Box::new(reader),
        encrypted_to: vec!["the backup passphrase".to_string()],
        identities: Zeroizing::new(String::new()),
    })
}

/// What a restore (or a check) found.
pub struct RestoreReport {
    pub manifest: Manifest,
    pub info: snapshot::SnapshotInfo,
    /// What the file was encrypted to (empty: a plain archive).
    pub encrypted_to: Vec<String>,
    /// For the backup of a protected hub: whether its data key could be opened for the checks.
    pub data_key: Option<DataKeyCheck>,
    pub replaced: Option<PathBuf>,
    pub seconds: f64,
}

impl RestoreReport {
    pub fn text(&self, restored_to: Option<&Path>) -> String {
        let m = &self.manifest;
        let counts: Vec<String> = self
            .info
            .counts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let mut s = format!(
            "{} {} hub \"{}\" (device {}), backup made {} by hub {}{}: {} dossier(s); {}; {} file(s), {}, {:.1} s.\n",
            match restored_to {
                Some(p) => format!("Restored into {}:", p.display()),
                None => "Backup verified (nothing written):".into(),
            },
            m.mode,
            m.name,
            m.device_id,
            m.created_at,
            m.hub_version,
            if self.encrypted_to.is_empty() {
                ", not encrypted".to_string()
            } else {
                format!(", encrypted to {}", keys::describe_labels(&self.encrypted_to))
            },
            dossiers(m),
            counts.join(", "),
            m.files.len(),
            human_bytes(m.total_bytes()),
            self.seconds
        );
        match &self.data_key {
            None => {}
            Some(DataKeyCheck::Opened { by }) => s.push_str(&format!(
                "The data in this backup is encrypted at rest (a protected field hub): its data key was \
                 opened with {by} for the checks above and forgotten again. {}\n",
                if restored_to.is_some() {
                    "The restored hub is protected too: it starts locked until an officer or admin logs \
                     in (or `hub vault recover --identity FILE --user NAME`)."
                } else {
                    "A restore of it is protected too and starts locked."
                }
            )),
            Some(DataKeyCheck::Closed { why }) => s.push_str(&format!(
                "PARTLY CHECKED: the data in this backup is encrypted at rest (a protected field hub) and its \
                 data key stayed closed: {why}. Checked: every file against its SHA-256 in the manifest, the \
                 keyring, the database encrypted and the key files sealed. NOT checked: the database's \
                 integrity and the hub's keys (the counts above are the manifest's). To check them, give \
                 --identity with the recovery key, or HUB_UNLOCK_USER and HUB_UNLOCK_PASSWORD of an officer or \
                 admin of that hub. {}\n",
                if restored_to.is_some() {
                    "The restored hub starts locked; an officer or admin unlocks it by logging in (their \
                     password in the backup's keyring), or `hub vault recover --identity FILE --user NAME` \
                     with the recovery key."
                } else {
                    "A restore of it starts locked and unlocks with an officer's or admin's password."
                }
            )),
        }
        if let Some(r) = &self.replaced {
            s.push_str(&format!(
                "The previous data directory is kept as {} (delete it yourself once the restored hub works).\n",
                r.display()
            ));
        }
        s
    }
}

/// How the data of a protected hub's backup was checked (issue 19).
#[derive(Debug, Clone)]
pub enum DataKeyCheck {
    /// The data key was unwrapped from the archive's keyring (`by` says with what) and every check ran;
    /// the restored directory is encrypted and starts locked all the same.
    Opened { by: String },
    /// The data key stayed closed (`why`): the files were checked against the manifest, the keyring
    /// read, the database seen to be encrypted, but the database's integrity and the keys were not.
    Closed { why: String },
}

/// Forgets a data key registered for a check when dropped (the checked directory goes back to locked).
struct Forget<'a>(&'a Path);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        crate::shared::vault::forget(self.0);
    }
}

/// The keys an escrow copy is for, named like the backup's own keys when they are the same.
fn describe_escrow(recipients: &[String], labels: &[String]) -> String {
    let parts: Vec<String> = recipients
        .iter()
        .map(|r| {
            let fp = keys::fingerprint(r);
            match labels.iter().find_map(|l| {
                l.split_once(':')
                    .filter(|(_, f)| *f == fp)
                    .map(|(k, _)| k.to_string())
            }) {
                Some(kind) => format!("the {kind} key {fp}"),
                None => format!("the key {fp}"),
            }
        })
        .collect();
    parts.join(" and ")
}

/// The data key of the unpacked protected backup in `dir`: from the escrow copy in its keyring with the
/// identities that opened the archive, else from `HUB_UNLOCK_IDENTITY` (an age identity file) or an
/// officer's or admin's `HUB_UNLOCK_USER`/`HUB_UNLOCK_PASSWORD`. `Err` says why not, for the report.
fn backup_data_key(
    kr: &crate::shared::vault::keyring::Keyring,
    opened: &Opened,
) -> Result<(crate::shared::vault::DataKey, String), String> {
    use crate::shared::vault::{keyring, VaultError};
    let mut why = Vec::new();
    match &kr.escrow {
        None => why.push(
            "the hub had no escrow copy of its data key when the backup was made (it was protected \
             before it was paired with an office and before it had a recovery key)"
                .to_string(),
        ),
        Some(e) if !opened.identities.is_empty() => {
            match kr.unlock_escrow(&opened.identities) {
                Ok(k) => return Ok((k, "the key that opened the backup".into())),
                Err(VaultError::BadIdentity) => why.push(format!(
                    "the key that opened the backup file does not open the escrow copy of the data key, \
                     which is for {} only (a hub protected before it was paired keeps a recovery-key-only \
                     copy until it is brought up to date: at its next unlocked start, a pairing over the \
                     network, or an officer's or admin's login)",
                    describe_escrow(&e.recipients, &opened.encrypted_to)
                )),
                Err(other) => why.push(format!("the escrow copy of the data key: {other}")),
            }
        }
        Some(e) => why.push(format!(
            "the backup file was not opened with a key (it is a plain archive), and the escrow copy of the \
             data key is for {}",
            describe_escrow(&e.recipients, &opened.encrypted_to)
        )),
    }
    if let Some(file) = std::env::var("HUB_UNLOCK_IDENTITY")
        .ok()
        .filter(|f| !f.is_empty())
    {
        match fs::read_to_string(&file) {
            Ok(text) => match kr.unlock_escrow(&text) {
                Ok(k) => return Ok((k, format!("HUB_UNLOCK_IDENTITY ({file})"))),
                Err(_) => why.push(format!(
                    "HUB_UNLOCK_IDENTITY ({file}) does not open the escrow copy either"
                )),
            },
            Err(e) => why.push(format!("HUB_UNLOCK_IDENTITY: cannot read {file}: {e}")),
        }
    }
    if let (Some(user), Ok(password)) = (
        std::env::var("HUB_UNLOCK_USER")
            .ok()
            .filter(|u| !u.is_empty()),
        std::env::var("HUB_UNLOCK_PASSWORD"),
    ) {
        match kr.unlock(&keyring::name_key(&user), &password) {
            Ok((k, _)) => return Ok((k, format!("the password of {user} (HUB_UNLOCK_USER)"))),
            Err(_) => why.push(format!(
                "HUB_UNLOCK_USER/HUB_UNLOCK_PASSWORD: {user} with that password does not unlock this \
                 backup's hub (wrong password, not an officer or admin there, or the password was changed \
                 after the backup)"
            )),
        }
    }
    Err(why.join("; "))
}

/// Checks an unpacked backup: database integrity, schema not newer than this hub, mode as in the
/// manifest, keys that load and belong to the manifest's device. The backup of a protected hub needs its
/// data key for the database and the keys ([`backup_data_key`]); without it, what needs no key is checked
/// and the report says what was not.
fn check_unpacked(
    dir: &Path,
    m: &Manifest,
    opened: &Opened,
) -> Result<(snapshot::SnapshotInfo, Option<DataKeyCheck>), Refused> {
    use crate::shared::vault::{self, keyring};
    let known = crate::shared::store::migration_names();
    if let Some(n) = m.migrations.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(Refused::Backup(format!(
            "the backup was made by a newer hub ({}; database schema {n}); install that version or newer to restore it",
            m.hub_version
        )));
    }
    let db = dir.join("hub.sqlite");
    let kr = keyring::load(dir)
        .map_err(|e| Refused::Backup(format!("the keyring in the backup is damaged: {e}")))?;
    if m.protected && kr.is_none() {
        return Err(Refused::Backup(format!(
            "the backup is of a protected hub but holds no {}",
            keyring::path(Path::new("")).display()
        )));
    }
    let mut key = None;
    let mut check = None;
    let _forget = Forget(dir);
    if let Some(kr) = &kr {
        if !crate::shared::store::is_encrypted_file(&db) {
            return Err(Refused::Backup(
                "the backup holds a keyring but its database is not encrypted".into(),
            ));
        }
        match backup_data_key(kr, opened) {
            Ok((k, by)) => {
                vault::register(dir, k.clone());
                key = Some(k);
                check = Some(DataKeyCheck::Opened { by });
            }
            Err(why) => {
                // What needs no key: every file matched the manifest (unpack), the keyring reads, the
                // database is encrypted; the secret key files are sealed.
                for rel in crate::shared::unlock::SEALED_FILES {
                    let p = dir.join(rel);
                    if p.exists() && !vault::files::is_sealed(&p) {
                        return Err(Refused::Backup(format!(
                            "{rel} in the backup of a protected hub is not sealed"
                        )));
                    }
                }
                let info = snapshot::SnapshotInfo {
                    pages: 0,
                    mode: Some(m.mode.clone()),
                    name: Some(m.name.clone()),
                    migrations: m.migrations.clone(),
                    counts: m.counts.clone(),
                };
                return Ok((info, Some(DataKeyCheck::Closed { why })));
            }
        }
    }
    let info = (|| -> Result<Result<snapshot::SnapshotInfo, String>, String> {
        let c = rusqlite::Connection::open(&db).map_err(|e| e.to_string())?;
        if let Some(k) = &key {
            crate::shared::store::apply_key(&c, k).map_err(|e| e.to_string())?;
        }
        let (rows, info) = (|| -> rusqlite::Result<_> {
            let mut st = c.prepare("PRAGMA integrity_check")?;
            let rows: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            drop(st);
            Ok((rows.clone(), snapshot::describe(&c, 0)?))
        })()
        .map_err(|e| e.to_string())?;
        if rows != ["ok"] {
            return Ok(Err(format!(
                "the database fails its integrity check: {}",
                rows.into_iter().take(3).collect::<Vec<_>>().join("; ")
            )));
        }
        c.close().map_err(|(_, e)| e.to_string())?;
        Ok(Ok(info))
    })()
    .map_err(|e| Refused::Backup(format!("the database in the backup cannot be read: {e}")))?
    .map_err(Refused::Backup)?;
    if info.mode.as_deref() != Some(m.mode.as_str()) || info.migrations != m.migrations {
        return Err(Refused::Backup(
            "the database does not match the manifest (mode or schema)".into(),
        ));
    }
    let keys = crate::shared::keys::load(dir)
        .map_err(|e| Refused::Backup(format!("the keys in the backup do not load: {e}")))?;
    if keys.device_id.as_str() != m.device_id {
        return Err(Refused::Backup(format!(
            "the keys in the backup belong to device {}, not to {} named in the manifest",
            keys.device_id.as_str(),
            m.device_id
        )));
    }
    Ok((info, check))
}

/// Is `dir` empty for a restore (nothing but a lock file left by a stopped hub)?
fn is_empty_dir(dir: &Path) -> io::Result<bool> {
    for e in fs::read_dir(dir)? {
        if e?.file_name() != lock::LOCK_FILE {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `hub backup verify` / `hub restore --check`: every check of a restore, in a temporary directory that is
/// removed afterwards.
pub fn verify(from: &Path, unlock: &Unlock) -> anyhow::Result<RestoreReport> {
    let started = Instant::now();
    let tmp = std::env::temp_dir().join(format!(
        "outreach-hub-verify-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    ));
    fs::create_dir(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o700))?;
    let _guard = Cleanup(Some(tmp.clone()));
    let mut opened = open_backup(from, unlock)?;
    let reader = std::mem::replace(&mut opened.reader, Box::new(io::empty()));
    let manifest = archive::unpack(reader, &tmp).map_err(Refused::from)?;
    let (info, data_key) = check_unpacked(&tmp, &manifest, &opened)?;
    Ok(RestoreReport {
        manifest,
        info,
        encrypted_to: opened.encrypted_to,
        data_key,
        replaced: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `hub restore`: refuses a served or non-empty `data` (unless `force`, which keeps the old directory as
/// `DATA.replaced-<UTC time>`), unpacks and checks the backup beside `data`, then renames it into place.
pub fn restore(
    data: &Path,
    from: &Path,
    force: bool,
    unlock: &Unlock,
) -> anyhow::Result<RestoreReport> {
    let started = Instant::now();
    let data = if data.is_absolute() {
        data.to_path_buf()
    } else {
        std::env::current_dir()?.join(data)
    };
    // Held until the end: no hub can start on the old directory meanwhile.
    let _lock = lock::DirLock::acquire_if_present(&data).map_err(|e| match e {
        lock::LockError::Held { .. } => Refused::Target(format!(
            "{e} A restore replaces the whole data directory; it never runs under a serving hub."
        )),
        other => Refused::Target(other.to_string()),
    })?;
    let exists = data.exists();
    let empty = !exists || is_empty_dir(&data)?;
    if !empty && !force {
        return Err(Refused::Target(format!(
            "{} is not empty: it holds a hub's data. Give --force to replace it (the old directory is kept \
             as {}.replaced-<time>, never deleted), or restore into another directory.",
            data.display(),
            data.display()
        ))
        .into());
    }
    let parent = data
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let base = data
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("hub-data")
        .to_string();
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let stamp = utc_stamp();
    let tmp = parent.join(format!(".{base}.restoring-{stamp}-{}", std::process::id()));
    fs::create_dir(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o700))?;
    let mut guard = Cleanup(Some(tmp.clone()));
    let mut opened = open_backup(from, unlock)?;
    let reader = std::mem::replace(&mut opened.reader, Box::new(io::empty()));
    let manifest = archive::unpack(reader, &tmp).map_err(Refused::from)?;
    // A protected hub's backup restores protected: the key used for the checks is forgotten again, the
    // database stays encrypted and the key files sealed, and the restored hub starts locked.
    let (info, data_key) = check_unpacked(&tmp, &manifest, &opened)?;
    // A field hub restored from a backup does not know what was sealed after it: it seals again only
    // once a sync has compared its chain with the office's (or an admin confirms). Written into the
    // unpacked copy, so it arrives with the rename below or not at all.
    if manifest.mode == "field" {
        crate::shared::chain_guard::mark_restored(
            &tmp,
            &crate::shared::chain_guard::Restored {
                backup_created_at: manifest.created_at.clone(),
                backup_envelopes: manifest.counts.get("envelopes").copied().unwrap_or(0),
                restored_at: crate::shared::clock::now_rfc3339(),
            },
        )
        .with_context(|| format!("cannot mark {} as restored", tmp.display()))?;
    }
    // Root restoring over a service user's directory gives the files to that user.
    let owner = if exists && euid() == Some(0) {
        fs::metadata(&data).ok().map(|m| (m.uid(), m.gid()))
    } else {
        None
    };
    if let Some((uid, gid)) = owner {
        chown_tree(&tmp, uid, gid)?;
    }
    let mut replaced = None;
    if exists {
        if empty {
            fs::remove_dir_all(&data)
                .with_context(|| format!("cannot remove the empty {}", data.display()))?;
        } else {
            let old = parent.join(format!("{base}.replaced-{stamp}"));
            fs::rename(&data, &old).with_context(|| {
                format!("cannot move {} aside to {}", data.display(), old.display())
            })?;
            replaced = Some(old);
        }
    }
    fs::rename(&tmp, &data).with_context(|| {
        format!(
            "cannot move the restored data into {} (it is in {})",
            data.display(),
            tmp.display()
        )
    })?;
    guard.0 = None;
    fsync_dir(&parent)?;
    Ok(RestoreReport {
        manifest,
        info,
        encrypted_to: opened.encrypted_to,
        data_key,
        replaced,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn chown_tree(root: &Path, uid: u32, gid: u32) -> io::Result<()> {
    std::os::unix::fs::chown(root, Some(uid), Some(gid))?;
    for e in fs::read_dir(root)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            chown_tree(&e.path(), uid, gid)?;
        } else {
            std::os::unix::fs::chown(e.path(), Some(uid), Some(gid))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_list_keeps_keys_and_certificates_and_drops_live_and_temporary_files() {
        for keep in [
            "keys",
            "keys/device.ed25519",
            "keys/keyring.json",
            "tls/ca.key",
            "tls/server.json",
        ] {
            let name = keep.rsplit('/').next().unwrap();
            assert!(!skipped(keep, name), "{keep}");
        }
        for skip in [
            "hub.sqlite",
            "hub.sqlite-wal",
            "hub.sqlite-shm",
            "hub.lock",
            "uploads",
            "exports-tmp",
            ".backup-1-x.sqlite",
            "keys/encrypt.tmp",
            "x.partial",
            "keys/device.ed25519.sealing",
            "hub.sqlite.protecting",
        ] {
            let name = skip.rsplit('/').next().unwrap();
            assert!(skipped(skip, name), "{skip}");
        }
    }

    /// A field hub protected before it had any escrow recipient (no office, no recovery key): its plain
    /// archive holds the database encrypted and the key files sealed; `verify` without a password says
    /// what it could not check; the restore is protected and locked, and the password opens it.
    #[test]
    fn a_protected_hub_without_escrow_copy_restores_locked_and_verify_says_what_it_skipped() {
        use crate::shared::{unlock, vault};
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("field");
        let secret = "Nguyễn Văn Bí Mật 079301001122";
        {
            let dir = DataDir::open_or_create(&data, Some(protocol::HubMode::Field), Some("Trạm"))
                .unwrap();
            let holder = vault::keyring::Holder {
                user_id: "u1",
                name_key: "quantri",
                role: "admin",
                password_hash: "hash-1",
            };
            dir.db
                .call_sync(|c| crate::shared::store::meta_set(c, "test_secret", secret))
                .unwrap();
            unlock::protect(&dir.db, &data, "Trạm", &holder, "mat-khau-quan-tri").unwrap();
        }
        let kr = vault::keyring::load(&data).unwrap().unwrap();
        assert!(kr.escrow.is_none(), "no recipient: no escrow copy");
        // The backup (plain archive: there is no key to encrypt it to), while unlocked in this process.
        let out = tmp.path().join("field.tar");
        let summary = backup(&data, Output::File(out.clone()), false, false).unwrap();
        vault::forget(&data);
        assert!(summary.manifest.protected);
        assert!(summary
            .line()
            .contains("stay encrypted with the hub's data key"));
        let bytes = fs::read(&out).unwrap();
        assert!(
            !bytes.windows(9).any(|w| w == "079301001".as_bytes()),
            "PIN in clear"
        );
        assert!(
            !bytes.windows(15).any(|w| w == b"SQLite format 3"),
            "plaintext database"
        );

        let r = verify(&out, &Unlock::default()).unwrap();
        match &r.data_key {
            Some(DataKeyCheck::Closed { why }) => {
                assert!(why.contains("no escrow copy"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        let text = r.text(None);
        assert!(
            text.contains("PARTLY CHECKED") && text.contains("NOT checked"),
            "{text}"
        );

        let restored = tmp.path().join("restored");
        let r = restore(&restored, &out, false, &Unlock::default()).unwrap();
        assert!(matches!(r.data_key, Some(DataKeyCheck::Closed { .. })));
        assert!(
            unlock::is_locked(&restored),
            "restored protected and locked"
        );
        assert!(crate::shared::store::is_encrypted_file(
            &restored.join("hub.sqlite")
        ));
        assert!(matches!(
            crate::shared::store::open_connection(&restored.join("hub.sqlite")),
            Err(crate::shared::store::StoreError::Locked)
        ));
        unlock::unlock_password(&restored, "quantri", "mat-khau-quan-tri").unwrap();
        let c = crate::shared::store::open_connection(&restored.join("hub.sqlite")).unwrap();
        assert_eq!(
            crate::shared::store::meta_get(&c, "test_secret")
                .unwrap()
                .as_deref(),
            Some(secret)
        );
        drop(c);
        vault::forget(&restored);
    }
}
