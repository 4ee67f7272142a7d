//! Regenerates the deterministic test vectors under `protocol/vectors/` and compares them with the files.
//!
//! Fixed seeds, fixed times, fixed entropy: every byte is reproducible, so `docs/protocol.md` can quote them.
//! age ciphertexts are randomised, so payload and blob hashes here are of fixed stand-in bytes, and the
//! sealed plaintext (the `SignedDossier` bytes) is given instead. Run with `UPDATE_VECTORS=1` to rewrite the
//! files after an intended format change.

use std::collections::BTreeMap;
use std::path::PathBuf;

use protocol::*;
use serde_json::{json, Value};

/// Field hub seed: bytes 0x00, 0x01, …, 0x1f.
fn field_seed() -> [u8; 32] {
    std::array::from_fn(|i| i as u8)
}

/// Office hub seed: bytes 0x20, 0x21, …, 0x3f.
fn office_seed() -> [u8; 32] {
    std::array::from_fn(|i| 0x20 + i as u8)
}

/// Test-only office age identity: X25519 secret of 32 bytes 0x42. Never use outside tests.
const OFFICE_AGE_IDENTITY: &str =
    "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
const OFFICE_AGE_RECIPIENT: &str = "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn keys_vector() -> Value {
    let field = DeviceKey::from_seed(field_seed());
    let office = DeviceKey::from_seed(office_seed());
    assert_eq!(
        recipient_of(OFFICE_AGE_IDENTITY).unwrap(),
        OFFICE_AGE_RECIPIENT
    );
    json!({
        "description": "Ed25519 seeds, public keys and device ids (hex(SHA-256(public key)[0..8])); the test-only office age identity.",
        "field": {
            "seed": hex::encode(field_seed()),
            "public_key": field.public().to_hex(),
            "sha256_of_public_key": sha256_hex(field.public().as_bytes()),
            "device_id": field.public().device_id().to_string(),
        },
        "office": {
            "seed": hex::encode(office_seed()),
            "public_key": office.public().to_hex(),
            "sha256_of_public_key": sha256_hex(office.public().as_bytes()),
            "device_id": office.public().device_id().to_string(),
            "age_identity": OFFICE_AGE_IDENTITY,
            "age_recipient": OFFICE_AGE_RECIPIENT,
        },
    })
}

fn key_card_vector() -> Value {
    let office = DeviceKey::from_seed(office_seed());
    let card = KeyCard::new(
        &office,
        HubMode::Office,
        "Văn phòng UBND xã Bù Đăng".into(),
        OFFICE_AGE_RECIPIENT.into(),
        "2026-11-20T01:00:00Z".into(),
    )
    .unwrap();
    let body = card.signed_body_bytes().unwrap();
    let mut message = Context::KeyCard.as_str().as_bytes().to_vec();
    message.push(b'\n');
    message.extend_from_slice(&body);
    assert_eq!(KeyCard::parse(&card.to_text()).unwrap(), card);
    json!({
        "description": "The office hub's key card (seed: keys.json office). self_sig signs context || LF || signed_body.",
        "text": card.to_text(),
        "signed_body": text(&body),
        "signed_message_hex": hex::encode(&message),
        "self_sig": card.self_sig.to_hex(),
    })
}

fn dossier() -> Dossier {
    let field = DeviceKey::from_seed(field_seed());
    let fields: BTreeMap<String, String> = [
        (
            "addressee.commune",
            "Ủy ban nhân dân xã Bù Đăng, tỉnh Đồng Nai",
        ),
        ("declaration.confirmed", "yes"),
        (
            "request.purpose",
            "Làm thủ tục chuyển nhượng quyền sử dụng đất",
        ),
        ("requester.full_name", "Điểu Thị Lan"),
        ("requester.id_issue_date", "2024-07-01"),
        ("requester.id_issuer", "Bộ Công an"),
        ("requester.id_type", "can_cuoc"),
        ("requester.pin", "070195001234"),
        ("requester.relationship", "self"),
        (
            "requester.residence",
            "Thôn Bù Khơn, xã Bù Đăng, tỉnh Đồng Nai",
        ),
        ("subject.date_of_birth", "1995-03-14"),
        ("subject.ethnicity", "Xtiêng"),
        ("subject.full_name", "Điểu Thị Lan"),
        ("subject.id_type", "can_cuoc"),
        ("subject.marital_status", "never_married"),
        ("subject.nationality", "Việt Nam"),
        ("subject.pin", "070195001234"),
        (
            "subject.residence",
            "Thôn Bù Khơn, xã Bù Đăng, tỉnh Đồng Nai",
        ),
        ("subject.sex", "female"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    Dossier {
        v: 1,
        id: "019a9f3e-6c00-7000-8000-000000000001".into(),
        device_id: field.public().device_id(),
        procedure: ProcedureRef {
            id: "marital-status-certificate".into(),
            version: 1,
        },
        fields,
        attachments: vec![AttachmentRef {
            name: "can-cuoc-mat-truoc.jpg".into(),
            role: "id_document".into(),
            media_type: "image/jpeg".into(),
            sha256: sha256_hex(b"example photo bytes"),
            size: 19,
        }],
        captured_at: "2026-11-23T02:05:00Z".into(),
        captured_by: Actor {
            user_id: "u-volunteer-1".into(),
            role: "volunteer".into(),
        },
        sealed_at: "2026-11-23T02:15:00Z".into(),
        sealed_by: Actor {
            user_id: "u-officer-1".into(),
            role: "officer".into(),
        },
        session_id: Some("019a9f3e-0000-7000-8000-0000000000aa".into()),
        receipt_code: ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89]),
        disposition: Disposition::New,
    }
}

fn dossier_vector() -> Value {
    let field = DeviceKey::from_seed(field_seed());
    let d = dossier();
    let errors = validate(
        find_procedure(&d.procedure).unwrap(),
        &d.fields,
        &["id_document".to_string()],
        time::macros::date!(2026 - 11 - 23),
        Stage::Seal,
    );
    assert!(errors.is_empty(), "{errors:?}");
    let canonical = canonical_bytes(&d).unwrap();
    let signed = d.clone().sign(&field).unwrap();
    signed.verify(&field.public()).unwrap();
    let sealed_plaintext = signed.to_bytes().unwrap();
    assert_eq!(
        SignedDossier::from_bytes(&sealed_plaintext).unwrap(),
        signed
    );
    json!({
        "description": "A sealed marital-status dossier signed by the field key (keys.json field). The signature is over \"outreach-kit/v1/dossier\" || LF || canonical. sealed_plaintext is what is age-encrypted to the office (the attachment is the 19 bytes \"example photo bytes\").",
        "dossier": d,
        "canonical": text(&canonical),
        "canonical_sha256": sha256_hex(&canonical),
        "signature": signed.signature.to_hex(),
        "sealed_plaintext": text(&sealed_plaintext),
        "sealed_plaintext_sha256": sha256_hex(&sealed_plaintext),
    })
}

/// Stand-in "ciphertexts" (real ones are random): fixed bytes whose hashes the headers carry.
fn stand_in(seq: u64, what: &str) -> Vec<u8> {
    format!("stand-in ciphertext: envelope {seq}, {what}").into_bytes()
}

fn headers() -> Vec<EnvelopeHeader> {
    let field = DeviceKey::from_seed(field_seed());
    let mut prev = GENESIS_PREV.to_string();
    let mut out = Vec::new();
    for seq in 1..=2u64 {
        let h = EnvelopeHeader {
            kind: "outreach-kit/envelope".into(),
            v: 1,
            device_id: field.public().device_id(),
            seq,
            prev: prev.clone(),
            sealed_at: format!("2026-11-23T02:{:02}:00Z", 10 + 5 * seq),
            payload: BlobRef::of(&stand_in(seq, "payload")),
            blobs: vec![BlobRef::of(&stand_in(seq, "blob 0"))],
        };
        prev = h.hash().unwrap();
        out.push(h);
    }
    out
}

fn envelope_vector() -> Value {
    let field = DeviceKey::from_seed(field_seed());
    let items: Vec<Value> = headers()
        .into_iter()
        .map(|h| {
            let canonical = h.to_bytes().unwrap();
            let hash = h.hash().unwrap();
            let signed = h.clone().sign(&field).unwrap();
            signed.verify(&field.public()).unwrap();
            json!({
                "payload_stand_in": text(&stand_in(h.seq, "payload")),
                "blob_stand_ins": [text(&stand_in(h.seq, "blob 0"))],
                "header": h,
                "canonical": text(&canonical),
                "hash": hash,
                "signature": signed.signature.to_hex(),
            })
        })
        .collect();
    let links: Vec<(u64, String, String)> = headers()
        .iter()
        .map(|h| (h.seq, h.prev.clone(), h.hash().unwrap()))
        .collect();
    assert!(check_chain(None, &links).is_empty());
    json!({
        "description": "Two chained envelope headers of the field device. hash = SHA-256(canonical); seq 2's prev = seq 1's hash; signature over \"outreach-kit/v1/envelope\" || LF || canonical. Payload and blob hashes are of the UTF-8 stand-in strings, because real age ciphertexts are random.",
        "envelopes": items,
    })
}

fn manifest_vector() -> Value {
    let field = DeviceKey::from_seed(field_seed());
    let hs = headers();
    let entries: Vec<ManifestEntry> = hs
        .iter()
        .map(|h| ManifestEntry {
            seq: h.seq,
            hash: h.hash().unwrap(),
            payload: h.payload.clone(),
            blobs: h.blobs.clone(),
        })
        .collect();
    let last = entries.last().unwrap();
    let manifest = BatchManifest {
        kind: "outreach-kit/batch-manifest".into(),
        v: 1,
        batch_id: "019a9f3e-9000-7000-8000-0000000000b1".into(),
        device_id: field.public().device_id(),
        device_name: "Trạm lưu động xã Bù Đăng 1".into(),
        created_at: "2026-11-23T09:30:00Z".into(),
        chain_head: ChainHead {
            seq: last.seq,
            hash: last.hash.clone(),
        },
        envelopes: entries.clone(),
    };
    let canonical = canonical_bytes(&manifest).unwrap();
    let signed = SignedManifest::sign(manifest.clone(), &field).unwrap();
    signed.verify(&field.public()).unwrap();
    for (h, e) in hs.iter().zip(&entries) {
        let sig = h.clone().sign(&field).unwrap().signature;
        let bytes = h.to_bytes().unwrap();
        let device = field.public().device_id();
        verify_envelope(
            e,
            h.seq,
            &bytes,
            &sig,
            &h.payload.sha256,
            h.payload.len,
            &field.public(),
            &device,
        )
        .unwrap();
    }
    json!({
        "description": "The batch manifest listing both envelopes of envelope.json; signature over \"outreach-kit/v1/batch-manifest\" || LF || canonical.",
        "manifest": manifest,
        "canonical": text(&canonical),
        "signature": signed.signature.to_hex(),
    })
}

fn receipt_vector() -> Value {
    let entropies: [[u8; 5]; 6] = [
        [0x00, 0x00, 0x00, 0x00, 0x00],
        [0x00, 0x00, 0x00, 0x00, 0x01],
        [0x01, 0x23, 0x45, 0x67, 0x89],
        [0xde, 0xad, 0xbe, 0xef, 0x42],
        [0x7f, 0xff, 0xff, 0xff, 0xff],
        [0xff, 0xff, 0xff, 0xff, 0xff],
    ];
    let valid: Vec<Value> = entropies
        .iter()
        .map(|e| {
            let c = ReceiptCode::from_entropy(*e);
            json!({
                "entropy": hex::encode(e),
                "value": c.value(),
                "check_value": c.value() % 37,
                "code": c.to_string(),
            })
        })
        .collect();
    let lenient: Vec<Value> = ["04hm-asw9-x", "O4HM ASW9 X", "04HMASW9X", "oooo-oooi-l"]
        .iter()
        .map(|s| json!({ "input": s, "code": ReceiptCode::parse(s).unwrap().to_string() }))
        .collect();
    let invalid: Vec<Value> = [
        "04HM-ASW9-Y",
        "04HM-ASW9",
        "04HM-ASW9-XX",
        "04HU-ASW9-X",
        "04H*-ASW9-X",
        "40HM-ASW9-X",
    ]
    .iter()
    .map(|s| json!({ "input": s, "error": ReceiptCode::parse(s).unwrap_err().to_string() }))
    .collect();
    json!({
        "description": "Receipt codes: 5 entropy bytes as a big-endian 40-bit value, 8 Crockford base-32 symbols, then the check symbol for value mod 37.",
        "valid": valid,
        "lenient_inputs": lenient,
        "invalid_inputs": invalid,
    })
}

fn receipt_token_vector() -> Value {
    let field = DeviceKey::from_seed(field_seed());
    let device = field.public().device_id();
    let derived: Vec<Value> = [1u64, 2, 42, 1_000_000]
        .iter()
        .map(|seq| {
            let msg = format!("outreach-kit/v1/receipt-code\n{}\n{seq}", device.as_str());
            json!({
                "seq": seq,
                "digest_input": msg,
                "sha256": sha256_hex(msg.as_bytes()),
                "code": ReceiptCode::derive(&device, *seq).to_string(),
            })
        })
        .collect();
    let receipt = Receipt {
        v: 1,
        code: ReceiptCode::derive(&device, 42),
        device_id: device.clone(),
        seq: 42,
        procedure: ProcedureRef {
            id: "birth-residence-insurance".into(),
            version: 1,
        },
        date: "2026-11-23".into(),
    };
    let canonical = canonical_bytes(&receipt).unwrap();
    let signed = receipt.clone().sign(&field).unwrap();
    signed.verify(&field.public()).unwrap();
    let qr = signed.to_qr_text().unwrap();
    assert_eq!(SignedReceipt::from_qr_text(&qr).unwrap(), signed);
    json!({
        "description": "Receipts made offline by the field hub of keys.json: the code of receipt number seq is the first 5 bytes of SHA-256(digest_input) encoded as in receipt-codes.json; the QR text is \"OKR1:\" followed by the canonical JSON of {receipt, signature}, the signature being over \"outreach-kit/v1/receipt\" || LF || canonical(receipt).",
        "device_id": device.as_str(),
        "derived_codes": derived,
        "receipt": receipt,
        "canonical": text(&canonical),
        "signature": signed.signature.to_hex(),
        "tracking_number": receipt.tracking_number(),
        "qr_text": qr,
    })
}

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

fn check(name: &str, value: Value) {
    let path = vectors_dir().join(name);
    let expected = serde_json::to_string_pretty(&value).unwrap() + "\n";
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    let found = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_VECTORS=1 to create)",
            path.display()
        )
    });
    assert!(
        found == expected,
        "{name} differs from the regenerated vector (UPDATE_VECTORS=1 rewrites it)"
    );
}

#[test]
fn keys() {
    check("keys.json", keys_vector());
}

#[test]
fn key_card() {
    check("key-card.json", key_card_vector());
}

#[test]
fn dossier_signature() {
    check("dossier.json", dossier_vector());
}

#[test]
fn envelope_headers() {
    check("envelope.json", envelope_vector());
}

#[test]
fn batch_manifest() {
    check("manifest.json", manifest_vector());
}

#[test]
fn receipt_tokens() {
    check("receipt-tokens.json", receipt_token_vector());
}

#[test]
fn receipt_codes() {
    check("receipt-codes.json", receipt_vector());
}

/// The vectors can be checked from the files alone, with no crate types: hashes, links and signatures.
#[test]
fn vector_files_verify_independently() {
    use ed25519_dalek::{Signature as EdSig, VerifyingKey};
    let read = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join(n)).unwrap()).unwrap()
    };
    let keys = read("keys.json");
    let pk_hex = keys["field"]["public_key"].as_str().unwrap();
    let pk = VerifyingKey::from_bytes(&hex::decode(pk_hex).unwrap().try_into().unwrap()).unwrap();
    let verify = |ctx: &str, canonical: &str, sig_hex: &str| {
        let msg = format!("{ctx}\n{canonical}");
        let sig = EdSig::from_bytes(&hex::decode(sig_hex).unwrap().try_into().unwrap());
        pk.verify_strict(msg.as_bytes(), &sig).unwrap();
    };
    let d = read("dossier.json");
    verify(
        "outreach-kit/v1/dossier",
        d["canonical"].as_str().unwrap(),
        d["signature"].as_str().unwrap(),
    );
    let e = read("envelope.json");
    let mut prev = "0".repeat(64);
    for item in e["envelopes"].as_array().unwrap() {
        let canonical = item["canonical"].as_str().unwrap();
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            item["hash"].as_str().unwrap()
        );
        assert_eq!(item["header"]["prev"].as_str().unwrap(), prev);
        verify(
            "outreach-kit/v1/envelope",
            canonical,
            item["signature"].as_str().unwrap(),
        );
        prev = item["hash"].as_str().unwrap().to_string();
    }
    let m = read("manifest.json");
    verify(
        "outreach-kit/v1/batch-manifest",
        m["canonical"].as_str().unwrap(),
        m["signature"].as_str().unwrap(),
    );
}
