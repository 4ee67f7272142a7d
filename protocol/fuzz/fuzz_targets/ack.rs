//! Signed acknowledgement bytes (`SignedAck::from_bytes`) and `Ack::covers`.
//!
//! Properties: no panic; a decoded ack re-encodes to the identical bytes; it covers each acked (seq, hash)
//! and nothing quarantined or missing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::SignedAck;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = SignedAck::from_bytes(data) else {
        return;
    };
    assert_eq!(s.to_bytes().unwrap(), data, "two spellings of one ack");
    let a = &s.ack;
    for e in &a.acked {
        assert!(a.covers(e.seq, &e.hash));
    }
    for q in &a.quarantined {
        assert!(!a.covers(q.seq, &q.hash));
    }
    for m in &a.missing {
        assert!(!a.acked.iter().any(|e| e.seq == *m));
    }
});
