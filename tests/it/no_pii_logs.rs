//! No personal data in logs (issue 8): a field and an office hub run at `HUB_LOG=debug` with their standard
//! error captured to files, and so do the CLI commands of the trip (`hub batch export` / `import`). A
//! volunteer-facing run goes through setup and logins (passwords), captures a marital-status request and a
//! 3-in-1 with distinctive names, citizen ID numbers (CCCD, 12 digits), a phone number and addresses, seals
//! both, carries them to the office, where a clerk searches by name, opens each dossier and its photos and
//! makes the exports. Then every log is searched for every captured value, as typed (NFC), decomposed (NFD)
//! and folded to ASCII without diacritics, case-insensitively; any hit fails the test with the line.

use std::path::Path;

use crate::common::*;
use serde_json::{json, Value};
use unicode_normalization::UnicodeNormalization;

const ADMIN_PASSWORD: &str = "Quản-trị-Rừng-Xanh-4817";
const OFFICER_PASSWORD: &str = "Cán-bộ-Suối-Đá-2964";
const CLERK_PASSWORD: &str = "Văn-thư-Núi-Mây-5583";

/// The forms of `v` a leak could take in a log line, lower-cased: as typed, NFD, and ASCII without marks.
fn forms(v: &str) -> Vec<String> {
    let nfc: String = v.nfc().collect();
    let nfd: String = v.nfd().collect();
    let ascii: String = nfd
        .chars()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        })
        .collect();
    let mut out: Vec<String> = [nfc, nfd, ascii]
        .into_iter()
        .map(|s| s.to_lowercase())
        .collect();
    out.dedup();
    out
}

/// Whether `line` carries `secret` in one of its [`forms`].
fn leaks(line: &str, secret: &str) -> bool {
    let lower = line.to_lowercase();
    let lower_nfc: String = lower.nfc().collect();
    forms(secret)
        .iter()
        .any(|f| lower.contains(f.as_str()) || lower_nfc.contains(f.as_str()))
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn debug_logs_of_a_whole_run_carry_no_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    let (f, o) = (field_dir.to_str().unwrap(), office_dir.to_str().unwrap());
    let field_log = tmp.path().join("field.log");
    let office_log = tmp.path().join("office.log");
    let mut cli_logs = String::new();
    let mut cli_debug = |args: &[&str], envs: &[(&str, &str)]| {
        let mut e = envs.to_vec();
        e.push(("HUB_LOG", "debug"));
        let out = cli(args, &e);
        cli_logs.push_str(&String::from_utf8_lossy(&out.stderr));
        assert!(
            out.status.success(),
            "hub {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    cli_debug(&["init", "--mode", "office", "--data", o], &[]);
    cli_debug(
        &[
            "user", "add", "--data", o, "--name", "vanthu", "--role", "clerk",
        ],
        &[("HUB_PASSWORD", CLERK_PASSWORD)],
    );
    let field = Hub::start_logged("field", &field_dir, &[], "debug", Some(&field_log));
    pair_by_files(tmp.path(), &field_dir, &office_dir);

    // The captured values: each one distinctive enough that a hit is a leak, not a coincidence.
    let subject = "Lâm Thị Vỹ Uyên";
    let subject_pin = "070198007319";
    let residence = "Tổ 7, ấp Sóc Bom Bo Xuyến, xã Bù Gia Mập";
    let child = "Điểu Thị Ngọc Lụa";
    let mother = "Thạch Thị Kim Xuyến";
    let mother_pin = "070198005813";
    let mother_phone = "0968271455";
    let mother_address = "Tổ 9, ấp Đắk Xuyên Lộc";
    let father = "Điểu Văn Brông";
    let father_pin = "070095006627";
    let born = hub::office::casework::deadline::fmt_date(
        hub::shared::clock::today_vn() - time::Duration::days(20),
    );
    let photo = {
        let img = image::RgbImage::from_fn(320, 240, |x, y| {
            image::Rgb([(x % 200) as u8, (y % 180) as u8, 90])
        });
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
        out.into_inner()
    };

    let sealed: Vec<Value> = block_on(async {
        let admin = Client::setup(&field, "quantri", ADMIN_PASSWORD).await;
        let (s, b) = admin
            .post(
                "/api/v1/users",
                json!({"name": "canbo", "role": "officer", "password": OFFICER_PASSWORD}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        // A failed login with a password close to the real one is logged as a failure, without it.
        let bad = Client::new(&field.base);
        let (s, _) = bad
            .post(
                "/api/v1/login",
                json!({"name": "canbo", "password": format!("{OFFICER_PASSWORD}!")}),
            )
            .await;
        assert_eq!(s, 401);
        let officer = Client::login(&field.base, "canbo", OFFICER_PASSWORD).await;

        let mut fields = marital_fields(subject, subject_pin);
        fields.insert("requester.residence".into(), residence.into());
        fields.insert("subject.residence".into(), residence.into());
        let (s, d) = officer
            .post(
                "/api/v1/drafts",
                json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        let id = d["id"].as_str().unwrap().to_string();
        // A first save with a wrong ID number is refused (the refusal is logged, the value is not).
        let mut wrong = fields.clone();
        wrong.insert("subject.pin".into(), "07019800731".into());
        let (s, b) = officer
            .put(
                &format!("/api/v1/drafts/{id}"),
                json!({"fields": wrong, "version": d["version"]}),
            )
            .await;
        assert!(s == 422 || s == 200, "{s} {b}");
        let (_, d) = officer.get(&format!("/api/v1/drafts/{id}")).await;
        let (s, b) = officer
            .put(
                &format!("/api/v1/drafts/{id}"),
                json!({"fields": fields, "version": d["version"]}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = officer
            .upload(
                &id,
                "id_document",
                &format!("{subject}.jpg"),
                photo.clone(),
                "image/jpeg",
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let (s, r1) = officer
            .post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
            .await;
        assert_eq!(s, 201, "{r1}");

        let mut f3 = three_in_one_fields(child, &born);
        for (k, v) in [
            ("mother.full_name", mother),
            ("mother.pin", mother_pin),
            ("mother.phone", mother_phone),
            ("mother.residence_detail", mother_address),
            ("father.full_name", father),
            ("father.pin", father_pin),
        ] {
            f3.insert(k.into(), json!(v));
        }
        let (s, d) = officer
            .post(
                "/api/v1/drafts",
                json!({"procedure": {"id": "birth-residence-insurance", "version": 1}, "fields": f3}),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        let id = d["id"].as_str().unwrap().to_string();
        for role in ["birth_certificate", "requester_id"] {
            let (s, b) = officer
                .upload(&id, role, "giay.jpg", photo.clone(), "image/jpeg")
                .await;
            assert_eq!(s, 201, "{b}");
        }
        let (s, _) = officer.get(&format!("/api/v1/drafts/{id}/check")).await;
        assert_eq!(s, 200);
        let (s, r2) = officer
            .post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
            .await;
        assert_eq!(s, 201, "{r2}");
        let (s, _) = officer
            .get(&format!(
                "/api/v1/receipts/{}",
                r2["code"].as_str().unwrap()
            ))
            .await;
        assert_eq!(s, 200);
        vec![r1, r2]
    });
    drop(field);

    // The trip to the office by USB stick, the CLI at debug level too.
    let batch = tmp.path().join("trip.batch");
    cli_debug(
        &[
            "batch",
            "export",
            "--data",
            f,
            "--out",
            batch.to_str().unwrap(),
        ],
        &[],
    );
    cli_debug(
        &["batch", "import", "--data", o, batch.to_str().unwrap()],
        &[],
    );
    for r in &sealed {
        cli_debug(
            &["receipt", "verify", "--data", f, r["qr"].as_str().unwrap()],
            &[],
        );
    }

    let office = Hub::start_logged("office", &office_dir, &[], "debug", Some(&office_log));
    block_on(async {
        let clerk = Client::login(&office.base, "vanthu", CLERK_PASSWORD).await;
        for q in [subject, child, subject_pin, mother_phone] {
            let (s, b) = clerk
                .get(&format!("/api/v1/office/dossiers?q={}", urlencode(q)))
                .await;
            assert_eq!(s, 200, "{b}");
        }
        for r in &sealed {
            let id = r["dossier_id"].as_str().unwrap();
            let (s, d) = clerk.get(&format!("/api/v1/office/dossiers/{id}")).await;
            assert_eq!(s, 200, "{d}");
            assert!(d.to_string().contains(subject) || d.to_string().contains(child));
        }
        for system in ["marital_status", "birth_declaration", "ct01", "tk1_ts"] {
            let (s, b) = clerk
                .post(
                    "/api/v1/office/exports",
                    json!({"system": system, "format": "csv"}),
                )
                .await;
            assert!(s < 500, "export {system}: {s} {b}");
            if let Some(id) = b["id"].as_str() {
                let (s, _) = clerk
                    .get_bytes(&format!("/api/v1/office/exports/{id}/file"))
                    .await;
                assert_eq!(s, 200);
            }
        }
    });
    drop(office);

    let logs = [
        ("field hub", read_log(&field_log)),
        ("office hub", read_log(&office_log)),
        ("CLI commands", cli_logs),
    ];
    // The logs really are at debug level (else this test could not fail).
    for (what, text) in &logs[..2] {
        assert!(text.contains("DEBUG"), "the {what} log has no DEBUG line");
    }
    let secrets = [
        subject,
        subject_pin,
        residence,
        "Sóc Bom Bo Xuyến",
        child,
        mother,
        mother_pin,
        mother_phone,
        mother_address,
        father,
        father_pin,
        ADMIN_PASSWORD,
        OFFICER_PASSWORD,
        CLERK_PASSWORD,
        "07019800731",
    ];
    // The matcher itself finds a value however it was written.
    let nfd_line: String = format!("name={}", subject.to_uppercase()).nfd().collect();
    assert!(leaks(&nfd_line, subject));
    assert!(leaks("q=lam thi vy uyen&x", subject));
    assert!(leaks("phone 0968271455", mother_phone));
    assert!(!leaks("Lâm Thị", subject));
    let mut hits = Vec::new();
    for (what, text) in &logs {
        for line in text.lines() {
            for secret in secrets {
                if leaks(line, secret) {
                    hits.push(format!("{what}: {secret:?} in: {line}"));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "personal data in the logs:\n{}",
        hits.join("\n")
    );
    let lines: usize = logs.iter().map(|(_, t)| t.lines().count()).sum();
    println!(
        "no PII in logs: {lines} log lines (field, office, CLI at debug) searched for {} values in 3 forms each: 0 hits",
        secrets.len()
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
