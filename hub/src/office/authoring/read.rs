//! Sheets → package: reads every sheet into the package's parts, keeping where each part came from (its
//! sheet, row and column) so the checks in `lint` can point at it. Every problem found is kept; reading
//! goes on past it.

use std::collections::{BTreeMap, BTreeSet};

use protocol::catalogue::{
    Condition, CrossCheck, Derivation, DocumentDef, FieldDef, FieldGroup, FieldKind, HubValue,
    OptionDef, ProcedureDef, Text, Visit,
};
use protocol::package::export::{ExportItem, ExportSystem, Source};
use protocol::package::layout::{Line, Part, PrintLayout, Signature, Val};
use protocol::package::{PackageGuide, ProcedurePackage, ResultDef};

use super::expr;
use super::sheet::{Book, Row, Table, SHEETS};
use super::Problem;

/// Where a condition was written, and what it belongs to.
#[derive(Debug, Clone)]
pub struct CondSite {
    /// Sheet as shown.
    pub sheet: String,
    /// Row.
    pub row: u32,
    /// Column (`skip_if`, `required_if`, `shown_if`, `when`).
    pub column: &'static str,
    /// The condition.
    pub cond: Condition,
    /// The field it belongs to (fields and derivations), for self-references.
    pub owner: Option<String>,
}

/// Where a derivation rule was written.
#[derive(Debug, Clone)]
pub struct DerivSite {
    /// Row of `derivations`.
    pub row: u32,
    /// The derived field.
    pub field: String,
    /// The rule.
    pub rule: Derivation,
}

/// Where a cross-check was written, with the column of each field it names.
#[derive(Debug, Clone)]
pub struct CheckSite {
    /// Row of `checks`.
    pub row: u32,
    /// The rule.
    pub check: CrossCheck,
    /// (column, field key) for each field the rule names.
    pub fields: Vec<(String, String)>,
}

/// Where every part of the package came from.
#[derive(Debug, Default)]
pub struct Sites {
    /// Shown name of each sheet present (`fields` → `fields.csv`).
    pub shown: BTreeMap<String, String>,
    /// Whether the source is a folder of CSV files (sheets shown as `fields.csv`) rather than a workbook.
    pub csv: bool,
    /// Setting → row.
    pub settings: BTreeMap<String, u32>,
    /// Group id → row.
    pub groups: BTreeMap<String, u32>,
    /// Field key → row.
    pub fields: BTreeMap<String, u32>,
    /// Field key → the list it names.
    pub field_lists: BTreeMap<String, String>,
    /// List name → row of its first option.
    pub lists: BTreeMap<String, u32>,
    /// Document role → row.
    pub documents: BTreeMap<String, u32>,
    /// Result kind → row.
    pub results: BTreeMap<String, u32>,
    /// Every condition.
    pub conds: Vec<CondSite>,
    /// Every derivation rule.
    pub derivs: Vec<DerivSite>,
    /// Every cross-check, in order.
    pub checks: Vec<CheckSite>,
    /// Rows of `exports` (one per system) and `export_items` (per system, one per item), in order.
    pub export_rows: Vec<(u32, Vec<u32>)>,
    /// Rows of each layout, in order.
    pub layout_rows: Vec<LayoutSite>,
    /// Rows of the guide: (part, row) for every row read, in sheet order.
    pub guide_rows: Vec<(GuidePart, u32)>,
}

/// What a row of the `guide` sheet is (its `part` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidePart {
    /// What the procedure gives (one row).
    Purpose,
    /// Who may file (one row each).
    Who,
    /// One step (in order).
    Step,
    /// What it costs (one row).
    Fees,
}

impl GuidePart {
    /// The word in the `part` column.
    pub fn word(self) -> &'static str {
        match self {
            GuidePart::Purpose => "purpose",
            GuidePart::Who => "who",
            GuidePart::Step => "step",
            GuidePart::Fees => "fees",
        }
    }
}

impl Sites {
    /// The shown name of `sheet` (`fields.csv`), or the bare name when the source lacks it.
    pub fn sheet(&self, sheet: &str) -> String {
        self.shown.get(sheet).cloned().unwrap_or_else(|| {
            if self.csv {
                format!("{sheet}.csv")
            } else {
                sheet.to_string()
            }
        })
    }

    /// A problem at a row and column of `sheet`.
    pub fn at(&self, sheet: &str, row: u32, column: &str, message: impl Into<String>) -> Problem {
        Problem {
            sheet: self.sheet(sheet),
            row: Some(row),
            column: Some(column.to_string()),
            message: message.into(),
        }
    }
}

/// Columns of each sheet: plain ones, then the names of its texts (`label` → `label::vi`, …).
pub fn columns(sheet: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match sheet {
        "settings" => (&["setting", "value"], &[]),
        "groups" => (&["id", "skip_if"], &["title"]),
        "fields" => (
            &[
                "group",
                "key",
                "kind",
                "required",
                "required_if",
                "shown_if",
                "choices",
                "default",
                "default_from",
                "min",
                "max",
                "max_age_years",
                "late_after_days",
                "max_len",
            ],
            &["label", "help"],
        ),
        "choices" => (&["list", "value"], &["label"]),
        "derivations" => (&["field", "from", "when"], &[]),
        "checks" => (&CHECK_COLUMNS, &[]),
        "documents" => (
            &["role", "required", "required_if", "original", "visit"],
            &["label", "help"],
        ),
        "results" => (&["kind"], &["label"]),
        "exports" => (&["system", "when"], &["form", "target"]),
        "export_items" => (&["system", "value"], &["name"]),
        "layouts" => (&LAYOUT_COLUMNS, &[]),
        "layout_lines" => (&LINE_COLUMNS, &[]),
        "guide" => (&["part"], &["text"]),
        _ => (&[], &[]),
    }
}

/// The settings, in the order `sheets` writes them: plain ones, then texts.
pub const SETTINGS: &[&str] = &[
    "id",
    "version",
    "effective_from",
    "menu_order",
    "time_limit_working_days",
    "time_limit_extended_working_days",
    "time_limit_counting",
];
/// The texts of `settings`, in order.
pub const SETTING_TEXTS: &[&str] = &["title", "authority", "legal_basis", "time_limit_note"];

/// The columns of `checks`: the rule, then every field and number a rule may take.
pub const CHECK_COLUMNS: [&str; 11] = [
    "rule",
    "pin",
    "sex_field",
    "sex_is",
    "birth",
    "earlier",
    "later",
    "parent_birth",
    "child_birth",
    "min_years",
    "max_years",
];

/// The columns of `layouts`: one row per version of a form.
pub const LAYOUT_COLUMNS: [&str; 10] = [
    "form",
    "from",
    "form_code",
    "title",
    "addressee",
    "oath",
    "place_prefix",
    "place",
    "source",
    "when",
];

/// The columns of `layout_lines`: one row per line, part of a line, or signature block.
pub const LINE_COLUMNS: [&str; 11] = [
    "form",
    "from",
    "type",
    "no",
    "label",
    "value",
    "optional",
    "columns",
    "rows",
    "note",
    "thumb_note",
];

/// Which columns of `layout_lines` each row type takes (besides form, from, type).
pub fn line_columns(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "text" => &["label"],
        "item" => &["no", "label", "value", "optional"],
        "part" => &["label", "value", "optional"],
        "table" => &["no", "label", "columns", "rows"],
        "signature" => &["label", "note", "value", "thumb_note"],
        _ => return None,
    })
}

/// Where a layout came from: its row of `layouts`, and for each line and each signature block its row
/// of `layout_lines` with the rows of its parts (an item's own value is its first part, on its row).
#[derive(Debug, Clone, Default)]
pub struct LayoutSite {
    /// Row of `layouts`.
    pub row: u32,
    /// (row, part rows) of each line.
    pub lines: Vec<(u32, Vec<u32>)>,
    /// (row, part rows) of each signature block.
    pub signatures: Vec<(u32, Vec<u32>)>,
}

/// Whether `tag` looks like a BCP 47 language tag other than `vi` and `en` (`cmo`, `stg`, `zh-Hant`).
pub fn is_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let first = parts.next().unwrap_or("");
    (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Where cells come from: a row of a table, or the `setting`/`value` pairs of `settings`.
trait Cells {
    /// The column (or setting) names.
    fn names(&self) -> Vec<&str>;
    /// The value as written ("" when absent).
    fn value(&self, name: &str) -> &str;
    /// A problem at `name`.
    fn problem(&self, name: &str, message: String) -> Problem;
}

struct RowCells<'a> {
    t: &'a Table,
    r: &'a Row,
}

impl Cells for RowCells<'_> {
    fn names(&self) -> Vec<&str> {
        self.t.header.iter().map(String::as_str).collect()
    }
    fn value(&self, name: &str) -> &str {
        self.t.raw(self.r, name)
    }
    fn problem(&self, name: &str, message: String) -> Problem {
        self.t.at(self.r, name, message)
    }
}

struct SettingCells<'a> {
    shown: &'a str,
    values: BTreeMap<String, (u32, String)>,
}

impl Cells for SettingCells<'_> {
    fn names(&self) -> Vec<&str> {
        self.values.keys().map(String::as_str).collect()
    }
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
    fn problem(&self, name: &str, message: String) -> Problem {
        match self.values.get(name) {
            Some((row, _)) => Problem {
                sheet: self.shown.to_string(),
                row: Some(*row),
                column: Some("value".into()),
                message: format!("{name}: {message}"),
            },
            None => Problem {
                sheet: self.shown.to_string(),
                row: None,
                column: None,
                message: format!("{name}: {message}"),
            },
        }
    }
}

/// The reader: the problems found so far.
pub struct Read {
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// Where each part came from.
    pub sites: Sites,
}

impl Read {
    fn text(&mut self, c: &dyn Cells, name: &str, required: bool) -> Option<Text> {
        let mut t = Text {
            vi: String::new(),
            en: String::new(),
            more: BTreeMap::new(),
            audio: BTreeMap::new(),
        };
        let mut any = false;
        for n in c.names() {
            let Some(lang) = n.strip_prefix(name).and_then(|r| r.strip_prefix("::")) else {
                continue;
            };
            let v = c.value(n);
            if v.trim().is_empty() {
                continue;
            }
            any = true;
            match lang {
                "vi" => t.vi = v.to_string(),
                "en" => t.en = v.to_string(),
                l => match l.strip_prefix("audio::") {
                    Some(l) => {
                        t.audio.insert(l.to_string(), v.trim().to_string());
                    }
                    None => {
                        t.more.insert(l.to_string(), v.to_string());
                    }
                },
            }
        }
        if !any {
            if required {
                self.problems.push(c.problem(
                    &format!("{name}::vi"),
                    format!("{name} is missing: write it in {name}::vi and {name}::en"),
                ));
            }
            return None;
        }
        for (lang, words, v) in [("vi", "Vietnamese", &t.vi), ("en", "English", &t.en)] {
            if v.is_empty() {
                self.problems.push(c.problem(
                    &format!("{name}::{lang}"),
                    format!("the {words} {name} is missing"),
                ));
            }
        }
        Some(t)
    }

    fn flag(&mut self, c: &dyn Cells, name: &str) -> bool {
        match c.value(name).trim().to_ascii_lowercase().as_str() {
            "" | "no" | "false" | "0" => false,
            "yes" | "true" | "1" => true,
            other => {
                self.problems.push(c.problem(
                    name,
                    format!("{other:?} is not yes or no (write yes, or leave it empty)"),
                ));
                false
            }
        }
    }

    fn number(&mut self, c: &dyn Cells, name: &str) -> Option<u32> {
        let v = c.value(name).trim();
        if v.is_empty() {
            return None;
        }
        match v.parse::<u32>() {
            Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                self.problems
                    .push(c.problem(name, format!("{v:?} is not a whole number (0 or more)")));
                None
            }
        }
    }

    fn key(&mut self, c: &dyn Cells, name: &str, what: &str) -> Option<String> {
        let v = c.value(name).trim();
        if v.is_empty() {
            self.problems
                .push(c.problem(name, format!("the {what} is missing")));
            return None;
        }
        Some(v.to_string())
    }

    fn cond(
        &mut self,
        c: &dyn Cells,
        name: &'static str,
        sheet: &str,
        row: u32,
        owner: Option<&str>,
    ) -> Option<Condition> {
        let v = c.value(name).trim();
        if v.is_empty() {
            return None;
        }
        match expr::parse_condition(v) {
            Ok(cond) => {
                self.sites.conds.push(CondSite {
                    sheet: sheet.to_string(),
                    row,
                    column: name,
                    cond: cond.clone(),
                    owner: owner.map(str::to_string),
                });
                Some(cond)
            }
            Err(m) => {
                self.problems.push(c.problem(name, m));
                None
            }
        }
    }

    fn enum_cell<T: serde::de::DeserializeOwned>(
        &mut self,
        c: &dyn Cells,
        name: &str,
        allowed: &str,
    ) -> Option<T> {
        let v = c.value(name).trim();
        if v.is_empty() {
            return None;
        }
        match serde_json::from_value(serde_json::Value::String(v.to_string())) {
            Ok(x) => Some(x),
            Err(_) => {
                self.problems.push(c.problem(
                    name,
                    format!("unknown {name} {v:?}: write one of {allowed}"),
                ));
                None
            }
        }
    }

    /// Notes a key's row, or a duplicate.
    fn unique(
        &mut self,
        c: &dyn Cells,
        col: &str,
        map: fn(&mut Sites) -> &mut BTreeMap<String, u32>,
        key: &str,
        row: u32,
        what: &str,
    ) -> bool {
        if let Some(first) = map(&mut self.sites).get(key) {
            let first = *first;
            self.problems.push(c.problem(
                col,
                format!("{what} {key} is already defined in row {first}"),
            ));
            return false;
        }
        map(&mut self.sites).insert(key.to_string(), row);
        true
    }
}

/// Checks a sheet's header: known columns only, each once, languages well formed.
fn check_header(t: &Table, sheet: &str, problems: &mut Vec<Problem>) {
    let (plain, texts) = columns(sheet);
    let mut seen = BTreeSet::new();
    for (i, h) in t.header.iter().enumerate() {
        let at = |m: String| Problem {
            sheet: t.shown.clone(),
            row: Some(1),
            column: Some(if h.is_empty() {
                format!("#{}", i + 1)
            } else {
                h.clone()
            }),
            message: m,
        };
        if h.starts_with('#') {
            continue;
        }
        if h.is_empty() {
            if t.rows.iter().any(|r| !t.cell(r, i).trim().is_empty()) {
                problems.push(at("this column has values but no name in row 1".into()));
            }
            continue;
        }
        if !seen.insert(h.as_str()) {
            problems.push(at(format!("column {h} appears twice")));
            continue;
        }
        if plain.contains(&h.as_str()) {
            continue;
        }
        let ok = match h.split_once("::") {
            Some((text, lang)) if texts.contains(&text) => match lang {
                "vi" | "en" => true,
                l => match l.strip_prefix("audio::") {
                    Some(l) => is_language(l) || l == "vi" || l == "en",
                    None => is_language(l) && !matches!(l, "vi" | "en"),
                },
            },
            _ => false,
        };
        if !ok {
            let mut known: Vec<String> = plain.iter().map(|s| s.to_string()).collect();
            known.extend(texts.iter().map(|t| format!("{t}::vi")));
            problems.push(at(format!(
                "unknown column {h} (this sheet has {}; texts as NAME::vi, NAME::en, NAME::<language>, NAME::audio::<language>; comments in columns starting with #)",
                known.join(", ")
            )));
        }
    }
}

/// Reads a whole source into a package (as far as it can be read) and the places of its parts.
pub fn read(book: &Book) -> (ProcedurePackage, Read) {
    let mut r = Read {
        problems: Vec::new(),
        sites: Sites::default(),
    };
    for (name, t) in book {
        r.sites.shown.insert(name.clone(), t.shown.clone());
        if !SHEETS.contains(&name.as_str()) {
            if t.header.iter().all(|h| h.is_empty()) && t.rows.is_empty() {
                // An empty sheet a spreadsheet added by itself ("Sheet1").
                continue;
            }
            r.problems.push(t.whole(format!(
                "unknown sheet {name:?}: the sheets are {}",
                SHEETS.join(", ")
            )));
            continue;
        }
        check_header(t, name, &mut r.problems);
    }
    r.sites.csv = book
        .values()
        .next()
        .is_none_or(|t| t.shown.ends_with(".csv"));
    for required in ["settings", "groups", "fields"] {
        if !book.contains_key(required) {
            r.problems.push(Problem::sheet(
                &r.sites.sheet(required),
                "is missing (a package has settings, groups and fields)",
            ));
        }
    }
    let empty = Table::empty();
    let sheet = |n: &str| book.get(n).unwrap_or(&empty);

    // settings
    let st = sheet("settings");
    let mut values = BTreeMap::new();
    for row in &st.rows {
        let name = st.get(row, "setting");
        if name.is_empty() {
            r.problems
                .push(st.at(row, "setting", "the setting's name is missing"));
            continue;
        }
        let known = SETTINGS.contains(&name)
            || name.split_once("::").is_some_and(|(t, l)| {
                SETTING_TEXTS.contains(&t)
                    && (matches!(l, "vi" | "en")
                        || is_language(l.strip_prefix("audio::").unwrap_or(l)))
            });
        if !known {
            r.problems.push(st.at(
                row,
                "setting",
                format!(
                    "unknown setting {name:?} (the settings are {}, and the texts {} as NAME::vi, NAME::en…)",
                    SETTINGS.join(", "),
                    SETTING_TEXTS.join(", ")
                ),
            ));
            continue;
        }
        if let Some((first, _)) = values.get(name) {
            r.problems.push(st.at(
                row,
                "setting",
                format!("setting {name} is already given in row {first}"),
            ));
            continue;
        }
        r.sites.settings.insert(name.to_string(), row.n);
        values.insert(name.to_string(), (row.n, st.raw(row, "value").to_string()));
    }
    let sc = SettingCells {
        shown: &st.shown,
        values,
    };
    let id = r.key(&sc, "id", "procedure id").unwrap_or_default();
    let version = r.number(&sc, "version");
    if version.is_none() && sc.value("version").trim().is_empty() {
        r.problems.push(sc.problem("version", "is missing".into()));
    }
    let effective_from = sc.value("effective_from").trim().to_string();
    if effective_from.is_empty() {
        r.problems
            .push(sc.problem("effective_from", "is missing (YYYY-MM-DD)".into()));
    } else if protocol::validate::parse_date(&effective_from).is_none() {
        r.problems.push(sc.problem(
            "effective_from",
            format!("{effective_from:?} is not a day of the calendar written YYYY-MM-DD"),
        ));
    }
    let menu_order = r.number(&sc, "menu_order");
    let limit = r.number(&sc, "time_limit_working_days");
    if limit.is_none() && sc.value("time_limit_working_days").trim().is_empty() {
        r.problems
            .push(sc.problem("time_limit_working_days", "is missing".into()));
    }
    let limit_ext = r.number(&sc, "time_limit_extended_working_days");
    let counting = match sc.value("time_limit_counting").trim() {
        "" => None,
        "from_next_day" => Some(protocol::DayOne::FromNextDay),
        "receipt_day_before_15h" => Some(protocol::DayOne::ReceiptDayBefore15h),
        other => {
            r.problems.push(sc.problem(
                "time_limit_counting",
                format!("{other:?} is not a counting rule: write from_next_day (day 1 is the working day after receipt) or receipt_day_before_15h (day 1 is the day of receipt before 15:00)"),
            ));
            None
        }
    };
    let title = r.text(&sc, "title", true);
    let authority = r.text(&sc, "authority", true);
    let legal_basis = r.text(&sc, "legal_basis", false);
    let note = r.text(&sc, "time_limit_note", false);

    // groups
    let gt = sheet("groups");
    let mut groups: Vec<FieldGroup> = Vec::new();
    for row in &gt.rows {
        let c = RowCells { t: gt, r: row };
        let Some(gid) = r.key(&c, "id", "group id") else {
            continue;
        };
        if !r.unique(&c, "id", |s| &mut s.groups, &gid, row.n, "group") {
            continue;
        }
        let title = r.text(&c, "title", true);
        let skip_if = r.cond(&c, "skip_if", &gt.shown, row.n, None);
        groups.push(FieldGroup {
            id: gid,
            title: title.unwrap_or_else(empty_text),
            skip_if,
            fields: Vec::new(),
        });
    }

    // choices
    let ct = sheet("choices");
    let mut lists: BTreeMap<String, Vec<OptionDef>> = BTreeMap::new();
    let mut option_rows: BTreeMap<(String, String), u32> = BTreeMap::new();
    for row in &ct.rows {
        let c = RowCells { t: ct, r: row };
        let (Some(list), Some(value)) = (
            r.key(&c, "list", "list name"),
            r.key(&c, "value", "stored value"),
        ) else {
            continue;
        };
        let label = r.text(&c, "label", true);
        if let Some(first) = option_rows.get(&(list.clone(), value.clone())) {
            r.problems.push(c.problem(
                "value",
                format!("list {list} already has the value {value} in row {first}"),
            ));
            continue;
        }
        option_rows.insert((list.clone(), value.clone()), row.n);
        r.sites.lists.entry(list.clone()).or_insert(row.n);
        lists.entry(list).or_default().push(OptionDef {
            value,
            label: label.unwrap_or_else(empty_text),
        });
    }

    // fields
    let ft = sheet("fields");
    let kinds = "text, name, date, year_or_date, sex, choice, pin, phone, ethnicity, nationality, address, commune, health_insurance, number, long_text, confirm";
    for row in &ft.rows {
        let c = RowCells { t: ft, r: row };
        let (Some(group), Some(key)) = (
            r.key(&c, "group", "group id"),
            r.key(&c, "key", "field key"),
        ) else {
            continue;
        };
        if !r.unique(&c, "key", |s| &mut s.fields, &key, row.n, "field") {
            continue;
        }
        let kind: Option<FieldKind> = r.enum_cell(&c, "kind", kinds);
        if kind.is_none() && c.value("kind").trim().is_empty() {
            r.problems
                .push(c.problem("kind", format!("the kind is missing: one of {kinds}")));
        }
        let label = r.text(&c, "label", true);
        let help = r.text(&c, "help", false);
        let required = r.flag(&c, "required");
        let required_if = r.cond(&c, "required_if", &ft.shown, row.n, Some(&key));
        let shown_if = r.cond(&c, "shown_if", &ft.shown, row.n, Some(&key));
        let list = c.value("choices").trim().to_string();
        let options = if list.is_empty() {
            Vec::new()
        } else {
            r.sites.field_lists.insert(key.clone(), list.clone());
            match lists.get(&list) {
                Some(o) => o.clone(),
                None => {
                    r.problems
                        .push(c.problem("choices", format!("no list {list} in the choices sheet")));
                    Vec::new()
                }
            }
        };
        let default = Some(c.value("default").trim().to_string()).filter(|v| !v.is_empty());
        let default_from: Option<HubValue> = r.enum_cell(&c, "default_from", "hub_commune");
        let min = r.number(&c, "min");
        let max = r.number(&c, "max");
        let max_age_years = r.number(&c, "max_age_years");
        let late_after_days = r.number(&c, "late_after_days");
        let max_len = r.number(&c, "max_len");
        let f = FieldDef {
            key,
            kind: kind.unwrap_or(FieldKind::Text),
            label: label.unwrap_or_else(empty_text),
            required,
            help,
            options,
            max_len,
            required_if,
            shown_if,
            default,
            default_from,
            derive: Vec::new(),
            min,
            max,
            max_age_years,
            late_after_days,
        };
        match groups.iter_mut().find(|g| g.id == group) {
            Some(g) => g.fields.push(f),
            None => r
                .problems
                .push(c.problem("group", format!("no group {group} in the groups sheet"))),
        }
    }
    for (list, row) in &r.sites.lists {
        if !r.sites.field_lists.values().any(|l| l == list) {
            r.problems.push(Problem {
                sheet: ct.shown.clone(),
                row: Some(*row),
                column: Some("list".into()),
                message: format!(
                    "no field uses the list {list} (name it in the choices column of fields)"
                ),
            });
        }
    }

    // derivations
    let dt = sheet("derivations");
    for row in &dt.rows {
        let c = RowCells { t: dt, r: row };
        let (Some(field), Some(from)) = (
            r.key(&c, "field", "derived field"),
            r.key(&c, "from", "source"),
        ) else {
            continue;
        };
        let (from, transform) = match expr::parse_source(&from) {
            Ok(x) => x,
            Err(m) => {
                r.problems.push(c.problem("from", m));
                continue;
            }
        };
        let when = r.cond(&c, "when", &dt.shown, row.n, Some(&field));
        let rule = Derivation {
            from,
            when,
            transform,
        };
        match groups
            .iter_mut()
            .flat_map(|g| g.fields.iter_mut())
            .find(|f| f.key == field)
        {
            Some(f) => f.derive.push(rule.clone()),
            None => {
                r.problems.push(c.problem(
                    "field",
                    format!("unknown field {field} (not in the fields sheet)"),
                ));
                continue;
            }
        }
        r.sites.derivs.push(DerivSite {
            row: row.n,
            field,
            rule,
        });
    }

    // checks
    let kt = sheet("checks");
    let mut checks = Vec::new();
    for row in &kt.rows {
        let c = RowCells { t: kt, r: row };
        let Some(rule) = r.key(&c, "rule", "rule") else {
            continue;
        };
        let (fields, numbers, one_of): (&[&str], &[&str], &[&str]) = match rule.as_str() {
            "pin_matches" => (&["pin", "birth"], &[], &["sex_field", "sex_is"]),
            "date_order" => (&["earlier", "later"], &[], &[]),
            "parent_age" => (
                &["parent_birth", "child_birth"],
                &["min_years", "max_years"],
                &[],
            ),
            _ => {
                r.problems.push(c.problem(
                    "rule",
                    format!("unknown rule {rule:?}: write pin_matches, date_order or parent_age"),
                ));
                continue;
            }
        };
        let mut obj = serde_json::Map::new();
        obj.insert("rule".into(), rule.clone().into());
        let mut named = Vec::new();
        let mut ok = true;
        for col in &CHECK_COLUMNS[1..] {
            let v = c.value(col).trim();
            let used = fields.contains(col) || numbers.contains(col) || one_of.contains(col);
            if !used {
                if !v.is_empty() {
                    r.problems.push(c.problem(
                        col,
                        format!("the rule {rule} takes no {col}: leave it empty"),
                    ));
                    ok = false;
                }
                continue;
            }
            if v.is_empty() {
                if !one_of.contains(col) {
                    r.problems
                        .push(c.problem(col, format!("the rule {rule} needs {col}")));
                    ok = false;
                }
                continue;
            }
            if numbers.contains(col) {
                match r.number(&c, col) {
                    Some(n) => {
                        obj.insert(col.to_string(), n.into());
                    }
                    None => ok = false,
                }
            } else {
                if *col != "sex_is" {
                    named.push((col.to_string(), v.to_string()));
                }
                obj.insert(col.to_string(), v.into());
            }
        }
        if !one_of.is_empty() {
            let given = one_of
                .iter()
                .filter(|col| !c.value(col).trim().is_empty())
                .count();
            if given != 1 {
                r.problems.push(c.problem(
                    one_of[0],
                    format!("the rule {rule} needs exactly one of {}", one_of.join(", ")),
                ));
                ok = false;
            }
        }
        if !ok {
            continue;
        }
        match serde_json::from_value::<CrossCheck>(serde_json::Value::Object(obj)) {
            Ok(check) => {
                r.sites.checks.push(CheckSite {
                    row: row.n,
                    check: check.clone(),
                    fields: named,
                });
                checks.push(check);
            }
            Err(e) => {
                let col = if e.to_string().contains("sex") {
                    "sex_is"
                } else {
                    "rule"
                };
                let msg = if col == "sex_is" {
                    "sex_is is male or female".to_string()
                } else {
                    format!("cannot read the rule: {e}")
                };
                r.problems.push(c.problem(col, msg));
            }
        }
    }

    // documents
    let ot = sheet("documents");
    let mut documents = Vec::new();
    for row in &ot.rows {
        let c = RowCells { t: ot, r: row };
        let Some(role) = r.key(&c, "role", "document role") else {
            continue;
        };
        if !r.unique(
            &c,
            "role",
            |s| &mut s.documents,
            &role,
            row.n,
            "document role",
        ) {
            continue;
        }
        let label = r.text(&c, "label", true);
        let help = r.text(&c, "help", false);
        let required = r.flag(&c, "required");
        let required_if = r.cond(&c, "required_if", &ot.shown, row.n, None);
        let original = r.flag(&c, "original");
        let visit: Visit = r
            .enum_cell(&c, "visit", "capture, pickup")
            .unwrap_or_default();
        documents.push(DocumentDef {
            role,
            label: label.unwrap_or_else(empty_text),
            required,
            required_if,
            original,
            visit,
            help,
        });
    }

    // results
    let rt = sheet("results");
    let mut results = Vec::new();
    for row in &rt.rows {
        let c = RowCells { t: rt, r: row };
        let Some(kind) = r.key(&c, "kind", "result kind") else {
            continue;
        };
        if !r.unique(&c, "kind", |s| &mut s.results, &kind, row.n, "result kind") {
            continue;
        }
        let label = r.text(&c, "label", true);
        results.push(ResultDef {
            kind,
            label: label.unwrap_or_else(empty_text),
        });
    }

    let exports = read_exports(&mut r, sheet("exports"), sheet("export_items"));
    let layouts = read_layouts(&mut r, sheet("layouts"), sheet("layout_lines"));
    let guide = read_guide(&mut r, sheet("guide"));

    let procedure = ProcedureDef {
        id,
        version: version.unwrap_or(0),
        effective_from,
        legal_basis,
        title: title.unwrap_or_else(empty_text),
        authority: authority.unwrap_or_else(empty_text),
        time_limit_working_days: limit.unwrap_or(0),
        time_limit_extended_working_days: limit_ext,
        time_limit_note: note,
        time_limit_counting: counting,
        groups,
        documents,
        checks,
    };
    let mut package = ProcedurePackage::new(procedure);
    if let Some(m) = menu_order {
        package.menu_order = m;
    }
    package.results = results;
    package.exports = exports;
    package.layouts = layouts;
    package.guide = guide;
    (package, r)
}

/// The `guide` sheet: one row per text, `part` saying which (`purpose` and `fees` once; `who` and `step`
/// rows in reading order). No rows, no guide. How many of each there must be is `lint`'s concern.
fn read_guide(r: &mut Read, gt: &Table) -> Option<PackageGuide> {
    if gt.rows.is_empty() {
        return None;
    }
    let mut guide = PackageGuide {
        purpose: empty_text(),
        who: Vec::new(),
        steps: Vec::new(),
        fees: empty_text(),
    };
    for row in &gt.rows {
        let c = RowCells { t: gt, r: row };
        let part = match gt.get(row, "part") {
            "purpose" => GuidePart::Purpose,
            "who" => GuidePart::Who,
            "step" => GuidePart::Step,
            "fees" => GuidePart::Fees,
            other => {
                r.problems.push(gt.at(
                    row,
                    "part",
                    format!("unknown part {other:?}: write purpose, who, step or fees"),
                ));
                continue;
            }
        };
        if matches!(part, GuidePart::Purpose | GuidePart::Fees) {
            if let Some((_, first)) = r.sites.guide_rows.iter().find(|(p, _)| *p == part) {
                r.problems.push(gt.at(
                    row,
                    "part",
                    format!(
                        "the guide's {} is already written in row {first}; a guide has one",
                        part.word()
                    ),
                ));
                continue;
            }
        }
        r.sites.guide_rows.push((part, row.n));
        let text = r.text(&c, "text", true).unwrap_or_else(empty_text);
        match part {
            GuidePart::Purpose => guide.purpose = text,
            GuidePart::Who => guide.who.push(text),
            GuidePart::Step => guide.steps.push(text),
            GuidePart::Fees => guide.fees = text,
        }
    }
    Some(guide)
}

fn read_exports(r: &mut Read, et: &Table, it: &Table) -> Vec<ExportSystem> {
    let mut systems: Vec<ExportSystem> = Vec::new();
    let mut ids: BTreeMap<String, u32> = BTreeMap::new();
    for row in &et.rows {
        let c = RowCells { t: et, r: row };
        let Some(id) = r.key(&c, "system", "system id") else {
            continue;
        };
        if let Some(first) = ids.get(&id) {
            r.problems.push(c.problem(
                "system",
                format!("system {id} is already defined in row {first}"),
            ));
            continue;
        }
        ids.insert(id.clone(), row.n);
        let form = r.text(&c, "form", true);
        let target = r.text(&c, "target", true);
        let when = r.cond(&c, "when", &et.shown, row.n, None);
        systems.push(ExportSystem {
            id,
            form: form.unwrap_or_else(empty_text),
            target: target.unwrap_or_else(empty_text),
            items: Vec::new(),
            when,
        });
        r.sites.export_rows.push((row.n, Vec::new()));
    }
    for row in &it.rows {
        let c = RowCells { t: it, r: row };
        let Some(id) = r.key(&c, "system", "system id") else {
            continue;
        };
        let Some(i) = systems.iter().position(|s| s.id == id) else {
            r.problems
                .push(c.problem("system", format!("no system {id} in the exports sheet")));
            continue;
        };
        let name = r.text(&c, "name", true);
        let v = c.value("value").trim();
        if v.is_empty() {
            r.problems.push(c.problem(
                "value",
                "the column has no source: write where its value comes from (a field key, choice(KEY), date(KEY)…), or not_captured for an item the kit does not capture".into(),
            ));
            continue;
        }
        match expr::parse_export_value(v) {
            Ok(value) => {
                systems[i].items.push(ExportItem {
                    name: name.unwrap_or_else(empty_text),
                    value,
                });
                r.sites.export_rows[i].1.push(row.n);
            }
            Err(m) => r.problems.push(c.problem("value", m)),
        }
    }
    systems
}

fn read_layouts(r: &mut Read, lt: &Table, nt: &Table) -> Vec<PrintLayout> {
    let mut layouts: Vec<PrintLayout> = Vec::new();
    let mut seen: BTreeMap<(String, String), u32> = BTreeMap::new();
    for row in &lt.rows {
        let c = RowCells { t: lt, r: row };
        let (Some(form), Some(from)) = (
            r.key(&c, "form", "form"),
            r.key(&c, "from", "first day (YYYY-MM-DD)"),
        ) else {
            continue;
        };
        if let Some(first) = seen.get(&(form.clone(), from.clone())) {
            r.problems.push(c.problem(
                "from",
                format!("form {form} from {from} is already defined in row {first}"),
            ));
            continue;
        }
        seen.insert((form.clone(), from.clone()), row.n);
        let val = |r: &mut Read, col: &str, required: bool| -> Option<Val> {
            let v = c.value(col).trim();
            if v.is_empty() {
                if required {
                    r.problems.push(c.problem(
                        col,
                        format!("the layout's {col} is missing (a value, e.g. addressee.commune)"),
                    ));
                }
                return None;
            }
            match expr::parse_layout_value(v) {
                Ok(x) => Some(x),
                Err(m) => {
                    r.problems.push(c.problem(col, m));
                    None
                }
            }
        };
        let addressee = val(r, "addressee", false);
        let place = val(r, "place", true);
        let when = r.cond(&c, "when", &lt.shown, row.n, None);
        for col in ["title", "oath"] {
            if c.value(col).trim().is_empty() {
                r.problems
                    .push(c.problem(col, format!("a print layout needs its {col}")));
            }
        }
        layouts.push(PrintLayout {
            form,
            from,
            form_code: c.value("form_code").to_string(),
            title: c.value("title").to_string(),
            addressee,
            lines: Vec::new(),
            oath: c.value("oath").to_string(),
            place_prefix: c.value("place_prefix").to_string(),
            place: place.unwrap_or(Val::Source(Source::NotCaptured)),
            signatures: Vec::new(),
            source: c.value("source").to_string(),
            when,
        });
        r.sites.layout_rows.push(LayoutSite {
            row: row.n,
            ..LayoutSite::default()
        });
    }
    // The line or signature block `part` rows attach to, per layout: (is a signature, index).
    let mut last: BTreeMap<usize, (bool, usize)> = BTreeMap::new();
    for row in &nt.rows {
        let c = RowCells { t: nt, r: row };
        let (Some(form), Some(from), Some(kind)) = (
            r.key(&c, "form", "form"),
            r.key(&c, "from", "first day (YYYY-MM-DD)"),
            r.key(&c, "type", "row type (text, item, part, table, signature)"),
        ) else {
            continue;
        };
        let Some(li) = layouts
            .iter()
            .position(|l| l.form == form && l.from == from)
        else {
            r.problems.push(c.problem(
                "form",
                format!("no layout of form {form} from {from} in the layouts sheet"),
            ));
            continue;
        };
        let Some(cols) = line_columns(&kind) else {
            r.problems.push(c.problem(
                "type",
                format!("unknown type {kind:?}: write text, item, part, table or signature"),
            ));
            continue;
        };
        let mut ok = true;
        for col in &LINE_COLUMNS[3..] {
            if !cols.contains(col) && !c.value(col).trim().is_empty() {
                r.problems.push(c.problem(
                    col,
                    format!("a {kind} row takes no {col} (it takes {})", cols.join(", ")),
                ));
                ok = false;
            }
        }
        let label = c.value("label").to_string();
        let no = c.value("no").to_string();
        let optional = r.flag(&c, "optional");
        let v = c.value("value").trim();
        let value = if v.is_empty() {
            None
        } else {
            match expr::parse_layout_value(v) {
                Ok(x) => Some(x),
                Err(m) => {
                    r.problems.push(c.problem("value", m));
                    ok = false;
                    None
                }
            }
        };
        if !ok {
            continue;
        }
        let l = &mut layouts[li];
        match kind.as_str() {
            "text" => {
                l.lines.push(Line::Text(label));
                r.sites.layout_rows[li].lines.push((row.n, Vec::new()));
                last.remove(&li);
            }
            "item" => {
                let mut parts = Vec::new();
                let mut rows = Vec::new();
                if let Some(value) = value {
                    parts.push(Part {
                        label: String::new(),
                        value,
                        optional,
                    });
                    rows.push(row.n);
                } else if optional {
                    r.problems.push(c.problem(
                        "optional",
                        "optional applies to the item's value, and this item has none here".into(),
                    ));
                }
                l.lines.push(Line::Item { no, label, parts });
                r.sites.layout_rows[li].lines.push((row.n, rows));
                last.insert(li, (false, l.lines.len() - 1));
            }
            "table" => {
                let columns: Vec<String> = c
                    .value("columns")
                    .split('|')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
                let rows = r.number(&c, "rows").unwrap_or(0) as usize;
                l.lines.push(Line::Table {
                    no,
                    label,
                    columns,
                    rows,
                });
                r.sites.layout_rows[li].lines.push((row.n, Vec::new()));
                last.remove(&li);
            }
            "signature" => {
                let Some(name) = value else {
                    r.problems.push(c.problem(
                        "value",
                        "a signature block needs the name written under it (a value, e.g. requester.full_name)".into(),
                    ));
                    continue;
                };
                let thumb = c.value("thumb_note");
                l.signatures.push(Signature {
                    title: label,
                    note: c.value("note").to_string(),
                    lines: Vec::new(),
                    name,
                    thumb_note: (!thumb.trim().is_empty()).then(|| thumb.to_string()),
                });
                r.sites.layout_rows[li].signatures.push((row.n, Vec::new()));
                last.insert(li, (true, l.signatures.len() - 1));
            }
            _ => {
                // part
                let Some(value) = value else {
                    r.problems
                        .push(c.problem("value", "a part needs its value".into()));
                    continue;
                };
                let part = Part {
                    label,
                    value,
                    optional,
                };
                match last.get(&li) {
                    Some((false, i)) => {
                        if let Line::Item { parts, .. } = &mut l.lines[*i] {
                            parts.push(part);
                        }
                        r.sites.layout_rows[li].lines[*i].1.push(row.n);
                    }
                    Some((true, i)) => {
                        l.signatures[*i].lines.push(part);
                        r.sites.layout_rows[li].signatures[*i].1.push(row.n);
                    }
                    None => r.problems.push(c.problem(
                        "type",
                        "a part row follows the item or signature row it belongs to".into(),
                    )),
                }
            }
        }
    }
    layouts
}

fn empty_text() -> Text {
    Text {
        vi: String::new(),
        en: String::new(),
        more: BTreeMap::new(),
        audio: BTreeMap::new(),
    }
}
