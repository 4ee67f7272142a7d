//! Signed procedure package bytes (`SignedPackage::from_bytes`, with `check_form` of the package and its
//! exports and layouts) and package index bytes (`PackageIndex::from_bytes`).
//!
//! Properties: no panic; a decoded package re-encodes to the identical bytes and has a hash; a decoded
//! index lists each (id, version) once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{PackageIndex, SignedPackage};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = SignedPackage::from_bytes(data) {
        assert_eq!(s.to_bytes().unwrap(), data, "two spellings of one package");
        assert_eq!(s.package.hash().unwrap().len(), 64);
    }
    if let Ok(i) = PackageIndex::from_bytes(data) {
        let mut seen = std::collections::BTreeSet::new();
        for p in &i.packages {
            assert!(seen.insert((p.id.clone(), p.version)));
        }
    }
});
