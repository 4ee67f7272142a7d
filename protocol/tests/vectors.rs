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
        // A dossier sealed before digit codes: its code keeps the Crockford form it was issued in.
        receipt_code: ReceiptCode::from_entropy([0x01, 0x23, 0x45, 0x67, 0x89])
            .in_form(ReceiptCodeForm::Crockford),
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
        sessions: Vec::new(),
        sealed_sessions: None,
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
    // The same batch with one session summary (§3.5).
    let mut with_sessions = manifest.clone();
    with_sessions.sessions = vec![SessionSummary {
        session_id: "019a9f3e-8000-7000-8000-0000000000c1".into(),
        hamlet: "Thôn Bù Lư".into(),
        venue_kind: "cultural_house".into(),
        venue_name: "Nhà văn hoá thôn Bù Lư".into(),
        commune_code: Some("25480".into()),
        date: "2026-11-23".into(),
        opened_at: "2026-11-23T00:30:00Z".into(),
        closed_at: Some("2026-11-23T09:00:00Z".into()),
        tickets_issued: 14,
        villagers_served: 12,
        no_show: 1,
        median_wait_secs: Some(420),
        services: [
            ("dossier_captured".to_string(), 2),
            ("sim_registered".to_string(), 5),
        ]
        .into(),
        consented: 6,
        by_sex: [("female".to_string(), 4), ("male".to_string(), 2)].into(),
        by_age_band: [("18-35".to_string(), 5), ("60+".to_string(), 1)].into(),
        by_ethnicity: vec![EthnicityTally {
            system: "vn-1979".into(),
            code: "40".into(),
            name: "Xtiêng".into(),
            count: 6,
        }],
        dossiers: hs
            .iter()
            .map(|h| SessionDossier {
                seq: h.seq,
                procedure: ProcedureRef {
                    id: "marital-status-certificate".into(),
                    version: 1,
                },
                disposition: "new".into(),
            })
            .collect(),
    }];
    // Batch format 2: the same summary sealed to the office; the plaintext age encrypts (the ciphertext,
    // random, goes hex-encoded in `sealed_sessions`).
    let summaries = SessionSummaries {
        kind: SESSION_SUMMARIES_KIND.into(),
        v: 1,
        batch_id: manifest.batch_id.clone(),
        device_id: manifest.device_id.clone(),
        sessions: with_sessions.sessions.clone(),
    };
    summaries.check_form().unwrap();
    let summaries_plain = canonical_bytes(&summaries).unwrap();
    let mut sealed = manifest.clone();
    sealed
        .seal_sessions(
            &[OFFICE_AGE_RECIPIENT.to_string()],
            with_sessions.sessions.clone(),
        )
        .unwrap();
    assert_eq!(
        sealed.open_sessions(OFFICE_AGE_IDENTITY).unwrap(),
        with_sessions.sessions
    );
    let canonical2 = canonical_bytes(&with_sessions).unwrap();
    let signed2 = SignedManifest::sign(with_sessions.clone(), &field).unwrap();
    signed2.verify(&field.public()).unwrap();
    json!({
        "description": "The batch manifest listing both envelopes of envelope.json; signature over \"outreach-kit/v1/batch-manifest\" || LF || canonical.",
        "manifest": manifest,
        "canonical": text(&canonical),
        "signature": signed.signature.to_hex(),
        "with_sessions": {
            "description": "The same manifest carrying one session summary (§3.5): `sessions` sorts last-but-one among the members in canonical order.",
            "manifest": with_sessions,
            "canonical": text(&canonical2),
            "signature": signed2.signature.to_hex(),
        },
        "sealed_sessions_plaintext": {
            "description": "Batch format 2 (§3.5): the same summary sealed to the office. This canonical SessionSummaries is age-encrypted to the office recipient (keys.json) and written hex-encoded as the manifest's `sealed_sessions` (the ciphertext is random, so only the plaintext is recorded).",
            "canonical": text(&summaries_plain),
        },
    })
}

/// Damm check digit, written here from the published table (independent of the crate's copy).
fn damm(digits: &str) -> (u8, String) {
    const T: [[u8; 10]; 10] = [
        [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
        [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
        [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
        [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
        [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
        [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
        [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
        [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
        [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
        [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
    ];
    let mut interim = 0u8;
    let mut steps = String::new();
    for d in digits.bytes() {
        interim = T[interim as usize][(d - b'0') as usize];
        steps.push(char::from(b'0' + interim));
    }
    (interim, steps)
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
            let value_digits = format!("{:013}", c.value());
            let (check, interim) = damm(&value_digits);
            assert_eq!(c.compact(), format!("{value_digits}{check}"));
            json!({
                "entropy": hex::encode(e),
                "value": c.value(),
                "value_digits": value_digits,
                "damm_interim": interim,
                "check_digit": check,
                "code": c.to_string(),
                "crockford_check_value": c.value() % 37,
                "crockford_code": c.in_form(ReceiptCodeForm::Crockford).to_string(),
            })
        })
        .collect();
    let lenient: Vec<Value> = [
        "0004 8867 1834 59",
        "00048867183459",
        "0004.8867.1834.59",
        "0004–8867–1834–59",
        "OOO4-8867-l834-59",
        "０００４－８８６７－１８３４－５９",
        "04hm-asw9-x",
        "O4HM ASW9 X",
        "04HMASW9X",
        "oooo-oooi-l",
    ]
    .iter()
    .map(|s| {
        let c = ReceiptCode::parse(s).unwrap();
        let form = match c.form() {
            ReceiptCodeForm::Digits => "digits",
            ReceiptCodeForm::Crockford => "crockford",
        };
        json!({ "input": s, "code": c.to_string(), "form": form })
    })
    .collect();
    let invalid: Vec<Value> = [
        "0004-8867-1834-58",
        "0004-8867-1834-95",
        "0040-8867-1834-59",
        "0004-8867-1834-5",
        "0004-8867-1834-5A",
        "9999-9999-9999-92",
        "1099-5116-2777-60",
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
        "description": "Receipt codes: 5 entropy bytes as a big-endian 40-bit value. Digit form (issued now): the value as 13 decimal digits, then the Damm check digit (the last interim digit), shown DDDD-DDDD-DDDD-DD. Crockford form (issued before digit codes, still valid): 8 Crockford base-32 symbols, then the check symbol for value mod 37, shown XXXX-XXXX-C. The same value in the two forms is two different codes.",
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
            let code = ReceiptCode::derive(&device, *seq);
            json!({
                "seq": seq,
                "digest_input": msg,
                "sha256": sha256_hex(msg.as_bytes()),
                "code": code.to_string(),
                "code_before_digit_codes": code.in_form(ReceiptCodeForm::Crockford).to_string(),
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
    // The same receipt as issued before digit codes: its QR still verifies.
    let old = Receipt {
        code: receipt.code.in_form(ReceiptCodeForm::Crockford),
        ..receipt.clone()
    };
    let old_signed = old.clone().sign(&field).unwrap();
    let old_qr = old_signed.to_qr_text().unwrap();
    let old_back = SignedReceipt::from_qr_text(&old_qr).unwrap();
    old_back.verify(&field.public()).unwrap();
    assert_eq!(old_back.to_qr_text().unwrap(), old_qr);
    json!({
        "description": "Receipts made offline by the field hub of keys.json: the code of receipt number seq is the first 5 bytes of SHA-256(digest_input) encoded as in receipt-codes.json (digit form; code_before_digit_codes is the Crockford form hubs issued before); the QR text is \"OKR1:\" followed by the canonical JSON of {receipt, signature}, the signature being over \"outreach-kit/v1/receipt\" || LF || canonical(receipt). before_digit_codes is the same receipt as issued before digit codes: it still verifies.",
        "device_id": device.as_str(),
        "derived_codes": derived,
        "receipt": receipt,
        "canonical": text(&canonical),
        "signature": signed.signature.to_hex(),
        "tracking_number": receipt.tracking_number(),
        "qr_text": qr,
        "before_digit_codes": {
            "receipt": old,
            "canonical": text(&canonical_bytes(&old).unwrap()),
            "signature": old_signed.signature.to_hex(),
            "qr_text": old_qr,
        },
    })
}

/// Test-only field age recipient for the field key card of sync.json.
const FIELD_AGE_RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

/// One signed sync message: the body, its canonical bytes, the signature, and the signed form's bytes.
fn signed_item<B: serde::Serialize, S: serde::Serialize>(
    body: &B,
    signature: &Signature,
    signed: &S,
) -> Value {
    json!({
        "body": body,
        "canonical": text(&canonical_bytes(body).unwrap()),
        "signature": signature.to_hex(),
        "signed_bytes": text(&canonical_bytes(signed).unwrap()),
    })
}

fn sync_vector() -> Value {
    let field = DeviceKey::from_seed(field_seed());
    let office = DeviceKey::from_seed(office_seed());
    let field_card = KeyCard::new(
        &field,
        HubMode::Field,
        "Trạm lưu động xã Bù Đăng 1".into(),
        FIELD_AGE_RECIPIENT.into(),
        "2026-11-20T00:30:00Z".into(),
    )
    .unwrap();
    let office_card = KeyCard::new(
        &office,
        HubMode::Office,
        "Văn phòng UBND xã Bù Đăng".into(),
        OFFICE_AGE_RECIPIENT.into(),
        "2026-11-20T01:00:00Z".into(),
    )
    .unwrap();

    // Pairing code and QR.
    let code_bytes = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99];
    let code = PairingCode::from_bytes(code_bytes);
    let qr = PairingQr::new("http://192.168.1.20:8080".into(), code.clone()).unwrap();
    assert_eq!(PairingQr::parse(&qr.to_text()).unwrap(), qr);
    let shown = code.to_string();
    let lenient: Vec<Value> = [
        shown.to_lowercase(),
        shown.replace('-', " "),
        code.compact(),
    ]
    .iter()
    .map(|s| json!({"input": s, "code": PairingCode::parse(s).unwrap().to_string()}))
    .collect();
    let mut typo = shown.clone().into_bytes();
    let last = typo.len() - 1;
    typo[last] = if typo[last] == b'0' { b'1' } else { b'0' };
    let typo = String::from_utf8(typo).unwrap();
    let invalid: Vec<Value> = [typo.as_str(), "0000-0000", "OKP1"]
        .iter()
        .map(|s| json!({"input": s, "error": PairingCode::parse(s).unwrap_err().to_string()}))
        .collect();

    // Pair request and answer.
    let card_canonical = canonical_bytes(&field_card).unwrap();
    let mut proof_input = b"outreach-kit/v1/pair-proof\n".to_vec();
    proof_input.extend_from_slice(&code_bytes);
    proof_input.extend_from_slice(&card_canonical);
    let request =
        PairRequest::new(field_card.clone(), &code, "2026-11-23T01:00:00Z".into()).unwrap();
    assert_eq!(request.proof, sha256_hex(&proof_input));
    let signed_request = SignedPairRequest::sign(request.clone(), &field).unwrap();
    signed_request.verify_with_code(&code).unwrap();
    let answer = PairAnswer::new(
        office_card.clone(),
        &request,
        &code,
        DeviceStatus::PendingApproval,
        "2026-11-23T01:00:05Z".into(),
    )
    .unwrap();
    let signed_answer = SignedPairAnswer::sign(answer.clone(), &office).unwrap();
    signed_answer.verify_for(&request, &code).unwrap();

    // Sync hello: the field answers the office's challenge to open a sync session.
    let hello = SyncHello::new(
        field.public().device_id(),
        office.public().device_id(),
        "5c".repeat(32),
        "2026-11-23T09:29:58Z".into(),
    )
    .unwrap();
    let signed_hello = SignedSyncHello::sign(hello.clone(), &field).unwrap();
    signed_hello
        .verify(&field.public(), &office.public().device_id())
        .unwrap();

    // Holdings: the office holds envelope 1 of envelope.json; the field has 1 and 2.
    let hs = headers();
    let holdings = Holdings {
        kind: HOLDINGS_KIND.into(),
        v: 1,
        office_id: office.public().device_id(),
        device_id: field.public().device_id(),
        head: Some(ChainHead {
            seq: 1,
            hash: hs[0].hash().unwrap(),
        }),
        held: vec![[1, 1]],
        quarantined: vec![],
        as_of: "2026-11-23T09:30:00Z".into(),
        device_status: DeviceStatus::Approved,
    };
    let missing = holdings.missing(&[1, 2]);
    assert_eq!(missing, vec![2]);
    let signed_holdings = SignedHoldings::sign(holdings.clone(), &office).unwrap();
    signed_holdings.verify(&office.public()).unwrap();

    // Chunks of a 600 000-byte ciphertext, first from 0, then resumed after a cut at 300 000 bytes.
    let walk = |mut held: u64| {
        let mut out = Vec::new();
        while let Some((offset, len)) = next_chunk(600_000, held, MAX_CHUNK_BYTES) {
            out.push(json!({"offset": offset, "len": len}));
            held += len;
        }
        out
    };
    let payload2 = &hs[1].payload;
    let chunk = ChunkPut {
        sha256: payload2.sha256.clone(),
        offset: 0,
        len: payload2.len,
    };
    assert_eq!(
        chunk.decide(payload2, 0, payload2.len).unwrap(),
        ChunkDecision::Append
    );

    // Acknowledgements of the batch of manifest.json.
    let ack = Ack {
        kind: ACK_KIND.into(),
        v: 1,
        office_id: office.public().device_id(),
        device_id: field.public().device_id(),
        batch_id: "019a9f3e-9000-7000-8000-0000000000b1".into(),
        acked: hs
            .iter()
            .map(|h| AckedEnvelope {
                seq: h.seq,
                hash: h.hash().unwrap(),
            })
            .collect(),
        quarantined: vec![],
        equivocations: vec![],
        missing: vec![],
        acked_at: "2026-11-23T09:31:00Z".into(),
    };
    let signed_ack = SignedAck::sign(ack.clone(), &office).unwrap();
    signed_ack.verify(&office.public()).unwrap();
    assert!(ack.covers(2, &hs[1].hash().unwrap()));
    let other2 = sha256_hex(b"a different envelope 2");
    let alarm = Ack {
        acked: ack.acked[..1].to_vec(),
        quarantined: vec![QuarantineEntry {
            seq: 2,
            hash: other2.clone(),
            reason: CheckKind::Equivocation,
            detail: "the office already holds another envelope 2 of this device".into(),
        }],
        equivocations: vec![Equivocation {
            seq: 2,
            held_hash: hs[1].hash().unwrap(),
            offered_hash: other2,
        }],
        ..ack.clone()
    };
    let signed_alarm = SignedAck::sign(alarm.clone(), &office).unwrap();

    // News for the field device.
    let news = |seq: u64, status: NewsStatus, note: Option<&str>| News {
        kind: NEWS_KIND.into(),
        v: 1,
        office_id: office.public().device_id(),
        news_id: format!("019aa3c0-0000-7000-8000-00000000000{seq}"),
        device_id: field.public().device_id(),
        seq,
        // News about a receipt issued before digit codes: the code as issued, Crockford form.
        receipt_code: ReceiptCode::derive(&field.public().device_id(), 42)
            .in_form(ReceiptCodeForm::Crockford),
        dossier_id: "019a9f3e-6c00-7000-8000-000000000001".into(),
        status,
        note: note.map(str::to_string),
        published_at: format!("2026-11-2{}T03:00:00Z", 4 + seq),
    };
    let items = [
        news(
            1,
            NewsStatus::NeedsPapers {
                papers: vec!["Bản chính giấy tờ tùy thân của người yêu cầu".into()],
            },
            Some("Mang theo khi nhận kết quả."),
        ),
        news(
            2,
            NewsStatus::ReadyForPickup {
                place: "Bộ phận Một cửa, UBND xã Bù Đăng".into(),
                from_date: "2026-11-27".into(),
                until_date: Some("2026-12-11".into()),
            },
            None,
        ),
    ];
    let signed_news: Vec<SignedNews> = items
        .iter()
        .map(|n| SignedNews::sign(n.clone(), &office).unwrap())
        .collect();
    let batch = NewsBatch {
        kind: NEWS_BATCH_KIND.into(),
        v: 1,
        after: 0,
        items: signed_news.clone(),
        more: false,
    };
    batch
        .verify(&office.public(), &field.public().device_id())
        .unwrap();

    json!({
        "description": "Sync over the network (docs/protocol.md §11) between the field and office keys of keys.json. Every signed item: signature over context || LF || canonical (the body); signed_bytes is the canonical JSON of the signed form that travels.",
        "pairing_code": {
            "bytes": hex::encode(code_bytes),
            "code": shown,
            "qr_text": qr.to_text(),
            "lenient_inputs": lenient,
            "invalid_inputs": invalid,
        },
        "field_card": field_card,
        "office_card": office_card,
        "pair_proof": {
            "input_hex": hex::encode(&proof_input),
            "proof": request.proof,
            "office_proof": answer.proof,
        },
        "pair_request": signed_item(&request, &signed_request.signature, &signed_request),
        "pair_answer": signed_item(&answer, &signed_answer.signature, &signed_answer),
        "sync_hello": signed_item(&hello, &signed_hello.signature, &signed_hello),
        "holdings": signed_item(&holdings, &signed_holdings.signature, &signed_holdings),
        "field_local_seqs": [1, 2],
        "missing": missing,
        "chunks_of_600000_bytes": walk(0),
        "chunks_resumed_at_300000": walk(300_000),
        "chunk_put": chunk,
        "ack": signed_item(&ack, &signed_ack.signature, &signed_ack),
        "ack_with_equivocation": signed_item(&alarm, &signed_alarm.signature, &signed_alarm),
        "news": signed_news.iter().map(|s| signed_item(&s.news, &s.signature, s)).collect::<Vec<_>>(),
        "news_batch": text(&canonical_bytes(&batch).unwrap()),
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
fn sync_messages() {
    check("sync.json", sync_vector());
}

/// The sync vectors verify from the file alone: each signature with its context and the right key, the
/// pairing proof as a plain SHA-256.
#[test]
fn sync_vectors_verify_independently() {
    use ed25519_dalek::{Signature as EdSig, VerifyingKey};
    let read = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join(n)).unwrap()).unwrap()
    };
    let keys = read("keys.json");
    let s = read("sync.json");
    let key = |who: &str| {
        let hexs = keys[who]["public_key"].as_str().unwrap();
        VerifyingKey::from_bytes(&hex::decode(hexs).unwrap().try_into().unwrap()).unwrap()
    };
    let verify = |who: &str, ctx: &str, item: &Value| {
        let msg = format!("{ctx}\n{}", item["canonical"].as_str().unwrap());
        let sig = item["signature"].as_str().unwrap();
        let sig = EdSig::from_bytes(&hex::decode(sig).unwrap().try_into().unwrap());
        key(who).verify_strict(msg.as_bytes(), &sig).unwrap();
        // And with any other context it does not verify.
        let other = format!(
            "outreach-kit/v1/receipt\n{}",
            item["canonical"].as_str().unwrap()
        );
        assert!(key(who).verify_strict(other.as_bytes(), &sig).is_err());
    };
    verify("field", "outreach-kit/v1/pair-request", &s["pair_request"]);
    verify("office", "outreach-kit/v1/pair-answer", &s["pair_answer"]);
    verify("field", "outreach-kit/v1/sync-hello", &s["sync_hello"]);
    verify("office", "outreach-kit/v1/holdings", &s["holdings"]);
    verify("office", "outreach-kit/v1/ack", &s["ack"]);
    verify("office", "outreach-kit/v1/ack", &s["ack_with_equivocation"]);
    for n in s["news"].as_array().unwrap() {
        verify("office", "outreach-kit/v1/news", n);
    }
    let input = hex::decode(s["pair_proof"]["input_hex"].as_str().unwrap()).unwrap();
    assert_eq!(
        sha256_hex(&input),
        s["pair_proof"]["proof"].as_str().unwrap()
    );
    let card = canonical_bytes(&s["field_card"]).unwrap();
    let code = hex::decode(s["pairing_code"]["bytes"].as_str().unwrap()).unwrap();
    let mut expect = b"outreach-kit/v1/pair-proof\n".to_vec();
    expect.extend_from_slice(&code);
    expect.extend_from_slice(&card);
    assert_eq!(input, expect);
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
    // Receipt codes: the digit form's check digit, recomputed with Damm's table from the file alone.
    let rc = read("receipt-codes.json");
    for v in rc["valid"].as_array().unwrap() {
        let digits = v["value_digits"].as_str().unwrap();
        assert_eq!(digits.parse::<u64>().unwrap(), v["value"].as_u64().unwrap());
        let (check, interim) = damm(digits);
        assert_eq!(v["damm_interim"].as_str().unwrap(), interim);
        assert_eq!(v["check_digit"].as_u64().unwrap(), u64::from(check));
        let all = format!("{digits}{check}");
        assert_eq!(damm(&all).0, 0);
        let shown = format!(
            "{}-{}-{}-{}",
            &all[..4],
            &all[4..8],
            &all[8..12],
            &all[12..]
        );
        assert_eq!(v["code"].as_str().unwrap(), shown);
    }
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
    // rejections.json: every signature verifies, and the broken rule is visible from the file alone.
    let r = read("rejections.json");
    let case = |name: &str| -> Value {
        r["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("case {name}"))
            .clone()
    };
    let sealed = |c: &Value| -> Value {
        let v: Value = serde_json::from_str(c["sealed_plaintext"].as_str().unwrap()).unwrap();
        let canonical = String::from_utf8(canonical_bytes(&v["dossier"]).unwrap()).unwrap();
        verify(
            "outreach-kit/v1/dossier",
            &canonical,
            v["signature"].as_str().unwrap(),
        );
        v["dossier"].clone()
    };
    let voids = sealed(&case("voids_with_fields"));
    assert_eq!(voids["disposition"]["kind"], "voids");
    assert!(!voids["fields"].as_object().unwrap().is_empty());
    let c = case("manifest_out_of_order");
    let canonical = c["manifest_canonical"].as_str().unwrap();
    verify(
        "outreach-kit/v1/batch-manifest",
        canonical,
        c["signature"].as_str().unwrap(),
    );
    let listed: Vec<u64> = serde_json::from_str::<Value>(canonical).unwrap()["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert!(listed.windows(2).any(|w| w[0] >= w[1]), "{listed:?}");
    let c = case("sealed_at_differs");
    let canonical = c["header_canonical"].as_str().unwrap();
    verify(
        "outreach-kit/v1/envelope",
        canonical,
        c["header_signature"].as_str().unwrap(),
    );
    let header: Value = serde_json::from_str(canonical).unwrap();
    assert_ne!(header["sealed_at"], d["dossier"]["sealed_at"]);
    let c = case("batch_meta_differs");
    let signed: Value = serde_json::from_str(m["canonical"].as_str().unwrap()).unwrap();
    assert_ne!(c["batch_meta"]["batch_id"], signed["batch_id"]);
    assert_eq!(c["batch_meta"]["device_id"], signed["device_id"]);
    let nfd = sealed(&case("nfd_value"));
    let name = nfd["fields"]["subject.full_name"].as_str().unwrap();
    assert_eq!(hex::encode(name.as_bytes()), case("nfd_value")["value_hex"]);
    assert!(!unicode_normalization::is_nfc(name));
}

/// The manifest of `manifest_vector` with its entries in the order given, signed.
fn manifest_with(entries: Vec<ManifestEntry>, head: &ManifestEntry) -> BatchManifest {
    let field = DeviceKey::from_seed(field_seed());
    BatchManifest {
        kind: "outreach-kit/batch-manifest".into(),
        v: 1,
        batch_id: "019a9f3e-9000-7000-8000-0000000000b1".into(),
        device_id: field.public().device_id(),
        device_name: "Trạm lưu động xã Bù Đăng 1".into(),
        created_at: "2026-11-23T09:30:00Z".into(),
        chain_head: ChainHead {
            seq: head.seq,
            hash: head.hash.clone(),
        },
        sessions: Vec::new(),
        sealed_sessions: None,
        envelopes: entries,
    }
}

/// Inputs a receiver MUST refuse (issue 18, finding 10), each beside the rule it breaks and the check code
/// the office reports. Every signature is valid: only the rule is broken.
fn rejections_vector() -> Value {
    let field = DeviceKey::from_seed(field_seed());
    let mut cases = Vec::new();

    // (a) §3.1.1: a cancellation carrying fields.
    let mut voids = dossier();
    voids.id = "019a9f3e-6c00-7000-8000-000000000002".into();
    voids.attachments.clear();
    voids.fields = [("subject.full_name".to_string(), "Điểu Thị Lan".to_string())].into();
    voids.disposition = Disposition::Voids {
        dossier_id: "019a9f3e-6c00-7000-8000-000000000001".into(),
        reason: "Người dân rút hồ sơ".into(),
    };
    let signed = voids.clone().sign(&field).unwrap();
    signed.verify(&field.public()).unwrap();
    let plain = signed.to_bytes().unwrap();
    let parsed = SignedDossier::from_bytes(&plain).unwrap();
    assert!(matches!(
        parsed.dossier.check_form(),
        Err(ProtocolError::Disposition(_))
    ));
    let mut ok = parsed.dossier.clone();
    ok.fields.clear();
    ok.check_form().unwrap();
    cases.push(json!({
        "name": "voids_with_fields",
        "rule": "§3.1.1: a cancellation (voids) carries fields {} and attachments []",
        "check": "format",
        "sealed_plaintext": text(&plain),
    }));

    // (b) §3.4: manifest entries out of seq order (a receiver MUST NOT sort them).
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
    let reversed: Vec<ManifestEntry> = entries.iter().rev().cloned().collect();
    let m = manifest_with(reversed, &entries[1]);
    let signed = SignedManifest::sign(m.clone(), &field).unwrap();
    signed.verify(&field.public()).unwrap();
    assert!(m.check_entries().is_err());
    manifest_with(entries.clone(), &entries[1])
        .check_entries()
        .unwrap();
    cases.push(json!({
        "name": "manifest_out_of_order",
        "rule": "§3.4: envelopes in strictly ascending seq",
        "check": "manifest_mismatch",
        "manifest_canonical": text(&canonical_bytes(&m).unwrap()),
        "signature": signed.signature.to_hex(),
    }));

    // (c) §3.2: the header's sealed_at differs from the dossier's (envelope 1 carries dossier.json).
    let d = dossier();
    let mut h = hs[0].clone();
    assert_eq!(h.sealed_at, d.sealed_at);
    d.check_header(&h).unwrap();
    h.sealed_at = "2026-11-23T02:16:00Z".into();
    let sh = h.clone().sign(&field).unwrap();
    sh.verify(&field.public()).unwrap();
    assert!(matches!(
        d.check_header(&h),
        Err(ProtocolError::BadDossier(_))
    ));
    cases.push(json!({
        "name": "sealed_at_differs",
        "rule": "§3.2: the header's sealed_at is the dossier's (dossier.json, sealed_at 2026-11-23T02:15:00Z)",
        "check": "format",
        "header_canonical": text(&h.to_bytes().unwrap()),
        "header_signature": sh.signature.to_hex(),
    }));

    // (d) §8: batch_meta's unsigned copies differ from the signed manifest (manifest.json).
    let good = manifest_with(entries.clone(), &entries[1]);
    let meta = [
        ("format", "outreach-kit-batch"),
        ("format_version", BATCH_FORMAT_V2),
        ("batch_id", "019a9f3e-9000-7000-8000-0000000000b2"),
        ("device_id", good.device_id.as_str()),
        ("created_at", good.created_at.as_str()),
    ];
    assert!(good.check_batch_meta(meta).is_err());
    let mut fixed = meta;
    fixed[2].1 = good.batch_id.as_str();
    good.check_batch_meta(fixed).unwrap();
    let meta_json: serde_json::Map<String, Value> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    cases.push(json!({
        "name": "batch_meta_differs",
        "rule": "§8: batch_meta's batch_id, device_id and created_at equal the signed manifest's (manifest.json)",
        "check": "manifest_mismatch",
        "batch_meta": meta_json,
    }));

    // (e) §1: a field value in NFD (decomposed) rather than NFC.
    let mut nfd = dossier();
    nfd.id = "019a9f3e-6c00-7000-8000-000000000003".into();
    let decomposed: String = {
        use unicode_normalization::UnicodeNormalization;
        "Điểu Thị Lan".nfd().collect()
    };
    assert_ne!(decomposed, "Điểu Thị Lan");
    nfd.fields
        .insert("subject.full_name".into(), decomposed.clone());
    let signed = nfd.clone().sign(&field).unwrap();
    signed.verify(&field.public()).unwrap();
    let plain = signed.to_bytes().unwrap();
    let parsed = SignedDossier::from_bytes(&plain).unwrap();
    assert!(matches!(
        parsed.dossier.check_form(),
        Err(ProtocolError::BadDossier(_))
    ));
    dossier().check_form().unwrap();
    cases.push(json!({
        "name": "nfd_value",
        "rule": "§1: text is Unicode NFC (subject.full_name is written decomposed, NFD)",
        "check": "format",
        "sealed_plaintext": text(&plain),
        "value_hex": hex::encode(decomposed.as_bytes()),
    }));

    json!({
        "description": "Inputs a receiver MUST refuse although every signature verifies (keys.json field key); `check` is the code the office reports (§9): a dossier case quarantines its envelope, a manifest or batch_meta case refuses the batch.",
        "cases": cases,
    })
}

#[test]
fn rejections() {
    check("rejections.json", rejections_vector());
}

/// §13: a small procedure package (one group, two fields, one paper, a result, an export, a layout), its
/// canonical bytes and hash, the office's signature, and the index that lists it.
fn package_vector() -> Value {
    let office = DeviceKey::from_seed(office_seed());
    let package: ProcedurePackage = serde_json::from_value(json!({
        "kind": PACKAGE_KIND,
        "v": 1,
        "menu_order": 50,
        "procedure": {
            "id": "vector-procedure",
            "version": 1,
            "effective_from": "2027-03-01",
            "title": {"vi": "Thủ tục mẫu", "en": "Sample procedure"},
            "authority": {"vi": "Ủy ban nhân dân cấp xã", "en": "Commune People's Committee"},
            "time_limit_working_days": 3,
            "groups": [{
                "id": "person",
                "title": {"vi": "Người yêu cầu", "en": "Requester"},
                "fields": [
                    {"key": "person.full_name", "kind": "name", "required": true,
                     "label": {"vi": "Họ, chữ đệm, tên", "en": "Full name"}},
                    {"key": "person.date_of_birth", "kind": "date", "required": true,
                     "label": {"vi": "Ngày sinh", "en": "Date of birth"}}
                ]
            }],
            "documents": [{"role": "id_document", "required": true, "original": true,
                           "label": {"vi": "Giấy tờ tùy thân", "en": "Identity document"}}]
        },
        "results": [{"kind": "number", "label": {"vi": "Số văn bản", "en": "Document number"}}],
        "exports": [{
            "id": "sample", "form": {"vi": "Tờ khai mẫu", "en": "Sample form"},
            "target": {"vi": "Phần mềm mẫu", "en": "Sample software"},
            "items": [
                {"name": {"vi": "Mã biên nhận", "en": "Receipt code"}, "value": "receipt_code"},
                {"name": {"vi": "Họ, chữ đệm, tên", "en": "Full name"}, "value": {"upper": "person.full_name"}},
                {"name": {"vi": "Ngày sinh", "en": "Date of birth"}, "value": {"date": "person.date_of_birth"}},
                {"name": {"vi": "Số văn bản", "en": "Document number"}, "value": {"result_number": "number"}}
            ]
        }],
        "layouts": [{
            "form": "sample", "from": "2027-03-01", "title": "TỜ KHAI MẪU",
            "lines": [{"item": {"no": "1", "label": "Họ, chữ đệm, tên", "parts": [{"value": {"field": "person.full_name"}}]}}],
            "oath": "Tôi cam đoan những nội dung khai trên đây là đúng sự thật.",
            "place": {"field": "person.full_name"},
            "signatures": [{"title": "Người yêu cầu", "note": "(Ký, ghi rõ họ, chữ đệm, tên)",
                            "name": {"field": "person.full_name"}}]
        }]
    }))
    .unwrap();
    package.check_form().unwrap();
    let signed = SignedPackage::sign(package.clone(), &office).unwrap();
    let bytes = signed.to_bytes().unwrap();
    assert_eq!(SignedPackage::from_bytes(&bytes).unwrap(), signed);
    signed.verify(&office.public()).unwrap();
    let index = PackageIndex {
        kind: PACKAGE_INDEX_KIND.into(),
        v: 1,
        packages: vec![package.summary().unwrap()],
    };
    index.check_form().unwrap();
    let mut item = signed_item(&package, &signed.signature, &signed);
    item["hash"] = json!(package.hash().unwrap());
    json!({
        "description": "§13: a procedure package signed by the office (seed: keys.json office). hash = SHA-256(canonical); signature over \"outreach-kit/v1/procedure-package\" || LF || canonical.",
        "package": item,
        "index": {"body": index, "canonical": text(&canonical_bytes(&index).unwrap())},
    })
}

#[test]
fn procedure_package() {
    check("package.json", package_vector());
}

/// The package vector verifies from the file alone.
#[test]
fn package_vector_verifies_independently() {
    use ed25519_dalek::{Signature as EdSig, VerifyingKey};
    use sha2::{Digest, Sha256};
    let read = |n: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(vectors_dir().join(n)).unwrap()).unwrap()
    };
    let keys = read("keys.json");
    let p = &read("package.json")["package"];
    let canonical = p["canonical"].as_str().unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(canonical.as_bytes())),
        p["hash"].as_str().unwrap()
    );
    let key = VerifyingKey::from_bytes(
        &hex::decode(keys["office"]["public_key"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    )
    .unwrap();
    let sig = EdSig::from_bytes(
        &hex::decode(p["signature"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    );
    let msg = format!("outreach-kit/v1/procedure-package\n{canonical}");
    key.verify_strict(msg.as_bytes(), &sig).unwrap();
    let tampered = msg.replace("TỜ KHAI MẪU", "TỜ KHAI KHÁC");
    assert!(key.verify_strict(tampered.as_bytes(), &sig).is_err());
}
