//! What can be found wrong in a package read from sheets, each at its sheet, row and column: unknown
//! fields, keys defined twice, conditions and checks that can never hold or pass, values a field itself
//! would refuse, text that is not NFC. Then the package's own check (`ProcedurePackage::check_form`, the
//! one the hubs run) as a last net, its message placed at the nearest sheet and row.

use std::collections::{BTreeMap, BTreeSet};

use protocol::catalogue::{
    Condition, FieldDef, FieldGroup, FieldKind, HubValue, ProcedureDef, Transform,
};
use protocol::package::ProcedurePackage;
use protocol::validate::{validate, Stage};
use unicode_normalization::UnicodeNormalization;

use super::read::Sites;
use super::sheet::Book;
use super::Problem;

/// A procedure, group or role id: 1 to 60 of `a-z 0-9 - _`.
fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 60
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A field key: dotted words of `a-z 0-9 _`.
fn is_field_key(s: &str) -> bool {
    s.len() <= 100
        && s.split('.').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

fn kind_name(k: FieldKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Why `f` could never hold `value` (its own format check, without the age and lateness rules, on a far
/// future day so no date is "in the future"), if it could not.
pub fn refused(f: &FieldDef, value: &str) -> Option<String> {
    if matches!(f.kind, FieldKind::Choice | FieldKind::Sex) {
        if f.options.iter().any(|o| o.value == value) {
            return None;
        }
        let list: Vec<&str> = f.options.iter().map(|o| o.value.as_str()).collect();
        return Some(format!(
            "{value} is not an option of {} (its options: {})",
            f.key,
            list.join(", ")
        ));
    }
    let mut f = f.clone();
    f.max_age_years = None;
    f.late_after_days = None;
    f.required_if = None;
    let key = f.key.clone();
    let def = ProcedureDef {
        id: "x".into(),
        version: 1,
        effective_from: "2000-01-01".into(),
        legal_basis: None,
        title: f.label.clone(),
        authority: f.label.clone(),
        time_limit_working_days: 1,
        time_limit_extended_working_days: None,
        time_limit_note: None,
        time_limit_counting: None,
        groups: vec![FieldGroup {
            id: "g".into(),
            title: f.label.clone(),
            skip_if: None,
            fields: vec![f],
        }],
        documents: Vec::new(),
        checks: Vec::new(),
    };
    let far = time::Date::from_calendar_date(9999, time::Month::December, 31).ok()?;
    let values = BTreeMap::from([(key.clone(), value.to_string())]);
    validate(&def, &values, &[], far, Stage::Draft)
        .into_iter()
        .find(|e| e.field == key && e.is_error())
        .map(|e| {
            format!(
                "{key} can never hold {value:?}: {}",
                e.message_en.trim_end_matches('.')
            )
        })
}

/// The values a condition can be satisfied by, when it lists them (`=`, `in`).
fn listed(c: &Condition) -> Option<BTreeSet<&str>> {
    if let Some(v) = &c.equals {
        return Some(BTreeSet::from([v.as_str()]));
    }
    c.one_of
        .as_ref()
        .map(|l| l.iter().map(String::as_str).collect())
}

/// Whether `a` holding means `b` holds (as far as this simple reading can tell).
fn implies(a: &Condition, b: &Condition) -> bool {
    if a == b {
        return true;
    }
    if a.field != b.field {
        return false;
    }
    match (listed(a), listed(b)) {
        (Some(x), Some(y)) => x.is_subset(&y),
        (Some(x), None) => match (&b.not_equals, b.empty) {
            (Some(n), _) => !x.contains(n.as_str()),
            (None, Some(false)) => true,
            _ => false,
        },
        (None, None) => a.not_equals.is_some() && b.empty == Some(false),
        (None, Some(_)) => false,
    }
}

/// Every problem found in `p` (read from `book`), placed by `sites`. `earlier` are the problems reading
/// found: the package's own check only adds what is not already placed at the same row.
pub fn lint(book: &Book, p: &ProcedurePackage, sites: &Sites, earlier: &[Problem]) -> Vec<Problem> {
    let mut out = Vec::new();
    let d = &p.procedure;
    let fields: BTreeMap<&str, &FieldDef> = d.fields().map(|f| (f.key.as_str(), f)).collect();

    // Text in every cell is NFC.
    for t in book.values() {
        for (row, col, v) in t.cells() {
            if v.nfc().collect::<String>() != v {
                // The first word written decomposed, shown composed (as it should be).
                let bad: String = v
                    .split_whitespace()
                    .find(|w| w.nfc().collect::<String>() != *w)
                    .unwrap_or(v)
                    .nfc()
                    .collect();
                out.push(t.at(
                    row,
                    if col.is_empty() { "?" } else { col },
                    format!(
                        "the text is not NFC: the letters of {bad:?} are decomposed (a base letter plus combining accents); retype it, or convert the text to precomposed Unicode (NFC)"
                    ),
                ));
            }
            if v.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            {
                out.push(t.at(row, col, "the cell holds control characters"));
            }
        }
    }

    // settings
    if let Some(row) = sites.settings.get("id") {
        if !is_id(&d.id) {
            out.push(sites.at(
                "settings",
                *row,
                "value",
                format!("id: {:?} is not 1 to 60 of a-z, 0-9, - and _", d.id),
            ));
        }
    }
    if let Some(row) = sites.settings.get("version") {
        if d.version == 0 {
            out.push(sites.at("settings", *row, "value", "version: versions count from 1"));
        }
    }
    if let (Some(e), Some(row)) = (
        d.time_limit_extended_working_days,
        sites.settings.get("time_limit_extended_working_days"),
    ) {
        if e < d.time_limit_working_days {
            out.push(sites.at(
                "settings",
                *row,
                "value",
                format!(
                    "time_limit_extended_working_days: {e} is shorter than the time limit, {}",
                    d.time_limit_working_days
                ),
            ));
        }
    }

    // keys
    for (id, row) in &sites.groups {
        if !is_id(id) {
            out.push(sites.at(
                "groups",
                *row,
                "id",
                format!("{id:?} is not 1 to 60 of a-z, 0-9, - and _"),
            ));
        }
    }
    for (key, row) in &sites.fields {
        if !is_field_key(key) {
            out.push(sites.at(
                "fields",
                *row,
                "key",
                format!("{key:?} is not a field key: words of a-z, 0-9 and _ joined by dots (mother.full_name)"),
            ));
        }
    }
    for (role, row) in &sites.documents {
        if !is_id(role) {
            out.push(sites.at(
                "documents",
                *row,
                "role",
                format!("{role:?} is not 1 to 60 of a-z, 0-9, - and _"),
            ));
        }
    }
    for (kind, row) in &sites.results {
        if !is_id(kind) || kind.len() > 40 {
            out.push(sites.at(
                "results",
                *row,
                "kind",
                format!("{kind:?} is not 1 to 40 of a-z, 0-9, - and _"),
            ));
        }
    }

    // fields
    for g in &d.groups {
        for f in &g.fields {
            let Some(&row) = sites.fields.get(&f.key) else {
                continue;
            };
            let at = |col: &str, m: String| sites.at("fields", row, col, m);
            let kind = kind_name(f.kind);
            let has_list = sites.field_lists.contains_key(&f.key);
            match f.kind {
                FieldKind::Choice | FieldKind::Sex if !has_list => out.push(at(
                    "choices",
                    format!("a {kind} field needs its list of options: name a list of the choices sheet"),
                )),
                FieldKind::Choice | FieldKind::Sex => {}
                _ if has_list => out.push(at(
                    "choices",
                    format!("only choice and sex fields have options, and this one is {kind}"),
                )),
                _ => {}
            }
            if f.kind == FieldKind::Sex && !f.options.is_empty() {
                let values: Vec<&str> = f.options.iter().map(|o| o.value.as_str()).collect();
                if values != ["male", "female"] {
                    out.push(at(
                        "choices",
                        format!(
                            "a sex field's options are male, female (in that order), not {}",
                            values.join(", ")
                        ),
                    ));
                }
            }
            if f.kind == FieldKind::Number {
                if f.min.is_none() {
                    out.push(at("min", "a number field needs min (and max)".into()));
                }
                if f.max.is_none() {
                    out.push(at("max", "a number field needs max (and min)".into()));
                }
                if let (Some(min), Some(max)) = (f.min, f.max) {
                    if min > max {
                        out.push(at(
                            "min",
                            format!("min {min} is more than max {max}: no value can pass"),
                        ));
                    }
                }
            } else {
                for (col, v) in [("min", f.min), ("max", f.max)] {
                    if v.is_some() {
                        out.push(at(
                            col,
                            format!("only number fields have {col}, and this one is {kind}"),
                        ));
                    }
                }
            }
            if f.max_age_years.is_some()
                && !matches!(f.kind, FieldKind::Date | FieldKind::YearOrDate)
            {
                out.push(at("max_age_years", format!("only date and year_or_date fields have an age limit, and this one is {kind}")));
            }
            if f.late_after_days.is_some() && f.kind != FieldKind::Date {
                out.push(at(
                    "late_after_days",
                    format!("only date fields have a lateness limit, and this one is {kind}"),
                ));
            }
            if f.max_len == Some(0) {
                out.push(at("max_len", "max_len 0: no value would fit".into()));
            }
            if let Some(v) = &f.default {
                if !(matches!(f.kind, FieldKind::Choice | FieldKind::Sex) && f.options.is_empty()) {
                    if let Some(why) = refused(f, v) {
                        out.push(at(
                            "default",
                            format!("the form would start with a value it refuses: {why}"),
                        ));
                    }
                }
            }
            if f.default_from == Some(HubValue::HubCommune) && f.kind != FieldKind::Commune {
                out.push(at(
                    "default_from",
                    format!("hub_commune is a commune code: it fits only a commune field, and this one is {kind}"),
                ));
            }
            if let Some(s) = &f.shown_if {
                if f.required {
                    out.push(at(
                        "shown_if",
                        format!(
                            "a required field hidden while `{}` does not hold could never be filled in, so the dossier could never be sealed: use required_if with the same condition",
                            super::expr::write_condition(s)
                        ),
                    ));
                } else if let Some(r) = &f.required_if {
                    if !implies(r, s) {
                        out.push(at(
                            "shown_if",
                            format!(
                                "the field is required when `{}` but hidden unless `{}`: when only the first holds the dossier could never be sealed",
                                super::expr::write_condition(r),
                                super::expr::write_condition(s)
                            ),
                        ));
                    }
                }
            }
            if let Some(skip) = &g.skip_if {
                if f.required && f.derive.is_empty() {
                    out.push(at(
                        "required",
                        format!(
                            "its group {} is skipped when `{}`, and then nothing fills this required field: add a derivation for it, or make it not required",
                            g.id,
                            super::expr::write_condition(skip)
                        ),
                    ));
                }
            }
        }
    }

    // conditions
    for c in &sites.conds {
        let at = |m: String| Problem {
            sheet: c.sheet.clone(),
            row: Some(c.row),
            column: Some(c.column.to_string()),
            message: m,
        };
        let Some(other) = fields.get(c.cond.field.as_str()) else {
            out.push(at(format!(
                "unknown field {} (not in the fields sheet)",
                c.cond.field
            )));
            continue;
        };
        if c.owner.as_deref() == Some(c.cond.field.as_str()) && c.column != "when" {
            out.push(at(format!(
                "the condition of {} is about the field itself",
                c.cond.field
            )));
            continue;
        }
        let values: Vec<&str> = c
            .cond
            .equals
            .iter()
            .chain(c.cond.not_equals.iter())
            .chain(c.cond.one_of.iter().flatten())
            .map(String::as_str)
            .collect();
        for v in values {
            if let Some(why) = refused(other, v) {
                out.push(at(format!(
                    "the condition can never hold as written: {why}"
                )));
            }
        }
    }

    // derivations
    for s in &sites.derivs {
        let at = |col: &str, m: String| sites.at("derivations", s.row, col, m);
        let Some(target) = fields.get(s.field.as_str()) else {
            continue;
        };
        let Some(src) = fields.get(s.rule.from.as_str()) else {
            out.push(at(
                "from",
                format!("unknown field {} (not in the fields sheet)", s.rule.from),
            ));
            continue;
        };
        if src.key == target.key {
            out.push(at(
                "from",
                format!("{} cannot derive from itself", target.key),
            ));
            continue;
        }
        use FieldKind as K;
        let textual = |k: K| matches!(k, K::Text | K::LongText | K::Address);
        let (sk, tk) = (src.kind, target.kind);
        let fits = match s.rule.transform {
            Some(Transform::PinBirthYear) => {
                sk == K::Pin && matches!(tk, K::YearOrDate | K::Number | K::Text)
            }
            Some(Transform::PinSex) => sk == K::Pin && matches!(tk, K::Sex | K::Text),
            Some(Transform::Uppercase) => {
                !matches!(sk, K::Date | K::YearOrDate | K::Number | K::Confirm)
                    && (textual(tk) || tk == K::Name)
            }
            None => sk == tk || textual(tk) || (sk == K::Date && tk == K::YearOrDate),
        };
        if !fits {
            let how = s
                .rule
                .transform
                .map(|t| format!("{}(…) of ", super::expr::transform_name(t)))
                .unwrap_or_default();
            out.push(at(
                "from",
                format!(
                    "{how}{} ({}) can never give a value {} ({}) accepts",
                    src.key,
                    kind_name(sk),
                    target.key,
                    kind_name(tk)
                ),
            ));
        } else if sk == K::Choice && tk == K::Choice && s.rule.transform.is_none() {
            let common = src
                .options
                .iter()
                .any(|o| target.options.iter().any(|t| t.value == o.value));
            if !common {
                out.push(at(
                    "from",
                    format!("{} and {} share no option value: the derivation can never give an accepted value", src.key, target.key),
                ));
            }
        }
    }
    if let Some(key) = cycle(d) {
        let row = sites
            .derivs
            .iter()
            .find(|s| s.field == key)
            .map(|s| s.row)
            .unwrap_or(1);
        out.push(sites.at(
            "derivations",
            row,
            "field",
            format!("the derivations of {key} lead back to it (a cycle)"),
        ));
    }

    // checks
    for s in &sites.checks {
        for (col, key) in &s.fields {
            let at = |m: String| sites.at("checks", s.row, col, m);
            let Some(f) = fields.get(key.as_str()) else {
                out.push(at(format!("unknown field {key} (not in the fields sheet)")));
                continue;
            };
            use FieldKind as K;
            let want: &[K] = match col.as_str() {
                "pin" => &[K::Pin],
                "sex_field" => &[K::Sex],
                _ => &[K::Date, K::YearOrDate],
            };
            if !want.contains(&f.kind) {
                let names: Vec<String> = want.iter().map(|k| kind_name(*k)).collect();
                out.push(at(format!(
                    "{key} is {}, and {col} needs a {} field: the check could never pass",
                    kind_name(f.kind),
                    names.join(" or ")
                )));
            }
        }
        if let protocol::catalogue::CrossCheck::ParentAge {
            min_years,
            max_years,
            ..
        } = &s.check
        {
            if min_years > max_years {
                out.push(sites.at(
                    "checks",
                    s.row,
                    "min_years",
                    format!("min_years {min_years} is more than max_years {max_years}: the check could never pass"),
                ));
            }
        }
    }

    // exports and layouts: every error of the package's own mapping check, at its row
    let kinds: BTreeSet<&str> = p.results.iter().map(|r| r.kind.as_str()).collect();
    for e in protocol::package::export::errors(&p.exports, d, &kinds)
        .into_iter()
        .chain(protocol::package::layout::errors(&p.layouts, d, &kinds))
    {
        out.push(place_mapping(&e, sites));
    }

    // guide: one purpose and one fees row, someone who may file, enough steps
    if p.guide.is_some() {
        use super::read::GuidePart;
        use protocol::package::{MAX_GUIDE_LINES, MIN_GUIDE_STEPS};
        let count = |part: GuidePart| sites.guide_rows.iter().filter(|(q, _)| *q == part).count();
        let sheet = sites.sheet("guide");
        for (part, what) in [
            (GuidePart::Purpose, "what the procedure gives"),
            (GuidePart::Fees, "what it costs (say so when it is free)"),
        ] {
            if count(part) == 0 {
                out.push(Problem::sheet(
                    &sheet,
                    format!(
                        "the guide has no {w} row: add one with part {w} saying {what}",
                        w = part.word()
                    ),
                ));
            }
        }
        let who = count(GuidePart::Who);
        if who == 0 || who > MAX_GUIDE_LINES {
            out.push(Problem::sheet(
                &sheet,
                format!("the guide says who may file in 1 to {MAX_GUIDE_LINES} rows with part who, not {who}"),
            ));
        }
        let steps = count(GuidePart::Step);
        if !(MIN_GUIDE_STEPS..=MAX_GUIDE_LINES).contains(&steps) {
            out.push(Problem::sheet(
                &sheet,
                format!("the guide has {MIN_GUIDE_STEPS} to {MAX_GUIDE_LINES} rows with part step, not {steps}"),
            ));
        }
    }

    // The package's own check, for anything the rules above do not cover.
    if let Err(e) = p.check_form() {
        let msg = e.to_string();
        let problem = place(&msg, book, sites);
        let all: Vec<&Problem> = earlier.iter().chain(out.iter()).collect();
        let covered = all
            .iter()
            .any(|q| q.sheet == problem.sheet && (problem.row.is_none() || q.row == problem.row));
        // With other errors about, an unplaced message is most likely their echo.
        if !covered && (all.is_empty() || problem.row.is_some()) {
            out.push(problem);
        }
    }
    out
}

/// Places an error of the export mappings or print layouts at its sheet, row and column.
fn place_mapping(e: &protocol::package::export::MappingError, sites: &Sites) -> Problem {
    // `at` is e.g. `value.first_of[1]`, `parts[2].value`, `signatures[0].lines[1].value`, `title`.
    let (head, inner) = match e.at.split_once('.') {
        Some((h, rest)) => (h.to_string(), rest.to_string()),
        None => (e.at.clone(), String::new()),
    };
    let index_in = |s: &str, name: &str| -> Option<usize> {
        s.strip_prefix(name)?
            .strip_prefix('[')?
            .split(']')
            .next()?
            .parse()
            .ok()
    };
    // What is left of `at` once the sheet, row and column are known: a place inside the value.
    let located = [
        r"^value",
        r"^name",
        r"^parts\[\d+\]\.value",
        r"^signatures\[\d+\]\.lines\[\d+\]\.value",
        r"^signatures\[\d+\]\.(name|title)",
        r"^(addressee|place|form|from|title|oath|id|target|items|signatures|text|item.label|table)",
    ];
    let inside = located
        .iter()
        .find_map(|p| strip_pattern(&e.at, p))
        .unwrap_or(e.at.as_str())
        .trim_start_matches('.');
    // "no field X in id vN" (the package check's words) as the other sheets say it.
    let said = match e.message.strip_prefix("no field ") {
        Some(rest) => format!(
            "unknown field {} (not in the fields sheet)",
            rest.split(' ').next().unwrap_or(rest)
        ),
        None => e.message.clone(),
    };
    let message = if inside.is_empty() {
        said
    } else {
        format!("{said} (in {inside})")
    };
    if e.part == "exports" {
        let Some((sys_row, items)) = sites.export_rows.get(e.index) else {
            return Problem::sheet(&sites.sheet("exports"), message);
        };
        return match e.item.and_then(|i| items.get(i)) {
            Some(row) => {
                let col = if head == "name" { "name::vi" } else { "value" };
                sites.at("export_items", *row, col, message)
            }
            None => {
                let col = match head.as_str() {
                    "form" => "form::vi",
                    "target" => "target::vi",
                    _ => "system",
                };
                sites.at("exports", *sys_row, col, message)
            }
        };
    }
    let Some(l) = sites.layout_rows.get(e.index) else {
        return Problem::sheet(&sites.sheet("layouts"), message);
    };
    if let Some((row, parts)) = e.item.and_then(|i| l.lines.get(i)) {
        let row = index_in(&head, "parts")
            .and_then(|j| parts.get(j))
            .unwrap_or(row);
        let col = match head.as_str() {
            "table" => "columns",
            h if h.starts_with("parts") => "value",
            _ => "label",
        };
        return sites.at("layout_lines", *row, col, message);
    }
    if let Some(i) = index_in(&head, "signatures") {
        if let Some((row, parts)) = l.signatures.get(i) {
            let part = index_in(&inner, "lines").and_then(|j| parts.get(j));
            let col = if inner == "title" { "label" } else { "value" };
            return sites.at("layout_lines", *part.unwrap_or(row), col, message);
        }
    }
    let col = match head.as_str() {
        "signatures" => "form",
        c if super::read::LAYOUT_COLUMNS.contains(&c) => c,
        _ => "form",
    };
    sites.at("layouts", l.row, col, message)
}

/// `s` without a leading match of a tiny pattern (literal text, `\\d+` for digits, `\\[ \\] \\.` escaped,
/// `(a|b)` alternatives at the end), or `None` when it does not start with one.
fn strip_pattern<'a>(s: &'a str, pattern: &str) -> Option<&'a str> {
    let mut rest = s;
    let mut p = pattern.strip_prefix('^').unwrap_or(pattern);
    while !p.is_empty() {
        if let Some(after) = p.strip_prefix(r"\d+") {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            rest = &rest[n..];
            p = after;
        } else if let Some(after) = p.strip_prefix('\\') {
            let c = after.chars().next()?;
            rest = rest.strip_prefix(c)?;
            p = &after[c.len_utf8()..];
        } else if let Some(group) = p.strip_prefix('(') {
            let (alts, after) = group.split_once(')')?;
            let alt = alts.split('|').find(|a| rest.starts_with(a))?;
            rest = &rest[alt.len()..];
            p = after;
        } else {
            let c = p.chars().next()?;
            rest = rest.strip_prefix(c)?;
            p = &p[c.len_utf8()..];
        }
    }
    Some(rest)
}

/// A field whose derivations lead back to itself.
fn cycle(d: &ProcedureDef) -> Option<String> {
    fn visit(d: &ProcedureDef, key: &str, state: &mut BTreeMap<String, u8>) -> Option<String> {
        match state.get(key) {
            Some(1) => return Some(key.to_string()),
            Some(_) => return None,
            None => {}
        }
        state.insert(key.to_string(), 1);
        if let Some(f) = d.field(key) {
            for r in &f.derive {
                if r.from != key {
                    if let Some(k) = visit(d, &r.from, state) {
                        return Some(k);
                    }
                }
            }
        }
        state.insert(key.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    d.fields().find_map(|f| visit(d, &f.key, &mut state))
}

/// Places a message of `check_form` at the nearest sheet and row.
pub(super) fn place(msg: &str, book: &Book, sites: &Sites) -> Problem {
    // "{id} v{version}: {rest}" or a bare message.
    let rest = msg
        .split_once(": ")
        .filter(|(head, _)| head.contains(" v"))
        .map(|(_, r)| r)
        .unwrap_or(msg);
    let word_after = |prefix: &str| {
        rest.strip_prefix(prefix)
            .map(|r| r.split([' ', ':']).next().unwrap_or("").to_string())
    };
    let row_in = |sheet: &str, map: &BTreeMap<String, u32>, key: Option<String>| {
        let row = key.as_ref().and_then(|k| map.get(k)).copied();
        Problem {
            sheet: sites.sheet(sheet),
            row,
            column: None,
            message: rest.to_string(),
        }
    };
    if let Some(k) = word_after("field ").or_else(|| word_after("duplicate field key ")) {
        return row_in("fields", &sites.fields, Some(k));
    }
    if let Some(k) = word_after("group ") {
        return row_in("groups", &sites.groups, Some(k));
    }
    if let Some(k) = word_after("document ").or_else(|| word_after("duplicate document role ")) {
        return row_in("documents", &sites.documents, Some(k));
    }
    if rest.starts_with("check ") {
        return row_in("checks", &BTreeMap::new(), None);
    }
    if rest.starts_with("result kind") {
        return row_in("results", &BTreeMap::new(), None);
    }
    if rest.starts_with("exports") {
        return row_in("exports", &BTreeMap::new(), None);
    }
    if rest.starts_with("layouts") {
        return row_in("layouts", &BTreeMap::new(), None);
    }
    if rest.starts_with("the guide") || rest.starts_with("guide text") {
        return row_in("guide", &BTreeMap::new(), None);
    }
    if let Some(quoted) = rest
        .strip_prefix("label ")
        .and_then(|r| r.rsplit_once(" is empty"))
        .and_then(|(q, _)| serde_json::from_str::<String>(q).ok())
    {
        for t in book.values() {
            if let Some((row, col, _)) = t.cells().find(|(_, _, v)| *v == quoted) {
                return t.at(row, col, rest);
            }
        }
    }
    row_in("settings", &BTreeMap::new(), None)
}
