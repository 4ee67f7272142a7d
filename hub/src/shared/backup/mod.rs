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

use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;

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
            | "uploads"
            | "exports-tmp"
    ) || name.starts_with(".backup-")
        || name.ends_with(".tmp")
        || name.ends_with(".partial")
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
}

/// What `hub backup` did.
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
            if m.encrypted {
                format!("encrypted to {}", m.encrypted_to.join(" and "))
            } else {
                "NOT encrypted".into()
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
    let (bytes, sha256, path) = match out {
        Output::Stdout => {
            let mut c = Counting::new(io::stdout().lock());
            write_to(&mut c).context("cannot write the backup to standard output")?;
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
    };
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

/// How to open an encrypted backup: the recovery key or the office's key file (`--identity`), or the
/// passphrase of a backup made before issue 19 (`--passphrase-file`, or `HUB_BACKUP_PASSPHRASE`).
#[derive(Debug, Default, Clone)]
pub struct Unlock {
    pub identity: Option<PathBuf>,
    pub passphrase_file: Option<PathBuf>,
}

/// Opens a backup file (or `-` for standard input) as a plain tar stream, decrypting it when it is an age
/// file: to keys (with `--identity`, or the recovery key typed on a terminal) or, for a backup made before
/// issue 19, to a passphrase. Returns what it was encrypted to (empty when plain).
fn open_backup(from: &Path, unlock: &Unlock) -> anyhow::Result<(Box<dyn Read>, Vec<String>)> {
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
        return Ok((Box::new(r), Vec::new()));
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
    Ok((Box::new(reader), to))
}

/// A backup made before issue 19, encrypted to the backup passphrase.
fn open_passphrase_backup<R: BufRead + 'static>(
    dec: age::Decryptor<R>,
    unlock: &Unlock,
) -> anyhow::Result<(Box<dyn Read>, Vec<String>)> {
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
    Ok((Box::new(reader), vec!["the backup passphrase".to_string()]))
}

/// What a restore (or a check) found.
pub struct RestoreReport {
    pub manifest: Manifest,
    pub info: snapshot::SnapshotInfo,
    /// What the file was encrypted to (empty: a plain archive).
    pub encrypted_to: Vec<String>,
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
        if let Some(r) = &self.replaced {
            s.push_str(&format!(
                "The previous data directory is kept as {} (delete it yourself once the restored hub works).\n",
                r.display()
            ));
        }
        s
    }
}

/// Checks an unpacked backup: database integrity, schema not newer than this hub, mode as in the
/// manifest, keys that load and belong to the manifest's device.
fn check_unpacked(dir: &Path, m: &Manifest) -> Result<snapshot::SnapshotInfo, Refused> {
    let known = crate::shared::store::migration_names();
    if let Some(n) = m.migrations.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(Refused::Backup(format!(
            "the backup was made by a newer hub ({}; database schema {n}); install that version or newer to restore it",
            m.hub_version
        )));
    }
    let db = dir.join("hub.sqlite");
    let info = (|| -> rusqlite::Result<Result<snapshot::SnapshotInfo, String>> {
        let c = rusqlite::Connection::open(&db)?;
        let mut st = c.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        drop(st);
        if rows != ["ok"] {
            return Ok(Err(format!(
                "the database fails its integrity check: {}",
                rows.into_iter().take(3).collect::<Vec<_>>().join("; ")
            )));
        }
        let info = snapshot::describe(&c, 0)?;
        c.close().map_err(|(_, e)| e)?;
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
    Ok(info)
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
    let (reader, encrypted_to) = open_backup(from, unlock)?;
    let manifest = archive::unpack(reader, &tmp).map_err(Refused::from)?;
    let info = check_unpacked(&tmp, &manifest)?;
    Ok(RestoreReport {
        manifest,
        info,
        encrypted_to,
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
    let (reader, encrypted_to) = open_backup(from, unlock)?;
    let manifest = archive::unpack(reader, &tmp).map_err(Refused::from)?;
    let info = check_unpacked(&tmp, &manifest)?;
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
        encrypted_to,
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
        ] {
            let name = skip.rsplit('/').next().unwrap();
            assert!(skipped(skip, name), "{skip}");
        }
    }
}
