//! A4 print layouts of a procedure package (docs/protocol.md §13, "Print layouts"): each official form,
//! in each of its versions, as a template of lines, parts and signature blocks. Values are written with
//! the export mappings' [`Source`] language (a commune by its name, a date `dd/mm/yyyy`, a choice by its
//! Vietnamese label) plus the few ways of writing that only paper needs ([`Val`]).
//!
//! A package carries every version of a form its dossiers may be printed on, each with the day it
//! starts (`from`); a dossier prints, per form, the latest version whose day is not after the day it
//! was declared (the first version before every version's day).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::export::{dot, is_key, kind_of, source_fits, want, MappingError, Source};
use crate::catalogue::{FieldKind, ProcedureDef};

/// How a value is written on paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Val {
    /// `prefix` + the unit's label written inside a sentence ("Ủy ban nhân dân xã Bù Gia Mập, tỉnh Đồng
    /// Nai"); empty when the field is empty; a value that is not a known unit code is given as typed.
    Authority {
        /// The authority's words before the unit, e.g. "Ủy ban nhân dân ", "Công an ".
        prefix: String,
        /// A `commune` field.
        commune: String,
    },
    /// A choice in the form's own words: the field typed in `unless` when it has a value; else the words
    /// given for the field's value; else the option's Vietnamese label (as [`Source::Choice`]).
    Words {
        /// A `choice` or `sex` field.
        field: String,
        /// Option value → the form's words for it.
        words: BTreeMap<String, String>,
        /// A field whose typed value, when given, is written instead (e.g. the relationship typed when
        /// it is "other").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unless: Option<String>,
    },
    /// "Có" when the `number` field is above zero, "Không" when it is zero, empty when not given.
    YesNoCount(String),
    /// A value written as in the exports.
    #[serde(untagged)]
    Source(Source),
}

/// A value on an item's line, with an optional sub-label before it ("số", "cấp ngày", …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    /// The sub-label; empty for the item's own value.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label: String,
    /// The value.
    pub value: Val,
    /// Left out entirely when its value is empty (details that apply to one case only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// One line of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// Words printed as they are (a lead-in, a part heading).
    Text(String),
    /// An item: its number (may be empty), its label, then its parts.
    Item {
        /// "1.", "[01]."; empty for an unnumbered item.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        no: String,
        /// The form's label.
        label: String,
        /// The values, in order.
        parts: Vec<Part>,
    },
    /// A table the form prints for the declarant to fill by hand (empty rows).
    Table {
        /// Its number, may be empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        no: String,
        /// The form's label.
        label: String,
        /// Column headings.
        columns: Vec<String>,
        /// How many empty rows (1 to 20).
        rows: usize,
    },
}

/// A signature block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// "Người yêu cầu", "Ý KIẾN CỦA CHỦ HỘ", …
    pub title: String,
    /// "(Ký, ghi rõ họ, chữ đệm, tên)".
    pub note: String,
    /// Lines printed in the block above the signature space ("Họ và tên", "Số định danh cá nhân").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<Part>,
    /// The name written under the signature.
    pub name: Val,
    /// The note printed instead of `note` when the declaration was read aloud and thumbprinted (the
    /// dossier's `declaration.method` is `read_aloud`, TT 04/2020 art. 25.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_note: Option<String>,
}

/// One version of one official form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrintLayout {
    /// The form, `[a-z0-9_-]{1,40}`: `birth`, `ct01`, … (one printed page group per form).
    pub form: String,
    /// The first day this version of the form is used, `YYYY-MM-DD`.
    pub from: String,
    /// Printed in the top corner ("Mẫu CT01 ban hành kèm theo …"); empty when the form has none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub form_code: String,
    /// The form's title.
    pub title: String,
    /// The addressee after "Kính gửi:"; absent when the form has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addressee: Option<Val>,
    /// The lines in the form's order.
    pub lines: Vec<Line>,
    /// The sworn statement.
    pub oath: String,
    /// Words before the place on the date line ("Làm tại: "); empty when the line starts with the place.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub place_prefix: String,
    /// The place of the date line: the commune's own name is taken from this value.
    pub place: Val,
    /// The signature blocks, at least one.
    pub signatures: Vec<Signature>,
    /// Where the layout comes from (docs/domain.md sources); served with the form, not printed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// The form is printed only for a dossier for which this holds (e.g. CT01 only when the permanent
    /// residence is to be deregistered); absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<crate::catalogue::Condition>,
}

/// Whether `v` names fields of `def` with a fitting kind. `Err((at, message))`, `at` relative to `v`.
pub fn val_fits(
    v: &Val,
    def: &ProcedureDef,
    results: &BTreeSet<&str>,
) -> Result<(), (String, String)> {
    use FieldKind as K;
    let here = |r: Result<(), String>| r.map_err(|m| (String::new(), m));
    match v {
        Val::Source(s) => source_fits(s, def, results),
        Val::Authority { prefix, commune } => {
            if prefix.is_empty() {
                return here(Err("authority needs its words".into()));
            }
            here(want(def, commune, &[K::Commune], "a commune"))
        }
        Val::Words {
            field,
            words,
            unless,
        } => {
            here(want(def, field, &[K::Choice, K::Sex], "a choice"))?;
            let f = def
                .field(field)
                .map(|f| f.options.as_slice())
                .unwrap_or(&[]);
            for value in words.keys() {
                if def.field(field).map(|d| d.kind) == Some(K::Choice)
                    && !f.iter().any(|o| &o.value == value)
                {
                    return Err((
                        "words.words".into(),
                        format!("{value:?} is not an option of {field}"),
                    ));
                }
            }
            if let Some(u) = unless {
                kind_of(def, u).map_err(|m| ("words.unless".to_string(), m))?;
            }
            Ok(())
        }
        Val::YesNoCount(k) => here(want(def, k, &[K::Number], "a number")),
    }
}

/// Every error in the print layouts of a package: a well-formed form key and `from` day
/// (`YYYY-MM-DD`), one layout per form and day, a title, an oath and at least one signature, and every
/// value naming a field of `def` with a fitting kind (or a result kind of the package).
pub fn errors(
    layouts: &[PrintLayout],
    def: &ProcedureDef,
    results: &BTreeSet<&str>,
) -> Vec<MappingError> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, l) in layouts.iter().enumerate() {
        let mut err = |item: Option<usize>, at: String, message: String| {
            out.push(MappingError {
                part: "layouts",
                index,
                name: format!("{}@{}", l.form, l.from),
                item,
                at,
                message,
            })
        };
        let mut val = |item: Option<usize>, at: &str, v: &Val| {
            if let Err((inner, m)) = val_fits(v, def, results) {
                err(item, format!("{at}{}", dot(&inner)), m);
            }
        };
        if let Some(a) = &l.addressee {
            val(None, "addressee", a);
        }
        val(None, "place", &l.place);
        for (i, line) in l.lines.iter().enumerate() {
            if let Line::Item { parts, .. } = line {
                for (j, p) in parts.iter().enumerate() {
                    val(Some(i), &format!("parts[{j}].value"), &p.value);
                }
            }
        }
        for (i, s) in l.signatures.iter().enumerate() {
            val(None, &format!("signatures[{i}].name"), &s.name);
            for (j, p) in s.lines.iter().enumerate() {
                val(None, &format!("signatures[{i}].lines[{j}].value"), &p.value);
            }
        }
        let mut err = |item: Option<usize>, at: &str, message: &str| {
            out.push(MappingError {
                part: "layouts",
                index,
                name: format!("{}@{}", l.form, l.from),
                item,
                at: at.into(),
                message: message.into(),
            })
        };
        if !is_key(&l.form, 40) {
            err(None, "form", "the form is 1 to 40 of a-z, 0-9, - and _");
        }
        if crate::parse_date(&l.from).is_none() || l.from.len() != 10 {
            err(None, "from", "the first day is a date, YYYY-MM-DD");
        } else if !seen.insert((l.form.as_str(), l.from.as_str())) {
            err(
                None,
                "from",
                "another layout of this form starts on this day",
            );
        }
        if l.title.trim().is_empty() {
            err(None, "title", "a layout has a title");
        }
        if let Some(c) = &l.when {
            if let Err(m) = def.check_condition(c) {
                err(None, "when", &m);
            }
        }
        if l.oath.trim().is_empty() {
            err(None, "oath", "a layout has a sworn statement (oath)");
        }
        if l.signatures.is_empty() {
            err(
                None,
                "signatures",
                "a layout has at least one signature block",
            );
        }
        for (i, s) in l.signatures.iter().enumerate() {
            if s.title.trim().is_empty() {
                err(
                    None,
                    &format!("signatures[{i}].title"),
                    "a signature block has a title",
                );
            }
        }
        for (i, line) in l.lines.iter().enumerate() {
            match line {
                Line::Text(t) if t.trim().is_empty() => err(Some(i), "text", "empty words"),
                Line::Item { label, .. } if label.trim().is_empty() => {
                    err(Some(i), "item.label", "an item has a label")
                }
                Line::Item { label, .. } if !unicode_normalization::is_nfc(label) => {
                    err(Some(i), "item.label", "the label is not in NFC")
                }
                Line::Table { columns, rows, .. }
                    if columns.is_empty() || !(1..=20).contains(rows) =>
                {
                    err(Some(i), "table", "a table has columns and 1 to 20 rows")
                }
                _ => {}
            }
        }
    }
    out
}

/// Checks every layout against the procedure; the first error as text.
pub(crate) fn check_all(
    layouts: &[PrintLayout],
    def: &ProcedureDef,
    results: &BTreeSet<&str>,
) -> Result<(), String> {
    match errors(layouts, def, results).first() {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

/// The layouts that print a dossier declared on `on` (`YYYY-MM-DD`; empty when unknown): per form, in
/// the order forms first appear in `layouts`, the latest version whose `from` is not after `on`, or the
/// first version when every version starts later.
pub fn for_day<'a>(layouts: &'a [PrintLayout], on: &str) -> Vec<&'a PrintLayout> {
    let mut forms: Vec<&str> = Vec::new();
    for l in layouts {
        if !forms.contains(&l.form.as_str()) {
            forms.push(&l.form);
        }
    }
    forms
        .into_iter()
        .filter_map(|form| {
            let mut vs: Vec<&PrintLayout> = layouts.iter().filter(|l| l.form == form).collect();
            vs.sort_by(|a, b| a.from.cmp(&b.from));
            vs.iter()
                .rev()
                .find(|l| l.from.as_str() <= on)
                .or(vs.first())
                .copied()
        })
        .collect()
}
