//! Outputs before and after the export mappings and print layouts became package data (issue 20): for
//! fixture dossiers of every procedure version, the header and rows of every export system and the filled
//! forms of every layout, compared byte for byte with the files written by the code that held the tables
//! compiled in (`hub/tests/fixtures/packages/before/`). `cargo test -p hub --lib golden -- --ignored`
//! rewrites them (only ever with the old code; the files are the reference).

use std::path::PathBuf;

use crate::office::exports::systems::{self, Record, UnitLabels};
use crate::shared::store::StoreResult;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/packages/before")
}

fn record(
    id: &str,
    procedure: &str,
    version: u32,
    fields: &[(&str, &str)],
    results: &[(&str, &str)],
) -> Record {
    Record {
        dossier_id: id.into(),
        receipt_code: format!("RC-{id}"),
        received_at: "2026-11-20T18:30:00Z".into(),
        procedure: protocol::ProcedureRef {
            id: procedure.into(),
            version,
        },
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        results: results
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

const BRI: &str = "birth-residence-insurance";
const MSC: &str = "marital-status-certificate";
const ALL_RESULTS: &[(&str, &str)] = &[
    ("pin", "070326000123"),
    ("birth_registration", "12/2026"),
    ("health_insurance", "TE1797924000123"),
];

/// A 3-in-1 with mother and father, as captured under catalogue v1.
fn bri_v1() -> Vec<(&'static str, &'static str)> {
    vec![
        ("addressee.commune", "25222"),
        ("child.full_name", "Điểu Văn Nam"),
        ("child.date_of_birth", "2026-10-02"),
        ("child.sex", "male"),
        ("child.nationality", "Việt Nam"),
        ("child.place_of_birth", "Trạm Y tế xã Bù Gia Mập"),
        ("child.place_of_birth_commune", "25222"),
        ("child.hometown", "Bù Gia Mập, Đồng Nai"),
        ("birth.proof", "facility"),
        ("mother.full_name", "Thị Hoa"),
        ("mother.date_of_birth", "1998"),
        ("mother.ethnicity", "Xtiêng"),
        ("mother.nationality", "Việt Nam"),
        ("mother.pin", "070198001234"),
        ("mother.residence_commune", "25222"),
        ("mother.residence_detail", "Thôn Bù Khơn"),
        ("mother.phone", "0912345678"),
        ("father.declared", "yes"),
        ("father.full_name", "Điểu Văn Bình"),
        ("father.date_of_birth", "1995-03-14"),
        ("father.ethnicity", "Xtiêng"),
        ("father.nationality", "Việt Nam"),
        ("father.pin", "070095004321"),
        ("father.residence_commune", "25222"),
        ("father.residence_detail", "Thôn Bù Khơn"),
        ("requester.relationship", "father"),
        ("requester.id_type", "can_cuoc"),
        ("requester.phone", "0987654321"),
        ("birth.copies", "0"),
        ("residence.head_is", "father"),
        ("residence.relationship_to_head", "child"),
        ("residence.head_consent", "yes"),
        ("insurance.phone", "0987654321"),
        ("insurance.card_address_detail", "Thôn Bù Khơn"),
        ("insurance.card_address_commune", "25222"),
        ("declaration.confirmed", "yes"),
    ]
}

/// The same under catalogue v2 (the details v2 adds: the marriage certificate, the requester's date of
/// birth and ID issue, the owner's consent, the declaration method).
fn bri_v2() -> Vec<(&'static str, &'static str)> {
    let mut f: Vec<_> = bri_v1()
        .into_iter()
        .filter(|(k, _)| *k != "residence.head_consent")
        .map(|(k, v)| match k {
            "birth.proof" => (k, "e_certificate"),
            "residence.relationship_to_head" => (k, "child_biological"),
            _ => (k, v),
        })
        .collect();
    f.extend([
        ("mother.declared", "yes"),
        ("child.ethnicity_from", "father"),
        ("birth.certificate_code", "GCS-2026-000456"),
        ("parents.marriage_cert_number", "45/2019"),
        ("parents.marriage_cert_place", "UBND xã Bù Gia Mập"),
        ("parents.marriage_cert_date", "2019-02-10"),
        ("requester.id_issuer", "Cục Cảnh sát QLHC về TTXH"),
        ("requester.id_issue_date", "2021-06-30"),
        ("birth.copies", "2"),
        ("residence.consent_channel", "on_form"),
        ("residence.owner_full_name", "Điểu Văn Bình"),
        ("residence.owner_pin", "070095004321"),
        ("insurance.guardian_name", "Điểu Văn Bình"),
        ("declaration.method", "signed"),
    ]);
    f
}

/// Every fixture dossier, in the order of the export rows.
pub(crate) fn fixtures() -> Vec<(&'static str, Record)> {
    let read_aloud = [
        ("addressee.commune", "25222"),
        ("child.full_name", "Điểu Thị Mai"),
        ("child.date_of_birth", "2026-11-15"),
        ("child.sex", "female"),
        ("child.place_of_birth", "Trạm Y tế xã Bù Gia Mập"),
        ("child.place_of_birth_commune", "25222"),
        ("mother.declared", "yes"),
        ("mother.full_name", "Thị Hoa"),
        ("mother.date_of_birth", "1998"),
        ("mother.residence_commune", "25222"),
        ("mother.residence_detail", "Thôn Bù Khơn"),
        ("requester.relationship", "mother"),
        ("residence.head_is", "mother"),
        ("residence.relationship_to_head", "child_biological"),
        ("birth.copies", "2"),
        ("declaration.method", "read_aloud"),
    ];
    let mother_only_v1 = [
        ("child.full_name", "Điểu Thị Mai"),
        ("child.date_of_birth", "2026-04-21"),
        ("child.sex", "female"),
        ("mother.full_name", "Thị Hoa"),
        ("mother.date_of_birth", "1998"),
        ("mother.ethnicity", "Xtiêng"),
        ("mother.pin", "070198001234"),
        ("mother.residence_commune", "25222"),
        ("mother.residence_detail", "Thôn Bù Khơn"),
        ("mother.phone", "0912345678"),
        ("requester.relationship", "mother"),
        ("residence.head_is", "mother"),
        ("residence.relationship_to_head", "child"),
    ];
    let marital_v1 = [
        ("addressee.commune", "Ủy ban nhân dân xã Phước Sơn"),
        ("requester.full_name", "Điểu Thị Hạnh"),
        ("requester.residence", "Thôn 3, xã Phước Sơn"),
        ("requester.relationship", "self"),
        ("requester.id_type", "can_cuoc"),
        ("requester.pin", "070198001234"),
        ("requester.id_issuer", "Cục Cảnh sát QLHC về TTXH"),
        ("requester.id_issue_date", "2021-04-15"),
        ("requester.phone", "0912345678"),
        ("subject.full_name", "Điểu Thị Hạnh"),
        ("subject.date_of_birth", "1998-07-09"),
        ("subject.sex", "female"),
        ("subject.ethnicity", "Xtiêng"),
        ("subject.nationality", "Việt Nam"),
        ("subject.residence", "Thôn 3, xã Phước Sơn"),
        ("subject.id_type", "can_cuoc"),
        ("subject.pin", "070198001234"),
        ("period.from", "2016-07-09"),
        ("period.to", "2026-11-01"),
        ("period.place", "Thôn 3, xã Phước Sơn"),
        ("subject.marital_status", "never_married"),
        ("request.purpose", "Để đăng ký kết hôn"),
        ("declaration.confirmed", "yes"),
    ];
    let marital_v1_passport = [
        ("requester.id_type", "passport"),
        ("requester.passport_number", "C1234567"),
        ("requester.relationship", "other"),
        ("requester.relationship_other", "Anh trai"),
        ("subject.sex", "male"),
        ("subject.marital_status", "divorced"),
        ("period.from", "2010-01-05"),
    ];
    let marital_v2_common = [
        ("addressee.commune", "25222"),
        ("requester.relationship", "other"),
        ("requester.relationship_other", "Anh trai"),
        ("requester.full_name", "Điểu Văn Tâm"),
        ("requester.id_type", "passport"),
        ("requester.passport_number", "C1234567"),
        ("requester.id_issuer", "Cục Quản lý xuất nhập cảnh"),
        ("requester.id_issue_date", "2020-01-20"),
        ("requester.residence", "Thôn Bù Khơn, xã Bù Gia Mập"),
        ("requester.phone", "0912345678"),
        ("subject.full_name", "Điểu Thị Hạnh"),
        ("subject.id_type", "can_cuoc"),
        ("subject.pin", "070198001234"),
        ("subject.id_issuer", "Cục Cảnh sát QLHC về TTXH"),
        ("subject.id_issue_date", "2021-04-15"),
        ("subject.residence", "Thôn Bù Khơn, xã Bù Gia Mập"),
        ("subject.date_of_birth", "1990-07-09"),
        ("subject.sex", "female"),
        ("subject.ethnicity", "Xtiêng"),
        ("subject.nationality", "Việt Nam"),
        ("period.from", "2008-07-09"),
        ("period.to", "2026-11-01"),
        ("period.place", "Thôn Bù Khơn, xã Bù Gia Mập"),
        ("request.copies", "1"),
        ("declaration.confirmed", "yes"),
        ("declaration.method", "read_aloud"),
    ];
    let mut divorced = marital_v2_common.to_vec();
    divorced.extend([
        ("subject.marital_status", "divorced"),
        ("divorce.decision_number", "12/2020/QĐST-HNGĐ"),
        ("divorce.decision_date", "2020-05-04"),
        ("divorce.court", "Tòa án nhân dân huyện Bù Gia Mập"),
        ("previous.issued", "yes"),
        ("previous.explanation", "Đã nộp cho cơ quan khác"),
        ("request.purpose_kind", "marriage"),
    ]);
    let mut married = marital_v2_common.to_vec();
    married.retain(|(k, _)| !k.starts_with("declaration.method"));
    married.extend([
        ("subject.marital_status", "married"),
        ("spouse.full_name", "Điểu Văn Bình"),
        ("marriage.cert_number", "45/2019"),
        ("marriage.cert_issuer", "UBND xã Bù Gia Mập"),
        ("marriage.cert_date", "2019-02-10"),
        ("previous.issued", "no"),
        ("request.purpose_kind", "other"),
        ("request.purpose", "Để bổ túc hồ sơ vay vốn"),
    ]);
    vec![
        (
            "bri-v1-parents-registered",
            record("d-01", BRI, 1, &bri_v1(), ALL_RESULTS),
        ),
        (
            "bri-v1-parents-unregistered",
            record("d-02", BRI, 1, &bri_v1(), &[]),
        ),
        (
            "bri-v1-mother-only",
            record(
                "d-03",
                BRI,
                1,
                &mother_only_v1,
                &[("pin", "070326000124"), ("birth_registration", "13/2026")],
            ),
        ),
        (
            "bri-v2-parents-registered",
            record("d-04", BRI, 2, &bri_v2(), ALL_RESULTS),
        ),
        (
            "bri-v2-parents-unregistered",
            record("d-05", BRI, 2, &bri_v2(), &[]),
        ),
        (
            "bri-v2-read-aloud",
            record("d-06", BRI, 2, &read_aloud, &[("pin", "070326000125")]),
        ),
        (
            "msc-v1-free-text-addressee",
            record("d-07", MSC, 1, &marital_v1, &[]),
        ),
        (
            "msc-v1-passport-other",
            record(
                "d-08",
                MSC,
                1,
                &marital_v1_passport,
                &[("marital_status_certificate", "88/2026")],
            ),
        ),
        ("msc-v2-divorced", record("d-09", MSC, 2, &divorced, &[])),
        (
            "msc-v2-married",
            record(
                "d-10",
                MSC,
                2,
                &married,
                &[("marital_status_certificate", "89/2026")],
            ),
        ),
    ]
}

/// The days the forms are filled on: before and after each CT01 version's first day, and no day.
const DAYS: &[Option<&str>] = &[
    Some("2025-03-01"),
    Some("2025-07-01"),
    Some("2026-12-06"),
    None,
];

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("json");
    s.push('\n');
    s
}

/// Every output file: name → contents.
fn outputs() -> StoreResult<Vec<(String, String)>> {
    let c = crate::shared::store::open_memory()?;
    let mut units = UnitLabels::new(&c);
    let fx = fixtures();
    let mut out = Vec::new();
    for (system, header, rows) in export_tables(&fx, &mut units)? {
        out.push((
            format!("export-{system}.json"),
            pretty(&serde_json::json!({ "header": header, "rows": rows })),
        ));
    }
    for (name, rec) in &fx {
        let mut by_day = serde_json::Map::new();
        for day in DAYS {
            let on = day.map(|d| protocol::parse_date(d).expect("day"));
            let forms = super::fill(rec, on, &mut units)?;
            by_day.insert(
                day.unwrap_or("none").to_owned(),
                serde_json::to_value(forms).expect("json"),
            );
        }
        out.push((
            format!("forms-{name}.json"),
            pretty(&serde_json::Value::Object(by_day)),
        ));
    }
    Ok(out)
}

/// Per export system of the fixtures' procedures: its header and the rows of the fixtures of its procedure, in fixture order.
#[allow(clippy::type_complexity)]
fn export_tables(
    fx: &[(&str, Record)],
    units: &mut UnitLabels<'_>,
) -> StoreResult<Vec<(String, Vec<String>, Vec<Vec<String>>)>> {
    let mut out = Vec::new();
    // The two procedures that were compiled in (a package added since has no "before").
    for sys in systems::systems()
        .into_iter()
        .filter(|s| [BRI, MSC].contains(&s.procedure_id.as_str()))
    {
        let mut rows = Vec::new();
        for (_, rec) in fx
            .iter()
            .filter(|(_, r)| r.procedure.id == sys.procedure_id)
        {
            rows.push(systems::RowMaker::new(rec, units).row(&sys)?);
        }
        let header = sys.header().iter().map(|h| h.to_string()).collect();
        out.push((sys.id.clone(), header, rows));
    }
    Ok(out)
}

#[test]
#[ignore = "writes the reference files; run only with the code they were taken from"]
fn write_before_outputs() {
    std::fs::create_dir_all(dir()).unwrap();
    for (name, text) in outputs().unwrap() {
        std::fs::write(dir().join(name), text).unwrap();
    }
}

#[test]
fn outputs_are_identical_to_those_before_the_tables_became_package_data() {
    let outs = outputs().unwrap();
    let mut names: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut made: Vec<_> = outs.iter().map(|(n, _)| n.clone()).collect();
    made.sort();
    assert_eq!(names, made, "the same output files");
    for (name, text) in outs {
        let before = std::fs::read_to_string(dir().join(&name)).unwrap();
        assert!(before == text, "{name} differs from the output before");
    }
}
