//! The chain rules (`check_chain`) on arbitrary runs of `(seq, prev, hash)` and an optional known head.
//!
//! Input: one flag byte (bit 0: a known head follows as 8 big-endian seq bytes and one hash byte), then
//! entries: a seq byte (high bit set: 8 big-endian seq bytes follow; else the low 7 bits are the seq), a
//! prev byte and a hash byte; hash byte `b` stands for the string `h{b}`, prev byte 0 for the genesis.
//!
//! Properties: no panic (including at `u64::MAX`); every issue names a seq of the input (or the gap just
//! after the head); gaps are non-empty ranges; a well-linked continuation of the head has no issue.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{check_chain, ChainHead, ChainIssue, GENESIS_PREV};

fn take<'a>(data: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if data.len() < n {
        return None;
    }
    let (a, b) = data.split_at(n);
    *data = b;
    Some(a)
}

fn seq_from(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(bytes);
    u64::from_be_bytes(b)
}

fn name(b: u8) -> String {
    format!("h{b}")
}

fuzz_target!(|input: &[u8]| {
    let mut data = input;
    let Some(flags) = take(&mut data, 1) else {
        return;
    };
    let known = if flags[0] & 1 != 0 {
        let Some(s) = take(&mut data, 8) else {
            return;
        };
        let Some(h) = take(&mut data, 1) else {
            return;
        };
        Some(ChainHead {
            seq: seq_from(s),
            hash: name(h[0]),
        })
    } else {
        None
    };
    let mut headers: Vec<(u64, String, String)> = Vec::new();
    while let Some(k) = take(&mut data, 1) {
        let seq = if k[0] & 0x80 != 0 {
            match take(&mut data, 8) {
                Some(s) => seq_from(s),
                None => break,
            }
        } else {
            u64::from(k[0])
        };
        let Some(ph) = take(&mut data, 2) else {
            break;
        };
        let prev = if ph[0] == 0 {
            GENESIS_PREV.to_string()
        } else {
            name(ph[0])
        };
        headers.push((seq, prev, name(ph[1])));
    }

    let issues = check_chain(known.as_ref(), &headers);
    assert_eq!(
        issues,
        check_chain(known.as_ref(), &headers),
        "not deterministic"
    );
    let seqs: Vec<u64> = headers.iter().map(|h| h.0).collect();
    for issue in &issues {
        match issue {
            ChainIssue::Gap { from, to } => assert!(from <= to, "{issue:?}"),
            ChainIssue::BrokenLink { seq }
            | ChainIssue::OutOfOrder { seq }
            | ChainIssue::Duplicate { seq }
            | ChainIssue::BadStart { seq } => assert!(seqs.contains(seq), "{issue:?}"),
        }
    }
    if headers.is_empty() {
        assert!(issues.is_empty());
    }

    // A well-linked continuation of the head (or of the genesis) has no issue.
    let (start, mut prev) = match &known {
        Some(h) => match h.seq.checked_add(1) {
            Some(s) => (s, h.hash.clone()),
            None => return,
        },
        None => (1, GENESIS_PREV.to_string()),
    };
    let mut good = Vec::new();
    for (i, h) in headers.iter().enumerate().take(8) {
        let Some(seq) = start.checked_add(i as u64) else {
            break;
        };
        good.push((seq, prev.clone(), h.2.clone()));
        prev = h.2.clone();
    }
    assert!(
        check_chain(known.as_ref(), &good).is_empty(),
        "{known:?} {good:?}"
    );
});
