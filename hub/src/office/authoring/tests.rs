//! Round trips of the built-in packages through sheets (CSV and a workbook), and one test per kind of
//! error, each with the sheet, row and column it must be reported at.

use std::path::Path;

use super::*;

fn package(id: &str, version: u32) -> &'static ProcedurePackage {
    protocol::builtin_packages()
        .iter()
        .find(|p| p.procedure.id == id && p.procedure.version == version)
        .expect("a built-in package")
}

/// The sheets of a built-in package in a temporary folder.
fn sheets_of(id: &str, version: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_sheets(package(id, version), dir.path()).unwrap();
    dir
}

/// Changes the CSV sheet `name` (records, header first).
fn edit(dir: &Path, name: &str, f: impl FnOnce(&mut Vec<Vec<String>>)) {
    let path = dir.join(format!("{name}.csv"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut records: Vec<Vec<String>> = sheet::parse_csv(&text)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    f(&mut records);
    std::fs::write(&path, sheet::write_csv(&records)).unwrap();
}

/// The index of column `col` in a header.
fn col(records: &[Vec<String>], col: &str) -> usize {
    records[0]
        .iter()
        .position(|h| h == col)
        .unwrap_or_else(|| panic!("no column {col}"))
}

/// The record index (= spreadsheet row - 1) whose `key` column is `value`.
fn row_of(records: &[Vec<String>], key: &str, value: &str) -> usize {
    let c = col(records, key);
    records
        .iter()
        .position(|r| r[c] == value)
        .unwrap_or_else(|| panic!("no row with {key} = {value}"))
}

/// Sets the cell of the row whose `key` is `value`, in column `column`; returns the spreadsheet row.
fn set(dir: &Path, sheet: &str, key: &str, value: &str, column: &str, to: &str) -> u32 {
    let mut n = 0;
    edit(dir, sheet, |r| {
        let i = row_of(r, key, value);
        let c = col(r, column);
        r[i][c] = to.to_string();
        n = i as u32 + 1;
    });
    n
}

fn problems(dir: &Path) -> Vec<Problem> {
    match load(dir) {
        Ok(_) => panic!("the source was accepted"),
        Err(SourceError::Invalid(list)) => list,
        Err(e) => panic!("unreadable: {e}"),
    }
}

/// Asserts a problem at `sheet` `row`, `column`, whose message holds `words`.
#[track_caller]
fn assert_problem(list: &[Problem], sheet: &str, row: Option<u32>, column: &str, words: &str) {
    let found = list.iter().any(|p| {
        p.sheet == sheet
            && p.row == row
            && p.column.as_deref() == Some(column)
            && p.message.contains(words)
    });
    let shown: Vec<String> = list.iter().map(|p| p.to_string()).collect();
    assert!(
        found,
        "no problem at {sheet} row {row:?}, column {column} saying {words:?}; got:\n{}",
        shown.join("\n")
    );
}

#[test]
fn builtin_packages_round_trip_through_sheets() {
    assert!(protocol::builtin_packages().len() >= 4);
    for p in protocol::builtin_packages() {
        let dir = tempfile::tempdir().unwrap();
        write_sheets(p, dir.path()).unwrap();
        let back = load(dir.path()).unwrap_or_else(|e| panic!("{}: {e}", p.procedure.id));
        assert_eq!(&back, p, "{} v{}", p.procedure.id, p.procedure.version);
        assert_eq!(package_json(&back).unwrap(), package_json(p).unwrap());
        // The sheets written again are the same bytes (deterministic, so git diffs are real changes).
        let again = tempfile::tempdir().unwrap();
        write_sheets(&back, again.path()).unwrap();
        for f in std::fs::read_dir(dir.path()).unwrap() {
            let name = f.unwrap().file_name();
            assert_eq!(
                std::fs::read(dir.path().join(&name)).unwrap(),
                std::fs::read(again.path().join(&name)).unwrap()
            );
        }
    }
}

#[test]
fn every_part_of_the_json_form_is_expressed() {
    // What the built-ins do not use: further languages and audio prompts, in several sheets.
    let mut p = package("birth-residence-insurance", 2).clone();
    p.procedure
        .title
        .more
        .insert("cmo".into(), "Nau bah".into());
    p.procedure
        .title
        .audio
        .insert("stg".into(), "a1b2c3".into());
    let f = &mut p.procedure.groups[0].fields[0];
    f.label.more.insert("cmo".into(), "Mê".into());
    f.label.audio.insert("cmo".into(), "d4e5".into());
    f.help
        .as_mut()
        .unwrap()
        .more
        .insert("stg".into(), "Mẹ".into());
    p.results.push(protocol::package::ResultDef {
        kind: "extra_number".into(),
        label: protocol::catalogue::Text {
            vi: "Số phụ".into(),
            en: "Extra number".into(),
            more: [("cmo".to_string(), "Số".to_string())].into(),
            audio: Default::default(),
        },
    });
    p.check_form().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_sheets(&p, dir.path()).unwrap();
    let fields = std::fs::read_to_string(dir.path().join("fields.csv")).unwrap();
    assert!(fields
        .lines()
        .next()
        .unwrap()
        .contains("label::cmo,label::audio::cmo"));
    assert_eq!(load(dir.path()).unwrap(), p);
}

#[test]
fn a_workbook_reads_like_the_csv_folder() {
    let p = package("marital-status-certificate", 2);
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (name, records) in write::sheets(p).unwrap() {
        let ws = wb.add_worksheet();
        ws.set_name(name).unwrap();
        for (r, rec) in records.iter().enumerate() {
            for (c, v) in rec.iter().enumerate() {
                if v.is_empty() {
                    continue;
                }
                // Numbers as numbers and the effective date as a date, as a spreadsheet keeps them.
                let number = v == "0"
                    || (!v.starts_with('0')
                        && v.len() < 9
                        && v.bytes().all(|b| b.is_ascii_digit()));
                if let (true, Ok(n)) = (number, v.parse::<f64>()) {
                    ws.write_number(r as u32, c as u16, n).unwrap();
                } else {
                    ws.write_string(r as u32, c as u16, v).unwrap();
                }
            }
        }
        if name == "settings" {
            let i = records
                .iter()
                .position(|r| r[0] == "effective_from")
                .unwrap();
            let d = rust_xlsxwriter::ExcelDateTime::parse_from_str(&p.procedure.effective_from)
                .unwrap();
            let fmt = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
            ws.write_datetime_with_format(i as u32, 1, &d, &fmt)
                .unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("marital.v2.xlsx");
    wb.save(&path).unwrap();
    assert_eq!(&load(&path).unwrap(), p);
    // The workbook `hub procedure sheets … OUT.xlsx` writes reads back to the same package.
    for p in protocol::builtin_packages() {
        let path = dir
            .path()
            .join(format!("{}.v{}.xlsx", p.procedure.id, p.procedure.version));
        write_workbook(p, &path).unwrap();
        assert_eq!(&load(&path).unwrap(), p);
    }

    // An error in a workbook names the sheet without .csv, and the row as the spreadsheet shows it.
    let mut wb = rust_xlsxwriter::Workbook::new();
    // An empty sheet a spreadsheet adds by itself is no error.
    wb.add_worksheet().set_name("Sheet1").unwrap();
    let ws = wb.add_worksheet();
    ws.set_name("Settings").unwrap();
    ws.write_row(0, 0, ["setting", "value"]).unwrap();
    ws.write_row(1, 0, ["id", "x"]).unwrap();
    ws.write_row(2, 0, ["effective_from", "2027-02-30"])
        .unwrap();
    let path = dir.path().join("bad.xlsx");
    wb.save(&path).unwrap();
    let list = problems(&path);
    assert_problem(&list, "Settings", Some(3), "value", "2027-02-30");
    assert!(!list.iter().any(|p| p.sheet == "Sheet1"), "{list:?}");
    assert!(list
        .iter()
        .any(|p| p.sheet == "fields" && p.message.contains("missing")));
}

#[test]
fn unknown_fields_are_placed_in_every_sheet() {
    let dir = sheets_of("birth-residence-insurance", 2);
    let d = dir.path();
    // derivations: the first rule's source
    let mut drow = 0;
    edit(d, "derivations", |r| {
        let c = col(r, "from");
        r[1][c] = "mother.pinn".into();
        drow = 2;
    });
    let frow = set(
        d,
        "fields",
        "key",
        "requester.pin",
        "required_if",
        "requester.id_typ = can_cuoc",
    );
    let mut krow = 0;
    edit(d, "checks", |r| {
        let c = col(r, "pin");
        let i = 1 + r[1..].iter().position(|x| !x[c].is_empty()).unwrap();
        r[i][c] = "mother.pim".into();
        krow = i as u32 + 1;
    });
    let mut erow = 0;
    edit(d, "export_items", |r| {
        let c = col(r, "value");
        let i = r.iter().position(|x| x[c] == "mother.full_name").unwrap();
        r[i][c] = "upper(mother.ful_name)".into();
        erow = i as u32 + 1;
    });
    let mut lrow = 0;
    edit(d, "layout_lines", |r| {
        let c = col(r, "value");
        let i = r
            .iter()
            .position(|x| x[c].contains("child.full_name"))
            .unwrap();
        r[i][c] = "child.name".into();
        lrow = i as u32 + 1;
    });
    let list = problems(d);
    assert_problem(
        &list,
        "derivations.csv",
        Some(drow),
        "from",
        "unknown field mother.pinn",
    );
    assert_problem(
        &list,
        "fields.csv",
        Some(frow),
        "required_if",
        "unknown field requester.id_typ",
    );
    assert_problem(
        &list,
        "checks.csv",
        Some(krow),
        "pin",
        "unknown field mother.pim",
    );
    assert_problem(
        &list,
        "export_items.csv",
        Some(erow),
        "value",
        "unknown field mother.ful_name",
    );
    assert_problem(&list, "layout_lines.csv", Some(lrow), "value", "child.name");
    // Every error is reported, not just the first; and in plain words.
    assert!(list.len() >= 5, "{list:?}");
    assert_eq!(
        list.iter()
            .find(|p| p.sheet == "derivations.csv")
            .unwrap()
            .to_string(),
        format!("derivations.csv row {drow}, column from: unknown field mother.pinn (not in the fields sheet)")
    );
}

#[test]
fn checks_that_can_never_pass() {
    let dir = sheets_of("marital-status-certificate", 2);
    let d = dir.path();
    // A required field hidden by a shown_if.
    let r1 = set(
        d,
        "fields",
        "key",
        "request.purpose",
        "shown_if",
        "previous.issued = yes",
    );
    // A choice condition naming a value that is no option.
    let r2 = set(
        d,
        "fields",
        "key",
        "subject.passport_number",
        "required_if",
        "subject.id_type = passprt",
    );
    // min > max.
    let r3 = set(d, "fields", "key", "request.copies", "min", "99");
    // A condition no value of its field can satisfy (a date is never `yes`).
    let r4 = set(
        d,
        "documents",
        "role",
        "other_papers",
        "required_if",
        "subject.date_of_birth = yes",
    );
    // A PIN check on a field that is no PIN.
    let mut krow = 0;
    edit(d, "checks", |r| {
        let c = col(r, "pin");
        let i = 1 + r[1..].iter().position(|x| !x[c].is_empty()).unwrap();
        r[i][c] = "subject.full_name".into();
        krow = i as u32 + 1;
    });
    let list = problems(d);
    assert_problem(
        &list,
        "fields.csv",
        Some(r1),
        "shown_if",
        "could never be sealed",
    );
    assert_problem(
        &list,
        "fields.csv",
        Some(r2),
        "required_if",
        "passprt is not an option of subject.id_type",
    );
    assert_problem(
        &list,
        "fields.csv",
        Some(r3),
        "min",
        "min 99 is more than max 10",
    );
    assert_problem(
        &list,
        "documents.csv",
        Some(r4),
        "required_if",
        "can never hold \"yes\"",
    );
    assert_problem(&list, "checks.csv", Some(krow), "pin", "could never pass");
}

#[test]
fn exports_and_layouts_missing_what_they_need() {
    let dir = sheets_of("marital-status-certificate", 1);
    let d = dir.path();
    let mut erow = 0;
    edit(d, "export_items", |r| {
        let c = col(r, "value");
        r[5][c] = String::new();
        erow = 6;
    });
    let lrow = set(d, "layouts", "form", "marital", "oath", "");
    // The only signature block gone.
    edit(d, "layout_lines", |r| {
        let c = col(r, "type");
        r.retain(|x| x[c] != "signature");
    });
    let list = problems(d);
    assert_problem(
        &list,
        "export_items.csv",
        Some(erow),
        "value",
        "the column has no source",
    );
    assert_problem(&list, "layouts.csv", Some(lrow), "oath", "needs its oath");
    assert_problem(&list, "layouts.csv", Some(lrow), "form", "signature block");
}

#[test]
fn duplicates_bad_dates_and_decomposed_text() {
    let dir = sheets_of("marital-status-certificate", 2);
    let d = dir.path();
    let mut dup = 0;
    let mut first = 0;
    edit(d, "fields", |r| {
        let i = row_of(r, "key", "subject.full_name");
        let copy = r[i].clone();
        r.push(copy);
        first = i as u32 + 1;
        dup = r.len() as u32;
    });
    let mut role = 0;
    edit(d, "documents", |r| {
        let c = col(r, "role");
        r[2][c] = r[1][c].clone();
        role = 3;
    });
    let srow = set(
        d,
        "settings",
        "setting",
        "effective_from",
        "value",
        "2026-13-01",
    );
    let decomposed: String = "Họ, chữ đệm, tên".nfd().collect();
    let nrow = set(
        d,
        "fields",
        "key",
        "requester.full_name",
        "label::vi",
        &decomposed,
    );
    let list = problems(d);
    assert_problem(
        &list,
        "fields.csv",
        Some(dup),
        "key",
        &format!("already defined in row {first}"),
    );
    assert_problem(
        &list,
        "documents.csv",
        Some(role),
        "role",
        "already defined in row 2",
    );
    assert_problem(&list, "settings.csv", Some(srow), "value", "2026-13-01");
    assert_problem(&list, "fields.csv", Some(nrow), "label::vi", "not NFC");
}

#[test]
fn unreadable_cells_and_columns() {
    let dir = sheets_of("marital-status-certificate", 2);
    let d = dir.path();
    let r1 = set(
        d,
        "fields",
        "key",
        "subject.pin",
        "required_if",
        "subject.id_type = can_cuoc and x",
    );
    let r2 = set(d, "fields", "key", "subject.pin", "kind", "pinn");
    let r3 = set(d, "fields", "key", "subject.sex", "required", "maybe");
    edit(d, "groups", |r| r[0].push("titel::vi".into()));
    std::fs::write(d.join("feilds.csv"), "key\nx\n").unwrap();
    let list = problems(d);
    assert_problem(
        &list,
        "fields.csv",
        Some(r1),
        "required_if",
        "one condition only",
    );
    assert_problem(
        &list,
        "fields.csv",
        Some(r2),
        "kind",
        "unknown kind \"pinn\"",
    );
    assert_problem(&list, "fields.csv", Some(r3), "required", "not yes or no");
    assert_problem(&list, "groups.csv", Some(1), "titel::vi", "unknown column");
    assert!(list
        .iter()
        .any(|p| p.sheet == "feilds.csv" && p.message.contains("unknown sheet")));
}

#[test]
fn messages_of_the_package_check_are_placed_near_their_cause() {
    let dir = sheets_of("marital-status-certificate", 2);
    let (book, _) = sheet::read_source(dir.path()).unwrap();
    let (_, read) = read::read(&book);
    let p = lint::place(
        "marital-status-certificate v2: field subject.pin: something new",
        &book,
        &read.sites,
    );
    assert_eq!(p.sheet, "fields.csv");
    assert_eq!(p.row, read.sites.fields.get("subject.pin").copied());
    let p = lint::place("x v1: group subject: other", &book, &read.sites);
    assert_eq!(
        (p.sheet.as_str(), p.row),
        ("groups.csv", read.sites.groups.get("subject").copied())
    );
}

#[test]
fn a_sheet_that_cannot_be_read_is_reported_alone() {
    let dir = sheets_of("marital-status-certificate", 1);
    std::fs::write(
        dir.path().join("groups.csv"),
        "id,title::vi\nx,\"never closed\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("choices.csv"), b"list,value\n\xff\xfe,x\n").unwrap();
    let list = problems(dir.path());
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(
        list[0].to_string(),
        "groups.csv row 2: a quoted cell is never closed (a \" is missing)"
    );
    assert!(list[1].sheet == "choices.csv" && list[1].message.contains("not UTF-8"));
}

#[test]
fn csv_with_a_byte_order_mark_and_crlf_reads() {
    let dir = sheets_of("marital-status-certificate", 1);
    let path = dir.path().join("groups.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("\u{feff}{}", text.replace('\n', "\r\n"))).unwrap();
    assert_eq!(
        &load(dir.path()).unwrap(),
        package("marital-status-certificate", 1)
    );
}

use unicode_normalization::UnicodeNormalization;

#[test]
fn every_source_folder_builds_to_the_package_beside_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/packages");
    let mut built = Vec::new();
    for e in std::fs::read_dir(root.join("sources")).unwrap() {
        let dir = e.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let json = std::fs::read_to_string(root.join(format!("{name}.json")))
            .unwrap_or_else(|_| panic!("sources/{name} has no {name}.json beside it"));
        let want = ProcedurePackage::parse(&json).unwrap();
        let got = load(&dir).unwrap_or_else(|e| panic!("sources/{name}:\n{e}"));
        assert_eq!(got, want, "sources/{name} builds to another package");
        assert_eq!(got.hash().unwrap(), want.hash().unwrap());
        // `hub procedure sheets` of the JSON writes the very files of the folder.
        let again = tempfile::tempdir().unwrap();
        let mut written = write_sheets(&want, again.path()).unwrap();
        let mut present: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        written.sort();
        present.sort();
        assert_eq!(written, present, "sources/{name}: other sheets");
        for f in &written {
            assert!(
                std::fs::read(dir.join(f)).unwrap() == std::fs::read(again.path().join(f)).unwrap(),
                "sources/{name}/{f} is not what `hub procedure sheets` writes"
            );
        }
        built.push(name);
    }
    for name in [
        "birth-residence-insurance.v1",
        "birth-residence-insurance.v2",
        "marital-status-certificate.v1",
        "marital-status-certificate.v2",
    ] {
        assert!(built.iter().any(|b| b == name), "no sources/{name}");
    }
}

#[test]
fn a_layout_version_on_a_day_that_does_not_exist() {
    let dir = sheets_of("marital-status-certificate", 2);
    let d = dir.path();
    // In both sheets, which join on it.
    let row = set(d, "layouts", "form", "marital", "from", "2024-06-31");
    edit(d, "layout_lines", |r| {
        let c = col(r, "from");
        for x in r[1..].iter_mut() {
            x[c] = "2024-06-31".into();
        }
    });
    assert_problem(&problems(d), "layouts.csv", Some(row), "from", "YYYY-MM-DD");
}

fn text(vi: &str, en: &str) -> protocol::catalogue::Text {
    protocol::catalogue::Text {
        vi: vi.into(),
        en: en.into(),
        more: Default::default(),
        audio: Default::default(),
    }
}

/// The sheets of a built-in package given a small guide of its own.
fn sheets_with_guide() -> (ProcedurePackage, tempfile::TempDir) {
    let mut p = package("marital-status-certificate", 2).clone();
    let mut purpose = text(
        "Giấy xác nhận tình trạng hôn nhân.",
        "A marital status paper.",
    );
    purpose.more.insert("stg".into(), "Sra broq.".into());
    purpose.audio.insert("stg".into(), "a1b2c3".into());
    p.guide = Some(protocol::package::PackageGuide {
        purpose,
        who: vec![
            text("Chính bạn.", "You."),
            text("Người được ủy quyền.", "Someone you authorise."),
        ],
        steps: vec![
            text("Lấy số.", "Take a number."),
            text("Đưa giấy tờ.", "Hand over the papers."),
            text(
                "Nhận biên nhận, có dấu phẩy, và \"ngoặc kép\".",
                "Take the receipt, with a comma and \"quotes\".",
            ),
        ],
        fees: text("Miễn phí.", "Free."),
    });
    p.check_form().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_sheets(&p, dir.path()).unwrap();
    (p, dir)
}

#[test]
fn a_guide_round_trips_through_its_sheet() {
    let (p, dir) = sheets_with_guide();
    let guide = std::fs::read_to_string(dir.path().join("guide.csv")).unwrap();
    let lines: Vec<&str> = guide.lines().collect();
    assert_eq!(
        lines[0],
        "part,text::vi,text::en,text::stg,text::audio::stg"
    );
    let parts: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        parts,
        ["purpose", "who", "who", "step", "step", "step", "fees"]
    );
    let back = load(dir.path()).unwrap();
    assert_eq!(back, p);
    assert_eq!(back.hash().unwrap(), p.hash().unwrap());
    // As a workbook too.
    let book = dir.path().join("p.xlsx");
    write_workbook(&p, &book).unwrap();
    assert_eq!(load(&book).unwrap(), p);
    // Without the sheet, no guide (and the package bytes have no `guide` member).
    std::fs::remove_file(dir.path().join("guide.csv")).unwrap();
    let bare = load(dir.path()).unwrap();
    assert_eq!(bare.guide, None);
    assert!(!package_json(&bare).unwrap().contains("\"guide\""));
}

#[test]
fn guide_rows_wrong_missing_or_repeated_are_placed() {
    let (_, dir) = sheets_with_guide();
    let d = dir.path();
    // Rows: 2 purpose, 3-4 who, 5-7 step, 8 fees.
    edit(d, "guide", |r| {
        let (part, en, vi) = (col(r, "part"), col(r, "text::en"), col(r, "text::vi"));
        r[3][part] = "whom".into(); // row 4: an unknown part
        r[5][en] = String::new(); // row 6: a step without English
        r[6][vi] = "Nhận biên nhận".nfd().collect(); // row 7: decomposed
        let mut again = r[1].clone(); // row 9: a second purpose
        again[vi] = "Lần nữa.".into();
        r.push(again);
    });
    let list = problems(d);
    assert_problem(&list, "guide.csv", Some(4), "part", "unknown part \"whom\"");
    assert_problem(
        &list,
        "guide.csv",
        Some(6),
        "text::en",
        "English text is missing",
    );
    assert_problem(&list, "guide.csv", Some(7), "text::vi", "NFC");
    assert_problem(
        &list,
        "guide.csv",
        Some(9),
        "part",
        "already written in row 2",
    );

    // Too few steps, nobody who may file, no fees: each said once for the sheet.
    let (_, dir) = sheets_with_guide();
    let d = dir.path();
    edit(d, "guide", |r| {
        let part = col(r, "part");
        r.retain(|x| !matches!(x[part].as_str(), "who" | "fees"));
        r.pop(); // the last step
    });
    let list = problems(d);
    let whole = |words: &str| {
        assert!(
            list.iter()
                .any(|p| p.sheet == "guide.csv" && p.row.is_none() && p.message.contains(words)),
            "no sheet-wide problem saying {words:?}: {list:?}"
        )
    };
    whole("not 2");
    whole("who may file in 1 to 20 rows with part who, not 0");
    whole("no fees row");
    assert_eq!(
        list.iter().filter(|p| p.sheet != "guide.csv").count(),
        0,
        "{list:?}"
    );

    // An unknown column of the guide sheet.
    let (_, dir) = sheets_with_guide();
    edit(dir.path(), "guide", |r| r[0][1] = "words::vi".into());
    assert_problem(
        &problems(dir.path()),
        "guide.csv",
        Some(1),
        "words::vi",
        "unknown column",
    );
}
