//! Signed news items and news batches (`SignedNews::from_bytes`, `NewsBatch::from_bytes`).
//!
//! Properties: no panic; anything that decodes re-encodes to the identical bytes and passes its form check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{canonical_bytes, NewsBatch, SignedNews};

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = SignedNews::from_bytes(data) {
        assert_eq!(
            n.to_bytes().unwrap(),
            data,
            "two spellings of one news item"
        );
        n.news
            .check_form()
            .expect("a decoded news item passes check_form");
    }
    if let Ok(b) = NewsBatch::from_bytes(data) {
        assert_eq!(
            canonical_bytes(&b).unwrap(),
            data,
            "two spellings of one news batch"
        );
        b.check_form().expect("a decoded batch passes check_form");
    }
});
