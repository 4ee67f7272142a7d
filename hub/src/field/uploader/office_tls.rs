//! The office's HTTPS pin on a field hub (protocol §11.9, "TLS between field and office"), kept by the uploader,
//! which owns the link to the office (pairing uses it right after pairing by code): the office's
//! CA certificate and HTTPS port, as the office's own statement (`SignedOfficeTls`) signed with the office
//! key pinned at pairing. The field fetches it right after pairing, or — for a hub paired before this
//! existed, or paired by key-card files — at its next sync, over whatever address answers: the signature is
//! checked with the pinned office key, so a fake office cannot slip its own certificate in. From then on
//! the sync session (token, holdings, uploads, acks, news) goes over HTTPS trusting exactly that CA.
//!
//! Stored in `meta` under `office_tls:<office device id>` as the canonical signed statement, verified
//! again each time it is read.

use protocol::{DeviceId, DevicePublicKey, SignedOfficeTls};
use reqwest::Method;
use rusqlite::Connection;
use tokio_util::sync::CancellationToken;

use super::client::{Body, OfficeClient, SyncError};
use crate::shared::store::{meta_get, meta_set, StoreResult};

/// What a field hub pins of its office's HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeTlsPin {
    /// DER of the office's CA certificate: the only root the field trusts for it.
    pub ca_der: Vec<u8>,
    /// SHA-256 of `ca_der`, lower-case hex.
    pub ca_sha256: String,
    /// The office's HTTPS port (`None`: the office said it serves no HTTPS).
    pub https_port: Option<u16>,
}

fn meta_key(office: &DeviceId) -> String {
    format!("office_tls:{}", office.as_str())
}

/// The pin of `office`, if any, checked again with the office key.
pub fn pinned(
    c: &Connection,
    office: &DeviceId,
    key: &DevicePublicKey,
) -> StoreResult<Option<OfficeTlsPin>> {
    let Some(text) = meta_get(c, &meta_key(office))? else {
        return Ok(None);
    };
    Ok(pin_of(text.as_bytes(), key).ok())
}

/// Stores `signed` (already verified) as the pin of its office.
pub fn save(c: &Connection, signed: &SignedOfficeTls) -> StoreResult<()> {
    let bytes = signed
        .to_bytes()
        .map_err(|e| crate::shared::store::StoreError::Corrupt(e.to_string()))?;
    meta_set(
        c,
        &meta_key(&signed.tls.office_id),
        &String::from_utf8_lossy(&bytes),
    )
}

/// Parses and verifies a signed statement with the office key.
pub fn pin_of(bytes: &[u8], key: &DevicePublicKey) -> Result<OfficeTlsPin, SyncError> {
    let signed = SignedOfficeTls::from_bytes(bytes)
        .map_err(|e| SyncError::BadAnswer(format!("office TLS: {e}")))?;
    signed
        .verify(key)
        .map_err(|e| SyncError::BadAnswer(format!("office TLS: {e}")))?;
    let ca_der = signed
        .tls
        .ca_der()
        .map_err(|e| SyncError::BadAnswer(format!("office TLS: {e}")))?;
    Ok(OfficeTlsPin {
        ca_sha256: protocol::sha256_hex(&ca_der),
        ca_der,
        https_port: signed.tls.https_port,
    })
}

/// Asks the office at `url` (no token: plain HTTP is fine, the answer is signed) for its signed TLS
/// statement and verifies it with `key`. Answers the canonical bytes to store and the pin.
pub async fn fetch(
    url: &str,
    key: &DevicePublicKey,
    cancel: CancellationToken,
) -> Result<(SignedOfficeTls, OfficeTlsPin), SyncError> {
    let client = OfficeClient::new(url, None, cancel)?;
    let b = client
        .request(Method::GET, "/api/v1/sync/tls", &Body::None, 2)
        .await?;
    let pin = pin_of(&b, key)?;
    let signed = SignedOfficeTls::from_bytes(&b)
        .map_err(|e| SyncError::BadAnswer(format!("office TLS: {e}")))?;
    Ok((signed, pin))
}
