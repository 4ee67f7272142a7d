//! This hub's own keys: the Ed25519 device (signing) key and the age X25519 encryption identity, kept in
//! `DATA/keys/` with file mode 0600 (directory 0700), created on first run, never printed or logged. On a
//! protected field hub both files are sealed under the data key (`shared::vault::files`): loading them
//! needs the hub unlocked.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use protocol::{DeviceId, DeviceKey, HubMode, KeyCard};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write key file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} is damaged: {why}")]
    Damaged { path: PathBuf, why: String },
    #[error("no randomness available from the operating system: {0}")]
    Random(String),
    #[error("protocol error: {0}")]
    Protocol(#[from] protocol::ProtocolError),
    #[error("the hub's data is locked: an officer must log in to unlock it")]
    Locked,
}

impl From<crate::shared::vault::VaultError> for KeyError {
    fn from(e: crate::shared::vault::VaultError) -> Self {
        use crate::shared::vault::VaultError as V;
        match e {
            V::Locked => KeyError::Locked,
            V::Io { path, source } => KeyError::Io { path, source },
            V::Damaged { path, why } => KeyError::Damaged { path, why },
            other => KeyError::Damaged {
                path: PathBuf::new(),
                why: other.to_string(),
            },
        }
    }
}

const DEVICE_KEY_FILE: &str = "device.ed25519";
const AGE_KEY_FILE: &str = "encrypt.age";

/// The hub's key material, loaded into memory.
pub struct HubKeys {
    pub device: DeviceKey,
    pub device_id: DeviceId,
    age_identity: String,
    pub age_recipient: String,
}

impl HubKeys {
    /// The age identity string (`AGE-SECRET-KEY-1…`), for decrypting sealed dossiers on an office hub.
    pub fn age_identity(&self) -> &str {
        &self.age_identity
    }

    /// This hub's public key card (the text `hub key show` prints and `hub trust` reads).
    pub fn key_card(
        &self,
        mode: HubMode,
        name: &str,
        created_at: &str,
    ) -> Result<KeyCard, KeyError> {
        Ok(KeyCard::new(
            &self.device,
            mode,
            name.to_string(),
            self.age_recipient.clone(),
            created_at.to_string(),
        )?)
    }
}

/// Fills `buf` from the operating system's random source.
pub fn random_bytes(buf: &mut [u8]) -> Result<(), KeyError> {
    getrandom::getrandom(buf).map_err(|e| KeyError::Random(e.to_string()))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Loads the keys from `DATA/keys`, creating any that are missing.
pub fn load_or_create(data_dir: &Path) -> Result<HubKeys, KeyError> {
    let dir = data_dir.join("keys");
    fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;

    let dpath = dir.join(DEVICE_KEY_FILE);
    if !dpath.exists() {
        let mut seed = [0u8; 32];
        random_bytes(&mut seed)?;
        write_secret(data_dir, &dpath, &format!("{}\n", hex::encode(seed)))?;
    }
    let apath = dir.join(AGE_KEY_FILE);
    if !apath.exists() {
        let id = age::x25519::Identity::generate();
        write_secret(
            data_dir,
            &apath,
            &format!("{}\n", id.to_string().expose_secret()),
        )?;
    }
    load(data_dir)
}

/// Loads existing keys; fails if they are missing or damaged.
pub fn load(data_dir: &Path) -> Result<HubKeys, KeyError> {
    let dir = data_dir.join("keys");
    let dpath = dir.join(DEVICE_KEY_FILE);
    let apath = dir.join(AGE_KEY_FILE);
    let dtext = read_secret(data_dir, &dpath)?;
    let seed: [u8; 32] = hex::decode(dtext.trim())
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| KeyError::Damaged {
            path: dpath.clone(),
            why: "not 32 bytes of hex".into(),
        })?;
    let device = DeviceKey::from_seed(seed);
    let atext = read_secret(data_dir, &apath)?;
    let identity: age::x25519::Identity =
        atext.trim().parse().map_err(|e: &str| KeyError::Damaged {
            path: apath.clone(),
            why: e.to_string(),
        })?;
    let device_id = device.public().device_id();
    Ok(HubKeys {
        device,
        device_id,
        age_recipient: identity.to_public().to_string(),
        age_identity: atext.trim().to_string(),
    })
}

/// Reads a secret file (sealed or not), tightening its permissions to 0600 if someone loosened them.
fn read_secret(data_dir: &Path, path: &Path) -> Result<String, KeyError> {
    let b = crate::shared::vault::files::read_secret(data_dir, path)?;
    String::from_utf8(b).map_err(|_| KeyError::Damaged {
        path: path.to_path_buf(),
        why: "not text".into(),
    })
}

/// Writes a secret file atomically with mode 0600, sealed on a protected, unlocked data directory.
fn write_secret(data_dir: &Path, path: &Path, content: &str) -> Result<(), KeyError> {
    Ok(crate::shared::vault::files::write_secret(
        data_dir,
        path,
        content.as_bytes(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_with_0600_and_reload_identically() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        for f in [DEVICE_KEY_FILE, AGE_KEY_FILE] {
            let mode = fs::metadata(dir.path().join("keys").join(f))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let dmode = fs::metadata(dir.path().join("keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o777, 0o700);
        let b = load_or_create(dir.path()).unwrap();
        assert_eq!(a.device_id, b.device_id);
        assert_eq!(a.age_recipient, b.age_recipient);
    }

    #[test]
    fn loosened_permissions_are_tightened_on_load() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let p = dir.path().join("keys").join(DEVICE_KEY_FILE);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        load(dir.path()).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn damaged_key_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        let p = dir.path().join("keys").join(DEVICE_KEY_FILE);
        fs::write(&p, "not hex").unwrap();
        assert!(matches!(
            load_or_create(dir.path()),
            Err(KeyError::Damaged { .. })
        ));
        assert_eq!(fs::read_to_string(&p).unwrap(), "not hex");
    }
}
