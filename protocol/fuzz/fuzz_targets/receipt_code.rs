//! Receipt codes (`ReceiptCode::parse`, lenient, both forms) and the encoder (`ReceiptCode::from_entropy`,
//! `ReceiptCode::in_form`).
//!
//! Properties: no panic; a parsed code's display form and compact form re-parse to the same code (same value
//! and form); the display form has the shape of its form (`DDDD-DDDD-DDDD-DD`, digits only, or
//! `XXXX-XXXX-C`); the value fits in 40 bits and re-encodes from its 5 bytes; the other form of the same
//! value is a different code that parses back to itself; a digit code with one digit changed or two
//! adjacent digits swapped is refused; the first 5 input bytes as entropy give a code that displays and
//! parses back to itself in both forms (also lower-cased).
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{ReceiptCode, ReceiptCodeForm};

fn check(code: &ReceiptCode) {
    assert!(code.value() < 1 << 40, "value above 40 bits");
    let shown = code.to_string();
    match code.form() {
        ReceiptCodeForm::Digits => {
            assert_eq!(shown.len(), 17, "{shown:?}");
            for i in [4, 9, 14] {
                assert_eq!(&shown[i..i + 1], "-", "{shown:?}");
            }
            assert!(shown.chars().all(|c| c.is_ascii_digit() || c == '-'));
            // Damm: every single-digit error and every adjacent swap is refused.
            let compact = code.compact().into_bytes();
            for pos in 0..compact.len() {
                let mut t = compact.clone();
                t[pos] = b'0' + (t[pos] - b'0' + 1 + (code.value() % 9) as u8) % 10;
                assert!(ReceiptCode::parse(std::str::from_utf8(&t).unwrap()).is_err());
                if pos + 1 < compact.len() && compact[pos] != compact[pos + 1] {
                    let mut t = compact.clone();
                    t.swap(pos, pos + 1);
                    assert!(ReceiptCode::parse(std::str::from_utf8(&t).unwrap()).is_err());
                }
            }
        }
        ReceiptCodeForm::Crockford => {
            assert_eq!(shown.len(), 11, "{shown:?}");
            assert_eq!(&shown[4..5], "-");
            assert_eq!(&shown[9..10], "-");
        }
    }
    assert_eq!(ReceiptCode::parse(&shown).as_ref(), Ok(code), "{shown:?}");
    assert_eq!(ReceiptCode::parse(&code.compact()).as_ref(), Ok(code));
    assert_eq!(
        ReceiptCode::parse(&shown.to_ascii_lowercase()).as_ref(),
        Ok(code)
    );
    let b = code.value().to_be_bytes();
    assert_eq!(
        &ReceiptCode::from_entropy([b[3], b[4], b[5], b[6], b[7]]).in_form(code.form()),
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
            let other = code.in_form(match code.form() {
                ReceiptCodeForm::Digits => ReceiptCodeForm::Crockford,
                ReceiptCodeForm::Crockford => ReceiptCodeForm::Digits,
            });
            assert_ne!(other, code);
            assert_eq!(other.value(), code.value());
            check(&other);
        }
    }
    if let [a, b, c, d, e, ..] = *data {
        let code = ReceiptCode::from_entropy([a, b, c, d, e]);
        assert_eq!(code.form(), ReceiptCodeForm::Digits);
        check(&code);
        check(&code.in_form(ReceiptCodeForm::Crockford));
        let n = u64::from_be_bytes([0, 0, 0, a, b, c, d, e]);
        assert_eq!(code.value(), n);
    }
});
