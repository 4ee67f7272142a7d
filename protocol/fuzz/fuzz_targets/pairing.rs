//! Pairing codes and pairing QR texts (`PairingCode::parse`, `PairingQr::parse`).
//!
//! Properties: no panic; a code that parses re-parses to itself from its display and compact forms; a QR
//! text that parses formats to a text that parses to the same QR, with an http(s) URL of at most 200 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{PairingCode, PairingQr, MAX_PAIRING_URL_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        if data.len() == 10 {
            let code = PairingCode::from_bytes(data.try_into().unwrap());
            assert_eq!(PairingCode::parse(&code.to_string()).unwrap(), code);
        }
        return;
    };
    if let Ok(code) = PairingCode::parse(text) {
        assert_eq!(PairingCode::parse(&code.to_string()).as_ref(), Ok(&code));
        assert_eq!(PairingCode::parse(&code.compact()).as_ref(), Ok(&code));
    }
    if let Ok(qr) = PairingQr::parse(text) {
        assert!(qr.base_url.starts_with("http://") || qr.base_url.starts_with("https://"));
        assert!(qr.base_url.len() <= MAX_PAIRING_URL_BYTES);
        let again = PairingQr::parse(&qr.to_text()).expect("a formatted QR parses");
        assert_eq!(again, qr);
    }
});
