//! Chunk requests (`ChunkPut` canonical bytes, `ChunkPut::decide`) and `next_chunk`.
//!
//! Input: 24 bytes (blob length, held bytes, max chunk, big-endian u64 each), then a canonical `ChunkPut`.
//! Properties: no panic, no overflow; `next_chunk` walks from any resume point to the end in chunks of at
//! most max; an `Append` decision is exactly at the held offset and inside the blob.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{next_chunk, parse_canonical, BlobRef, ChunkDecision, ChunkPut};

fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let num = |i: usize| u64::from_be_bytes(data[i * 8..i * 8 + 8].try_into().unwrap());
    let (total, held, max) = (num(0) % (1 << 32), num(1) % (1 << 33), num(2));
    if max >= 1 << 16 {
        let mut at = held;
        let mut steps = 0;
        while let Some((o, l)) = next_chunk(total, at, max) {
            assert_eq!(o, at);
            assert!(l >= 1 && l <= max);
            at += l;
            steps += 1;
            assert!(steps <= 1 << 16);
        }
        assert!(at >= total);
    }
    if let Ok(put) = parse_canonical::<ChunkPut>(&data[24..]) {
        let blob = BlobRef {
            sha256: put.sha256.clone(),
            len: total,
        };
        if let Ok(d) = put.decide(&blob, held, put.len) {
            if d == ChunkDecision::Append {
                assert_eq!(put.offset, held);
                assert!(put.offset + put.len <= total);
            }
        }
    }
});
