//! How the data key is wrapped, and how secret bytes are sealed:
//!
//! - **by a password**: argon2id (19 MiB, 2 passes, 1 lane, 16-byte random salt) turns the password into a
//!   256-bit key that encrypts the data key with XChaCha20-Poly1305 (24-byte random nonce), the
//!   associated data binding the copy to its user (`outreach-vault/user:<user id>`). A wrong password
//!   fails the tag check: nothing is learnt but "wrong".
//! - **by age recipients** (escrow): the data key is one age message to the paired office key(s) and the
//!   recovery key, whose secret halves are not on the hub.
//! - **sealed bytes** (secret files): XChaCha20-Poly1305 under the data key's file key, the associated
//!   data naming the file, so a sealed `ca.key` cannot be passed off as `device.ed25519`.

use std::io::{Read, Write};

use argon2::Argon2;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroize;

use super::{DataKey, VaultError, VaultResult};

/// A data key wrapped by one password.
#[derive(Debug, Clone)]
pub struct PasswordWrap {
    pub salt: [u8; 16],
    pub nonce: [u8; 24],
    pub wrapped: Vec<u8>,
}

fn random<const N: usize>() -> VaultResult<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::getrandom(&mut b).map_err(|e| VaultError::Random(e.to_string()))?;
    Ok(b)
}

/// The key-encryption key of `password` with `salt` (argon2id, the login's parameters).
fn kek(password: &str, salt: &[u8; 16]) -> VaultResult<[u8; 32]> {
    let mut out = [0u8; 32];
    Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| VaultError::Crypto(e.to_string()))?;
    Ok(out)
}

fn user_aad(user_id: &str) -> Vec<u8> {
    format!("outreach-vault/user:{user_id}").into_bytes()
}

/// Wraps `key` by `password` for the user `user_id` (one argon2id run: about 0.1 s here, 0.5 s on a Pi).
pub fn wrap_password(key: &DataKey, user_id: &str, password: &str) -> VaultResult<PasswordWrap> {
    let salt = random::<16>()?;
    let nonce = random::<24>()?;
    let mut k = kek(password, &salt)?;
    let cipher = XChaCha20Poly1305::new((&k).into());
    k.zeroize();
    let aad = user_aad(user_id);
    let wrapped = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: key.bytes(),
                aad: &aad,
            },
        )
        .map_err(|e| VaultError::Crypto(e.to_string()))?;
    Ok(PasswordWrap {
        salt,
        nonce,
        wrapped,
    })
}

/// Unwraps a password-wrapped key; [`VaultError::BadPassword`] when the password (or the user) is wrong.
pub fn unwrap_password(w: &PasswordWrap, user_id: &str, password: &str) -> VaultResult<DataKey> {
    let mut k = kek(password, &w.salt)?;
    let cipher = XChaCha20Poly1305::new((&k).into());
    k.zeroize();
    let aad = user_aad(user_id);
    let mut plain = cipher
        .decrypt(
            XNonce::from_slice(&w.nonce),
            Payload {
                msg: &w.wrapped,
                aad: &aad,
            },
        )
        .map_err(|_| VaultError::BadPassword)?;
    let key = DataKey::from_bytes(&plain).ok_or(VaultError::BadPassword);
    plain.zeroize();
    key
}

/// Encrypts `key` to the age `recipients` (`age1…`): the age message in base64 (standard alphabet).
pub fn wrap_escrow(key: &DataKey, recipients: &[String]) -> VaultResult<String> {
    let parsed: Vec<age::x25519::Recipient> = recipients
        .iter()
        .map(|r| {
            r.trim()
                .parse()
                .map_err(|e: &str| VaultError::Crypto(format!("bad recipient {r}: {e}")))
        })
        .collect::<VaultResult<_>>()?;
    let enc = age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
        .map_err(|e| VaultError::Crypto(e.to_string()))?;
    let mut out = Vec::new();
    let mut w = enc
        .wrap_output(&mut out)
        .map_err(|e| VaultError::Crypto(e.to_string()))?;
    w.write_all(key.bytes())
        .map_err(|e| VaultError::Crypto(e.to_string()))?;
    w.finish().map_err(|e| VaultError::Crypto(e.to_string()))?;
    use base64::Engine;
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Decrypts an escrow copy with an age identity (`AGE-SECRET-KEY-1…`, one per line; comments allowed):
/// the office's key or the recovery key. [`VaultError::BadIdentity`] when none of them opens it.
pub fn unwrap_escrow(message_b64: &str, identity_text: &str) -> VaultResult<DataKey> {
    use base64::Engine;
    let message = base64::engine::general_purpose::STANDARD
        .decode(message_b64.trim())
        .map_err(|_| VaultError::BadIdentity)?;
    let ids: Vec<age::x25519::Identity> = identity_text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
        .filter_map(|l| l.parse().ok())
        .collect();
    if ids.is_empty() {
        return Err(VaultError::BadIdentity);
    }
    let dec = age::Decryptor::new(&message[..]).map_err(|e| VaultError::Crypto(e.to_string()))?;
    let mut r = dec
        .decrypt(ids.iter().map(|i| i as &dyn age::Identity))
        .map_err(|_| VaultError::BadIdentity)?;
    let mut plain = Vec::new();
    r.read_to_end(&mut plain)
        .map_err(|_| VaultError::BadIdentity)?;
    let key = DataKey::from_bytes(&plain).ok_or(VaultError::BadIdentity);
    plain.zeroize();
    key
}

/// The public recipient of an age identity text (first identity), to say which key was used.
pub fn identity_recipient(identity_text: &str) -> Option<String> {
    identity_text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .and_then(|l| l.parse::<age::x25519::Identity>().ok())
        .map(|i| i.to_public().to_string())
}

/// Seals `plain` under the data key's file key, bound to `label` (a file name): nonce ‖ ciphertext.
pub fn seal(key: &DataKey, label: &str, plain: &[u8]) -> VaultResult<Vec<u8>> {
    let nonce = random::<24>()?;
    let mut k = key.file_key();
    let cipher = XChaCha20Poly1305::new((&k).into());
    k.zeroize();
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: label.as_bytes(),
            },
        )
        .map_err(|e| VaultError::Crypto(e.to_string()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens bytes made by [`seal`] with the same key and label; `None` when they were not (tampered, another
/// file's, another hub's).
pub fn open(key: &DataKey, label: &str, sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 24 + 16 {
        return None;
    }
    let mut k = key.file_key();
    let cipher = XChaCha20Poly1305::new((&k).into());
    k.zeroize();
    cipher
        .decrypt(
            XNonce::from_slice(&sealed[..24]),
            Payload {
                msg: &sealed[24..],
                aad: label.as_bytes(),
            },
        )
        .ok()
}

/// A new age identity text and its recipient (tests).
#[cfg(test)]
pub fn new_identity() -> (String, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    (
        id.to_string().expose_secret().to_string(),
        id.to_public().to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_wrap_opens_with_its_password_and_user_only() {
        let k = DataKey::generate().unwrap();
        let w = wrap_password(&k, "u1", "mật khẩu đúng").unwrap();
        let back = unwrap_password(&w, "u1", "mật khẩu đúng").unwrap();
        assert_eq!(back.bytes(), k.bytes());
        assert!(matches!(
            unwrap_password(&w, "u1", "mật khẩu sai"),
            Err(VaultError::BadPassword)
        ));
        assert!(matches!(
            unwrap_password(&w, "u2", "mật khẩu đúng"),
            Err(VaultError::BadPassword)
        ));
        let mut bad = w.clone();
        bad.wrapped[0] ^= 1;
        assert!(unwrap_password(&bad, "u1", "mật khẩu đúng").is_err());
    }

    #[test]
    fn an_escrow_copy_opens_with_any_of_its_identities_only() {
        let k = DataKey::generate().unwrap();
        let (office, office_r) = new_identity();
        let (recovery, recovery_r) = new_identity();
        let (other, _) = new_identity();
        let w = wrap_escrow(&k, &[office_r.clone(), recovery_r]).unwrap();
        assert_eq!(unwrap_escrow(&w, &office).unwrap().bytes(), k.bytes());
        assert_eq!(unwrap_escrow(&w, &recovery).unwrap().bytes(), k.bytes());
        assert!(matches!(
            unwrap_escrow(&w, &other),
            Err(VaultError::BadIdentity)
        ));
        assert!(matches!(
            unwrap_escrow(&w, "not a key"),
            Err(VaultError::BadIdentity)
        ));
        assert_eq!(identity_recipient(&office), Some(office_r));
    }

    #[test]
    fn sealed_bytes_open_only_with_their_key_and_label() {
        let k = DataKey::generate().unwrap();
        let s = seal(&k, "device.ed25519", b"secret seed").unwrap();
        assert_eq!(open(&k, "device.ed25519", &s).unwrap(), b"secret seed");
        assert!(open(&k, "ca.key", &s).is_none());
        assert!(open(&DataKey::generate().unwrap(), "device.ed25519", &s).is_none());
        assert!(!s.windows(6).any(|w| w == b"secret"));
    }
}
