//! Sealed plaintext bytes (`SignedDossier::from_bytes`).
//!
//! Properties: no panic; anything that decodes re-encodes to the identical bytes; its receipt code
//! re-displays and re-parses to the same value; its canonical dossier bytes decode alone too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{canonical_bytes, parse_canonical, Dossier, ReceiptCode, SignedDossier};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = SignedDossier::from_bytes(data) else {
        return;
    };
    let again = s.to_bytes().expect("a decoded dossier re-encodes");
    assert_eq!(again, data, "dossier round trip changed the bytes");
    assert_eq!(SignedDossier::from_bytes(&again).as_ref(), Ok(&s));
    assert_eq!(s.dossier.v, protocol::PROTOCOL_VERSION);
    let code = &s.dossier.receipt_code;
    assert_eq!(ReceiptCode::parse(&code.to_string()).as_ref(), Ok(code));
    let body = canonical_bytes(&s.dossier).expect("dossier bytes");
    let d: Dossier =
        parse_canonical(&body).expect("the dossier inside a canonical SignedDossier is canonical");
    assert_eq!(d, s.dossier);
    // The receiver's rules (§1 NFC, §3.1.1 dispositions) never panic.
    let _ = s.dossier.check_form();
});
