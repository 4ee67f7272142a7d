//! Sealing and verification cost, with the protocol API only (`cargo bench -p protocol`).
//!
//! - `seal/dossier_200k_photo`: what the field hub does per dossier (hub/src/field/seal/engine.rs): sign the
//!   dossier, age-encrypt the sealed plaintext and the 200 KB photo, build, hash and sign the chained header.
//! - `verify/envelope_signature_chain`: one envelope at the office, before decrypting: header parse and
//!   form, seq/device/manifest checks, Ed25519 signature, header hash, and the chain link (`check_chain`).
//! - `verify/batch_1000_signature_chain`: the same for a 1,000-envelope batch plus one `check_chain` over
//!   the run; its throughput is the envelopes/second figure in docs/operations.md.
//! - `verify/batch_1000_decrypt`: the office's whole cryptographic path for a 1,000-dossier batch with a
//!   200 KB photo each: the above plus payload and blob hashes, age decryption of dossier and photo,
//!   canonical parse and signature of the dossier, attachment hash.
//!
//! Fixtures are deterministic (fixed seeds, times, photo bytes and the test-only office identity of
//! `vectors/keys.json`); only age's file keys are random, which does not change the work done.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use protocol::{
    check_chain, decrypt_with, encrypt_to, sha256_hex, verify_envelope, AttachmentRef, BlobRef,
    ChainHead, DeviceKey, Dossier, EnvelopeHeader, ManifestEntry, ReceiptCode, Signature,
    SignedDossier, ENVELOPE_KIND, GENESIS_PREV,
};

/// Test-only office identity and recipient of `vectors/keys.json` (secret bytes all 0x42).
const OFFICE_IDENTITY: &str =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
const OFFICE_RECIPIENT: &str = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
const PHOTO_BYTES: usize = 200 * 1024;
const BATCH: u64 = 1_000;

/// The field key of `vectors/keys.json` (seed 00 01 … 1f).
fn field_key() -> DeviceKey {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = i as u8;
    }
    DeviceKey::from_seed(seed)
}

/// 200 KB of fixed pseudo-random bytes (xorshift64), standing in for a JPEG (incompressible, like one).
fn photo(seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(PHOTO_BYTES);
    while out.len() < PHOTO_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(PHOTO_BYTES);
    out
}

/// The marital-status dossier of `vectors/dossier.json`, with one 200 KB photo and its own id/code.
fn dossier(key: &DeviceKey, n: u64, photo: &[u8]) -> Dossier {
    let vector: serde_json::Value =
        serde_json::from_str(include_str!("../vectors/dossier.json")).expect("dossier vector");
    let mut d: Dossier =
        serde_json::from_value(vector["dossier"].clone()).expect("dossier vector parses");
    d.id = format!("019a9f3e-6c00-7000-8000-{n:012x}");
    d.device_id = key.public().device_id();
    let e = n.to_be_bytes();
    d.receipt_code = ReceiptCode::from_entropy([e[3], e[4], e[5], e[6], e[7]]);
    d.attachments = vec![AttachmentRef {
        name: "can-cuoc-mat-truoc.jpg".into(),
        role: "id_document".into(),
        media_type: "image/jpeg".into(),
        sha256: sha256_hex(photo),
        size: photo.len() as u64,
    }];
    d
}

/// One sealed envelope as it travels in a batch file.
struct Sealed {
    header_bytes: Vec<u8>,
    signature: Signature,
    payload: Vec<u8>,
    blobs: Vec<Vec<u8>>,
    entry: ManifestEntry,
}

/// The field hub's sealing path (`seal_draft` + `protect_one`), without the database.
fn seal(
    key: &DeviceKey,
    recipients: &[String],
    dossier: Dossier,
    photos: &[&[u8]],
    seq: u64,
    prev: String,
) -> Sealed {
    let sealed_at = dossier.sealed_at.clone();
    let signed_bytes = dossier
        .sign(key)
        .expect("sign dossier")
        .to_bytes()
        .expect("sealed plaintext");
    let payload = encrypt_to(recipients, &signed_bytes).expect("encrypt dossier");
    let blobs: Vec<Vec<u8>> = photos
        .iter()
        .map(|p| encrypt_to(recipients, p).expect("encrypt photo"))
        .collect();
    let header = EnvelopeHeader {
        kind: ENVELOPE_KIND.into(),
        v: 1,
        device_id: key.public().device_id(),
        seq,
        prev,
        sealed_at,
        payload: BlobRef::of(&payload),
        blobs: blobs.iter().map(|b| BlobRef::of(b)).collect(),
    };
    let entry = ManifestEntry {
        seq,
        hash: header.hash().expect("header hash"),
        payload: header.payload.clone(),
        blobs: header.blobs.clone(),
    };
    let header_bytes = header.to_bytes().expect("header bytes");
    let signature = header.sign(key).expect("sign header").signature;
    Sealed {
        header_bytes,
        signature,
        payload,
        blobs,
        entry,
    }
}

/// A chained batch of `n` envelopes (seqs 1..=n), each dossier with its own 200 KB photo.
fn batch(key: &DeviceKey, recipients: &[String], n: u64) -> Vec<Sealed> {
    let mut prev = GENESIS_PREV.to_string();
    (1..=n)
        .map(|seq| {
            let p = photo(seq);
            let s = seal(
                key,
                recipients,
                dossier(key, seq, &p),
                &[&p],
                seq,
                prev.clone(),
            );
            prev = s.entry.hash.clone();
            s
        })
        .collect()
}

/// The office's pre-decryption checks for one envelope (signature, form, manifest) and its chain link.
/// `payload_sha` is the digest the office computed when it read the row.
fn verify_signature(
    key: &DeviceKey,
    s: &Sealed,
    payload_sha: &str,
) -> (EnvelopeHeader, (u64, String, String)) {
    let public = key.public();
    let header = verify_envelope(
        &s.entry,
        s.entry.seq,
        &s.header_bytes,
        &s.signature,
        payload_sha,
        s.payload.len() as u64,
        &public,
        &public.device_id(),
    )
    .expect("envelope verifies");
    let link = (header.seq, header.prev.clone(), s.entry.hash.clone());
    (header, link)
}

/// Steps 6–10 of docs/protocol.md §9 for one envelope: hashes, signature, decryption, dossier checks.
fn verify_and_decrypt(key: &DeviceKey, s: &Sealed) -> (u64, String, String) {
    let (header, link) = verify_signature(key, s, &sha256_hex(&s.payload));
    for (r, b) in header.blobs.iter().zip(&s.blobs) {
        assert!(r.matches(b), "blob hash");
    }
    let plain = decrypt_with(OFFICE_IDENTITY, &s.payload).expect("decrypt dossier");
    let signed = SignedDossier::from_bytes(&plain).expect("sealed plaintext parses");
    signed.verify(&key.public()).expect("dossier signature");
    assert_eq!(signed.dossier.attachments.len(), s.blobs.len());
    for (a, b) in signed.dossier.attachments.iter().zip(&s.blobs) {
        let bytes = decrypt_with(OFFICE_IDENTITY, b).expect("decrypt photo");
        assert!(
            bytes.len() as u64 == a.size && sha256_hex(&bytes) == a.sha256,
            "attachment hash"
        );
    }
    link
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>, samples: usize) {
    group.sample_size(samples);
    group.warm_up_time(Duration::from_secs(1));
}

fn bench_seal(c: &mut Criterion) {
    let key = field_key();
    let recipients = vec![OFFICE_RECIPIENT.to_string()];
    let p = photo(7);
    let d = dossier(&key, 1, &p);
    let prev = sha256_hex(b"previous header");
    let mut group = c.benchmark_group("seal");
    configure(&mut group, 30);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("dossier_200k_photo", |b| {
        b.iter(|| {
            black_box(seal(
                &key,
                &recipients,
                d.clone(),
                &[p.as_slice()],
                42,
                prev.clone(),
            ))
        })
    });
    group.finish();
}

fn bench_verify(c: &mut Criterion) {
    let key = field_key();
    let recipients = vec![OFFICE_RECIPIENT.to_string()];
    let sealed = batch(&key, &recipients, BATCH);
    let shas: Vec<String> = sealed.iter().map(|s| sha256_hex(&s.payload)).collect();

    let mut group = c.benchmark_group("verify");
    configure(&mut group, 50);
    group.measurement_time(Duration::from_secs(4));
    let one = &sealed[41];
    let head = ChainHead {
        seq: 41,
        hash: sealed[40].entry.hash.clone(),
    };
    group.throughput(Throughput::Elements(1));
    group.bench_function("envelope_signature_chain", |b| {
        b.iter(|| {
            let (_, link) = verify_signature(&key, one, &shas[41]);
            let issues = check_chain(Some(&head), std::slice::from_ref(&link));
            assert!(issues.is_empty());
            black_box(issues)
        })
    });

    configure(&mut group, 10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("batch_1000_signature_chain", |b| {
        b.iter(|| {
            let links: Vec<_> = sealed
                .iter()
                .zip(&shas)
                .map(|(s, sha)| verify_signature(&key, s, sha).1)
                .collect();
            let issues = check_chain(None, &links);
            assert!(issues.is_empty());
            black_box(issues)
        })
    });

    configure(&mut group, 10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("batch_1000_decrypt", |b| {
        b.iter(|| {
            let links: Vec<_> = sealed.iter().map(|s| verify_and_decrypt(&key, s)).collect();
            let issues = check_chain(None, &links);
            assert!(issues.is_empty());
            black_box(issues)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_seal, bench_verify);
criterion_main!(benches);
