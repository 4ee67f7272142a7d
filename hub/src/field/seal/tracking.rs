//! The tracking key of a receipt: printed on the slip and carried by its tracking QR, it is what the public
//! receipt status (`selfservice`) asks for besides the receipt code.

use protocol::ReceiptCode;
use rusqlite::{Connection, OptionalExtension};

use crate::shared::store::{StoreError, StoreResult};

/// HMAC-SHA256 (RFC 2104) of `msg` under `key` (≤ 64 bytes).
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let (mut ipad, mut opad) = ([0x36u8; 64], [0x5cu8; 64]);
    for i in 0..64 {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn secret(c: &Connection) -> StoreResult<Vec<u8>> {
    if let Some(k) = c
        .query_row("SELECT key FROM selfservice_secret WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()?
    {
        return Ok(k);
    }
    let mut k = vec![0u8; 32];
    getrandom::getrandom(&mut k).map_err(|e| StoreError::Corrupt(format!("random: {e}")))?;
    c.execute(
        "INSERT OR IGNORE INTO selfservice_secret(id, key) VALUES (1, ?1)",
        [&k],
    )
    .map_err(StoreError::classify)?;
    Ok(
        c.query_row("SELECT key FROM selfservice_secret WHERE id = 1", [], |r| {
            r.get(0)
        })?,
    )
}

/// The tracking key of receipt `code`: the first 40 bits of HMAC-SHA256(hub secret, "outreach-kit/track"
/// LF code), written like a receipt code (8 symbols and a check symbol). Printed on the slip and carried by
/// the tracking QR; without it the public status answers nothing, so a receipt code computed from a
/// neighbour's slip (codes follow the device id and receipt number) reveals nothing.
pub fn tracking_key(c: &Connection, code: &ReceiptCode) -> StoreResult<ReceiptCode> {
    let mac = hmac_sha256(
        &secret(c)?,
        format!("outreach-kit/track\n{code}").as_bytes(),
    );
    let mut five = [0u8; 5];
    five.copy_from_slice(&mac[..5]);
    Ok(ReceiptCode::from_entropy(five))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
