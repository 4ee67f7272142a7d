//! Batch manifest bytes (`BatchManifest::from_bytes`) and the signed manifest form (`SignedManifest`).
//!
//! Properties: no panic (`check_entries`, `check_batch_meta` included); anything that decodes re-encodes to
//! the identical bytes and passes `check_form`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{canonical_bytes, parse_canonical, BatchManifest, SignedManifest};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = BatchManifest::from_bytes(data) {
        let again = canonical_bytes(&m).expect("a decoded manifest re-encodes");
        assert_eq!(again, data, "manifest round trip changed the bytes");
        m.check_form()
            .expect("a decoded manifest passes check_form");
        assert_eq!(BatchManifest::from_bytes(&again).as_ref(), Ok(&m));
        // The rules between members (§3.4) and the batch_meta comparison (§8) never panic.
        let _ = m.check_entries();
        let _ = m.check_batch_meta([("batch_id", m.batch_id.as_str())]);
    }
    if let Ok(s) = parse_canonical::<SignedManifest>(data) {
        let again = canonical_bytes(&s).expect("a decoded signed manifest re-encodes");
        assert_eq!(again, data, "signed manifest round trip changed the bytes");
        let body = canonical_bytes(&s.manifest).expect("manifest bytes");
        match BatchManifest::from_bytes(&body) {
            Ok(m) => assert_eq!(m, s.manifest),
            Err(_) => assert!(s.manifest.check_form().is_err()),
        }
    }
});
