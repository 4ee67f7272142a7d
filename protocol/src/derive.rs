//! "Capture once, derive the rest": fills empty fields from the catalogue's derivation rules.
//!
//! A field with `derive` rules that the person left empty takes its value from the first rule whose
//! condition holds and whose source field has a value (after that source's own derivation). A value the
//! person typed always wins. The hub applies this at seal, so the sealed dossier carries every value each
//! official form needs; the web client shows the same derived values for confirmation before that.

use std::collections::BTreeMap;

use crate::catalogue::ProcedureDef;

/// The fields of `fields` plus every derivable empty field, and the keys that were derived.
///
/// Expects normalised fields (see [`crate::normalize_fields`]). The catalogue check forbids derivation
/// cycles, so one pass in dependency order settles every field.
pub fn derive_fields(
    def: &ProcedureDef,
    fields: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut out = fields.clone();
    let mut derived = Vec::new();
    // Repeat until nothing changes: a derived field may feed another. Bounded by the field count.
    for _ in 0..=def.fields().count() {
        let mut changed = false;
        for f in def.fields() {
            if out.contains_key(&f.key) {
                continue;
            }
            let value = f.derive.iter().find_map(|d| {
                let holds = d
                    .when
                    .as_ref()
                    .is_none_or(|c| c.holds(out.get(&c.field).map(String::as_str)));
                let src = out.get(&d.from).filter(|_| holds)?;
                match d.transform {
                    None => Some(src.clone()),
                    Some(t) => t.apply(src),
                }
            });
            if let Some(v) = value {
                out.insert(f.key.clone(), v);
                derived.push(f.key.clone());
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    (out, derived)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::{find_procedure, ProcedureRef};

    fn three_in_one() -> &'static ProcedureDef {
        find_procedure(&ProcedureRef {
            id: "birth-residence-insurance".into(),
            version: 1,
        })
        .unwrap()
    }

    pub(super) fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn requester_follows_the_chosen_parent_and_typed_values_win() {
        let def = three_in_one();
        let base = map(&[
            ("mother.full_name", "Thị Hoa"),
            ("father.full_name", "Điểu Minh"),
            ("mother.pin", "070190001234"),
            ("requester.relationship", "father"),
            ("child.full_name", "Điểu Thị Mai"),
        ]);
        let (out, derived) = derive_fields(def, &base);
        assert_eq!(out["requester.full_name"], "Điểu Minh");
        assert_eq!(out["insurance.name_capitals"], "ĐIỂU THỊ MAI");
        assert!(derived.contains(&"requester.full_name".to_string()));
        assert!(!out.contains_key("requester.pin"), "father's PIN not given");

        let mut typed = base.clone();
        typed.insert("requester.full_name".into(), "Người Khác".into());
        let (out, derived) = derive_fields(def, &typed);
        assert_eq!(out["requester.full_name"], "Người Khác");
        assert!(!derived.contains(&"requester.full_name".to_string()));
    }

    #[test]
    fn chained_derivations_settle() {
        // The card address follows the child's residence, which follows the mother's.
        let def = three_in_one();
        let (out, _) = derive_fields(def, &map(&[("mother.residence_detail", "Thôn Bù Khơn")]));
        assert_eq!(out["residence.address_detail"], "Thôn Bù Khơn");
        assert_eq!(out["insurance.card_address_detail"], "Thôn Bù Khơn");
    }

    #[test]
    fn nothing_to_derive_from_leaves_fields_empty() {
        let (out, derived) = derive_fields(three_in_one(), &BTreeMap::new());
        assert!(out.is_empty());
        assert!(derived.is_empty());
    }
}

/// Catalogue v2: "I am the person certified" and the PIN fill the rest (issue 16, enter-once).
#[cfg(test)]
mod v2_tests {
    use std::collections::BTreeMap;

    use time::macros::date;

    use crate::catalogue::{find_procedure, in_force, ProcedureRef};
    use crate::validate::{validate, Stage};

    use super::derive_fields;
    use super::tests::map;

    fn def(id: &str) -> &'static crate::ProcedureDef {
        find_procedure(&ProcedureRef {
            id: id.into(),
            version: 2,
        })
        .unwrap()
    }

    /// The catalogue's defaults, as a new draft starts (the hub's commune stands for `default_from`).
    fn defaults(d: &crate::ProcedureDef) -> BTreeMap<String, String> {
        d.fields()
            .filter_map(|f| match (&f.default, f.default_from) {
                (Some(v), _) => Some((f.key.clone(), v.clone())),
                (None, Some(_)) => Some((f.key.clone(), "25222".to_string())),
                _ => None,
            })
            .collect()
    }

    fn errors(
        d: &crate::ProcedureDef,
        typed: &[(&str, &str)],
        roles: &[&str],
    ) -> Vec<(String, String)> {
        let mut f = defaults(d);
        f.extend(map(typed));
        let (f, _) = derive_fields(d, &f);
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        validate(d, &f, &roles, date!(2026 - 12 - 06), Stage::Seal)
            .into_iter()
            .filter(|e| e.is_error())
            .map(|e| (e.field, e.code))
            .collect()
    }

    // A marital-status request by the person certified: five typed values and four taps seal.
    const MARITAL_SELF: &[(&str, &str)] = &[
        ("requester.full_name", "Nguyễn Văn An"),
        ("requester.pin", "070090001234"),
        ("requester.id_issue_date", "2022-05-10"),
        ("subject.date_of_birth", "1990-03-12"),
        ("subject.ethnicity", "Kinh"),
        ("subject.marital_status", "never_married"),
        ("request.purpose_kind", "marriage"),
        ("declaration.confirmed", "yes"),
    ];

    #[test]
    fn the_person_certified_follows_the_requester_and_the_pin_gives_the_sex() {
        let d = def("marital-status-certificate");
        let mut f = defaults(d);
        f.extend(map(MARITAL_SELF));
        let (out, derived) = derive_fields(d, &f);
        assert_eq!(out["subject.full_name"], "Nguyễn Văn An");
        assert_eq!(out["subject.pin"], "070090001234");
        assert_eq!(out["subject.id_type"], "can_cuoc");
        assert_eq!(out["subject.id_issuer"], "Bộ Công an");
        assert_eq!(out["subject.sex"], "male");
        assert!(derived.contains(&"subject.sex".to_string()));
        assert!(
            !out.contains_key("subject.residence"),
            "no residence typed, none derived"
        );
        assert_eq!(errors(d, MARITAL_SELF, &["id_document"]), vec![]);
        let typed = MARITAL_SELF
            .iter()
            .filter(|(k, _)| {
                d.field(k).is_some_and(|f| {
                    !matches!(f.kind, crate::FieldKind::Choice | crate::FieldKind::Confirm)
                })
            })
            .count();
        assert!(typed <= 8, "{typed} typed inputs");
    }

    #[test]
    fn residence_is_asked_only_without_a_pin() {
        let d = def("marital-status-certificate");
        let no_pin: Vec<(&str, &str)> = MARITAL_SELF
            .iter()
            .copied()
            .filter(|(k, _)| *k != "requester.pin")
            .chain([
                ("requester.id_type", "passport"),
                ("requester.passport_number", "C1234567"),
            ])
            .collect();
        let e = errors(d, &no_pin, &["id_document"]);
        assert!(
            e.contains(&("requester.residence".into(), "required".into())),
            "{e:?}"
        );
    }

    #[test]
    fn the_details_behind_the_status_are_required() {
        let d = def("marital-status-certificate");
        let mut married: Vec<(&str, &str)> = MARITAL_SELF.to_vec();
        married.retain(|(k, _)| *k != "subject.marital_status");
        married.push(("subject.marital_status", "married"));
        let e = errors(d, &married, &["id_document"]);
        for k in [
            "spouse.full_name",
            "marriage.cert_number",
            "marriage.cert_issuer",
            "marriage.cert_date",
        ] {
            assert!(e.contains(&(k.into(), "required".into())), "{k}: {e:?}");
        }
        let mut widowed: Vec<(&str, &str)> = MARITAL_SELF.to_vec();
        widowed.retain(|(k, _)| *k != "subject.marital_status");
        widowed.push(("subject.marital_status", "widowed"));
        let e = errors(d, &widowed, &["id_document"]);
        assert!(e.contains(&("death.record_number".into(), "required".into())));
        assert!(e.contains(&("spouse.full_name".into(), "required".into())));
        assert!(!e.iter().any(|(k, _)| k.starts_with("marriage.")));
        // A certificate issued before: its original comes back.
        let mut again: Vec<(&str, &str)> = MARITAL_SELF.to_vec();
        again.push(("previous.issued", "yes"));
        let e = errors(d, &again, &["id_document"]);
        assert!(
            e.contains(&(
                "documents.previous_certificate".into(),
                "document_missing".into()
            )),
            "{e:?}"
        );
    }

    // A 3-in-1 on the typical path: twelve typed values (the rest taps, defaults and derivations).
    const THREE_IN_ONE: &[(&str, &str)] = &[
        ("mother.full_name", "Thị Hoa"),
        ("mother.pin", "070195001234"),
        ("mother.ethnicity", "Xtiêng"),
        ("mother.residence_commune", "25222"),
        ("mother.residence_detail", "Thôn Bù Khơn"),
        ("father.full_name", "Điểu Minh"),
        ("father.pin", "070093004321"),
        ("father.ethnicity", "Xtiêng"),
        ("child.full_name", "Điểu Thị Mai"),
        ("child.date_of_birth", "2026-11-20"),
        ("child.sex", "female"),
        ("child.ethnicity_from", "mother"),
        ("child.hometown", "Bình Phước"),
        ("birth.certificate_code", "79123.GCS.00456.26"),
        ("declaration.confirmed", "yes"),
    ];

    #[test]
    fn a_three_in_one_seals_from_twelve_typed_values() {
        let d = def("birth-residence-insurance");
        let e = errors(d, THREE_IN_ONE, &["requester_id"]);
        assert_eq!(e, vec![]);
        let mut f = defaults(d);
        f.extend(map(THREE_IN_ONE));
        let (out, _) = derive_fields(d, &f);
        assert_eq!(out["mother.date_of_birth"], "1995");
        assert_eq!(out["father.date_of_birth"], "1993");
        assert_eq!(out["child.ethnicity"], "Xtiêng");
        assert_eq!(out["requester.full_name"], "Thị Hoa");
        assert_eq!(out["requester.date_of_birth"], "1995");
        assert_eq!(out["insurance.name_capitals"], "ĐIỂU THỊ MAI");
        assert_eq!(out["residence.address_detail"], "Thôn Bù Khơn");
        assert_eq!(out["child.place_of_birth_commune"], "25222");
        let typed = THREE_IN_ONE
            .iter()
            .filter(|(k, _)| {
                d.field(k).is_some_and(|f| {
                    !matches!(
                        f.kind,
                        crate::FieldKind::Choice
                            | crate::FieldKind::Confirm
                            | crate::FieldKind::Sex
                    )
                })
            })
            .count();
        assert!(typed <= 12, "{typed} typed inputs");
        // Without the electronic certificate's code, a paper certificate names the facility and is shown.
        let paper: Vec<(&str, &str)> = THREE_IN_ONE
            .iter()
            .copied()
            .filter(|(k, _)| *k != "birth.certificate_code")
            .chain([("birth.proof", "paper_certificate")])
            .collect();
        let e = errors(d, &paper, &["requester_id"]);
        assert!(
            e.contains(&("child.place_of_birth".into(), "required".into())),
            "{e:?}"
        );
        assert!(
            e.contains(&(
                "documents.birth_certificate".into(),
                "document_missing".into()
            )),
            "{e:?}"
        );
    }

    #[test]
    fn the_version_in_force_follows_the_capture_date() {
        let m = |day| in_force("marital-status-certificate", day).unwrap().version;
        assert_eq!(m(date!(2025 - 06 - 30)), 1);
        assert_eq!(m(date!(2025 - 07 - 01)), 2);
        let b = |day| in_force("birth-residence-insurance", day).unwrap().version;
        assert_eq!(b(date!(2026 - 08 - 31)), 1);
        assert_eq!(b(date!(2026 - 09 - 01)), 2);
        // Before any version's day: the first (a hub with a wrong clock still captures).
        assert_eq!(b(date!(2020 - 01 - 01)), 1);
        assert!(in_force("passport", date!(2026 - 01 - 01)).is_none());
    }
}
