//! The procedure catalogue: procedures as data (embedded JSON), parsed once and looked up by id and version.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::ProtocolError;

include!(concat!(env!("OUT_DIR"), "/builtin_packages.rs"));

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
    /// Recorded audio prompts by language tag (an asset id the hub serves), e.g. `{"stg": "a1b2…"}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub audio: BTreeMap<String, String>,
}

/// One procedure version: its form fields, grouped, and the photos of papers it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureDef {
    /// Stable id.
    pub id: String,
    /// Definition version.
    pub version: u32,
    /// The first day (`YYYY-MM-DD`, Vietnam local date) this version applies: a new draft captured on or
    /// after it uses this version, until a later version's day comes (see [`in_force`]). Sealed dossiers
    /// keep the version they were sealed with.
    pub effective_from: String,
    /// The legal texts this version follows, in plain words with article numbers (shown to officers; the
    /// item-by-item sources are in docs/domain.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<Text>,
    /// Procedure name.
    pub title: Text,
    /// Authority that decides.
    pub authority: Text,
    /// Legal time limit in working days, counted from receipt (the default; a hub may configure another).
    pub time_limit_working_days: u32,
    /// Longer limit when the case needs verification (e.g. a past residence elsewhere), if the law has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_extended_working_days: Option<u32>,
    /// What the time limit means in plain words (when it starts, what extends it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_note: Option<Text>,
    /// Which day is day 1 of the time limit (absent: the day after receipt, Civil Code art. 147).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit_counting: Option<DayOne>,
    /// Field groups, in form order.
    pub groups: Vec<FieldGroup>,
    /// Papers: photos to take, originals to show, and when.
    pub documents: Vec<DocumentDef>,
    /// Cross-field rules, checked at seal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CrossCheck>,
}

/// Which day is day 1 of a procedure's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayOne {
    /// The first working day after the day of receipt (Civil Code art. 147).
    FromNextDay,
    /// The day of receipt when it is a working day and the dossier came before 15:00 local time; else the
    /// next working day (the electronic interconnected groups of Decree 63/2024).
    ReceiptDayBefore15h,
}

/// A titled group of fields (a section of the form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldGroup {
    /// Group id.
    pub id: String,
    /// Section title.
    pub title: Text,
    /// The whole group is skipped when this holds: every field of it then follows from other answers
    /// (its `derive` rules), e.g. "the person certified" when the requester is that person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_if: Option<Condition>,
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
    /// An optional field asked only when this holds (the form folds it away otherwise, unless it has a
    /// value), e.g. "why the earlier certificate cannot be handed in" only when one was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown_if: Option<Condition>,
    /// A value the form starts with (the person confirms or changes it), e.g. `Việt Nam`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A value the form starts with that the hub knows, not the catalogue (e.g. the hub's own commune as
    /// the addressee). Like `default`, the person confirms or changes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_from: Option<HubValue>,
    /// How the value follows from other answers when left empty: the first rule whose condition holds and
    /// whose source has a value gives it (see [`crate::derive`]). "Capture once, derive the rest."
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub derive: Vec<Derivation>,
    /// Smallest allowed value of a `number` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<u32>,
    /// Largest allowed value of a `number` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// For `date`/`year_or_date` fields: the person's age on the capture date must be below this many years
    /// (e.g. 6 for the "3-in-1" child).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age_years: Option<u32>,
    /// For `date` fields: a date more than this many days before the capture date is flagged (a warning,
    /// not an error), e.g. a birth registered after the 60-day limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_after_days: Option<u32>,
}

/// A value a hub supplies to a form (see [`FieldDef::default_from`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HubValue {
    /// The 5-digit code of the commune the hub serves (`--commune`), when configured.
    HubCommune,
}

/// "When `field` equals `equals`" (or, with `not_equals`, holds a value other than that; with `empty`, is
/// empty (`true`) or has a value (`false`); with `one_of`, holds one of those values). Exactly one of the
/// four is given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The other field's key.
    pub field: String,
    /// The value that makes the condition hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<String>,
    /// The condition holds when the field has a value other than this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_equals: Option<String>,
    /// The condition holds when the field is empty (`true`) or has any value (`false`), e.g. "the place of
    /// residence is required when no PIN is given".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty: Option<bool>,
    /// The condition holds when the field has one of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<String>>,
}

impl Condition {
    /// Whether the condition holds for `value` (the other field's value, `None` when empty).
    pub fn holds(&self, value: Option<&str>) -> bool {
        match (&self.equals, &self.not_equals, self.empty, value) {
            (Some(e), _, _, Some(v)) => v == e,
            (None, Some(n), _, Some(v)) => v != n,
            (None, None, Some(empty), v) => v.is_none() == empty,
            (None, None, None, Some(v)) => self
                .one_of
                .as_ref()
                .is_some_and(|l| l.iter().any(|x| x == v)),
            _ => false,
        }
    }

    /// The value the condition names.
    fn named_value(&self) -> Option<&str> {
        self.equals.as_deref().or(self.not_equals.as_deref())
    }
}

/// One way a field's value follows from another field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Derivation {
    /// The source field's key.
    pub from: String,
    /// Only when this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// How the source value is changed on the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<Transform>,
}

/// A change applied to a derived value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Capital letters, diacritics kept (the TK1-TS form writes names so).
    Uppercase,
    /// The year of birth a PIN carries (digit 4 gives the century, digits 5–6 the year), e.g.
    /// `070190001234` → `1990`. Nothing when the source is not a valid PIN.
    PinBirthYear,
    /// The sex a PIN carries (digit 4 even: `male`, odd: `female`). Nothing when the source is not a
    /// valid PIN.
    PinSex,
}

impl Transform {
    /// The source value changed by this transform, or `None` when it does not apply to that value.
    pub fn apply(self, src: &str) -> Option<String> {
        match self {
            Transform::Uppercase => Some(src.to_uppercase()),
            Transform::PinBirthYear => crate::pin::Pin::parse(src)
                .ok()
                .and_then(|p| p.birth_year())
                .map(|y| y.to_string()),
            Transform::PinSex => crate::pin::Pin::parse(src)
                .ok()
                .and_then(|p| p.sex())
                .map(|s| s.as_str().to_string()),
        }
    }
}

/// A rule across fields, checked at seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum CrossCheck {
    /// The PIN's century/sex digit and birth-year digits agree with the sex and birth date (or year).
    PinMatches {
        /// PIN field.
        pin: String,
        /// The field giving the sex (`sex_field`) …
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sex_field: Option<String>,
        /// … or the sex the person always has in this role (a mother is `female`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sex_is: Option<crate::pin::Sex>,
        /// Birth date (or year) field.
        birth: String,
    },
    /// `later` is not before `earlier`.
    DateOrder {
        /// The earlier date.
        earlier: String,
        /// The later date.
        later: String,
    },
    /// A parent was between `min_years` and `max_years` old (by birth years) when the child was born.
    ParentAge {
        /// Parent's birth date or year.
        parent_birth: String,
        /// Child's birth date.
        child_birth: String,
        /// Youngest plausible age.
        min_years: u32,
        /// Oldest plausible age.
        max_years: u32,
    },
}

impl CrossCheck {
    /// The fields the rule reads.
    pub fn fields(&self) -> Vec<&str> {
        match self {
            CrossCheck::PinMatches {
                pin,
                sex_field,
                birth,
                ..
            } => [Some(pin), sex_field.as_ref(), Some(birth)]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect(),
            CrossCheck::DateOrder { earlier, later } => vec![earlier, later],
            CrossCheck::ParentAge {
                parent_birth,
                child_birth,
                ..
            } => vec![parent_birth, child_birth],
        }
    }
}

/// When a paper is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visit {
    /// At the session where the dossier is captured.
    #[default]
    Capture,
    /// When the result is picked up (e.g. to sign the civil-status book).
    Pickup,
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
    /// `YYYY-MM-DD`, or `YYYY` alone where the law allows a year of birth only.
    YearOrDate,
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
    /// Free-text address (old addresses, village, house).
    Address,
    /// A current commune, ward or special zone: its 5-digit official code (the hub checks it exists in
    /// the administrative-units list).
    Commune,
    /// Health-insurance card number: 10 digits, or the legacy 15 characters (2 letters + 13 digits).
    HealthInsurance,
    /// A whole number between `min` and `max`.
    Number,
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
    /// Required at seal (a photo must be attached).
    pub required: bool,
    /// Required at seal when this holds (e.g. the authorisation letter when someone else files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_if: Option<Condition>,
    /// The original must be shown to the officer (a photo alone does not do).
    #[serde(default)]
    pub original: bool,
    /// When the paper (or its original) is needed.
    #[serde(default)]
    pub visit: Visit,
    /// What to bring, in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<Text>,
}

impl DocumentDef {
    /// Whether a photo of this paper is required for `fields`.
    pub fn required_for(&self, fields: &BTreeMap<String, String>) -> bool {
        self.required
            || self
                .required_if
                .as_ref()
                .is_some_and(|c| c.holds(fields.get(&c.field).map(String::as_str)))
    }
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
        if crate::validate::parse_date(&self.effective_from).is_none() {
            return err(format!(
                "effective_from {:?} is not a YYYY-MM-DD date",
                self.effective_from
            ));
        }
        for g in &self.groups {
            if let Some(c) = &g.skip_if {
                self.check_condition(c)
                    .or_else(|m| err(format!("group {}: {m}", g.id)))?;
                if g.fields.iter().any(|f| f.required && f.derive.is_empty()) {
                    return err(format!(
                        "group {}: a skipped group's required fields must derive from others",
                        g.id
                    ));
                }
            }
        }
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
            for c in f.required_if.iter().chain(f.shown_if.iter()) {
                self.check_condition(c)
                    .or_else(|m| err(format!("field {}: {m}", f.key)))?;
            }
            for d in &f.derive {
                if d.from == f.key || self.field(&d.from).is_none() {
                    return err(format!(
                        "field {}: derives from unknown field {}",
                        f.key, d.from
                    ));
                }
                if let Some(c) = &d.when {
                    self.check_condition(c)
                        .or_else(|m| err(format!("field {}: {m}", f.key)))?;
                }
            }
            let is_date = matches!(f.kind, FieldKind::Date | FieldKind::YearOrDate);
            if (f.max_age_years.is_some() && !is_date)
                || (f.late_after_days.is_some() && f.kind != FieldKind::Date)
            {
                return err(format!("field {}: age/lateness rules only on dates", f.key));
            }
            if (f.min.is_some() || f.max.is_some()) != (f.kind == FieldKind::Number)
                || f.min > f.max
            {
                return err(format!("field {}: number fields need min <= max", f.key));
            }
            if let Some(v) = &f.default {
                let known = f.options.is_empty() || f.options.iter().any(|o| &o.value == v);
                if !known || v.trim().is_empty() {
                    return err(format!("field {}: default {v:?} is not allowed", f.key));
                }
            }
        }
        if let Some(key) = self.derivation_cycle() {
            return err(format!("field {key}: derivations form a cycle"));
        }
        for c in &self.checks {
            if let CrossCheck::PinMatches {
                sex_field, sex_is, ..
            } = c
            {
                if sex_field.is_some() == sex_is.is_some() {
                    return err(format!("check {c:?}: exactly one of sex_field, sex_is"));
                }
            }
            for k in c.fields() {
                if self.field(k).is_none() {
                    return err(format!("check {c:?} names unknown field {k}"));
                }
            }
        }
        let mut roles = BTreeSet::new();
        for d in &self.documents {
            if !roles.insert(d.role.as_str()) {
                return err(format!("duplicate document role {}", d.role));
            }
            if let Some(c) = &d.required_if {
                self.check_condition(c)
                    .or_else(|m| err(format!("document {}: {m}", d.role)))?;
            }
        }
        let mut texts: Vec<&Text> = vec![&self.title, &self.authority];
        texts.extend(self.legal_basis.iter());
        for g in &self.groups {
            texts.push(&g.title);
            for f in &g.fields {
                texts.push(&f.label);
                texts.extend(f.help.iter());
                texts.extend(f.options.iter().map(|o| &o.label));
            }
        }
        texts.extend(self.documents.iter().map(|d| &d.label));
        texts.extend(self.documents.iter().filter_map(|d| d.help.as_ref()));
        texts.extend(self.time_limit_note.iter());
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

impl ProcedureDef {
    /// A condition names an existing field, exactly one of `equals`/`not_equals`, and, on a choice or sex
    /// field, one of its options.
    /// Checks that `c` is well formed and names a field (and options) of this procedure.
    pub fn check_condition(&self, c: &Condition) -> Result<(), String> {
        let given = [
            c.equals.is_some(),
            c.not_equals.is_some(),
            c.empty.is_some(),
            c.one_of.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if given != 1 {
            return Err(
                "a condition needs exactly one of equals, not_equals, empty, one_of".into(),
            );
        }
        if let (Some(list), Some(other)) = (&c.one_of, self.field(&c.field)) {
            if list.is_empty() {
                return Err("one_of lists no value".into());
            }
            if !other.options.is_empty() {
                if let Some(v) = list
                    .iter()
                    .find(|v| !other.options.iter().any(|o| &o.value == *v))
                {
                    return Err(format!("condition value {v} is no option"));
                }
            }
        }
        let Some(value) = c.named_value() else {
            // `empty`: any field may be empty or not.
            return match self.field(&c.field) {
                None => Err(format!("condition names unknown field {}", c.field)),
                Some(_) => Ok(()),
            };
        };
        match self.field(&c.field) {
            None => Err(format!("condition names unknown field {}", c.field)),
            Some(other) if !other.options.is_empty() => {
                if other.options.iter().any(|o| o.value == value) {
                    Ok(())
                } else {
                    Err(format!("condition value {value} is no option"))
                }
            }
            Some(_) => Ok(()),
        }
    }

    /// A field whose derivations lead back to itself, if any.
    fn derivation_cycle(&self) -> Option<&str> {
        // Depth-first search over "derives from" edges; 1 = on the current path, 2 = done.
        fn visit<'a>(
            def: &'a ProcedureDef,
            key: &'a str,
            state: &mut BTreeMap<&'a str, u8>,
        ) -> Option<&'a str> {
            match state.get(key) {
                Some(1) => return Some(key),
                Some(_) => return None,
                None => {}
            }
            state.insert(key, 1);
            if let Some(f) = def.field(key) {
                for d in &f.derive {
                    if let Some(k) = visit(def, &d.from, state) {
                        return Some(k);
                    }
                }
            }
            state.insert(key, 2);
            None
        }
        let mut state = BTreeMap::new();
        self.fields().find_map(|f| visit(self, &f.key, &mut state))
    }
}

/// Parses and checks one catalogue JSON document.
pub fn parse_procedure(json: &str) -> Result<ProcedureDef, ProtocolError> {
    let def: ProcedureDef =
        serde_json::from_str(json).map_err(|e| ProtocolError::Catalogue(e.to_string()))?;
    def.check()?;
    Ok(def)
}

/// Every built-in procedure package (`protocol/packages/*.json`), parsed once, in menu order (then id and
/// version).
///
/// The embedded files are checked by this crate's tests, so a defect is a build defect; should one slip
/// through anyway, the broken package is left out rather than taking the hub down.
pub fn builtin_packages() -> &'static [crate::package::ProcedurePackage] {
    static PACKAGES: OnceLock<Vec<crate::package::ProcedurePackage>> = OnceLock::new();
    PACKAGES.get_or_init(|| {
        let mut v: Vec<crate::package::ProcedurePackage> = BUILTIN
            .iter()
            .filter_map(|(_, json)| crate::package::ProcedurePackage::parse(json).ok())
            .collect();
        v.sort_by(|a, b| {
            (a.menu_order, &a.procedure.id, a.procedure.version).cmp(&(
                b.menu_order,
                &b.procedure.id,
                b.procedure.version,
            ))
        });
        v
    })
}

/// Every built-in procedure definition, in menu order.
pub fn catalogue() -> &'static [ProcedureDef] {
    static CATALOGUE: OnceLock<Vec<ProcedureDef>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        builtin_packages()
            .iter()
            .map(|p| p.procedure.clone())
            .collect()
    })
}

/// The built-in version of procedure `id` in force on `on` (see [`crate::package::pick_in_force`]).
pub fn in_force(id: &str, on: time::Date) -> Option<&'static ProcedureDef> {
    crate::package::pick_in_force(catalogue(), id, on)
}

/// Every built-in procedure's version in force on `on`, in menu order.
pub fn in_force_all(on: time::Date) -> Vec<&'static ProcedureDef> {
    let mut ids: Vec<&str> = Vec::new();
    for d in catalogue() {
        if !ids.contains(&d.id.as_str()) {
            ids.push(&d.id);
        }
    }
    ids.into_iter().filter_map(|id| in_force(id, on)).collect()
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
        for (name, json) in BUILTIN {
            let p = crate::package::ProcedurePackage::parse(json)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let def = &p.procedure;
            assert_eq!(*name, format!("{}.v{}.json", def.id, def.version));
        }
        assert_eq!(catalogue().len(), BUILTIN.len());
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
            equals: Some("nope".into()),
            not_equals: None,
            empty: None,
            one_of: None,
        });
        assert!(d.check().is_err());
        assert!(parse_procedure(r#"{"id":"x"}"#).is_err());
    }

    #[test]
    fn conditions_on_emptiness_and_lists() {
        let c: Condition =
            serde_json::from_str(r#"{"field":"requester.pin","empty":true}"#).unwrap();
        assert!(c.holds(None) && !c.holds(Some("070090001234")));
        let c: Condition = serde_json::from_str(
            r#"{"field":"subject.marital_status","one_of":["married","divorced"]}"#,
        )
        .unwrap();
        assert!(c.holds(Some("divorced")) && !c.holds(Some("widowed")) && !c.holds(None));
        let mut d = marital().clone();
        let f = d
            .groups
            .iter_mut()
            .flat_map(|g| g.fields.iter_mut())
            .find(|f| f.key == "subject.pin")
            .unwrap();
        // Two ways at once, or a listed value that is no option, is a catalogue defect.
        f.required_if = Some(Condition {
            field: "subject.id_type".into(),
            equals: Some("can_cuoc".into()),
            not_equals: None,
            empty: Some(true),
            one_of: None,
        });
        assert!(d.check().is_err());
        let f = d
            .groups
            .iter_mut()
            .flat_map(|g| g.fields.iter_mut())
            .find(|f| f.key == "subject.pin")
            .unwrap();
        f.required_if = Some(Condition {
            field: "subject.id_type".into(),
            equals: None,
            not_equals: None,
            empty: None,
            one_of: Some(vec!["can_cuoc".into(), "nope".into()]),
        });
        assert!(d.check().is_err());
    }

    #[test]
    fn pin_transforms() {
        assert_eq!(
            Transform::PinBirthYear.apply("070190001234").as_deref(),
            Some("1990")
        );
        assert_eq!(
            Transform::PinBirthYear.apply("070326001234").as_deref(),
            Some("2026")
        );
        assert_eq!(
            Transform::PinSex.apply("070190001234").as_deref(),
            Some("female")
        );
        assert_eq!(
            Transform::PinSex.apply("070090001234").as_deref(),
            Some("male")
        );
        assert_eq!(Transform::PinSex.apply("0700"), None);
        assert_eq!(Transform::PinBirthYear.apply("070890001234"), None);
    }

    #[test]
    fn catalogue_serialises_to_json_and_back() {
        let json = serde_json::to_string(catalogue()).unwrap();
        let back: Vec<ProcedureDef> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, catalogue());
        assert!(find_procedure(&ProcedureRef {
            id: "marital-status-certificate".into(),
            version: 9
        })
        .is_none());
    }
}
