//! Sealing: age (X25519) encryption to the office's recipients and decryption with its identity, in memory.
//!
//! age draws each file key from its own internal RNG (OS randomness). That is the one accepted exception to
//! the crate's "no OS randomness" rule: ciphertexts are therefore not reproducible, and the test vectors
//! record plaintexts and hashes, never ciphertexts.

use std::io::{Read, Write};
use std::str::FromStr;

use crate::error::ProtocolError;

/// Parses an age X25519 recipient (`age1…`).
pub fn parse_recipient(s: &str) -> Result<age::x25519::Recipient, ProtocolError> {
    age::x25519::Recipient::from_str(s)
        .map_err(|e| ProtocolError::BadKey(format!("age recipient {s:?}: {e}")))
}

/// Parses an age X25519 identity (`AGE-SECRET-KEY-1…`). The error never repeats the secret.
pub fn parse_identity(s: &str) -> Result<age::x25519::Identity, ProtocolError> {
    age::x25519::Identity::from_str(s.trim())
        .map_err(|e| ProtocolError::BadKey(format!("age identity: {e}")))
}

/// The recipient (`age1…`) that belongs to an identity (`AGE-SECRET-KEY-1…`).
pub fn recipient_of(identity: &str) -> Result<String, ProtocolError> {
    Ok(parse_identity(identity)?.to_public().to_string())
}

/// Encrypts `plaintext` to every recipient in the binary (not armored) age format.
pub fn encrypt_to(recipients: &[String], plaintext: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    if recipients.is_empty() {
        return Err(ProtocolError::Crypto("no recipients to encrypt to".into()));
    }
    let parsed = recipients
        .iter()
        .map(|r| parse_recipient(r))
        .collect::<Result<Vec<_>, _>>()?;
    let encryptor =
        age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|e| ProtocolError::Crypto(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| ProtocolError::Crypto(e.to_string()))?;
    writer
        .write_all(plaintext)
        .map_err(|e| ProtocolError::Crypto(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| ProtocolError::Crypto(e.to_string()))?;
    Ok(out)
}

/// Decrypts a binary age file with one X25519 identity.
pub fn decrypt_with(identity: &str, ciphertext: &[u8]) -> Result<Vec<u8>, ProtocolError> {
    let identity = parse_identity(identity)?;
    let decryptor = age::Decryptor::new_buffered(ciphertext)
        .map_err(|e| ProtocolError::Crypto(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| ProtocolError::Crypto(e.to_string()))?;
    let mut out = Vec::new();
    reader
        .read_to_end(&mut out)
        .map_err(|e| ProtocolError::Crypto(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn identity() -> (String, String) {
        let id = age::x25519::Identity::generate();
        (
            id.to_string().expose_secret().to_string(),
            id.to_public().to_string(),
        )
    }

    #[test]
    fn round_trip() {
        let (sk, pk) = identity();
        let ct = encrypt_to(std::slice::from_ref(&pk), b"xin chao").unwrap();
        assert!(ct.starts_with(b"age-encryption.org/v1\n"));
        assert_eq!(decrypt_with(&sk, &ct).unwrap(), b"xin chao");
        assert_eq!(recipient_of(&sk).unwrap(), pk);
    }

    #[test]
    fn two_recipients_each_decrypt() {
        let (sk1, pk1) = identity();
        let (sk2, pk2) = identity();
        let ct = encrypt_to(&[pk1, pk2], b"hai").unwrap();
        assert_eq!(decrypt_with(&sk1, &ct).unwrap(), b"hai");
        assert_eq!(decrypt_with(&sk2, &ct).unwrap(), b"hai");
    }

    #[test]
    fn wrong_identity_fails() {
        let (_, pk) = identity();
        let (other_sk, _) = identity();
        let ct = encrypt_to(&[pk], b"secret").unwrap();
        assert!(matches!(
            decrypt_with(&other_sk, &ct),
            Err(ProtocolError::Crypto(_))
        ));
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let (sk, pk) = identity();
        let mut ct = encrypt_to(&[pk], b"secret").unwrap();
        let last = ct.len() - 1;
        ct[last] ^= 1;
        assert!(decrypt_with(&sk, &ct).is_err());
    }

    #[test]
    fn empty_or_bad_recipients_rejected() {
        assert!(matches!(
            encrypt_to(&[], b"x"),
            Err(ProtocolError::Crypto(_))
        ));
        assert!(matches!(
            encrypt_to(&["age1nope".into()], b"x"),
            Err(ProtocolError::BadKey(_))
        ));
        assert!(matches!(
            decrypt_with("AGE-SECRET-KEY-1NOPE", b"x"),
            Err(ProtocolError::BadKey(_))
        ));
    }
}
