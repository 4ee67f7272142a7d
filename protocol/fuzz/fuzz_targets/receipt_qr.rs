//! Receipt QR payloads (`SignedReceipt::from_qr_text`, then `verify` against the key of
//! `vectors/keys.json`'s field hub).
//!
//! Properties: no panic; a payload that parses re-encodes to exactly the input text (one spelling); a
//! payload that verifies still verifies after the round trip, and its code (digit form, or the Crockford
//! form of receipts issued before digit codes) is the one derived from its device and sequence number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{DeviceKey, ReceiptCode, SignedReceipt};

fn field_key() -> DeviceKey {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = i as u8;
    }
    DeviceKey::from_seed(seed)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(signed) = SignedReceipt::from_qr_text(text) else {
        return;
    };
    assert_eq!(
        signed.to_qr_text().expect("a parsed receipt re-encodes"),
        text,
        "two spellings of one receipt"
    );
    let key = field_key().public();
    if signed.verify(&key).is_ok() {
        let r = &signed.receipt;
        assert_eq!(
            ReceiptCode::derive(&r.device_id, r.seq).value(),
            r.code.value()
        );
        assert!(r.code.is_derived_from(&r.device_id, r.seq));
        let again = SignedReceipt::from_qr_text(&signed.to_qr_text().unwrap()).unwrap();
        assert!(again.verify(&key).is_ok());
    }
});
