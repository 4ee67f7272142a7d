//! Envelope header bytes (`EnvelopeHeader::from_bytes`) and the signed envelope form (`SignedEnvelope`).
//!
//! Properties: no panic; anything that decodes re-encodes to the identical bytes, passes `check_form`, and
//! hashes to SHA-256 of those bytes; a decoded `SignedEnvelope` re-encodes identically too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{canonical_bytes, parse_canonical, sha256_hex, EnvelopeHeader, SignedEnvelope};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = EnvelopeHeader::from_bytes(data) {
        let again = h.to_bytes().expect("a decoded header re-encodes");
        assert_eq!(again, data, "header round trip changed the bytes");
        assert_eq!(h.hash().expect("hash"), sha256_hex(data));
        h.check_form().expect("a decoded header passes check_form");
        assert_eq!(EnvelopeHeader::from_bytes(&again).as_ref(), Ok(&h));
    }
    if let Ok(s) = parse_canonical::<SignedEnvelope>(data) {
        let again = canonical_bytes(&s).expect("a decoded signed envelope re-encodes");
        assert_eq!(again, data, "signed envelope round trip changed the bytes");
        let header_bytes = s.header.to_bytes().expect("header bytes");
        // The header inside a canonical signed envelope is itself canonical; it decodes unless its form
        // (kind, version, seq, hex) is wrong, and then `check_form` must say so.
        match EnvelopeHeader::from_bytes(&header_bytes) {
            Ok(h) => assert_eq!(h, s.header),
            Err(_) => assert!(s.header.check_form().is_err()),
        }
    }
});
