//! Envelopes: the signed, chained header that travels with each sealed dossier and is checked before decrypting.

use serde::{Deserialize, Serialize};

use crate::canonical::{canonical_bytes, parse_canonical, sha256_hex};
use crate::error::ProtocolError;
use crate::keys::{check_device, Context, DeviceId, DeviceKey, DevicePublicKey, Signature};

/// `prev` of the first envelope (seq 1) of every device: 64 zeros.
pub const GENESIS_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The `kind` member of every envelope header.
pub const ENVELOPE_KIND: &str = "outreach-kit/envelope";

/// A ciphertext named by its SHA-256 and length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobRef {
    /// Lower-case hex SHA-256 of the ciphertext bytes.
    pub sha256: String,
    /// Ciphertext length in bytes.
    pub len: u64,
}

impl BlobRef {
    /// The reference of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobRef {
        BlobRef {
            sha256: sha256_hex(bytes),
            len: bytes.len() as u64,
        }
    }

    /// Whether `bytes` are the blob this reference names.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.len == bytes.len() as u64 && self.sha256 == sha256_hex(bytes)
    }
}

/// The envelope header: one per sealed dossier, chained per device by `prev`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeHeader {
    /// Always [`ENVELOPE_KIND`].
    pub kind: String,
    /// Protocol version, 1.
    pub v: u32,
    /// The sealing device.
    pub device_id: DeviceId,
    /// 1, 2, 3… per device, never reused.
    pub seq: u64,
    /// [`EnvelopeHeader::hash`] of the previous header, or [`GENESIS_PREV`] for seq 1.
    pub prev: String,
    /// RFC 3339 time of sealing.
    pub sealed_at: String,
    /// The age ciphertext of the `SignedDossier` bytes.
    pub payload: BlobRef,
    /// The age ciphertexts of each attachment, in the dossier's attachment order.
    pub blobs: Vec<BlobRef>,
}

/// An envelope header with its device signature (context `outreach-kit/v1/envelope`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEnvelope {
    /// The header.
    pub header: EnvelopeHeader,
    /// Signature over `"outreach-kit/v1/envelope\n" || canonical_bytes(header)`.
    pub signature: Signature,
}

impl EnvelopeHeader {
    /// `sha256_hex(canonical_bytes(header))` — what the next header's `prev` and the manifest name.
    pub fn hash(&self) -> Result<String, ProtocolError> {
        Ok(sha256_hex(&canonical_bytes(self)?))
    }

    /// The canonical bytes of the header (what is stored and hashed).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        canonical_bytes(self)
    }

    /// Parses canonical header bytes and checks kind, version and the form of `seq`, `prev` and hashes.
    pub fn from_bytes(bytes: &[u8]) -> Result<EnvelopeHeader, ProtocolError> {
        let h: EnvelopeHeader = parse_canonical(bytes)?;
        h.check_form()?;
        Ok(h)
    }

    /// Checks kind, version, `1 ≤ seq ≤ 2⁵³ − 1` (every protocol integer is below 2⁵³), `prev` and blob
    /// hashes being 64 lower-case hex characters.
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        if self.kind != ENVELOPE_KIND {
            return Err(ProtocolError::Kind {
                expected: ENVELOPE_KIND,
                found: self.kind.clone(),
            });
        }
        if self.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Version { found: self.v });
        }
        if self.seq == 0 {
            return Err(ProtocolError::Json("seq starts at 1".into()));
        }
        if self.seq > crate::MAX_INTEGER {
            return Err(ProtocolError::Json(format!(
                "seq {} is above 2^53 - 1, the largest protocol integer",
                self.seq
            )));
        }
        if self.seq == 1 && self.prev != GENESIS_PREV {
            return Err(ProtocolError::Json(
                "seq 1 must have the genesis prev".into(),
            ));
        }
        for h in std::iter::once(&self.prev)
            .chain(std::iter::once(&self.payload.sha256))
            .chain(self.blobs.iter().map(|b| &b.sha256))
        {
            if !crate::canonical::is_sha256_hex(h) {
                return Err(ProtocolError::BadHex(format!(
                    "{h:?} is not a lower-case SHA-256 hex digest"
                )));
            }
        }
        Ok(())
    }

    /// Signs the header with the device key.
    pub fn sign(self, key: &DeviceKey) -> Result<SignedEnvelope, ProtocolError> {
        let signature = key.sign_value(Context::Envelope, &self)?;
        Ok(SignedEnvelope {
            header: self,
            signature,
        })
    }
}

impl SignedEnvelope {
    /// Checks that `header.device_id` is the id of `key` and the signature.
    pub fn verify(&self, key: &DevicePublicKey) -> Result<(), ProtocolError> {
        check_device(&self.header.device_id, key)?;
        key.verify_value(Context::Envelope, &self.header, &self.signature)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn header(key: &DeviceKey, seq: u64, prev: &str) -> EnvelopeHeader {
        EnvelopeHeader {
            kind: ENVELOPE_KIND.into(),
            v: 1,
            device_id: key.public().device_id(),
            seq,
            prev: prev.into(),
            sealed_at: "2026-11-23T08:15:00Z".into(),
            payload: BlobRef::of(b"payload"),
            blobs: vec![BlobRef::of(b"photo-1")],
        }
    }

    #[test]
    fn sign_verify_and_tamper() {
        let key = DeviceKey::from_seed([5; 32]);
        let signed = header(&key, 1, GENESIS_PREV).sign(&key).unwrap();
        signed.verify(&key.public()).unwrap();
        let mut t = signed.clone();
        t.header.payload.len += 1;
        assert_eq!(t.verify(&key.public()), Err(ProtocolError::BadSignature));
        let mut t = signed;
        t.header.seq = 2;
        assert_eq!(t.verify(&key.public()), Err(ProtocolError::BadSignature));
    }

    #[test]
    fn hash_is_sha256_of_canonical_bytes_and_round_trips() {
        let key = DeviceKey::from_seed([5; 32]);
        let h = header(&key, 1, GENESIS_PREV);
        let bytes = h.to_bytes().unwrap();
        assert_eq!(h.hash().unwrap(), sha256_hex(&bytes));
        assert_eq!(EnvelopeHeader::from_bytes(&bytes).unwrap(), h);
        let h2 = header(&key, 2, &h.hash().unwrap());
        assert_ne!(h2.hash().unwrap(), h.hash().unwrap());
    }

    #[test]
    fn from_bytes_checks_form() {
        let key = DeviceKey::from_seed([5; 32]);
        let mut h = header(&key, 1, GENESIS_PREV);
        h.kind = "x".into();
        assert!(matches!(
            EnvelopeHeader::from_bytes(&h.to_bytes().unwrap()),
            Err(ProtocolError::Kind { .. })
        ));
        let h = header(&key, 0, GENESIS_PREV);
        assert!(EnvelopeHeader::from_bytes(&h.to_bytes().unwrap()).is_err());
        let h = header(&key, 1, &sha256_hex(b"x"));
        assert!(EnvelopeHeader::from_bytes(&h.to_bytes().unwrap()).is_err());
        let h = header(&key, 2, "ABC");
        assert!(matches!(
            EnvelopeHeader::from_bytes(&h.to_bytes().unwrap()),
            Err(ProtocolError::BadHex(_))
        ));
    }

    #[test]
    fn blob_ref_matches() {
        let b = BlobRef::of(b"abc");
        assert!(b.matches(b"abc"));
        assert!(!b.matches(b"abd"));
    }
}

#[cfg(test)]
mod limits_tests {
    use super::*;

    /// Found by the protocol fuzz run: a seq near u64::MAX decoded, and the hub's `seq + 1` and `as i64`
    /// arithmetic then overflowed or wrapped. The protocol says every integer is below 2⁵³.
    #[test]
    fn seqs_above_the_largest_protocol_integer_are_refused() {
        let mut h = EnvelopeHeader {
            kind: ENVELOPE_KIND.into(),
            v: 1,
            device_id: crate::DeviceKey::from_seed([1; 32]).public().device_id(),
            seq: crate::MAX_INTEGER,
            prev: "a".repeat(64),
            sealed_at: "2026-11-23T02:15:00Z".into(),
            payload: BlobRef::of(b"x"),
            blobs: vec![],
        };
        h.check_form().unwrap();
        h.seq = crate::MAX_INTEGER + 1;
        assert!(h.check_form().is_err());
        h.seq = u64::MAX;
        assert!(h.check_form().is_err());
    }
}
