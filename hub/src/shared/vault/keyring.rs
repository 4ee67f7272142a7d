//! `DATA/keys/keyring.json` (0600): the wrapped copies of the data key, the only form in which it is on
//! disk. Its presence is what makes a data directory *protected*. It holds no personal data of villagers:
//! the officers' and admins' user names and roles (the login screen needs them to unlock), a public check
//! value of the key, one password-wrapped copy per officer/admin, and one escrow copy (an age message to
//! the paired office key(s) and the recovery key). Written atomically; a process-wide lock serialises
//! changes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::wrap::{self, PasswordWrap};
use super::{files, io_err, DataKey, VaultError, VaultResult};

/// The keyring file of a data directory.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("keyring.json")
}

/// Serialises read-modify-write cycles of keyring files in this process.
static EDIT: Mutex<()> = Mutex::new(());

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The keyring.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Keyring {
    /// Format version (1).
    pub version: u32,
    /// [`DataKey::check_value`] of the data key.
    pub check: String,
    /// When the directory was protected (RFC 3339).
    pub protected_at: String,
    /// The hub's name (public: it is announced on the network), for the banner of a locked start.
    #[serde(default)]
    pub hub_name: String,
    pub users: Vec<UserCopy>,
    pub escrow: Option<Escrow>,
}

/// The data key wrapped by one user's password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserCopy {
    pub user_id: String,
    /// The user name as login compares it (NFC, lower case).
    pub name_key: String,
    pub role: String,
    /// A tag of the password hash the copy was made with: a different hash in the users table means the
    /// password changed since, and the copy is made again at the next login.
    pub pw_tag: String,
    pub salt: String,
    pub nonce: String,
    pub wrapped: String,
    pub updated_at: String,
}

/// The data key encrypted to age recipients whose secrets are not on the hub.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Escrow {
    /// The `age1…` recipients, sorted.
    pub recipients: Vec<String>,
    /// The age message, base64.
    pub armored: String,
}

impl UserCopy {
    fn to_wrap(&self) -> Option<PasswordWrap> {
        Some(PasswordWrap {
            salt: B64.decode(&self.salt).ok()?.try_into().ok()?,
            nonce: B64.decode(&self.nonce).ok()?.try_into().ok()?,
            wrapped: B64.decode(&self.wrapped).ok()?,
        })
    }
}

/// Reads the keyring of `data_dir`; `None` when the directory is not protected.
pub fn load(data_dir: &Path) -> VaultResult<Option<Keyring>> {
    let p = path(data_dir);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| VaultError::Damaged {
                path: p,
                why: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&p)(e)),
    }
}

/// Writes the keyring of `data_dir` (atomically, 0600).
pub fn save(data_dir: &Path, kr: &Keyring) -> VaultResult<()> {
    let p = path(data_dir);
    let body = serde_json::to_vec_pretty(kr).map_err(|e| VaultError::Crypto(e.to_string()))?;
    files::write_atomic(&p, &body)
}

/// Writes the keyring to `target` (a path beside the real one, for a conversion's commit).
pub fn save_to(target: &Path, kr: &Keyring) -> VaultResult<()> {
    let body = serde_json::to_vec_pretty(kr).map_err(|e| VaultError::Crypto(e.to_string()))?;
    files::write_atomic(target, &body)
}

/// A user name as login and the keyring compare it: NFC, lower case (`shared::auth` uses this too).
pub fn name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    name.nfc().collect::<String>().to_lowercase()
}

/// A tag of a password hash (see [`UserCopy::pw_tag`]).
pub fn pw_tag(password_hash: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(password_hash.as_bytes())[..12])
}

/// Who a copy is made for.
#[derive(Debug, Clone)]
pub struct Holder<'a> {
    pub user_id: &'a str,
    pub name_key: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
}

fn copy_for(key: &DataKey, h: &Holder<'_>, password: &str) -> VaultResult<UserCopy> {
    let w = wrap::wrap_password(key, h.user_id, password)?;
    Ok(UserCopy {
        user_id: h.user_id.to_string(),
        name_key: h.name_key.to_string(),
        role: h.role.to_string(),
        pw_tag: pw_tag(h.password_hash),
        salt: B64.encode(w.salt),
        nonce: B64.encode(w.nonce),
        wrapped: B64.encode(&w.wrapped),
        updated_at: crate::shared::clock::now_rfc3339(),
    })
}

impl Keyring {
    /// A new keyring for `key` with its first holder.
    pub fn new(key: &DataKey, first: &Holder<'_>, password: &str) -> VaultResult<Keyring> {
        Ok(Keyring {
            version: 1,
            check: key.check_value(),
            protected_at: crate::shared::clock::now_rfc3339(),
            hub_name: String::new(),
            users: vec![copy_for(key, first, password)?],
            escrow: None,
        })
    }

    /// The data key from the password of the user `name_key`. Costs one argon2id run whether or not the
    /// name has a copy, so timing does not tell which names can unlock.
    pub fn unlock(&self, name_key: &str, password: &str) -> VaultResult<(DataKey, UserCopy)> {
        let found = self.users.iter().find(|u| u.name_key == name_key);
        let Some(u) = found else {
            let dummy = PasswordWrap {
                salt: [0; 16],
                nonce: [0; 24],
                wrapped: vec![0; 48],
            };
            let _ = wrap::unwrap_password(&dummy, "-", password);
            return Err(VaultError::BadPassword);
        };
        let w = u.to_wrap().ok_or(VaultError::BadPassword)?;
        let key = wrap::unwrap_password(&w, &u.user_id, password)?;
        self.checked(key).map(|k| (k, u.clone()))
    }

    /// The data key from an escrow identity (the office's key or the recovery key).
    pub fn unlock_escrow(&self, identity_text: &str) -> VaultResult<DataKey> {
        let e = self.escrow.as_ref().ok_or(VaultError::BadIdentity)?;
        let key = wrap::unwrap_escrow(&e.armored, identity_text)?;
        self.checked(key)
    }

    fn checked(&self, key: DataKey) -> VaultResult<DataKey> {
        if key.check_value() == self.check {
            Ok(key)
        } else {
            Err(VaultError::BadIdentity)
        }
    }

    /// Whether `user_id`'s copy was made with the password whose hash is `password_hash`.
    pub fn is_current(&self, user_id: &str, password_hash: &str) -> bool {
        let tag = pw_tag(password_hash);
        self.users
            .iter()
            .any(|u| u.user_id == user_id && u.pw_tag == tag)
    }
}

/// Adds or replaces the copy of `holder` in the keyring of the unlocked `data_dir` (one argon2id run).
/// Does nothing on a directory that is not protected or not unlocked in this process.
pub fn enrol(data_dir: &Path, holder: &Holder<'_>, password: &str) -> VaultResult<bool> {
    let Some(key) = super::unlocked(data_dir) else {
        return Ok(false);
    };
    let copy = copy_for(&key, holder, password)?;
    let _g = EDIT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut kr) = load(data_dir)? else {
        return Ok(false);
    };
    kr.users.retain(|u| u.user_id != holder.user_id);
    kr.users.push(copy);
    save(data_dir, &kr)?;
    Ok(true)
}

/// Removes `user_id`'s copy (an account disabled, or no longer an officer): that password no longer
/// unlocks the hub.
pub fn remove(data_dir: &Path, user_id: &str) -> VaultResult<bool> {
    let _g = EDIT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut kr) = load(data_dir)? else {
        return Ok(false);
    };
    let before = kr.users.len();
    kr.users.retain(|u| u.user_id != user_id);
    if kr.users.len() == before {
        return Ok(false);
    }
    save(data_dir, &kr)?;
    Ok(true)
}

/// Makes the escrow copy for exactly `recipients` (the paired office keys and the recovery key), when the
/// directory is protected and unlocked and the copy is for other recipients. Returns whether it changed.
pub fn set_escrow(data_dir: &Path, recipients: &[String]) -> VaultResult<bool> {
    let Some(key) = super::unlocked(data_dir) else {
        return Ok(false);
    };
    let mut want: Vec<String> = recipients.iter().map(|r| r.trim().to_string()).collect();
    want.sort();
    want.dedup();
    let _g = EDIT.lock().unwrap_or_else(|e| e.into_inner());
    let Some(mut kr) = load(data_dir)? else {
        return Ok(false);
    };
    let current = kr.escrow.as_ref().map(|e| e.recipients.clone());
    if current.as_ref() == Some(&want) || (current.is_none() && want.is_empty()) {
        return Ok(false);
    }
    kr.escrow = if want.is_empty() {
        None
    } else {
        Some(Escrow {
            armored: wrap::wrap_escrow(&key, &want)?,
            recipients: want,
        })
    };
    save(data_dir, &kr)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder<'a>(id: &'a str, name: &'a str, hash: &'a str) -> Holder<'a> {
        Holder {
            user_id: id,
            name_key: name,
            role: "officer",
            password_hash: hash,
        }
    }

    #[test]
    fn officers_unlock_with_their_passwords_and_the_office_with_its_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        let key = DataKey::generate().unwrap();
        let kr = Keyring::new(&key, &holder("u1", "lan", "h1"), "mật khẩu của Lan").unwrap();
        save(dir.path(), &kr).unwrap();
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        assert!(!text.contains("mật khẩu"));
        super::super::register(dir.path(), key.clone());
        assert!(enrol(dir.path(), &holder("u2", "minh", "h2"), "mật khẩu của Minh").unwrap());
        let (office, office_r) = wrap::new_identity();
        assert!(set_escrow(dir.path(), std::slice::from_ref(&office_r)).unwrap());
        assert!(!set_escrow(dir.path(), &[office_r]).unwrap(), "unchanged");
        super::super::forget(dir.path());

        let kr = load(dir.path()).unwrap().unwrap();
        let (k, u) = kr.unlock("minh", "mật khẩu của Minh").unwrap();
        assert_eq!(k.bytes(), key.bytes());
        assert_eq!(u.user_id, "u2");
        assert!(kr.unlock("lan", "mật khẩu của Lan").is_ok());
        assert!(matches!(
            kr.unlock("lan", "mật khẩu của Minh"),
            Err(VaultError::BadPassword)
        ));
        assert!(matches!(
            kr.unlock("nobody", "x"),
            Err(VaultError::BadPassword)
        ));
        assert_eq!(kr.unlock_escrow(&office).unwrap().bytes(), key.bytes());
        assert!(kr.is_current("u1", "h1"));
        assert!(!kr.is_current("u1", "h1-changed"));
        assert!(remove(dir.path(), "u1").unwrap());
        let kr = load(dir.path()).unwrap().unwrap();
        assert!(kr.unlock("lan", "mật khẩu của Lan").is_err());
    }
}
