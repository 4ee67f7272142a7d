//! The JSON forms of export mappings and print layouts, and the rules `check_form` applies to them.

use std::collections::BTreeSet;

use super::*;
use crate::catalogue::builtin_packages;
use crate::package::layout::{self, Line, Part, PrintLayout, Signature, Val};
use crate::package::ProcedurePackage;

fn pkg(id: &str, version: u32) -> ProcedurePackage {
    builtin_packages()
        .iter()
        .find(|p| p.procedure.id == id && p.procedure.version == version)
        .unwrap_or_else(|| panic!("{id} v{version} is built in"))
        .clone()
}

fn kinds(p: &ProcedurePackage) -> BTreeSet<&str> {
    p.results.iter().map(|r| r.kind.as_str()).collect()
}

fn export_errors(p: &ProcedurePackage) -> Vec<MappingError> {
    errors(&p.exports, &p.procedure, &kinds(p))
}

fn layout_errors(p: &ProcedurePackage) -> Vec<MappingError> {
    layout::errors(&p.layouts, &p.procedure, &kinds(p))
}

#[test]
fn sources_and_values_read_and_write_their_json_forms() {
    let s: Source = serde_json::from_str(r#"{"field": "child.full_name"}"#).unwrap();
    assert_eq!(s, Source::Field("child.full_name".into()));
    let s: Source = serde_json::from_str(r#""receipt_code""#).unwrap();
    assert_eq!(s, Source::ReceiptCode);
    let json = r#"{"first_of":[{"field":"requester.pin"},{"prefixed":{"prefix":"Công an ","value":{"address":{"detail":"a","commune":"b"}}}},"not_captured",{"result_number":"pin"}]}"#;
    let s: Source = serde_json::from_str(json).unwrap();
    assert_eq!(serde_json::to_string(&s).unwrap(), json);
    // A layout value: the paper-only forms by their tag, any other as a source.
    let v: Val = serde_json::from_str(r#"{"date": "child.date_of_birth"}"#).unwrap();
    assert_eq!(v, Val::Source(Source::Date("child.date_of_birth".into())));
    let v: Val =
        serde_json::from_str(r#"{"authority": {"prefix": "Công an ", "commune": "x"}}"#).unwrap();
    assert!(matches!(v, Val::Authority { .. }));
    let v: Val = serde_json::from_str(r#""dossier_id""#).unwrap();
    assert_eq!(serde_json::to_string(&v).unwrap(), r#""dossier_id""#);
    let v: Val =
        serde_json::from_str(r#"{"words":{"field":"a","words":{"self":"Bản thân"}}}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&v).unwrap(),
        r#"{"words":{"field":"a","words":{"self":"Bản thân"}}}"#
    );
    // Unknown forms and members are refused.
    for bad in [
        r#"{"feild": "x"}"#,
        r#""receipt""#,
        r#"{"address": {"detail": "a", "commune": "b", "x": 1}}"#,
        r#"{"field": "a", "date": "b"}"#,
    ] {
        assert!(serde_json::from_str::<Source>(bad).is_err(), "{bad}");
    }
    assert!(serde_json::from_str::<Val>(r#"{"authority": {"prefix": "x"}}"#).is_err());
    assert!(serde_json::from_str::<Part>(r#"{"value": "dossier_id", "opt": true}"#).is_err());
    assert!(serde_json::from_str::<ExportItem>(
        r#"{"name": {"vi": "a", "en": "a"}, "value": "dossier_id", "format": "x"}"#
    )
    .is_err());
    let p: Part = serde_json::from_str(r#"{"value": "not_captured"}"#).unwrap();
    assert_eq!((p.label.as_str(), p.optional), ("", false));
}

#[test]
fn every_builtin_mapping_and_layout_names_fields_of_its_procedure() {
    for p in builtin_packages() {
        assert_eq!(export_errors(p), [], "{}", p.procedure.id);
        assert_eq!(layout_errors(p), [], "{}", p.procedure.id);
    }
    // The two procedures compiled in before packages: every system and form in both versions.
    for v in [1, 2] {
        let ids: Vec<_> = pkg("birth-residence-insurance", v)
            .exports
            .iter()
            .map(|s| s.id.clone())
            .collect();
        assert_eq!(ids, ["birth_declaration", "ct01", "tk1_ts"]);
        let m = pkg("marital-status-certificate", v);
        assert_eq!(m.exports[0].id, "marital_status");
        assert_eq!(m.layouts[0].form, "marital");
        assert_eq!(
            m.results
                .iter()
                .map(|r| r.kind.as_str())
                .collect::<Vec<_>>(),
            ["marital_status_certificate"]
        );
    }
    let b = pkg("birth-residence-insurance", 2);
    let ct01: Vec<&str> = b
        .layouts
        .iter()
        .filter(|l| l.form == "ct01")
        .map(|l| l.from.as_str())
        .collect();
    assert_eq!(ct01, ["2024-01-01", "2025-07-01", "2026-07-01"]);
}

#[test]
fn an_export_value_naming_a_missing_field_or_a_wrong_kind_is_placed() {
    let mut p = pkg("birth-residence-insurance", 2);
    let ct = p.exports.iter().position(|s| s.id == "ct01").unwrap();
    p.exports[ct].items[4].value = Source::Field("child.nmae".into());
    p.exports[ct].items[5].value = Source::Choice("child.full_name".into());
    p.exports[ct].items[6].value = Source::FirstOf(vec![
        Source::Field("requester.pin".into()),
        Source::DateWords("mother.date_of_birth".into()),
    ]);
    p.exports[ct].items[7].value = Source::ResultNumber("pim".into());
    let e = export_errors(&p);
    assert_eq!(e.len(), 4, "{e:?}");
    assert_eq!(
        (e[0].part, e[0].index, e[0].name.as_str(), e[0].item),
        ("exports", ct, "ct01", Some(4))
    );
    assert!(e[0].message.contains("no field child.nmae"), "{}", e[0]);
    assert!(
        e[0].to_string()
            .starts_with("exports[1] ct01, items[4] value: no field"),
        "{}",
        e[0]
    );
    assert!(e[1].message.contains("not a choice"), "{}", e[1]);
    assert_eq!(e[2].at, "value.first_of[1]");
    assert!(e[2].message.contains("not a full date"), "{}", e[2]);
    assert!(e[3].message.contains("\"pim\""), "{}", e[3]);
    // The package refuses to be signed or parsed with it, naming the place.
    let msg = p.check_form().unwrap_err().to_string();
    assert!(msg.contains("exports[1] ct01, items[4]"), "{msg}");
}

#[test]
fn system_ids_and_headers_are_unique_and_named() {
    let mut p = pkg("marital-status-certificate", 2);
    let twin = p.exports[0].clone();
    p.exports.push(twin);
    let e = export_errors(&p);
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].index, e[0].at.as_str()), (1, "id"));

    let mut p = pkg("marital-status-certificate", 2);
    p.exports[0].items[5].name = p.exports[0].items[3].name.clone();
    p.exports[0].items[6].name.en = String::new();
    p.exports[0].items[7].name.vi = "Tên khác".into();
    // NFD: "a" + a combining grave accent, not NFC.
    p.exports[0].items[8].name.vi = "Nga\u{0300}y".into();
    p.exports[0].id = "Marital Status".into();
    let e = export_errors(&p);
    let got: Vec<(Option<usize>, &str)> = e.iter().map(|x| (x.item, x.at.as_str())).collect();
    assert_eq!(
        got,
        [
            (None, "id"),
            (Some(5), "name"),
            (Some(6), "name"),
            (Some(8), "name")
        ],
        "{e:?}"
    );
    assert!(e[1].message.contains("repeated"));
    assert!(e[3].message.contains("NFC"));
}

#[test]
fn layout_rules_day_title_oath_signatures_and_values() {
    let base = pkg("marital-status-certificate", 2);
    let with = |f: &dyn Fn(&mut PrintLayout)| {
        let mut p = base.clone();
        f(&mut p.layouts[0]);
        layout_errors(&p)
    };
    let one = |e: Vec<MappingError>, at: &str| {
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].part, "layouts");
        assert!(e[0].name.contains('@'), "{:?}", e[0]);
        assert!(e[0].at.starts_with(at), "{:?} at {at}", e[0]);
        e[0].clone()
    };
    one(with(&|l| l.from = "2024-13-01".into()), "from");
    one(with(&|l| l.from = "06/06/2024".into()), "from");
    one(with(&|l| l.title = " ".into()), "title");
    one(with(&|l| l.oath = String::new()), "oath");
    one(with(&|l| l.signatures.clear()), "signatures");
    one(with(&|l| l.form = "Marital".into()), "form");
    // A value of a line: the line index and the part.
    let e = one(
        with(&|l| {
            l.lines[1] = Line::Item {
                no: String::new(),
                label: "Nơi cư trú".into(),
                parts: vec![
                    Part {
                        label: String::new(),
                        value: Val::Source(Source::Field("requester.residence".into())),
                        optional: false,
                    },
                    Part {
                        label: "x".into(),
                        value: Val::YesNoCount("requester.residence".into()),
                        optional: false,
                    },
                ],
            }
        }),
        "parts[1].value",
    );
    assert_eq!(e.item, Some(1));
    assert!(e.message.contains("not a number"), "{}", e.message);
    // Words for a value the choice does not have; an `unless` field that does not exist.
    one(
        with(&|l| {
            l.place = Val::Words {
                field: "requester.relationship".into(),
                words: [("cousin".to_string(), "Anh họ".to_string())].into(),
                unless: None,
            }
        }),
        "place.words",
    );
    one(
        with(&|l| {
            l.place = Val::Words {
                field: "requester.relationship".into(),
                words: Default::default(),
                unless: Some("requester.relationship_typed".into()),
            }
        }),
        "place.words.unless",
    );
    // A signature's name; a second layout of the same form and day.
    one(
        with(&|l| {
            l.signatures[0] = Signature {
                name: Val::Source(Source::Commune("requester.full_name".into())),
                ..l.signatures[0].clone()
            }
        }),
        "signatures[0].name",
    );
    let mut p = base.clone();
    p.layouts.push(p.layouts[0].clone());
    let e = layout_errors(&p);
    assert_eq!((e.len(), e[0].index, e[0].at.as_str()), (1, 1, "from"));
    // An authority over a free-text field (catalogue v1's addressee): refused.
    let mut p = pkg("marital-status-certificate", 1);
    p.layouts[0].addressee = Some(Val::Authority {
        prefix: "Ủy ban nhân dân ".into(),
        commune: "addressee.commune".into(),
    });
    let e = layout_errors(&p);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("not a commune"));
    assert!(p
        .check_form()
        .unwrap_err()
        .to_string()
        .contains("layouts[0] marital@"));
}

#[test]
fn the_form_version_in_force_is_picked_per_form() {
    let p = pkg("birth-residence-insurance", 1);
    let pick = |on: &str| -> Vec<String> {
        layout::for_day(&p.layouts, on)
            .iter()
            .map(|l| format!("{}@{}", l.form, l.from))
            .collect()
    };
    assert_eq!(
        pick("2025-06-30"),
        ["birth@2024-06-06", "ct01@2024-01-01", "tk1ts@2023-04-01"]
    );
    assert_eq!(pick("2025-07-01")[1], "ct01@2025-07-01");
    assert_eq!(pick("2030-01-01")[1], "ct01@2026-07-01");
    assert_eq!(pick("")[1], "ct01@2024-01-01", "no day: the first version");
    assert_eq!(
        pick("2020-01-01")[0],
        "birth@2024-06-06",
        "before every day: the first"
    );
}
