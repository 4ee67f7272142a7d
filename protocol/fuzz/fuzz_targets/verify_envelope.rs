//! The office's per-envelope entry point (`verify_envelope`) with a fixed test key, then the chain check and
//! the decrypt + `SignedDossier::from_bytes` step on the fuzzed payload.
//!
//! Input: one mode byte, then the header bytes, a 0x00 separator (canonical JSON never holds a raw NUL),
//! then the payload bytes. Mode bits: 0 sign the parsed header with the test key (else a fixed wrong
//! signature), 1 make the manifest entry disagree, 2 name the payload by its real hash and length (else by
//! the header's), 3 claim another device, 4 make the stored row's seq disagree.
//!
//! Properties: no panic; an unreadable header gives exactly one `envelope_format` problem; otherwise the
//! reported checks are exactly the ones that really fail, every problem names the row's seq, and an accepted
//! header re-encodes to the identical bytes, and links to its predecessor in `check_chain`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::{
    check_chain, decrypt_with, sha256_hex, BlobRef, ChainHead, CheckKind, Context, DeviceId,
    DeviceKey, EnvelopeHeader, ManifestEntry, Signature, SignedDossier, GENESIS_PREV,
};

/// Field seed of `protocol/vectors/keys.json` (000102…1f): device id 56475aa75463474c.
fn field_key() -> DeviceKey {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = i as u8;
    }
    DeviceKey::from_seed(seed)
}

/// Test-only office identity of `protocol/vectors/keys.json` (secret bytes all 0x42).
const OFFICE_IDENTITY: &str =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (header_bytes, payload) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let key = field_key();
    let public = key.public();
    let parsed = EnvelopeHeader::from_bytes(header_bytes).ok();

    let signature = match (&parsed, mode & 1 != 0) {
        (Some(h), true) => key
            .sign_value(Context::Envelope, h)
            .expect("sign a parsed header"),
        _ => Signature::from_bytes([0x5a; 64]),
    };
    let mut entry = match &parsed {
        Some(h) => ManifestEntry {
            seq: h.seq,
            hash: h.hash().expect("hash"),
            payload: h.payload.clone(),
            blobs: h.blobs.clone(),
        },
        None => ManifestEntry {
            seq: 1,
            hash: GENESIS_PREV.into(),
            payload: BlobRef::of(payload),
            blobs: vec![],
        },
    };
    if mode & 2 != 0 {
        entry.hash = sha256_hex(b"another header");
    }
    let (payload_sha, payload_len) = match (&parsed, mode & 4 != 0) {
        (Some(h), false) => (h.payload.sha256.clone(), h.payload.len),
        _ => (sha256_hex(payload), payload.len() as u64),
    };
    let device = if mode & 8 != 0 {
        DeviceId::parse("0123456789abcdef").expect("device id")
    } else {
        public.device_id()
    };
    let row_seq = if mode & 16 != 0 {
        entry.seq ^ 1
    } else {
        entry.seq
    };

    let result = protocol::verify_envelope(
        &entry,
        row_seq,
        header_bytes,
        &signature,
        &payload_sha,
        payload_len,
        &public,
        &device,
    );

    let Some(h) = parsed else {
        let problems = result.expect_err("an unreadable header was accepted");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].check, CheckKind::EnvelopeFormat);
        assert_eq!(problems[0].seq, Some(row_seq));
        return;
    };

    let hash = h.hash().expect("hash");
    let mut expected = Vec::new();
    if h.seq != row_seq || row_seq != entry.seq {
        expected.push(CheckKind::SeqMismatch);
    }
    if h.device_id != device {
        expected.push(CheckKind::DeviceMismatch);
    }
    if public
        .verify_value(Context::Envelope, &h, &signature)
        .is_err()
    {
        expected.push(CheckKind::EnvelopeSignature);
    }
    if hash != entry.hash {
        expected.push(CheckKind::ManifestMismatch);
    }
    if h.payload != entry.payload || h.blobs != entry.blobs {
        expected.push(CheckKind::ManifestMismatch);
    }
    if h.payload.sha256 != payload_sha || h.payload.len != payload_len {
        expected.push(CheckKind::PayloadHash);
    }

    match result {
        Ok(accepted) => {
            assert!(expected.is_empty(), "accepted despite {expected:?}");
            assert_eq!(accepted, h);
            assert_eq!(accepted.to_bytes().expect("bytes"), header_bytes);
            // Signature + chain: an accepted header links to its predecessor.
            let link = [(accepted.seq, accepted.prev.clone(), hash.clone())];
            if accepted.seq == 1 {
                assert_eq!(accepted.prev, GENESIS_PREV);
                assert!(check_chain(None, &link).is_empty());
            } else {
                let head = ChainHead {
                    seq: accepted.seq - 1,
                    hash: accepted.prev.clone(),
                };
                assert!(check_chain(Some(&head), &link).is_empty());
            }
        }
        Err(problems) => {
            let got: Vec<CheckKind> = problems.iter().map(|p| p.check).collect();
            assert_eq!(got, expected, "{problems:?}");
            assert!(problems.iter().all(|p| p.seq == Some(row_seq)));
        }
    }

    // The office's next step on the payload: decrypt, then parse the sealed plaintext.
    if let Ok(plain) = decrypt_with(OFFICE_IDENTITY, payload) {
        if let Ok(s) = SignedDossier::from_bytes(&plain) {
            assert_eq!(s.to_bytes().expect("bytes"), plain);
        }
    }
});
