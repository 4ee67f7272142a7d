//! Offline verification of a receipt QR (`OKR1:…`, protocol §6): by the hub that signed it, or by any hub
//! that trusts the signer's key card. Used by `hub receipt verify`.

use protocol::{DevicePublicKey, SignedReceipt};
use rusqlite::Connection;

use crate::shared::keys::HubKeys;
use crate::shared::store::StoreResult;
use crate::shared::trust;

/// A receipt whose signature and code were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The receipt as signed.
    pub receipt: protocol::Receipt,
    /// The signing hub's name ("this hub" for our own receipts).
    pub signer: String,
}

/// Why a receipt QR was not accepted, in words a clerk can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptRejection {
    /// Not a receipt QR of this protocol (or damaged).
    #[error("not a receipt QR: {0}")]
    Malformed(String),
    /// Signed by a hub this hub does not trust.
    #[error("signed by hub {0}, which this hub does not trust (trust its key card first)")]
    UnknownSigner(String),
    /// The signature, the code or the content does not check out: altered or forged.
    #[error("the receipt does not verify (altered or forged): {0}")]
    Invalid(String),
}

/// Verifies `text` against this hub's own key, then the trusted peers' keys.
pub fn verify(
    c: &Connection,
    own: &HubKeys,
    text: &str,
) -> StoreResult<Result<VerifiedReceipt, ReceiptRejection>> {
    let signed = match SignedReceipt::from_qr_text(text.trim()) {
        Ok(s) => s,
        Err(e) => return Ok(Err(ReceiptRejection::Malformed(e.to_string()))),
    };
    let device = &signed.receipt.device_id;
    let (key, signer): (DevicePublicKey, String) = if *device == own.device_id {
        (own.device.public(), "this hub".into())
    } else {
        match trust::peer_signing_key(c, device)? {
            Some(k) => k,
            None => {
                return Ok(Err(ReceiptRejection::UnknownSigner(
                    device.as_str().to_owned(),
                )))
            }
        }
    };
    Ok(match signed.verify(&key) {
        Ok(()) => Ok(VerifiedReceipt {
            receipt: signed.receipt,
            signer,
        }),
        Err(e) => Err(ReceiptRejection::Invalid(e.to_string())),
    })
}
