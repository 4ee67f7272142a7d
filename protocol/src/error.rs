//! The one error type of the crate: every fallible protocol operation returns [`ProtocolError`].

use thiserror::Error;

/// Why a protocol operation failed. Messages are English; user-facing Vietnamese text lives in
/// [`crate::validate::FieldError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// The bytes are not valid JSON for the expected structure (includes unknown members).
    #[error("invalid JSON: {0}")]
    Json(String),
    /// The JSON parsed but its bytes are not the RFC 8785 canonical form of the value.
    #[error("JSON is not in canonical (RFC 8785) form")]
    NotCanonical,
    /// An Ed25519 signature did not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// A public key, secret key or age recipient/identity is malformed.
    #[error("bad key: {0}")]
    BadKey(String),
    /// A hex string has the wrong length or non-hex / upper-case characters.
    #[error("bad hex: {0}")]
    BadHex(String),
    /// Encryption or decryption failed.
    #[error("crypto error: {0}")]
    Crypto(String),
    /// The structure carries a protocol version this crate does not speak.
    #[error("unsupported protocol version {found}")]
    Version {
        /// The `v` found in the input.
        found: u32,
    },
    /// The `kind` member is not the expected one.
    #[error("wrong kind: expected {expected:?}, found {found:?}")]
    Kind {
        /// The kind this structure must carry.
        expected: &'static str,
        /// The kind found in the input.
        found: String,
    },
    /// A device id is not 16 lower-case hex characters.
    #[error("bad device id: {0}")]
    BadDeviceId(String),
    /// A structure's device id is not the id derived from the key that should have signed it.
    #[error("device id {claimed} does not match key (device id {actual})")]
    DeviceMismatch {
        /// The device id written in the structure.
        claimed: String,
        /// The device id derived from the public key.
        actual: String,
    },
    /// A receipt code failed to parse.
    #[error("bad receipt code: {0}")]
    BadReceiptCode(#[from] crate::receipt::ReceiptCodeError),
    /// A personal identification number failed to parse.
    #[error("bad personal identification number: {0}")]
    BadPin(String),
    /// A timestamp is not RFC 3339.
    #[error("bad timestamp {0:?}: expected RFC 3339, e.g. 2026-11-23T08:15:00Z")]
    BadTimestamp(String),
    /// A key card is structurally valid JSON but violates a key-card rule.
    #[error("bad key card: {0}")]
    BadKeyCard(String),
    /// A procedure definition is malformed (a built-in one: a build defect, caught by tests; a published
    /// one: refused).
    #[error("bad catalogue: {0}")]
    Catalogue(String),
    /// A dossier's disposition breaks its rules (reason, reference, a cancellation with content).
    #[error("bad disposition: {0}")]
    Disposition(String),
    /// A dossier breaks a rule of §1 or §3.1 (text not NFC or not trimmed, a header that disagrees with it).
    #[error("bad dossier: {0}")]
    BadDossier(String),
    /// A pairing code failed to parse (length, symbol, or check symbol: a typo).
    #[error("bad pairing code: {0}")]
    BadPairingCode(String),
    /// A pairing QR text is not `OKP1:<http(s) URL>#<code>`.
    #[error("bad pairing QR: {0}")]
    BadPairingQr(String),
    /// A sync message (pairing, holdings, chunk, acknowledgement, news) breaks one of its rules.
    #[error("bad sync message: {0}")]
    Sync(String),
    /// A procedure package, or the office's package index, breaks one of its rules (docs/protocol.md §13).
    #[error("bad procedure package: {0}")]
    Package(String),
}

impl From<serde_json::Error> for ProtocolError {
    fn from(e: serde_json::Error) -> Self {
        ProtocolError::Json(e.to_string())
    }
}
