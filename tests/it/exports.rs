//! Integration test: exports for the downstream systems with two real hubs. A field hub seals 3-in-1 and
//! marital-status dossiers with rich values (diacritics, leading-zero IDs, commas, quotes and line breaks,
//! values derived at seal); the office imports them (USB batch); one is registered with result numbers;
//! a clerk exports each system as CSV and as XLSX over HTTP. The CSV is read with a small RFC 4180 parser
//! and the XLSX with calamine: for every item of every dossier the exported value equals the captured
//! value or its documented derivation (choice labels, commune labels, dates in figures and in words,
//! capitals, the registered PIN). A second export without `again` has no rows; with `again` all.

use std::collections::BTreeMap;
use std::io::Cursor;

use crate::common::*;
use calamine::{Data, Reader, Xlsx};
use serde_json::{json, Value};

pub(crate) type Fields = BTreeMap<String, String>;

pub(crate) fn fields(pairs: &[(&str, &str)]) -> Fields {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const BU_GIA_MAP: &str = "Xã Bù Gia Mập, Thành phố Đồng Nai";
const BAC_NHA_TRANG: &str = "Phường Bắc Nha Trang, Tỉnh Khánh Hoà";

/// A 3-in-1 dossier: the mother files, father declared, registered later.
pub(crate) fn birth_a() -> Fields {
    fields(&[
        ("child.full_name", "Điểu Thị Mai"),
        ("child.date_of_birth", "2026-04-21"),
        ("child.sex", "female"),
        ("child.nationality", "Việt Nam"),
        ("child.place_of_birth", "Trạm Y tế xã Bù Gia Mập"),
        ("child.hometown", "Xã Bù Gia Mập, tỉnh Bình Phước (cũ)"),
        ("birth.proof", "facility"),
        ("birth.copies", "2"),
        ("mother.full_name", "Thị Hoa"),
        ("mother.date_of_birth", "1998"),
        ("mother.ethnicity", "Xtiêng"),
        ("mother.nationality", "Việt Nam"),
        ("mother.pin", "070198001234"),
        ("mother.residence_commune", "25222"),
        ("mother.residence_detail", "Thôn Bù Khơn"),
        ("mother.phone", "0912345678"),
        ("father.declared", "yes"),
        ("father.full_name", "Điểu Minh"),
        ("father.date_of_birth", "1995-04-02"),
        ("father.ethnicity", "Xtiêng"),
        ("father.nationality", "Việt Nam"),
        ("father.pin", "070095004321"),
        ("requester.relationship", "mother"),
        ("requester.id_type", "can_cuoc"),
        ("residence.head_is", "mother"),
        ("residence.relationship_to_head", "child"),
        ("insurance.household_code", "0701234567"),
        ("declaration.confirmed", "yes"),
    ])
}

/// A 3-in-1 dossier: the grandfather files and heads the household, no father declared, a witness
/// statement, a place of birth with a comma and quotes, an international phone number; not registered.
pub(crate) fn birth_b() -> Fields {
    fields(&[
        ("child.full_name", "Pinăng Văn Đức"),
        ("child.date_of_birth", "2025-11-05"),
        ("child.sex", "male"),
        ("child.nationality", "Việt Nam"),
        (
            "child.place_of_birth",
            "Nhà riêng, thôn \"Suối Lớn\" (có người làm chứng)",
        ),
        ("birth.proof", "witness"),
        ("birth.copies", "1"),
        ("mother.full_name", "Pinăng Thị Hường"),
        ("mother.date_of_birth", "1990-02-14"),
        ("mother.ethnicity", "Ra-glai"),
        ("mother.nationality", "Việt Nam"),
        ("mother.pin", "056190007788"),
        ("mother.residence_commune", "22333"),
        ("mother.residence_detail", "Số 12, Tổ dân phố 3"),
        ("father.declared", "no"),
        ("requester.relationship", "grandparent"),
        ("requester.full_name", "Pinăng Văn Tư"),
        ("requester.id_type", "can_cuoc"),
        ("requester.pin", "056065001122"),
        ("requester.phone", "+84912000111"),
        ("residence.head_is", "other"),
        ("residence.head_full_name", "Pinăng Văn Tư"),
        ("residence.head_pin", "056065001122"),
        ("residence.relationship_to_head", "grandchild"),
        ("residence.head_consent", "yes"),
        ("declaration.confirmed", "yes"),
    ])
}

/// A marital-status request by a brother with a passport, a period of residence, a purpose over two
/// lines.
pub(crate) fn marital_d() -> Fields {
    fields(&[
        ("addressee.commune", "Ủy ban nhân dân phường Bắc Nha Trang"),
        ("requester.full_name", "Nguyễn Văn Bình"),
        (
            "requester.residence",
            "Số 5, đường Trần Phú, phường Bắc Nha Trang",
        ),
        ("requester.id_type", "passport"),
        ("requester.passport_number", "C1234567"),
        ("requester.id_issuer", "Cục Quản lý xuất nhập cảnh"),
        ("requester.id_issue_date", "2020-06-01"),
        ("requester.phone", "0258123456"),
        ("requester.relationship", "other"),
        ("requester.relationship_other", "Anh trai"),
        ("subject.full_name", "Nguyễn Thị Cúc"),
        ("subject.date_of_birth", "1995-07-09"),
        ("subject.sex", "female"),
        ("subject.ethnicity", "Kinh"),
        ("subject.nationality", "Việt Nam"),
        (
            "subject.residence",
            "Số 5, đường Trần Phú, phường Bắc Nha Trang",
        ),
        ("subject.id_type", "can_cuoc"),
        ("subject.pin", "075195003344"),
        ("period.from", "2015-01-01"),
        ("period.to", "2020-12-31"),
        ("period.place", "Thôn Bù Lư, xã Bù Gia Mập"),
        ("subject.marital_status", "divorced"),
        (
            "request.purpose",
            "Kết hôn với người nước ngoài\nnộp tại Sở Tư pháp",
        ),
        ("declaration.confirmed", "yes"),
    ])
}

/// Creates a draft with `f`, attaches a photo for each role, seals it; returns the receipt.
pub(crate) async fn seal(
    c: &Client,
    procedure: &str,
    f: &Fields,
    roles: &[&str],
    photo: &[u8],
) -> Value {
    let id = fill_draft(c, procedure, f, roles, "giay-to.jpg", photo).await;
    seal_draft(c, &id).await
}

/// A received dossier as the test knows it.
struct Sealed {
    procedure: &'static str,
    fields: Fields,
    dossier_id: String,
    receipt_code: String,
    received_on: String,
    pin: Option<&'static str>,
}

/// `dd/mm/yyyy` for `YYYY-MM-DD`, a year alone as it is.
fn dmy(s: &str) -> String {
    if s.len() == 10 {
        format!("{}/{}/{}", &s[8..10], &s[5..7], &s[0..4])
    } else {
        s.to_string()
    }
}

/// Every item of the system's form with the value expected for `d`: an independent restatement of the
/// mapping, with the derivations written out.
fn expected(system: &str, d: &Sealed, iso: bool) -> Vec<(&'static str, String)> {
    // CSV writes dates in ISO 8601 (as captured), XLSX as the forms print them.
    let date = |s: &str| if iso { s.to_string() } else { dmy(s) };
    let g = |k: &str| d.fields.get(k).cloned().unwrap_or_default();
    let is_a = d
        .fields
        .get("child.full_name")
        .is_some_and(|n| n == "Điểu Thị Mai");
    let commune = if is_a { BU_GIA_MAP } else { BAC_NHA_TRANG };
    let mut out = vec![
        ("Mã biên nhận", d.receipt_code.clone()),
        ("Mã hồ sơ", d.dossier_id.clone()),
        ("Ngày tiếp nhận", date(&d.received_on)),
    ];
    let sex = if g("child.sex") == "female" {
        "Nữ"
    } else {
        "Nam"
    };
    let pin = d.pin.unwrap_or("").to_string();
    let requester = if is_a {
        g("mother.full_name")
    } else {
        g("requester.full_name")
    };
    let requester_pin = if is_a {
        g("mother.pin")
    } else {
        g("requester.pin")
    };
    let mother_home = format!("{}, {commune}", g("mother.residence_detail"));
    let phone = if is_a {
        g("mother.phone")
    } else {
        g("requester.phone")
    };
    match system {
        "birth_declaration" => out.extend([
            (
                "Kính gửi",
                format!("Ủy ban nhân dân {}", in_sentence(commune)),
            ),
            ("Họ, chữ đệm, tên người yêu cầu", requester),
            ("Nơi cư trú của người yêu cầu", mother_home.clone()),
            (
                "Giấy tờ tùy thân",
                "Thẻ căn cước hoặc căn cước công dân".into(),
            ),
            ("Số giấy tờ tùy thân", requester_pin),
            (
                "Quan hệ với người được đăng ký khai sinh",
                if is_a { "Mẹ" } else { "Ông, bà" }.into(),
            ),
            ("Số điện thoại", phone),
            (
                "Họ, chữ đệm, tên người được đăng ký khai sinh",
                g("child.full_name"),
            ),
            ("Ngày, tháng, năm sinh", date(&g("child.date_of_birth"))),
            (
                "Ngày, tháng, năm sinh (bằng chữ)",
                if is_a {
                    "Ngày hai mươi mốt, tháng tư, năm hai nghìn không trăm hai mươi sáu"
                } else {
                    "Ngày năm, tháng mười một, năm hai nghìn không trăm hai mươi lăm"
                }
                .into(),
            ),
            ("Giới tính", sex.into()),
            ("Dân tộc", g("mother.ethnicity")),
            ("Quốc tịch", "Việt Nam".into()),
            ("Nơi sinh", g("child.place_of_birth")),
            ("Mã giấy chứng sinh", g("birth.certificate_code")),
            ("Nơi sinh: xã, phường, đặc khu, tỉnh", commune.to_string()),
            ("Quê quán", g("child.hometown")),
            ("Họ, chữ đệm, tên người mẹ", g("mother.full_name")),
            ("Năm sinh của người mẹ", date(&g("mother.date_of_birth"))),
            ("Dân tộc của người mẹ", g("mother.ethnicity")),
            ("Quốc tịch của người mẹ", g("mother.nationality")),
            ("Số định danh cá nhân của người mẹ", g("mother.pin")),
            ("Nơi cư trú của người mẹ", mother_home.clone()),
            ("Họ, chữ đệm, tên người cha", g("father.full_name")),
            ("Năm sinh của người cha", date(&g("father.date_of_birth"))),
            ("Dân tộc của người cha", g("father.ethnicity")),
            ("Quốc tịch của người cha", g("father.nationality")),
            ("Số định danh cá nhân của người cha", g("father.pin")),
            (
                "Nơi cư trú của người cha",
                if is_a {
                    mother_home.clone()
                } else {
                    String::new()
                },
            ),
            ("Số bản sao đề nghị cấp", g("birth.copies")),
        ]),
        "ct01" => out.extend([
            ("Kính gửi", format!("Công an {}", in_sentence(commune))),
            ("1. Họ, chữ đệm và tên khai sinh", g("child.full_name")),
            ("2. Ngày, tháng, năm sinh", date(&g("child.date_of_birth"))),
            ("3. Giới tính", sex.into()),
            ("4. Số định danh cá nhân", pin.clone()),
            ("5. Số điện thoại liên hệ", phone.clone()),
            ("6. Email", String::new()),
            (
                "7. Họ, chữ đệm và tên chủ hộ",
                if is_a {
                    g("mother.full_name")
                } else {
                    g("residence.head_full_name")
                },
            ),
            (
                "8. Mối quan hệ với chủ hộ",
                if is_a { "Con" } else { "Cháu" }.into(),
            ),
            (
                "9. Số định danh cá nhân của chủ hộ",
                if is_a {
                    g("mother.pin")
                } else {
                    g("residence.head_pin")
                },
            ),
            (
                "10. Nội dung đề nghị",
                format!("Đăng ký thường trú tại: {mother_home}"),
            ),
            (
                "11. Những thành viên trong hộ gia đình cùng thay đổi",
                String::new(),
            ),
            (
                "Họ, chữ đệm và tên người kê khai (cha, mẹ hoặc người giám hộ)",
                if is_a {
                    g("mother.full_name")
                } else {
                    g("requester.full_name")
                },
            ),
        ]),
        "tk1_ts" => out.extend([
            (
                "[01]. Họ và tên (viết chữ in hoa)",
                if is_a {
                    "ĐIỂU THỊ MAI"
                } else {
                    "PINĂNG VĂN ĐỨC"
                }
                .into(),
            ),
            ("[02]. Giới tính", sex.into()),
            (
                "[03]. Ngày, tháng, năm sinh",
                date(&g("child.date_of_birth")),
            ),
            ("[04]. Quốc tịch", "Việt Nam".into()),
            ("[05]. Dân tộc", g("mother.ethnicity")),
            ("[06]. Số căn cước/Số định danh cá nhân", pin),
            ("[07]. Điện thoại", phone),
            ("[08]. Email", String::new()),
            ("[09]. Nơi đăng ký khai sinh", commune.to_string()),
            (
                "[10]. Họ tên cha/mẹ/người giám hộ (đối với trẻ em dưới 6 tuổi)",
                g("mother.full_name"),
            ),
            ("[11]. Địa chỉ nhận kết quả", mother_home),
        ]),
        "marital_status" => {
            let passport = g("requester.id_type") == "passport";
            let id_label = |t: String| {
                if t == "passport" {
                    "Hộ chiếu".to_string()
                } else {
                    "Thẻ căn cước hoặc căn cước công dân".to_string()
                }
            };
            out.extend([
                ("Kính gửi", g("addressee.commune")),
                ("Họ, chữ đệm, tên người yêu cầu", g("requester.full_name")),
                ("Nơi cư trú của người yêu cầu", g("requester.residence")),
                ("Giấy tờ tùy thân", id_label(g("requester.id_type"))),
                (
                    "Số giấy tờ tùy thân",
                    if passport {
                        g("requester.passport_number")
                    } else {
                        g("requester.pin")
                    },
                ),
                ("Nơi cấp", g("requester.id_issuer")),
                ("Ngày cấp", date(&g("requester.id_issue_date"))),
                ("Số điện thoại", g("requester.phone")),
                (
                    "Quan hệ với người được cấp Giấy xác nhận tình trạng hôn nhân",
                    if passport {
                        "Anh trai"
                    } else {
                        "Chính là người được xác nhận"
                    }
                    .into(),
                ),
                (
                    "Họ, chữ đệm, tên người được xác nhận",
                    g("subject.full_name"),
                ),
                ("Ngày, tháng, năm sinh", date(&g("subject.date_of_birth"))),
                ("Giới tính", "Nữ".into()),
                ("Dân tộc", g("subject.ethnicity")),
                ("Quốc tịch", g("subject.nationality")),
                ("Nơi cư trú", g("subject.residence")),
                ("Nơi cấp giấy tờ tùy thân", g("subject.id_issuer")),
                (
                    "Ngày cấp giấy tờ tùy thân",
                    date(&g("subject.id_issue_date")),
                ),
                (
                    "Giấy tờ tùy thân của người được xác nhận",
                    id_label(g("subject.id_type")),
                ),
                (
                    "Số giấy tờ tùy thân của người được xác nhận",
                    g("subject.pin"),
                ),
                (
                    "Thời gian cư trú cần xác nhận: từ ngày",
                    date(&g("period.from")),
                ),
                (
                    "Thời gian cư trú cần xác nhận: đến ngày",
                    date(&g("period.to")),
                ),
                ("Nơi cư trú trong thời gian đó", g("period.place")),
                (
                    "Tình trạng hôn nhân",
                    if passport {
                        "Đã ly hôn, hiện chưa kết hôn lại"
                    } else {
                        "Chưa đăng ký kết hôn với ai"
                    }
                    .into(),
                ),
                ("Họ, chữ đệm, tên vợ/chồng", g("spouse.full_name")),
                ("Giấy chứng nhận kết hôn: số", g("marriage.cert_number")),
                (
                    "Giấy chứng nhận kết hôn: nơi cấp",
                    g("marriage.cert_issuer"),
                ),
                (
                    "Giấy chứng nhận kết hôn: ngày cấp",
                    date(&g("marriage.cert_date")),
                ),
                ("Bản án/quyết định ly hôn: số", g("divorce.decision_number")),
                (
                    "Bản án/quyết định ly hôn: ngày",
                    date(&g("divorce.decision_date")),
                ),
                ("Bản án/quyết định ly hôn: tòa án", g("divorce.court")),
                (
                    "Giấy chứng tử/trích lục khai tử: số",
                    g("death.record_number"),
                ),
                (
                    "Giấy chứng tử/trích lục khai tử: nơi cấp",
                    g("death.record_issuer"),
                ),
                (
                    "Giấy chứng tử/trích lục khai tử: ngày cấp",
                    date(&g("death.record_date")),
                ),
                ("Đã được cấp Giấy xác nhận trước đây", g("previous.issued")),
                (
                    "Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân",
                    g("request.purpose"),
                ),
                ("Số bản đề nghị cấp", g("request.copies")),
            ])
        }
        other => panic!("unknown system {other}"),
    }
    out
}

/// A small RFC 4180 reader: records of fields, quoted fields may hold commas, quotes and line breaks.
pub(crate) fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(ch) = chars.next() {
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(ch),
            }
            continue;
        }
        match ch {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "records end with CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a bare LF outside quotes"),
            _ => field.push(ch),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last record ends with CRLF"
    );
    rows
}

/// A unit label as it reads after an authority's name: each part's kind in lower case ("xã Bù Gia Mập,
/// thành phố Đồng Nai"), as the printed forms write it.
fn in_sentence(label: &str) -> String {
    label
        .split(", ")
        .map(|part| {
            let mut c = part.chars();
            let kind = [
                "Xã ",
                "Phường ",
                "Đặc khu ",
                "Thị trấn ",
                "Tỉnh ",
                "Thành phố ",
            ];
            if kind.iter().any(|k| part.starts_with(k)) {
                c.next()
                    .map(|f| f.to_lowercase().chain(c).collect())
                    .unwrap_or_default()
            } else {
                part.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A value as CSV carries it: a leading `=`, `+`, `-`, `@`, tab or carriage return guarded by an
/// apostrophe (OWASP).
fn csv_guarded(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    }
}

/// Checks a table (header + rows) against the expected values of `dossiers` for `system`, as the CSV
/// (`csv`: ISO dates, guarded values) or the XLSX carries them.
fn check_table(system: &str, table: &[Vec<String>], dossiers: &[&Sealed], csv: bool) {
    let header = &table[0];
    let want_header: Vec<&str> = expected(system, dossiers[0], csv)
        .iter()
        .map(|(h, _)| *h)
        .collect();
    assert_eq!(header, &want_header, "{system}: header");
    assert_eq!(
        table.len() - 1,
        dossiers.len(),
        "{system}: one row per dossier"
    );
    for d in dossiers {
        let row = table[1..]
            .iter()
            .find(|r| r[1] == d.dossier_id)
            .unwrap_or_else(|| panic!("{system}: row of {}", d.dossier_id));
        assert_eq!(row.len(), header.len());
        for (i, (item, want)) in expected(system, d, csv).into_iter().enumerate() {
            let want = if csv { csv_guarded(&want) } else { want };
            assert_eq!(row[i], want, "{system} / {item} / {}", d.dossier_id);
        }
    }
}

fn xlsx_tables(bytes: Vec<u8>) -> (Vec<String>, Vec<Vec<String>>, Vec<Vec<Data>>) {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
    let names = wb.sheet_names().to_vec();
    let data = wb.worksheet_range(&names[0]).unwrap();
    let notes = wb.worksheet_range(&names[1]).unwrap();
    let width = data.width();
    let table = data
        .rows()
        .map(|r| {
            (0..width)
                .map(|i| match r.get(i) {
                    Some(Data::String(s)) => s.clone(),
                    Some(Data::Empty) | None => String::new(),
                    Some(other) => panic!("every cell is text, got {other:?}"),
                })
                .collect()
        })
        .collect();
    let notes = notes.rows().map(<[Data]>::to_vec).collect();
    (names, table, notes)
}

#[test]
fn every_exported_value_equals_the_captured_one() {
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let birth_photo = std::fs::read(sample_photo("giay-chung-sinh.jpg")).unwrap();
    let marital_photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let captured = block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        let p3 = "birth-residence-insurance";
        let pm = "marital-status-certificate";
        let a = birth_a();
        let ra = seal(
            &officer,
            p3,
            &a,
            &["birth_certificate", "requester_id"],
            &birth_photo,
        )
        .await;
        let b = birth_b();
        let rb = seal(
            &officer,
            p3,
            &b,
            &["witness_statement", "requester_id", "head_consent"],
            &birth_photo,
        )
        .await;
        let c = marital_fields("Điểu Thị Hà", "070198001234");
        let rc = seal(&officer, pm, &c, &["id_document"], &marital_photo).await;
        let d = marital_d();
        let rd = seal(
            &officer,
            pm,
            &d,
            &["id_document", "authorisation_letter", "divorce_judgment"],
            &marital_photo,
        )
        .await;
        vec![(p3, a, ra), (p3, b, rb), (pm, c, rc), (pm, d, rd)]
    });
    drop(field);

    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);

    let office = Hub::start("office", &office_dir);
    block_on(async {
        let (_admin, clerk) = office_clerk(&office).await;
        let (_, list) = clerk.get("/api/v1/office/dossiers").await;
        let list = list["dossiers"].as_array().unwrap().clone();
        assert_eq!(list.len(), 4);
        let sealed: Vec<Sealed> = captured
            .into_iter()
            .enumerate()
            .map(|(i, (procedure, fields, receipt))| {
                let code = receipt["code"].as_str().unwrap();
                let row = list.iter().find(|d| d["receipt_code"] == code).unwrap();
                let received_at = row["received_at"].as_str().unwrap();
                let day = hub::shared::clock::vn_date_of(received_at)
                    .unwrap()
                    .to_string();
                Sealed {
                    procedure,
                    fields,
                    dossier_id: row["dossier_id"].as_str().unwrap().to_string(),
                    receipt_code: code.to_string(),
                    received_on: day,
                    pin: (i == 0).then_some("070326000123"),
                }
            })
            .collect();

        // Register the first 3-in-1 dossier with its result numbers, as a clerk does (casework's route).
        let (s, b) = clerk
            .post(
                &format!("/api/v1/office/dossiers/{}/status", sealed[0].dossier_id),
                json!({"to": "registered", "result_numbers": [
                    {"kind": "pin", "number": "070326000123"},
                    {"kind": "birth_registration", "number": "15/2026"},
                    {"kind": "health_insurance", "number": "7026000123"}]}),
            )
            .await;
        assert_eq!(s, 200, "{b}");

        let (s, p) = clerk.get("/api/v1/office/exports/pending").await;
        assert_eq!(s, 200, "{p}");
        let pending = |p: &Value, sys: &str| {
            p["systems"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["system"] == sys)
                .unwrap()["pending"]
                .as_i64()
                .unwrap()
        };
        let waiting = |p: &Value, sys: &str| {
            let s = p["systems"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["system"] == sys)
                .unwrap()
                .clone();
            (s["waiting"].as_i64().unwrap(), s["waiting_for"].clone())
        };
        // CT01 and TK1-TS wait for the child's PIN: only the registered dossier is ready for them.
        for (sys, n, w) in [
            ("birth_declaration", 2, 0),
            ("ct01", 1, 1),
            ("tk1_ts", 1, 1),
            ("marital_status", 2, 0),
        ] {
            assert_eq!(pending(&p, sys), n, "{sys}");
            assert_eq!(waiting(&p, sys).0, w, "{sys}");
        }
        assert_eq!(waiting(&p, "ct01").1, "pin");
        assert_eq!(waiting(&p, "birth_declaration").1, Value::Null);

        // Refusals: an unknown system, a bad format, a dossier of another procedure.
        let (s, b) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "x", "format": "pdf"}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        let (s, b) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "ct01", "format": "csv", "dossier_ids": [sealed[2].dossier_id]}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(b["error"]["details"][0]["code"], "not_for_system");

        let births: Vec<&Sealed> = sealed
            .iter()
            .filter(|d| d.procedure.starts_with("birth"))
            .collect();
        let maritals: Vec<&Sealed> = sealed
            .iter()
            .filter(|d| d.procedure.starts_with("marital"))
            .collect();
        let mut audit_expected = 0;
        let mut first_time = 0;
        for sys in ["birth_declaration", "ct01", "tk1_ts", "marital_status"] {
            let with_pin: Vec<&Sealed> =
                births.iter().copied().filter(|d| d.pin.is_some()).collect();
            let ds = match sys {
                "marital_status" => &maritals,
                "ct01" | "tk1_ts" => &with_pin,
                _ => &births,
            };
            let n = ds.len() as i64;
            // CSV, the first time: every dossier not yet exported.
            let (s, made) = clerk
                .post(
                    "/api/v1/office/exports",
                    json!({"system": sys, "format": "csv"}),
                )
                .await;
            assert_eq!(s, 201, "{made}");
            assert_eq!(made["rows"], n);
            audit_expected += n;
            first_time += n;
            let id = made["id"].as_str().unwrap();
            let first_id = id.to_string();
            let r = clerk
                .http
                .get(format!("{}/api/v1/office/exports/{id}/file", office.base))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let cd = r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_string();
            assert!(
                cd.starts_with(&format!("attachment; filename=\"{sys}-"))
                    && cd.ends_with("-1.csv\""),
                "{cd}"
            );
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv"));
            let bytes = r.bytes().await.unwrap().to_vec();
            assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "BOM");
            let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
            check_table(sys, &parse_csv(&text), ds, true);

            // Again, nothing new: no rows, nothing recorded.
            let (s, made) = clerk
                .post(
                    "/api/v1/office/exports",
                    json!({"system": sys, "format": "xlsx"}),
                )
                .await;
            assert_eq!(s, 200, "{made}");
            assert_eq!(made["rows"], 0);
            assert_eq!(made["id"], Value::Null);

            // Explicitly again, as XLSX: all of them.
            let (s, made) = clerk
                .post(
                    "/api/v1/office/exports",
                    json!({"system": sys, "format": "xlsx", "again": true}),
                )
                .await;
            assert_eq!(s, 201, "{made}");
            assert_eq!(made["rows"], n);
            audit_expected += n;
            let id = made["id"].as_str().unwrap();
            let (s, bytes) = clerk
                .get_bytes(&format!("/api/v1/office/exports/{id}/file"))
                .await;
            assert_eq!(s, 200);
            let (names, table, notes) = xlsx_tables(bytes);
            assert_eq!(names, vec![sys.to_string(), "Ghi chú - Notes".to_string()]);
            check_table(sys, &table, ds, false);
            let notes_text = format!("{notes:?}");
            assert!(notes_text.contains("vanthu"), "{notes_text}");
            assert!(notes_text.contains("Số hồ sơ / Dossiers"), "{notes_text}");
            // As a browser asks for it (gzip accepted): the compressed stream arrives whole.
            for id in [id, first_id.as_str()] {
                let r = clerk
                    .http
                    .get(format!("{}/api/v1/office/exports/{id}/file", office.base))
                    .header("accept-encoding", "gzip")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                let gz = r.bytes().await.expect("the whole body");
                assert_eq!(&gz[..2], b"\x1f\x8b", "gzip");
            }
        }

        // Nothing pending now; filters and explicit selections still work with `again`.
        let (_, p) = clerk.get("/api/v1/office/exports/pending").await;
        for sys in ["birth_declaration", "ct01", "tk1_ts", "marital_status"] {
            assert_eq!(pending(&p, sys), 0, "{sys}");
        }
        assert_eq!(waiting(&p, "ct01").0, 1, "still waiting for its PIN");
        let (s, made) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "ct01", "format": "csv", "again": true,
                       "filter": {"status": "registered"}}),
            )
            .await;
        assert_eq!(s, 201, "{made}");
        assert_eq!(made["rows"], 1, "only the registered one");
        audit_expected += 1;
        let (s, made) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "marital_status", "format": "csv", "again": true,
                       "dossier_ids": [sealed[3].dossier_id],
                       "filter": {"received_from": "2000-01-01", "received_to": "2999-12-31"}}),
            )
            .await;
        assert_eq!(s, 201, "{made}");
        assert_eq!(made["rows"], 1);
        audit_expected += 1;
        let (s, made) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "marital_status", "format": "csv", "again": true,
                       "filter": {"received_to": "2000-01-01"}}),
            )
            .await;
        assert_eq!(s, 200, "{made}");
        assert_eq!(made["rows"], 0);

        // The history: newest first, who and what; the files' digests noted once delivered.
        let (s, h) = clerk.get("/api/v1/office/exports?limit=200").await;
        assert_eq!(s, 200, "{h}");
        let h = h["exports"].as_array().unwrap();
        assert_eq!(h.len(), 10);
        assert_eq!(h[0]["system"], "marital_status");
        assert!(h.iter().all(|e| e["created_by_name"] == "vanthu"));
        assert!(
            h[2..]
                .iter()
                .all(|e| e["sha256"].as_str().is_some_and(|s| s.len() == 64)),
            "{h:?}"
        );
        let (s, _) = clerk.get("/api/v1/office/exports/nope/file").await;
        assert_eq!(s, 404);

        // One `exported` audit entry per dossier exported.
        let c = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
        let n: i64 = c
            .query_row(
                "SELECT count(*) FROM audit_log WHERE action = 'exported'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, audit_expected);
        let again: i64 = c
            .query_row(
                "SELECT count(*) FROM audit_log WHERE action = 'exported' AND json_extract(detail_json, '$.again') = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(again, audit_expected - first_time);
        // No temporary files are left in the data directory.
        let left = std::fs::read_dir(office_dir.join("exports-tmp"))
            .unwrap()
            .count();
        assert_eq!(left, 0);

        // Only clerks and admins.
        let anon = Client::new(&office.base);
        let (s, _) = anon.get("/api/v1/office/exports/pending").await;
        assert_eq!(s, 401);
    });
}

/// The CSV export of `system` (every dossier not yet exported) as a table, header first.
async fn export_csv(clerk: &Client, system: &str) -> Vec<Vec<String>> {
    let (s, made) = clerk
        .post(
            "/api/v1/office/exports",
            json!({"system": system, "format": "csv"}),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    let id = made["id"].as_str().unwrap();
    let (s, bytes) = clerk
        .get_bytes(&format!("/api/v1/office/exports/{id}/file"))
        .await;
    assert_eq!(s, 200);
    parse_csv(std::str::from_utf8(&bytes[3..]).unwrap())
}

/// The cell of `row` under the header `name`.
fn cell<'t>(table: &'t [Vec<String>], row: usize, name: &str) -> &'t str {
    let i = table[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name:?} in {:?}", table[0]));
    &table[row][i]
}

/// Catalogue v2 dossiers (issue 16): sealed with the values typed on the typical path only, they carry
/// what the forms need (derived at seal), verify at the office, and export with names, not codes.
#[test]
fn catalogue_v2_dossiers_verify_and_export_what_the_forms_need() {
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        // A marital-status request by the person certified, who is married.
        let marital = fields(&[
            ("addressee.commune", "25222"),
            ("requester.relationship", "self"),
            ("requester.full_name", "Điểu Thị Hạnh"),
            ("requester.id_type", "can_cuoc"),
            ("requester.pin", "070190012345"),
            ("requester.id_issuer", "Bộ Công an"),
            ("requester.id_issue_date", "2024-08-01"),
            ("subject.date_of_birth", "1990-05-14"),
            ("subject.ethnicity", "Xtiêng"),
            ("subject.nationality", "Việt Nam"),
            ("subject.marital_status", "married"),
            ("spouse.full_name", "Điểu Minh"),
            ("marriage.cert_number", "12/2015"),
            ("marriage.cert_issuer", "UBND xã Bù Gia Mập"),
            ("marriage.cert_date", "2015-03-08"),
            ("previous.issued", "no"),
            ("request.purpose_kind", "other"),
            ("request.purpose", "Vay vốn ngân hàng chính sách"),
            ("request.copies", "2"),
            ("declaration.confirmed", "yes"),
            ("declaration.method", "read_aloud"),
        ]);
        let id = fill_draft_version(
            &officer,
            "marital-status-certificate",
            2,
            &marital,
            &["id_document"],
            "giay-to.jpg",
            &photo,
        )
        .await;
        seal_draft(&officer, &id).await;
        // A 3-in-1 with an electronic birth certificate: no birth paper photographed.
        let birth = fields(&[
            ("mother.declared", "yes"),
            ("mother.full_name", "Thị Hoa"),
            ("mother.pin", "070198001234"),
            ("mother.ethnicity", "Xtiêng"),
            ("mother.nationality", "Việt Nam"),
            ("mother.residence_commune", "25222"),
            ("mother.residence_detail", "Thôn Bù Khơn"),
            ("father.declared", "yes"),
            ("father.full_name", "Điểu Minh"),
            ("father.pin", "070095004321"),
            ("father.ethnicity", "Xtiêng"),
            ("father.nationality", "Việt Nam"),
            ("child.full_name", "Điểu Thị Mai"),
            ("child.date_of_birth", "2026-11-20"),
            ("child.sex", "female"),
            ("child.ethnicity_from", "mother"),
            ("child.nationality", "Việt Nam"),
            ("child.hometown", "Bình Phước"),
            ("birth.proof", "e_certificate"),
            ("birth.certificate_code", "79123.GCS.00456.26"),
            ("child.place_of_birth_commune", "25222"),
            ("requester.relationship", "mother"),
            ("requester.id_type", "can_cuoc"),
            ("birth.copies", "1"),
            ("addressee.commune", "25222"),
            ("residence.head_is", "mother"),
            ("residence.relationship_to_head", "child_biological"),
            ("declaration.confirmed", "yes"),
            ("declaration.method", "signed"),
        ]);
        let id = fill_draft_version(
            &officer,
            "birth-residence-insurance",
            2,
            &birth,
            &["requester_id"],
            "giay-to.jpg",
            &photo,
        )
        .await;
        seal_draft(&officer, &id).await;
    });
    drop(field);
    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);

    let office = Hub::start("office", &office_dir);
    block_on(async {
        let (_admin, clerk) = office_clerk(&office).await;
        let (_, list) = clerk.get("/api/v1/office/dossiers").await;
        let list = list["dossiers"].as_array().unwrap();
        assert_eq!(list.len(), 2, "both verified and listed: {list:?}");

        let m = export_csv(&clerk, "marital_status").await;
        assert_eq!(m.len(), 2);
        assert_eq!(
            cell(&m, 1, "Kính gửi"),
            format!("Ủy ban nhân dân {}", in_sentence(BU_GIA_MAP)),
            "the commune's People's Committee by name, not its code"
        );
        assert_eq!(
            cell(&m, 1, "Họ, chữ đệm, tên người được xác nhận"),
            "Điểu Thị Hạnh",
            "the person certified follows the requester"
        );
        assert_eq!(cell(&m, 1, "Giới tính"), "Nữ", "read from the PIN");
        assert_eq!(
            cell(&m, 1, "Nơi cư trú"),
            "",
            "no residence asked with a PIN"
        );
        assert_eq!(cell(&m, 1, "Họ, chữ đệm, tên vợ/chồng"), "Điểu Minh");
        assert_eq!(cell(&m, 1, "Giấy chứng nhận kết hôn: số"), "12/2015");
        assert_eq!(
            cell(&m, 1, "Giấy chứng nhận kết hôn: ngày cấp"),
            "2015-03-08",
            "CSV dates in ISO 8601"
        );
        assert_eq!(cell(&m, 1, "Ngày cấp giấy tờ tùy thân"), "2024-08-01");
        assert_eq!(
            cell(&m, 1, "Mục đích sử dụng Giấy xác nhận tình trạng hôn nhân"),
            "Vay vốn ngân hàng chính sách"
        );
        assert_eq!(cell(&m, 1, "Số bản đề nghị cấp"), "2");

        let b = export_csv(&clerk, "birth_declaration").await;
        assert_eq!(cell(&b, 1, "Mã giấy chứng sinh"), "79123.GCS.00456.26");
        assert_eq!(
            cell(&b, 1, "Năm sinh của người mẹ"),
            "1998",
            "read from her PIN"
        );
        assert_eq!(
            cell(&b, 1, "Dân tộc"),
            "Xtiêng",
            "the parents' choice: the mother's"
        );
        assert_eq!(
            cell(&b, 1, "Nơi sinh: xã, phường, đặc khu, tỉnh"),
            BU_GIA_MAP
        );
        assert_eq!(
            cell(&b, 1, "Kính gửi"),
            format!("Ủy ban nhân dân {}", in_sentence(BU_GIA_MAP))
        );
        assert_eq!(cell(&b, 1, "Họ, chữ đệm, tên người yêu cầu"), "Thị Hoa");
        // CT01 waits for the child's PIN: nothing to export until it is recorded.
        let (s, made) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "ct01", "format": "csv"}),
            )
            .await;
        assert_eq!((s, made["rows"].as_i64()), (200, Some(0)), "{made}");
        let birth_id: String = crate::common::db(office_dir.join("hub.sqlite"))
            .unwrap()
            .query_row(
                "SELECT dossier_id FROM received_dossiers WHERE procedure_id = 'birth-residence-insurance'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let (s, r) = clerk
            .post(
                &format!("/api/v1/office/dossiers/{birth_id}/status"),
                json!({"to": "registered", "result_numbers": [
                    {"kind": "pin", "number": "070326000123"},
                    {"kind": "birth_registration", "number": "16/2026"},
                    {"kind": "health_insurance", "number": "7026000124"}]}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let c = export_csv(&clerk, "ct01").await;
        assert_eq!(cell(&c, 1, "4. Số định danh cá nhân"), "070326000123");
        assert_eq!(
            cell(&c, 1, "1. Họ, chữ đệm và tên khai sinh"),
            "Điểu Thị Mai"
        );
        let t = export_csv(&clerk, "tk1_ts").await;
        assert!(
            !t[0].iter().any(|h| h.contains("hộ gia đình")),
            "no household code on TK1-TS: {:?}",
            t[0]
        );
        for table in [&m, &b, &c, &t] {
            for v in &table[1] {
                assert!(
                    !(v.len() == 5 && v.bytes().all(|x| x.is_ascii_digit())),
                    "a raw unit code in an export: {:?}",
                    table[1]
                );
            }
        }
    });
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// An export is immutable (issue 24): the bytes made with it are kept in the data directory and sent at
/// every download, whose SHA-256 is the one recorded, even after the dossier changes; an XLSX made again
/// from the same data is byte for byte the same (the document time is the export's); "export again"
/// makes a new export with its own id and today's data.
#[test]
fn an_export_file_is_kept_as_delivered() {
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let photo = std::fs::read(sample_photo("giay-chung-sinh.jpg")).unwrap();
    block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        seal(
            &officer,
            "birth-residence-insurance",
            &birth_a(),
            &["birth_certificate", "requester_id"],
            &photo,
        )
        .await;
    });
    drop(field);
    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);
    let office = Hub::start("office", &office_dir);
    block_on(async {
        let (_admin, clerk) = office_clerk(&office).await;
        let db = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
        let id: String = db
            .query_row("SELECT dossier_id FROM received_dossiers", [], |r| r.get(0))
            .unwrap();
        // Not registered: CT01 has nothing to take yet, the card says one waits for the PIN.
        let (s, made) = clerk
            .post(
                "/api/v1/office/exports",
                json!({"system": "ct01", "format": "xlsx"}),
            )
            .await;
        assert_eq!((s, made["rows"].as_i64()), (200, Some(0)), "{made}");
        let (_, p) = clerk.get("/api/v1/office/exports/pending").await;
        let ct01 = p["systems"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["system"] == "ct01")
            .unwrap()
            .clone();
        assert_eq!(
            (ct01["pending"].as_i64(), ct01["waiting"].as_i64()),
            (Some(0), Some(1))
        );
        let (s, b) = clerk
            .post(
                &format!("/api/v1/office/dossiers/{id}/status"),
                json!({"to": "registered", "result_numbers": [
                    {"kind": "pin", "number": "070326000123"},
                    {"kind": "birth_registration", "number": "15/2026"},
                    {"kind": "health_insurance", "number": "7026000123"}]}),
            )
            .await;
        assert_eq!(s, 200, "{b}");

        for format in ["xlsx", "csv"] {
            let (s, made) = clerk
                .post(
                    "/api/v1/office/exports",
                    json!({"system": "ct01", "format": format, "again": true}),
                )
                .await;
            assert_eq!(s, 201, "{made}");
            let ex = made["id"].as_str().unwrap().to_string();
            let sha = made["sha256"].as_str().unwrap().to_string();
            let kept = office_dir.join("exports").join(format!("{ex}.{format}"));
            assert!(kept.exists(), "{kept:?}");
            let url = format!("/api/v1/office/exports/{ex}/file");
            let (_, first) = clerk.get_bytes(&url).await;
            let (_, second) = clerk.get_bytes(&url).await;
            assert_eq!(sha256_hex(&first), sha, "{format}: the recorded digest");
            assert_eq!(first, second, "{format}: the same bytes at every download");
            let (_, list) = clerk.get("/api/v1/office/exports").await;
            let listed = list["exports"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == ex.as_str())
                .unwrap()
                .clone();
            assert_eq!(listed["sha256"], sha.as_str());

            // Made again from the same data (the kept file removed): the same bytes, a second later.
            std::thread::sleep(std::time::Duration::from_millis(1100));
            std::fs::remove_file(&kept).unwrap();
            let (s, rebuilt) = clerk.get_bytes(&url).await;
            assert_eq!(s, 200);
            assert_eq!(sha256_hex(&rebuilt), sha, "{format}: deterministic");

            // The dossier changes afterwards: the delivered file does not.
            db.execute(
                "UPDATE received_dossiers SET fields_json = json_set(fields_json, '$.\"child.full_name\"', ?1)",
                [format!("Điểu Thị Lan {format}")],
            )
            .unwrap();
            let (_, later) = clerk.get_bytes(&url).await;
            assert_eq!(sha256_hex(&later), sha, "{format}: immutable");

            // Tampered on disk: refused, never other bytes than those delivered.
            let mut bad = std::fs::read(&kept).unwrap();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            std::fs::write(&kept, &bad).unwrap();
            let (s, _) = clerk.get_bytes(&url).await;
            assert_eq!(
                s, 500,
                "{format}: a kept file that no longer matches its digest"
            );
            std::fs::write(&kept, &later).unwrap();

            // Export again: a new export, its own id, today's data.
            let (s, again) = clerk
                .post(
                    "/api/v1/office/exports",
                    json!({"system": "ct01", "format": format, "again": true}),
                )
                .await;
            assert_eq!(s, 201, "{again}");
            assert_ne!(again["id"], made["id"]);
            assert_ne!(again["sha256"], made["sha256"]);
            let (_, newer) = clerk
                .get_bytes(&format!(
                    "/api/v1/office/exports/{}/file",
                    again["id"].as_str().unwrap()
                ))
                .await;
            assert_eq!(sha256_hex(&newer), again["sha256"].as_str().unwrap());
        }
    });
}
