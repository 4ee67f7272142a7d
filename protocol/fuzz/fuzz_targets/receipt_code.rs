//! Receipt codes (`ReceiptCode::parse`, lenient) and the encoder (`ReceiptCode::from_entropy`).
//!
//! Properties: no panic; a parsed code's display form and compact form re-parse to the same value, the
//! display form has the shape `XXXX-XXXX-C`, the value fits in 40 bits and re-encodes from its 5 bytes; the
//! first 5 input bytes as entropy give a code that displays and parses back to itself (also lower-cased).
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::ReceiptCode;

fn check(code: &ReceiptCode) {
    assert!(code.value() < 1 << 40, "value above 40 bits");
    let shown = code.to_string();
    assert_eq!(shown.len(), 11, "{shown:?}");
    assert_eq!(&shown[4..5], "-");
    assert_eq!(&shown[9..10], "-");
    assert_eq!(ReceiptCode::parse(&shown).as_ref(), Ok(code), "{shown:?}");
    assert_eq!(ReceiptCode::parse(&code.compact()).as_ref(), Ok(code));
    assert_eq!(
        ReceiptCode::parse(&shown.to_ascii_lowercase()).as_ref(),
        Ok(code)
    );
    let b = code.value().to_be_bytes();
    assert_eq!(
        &ReceiptCode::from_entropy([b[3], b[4], b[5], b[6], b[7]]),
        code
    );
    let json = serde_json::to_string(code).expect("serialise");
    assert_eq!(
        serde_json::from_str::<ReceiptCode>(&json).as_ref().ok(),
        Some(code)
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(code) = ReceiptCode::parse(s) {
            check(&code);
        }
    }
    if let [a, b, c, d, e, ..] = *data {
        let code = ReceiptCode::from_entropy([a, b, c, d, e]);
        check(&code);
        let n = u64::from_be_bytes([0, 0, 0, a, b, c, d, e]);
        assert_eq!(code.value(), n);
    }
});
