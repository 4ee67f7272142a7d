//! Encryption at rest of a field hub's data directory (issue 19): the **data key** and everything it
//! protects. This module is the bottom layer — the key itself, how it is wrapped (by an officer's password,
//! by the office's and the recovery key's age recipients), the sealed form of secret files, the keyring file
//! that holds the wrapped copies, and the process-wide registry of unlocked data directories that the store,
//! the key files and the TLS files consult. Turning a plaintext directory into a protected one, unlocking
//! it and recovering it live in `shared::unlock`, which builds on this.
//!
//! ```text
//! data key (32 random bytes, only ever in memory)
//!   ├─ SQLCipher key of hub.sqlite (+ -wal)     = SHA-256("outreach-vault/db" ‖ data key)
//!   ├─ sealing key of secret files             = SHA-256("outreach-vault/files" ‖ data key)
//!   │     keys/device.ed25519, keys/encrypt.age, tls/ca.key, tls/ca.old.key
//!   └─ wrapped copies in keys/keyring.json (the only form on disk)
//!         per officer/admin: XChaCha20-Poly1305 under argon2id(password)
//!         escrow: one age message to the paired office key(s) and the recovery key
//! ```

pub mod files;
pub mod keyring;
pub mod password;
pub mod wrap;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Errors of the vault.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the hub's data is locked: an officer must log in to unlock it")]
    Locked,
    #[error("wrong password for this hub's data")]
    BadPassword,
    #[error("the key given opens none of this hub's escrow copies of the data key")]
    BadIdentity,
    #[error("{path}: {why}")]
    Damaged { path: PathBuf, why: String },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no randomness available from the operating system: {0}")]
    Random(String),
    #[error("encryption failed: {0}")]
    Crypto(String),
}

pub type VaultResult<T> = Result<T, VaultError>;

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VaultError + '_ {
    move |source| VaultError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The data key: 32 random bytes, wiped from memory when dropped, never written to disk unwrapped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A new random data key.
    pub fn generate() -> VaultResult<DataKey> {
        let mut k = [0u8; 32];
        getrandom::getrandom(&mut k).map_err(|e| VaultError::Random(e.to_string()))?;
        Ok(DataKey(k))
    }

    pub(crate) fn from_bytes(b: &[u8]) -> Option<DataKey> {
        Some(DataKey(b.try_into().ok()?))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A key derived for one purpose (the database, the secret files), so that no two uses share a key.
    fn derive(&self, purpose: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"outreach-vault/");
        h.update(purpose.as_bytes());
        h.update([0u8]);
        h.update(self.0);
        h.finalize().into()
    }

    /// The `PRAGMA key` value of the SQLCipher database: a raw 256-bit key (`x'…'`, no key derivation on
    /// open: the data key is random already).
    pub fn sqlcipher_pragma(&self) -> String {
        let mut k = self.derive("db");
        let s = format!("x'{}'", hex::encode(k));
        k.zeroize();
        s
    }

    pub(crate) fn file_key(&self) -> [u8; 32] {
        self.derive("files")
    }

    /// A short public check value of the key (the first 8 bytes of a derived hash), stored in the keyring so
    /// an unwrapped key can be recognised as this directory's before the database is opened with it.
    pub fn check_value(&self) -> String {
        hex::encode(&self.derive("check")[..8])
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

/// The unlocked data directories of this process, by canonical path.
static UNLOCKED: Mutex<Vec<(PathBuf, Arc<DataKey>)>> = Mutex::new(Vec::new());

fn canonical(data_dir: &Path) -> PathBuf {
    std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf())
}

/// Records `key` as the data key of `data_dir` for the rest of this process.
pub fn register(data_dir: &Path, key: DataKey) {
    let p = canonical(data_dir);
    let mut reg = UNLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    reg.retain(|(q, _)| *q != p);
    reg.push((p, Arc::new(key)));
}

/// Forgets the data key of `data_dir` (tests, and a failed unlock).
pub fn forget(data_dir: &Path) {
    let p = canonical(data_dir);
    let mut reg = UNLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    reg.retain(|(q, _)| *q != p);
}

/// The data key of `data_dir`, when this process unlocked it.
pub fn unlocked(data_dir: &Path) -> Option<Arc<DataKey>> {
    let p = canonical(data_dir);
    let reg = UNLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    reg.iter().find(|(q, _)| *q == p).map(|(_, k)| k.clone())
}

/// Whether `data_dir` is protected (has a keyring): its database and secret files are encrypted.
pub fn is_protected(data_dir: &Path) -> bool {
    keyring::path(data_dir).exists()
}
