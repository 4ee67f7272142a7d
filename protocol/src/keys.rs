//! Device signing keys: Ed25519 keys, signatures, device ids, and the context-separated signed message.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::canonical::{canonical_bytes, from_hex_exact, to_hex};
use crate::error::ProtocolError;

/// Domain-separation context of a signature: which kind of message is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// A sealed dossier ([`crate::dossier::Dossier`]).
    Dossier,
    /// An envelope header ([`crate::envelope::EnvelopeHeader`]).
    Envelope,
    /// A batch manifest ([`crate::batch::BatchManifest`]).
    BatchManifest,
    /// A key card's self signature ([`crate::keycard::KeyCard`]).
    KeyCard,
    /// A receipt (signed receipt QR payloads).
    Receipt,
    /// A field hub's pairing request ([`crate::sync::PairRequest`]).
    PairRequest,
    /// An office hub's pairing answer ([`crate::sync::PairAnswer`]).
    PairAnswer,
    /// What the office holds of one device ([`crate::sync::Holdings`]).
    Holdings,
    /// The office's acknowledgement of an upload ([`crate::sync::Ack`]).
    Ack,
    /// One item of status news ([`crate::sync::News`]).
    News,
    /// A field hub's answer to the office's sync challenge ([`crate::sync::SyncHello`]).
    SyncHello,
    /// The office's HTTPS certificate authority, for the field to pin ([`crate::sync::OfficeTls`]).
    OfficeTls,
    /// A procedure package the office publishes ([`crate::package::SignedPackage`]).
    ProcedurePackage,
}

impl Context {
    /// The context string that prefixes the signed message.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Dossier => "outreach-kit/v1/dossier",
            Context::Envelope => "outreach-kit/v1/envelope",
            Context::BatchManifest => "outreach-kit/v1/batch-manifest",
            Context::KeyCard => "outreach-kit/v1/key-card",
            Context::Receipt => "outreach-kit/v1/receipt",
            Context::PairRequest => "outreach-kit/v1/pair-request",
            Context::PairAnswer => "outreach-kit/v1/pair-answer",
            Context::Holdings => "outreach-kit/v1/holdings",
            Context::Ack => "outreach-kit/v1/ack",
            Context::News => "outreach-kit/v1/news",
            Context::ProcedurePackage => "outreach-kit/v1/procedure-package",
            Context::SyncHello => "outreach-kit/v1/sync-hello",
            Context::OfficeTls => "outreach-kit/v1/office-tls",
        }
    }
}

/// The exact bytes signed for `v` in context `ctx`: `ctx.as_str() || "\n" || canonical_bytes(v)`.
pub fn signed_message<T: Serialize>(ctx: Context, v: &T) -> Result<Vec<u8>, ProtocolError> {
    let body = canonical_bytes(v)?;
    let mut msg = Vec::with_capacity(ctx.as_str().len() + 1 + body.len());
    msg.extend_from_slice(ctx.as_str().as_bytes());
    msg.push(b'\n');
    msg.extend_from_slice(&body);
    Ok(msg)
}

/// A device's Ed25519 signing key. Deliberately not `Debug`/`Serialize`: the secret never leaks by accident.
#[derive(Clone)]
pub struct DeviceKey(SigningKey);

impl DeviceKey {
    /// The key whose 32-byte Ed25519 seed (RFC 8032 secret key) is `seed`. Callers supply random bytes.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        DeviceKey(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, for storing the key.
    pub fn seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> DevicePublicKey {
        DevicePublicKey(self.0.verifying_key().to_bytes())
    }

    /// Signs `ctx.as_str() || "\n" || canonical_bytes(v)`.
    pub fn sign_value<T: Serialize>(
        &self,
        ctx: Context,
        v: &T,
    ) -> Result<Signature, ProtocolError> {
        let msg = signed_message(ctx, v)?;
        Ok(Signature(self.0.sign(&msg).to_bytes()))
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKey")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// A device's Ed25519 public key (32 bytes; on the wire, 64 lower-case hex characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevicePublicKey([u8; 32]);

impl DevicePublicKey {
    /// Parses 64 lower-case hex characters; rejects bytes that are not a valid Ed25519 point.
    pub fn from_hex(s: &str) -> Result<Self, ProtocolError> {
        Self::from_bytes(from_hex_exact::<32>(s)?)
    }

    /// Wraps raw key bytes, rejecting bytes that are not a valid Ed25519 point encoding.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, ProtocolError> {
        VerifyingKey::from_bytes(&bytes).map_err(|e| ProtocolError::BadKey(e.to_string()))?;
        Ok(DevicePublicKey(bytes))
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }

    /// The device id: hex of the first 8 bytes of SHA-256(public key bytes).
    pub fn device_id(&self) -> DeviceId {
        let digest = Sha256::digest(self.0);
        DeviceId(to_hex(&digest[..8]))
    }

    /// Verifies `sig` over `ctx.as_str() || "\n" || canonical_bytes(v)` (strict RFC 8032 verification).
    pub fn verify_value<T: Serialize>(
        &self,
        ctx: Context,
        v: &T,
        sig: &Signature,
    ) -> Result<(), ProtocolError> {
        let key =
            VerifyingKey::from_bytes(&self.0).map_err(|e| ProtocolError::BadKey(e.to_string()))?;
        let msg = signed_message(ctx, v)?;
        key.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig.0))
            .map_err(|_| ProtocolError::BadSignature)
    }
}

impl fmt::Debug for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DevicePublicKey({})", self.to_hex())
    }
}

impl fmt::Display for DevicePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for DevicePublicKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for DevicePublicKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DevicePublicKey::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// An Ed25519 signature (64 bytes; on the wire, 128 lower-case hex characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 64]);

impl Signature {
    /// Parses 128 lower-case hex characters.
    pub fn from_hex(s: &str) -> Result<Self, ProtocolError> {
        Ok(Signature(from_hex_exact::<64>(s)?))
    }

    /// Wraps raw signature bytes.
    pub fn from_bytes(bytes: [u8; 64]) -> Self {
        Signature(bytes)
    }

    /// The raw 64 bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    /// 128 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        to_hex(&self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Signature::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// A device id: exactly 16 lower-case hex characters, `hex(SHA-256(public key)[0..8])`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(String);

impl DeviceId {
    /// Parses 16 lower-case hex characters (it cannot check which key it came from; compare with
    /// [`DevicePublicKey::device_id`] for that).
    pub fn parse(s: &str) -> Result<Self, ProtocolError> {
        if s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(DeviceId(s.to_owned()))
        } else {
            Err(ProtocolError::BadDeviceId(format!(
                "{s:?} is not 16 lower-case hex characters"
            )))
        }
    }

    /// The 16 hex characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for DeviceId {
    type Err = ProtocolError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeviceId::parse(s)
    }
}

impl Serialize for DeviceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DeviceId::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Checks that `device_id` is the id of `key`.
pub(crate) fn check_device(
    device_id: &DeviceId,
    key: &DevicePublicKey,
) -> Result<(), ProtocolError> {
    let actual = key.device_id();
    if &actual == device_id {
        Ok(())
    } else {
        Err(ProtocolError::DeviceMismatch {
            claimed: device_id.to_string(),
            actual: actual.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key() -> DeviceKey {
        DeviceKey::from_seed([7u8; 32])
    }

    #[test]
    fn seed_round_trips() {
        let k = key();
        assert_eq!(DeviceKey::from_seed(k.seed()).public(), k.public());
    }

    #[test]
    fn rfc8032_test_vector_1_public_key() {
        // RFC 8032 section 7.1, TEST 1.
        let seed = from_hex_exact::<32>(
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let k = DeviceKey::from_seed(seed);
        assert_eq!(
            k.public().to_hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
    }

    #[test]
    fn sign_verify_and_tamper() {
        let k = key();
        let v = json!({"a": 1, "b": "x"});
        let sig = k.sign_value(Context::Dossier, &v).unwrap();
        k.public().verify_value(Context::Dossier, &v, &sig).unwrap();
        let changed = json!({"a": 2, "b": "x"});
        assert_eq!(
            k.public().verify_value(Context::Dossier, &changed, &sig),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn context_separates_signatures() {
        let k = key();
        let v = json!({"a": 1});
        let sig = k.sign_value(Context::Dossier, &v).unwrap();
        assert_eq!(
            k.public().verify_value(Context::Envelope, &v, &sig),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn signed_message_layout() {
        let msg = signed_message(Context::Receipt, &json!({"b": 1, "a": 2})).unwrap();
        assert_eq!(msg, b"outreach-kit/v1/receipt\n{\"a\":2,\"b\":1}");
    }

    #[test]
    fn other_key_does_not_verify() {
        let v = json!({"a": 1});
        let sig = key().sign_value(Context::Dossier, &v).unwrap();
        let other = DeviceKey::from_seed([8u8; 32]).public();
        assert_eq!(
            other.verify_value(Context::Dossier, &v, &sig),
            Err(ProtocolError::BadSignature)
        );
    }

    #[test]
    fn device_id_is_first_8_bytes_of_sha256() {
        let p = key().public();
        let expected = &crate::canonical::sha256_hex(p.as_bytes())[..16];
        assert_eq!(p.device_id().as_str(), expected);
        assert_eq!(DeviceId::parse(expected).unwrap(), p.device_id());
    }

    #[test]
    fn device_id_parse_rejects_bad_forms() {
        assert!(DeviceId::parse("0123456789abcdef").is_ok());
        assert!(DeviceId::parse("0123456789ABCDEF").is_err());
        assert!(DeviceId::parse("0123456789abcde").is_err());
        assert!(DeviceId::parse("0123456789abcdeg").is_err());
        assert!(serde_json::from_str::<DeviceId>("\"xyz\"").is_err());
    }

    #[test]
    fn hex_serde_round_trips() {
        let k = key();
        let sig = k.sign_value(Context::KeyCard, &1u32).unwrap();
        let s = serde_json::to_string(&(k.public(), sig)).unwrap();
        let (p, g): (DevicePublicKey, Signature) = serde_json::from_str(&s).unwrap();
        assert_eq!((p, g), (k.public(), sig));
        assert_eq!(p.to_hex().len(), 64);
        assert_eq!(g.to_hex().len(), 128);
    }

    #[test]
    fn debug_does_not_print_seed() {
        let k = key();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&to_hex(&k.seed())));
    }
}
