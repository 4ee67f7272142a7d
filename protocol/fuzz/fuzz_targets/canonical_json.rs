//! Canonical JSON parsing (`parse_canonical`) on arbitrary JSON values.
//!
//! Properties: no panic; whatever `parse_canonical` accepts re-encodes to the identical bytes; and the
//! canonical form of any JSON that serde_json reads is itself accepted by `parse_canonical` and is a fixed
//! point (canonicalising twice changes nothing), so a sender's canonical bytes are never refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{canonical_bytes, parse_canonical};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = parse_canonical::<Value>(data) {
        let again = canonical_bytes(&v).expect("an accepted value re-encodes");
        assert_eq!(again, data, "canonical round trip changed the bytes");
    }
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        let Ok(c) = canonical_bytes(&v) else {
            return;
        };
        let back: Value = match parse_canonical(&c) {
            Ok(back) => back,
            Err(e) => panic!(
                "canonical bytes refused by parse_canonical ({e}): {:?}",
                String::from_utf8_lossy(&c)
            ),
        };
        assert_eq!(canonical_bytes(&back).expect("re-encode"), c);
    }
});
