//! Signed holdings bytes (`SignedHoldings::from_bytes`) and `Holdings::missing`.
//!
//! Properties: no panic; a decoded value re-encodes to the identical bytes; `missing` is sorted, unique,
//! and never names a held seq; `holds` agrees with the ranges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::SignedHoldings;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = SignedHoldings::from_bytes(data) else {
        return;
    };
    assert_eq!(s.to_bytes().unwrap(), data, "two spellings of one holdings");
    let h = &s.holdings;
    let mut local: Vec<u64> = Vec::new();
    for r in h.held.iter().take(16) {
        local.extend([r[0].saturating_sub(1), r[0], r[1], r[1].saturating_add(1)]);
    }
    let missing = h.missing(&local);
    assert!(missing.windows(2).all(|w| w[0] < w[1]));
    for m in &missing {
        assert!(!h.holds(*m));
    }
    for r in &h.held {
        assert!(h.holds(r[0]) && h.holds(r[1]));
    }
});
