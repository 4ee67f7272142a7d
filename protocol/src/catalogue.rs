//! The procedure catalogue: procedures as data (embedded JSON), parsed once and looked up by id and version.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::ProtocolError;

/// The embedded procedure definitions, one JSON file per procedure version.
const SOURCES: &[(&str, &str)] = &[(
    "marital-status-certificate.v1.json",
    include_str!("../catalogue/marital-status-certificate.v1.json"),
)];

/// Which procedure, and which version of its definition, a dossier follows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureRef {
    /// Stable procedure id, e.g. `marital-status-certificate`.
    pub id: String,
    /// Definition version.
    pub version: u32,
}

/// A label in Vietnamese and English, plus any further languages by BCP 47 tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// Vietnamese (NFC, full diacritics).
    pub vi: String,
    /// English.
    pub en: String,
    /// Further languages, e.g. `{"cmo": "…"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub more: BTreeMap<String, String>,
}

/// One procedure version: its form fields, grouped, and the photos of papers it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureDef {
    /// Stable id.
    pub id: String,
    /// Definition version.
    pub version: u32,
    /// Procedure name.
    pub title: Text,
    /// Authority that decides.
    pub authority: Text,
    /// Legal time limit in working days.
    pub time_limit_working_days: u32,
    /// Field groups, in form order.
    pub groups: Vec<FieldGroup>,
    /// Photo roles.
    pub documents: Vec<DocumentDef>,
}

/// A titled group of fields (a section of the form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldGroup {
    /// Group id.
    pub id: String,
    /// Section title.
    pub title: Text,
    /// Fields in form order.
    pub fields: Vec<FieldDef>,
}

/// One form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// Dotted key, e.g. `subject.full_name`.
    pub key: String,
    /// What kind of value it holds (drives format rules and the input widget).
    pub kind: FieldKind,
    /// Label.
    pub label: Text,
    /// Required at seal.
    #[serde(default)]
    pub required: bool,
    /// Help text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
    /// Allowed values of `choice` (and `sex`) fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<OptionDef>,
    /// Maximum length in characters (default 200, `long_text` 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<u32>,
    /// Required at seal when another field has a given value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<Condition>,
}

/// "Required when `field` equals `equals`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The other field's key.
    pub field: String,
    /// The value that makes this field required.
    pub equals: String,
}

/// Kinds of field values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free single-line text.
    Text,
    /// A person's name: letters, spaces, `'`, `-`, `.`.
    Name,
    /// `YYYY-MM-DD`, not in the future.
    Date,
    /// `male` or `female`.
    Sex,
    /// One of `options`.
    Choice,
    /// A 12-digit personal identification number.
    Pin,
    /// A Vietnamese phone number.
    Phone,
    /// Ethnic group name.
    Ethnicity,
    /// Nationality.
    Nationality,
    /// Free-text address.
    Address,
    /// Multi-line text.
    LongText,
    /// A checkbox whose value is `yes`.
    Confirm,
}

/// One allowed value of a choice field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionDef {
    /// Stored value.
    pub value: String,
    /// Label.
    pub label: Text,
}

/// A photo role: a paper to photograph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentDef {
    /// Role id stored in [`crate::dossier::AttachmentRef::role`].
    pub role: String,
    /// Label.
    pub label: Text,
    /// Required at seal.
    pub required: bool,
}

impl ProcedureDef {
    /// This definition's reference.
    pub fn reference(&self) -> ProcedureRef {
        ProcedureRef {
            id: self.id.clone(),
            version: self.version,
        }
    }

    /// All fields in form order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.groups.iter().flat_map(|g| g.fields.iter())
    }

    /// The field with `key`.
    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields().find(|f| f.key == key)
    }

    /// Checks internal consistency: unique keys and roles, options only where they belong and present where
    /// needed, conditions naming existing fields and values, all text NFC with no empty labels.
    pub fn check(&self) -> Result<(), ProtocolError> {
        let err = |m: String| {
            Err(ProtocolError::Catalogue(format!(
                "{} v{}: {m}",
                self.id, self.version
            )))
        };
        let mut keys = BTreeSet::new();
        for f in self.fields() {
            if !keys.insert(f.key.as_str()) {
                return err(format!("duplicate field key {}", f.key));
            }
            let needs_options = matches!(f.kind, FieldKind::Choice | FieldKind::Sex);
            if needs_options == f.options.is_empty() {
                return err(format!(
                    "field {}: options only and always on choice/sex fields",
                    f.key
                ));
            }
            if f.kind == FieldKind::Sex {
                let values: Vec<&str> = f.options.iter().map(|o| o.value.as_str()).collect();
                if values != ["male", "female"] {
                    return err(format!("field {}: sex options must be male, female", f.key));
                }
            }
            if let Some(c) = &f.required_if {
                match self.field(&c.field) {
                    Some(other)
                        if other.kind == FieldKind::Choice || other.kind == FieldKind::Sex =>
                    {
                        if !other.options.iter().any(|o| o.value == c.equals) {
                            return err(format!(
                                "field {}: condition value {} is no option",
                                f.key, c.equals
                            ));
                        }
                    }
                    Some(_) => {}
                    None => {
                        return err(format!(
                            "field {}: condition names unknown field {}",
                            f.key, c.field
                        ))
                    }
                }
            }
        }
        let mut roles = BTreeSet::new();
        for d in &self.documents {
            if !roles.insert(d.role.as_str()) {
                return err(format!("duplicate document role {}", d.role));
            }
        }
        let mut texts: Vec<&Text> = vec![&self.title, &self.authority];
        for g in &self.groups {
            texts.push(&g.title);
            for f in &g.fields {
                texts.push(&f.label);
                texts.extend(f.help.iter());
                texts.extend(f.options.iter().map(|o| &o.label));
            }
        }
        texts.extend(self.documents.iter().map(|d| &d.label));
        for t in texts {
            for s in [&t.vi, &t.en].into_iter().chain(t.more.values()) {
                if s.trim().is_empty() || s.nfc().collect::<String>() != *s {
                    return err(format!("label {s:?} is empty or not NFC"));
                }
            }
        }
        Ok(())
    }
}

/// Parses and checks one catalogue JSON document.
pub fn parse_procedure(json: &str) -> Result<ProcedureDef, ProtocolError> {
    let def: ProcedureDef =
        serde_json::from_str(json).map_err(|e| ProtocolError::Catalogue(e.to_string()))?;
    def.check()?;
    Ok(def)
}

/// Every built-in procedure definition, parsed once.
///
/// The embedded files are checked by this crate's tests, so a defect is a build defect; should one slip
/// through anyway, the broken definition is left out rather than taking the hub down.
pub fn catalogue() -> &'static [ProcedureDef] {
    static CATALOGUE: OnceLock<Vec<ProcedureDef>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        SOURCES
            .iter()
            .filter_map(|(_, json)| parse_procedure(json).ok())
            .collect()
    })
}

/// The built-in definition `r` refers to.
pub fn find_procedure(r: &ProcedureRef) -> Option<&'static ProcedureDef> {
    catalogue()
        .iter()
        .find(|d| d.id == r.id && d.version == r.version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marital() -> &'static ProcedureDef {
        find_procedure(&ProcedureRef {
            id: "marital-status-certificate".into(),
            version: 1,
        })
        .unwrap()
    }

    #[test]
    fn every_embedded_source_parses_and_checks() {
        for (name, json) in SOURCES {
            let def = parse_procedure(json).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(*name, format!("{}.v{}.json", def.id, def.version));
        }
        assert_eq!(catalogue().len(), SOURCES.len());
    }

    #[test]
    fn marital_status_procedure_has_the_form_fields() {
        let d = marital();
        assert_eq!(d.time_limit_working_days, 3);
        for key in [
            "addressee.commune",
            "requester.full_name",
            "requester.residence",
            "requester.id_type",
            "requester.pin",
            "requester.passport_number",
            "requester.id_issuer",
            "requester.id_issue_date",
            "requester.relationship",
            "requester.relationship_other",
            "subject.full_name",
            "subject.date_of_birth",
            "subject.sex",
            "subject.ethnicity",
            "subject.nationality",
            "subject.residence",
            "subject.id_type",
            "subject.pin",
            "subject.passport_number",
            "period.from",
            "period.to",
            "period.place",
            "subject.marital_status",
            "request.purpose",
            "declaration.confirmed",
        ] {
            assert!(d.field(key).is_some(), "missing {key}");
        }
        let status = d.field("subject.marital_status").unwrap();
        let values: Vec<&str> = status.options.iter().map(|o| o.value.as_str()).collect();
        assert_eq!(values, ["never_married", "married", "divorced", "widowed"]);
        let id_doc = d
            .documents
            .iter()
            .find(|x| x.role == "id_document")
            .unwrap();
        assert!(id_doc.required);
        assert_eq!(id_doc.label.vi, "Giấy tờ tùy thân");
        assert_eq!(id_doc.label.en, "Identity document");
        for role in [
            "previous_certificate",
            "authorisation_letter",
            "divorce_judgment",
        ] {
            assert!(
                !d.documents
                    .iter()
                    .find(|x| x.role == role)
                    .unwrap()
                    .required
            );
        }
        assert_eq!(
            d.field("declaration.confirmed").unwrap().kind,
            FieldKind::Confirm
        );
    }

    #[test]
    fn vietnamese_labels_are_nfc_and_accented() {
        let d = marital();
        assert_eq!(d.title.vi, "Cấp Giấy xác nhận tình trạng hôn nhân");
        // A decomposed spelling would differ byte-wise from the NFC one.
        let decomposed: String = d.title.vi.nfd().collect();
        assert_ne!(decomposed, d.title.vi);
        assert_eq!(d.field("subject.sex").unwrap().options[1].label.vi, "Nữ");
    }

    #[test]
    fn check_rejects_defects() {
        let mut d = marital().clone();
        let dup = d.groups[0].fields[0].clone();
        d.groups[0].fields.push(dup);
        assert!(matches!(d.check(), Err(ProtocolError::Catalogue(_))));
        let mut d = marital().clone();
        d.groups[0].fields[0].label.vi = "Ủy ban".nfd().collect();
        assert!(d.check().is_err());
        let mut d = marital().clone();
        let f = d
            .groups
            .iter_mut()
            .flat_map(|g| g.fields.iter_mut())
            .find(|f| f.key == "subject.pin")
            .unwrap();
        f.required_if = Some(Condition {
            field: "subject.id_type".into(),
            equals: "nope".into(),
        });
        assert!(d.check().is_err());
        assert!(parse_procedure(r#"{"id":"x"}"#).is_err());
    }

    #[test]
    fn catalogue_serialises_to_json_and_back() {
        let json = serde_json::to_string(catalogue()).unwrap();
        let back: Vec<ProcedureDef> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, catalogue());
        assert!(find_procedure(&ProcedureRef {
            id: "marital-status-certificate".into(),
            version: 2
        })
        .is_none());
    }
}
