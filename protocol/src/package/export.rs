//! Export mappings of a procedure package (docs/protocol.md §13, "Export mappings"): for each downstream
//! system, the official items of its form in the form's order and where each value comes from in a
//! captured dossier. The office writes one row per dossier; an export of a system spans dossiers of
//! several versions of the procedure, headed by the newest version's items and aligned by item name.
//!
//! In JSON a [`Source`] is a string for the values that name no field (`"receipt_code"`), otherwise an
//! object with one member naming the way of writing (`{"field": "child.full_name"}`,
//! `{"first_of": [...]}`).

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalogue::{FieldKind, ProcedureDef, Text};

/// Where an export item's (or a printed part's) value comes from, and how it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Source {
    /// The receipt code printed on the villager's receipt.
    ReceiptCode,
    /// The dossier's id in the kit.
    DossierId,
    /// The day the office received the dossier (Vietnam time), `dd/mm/yyyy`.
    ReceivedOn,
    /// A captured field (after derivations), as captured.
    Field(String),
    /// A `choice` or `sex` field, as its Vietnamese option label (the raw value when no option has it).
    Choice(String),
    /// A `commune` field: the unit's label "Xã …, Tỉnh …" as named on the day the office received the
    /// dossier (a code the hub does not know is given as it is).
    Commune(String),
    /// A `date` or `year_or_date` field in figures, `dd/mm/yyyy` (a year alone stays `yyyy`).
    Date(String),
    /// A `date` field in Vietnamese words ("Ngày hai mươi mốt, tháng tư, năm hai nghìn …").
    DateWords(String),
    /// A field in capitals (diacritics kept).
    Upper(String),
    /// "detail, commune label": a free-text field and a `commune` field, the empty ones left out.
    Address {
        /// The village/house (free text) field.
        detail: String,
        /// The `commune` field, written as [`Source::Commune`].
        commune: String,
    },
    /// The first of these that has a value (empty when none has).
    FirstOf(Vec<Source>),
    /// Fixed words before a value; empty when the value is empty.
    Prefixed {
        /// The words, e.g. "Công an ".
        prefix: String,
        /// The value after them.
        value: Box<Source>,
    },
    /// A result number of this kind registered by the office (a `kind` of the package's `results`);
    /// empty until the dossier is registered.
    ResultNumber(String),
    /// An item of the form the kit does not capture: always empty (left for the officer).
    NotCaptured,
}

/// One item (column) of a downstream system's form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportItem {
    /// The item's name as printed on the form (`vi` is the header cell; unique within the system).
    pub name: Text,
    /// Where its value comes from.
    pub value: Source,
}

/// A downstream system and the form its data comes in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSystem {
    /// Stable id, `[a-z0-9_-]{1,40}`, e.g. `birth_declaration`, `ct01` (the same id in every version of
    /// the procedure that feeds the system).
    pub id: String,
    /// The form's name.
    pub form: Text,
    /// The receiving software.
    pub target: Text,
    /// The columns in order (the technical ones — receipt code, dossier id, received on — first).
    pub items: Vec<ExportItem>,
    /// Only the dossiers for which this holds go to the system (e.g. the funeral benefit's software only
    /// when a benefit was asked for); absent: every dossier of the procedure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<crate::catalogue::Condition>,
}

impl ExportSystem {
    /// The header row: each item's Vietnamese name.
    pub fn header(&self) -> Vec<&str> {
        self.items.iter().map(|i| i.name.vi.as_str()).collect()
    }
}

/// One error in a package's export mappings or print layouts: which system or layout, which item (or
/// line) and where inside it, so an authoring tool can point at its sheet, row and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingError {
    /// `exports` or `layouts`.
    pub part: &'static str,
    /// Index of the system or layout in its list.
    pub index: usize,
    /// The system's id, or the layout's `form@from`.
    pub name: String,
    /// Index of the item (exports) or line (layouts) the error is in; `None` for the whole.
    pub item: Option<usize>,
    /// Where inside, e.g. `value.first_of[1]`, `parts[2].value`, `signatures[0].name`; empty for the
    /// whole system/layout or item.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}] {}", self.part, self.index, self.name)?;
        if let Some(i) = self.item {
            let what = if self.part == "exports" {
                "items"
            } else {
                "lines"
            };
            write!(f, ", {what}[{i}]")?;
        }
        if !self.at.is_empty() {
            write!(f, " {}", self.at)?;
        }
        write!(f, ": {}", self.message)
    }
}

pub(crate) fn is_key(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The kind of field `key`, or why it cannot be used.
pub(crate) fn kind_of(def: &ProcedureDef, key: &str) -> Result<FieldKind, String> {
    def.field(key)
        .map(|f| f.kind)
        .ok_or_else(|| format!("no field {key} in {} v{}", def.id, def.version))
}

pub(crate) fn want(
    def: &ProcedureDef,
    key: &str,
    kinds: &[FieldKind],
    what: &str,
) -> Result<(), String> {
    let k = kind_of(def, key)?;
    if kinds.contains(&k) {
        Ok(())
    } else {
        Err(format!("{key} is {k:?}, not {what}"))
    }
}

/// Whether `src` names fields of `def` with a fitting kind and result kinds of the package. `Err((at,
/// message))`, `at` relative to the source.
pub fn source_fits(
    src: &Source,
    def: &ProcedureDef,
    results: &BTreeSet<&str>,
) -> Result<(), (String, String)> {
    use FieldKind as K;
    let here = |r: Result<(), String>| r.map_err(|m| (String::new(), m));
    match src {
        Source::ReceiptCode | Source::DossierId | Source::ReceivedOn | Source::NotCaptured => {
            Ok(())
        }
        Source::Field(k) | Source::Upper(k) => here(kind_of(def, k).map(|_| ())),
        Source::Choice(k) => here(want(def, k, &[K::Choice, K::Sex], "a choice")),
        Source::Commune(k) => here(want(def, k, &[K::Commune], "a commune")),
        Source::Date(k) => here(want(def, k, &[K::Date, K::YearOrDate], "a date")),
        Source::DateWords(k) => here(want(def, k, &[K::Date], "a full date")),
        Source::Address { detail, commune } => {
            here(kind_of(def, detail).map(|_| ()))?;
            here(want(def, commune, &[K::Commune], "a commune"))
        }
        Source::FirstOf(list) => {
            if list.is_empty() {
                return here(Err("first_of lists at least one value".into()));
            }
            for (i, s) in list.iter().enumerate() {
                source_fits(s, def, results)
                    .map_err(|(at, m)| (format!("first_of[{i}]{}", dot(&at)), m))?;
            }
            Ok(())
        }
        Source::Prefixed { prefix, value } => {
            if prefix.is_empty() {
                return here(Err("prefixed needs words".into()));
            }
            source_fits(value, def, results)
                .map_err(|(at, m)| (format!("prefixed.value{}", dot(&at)), m))
        }
        Source::ResultNumber(kind) => {
            if results.contains(kind.as_str()) {
                Ok(())
            } else {
                here(Err(format!(
                    "result kind {kind:?} is not among the package's results"
                )))
            }
        }
    }
}

/// `.at` when `at` is not empty.
pub(crate) fn dot(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!(".{at}")
    }
}

/// Every error in the export mappings of a package: unique well-formed system ids, at least one item,
/// unique non-empty header names within a system, and every value naming a field of `def` of a fitting
/// kind (or a result kind of the package).
pub fn errors(
    systems: &[ExportSystem],
    def: &ProcedureDef,
    results: &BTreeSet<&str>,
) -> Vec<MappingError> {
    let mut out = Vec::new();
    let mut ids = BTreeSet::new();
    for (index, sys) in systems.iter().enumerate() {
        let mut err = |item: Option<usize>, at: String, message: String| {
            out.push(MappingError {
                part: "exports",
                index,
                name: sys.id.clone(),
                item,
                at,
                message,
            })
        };
        if !is_key(&sys.id, 40) {
            err(
                None,
                "id".into(),
                "the id is 1 to 40 of a-z, 0-9, - and _".into(),
            );
        } else if !ids.insert(sys.id.as_str()) {
            err(None, "id".into(), "another system has this id".into());
        }
        if let Some(c) = &sys.when {
            if let Err(m) = def.check_condition(c) {
                err(None, "when".into(), m);
            }
        }
        if sys.form.vi.trim().is_empty() || sys.target.vi.trim().is_empty() {
            err(
                None,
                "form".into(),
                "the form and the target system are named".into(),
            );
        }
        if sys.items.is_empty() {
            err(
                None,
                "items".into(),
                "a system has at least one item".into(),
            );
        }
        let mut names = BTreeSet::new();
        for (i, it) in sys.items.iter().enumerate() {
            if it.name.vi.trim().is_empty() || it.name.en.trim().is_empty() {
                err(
                    Some(i),
                    "name".into(),
                    "the item is named in vi and en".into(),
                );
            } else if !unicode_normalization::is_nfc(&it.name.vi) {
                err(Some(i), "name".into(), "the name is not in NFC".into());
            } else if !names.insert(it.name.vi.as_str()) {
                err(
                    Some(i),
                    "name".into(),
                    format!("the header {:?} is repeated", it.name.vi),
                );
            }
            if let Err((at, m)) = source_fits(&it.value, def, results) {
                err(Some(i), format!("value{}", dot(&at)), m);
            }
        }
    }
    out
}

/// Checks every mapping against the procedure; the first error as text.
pub(crate) fn check_all(
    systems: &[ExportSystem],
    def: &ProcedureDef,
    results: &BTreeSet<&str>,
) -> Result<(), String> {
    match errors(systems, def, results).first() {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
