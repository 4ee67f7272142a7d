//! Property tests: round trips hold and parsers never panic on hostile input.

use std::collections::BTreeMap;

use proptest::prelude::*;
use protocol::*;

fn sample_card_text() -> String {
    KeyCard::new(
        &DeviceKey::from_seed([1; 32]),
        HubMode::Field,
        "Trạm lưu động 1".into(),
        "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj".into(),
        "2026-11-23T08:15:00Z".into(),
    )
    .unwrap()
    .to_text()
}

proptest! {
    #[test]
    fn receipt_display_parse_round_trip(bytes in any::<[u8; 5]>()) {
        // Digit form (issued now): DDDD-DDDD-DDDD-DD, digits and hyphens only.
        let code = ReceiptCode::from_entropy(bytes);
        let shown = code.to_string();
        prop_assert_eq!(shown.len(), 17);
        prop_assert!(shown.chars().all(|c| c.is_ascii_digit() || c == '-'), "{}", shown);
        prop_assert_eq!(ReceiptCode::parse(&shown), Ok(code.clone()));
        prop_assert_eq!(ReceiptCode::parse(&shown.replace('-', " ")), Ok(code.clone()));
        prop_assert_eq!(ReceiptCode::parse(&code.compact()), Ok(code.clone()));
        let json = serde_json::to_string(&code).unwrap();
        prop_assert_eq!(serde_json::from_str::<ReceiptCode>(&json).unwrap(), code);
    }

    #[test]
    fn receipt_codes_issued_before_digit_codes_still_parse(bytes in any::<[u8; 5]>()) {
        // Crockford form: XXXX-XXXX-C, parsed back in its own form, also lower case and spaced.
        let code = ReceiptCode::from_entropy(bytes).in_form(ReceiptCodeForm::Crockford);
        let shown = code.to_string();
        prop_assert_eq!(shown.len(), 11);
        let back = ReceiptCode::parse(&shown).unwrap();
        prop_assert_eq!(back.form(), ReceiptCodeForm::Crockford);
        prop_assert_eq!(&back, &code);
        prop_assert_eq!(back.to_string(), shown.clone());
        prop_assert_eq!(ReceiptCode::parse(&shown.to_lowercase().replace('-', " ")), Ok(code.clone()));
        let json = serde_json::to_string(&code).unwrap();
        prop_assert_eq!(serde_json::from_str::<ReceiptCode>(&json).unwrap(), code.clone());
        // Its digit form is another code with the same value.
        let digits = ReceiptCode::parse(&code.in_form(ReceiptCodeForm::Digits).to_string()).unwrap();
        prop_assert_ne!(&digits, &code);
        prop_assert_eq!(digits.value(), code.value());
    }

    #[test]
    fn every_single_digit_error_of_a_digit_code_is_refused(
        bytes in any::<[u8; 5]>(), pos in 0usize..14, delta in 1u8..10,
    ) {
        let code = ReceiptCode::from_entropy(bytes);
        let mut s = code.compact().into_bytes();
        s[pos] = b'0' + (s[pos] - b'0' + delta) % 10;
        let typo = String::from_utf8(s).unwrap();
        prop_assert!(ReceiptCode::parse(&typo).is_err(), "{} accepted for {}", typo, code);
    }

    #[test]
    fn every_adjacent_swap_in_a_digit_code_is_refused(bytes in any::<[u8; 5]>(), pos in 0usize..13) {
        let code = ReceiptCode::from_entropy(bytes);
        let mut s = code.compact().into_bytes();
        prop_assume!(s[pos] != s[pos + 1]);
        s.swap(pos, pos + 1);
        let typo = String::from_utf8(s).unwrap();
        prop_assert!(ReceiptCode::parse(&typo).is_err(), "{} accepted for {}", typo, code);
    }

    #[test]
    fn receipt_parse_never_panics(s in ".{0,20}") {
        let _ = ReceiptCode::parse(&s);
    }

    #[test]
    fn receipt_parse_never_panics_near_valid(s in "[0-9A-Za-z*~$=U -]{7,13}") {
        if let Ok(code) = ReceiptCode::parse(&s) {
            // Whatever parses re-parses to itself from its display form.
            prop_assert_eq!(ReceiptCode::parse(&code.to_string()), Ok(code));
        }
    }

    #[test]
    fn receipt_parse_of_digit_strings_round_trips(s in "[0-9 .-]{12,22}") {
        if let Ok(code) = ReceiptCode::parse(&s) {
            // 14 digits are a digit-form code, 9 a Crockford one (all-digit codes exist in that form).
            let typed: String = s.chars().filter(char::is_ascii_digit).collect();
            let form = if typed.len() == 14 { ReceiptCodeForm::Digits } else { ReceiptCodeForm::Crockford };
            prop_assert_eq!(typed.len() == 14 || typed.len() == 9, true);
            prop_assert_eq!(code.form(), form);
            prop_assert!(code.value() < 1 << 40);
            prop_assert_eq!(ReceiptCode::parse(&code.to_string()), Ok(code.clone()));
            prop_assert_eq!(code.compact(), typed);
        }
    }

    #[test]
    fn parse_canonical_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_canonical::<SignedDossier>(&bytes);
        let _ = parse_canonical::<EnvelopeHeader>(&bytes);
        let _ = parse_canonical::<BatchManifest>(&bytes);
        let _ = parse_canonical::<serde_json::Value>(&bytes);
    }

    #[test]
    fn parse_canonical_of_json_text_never_panics(s in r#"[{}\[\]":,0-9a-z\\ .eE+-]{0,60}"#) {
        if let Ok(v) = parse_canonical::<serde_json::Value>(s.as_bytes()) {
            prop_assert_eq!(canonical_bytes(&v).unwrap(), s.into_bytes());
        }
    }

    #[test]
    fn key_card_parse_never_panics(s in ".{0,300}") {
        let _ = KeyCard::parse(&s);
    }

    #[test]
    fn key_card_mutations_are_rejected_or_identical(pos in 0usize..2000, byte in any::<u8>()) {
        let text = sample_card_text();
        let mut bytes = text.clone().into_bytes();
        let i = pos % bytes.len();
        bytes[i] = byte;
        if let Ok(mutated) = String::from_utf8(bytes) {
            if let Ok(card) = KeyCard::parse(&mutated) {
                // Only layout-insignificant changes (e.g. whitespace) may still parse, to the same card.
                prop_assert_eq!(card, KeyCard::parse(&text).unwrap());
            }
        }
    }

    /// Any single-bit change of a signed receipt QR is refused: it no longer parses, or no longer verifies.
    #[test]
    fn receipt_qr_single_bit_flips_are_refused(seq in 1u64..1_000_000, pos in 0usize..400, bit in 0u8..8) {
        let key = DeviceKey::from_seed([5u8; 32]);
        let device = key.public().device_id();
        let receipt = Receipt {
            v: 1,
            code: ReceiptCode::derive(&device, seq),
            device_id: device,
            seq,
            procedure: ProcedureRef { id: "birth-residence-insurance".into(), version: 1 },
            date: "2026-11-23".into(),
        };
        let text = receipt.sign(&key).unwrap().to_qr_text().unwrap();
        let mut bytes = text.into_bytes();
        let i = pos % bytes.len();
        bytes[i] ^= 1 << bit;
        if let Ok(mutated) = String::from_utf8(bytes) {
            if let Ok(parsed) = SignedReceipt::from_qr_text(&mutated) {
                prop_assert!(parsed.verify(&key.public()).is_err(), "{}", mutated);
            }
        }
    }

    #[test]
    fn signed_dossier_bytes_round_trip(
        fields in proptest::collection::btree_map("[a-z.]{1,12}", "\\PC{0,30}", 0..6),
        entropy in any::<[u8; 5]>(),
    ) {
        let key = DeviceKey::from_seed([4; 32]);
        let d = Dossier {
            v: 1,
            id: "019a9f3e-6c00-7000-8000-000000000001".into(),
            device_id: key.public().device_id(),
            procedure: ProcedureRef { id: "marital-status-certificate".into(), version: 1 },
            fields,
            attachments: vec![],
            captured_at: "2026-11-23T02:05:00Z".into(),
            captured_by: Actor { user_id: "u1".into(), role: "volunteer".into() },
            sealed_at: "2026-11-23T02:15:00Z".into(),
            sealed_by: Actor { user_id: "u2".into(), role: "officer".into() },
            session_id: None,
            receipt_code: ReceiptCode::from_entropy(entropy),
            disposition: Disposition::New,
        };
        let signed = d.sign(&key).unwrap();
        let back = SignedDossier::from_bytes(&signed.to_bytes().unwrap()).unwrap();
        prop_assert!(back.verify(&key.public()).is_ok());
        prop_assert_eq!(back, signed);
    }

    #[test]
    fn validate_never_panics(
        fields in proptest::collection::btree_map(
            prop_oneof![Just("subject.pin".to_string()), Just("subject.date_of_birth".to_string()),
                        Just("subject.sex".to_string()), Just("period.from".to_string()),
                        Just("period.to".to_string()), Just("requester.phone".to_string()), "[a-z.]{1,10}"],
            "\\PC{0,15}|[0-9-]{0,12}", 0..8),
    ) {
        let def = &catalogue()[0];
        let today = time::macros::date!(2026 - 11 - 23);
        let n = normalize_fields(&fields);
        let draft = validate(def, &n, &[], today, Stage::Draft);
        let seal = validate(def, &n, &[], today, Stage::Seal);
        // Seal only adds checks: every field with a draft error also has a seal error.
        for e in draft {
            prop_assert!(seal.iter().any(|s| s.field == e.field), "{:?}", e);
        }
    }

    #[test]
    fn normalize_is_idempotent(fields in proptest::collection::btree_map("[a-z]{1,5}", "\\PC{0,20}", 0..5)) {
        let once = normalize_fields(&fields);
        prop_assert_eq!(normalize_fields(&once), once);
    }
}

#[test]
fn chain_check_is_quiet_on_any_well_formed_chain() {
    let hs: Vec<(u64, String, String)> = (1..=50u64)
        .map(|s| {
            (
                s,
                if s == 1 {
                    GENESIS_PREV.to_string()
                } else {
                    format!("h{}", s - 1)
                },
                format!("h{s}"),
            )
        })
        .collect();
    for start in 0..hs.len() {
        let known = if start == 0 {
            None
        } else {
            Some(ChainHead {
                seq: start as u64,
                hash: format!("h{start}"),
            })
        };
        assert!(
            check_chain(known.as_ref(), &hs[start..]).is_empty(),
            "start {start}"
        );
    }
    let empty: BTreeMap<String, String> = BTreeMap::new();
    assert!(normalize_fields(&empty).is_empty());
}

// ---- sync messages (docs/protocol.md §11)

fn sync_office() -> DeviceKey {
    DeviceKey::from_seed([0x20; 32])
}

fn sample_ack(acked: &[u64], missing: &[u64]) -> Ack {
    Ack {
        kind: ACK_KIND.into(),
        v: 1,
        office_id: sync_office().public().device_id(),
        device_id: DeviceKey::from_seed([1; 32]).public().device_id(),
        batch_id: "0193a5b2-7c4e-7d10-8f00-0000000000b1".into(),
        acked: acked
            .iter()
            .map(|s| AckedEnvelope {
                seq: *s,
                hash: sha256_hex(&s.to_be_bytes()),
            })
            .collect(),
        quarantined: vec![],
        equivocations: vec![],
        missing: missing.to_vec(),
        acked_at: "2026-11-23T08:15:00Z".into(),
    }
}

proptest! {
    #[test]
    fn pairing_code_round_trip(bytes in any::<[u8; 10]>()) {
        let code = PairingCode::from_bytes(bytes);
        let shown = code.to_string();
        prop_assert_eq!(shown.len(), 21);
        prop_assert_eq!(PairingCode::parse(&shown).unwrap(), code.clone());
        prop_assert_eq!(PairingCode::parse(&shown.to_lowercase().replace('-', " ")).unwrap(), code.clone());
        let qr = PairingQr::new("http://192.168.1.20:8080".into(), code.clone()).unwrap();
        prop_assert_eq!(PairingQr::parse(&qr.to_text()).unwrap(), qr);
    }

    /// Any single data-symbol substitution of a pairing code is caught by the check symbol.
    #[test]
    fn pairing_code_single_substitution_is_caught(bytes in any::<[u8; 10]>(), pos in 0usize..16, sym in 0usize..32) {
        let code = PairingCode::from_bytes(bytes);
        let mut c: Vec<u8> = code.compact().into_bytes();
        let alphabet = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        prop_assume!(c[pos] != alphabet[sym]);
        c[pos] = alphabet[sym];
        prop_assert!(PairingCode::parse(std::str::from_utf8(&c).unwrap()).is_err());
    }

    #[test]
    fn pairing_parsers_never_panic(s in ".{0,80}") {
        let _ = PairingCode::parse(&s);
        let _ = PairingQr::parse(&s);
        let _ = PairingQr::parse(&format!("OKP1:{s}"));
    }

    #[test]
    fn holdings_ranges_and_missing(held in proptest::collection::vec(1u64..200, 0..60),
                                   local in proptest::collection::vec(1u64..220, 0..60)) {
        let ranges = Holdings::ranges_of(&held);
        let head = ranges.last().map(|r| ChainHead { seq: r[1], hash: sha256_hex(b"h") });
        let h = Holdings {
            kind: HOLDINGS_KIND.into(),
            v: 1,
            office_id: sync_office().public().device_id(),
            device_id: DeviceKey::from_seed([1; 32]).public().device_id(),
            head,
            held: ranges,
            quarantined: vec![],
            as_of: "2026-11-23T08:15:00Z".into(),
            device_status: DeviceStatus::Approved,
        };
        h.check_form().unwrap();
        for s in 0..230u64 {
            prop_assert_eq!(h.holds(s), held.contains(&s));
        }
        let missing = h.missing(&local);
        for s in &local {
            prop_assert_eq!(missing.contains(s), !held.contains(s));
        }
        prop_assert!(missing.windows(2).all(|w| w[0] < w[1]));
        let signed = SignedHoldings::sign(h, &sync_office()).unwrap();
        let back = SignedHoldings::from_bytes(&signed.to_bytes().unwrap()).unwrap();
        prop_assert!(back.verify(&sync_office().public()).is_ok());
        prop_assert_eq!(back, signed);
    }

    #[test]
    fn chunks_cover_a_blob_once_from_any_resume_point(total in 0u64..3_000_000, held in 0u64..3_000_000, max in 1u64..=262_144) {
        let mut at = held.min(total);
        let mut steps = 0u64;
        while let Some((o, l)) = next_chunk(total, at, max) {
            prop_assert_eq!(o, at);
            prop_assert!(l >= 1 && l <= max);
            at += l;
            steps += 1;
        }
        prop_assert_eq!(at, total);
        prop_assert!(steps <= (total - held.min(total)).div_ceil(max));
    }

    #[test]
    fn ack_covers_only_exact_pairs(set in proptest::collection::btree_set(1u64..100, 0..20), probe in 1u64..100) {
        let acked: Vec<u64> = set.iter().copied().collect();
        let signed = SignedAck::sign(sample_ack(&acked, &[]), &sync_office()).unwrap();
        let back = SignedAck::from_bytes(&signed.to_bytes().unwrap()).unwrap();
        prop_assert!(back.verify(&sync_office().public()).is_ok());
        prop_assert_eq!(back.ack.covers(probe, &sha256_hex(&probe.to_be_bytes())), set.contains(&probe));
        prop_assert!(!back.ack.covers(probe, &sha256_hex(b"other")));
    }

    #[test]
    fn sync_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = SignedPairRequest::from_bytes(&bytes);
        let _ = SignedPairAnswer::from_bytes(&bytes);
        let _ = SignedHoldings::from_bytes(&bytes);
        let _ = SignedAck::from_bytes(&bytes);
        let _ = SignedSyncHello::from_bytes(&bytes);
        let _ = SignedNews::from_bytes(&bytes);
        let _ = NewsBatch::from_bytes(&bytes);
        let _ = parse_canonical::<ChunkPut>(&bytes);
    }

    /// Any single-bit change of a signed ack is refused: it no longer parses, or no longer verifies.
    #[test]
    fn ack_single_bit_flips_are_refused(pos in 0usize..2000, bit in 0u8..8) {
        let signed = SignedAck::sign(sample_ack(&[1, 2, 3], &[5]), &sync_office()).unwrap();
        let mut bytes = signed.to_bytes().unwrap();
        let i = pos % bytes.len();
        bytes[i] ^= 1 << bit;
        if let Ok(parsed) = SignedAck::from_bytes(&bytes) {
            prop_assert!(parsed.verify(&sync_office().public()).is_err());
        }
    }
}

/// A signed built-in package, once.
fn signed_package_bytes() -> &'static [u8] {
    static B: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    B.get_or_init(|| {
        let p = protocol::builtin_packages()[0].clone();
        protocol::SignedPackage::sign(p, &DeviceKey::from_seed([9; 32]))
            .unwrap()
            .to_bytes()
            .unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any one byte changed in a signed package: refused at decoding, or decoded and then refused by the
    /// signature check (never a panic, never a package that verifies with other content).
    #[test]
    fn signed_package_mutations_are_refused(pos in 0usize..100_000, byte in any::<u8>()) {
        let good = signed_package_bytes();
        let mut b = good.to_vec();
        let i = pos % b.len();
        prop_assume!(b[i] != byte);
        b[i] = byte;
        if let Ok(s) = protocol::SignedPackage::from_bytes(&b) {
            prop_assert!(s.verify(&DeviceKey::from_seed([9; 32]).public()).is_err());
        }
    }
}
