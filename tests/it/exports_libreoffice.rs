//! Integration test (issue 24): every export opened with real spreadsheet software. Nine dossiers of both
//! procedures with tricky but valid values (leading-zero PINs and passport numbers, `+84` phones, a `;`,
//! quotes and a tab (multi-line fields accept it) inside free text, text that looks like a formula, dates whose day and month could swap) are
//! sealed, carried, registered (three of the five 3-in-1s get their child's PIN) and exported to all four
//! systems as CSV and as XLSX; LibreOffice (headless `soffice`, Debian's `libreoffice-calc-nogui`, which
//! `tests/run-all.sh` installs) opens each file and saves it as XLSX, which is read back with calamine and
//! compared cell for cell:
//!
//! - XLSX, opened as it is: every cell is the text the hub wrote (zeros, `+`, Vietnamese, dates), no
//!   formula anywhere;
//! - CSV with the import the guide documents for opening a CSV by hand (UTF-8, comma, "format quoted
//!   field as text"): every cell is the CSV's field;
//! - CSV with LibreOffice's usual import choices (separators comma, semicolon and tab; quoted fields not
//!   forced to text): the same number of cells in every row (a `;` or tab never splits a value), no
//!   formula anywhere (the apostrophe guard), ISO dates read as the right day, and the only other change
//!   is the documented one: an all-digit value read as a number (its leading zeros lost, hence XLSX for
//!   people).

use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use serde_json::{json, Value};

use super::exports::{birth_a, birth_b, fields, marital_d, parse_csv, seal, Fields};
use crate::common::*;

const SYSTEMS: [&str; 4] = ["birth_declaration", "ct01", "tk1_ts", "marital_status"];

/// The tricky values every XLSX round trip must give back exactly, somewhere in the four systems.
const TRICKY: &[&str] = &[
    "001195001234",
    "0912345678",
    "+84912345678",
    "0123456",
    "Thôn 3; ấp Bù Khơn",
    "@SUM(1+1)\tghi chú",
    "=1+1",
    "-1+1",
    "+1+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "12/07/2026",
    "01/02/2020",
    "17/11/2026",
];

fn with(mut f: Fields, over: &[(&str, &str)]) -> Fields {
    f.extend(fields(over));
    f
}

fn soffice() -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin", "/opt/libreoffice/program"] {
        let p = Path::new(dir).join("soffice");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "LibreOffice is needed for this test: apt-get install libreoffice-calc-nogui \
         (tests/run-all.sh installs it)"
    );
}

/// Opens each of `files` with LibreOffice (with the CSV import options `infilter` when given) and saves
/// it as XLSX in `out`.
fn convert(profile: &Path, files: &[PathBuf], infilter: Option<&str>, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let mut cmd = Command::new(soffice());
    cmd.arg(format!(
        "-env:UserInstallation=file://{}",
        profile.display()
    ))
    .args(["--headless", "--norestore"]);
    if let Some(f) = infilter {
        cmd.arg(format!("--infilter={f}"));
    }
    cmd.args(["--convert-to", "xlsx", "--outdir"])
        .arg(out)
        .args(files)
        .env("LANG", "C.UTF-8");
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "soffice: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().to_string() + ".xlsx";
        assert!(out.join(&name).exists(), "LibreOffice wrote {name}: {o:?}");
    }
}

/// The first sheet's cells (rows padded to `width` with empty cells) and whether any cell is a formula.
fn read(path: &Path, width: usize) -> (Vec<Vec<Data>>, bool) {
    let mut wb: Xlsx<_> = calamine::open_workbook(path).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    let formulas = wb.worksheet_formula(&name).unwrap();
    let any_formula = formulas.rows().flatten().any(|f| !f.is_empty());
    let rows = range
        .rows()
        .map(|r| {
            let mut r = r.to_vec();
            r.resize(width.max(r.len()), Data::Empty);
            r
        })
        .collect();
    (rows, any_formula)
}

fn text(d: &Data) -> Option<String> {
    match d {
        Data::String(s) => Some(s.clone()),
        Data::Empty => Some(String::new()),
        _ => None,
    }
}

/// `YYYY-MM-DD` of a spreadsheet date serial (days since 1899-12-30).
fn iso_of_serial(serial: f64) -> String {
    let epoch = time::Date::from_calendar_date(1899, time::Month::December, 30).unwrap();
    let d = epoch + time::Duration::days(serial.floor() as i64);
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

#[test]
fn every_export_reads_back_cell_for_cell_in_libreoffice() {
    let started = std::time::Instant::now();
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let birth_photo = std::fs::read(sample_photo("giay-chung-sinh.jpg")).unwrap();
    let marital_photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let p3 = "birth-residence-insurance";
    let pm = "marital-status-certificate";
    let births = [
        with(
            birth_a(),
            &[
                ("mother.pin", "001195001234"),
                ("mother.date_of_birth", "1995"),
                ("mother.residence_detail", "Thôn 3; ấp Bù Khơn"),
                ("child.date_of_birth", "2026-07-12"),
            ],
        ),
        with(
            birth_b(),
            &[
                ("requester.phone", "+84912345678"),
                ("child.place_of_birth", "=1+1"),
                ("child.date_of_birth", "2026-11-17"),
            ],
        ),
        with(
            birth_a(),
            &[
                ("child.full_name", "Điểu Văn Ánh"),
                ("child.sex", "male"),
                ("mother.residence_detail", "Tổ 1, ấp 2; xóm \"Mới\""),
                ("child.place_of_birth", "+1+cmd|' /C calc'!A0"),
                ("child.date_of_birth", "2026-02-01"),
            ],
        ),
        with(
            birth_b(),
            &[
                ("child.full_name", "Pinăng Thị Ngọc"),
                ("child.sex", "female"),
                ("child.place_of_birth", "-1+1"),
            ],
        ),
        with(
            birth_a(),
            &[
                ("child.full_name", "Điểu Thị Ánh"),
                ("mother.residence_detail", "@SUM(1+1)"),
            ],
        ),
    ];
    let maritals = [
        with(
            marital_d(),
            &[
                ("requester.passport_number", "0123456"),
                ("request.purpose", "-1+1"),
                ("period.from", "2020-02-01"),
                ("period.to", "2026-07-12"),
            ],
        ),
        with(
            marital_fields("Điểu Thị Hà", "001195001234"),
            &[
                ("requester.residence", "Thôn 3; ấp Bù Khơn"),
                ("subject.residence", "Thôn 3; ấp Bù Khơn"),
                ("requester.phone", "+84912345678"),
                ("subject.date_of_birth", "1995-03-12"),
            ],
        ),
        with(
            marital_fields("Nguyễn Thị Lụa", "070198001234"),
            &[("request.purpose", "@SUM(1+1)\tghi chú")],
        ),
        with(
            marital_fields("Lê Thị Mận", "075195003344"),
            &[
                ("subject.residence", "=HYPERLINK(\"http://x\",\"y\")"),
                ("subject.date_of_birth", "1995-03-12"),
            ],
        ),
    ];
    let receipts: Vec<String> = block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        let mut codes = Vec::new();
        for f in &births {
            let roles: &[&str] = if f["birth.proof"] == "witness" {
                &["witness_statement", "requester_id", "head_consent"]
            } else {
                &["birth_certificate", "requester_id"]
            };
            let r = seal(&officer, p3, f, roles, &birth_photo).await;
            codes.push(r["code"].as_str().unwrap().to_string());
        }
        for f in &maritals {
            let roles: &[&str] = if f.contains_key("requester.passport_number") {
                &["id_document", "authorisation_letter", "divorce_judgment"]
            } else {
                &["id_document"]
            };
            seal(&officer, pm, f, roles, &marital_photo).await;
        }
        codes
    });
    drop(field);
    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);
    let office = Hub::start("office", &office_dir);
    let files_dir = tmp.path().join("files");
    std::fs::create_dir_all(&files_dir).unwrap();
    let mut csv_files = Vec::new();
    let mut xlsx_files = Vec::new();
    block_on(async {
        let (_admin, clerk) = office_clerk(&office).await;
        let db = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
        // The first three 3-in-1s are registered with their child's PIN (leading zeros kept).
        for (code, pin) in receipts
            .iter()
            .zip(["001326000777", "056226000555", "070226000999"])
        {
            let id: String = db
                .query_row(
                    "SELECT dossier_id FROM received_dossiers WHERE receipt_code = ?1",
                    [code],
                    |r| r.get(0),
                )
                .unwrap();
            let (s, b) = clerk
                .post(
                    &format!("/api/v1/office/dossiers/{id}/status"),
                    json!({"to": "registered", "result_numbers": [
                        {"kind": "pin", "number": pin},
                        {"kind": "birth_registration", "number": "15/2026"},
                        {"kind": "health_insurance", "number": "0126000123"}]}),
                )
                .await;
            assert_eq!(s, 200, "{b}");
        }
        for sys in SYSTEMS {
            let want = match sys {
                "marital_status" => 4,
                "birth_declaration" => 5,
                _ => 3,
            };
            for (format, again) in [("csv", false), ("xlsx", true)] {
                let (s, made): (u16, Value) = clerk
                    .post(
                        "/api/v1/office/exports",
                        json!({"system": sys, "format": format, "again": again}),
                    )
                    .await;
                assert_eq!(s, 201, "{made}");
                assert_eq!(made["rows"], want, "{sys}");
                let (s, bytes) = clerk.get_bytes(made["file"].as_str().unwrap()).await;
                assert_eq!(s, 200);
                let path = files_dir.join(format!("{sys}.{format}"));
                std::fs::write(&path, bytes).unwrap();
                if format == "csv" {
                    csv_files.push(path);
                } else {
                    xlsx_files.push(path);
                }
            }
        }
    });
    drop(office);

    let made = started.elapsed();
    let profile = tmp.path().join("lo-profile");
    let lo_started = std::time::Instant::now();
    let out_xlsx = tmp.path().join("lo-xlsx");
    let out_text = tmp.path().join("lo-csv-text");
    let out_usual = tmp.path().join("lo-csv-usual");
    convert(&profile, &xlsx_files, None, &out_xlsx);
    convert(
        &profile,
        &csv_files,
        Some("Text - txt - csv (StarCalc):44,34,76,1,,0,true,false"),
        &out_text,
    );
    convert(
        &profile,
        &csv_files,
        Some("Text - txt - csv (StarCalc):44/59/9,34,76,1,,0,false,false"),
        &out_usual,
    );
    let lo_time = lo_started.elapsed();

    let mut compared = 0usize;
    let mut seen = std::collections::BTreeSet::new();
    let mut as_numbers = 0usize;
    for sys in SYSTEMS {
        // XLSX: LibreOffice's reading equals the hub's file (itself checked against the captured values
        // by exports::every_exported_value_equals_the_captured_one), every cell text.
        let mut ours: Xlsx<_> =
            calamine::open_workbook(files_dir.join(format!("{sys}.xlsx"))).unwrap();
        let ours = ours.worksheet_range(sys).unwrap();
        let width = ours.width();
        let ours: Vec<Vec<String>> = ours
            .rows()
            .map(|r| {
                let mut v: Vec<String> = r.iter().map(|d| text(d).expect("text cells")).collect();
                v.resize(width, String::new());
                v
            })
            .collect();
        let (lo, formula) = read(&out_xlsx.join(format!("{sys}.xlsx")), width);
        assert!(!formula, "{sys}.xlsx: no formula in LibreOffice");
        assert_eq!(lo.len(), ours.len(), "{sys}.xlsx: rows");
        for (r, (a, b)) in lo.iter().zip(&ours).enumerate() {
            assert_eq!(a.len(), b.len(), "{sys}.xlsx row {r}: cells");
            for (c, (x, y)) in a.iter().zip(b).enumerate() {
                assert_eq!(
                    text(x).as_deref(),
                    Some(y.as_str()),
                    "{sys}.xlsx ({r}, {c})"
                );
                seen.insert(y.clone());
                compared += 1;
            }
        }

        // CSV with the documented import: every cell the CSV's field.
        let bytes = std::fs::read(files_dir.join(format!("{sys}.csv"))).unwrap();
        let table = parse_csv(std::str::from_utf8(&bytes[3..]).unwrap());
        assert_eq!(table.len(), ours.len(), "{sys}.csv: rows");
        let (lo, formula) = read(&out_text.join(format!("{sys}.xlsx")), width);
        assert!(!formula, "{sys}.csv: no formula");
        assert_eq!(lo.len(), table.len(), "{sys}.csv: rows in LibreOffice");
        for (r, (a, b)) in lo.iter().zip(&table).enumerate() {
            assert_eq!(a.len(), b.len(), "{sys}.csv row {r}: cells");
            for (c, (x, y)) in a.iter().zip(b).enumerate() {
                assert_eq!(text(x).as_deref(), Some(y.as_str()), "{sys}.csv ({r}, {c})");
                compared += 1;
            }
        }

        // CSV with the usual choices: no split, no formula, right dates; all-digit values as numbers.
        let (lo, formula) = read(&out_usual.join(format!("{sys}.xlsx")), width);
        assert!(
            !formula,
            "{sys}.csv (usual import): a value ran as a formula"
        );
        assert_eq!(lo.len(), table.len(), "{sys}.csv (usual import): rows");
        for (r, (a, b)) in lo.iter().zip(&table).enumerate() {
            assert_eq!(
                a.len(),
                b.len(),
                "{sys}.csv (usual import) row {r}: a value was split"
            );
            for (c, (x, y)) in a.iter().zip(b).enumerate() {
                let at = format!("{sys}.csv (usual import) ({r}, {c}) {y:?}");
                match x {
                    Data::String(_) | Data::Empty => {
                        assert_eq!(text(x).as_deref(), Some(y.as_str()), "{at}")
                    }
                    Data::DateTime(d) => assert_eq!(&iso_of_serial(d.as_f64()), y, "{at}"),
                    Data::Float(f) => {
                        assert!(
                            !y.is_empty() && y.bytes().all(|b| b.is_ascii_digit()),
                            "{at}: only all-digit values become numbers, got {x:?}"
                        );
                        assert_eq!(*f, y.parse::<f64>().unwrap(), "{at}");
                        as_numbers += 1;
                    }
                    Data::Int(i) => {
                        assert!(y.bytes().all(|b| b.is_ascii_digit()), "{at}: {x:?}");
                        assert_eq!(i.to_string(), y.trim_start_matches('0'), "{at}");
                        as_numbers += 1;
                    }
                    other => panic!("{at}: {other:?}"),
                }
                compared += 1;
            }
        }
        // Every guarded value shows its apostrophe only in CSV; in XLSX none.
        assert!(
            ours.iter().flatten().all(|v| !v.starts_with('\'')),
            "{sys}.xlsx: no apostrophe"
        );
    }
    for v in TRICKY {
        // Whole, or heading an address ("<detail>, <commune>").
        assert!(
            seen.iter()
                .any(|s| s == v || s.starts_with(&format!("{v}, "))),
            "{v:?} read back from some XLSX"
        );
    }
    eprintln!(
        "libreoffice round trip: {compared} cells compared ({} tricky values found), {as_numbers} \
         all-digit CSV values read as numbers by the usual import; dossiers+exports {:.1}s, \
         LibreOffice {:.1}s",
        TRICKY.len(),
        made.as_secs_f64(),
        lo_time.as_secs_f64()
    );
}
