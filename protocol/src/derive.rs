//! "Capture once, derive the rest": fills empty fields from the catalogue's derivation rules.
//!
//! A field with `derive` rules that the person left empty takes its value from the first rule whose
//! condition holds and whose source field has a value (after that source's own derivation). A value the
//! person typed always wins. The hub applies this at seal, so the sealed dossier carries every value each
//! official form needs; the web client shows the same derived values for confirmation before that.

use std::collections::BTreeMap;

use crate::catalogue::{ProcedureDef, Transform};

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
                Some(match d.transform {
                    None => src.clone(),
                    Some(Transform::Uppercase) => src.to_uppercase(),
                })
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

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
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
