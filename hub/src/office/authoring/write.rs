//! Package → sheets: the CSV sheets `hub procedure sheets` writes, which `read` turns back into the same
//! package. Every column of a sheet is written (also when empty), so two versions' sheets diff cleanly.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use protocol::catalogue::{OptionDef, Text};
use protocol::package::ProcedurePackage;

use super::expr;
use protocol::package::layout::{Line, Part};

use super::read::{columns, CHECK_COLUMNS, LAYOUT_COLUMNS, LINE_COLUMNS};

type Records = Vec<Vec<String>>;

/// The snake_case name of a unit enum value (a field kind, a visit…).
fn name_of<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "" }.to_string()
}

fn num(n: Option<u32>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// The languages beyond vi/en of some texts: (words, audio), sorted.
fn languages<'a>(texts: impl Iterator<Item = &'a Text>) -> (Vec<String>, Vec<String>) {
    let (mut more, mut audio) = (BTreeSet::new(), BTreeSet::new());
    for t in texts {
        more.extend(t.more.keys().cloned());
        audio.extend(t.audio.keys().cloned());
    }
    (more.into_iter().collect(), audio.into_iter().collect())
}

/// The column names of text `name` for these languages.
fn text_columns(name: &str, langs: &(Vec<String>, Vec<String>)) -> Vec<String> {
    let mut v = vec![format!("{name}::vi"), format!("{name}::en")];
    v.extend(langs.0.iter().map(|l| format!("{name}::{l}")));
    v.extend(langs.1.iter().map(|l| format!("{name}::audio::{l}")));
    v
}

/// The cells of a text (or of none) for these languages.
fn text_cells(t: Option<&Text>, langs: &(Vec<String>, Vec<String>)) -> Vec<String> {
    let get = |m: Option<&BTreeMap<String, String>>, l: &str| {
        m.and_then(|m| m.get(l)).cloned().unwrap_or_default()
    };
    let mut v = vec![
        t.map(|t| t.vi.clone()).unwrap_or_default(),
        t.map(|t| t.en.clone()).unwrap_or_default(),
    ];
    v.extend(langs.0.iter().map(|l| get(t.map(|t| &t.more), l)));
    v.extend(langs.1.iter().map(|l| get(t.map(|t| &t.audio), l)));
    v
}

/// Texts whose further languages the sheets cannot tell from vi/en (`more["vi"]`) are refused.
fn expressible(t: &Text, what: &str) -> anyhow::Result<()> {
    for l in t.more.keys() {
        if l == "vi" || l == "en" || !super::read::is_language(l) {
            bail!("{what}: the language tag {l:?} cannot be written as a column");
        }
    }
    for l in t.audio.keys() {
        if !super::read::is_language(l) && l != "vi" && l != "en" {
            bail!("{what}: the audio language tag {l:?} cannot be written as a column");
        }
    }
    Ok(())
}

/// A table: header from `plain` columns and texts in the sheet's column order.
struct Builder {
    header: Vec<String>,
    rows: Records,
}

impl Builder {
    fn new(header: Vec<String>) -> Builder {
        Builder {
            header,
            rows: Vec::new(),
        }
    }
    fn done(self) -> Records {
        let mut v = vec![self.header];
        v.extend(self.rows);
        v
    }
}

/// Every sheet of `p`, in order; sheets with nothing in them are left out (except the three required).
pub fn sheets(p: &ProcedurePackage) -> anyhow::Result<Vec<(&'static str, Records)>> {
    let d = &p.procedure;
    let mut all_texts: Vec<(&Text, String)> = vec![
        (&d.title, "title".into()),
        (&d.authority, "authority".into()),
    ];
    all_texts.extend(d.legal_basis.iter().map(|t| (t, "legal_basis".into())));
    all_texts.extend(
        d.time_limit_note
            .iter()
            .map(|t| (t, "time_limit_note".into())),
    );
    for g in &d.groups {
        all_texts.push((&g.title, format!("group {}", g.id)));
        for f in &g.fields {
            all_texts.push((&f.label, format!("field {}", f.key)));
            all_texts.extend(f.help.iter().map(|t| (t, format!("field {}", f.key))));
            all_texts.extend(
                f.options
                    .iter()
                    .map(|o| (&o.label, format!("field {}", f.key))),
            );
        }
    }
    for doc in &d.documents {
        all_texts.push((&doc.label, format!("document {}", doc.role)));
        all_texts.extend(
            doc.help
                .iter()
                .map(|t| (t, format!("document {}", doc.role))),
        );
    }
    for r in &p.results {
        all_texts.push((&r.label, format!("result {}", r.kind)));
    }
    all_texts.extend(
        p.guide
            .iter()
            .flat_map(|g| g.texts().map(|t| (t, "guide".into()))),
    );
    for (t, what) in &all_texts {
        expressible(t, what)?;
    }
    let mut out = Vec::new();

    // settings
    let mut s = Builder::new(vec!["setting".into(), "value".into()]);
    let mut set = |k: &str, v: String| {
        if !v.is_empty() {
            s.rows.push(vec![k.to_string(), v]);
        }
    };
    set("id", d.id.clone());
    set("version", d.version.to_string());
    set("effective_from", d.effective_from.clone());
    set("menu_order", p.menu_order.to_string());
    set(
        "time_limit_working_days",
        d.time_limit_working_days.to_string(),
    );
    set(
        "time_limit_extended_working_days",
        num(d.time_limit_extended_working_days),
    );
    set(
        "time_limit_counting",
        match d.time_limit_counting {
            None => String::new(),
            Some(protocol::DayOne::FromNextDay) => "from_next_day".into(),
            Some(protocol::DayOne::ReceiptDayBefore15h) => "receipt_day_before_15h".into(),
        },
    );
    for (name, t) in [
        ("title", Some(&d.title)),
        ("authority", Some(&d.authority)),
        ("legal_basis", d.legal_basis.as_ref()),
        ("time_limit_note", d.time_limit_note.as_ref()),
    ] {
        let Some(t) = t else { continue };
        let langs = languages(std::iter::once(t));
        for (c, v) in text_columns(name, &langs)
            .into_iter()
            .zip(text_cells(Some(t), &langs))
        {
            set(&c, v);
        }
    }
    out.push(("settings", s.done()));

    // groups
    let langs = languages(d.groups.iter().map(|g| &g.title));
    let mut header = vec!["id".to_string()];
    header.extend(text_columns("title", &langs));
    header.push("skip_if".into());
    let mut g = Builder::new(header);
    for grp in &d.groups {
        let mut row = vec![grp.id.clone()];
        row.extend(text_cells(Some(&grp.title), &langs));
        row.push(
            grp.skip_if
                .as_ref()
                .map(expr::write_condition)
                .unwrap_or_default(),
        );
        g.rows.push(row);
    }
    out.push(("groups", g.done()));

    // choice lists: named after the last part of the field key, shared by fields with the same list
    let mut lists: Vec<(String, &Vec<OptionDef>)> = Vec::new();
    let mut list_of: BTreeMap<&str, String> = BTreeMap::new();
    for f in d.fields().filter(|f| !f.options.is_empty()) {
        let short = f.key.rsplit('.').next().unwrap_or(&f.key).to_string();
        let mut name = None;
        for candidate in [short, f.key.clone()]
            .into_iter()
            .chain((2..).map(|i| format!("{}_{i}", f.key)))
        {
            match lists.iter().find(|(n, _)| *n == candidate) {
                Some((_, o)) if **o == f.options => {
                    name = Some(candidate);
                    break;
                }
                Some(_) => continue,
                None => {
                    lists.push((candidate.clone(), &f.options));
                    name = Some(candidate);
                    break;
                }
            }
        }
        list_of.insert(&f.key, name.unwrap_or_default());
    }

    // fields
    let fields: Vec<_> = d
        .groups
        .iter()
        .flat_map(|g| g.fields.iter().map(move |f| (g, f)))
        .collect();
    let label_langs = languages(fields.iter().map(|(_, f)| &f.label));
    let help_langs = languages(fields.iter().filter_map(|(_, f)| f.help.as_ref()));
    let (plain, _) = columns("fields");
    let mut header: Vec<String> = vec!["group".into(), "key".into(), "kind".into()];
    header.extend(text_columns("label", &label_langs));
    header.extend(plain[3..].iter().map(|s| s.to_string()));
    header.extend(text_columns("help", &help_langs));
    let mut fb = Builder::new(header);
    for (grp, f) in &fields {
        let mut row = vec![grp.id.clone(), f.key.clone(), name_of(&f.kind)];
        row.extend(text_cells(Some(&f.label), &label_langs));
        let cond = |c: &Option<protocol::catalogue::Condition>| {
            c.as_ref().map(expr::write_condition).unwrap_or_default()
        };
        row.extend([
            yes(f.required),
            cond(&f.required_if),
            cond(&f.shown_if),
            list_of.get(f.key.as_str()).cloned().unwrap_or_default(),
            f.default.clone().unwrap_or_default(),
            f.default_from.map(|h| name_of(&h)).unwrap_or_default(),
            num(f.min),
            num(f.max),
            num(f.max_age_years),
            num(f.late_after_days),
            num(f.max_len),
        ]);
        row.extend(text_cells(f.help.as_ref(), &help_langs));
        fb.rows.push(row);
    }
    out.push(("fields", fb.done()));

    // choices
    let langs = languages(lists.iter().flat_map(|(_, o)| o.iter().map(|o| &o.label)));
    let mut header = vec!["list".to_string(), "value".into()];
    header.extend(text_columns("label", &langs));
    let mut cb = Builder::new(header);
    for (name, options) in &lists {
        for o in options.iter() {
            let mut row = vec![name.clone(), o.value.clone()];
            row.extend(text_cells(Some(&o.label), &langs));
            cb.rows.push(row);
        }
    }
    if !cb.rows.is_empty() {
        out.push(("choices", cb.done()));
    }

    // derivations
    let mut db = Builder::new(vec!["field".into(), "from".into(), "when".into()]);
    for f in d.fields() {
        for r in &f.derive {
            db.rows.push(vec![
                f.key.clone(),
                expr::write_source(&r.from, r.transform),
                r.when
                    .as_ref()
                    .map(expr::write_condition)
                    .unwrap_or_default(),
            ]);
        }
    }
    if !db.rows.is_empty() {
        out.push(("derivations", db.done()));
    }

    // checks
    let mut kb = Builder::new(CHECK_COLUMNS.iter().map(|s| s.to_string()).collect());
    for c in &d.checks {
        let v = serde_json::to_value(c)?;
        let obj = v.as_object().cloned().unwrap_or_default();
        if let Some(k) = obj.keys().find(|k| !CHECK_COLUMNS.contains(&k.as_str())) {
            bail!("check {c:?}: {k} has no column in the checks sheet");
        }
        let row = CHECK_COLUMNS
            .iter()
            .map(|col| match obj.get(*col) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            })
            .collect();
        kb.rows.push(row);
    }
    if !kb.rows.is_empty() {
        out.push(("checks", kb.done()));
    }

    // documents
    let label_langs = languages(d.documents.iter().map(|x| &x.label));
    let help_langs = languages(d.documents.iter().filter_map(|x| x.help.as_ref()));
    let mut header = vec!["role".to_string()];
    header.extend(text_columns("label", &label_langs));
    header.extend(["required", "required_if", "original", "visit"].map(String::from));
    header.extend(text_columns("help", &help_langs));
    let mut ob = Builder::new(header);
    for x in &d.documents {
        let mut row = vec![x.role.clone()];
        row.extend(text_cells(Some(&x.label), &label_langs));
        row.extend([
            yes(x.required),
            x.required_if
                .as_ref()
                .map(expr::write_condition)
                .unwrap_or_default(),
            yes(x.original),
            name_of(&x.visit),
        ]);
        row.extend(text_cells(x.help.as_ref(), &help_langs));
        ob.rows.push(row);
    }
    if !ob.rows.is_empty() {
        out.push(("documents", ob.done()));
    }

    // results
    let langs = languages(p.results.iter().map(|r| &r.label));
    let mut header = vec!["kind".to_string()];
    header.extend(text_columns("label", &langs));
    let mut rb = Builder::new(header);
    for r in &p.results {
        let mut row = vec![r.kind.clone()];
        row.extend(text_cells(Some(&r.label), &langs));
        rb.rows.push(row);
    }
    if !rb.rows.is_empty() {
        out.push(("results", rb.done()));
    }

    // exports: the systems, then their items
    let langs = languages(p.exports.iter().flat_map(|s| [&s.form, &s.target]));
    let mut header = vec!["system".to_string()];
    header.extend(text_columns("form", &langs));
    header.extend(text_columns("target", &langs));
    let export_when = p.exports.iter().any(|s| s.when.is_some());
    if export_when {
        header.push("when".into());
    }
    let mut eb = Builder::new(header);
    let item_langs = languages(
        p.exports
            .iter()
            .flat_map(|s| s.items.iter().map(|i| &i.name)),
    );
    let mut header = vec!["system".to_string()];
    header.extend(text_columns("name", &item_langs));
    header.push("value".into());
    let mut ib = Builder::new(header);
    for sys in &p.exports {
        expressible(&sys.form, &format!("export {}", sys.id))?;
        expressible(&sys.target, &format!("export {}", sys.id))?;
        let mut row = vec![sys.id.clone()];
        row.extend(text_cells(Some(&sys.form), &langs));
        row.extend(text_cells(Some(&sys.target), &langs));
        if export_when {
            row.push(
                sys.when
                    .as_ref()
                    .map(expr::write_condition)
                    .unwrap_or_default(),
            );
        }
        eb.rows.push(row);
        for it in &sys.items {
            expressible(&it.name, &format!("export {}", sys.id))?;
            let mut row = vec![sys.id.clone()];
            row.extend(text_cells(Some(&it.name), &item_langs));
            row.push(expr::write_export_value(&it.value));
            ib.rows.push(row);
        }
    }
    if !eb.rows.is_empty() {
        out.push(("exports", eb.done()));
        out.push(("export_items", ib.done()));
    }

    // layouts, then their lines
    // The `when` column only when some layout has a condition.
    let layout_when = p.layouts.iter().any(|l| l.when.is_some());
    let layout_columns: Vec<&str> = LAYOUT_COLUMNS
        .iter()
        .copied()
        .filter(|c| *c != "when" || layout_when)
        .collect();
    let mut lb = Builder::new(layout_columns.iter().map(|s| s.to_string()).collect());
    let mut nb = Builder::new(LINE_COLUMNS.iter().map(|s| s.to_string()).collect());
    for l in &p.layouts {
        let row: Vec<String> = layout_columns
            .iter()
            .map(|c| match *c {
                "form" => l.form.clone(),
                "from" => l.from.clone(),
                "form_code" => l.form_code.clone(),
                "title" => l.title.clone(),
                "addressee" => l
                    .addressee
                    .as_ref()
                    .map(expr::write_layout_value)
                    .unwrap_or_default(),
                "oath" => l.oath.clone(),
                "place_prefix" => l.place_prefix.clone(),
                "place" => expr::write_layout_value(&l.place),
                "when" => l
                    .when
                    .as_ref()
                    .map(expr::write_condition)
                    .unwrap_or_default(),
                _ => l.source.clone(),
            })
            .collect();
        lb.rows.push(row);
        // One row of layout_lines from (column, value) pairs.
        let line = |cells: &[(&str, String)]| -> Vec<String> {
            LINE_COLUMNS
                .iter()
                .map(|c| match *c {
                    "form" => l.form.clone(),
                    "from" => l.from.clone(),
                    c => cells
                        .iter()
                        .find(|(k, _)| *k == c)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default(),
                })
                .collect()
        };
        let part_row = |p: &Part| {
            line(&[
                ("type", "part".into()),
                ("label", p.label.clone()),
                ("value", expr::write_layout_value(&p.value)),
                ("optional", yes(p.optional)),
            ])
        };
        for ln in &l.lines {
            match ln {
                Line::Text(t) => nb
                    .rows
                    .push(line(&[("type", "text".into()), ("label", t.clone())])),
                Line::Item { no, label, parts } => {
                    // The first part without a sub-label is written on the item's own row.
                    let own = parts.first().filter(|p| p.label.is_empty());
                    nb.rows.push(line(&[
                        ("type", "item".into()),
                        ("no", no.clone()),
                        ("label", label.clone()),
                        (
                            "value",
                            own.map(|p| expr::write_layout_value(&p.value))
                                .unwrap_or_default(),
                        ),
                        ("optional", yes(own.is_some_and(|p| p.optional))),
                    ]));
                    for p in &parts[usize::from(own.is_some())..] {
                        nb.rows.push(part_row(p));
                    }
                }
                Line::Table {
                    no,
                    label,
                    columns,
                    rows,
                } => {
                    if let Some(c) = columns
                        .iter()
                        .find(|c| c.contains('|') || c.trim() != c.as_str() || c.is_empty())
                    {
                        bail!(
                            "layout {}: the table column {c:?} cannot be written in a | list",
                            l.form
                        );
                    }
                    nb.rows.push(line(&[
                        ("type", "table".into()),
                        ("no", no.clone()),
                        ("label", label.clone()),
                        ("columns", columns.join(" | ")),
                        ("rows", rows.to_string()),
                    ]))
                }
            }
        }
        for sig in &l.signatures {
            nb.rows.push(line(&[
                ("type", "signature".into()),
                ("label", sig.title.clone()),
                ("note", sig.note.clone()),
                ("value", expr::write_layout_value(&sig.name)),
                ("thumb_note", sig.thumb_note.clone().unwrap_or_default()),
            ]));
            for p in &sig.lines {
                nb.rows.push(part_row(p));
            }
        }
    }
    if !lb.rows.is_empty() {
        out.push(("layouts", lb.done()));
        out.push(("layout_lines", nb.done()));
    }

    // guide: purpose, who, steps, fees, one row per text
    if let Some(g) = &p.guide {
        let langs = languages(g.texts());
        let mut header = vec!["part".to_string()];
        header.extend(text_columns("text", &langs));
        let mut gb = Builder::new(header);
        let parts = std::iter::once(("purpose", &g.purpose))
            .chain(g.who.iter().map(|t| ("who", t)))
            .chain(g.steps.iter().map(|t| ("step", t)))
            .chain(std::iter::once(("fees", &g.fees)));
        for (part, t) in parts {
            let mut row = vec![part.to_string()];
            row.extend(text_cells(Some(t), &langs));
            gb.rows.push(row);
        }
        out.push(("guide", gb.done()));
    }
    Ok(out)
}
