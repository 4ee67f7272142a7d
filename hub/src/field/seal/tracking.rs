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
/// LF code-as-displayed), written like a receipt code and in the receipt code's own form (14 digits for a
/// receipt sealed now; 8 symbols and a check symbol for one sealed before digit codes, so its slip reprints
/// as first printed). The MAC is over the code as issued, so a receipt keeps its key across the change of
/// form. Printed on the slip and carried by the tracking QR; without it the public status answers nothing,
/// so a receipt code computed from a neighbour's slip (codes follow the device id and receipt number)
/// reveals nothing. A key is a secret, not a name: [`key_matches`] accepts it typed in either form.
pub fn tracking_key(c: &Connection, code: &ReceiptCode) -> StoreResult<ReceiptCode> {
    let mac = hmac_sha256(
        &secret(c)?,
        format!("outreach-kit/track\n{code}").as_bytes(),
    );
    let mut five = [0u8; 5];
    five.copy_from_slice(&mac[..5]);
    Ok(ReceiptCode::from_entropy(five).in_form(code.form()))
}

/// Whether `typed` is the tracking key of receipt `code` (same 40 bits, whichever form it was typed in).
pub fn key_matches(c: &Connection, code: &ReceiptCode, typed: &ReceiptCode) -> StoreResult<bool> {
    Ok(tracking_key(c, code)?.value() == typed.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_written_in_its_receipt_code_form_and_matches_typed_in_either() {
        use protocol::ReceiptCodeForm::{Crockford, Digits};
        let c = crate::shared::store::open_memory().unwrap();
        let new = ReceiptCode::parse("0576-4731-3978-80").unwrap();
        let old = ReceiptCode::parse("GRW7-M2JC-F").unwrap();
        let (kn, ko) = (
            tracking_key(&c, &new).unwrap(),
            tracking_key(&c, &old).unwrap(),
        );
        assert_eq!((kn.form(), ko.form()), (Digits, Crockford));
        // The MAC is over the code as issued: the two forms of one value have unrelated keys.
        assert_ne!(kn.value(), ko.value());
        assert_eq!(tracking_key(&c, &old).unwrap(), ko, "stable");
        for typed in [ko.clone(), ko.in_form(Digits)] {
            assert!(key_matches(&c, &old, &typed).unwrap());
            assert!(!key_matches(&c, &new, &typed).unwrap());
        }
        assert!(key_matches(&c, &new, &kn.in_form(Crockford)).unwrap());
    }

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
