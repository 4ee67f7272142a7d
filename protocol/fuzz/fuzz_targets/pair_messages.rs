//! Signed pairing request and answer bytes (`SignedPairRequest::from_bytes`, `SignedPairAnswer::from_bytes`).
//!
//! Properties: no panic; anything that decodes re-encodes to the identical bytes and passes `check_form`;
//! verification never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{PairingCode, SignedPairAnswer, SignedPairRequest};

fuzz_target!(|data: &[u8]| {
    let code =
        PairingCode::from_bytes([0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]);
    if let Ok(r) = SignedPairRequest::from_bytes(data) {
        assert_eq!(
            r.to_bytes().unwrap(),
            data,
            "two spellings of one pair request"
        );
        r.request
            .check_form()
            .expect("a decoded request passes check_form");
        let _ = r.verify_with_code(&code);
    }
    if let Ok(a) = SignedPairAnswer::from_bytes(data) {
        assert_eq!(
            a.to_bytes().unwrap(),
            data,
            "two spellings of one pair answer"
        );
        a.answer
            .check_form()
            .expect("a decoded answer passes check_form");
    }
});
