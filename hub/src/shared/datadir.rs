//! A hub's data directory: the SQLite store, the keys, and the mode and name fixed at creation. Both
//! `hub serve` and every CLI command open the directory through here, so they agree on its layout:
//!
//! ```text
//! DATA/hub.sqlite      the store (WAL mode: also hub.sqlite-wal, hub.sqlite-shm)
//! DATA/keys/           0700; device.ed25519 and encrypt.age, each 0600
//! DATA/keys/keyring.json  on a protected field hub: the wrapped copies of the data key
//! ```
//!
//! A protected directory (`shared::vault`, `shared::unlock`) opens only once unlocked in this process:
//! `open_or_create` answers a locked error ([`DataDir::is_locked_error`]) that `hub serve` turns into a
//! locked start, and `open_existing` (CLI commands) unlocks from the environment or a prompt first.

use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use protocol::HubMode;

use crate::shared::keys::{self, HubKeys};
use crate::shared::store::{self, Db};
use crate::shared::{unlock, vault};

/// An opened data directory.
pub struct DataDir {
    pub path: PathBuf,
    pub db: Db,
    pub keys: HubKeys,
    pub mode: HubMode,
    pub name: String,
}

impl DataDir {
    /// Opens `path`, creating it as a hub of `mode` (default field) if it does not exist yet. If it exists,
    /// `mode` must match the mode it was created with.
    pub fn open_or_create(
        path: &Path,
        mode: Option<HubMode>,
        name: Option<&str>,
    ) -> anyhow::Result<Self> {
        fs::create_dir_all(path)
            .with_context(|| format!("cannot create data directory {}", path.display()))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot set permissions on {}", path.display()))?;
        // A protection cut short by a power cut is completed or undone first: by `hub serve` under the
        // directory's lock, by `open_existing` when no hub serves the directory.
        if unlock::is_locked(path) {
            return Err(anyhow::Error::new(vault::VaultError::Locked)
                .context(format!("the data of {} is encrypted", path.display())));
        }
        let keys = keys::load_or_create(path).context("cannot load the hub's keys")?;
        let db_path = path.join("hub.sqlite");
        // The database holds drafts (plaintext personal data) until sealing: owner-only, like the keys.
        // SQLite gives its -wal and -shm files the database file's permissions.
        if !db_path.exists() {
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&db_path)
                .with_context(|| format!("cannot create {}", db_path.display()))?;
        }
        fs::set_permissions(&db_path, fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot set permissions on {}", db_path.display()))?;
        let db = Db::open(&db_path).context("cannot open the hub database")?;
        let default_name = format!("hub-{}", &keys.device_id.as_str()[..4]);
        let (mode, name) = db.call_sync(|c| {
            let stored = store::meta_get(c, "mode")?;
            let mode = match (stored, mode) {
                (Some(s), m) => {
                    let s: HubMode = s.parse().map_err(|_| store::StoreError::Corrupt(format!("bad mode {s}")))?;
                    if let Some(m) = m {
                        if m != s {
                            return Ok(Err(anyhow::anyhow!(
                                "data directory {} belongs to a {s} hub; it cannot be served as {m}. \
                                 Use another --data directory for the {m} hub.",
                                path.display()
                            )));
                        }
                    }
                    s
                }
                (None, m) => {
                    let m = m.unwrap_or(HubMode::Field);
                    store::meta_set(c, "mode", &m.to_string())?;
                    store::meta_set(c, "created_at", &crate::shared::clock::now_rfc3339())?;
                    m
                }
            };
            if let Some(n) = name {
                store::meta_set(c, "name", n)?;
            }
            let name = store::meta_get(c, "name")?.unwrap_or(default_name);
            Ok(Ok((mode, name)))
        })??;
        // Procedure packages published here or pulled from the office join the built-in ones.
        let loaded = db
            .call_sync(|c| crate::shared::procedures::store::load(c))
            .context("cannot read the stored procedure packages")?;
        for why in &loaded.refused {
            tracing::warn!(package = %why, "a stored procedure package was left out");
        }
        Ok(Self {
            path: path.to_path_buf(),
            db,
            keys,
            mode,
            name,
        })
    }

    /// Opens an existing data directory (for CLI commands); refuses to create one.
    pub fn open_existing(path: &Path) -> anyhow::Result<Self> {
        if !path.join("hub.sqlite").exists() {
            bail!(
                "{} is not a hub data directory (no hub.sqlite). Start the hub once with `hub serve --data {}` \
                 to create it.",
                path.display(),
                path.display()
            );
        }
        unlock::boot_if_unserved(path)?;
        unlock::unlock_for_cli(path)?;
        Self::open_or_create(path, None, None)
    }

    /// Whether `err` (from [`DataDir::open_or_create`]) says the directory is encrypted and locked.
    pub fn is_locked_error(err: &anyhow::Error) -> bool {
        err.chain().any(|e| {
            matches!(
                e.downcast_ref::<vault::VaultError>(),
                Some(vault::VaultError::Locked)
            ) || matches!(
                e.downcast_ref::<store::StoreError>(),
                Some(store::StoreError::Locked)
            ) || matches!(
                e.downcast_ref::<keys::KeyError>(),
                Some(keys::KeyError::Locked)
            )
        })
    }

    /// When this data directory was created (used in the key card).
    pub fn created_at(&self) -> String {
        self.db
            .call_sync(|c| store::meta_get(c, "created_at"))
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// This hub's public key card.
    pub fn key_card(&self) -> anyhow::Result<protocol::KeyCard> {
        Ok(self
            .keys
            .key_card(self.mode, &self.name, &self.created_at())?)
    }
}
