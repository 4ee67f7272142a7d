//! The small expressions of the sheets: conditions (`requester.pin is empty`, `x = a`, `x != a`,
//! `x in (a, b)`) and derivation sources (`KEY` or `uppercase(KEY)`). See docs/procedures.md.

use protocol::catalogue::{Condition, Transform};

/// Whether `s` can be written without quotes: one word of letters, digits and `_ - . /`.
fn is_bare(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !matches!(s, "is" | "in" | "not" | "empty")
}

/// A value as written in a condition: bare when it is one word, else in double quotes.
pub fn quote(s: &str) -> String {
    if is_bare(s) {
        s.to_string()
    } else {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
}

/// A condition as written in a cell.
pub fn write_condition(c: &Condition) -> String {
    let f = &c.field;
    if let Some(v) = &c.equals {
        format!("{f} = {}", quote(v))
    } else if let Some(v) = &c.not_equals {
        format!("{f} != {}", quote(v))
    } else if let Some(e) = c.empty {
        if e {
            format!("{f} is empty")
        } else {
            format!("{f} is not empty")
        }
    } else {
        let list: Vec<String> = c.one_of.iter().flatten().map(|v| quote(v)).collect();
        format!("{f} in ({})", list.join(", "))
    }
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Eq,
    Ne,
    Open,
    Close,
    Comma,
}

fn tokens(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut it = s.chars().peekable();
    while let Some(&c) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '=' => {
                it.next();
                if it.peek() == Some(&'=') {
                    it.next();
                }
                out.push(Tok::Eq);
            }
            '!' => {
                it.next();
                if it.next() != Some('=') {
                    return Err("`!` must be followed by `=` (write `!=`)".into());
                }
                out.push(Tok::Ne);
            }
            '(' => {
                it.next();
                out.push(Tok::Open);
            }
            ')' => {
                it.next();
                out.push(Tok::Close);
            }
            ',' => {
                it.next();
                out.push(Tok::Comma);
            }
            '"' => {
                it.next();
                let mut v = String::new();
                loop {
                    match it.next() {
                        None => {
                            return Err("a quoted value is never closed (a \" is missing)".into())
                        }
                        Some('"') if it.peek() == Some(&'"') => {
                            it.next();
                            v.push('"');
                        }
                        Some('"') => break,
                        Some(c) => v.push(c),
                    }
                }
                out.push(Tok::Quoted(v));
            }
            _ => {
                let mut w = String::new();
                while let Some(&c) = it.peek() {
                    if c.is_whitespace() || matches!(c, '=' | '!' | '(' | ')' | ',' | '"') {
                        break;
                    }
                    w.push(c);
                    it.next();
                }
                out.push(Tok::Word(w));
            }
        }
    }
    Ok(out)
}

const CONDITION_FORMS: &str =
    "write `KEY = VALUE`, `KEY != VALUE`, `KEY is empty`, `KEY is not empty` or `KEY in (A, B)`";

/// Parses a condition cell.
pub fn parse_condition(s: &str) -> Result<Condition, String> {
    let toks = tokens(s)?;
    let mut c = Condition {
        field: String::new(),
        equals: None,
        not_equals: None,
        empty: None,
        one_of: None,
    };
    let value = |t: &Tok| match t {
        Tok::Word(w) | Tok::Quoted(w) => Some(w.clone()),
        _ => None,
    };
    match toks.as_slice() {
        [Tok::Word(f), rest @ ..] => {
            c.field = f.clone();
            match rest {
                [Tok::Eq, v] if value(v).is_some() => c.equals = value(v),
                [Tok::Ne, v] if value(v).is_some() => c.not_equals = value(v),
                [Tok::Word(is), Tok::Word(e)] if is == "is" && e == "empty" => c.empty = Some(true),
                [Tok::Word(is), Tok::Word(not), Tok::Word(e)]
                    if is == "is" && not == "not" && e == "empty" =>
                {
                    c.empty = Some(false)
                }
                [Tok::Word(is), Tok::Open, list @ .., Tok::Close] if is == "in" => {
                    let mut values = Vec::new();
                    for (i, t) in list.iter().enumerate() {
                        match (i % 2, t) {
                            (0, t) if value(t).is_some() => values.extend(value(t)),
                            (1, Tok::Comma) => {}
                            _ => {
                                return Err(
                                    "`in` takes values separated by commas: `KEY in (a, b)`".into()
                                )
                            }
                        }
                    }
                    if values.is_empty() || list.len() % 2 == 0 {
                        return Err("`in` takes values separated by commas: `KEY in (a, b)`".into());
                    }
                    c.one_of = Some(values);
                }
                [Tok::Eq] | [Tok::Ne] => return Err("the value after the sign is missing".into()),
                [Tok::Eq, Tok::Word(_), ..] | [Tok::Ne, Tok::Word(_), ..] => {
                    return Err(format!(
                        "one condition only, one value only (no `and`/`or`; quote a value with spaces: \"Việt Nam\"); {CONDITION_FORMS}"
                    ))
                }
                _ => return Err(format!("cannot read this condition; {CONDITION_FORMS}")),
            }
        }
        [] => return Err("empty condition".into()),
        _ => {
            return Err(format!(
                "a condition starts with a field key; {CONDITION_FORMS}"
            ))
        }
    }
    Ok(c)
}

/// A derivation source as written: `KEY` or `transform(KEY)`.
pub fn write_source(from: &str, t: Option<Transform>) -> String {
    match t {
        None => from.to_string(),
        Some(t) => format!("{}({from})", transform_name(t)),
    }
}

/// The snake_case name of a transform.
pub fn transform_name(t: Transform) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Parses a derivation source.
pub fn parse_source(s: &str) -> Result<(String, Option<Transform>), String> {
    let s = s.trim();
    let Some(open) = s.find('(') else {
        if s.is_empty() || s.contains([' ', ')', ',', '"', '=']) {
            return Err(
                "write a field key, or `uppercase(KEY)`, `pin_birth_year(KEY)`, `pin_sex(KEY)`"
                    .into(),
            );
        }
        return Ok((s.to_string(), None));
    };
    let name = s[..open].trim();
    let Some(inner) = s[open + 1..].strip_suffix(')') else {
        return Err("a `)` is missing at the end".into());
    };
    let t: Transform = serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| {
            format!("unknown transform {name:?}: use uppercase, pin_birth_year or pin_sex")
        })?;
    let key = inner.trim();
    if key.is_empty() || key.contains(['(', ')', ' ', ',']) {
        return Err(format!("{name}( ) takes one field key"));
    }
    Ok((key.to_string(), Some(t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_read_and_write_back() {
        for s in [
            "requester.relationship = mother",
            "requester.relationship != self",
            "requester.pin is empty",
            "requester.pin is not empty",
            "subject.marital_status in (married, divorced)",
            "subject.nationality = \"Việt Nam\"",
            "x = \"say \"\"hi\"\"\"",
            "x in (\"a, b\", c)",
        ] {
            let c = parse_condition(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(write_condition(&c), s);
        }
        assert_eq!(
            parse_condition("x == yes").unwrap().equals.as_deref(),
            Some("yes")
        );
        for bad in [
            "",
            "x",
            "x =",
            "x = a b",
            "x = a and y = b",
            "x in ()",
            "x in (a b)",
            "x in (a,)",
            "x is",
            "= a",
            "x ! a",
            "x = \"open",
        ] {
            assert!(parse_condition(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn sources_read_and_write_back() {
        for s in [
            "mother.pin",
            "uppercase(mother.full_name)",
            "pin_sex(mother.pin)",
        ] {
            let (k, t) = parse_source(s).unwrap();
            assert_eq!(write_source(&k, t), s);
        }
        assert!(parse_source("lowercase(x)").is_err());
        assert!(parse_source("uppercase(x").is_err());
        assert!(parse_source("a b").is_err());
        assert!(parse_source("uppercase()").is_err());
    }
}

/// A value expression of the export and layout sheets, before it is given a meaning: a word (a field key
/// or a keyword), a quoted text, or a call `name(args)` whose arguments may be named (`self = "Bản thân"`).
#[derive(Debug, Clone, PartialEq)]
enum Term {
    Word(String),
    Str(String),
    Call(String, Vec<(Option<(String, bool)>, Term)>),
}

fn parse_term(toks: &[Tok], i: &mut usize) -> Result<Term, String> {
    match toks.get(*i) {
        Some(Tok::Quoted(s)) => {
            *i += 1;
            Ok(Term::Str(s.clone()))
        }
        Some(Tok::Word(w)) => {
            *i += 1;
            if toks.get(*i) != Some(&Tok::Open) {
                return Ok(Term::Word(w.clone()));
            }
            *i += 1;
            let mut args = Vec::new();
            if toks.get(*i) == Some(&Tok::Close) {
                *i += 1;
                return Ok(Term::Call(w.clone(), args));
            }
            loop {
                let name = match (toks.get(*i), toks.get(*i + 1)) {
                    (Some(Tok::Word(n)), Some(Tok::Eq)) => Some((n.clone(), false)),
                    (Some(Tok::Quoted(n)), Some(Tok::Eq)) => Some((n.clone(), true)),
                    _ => None,
                };
                if name.is_some() {
                    *i += 2;
                }
                args.push((name, parse_term(toks, i)?));
                match toks.get(*i) {
                    Some(Tok::Comma) => *i += 1,
                    Some(Tok::Close) => {
                        *i += 1;
                        return Ok(Term::Call(w.clone(), args));
                    }
                    _ => return Err(format!("in {w}( … ): a `,` or `)` is missing")),
                }
            }
        }
        Some(t) => Err(format!(
            "unexpected {t:?}: a value is a field key, a quoted text or name(…)"
        )),
        None => Err("the value is missing".into()),
    }
}

/// Parses a value expression into a term (the whole cell must be one).
fn term(s: &str) -> Result<Term, String> {
    let toks = tokens(s)?;
    let mut i = 0;
    let t = parse_term(&toks, &mut i)?;
    if i != toks.len() {
        return Err("one value only: join values with first_of(a, b)".into());
    }
    Ok(t)
}

const SOURCE_FORMS: &str = "a field key, receipt_code, dossier_id, received_on, not_captured, choice(KEY), commune(KEY), date(KEY), date_words(KEY), upper(KEY), address(DETAIL, COMMUNE), first_of(A, B, …), prefixed(\"words \", VALUE), result_number(KIND)";

const KEYWORDS: &[&str] = &["receipt_code", "dossier_id", "received_on", "not_captured"];

fn source_of(t: &Term) -> Result<protocol::package::export::Source, String> {
    use protocol::package::export::Source as S;
    let key = |args: &[(Option<(String, bool)>, Term)], name: &str| -> Result<String, String> {
        match args {
            [(None, Term::Word(k))] => Ok(k.clone()),
            _ => Err(format!("{name}( ) takes one field key")),
        }
    };
    Ok(match t {
        Term::Word(w) => match w.as_str() {
            "receipt_code" => S::ReceiptCode,
            "dossier_id" => S::DossierId,
            "received_on" => S::ReceivedOn,
            "not_captured" => S::NotCaptured,
            _ => S::Field(w.clone()),
        },
        Term::Str(s) => {
            return Err(format!(
                "a quoted text {s:?} alone is no value (write prefixed(\"words \", VALUE) for words before a value); a value is {SOURCE_FORMS}"
            ))
        }
        Term::Call(name, args) => match name.as_str() {
            "field" => S::Field(key(args, name)?),
            "choice" => S::Choice(key(args, name)?),
            "commune" => S::Commune(key(args, name)?),
            "date" => S::Date(key(args, name)?),
            "date_words" => S::DateWords(key(args, name)?),
            "upper" => S::Upper(key(args, name)?),
            "result_number" => S::ResultNumber(key(args, name)?),
            "address" => match args.as_slice() {
                [(None, Term::Word(d)), (None, Term::Word(c))] => S::Address {
                    detail: d.clone(),
                    commune: c.clone(),
                },
                _ => return Err("address( ) takes two field keys: address(DETAIL, COMMUNE)".into()),
            },
            "first_of" => {
                if args.is_empty() || args.iter().any(|(n, _)| n.is_some()) {
                    return Err("first_of( ) takes one or more values: first_of(a, b)".into());
                }
                S::FirstOf(
                    args.iter()
                        .map(|(_, t)| source_of(t))
                        .collect::<Result<_, _>>()?,
                )
            }
            "prefixed" => match args.as_slice() {
                [(None, Term::Str(p)), (None, v)] => S::Prefixed {
                    prefix: p.clone(),
                    value: Box::new(source_of(v)?),
                },
                _ => {
                    return Err(
                        "prefixed( ) takes quoted words and a value: prefixed(\"Công an \", KEY)".into(),
                    )
                }
            },
            other => return Err(format!("unknown value {other}( ): a value is {SOURCE_FORMS}")),
        },
    })
}

/// Parses an export value (`date(child.date_of_birth)`).
pub fn parse_export_value(s: &str) -> Result<protocol::package::export::Source, String> {
    source_of(&term(s)?)
}

/// Parses a layout value: an export value, or `authority("Ủy ban nhân dân ", KEY)`,
/// `words(KEY, value = "words", …, unless = KEY)`, `yes_no_count(KEY)`.
pub fn parse_layout_value(s: &str) -> Result<protocol::package::layout::Val, String> {
    use protocol::package::layout::Val;
    let t = term(s)?;
    if let Term::Call(name, args) = &t {
        match name.as_str() {
            "authority" => {
                return match args.as_slice() {
                    [(None, Term::Str(p)), (None, Term::Word(c))] => Ok(Val::Authority {
                        prefix: p.clone(),
                        commune: c.clone(),
                    }),
                    _ => Err(
                        "authority( ) takes quoted words and a commune field: authority(\"Ủy ban nhân dân \", KEY)"
                            .into(),
                    ),
                }
            }
            "yes_no_count" => {
                return match args.as_slice() {
                    [(None, Term::Word(k))] => Ok(Val::YesNoCount(k.clone())),
                    _ => Err("yes_no_count( ) takes one number field".into()),
                }
            }
            "words" => {
                let form = "words(KEY, value = \"words\", …, unless = KEY)";
                let Some((None, Term::Word(field))) = args.first() else {
                    return Err(format!("words( ) starts with the choice field: {form}"));
                };
                let mut words = std::collections::BTreeMap::new();
                let mut unless = None;
                for (n, v) in &args[1..] {
                    match (n, v) {
                        (Some((n, false)), Term::Word(k)) if n == "unless" => unless = Some(k.clone()),
                        (Some((n, _)), Term::Str(w)) => {
                            if words.insert(n.clone(), w.clone()).is_some() {
                                return Err(format!("words( ) gives {n} twice"));
                            }
                        }
                        _ => return Err(format!("words( ) takes value = \"words\" pairs: {form}")),
                    }
                }
                return Ok(Val::Words {
                    field: field.clone(),
                    words,
                    unless,
                });
            }
            _ => {}
        }
    }
    Ok(Val::Source(source_of(&t)?))
}

/// A quoted text as written in a value.
fn text_lit(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A field key (or result kind) as an argument: bare when it reads back as one word.
fn key_arg(k: &str) -> String {
    k.to_string()
}

/// An export value as written in a cell.
pub fn write_export_value(s: &protocol::package::export::Source) -> String {
    use protocol::package::export::Source as S;
    let call = |n: &str, k: &str| format!("{n}({})", key_arg(k));
    match s {
        S::ReceiptCode => "receipt_code".into(),
        S::DossierId => "dossier_id".into(),
        S::ReceivedOn => "received_on".into(),
        S::NotCaptured => "not_captured".into(),
        S::Field(k) if !KEYWORDS.contains(&k.as_str()) && is_bare(k) => k.clone(),
        S::Field(k) => call("field", k),
        S::Choice(k) => call("choice", k),
        S::Commune(k) => call("commune", k),
        S::Date(k) => call("date", k),
        S::DateWords(k) => call("date_words", k),
        S::Upper(k) => call("upper", k),
        S::ResultNumber(k) => call("result_number", k),
        S::Address { detail, commune } => format!("address({detail}, {commune})"),
        S::FirstOf(list) => format!(
            "first_of({})",
            list.iter()
                .map(write_export_value)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        S::Prefixed { prefix, value } => {
            format!(
                "prefixed({}, {})",
                text_lit(prefix),
                write_export_value(value)
            )
        }
    }
}

/// A layout value as written in a cell.
pub fn write_layout_value(v: &protocol::package::layout::Val) -> String {
    use protocol::package::layout::Val;
    match v {
        Val::Source(s) => write_export_value(s),
        Val::Authority { prefix, commune } => format!("authority({}, {commune})", text_lit(prefix)),
        Val::YesNoCount(k) => format!("yes_no_count({k})"),
        Val::Words {
            field,
            words,
            unless,
        } => {
            let mut parts = vec![field.clone()];
            for (k, w) in words {
                let k = if k == "unless" || !is_bare(k) {
                    text_lit(k)
                } else {
                    k.clone()
                };
                parts.push(format!("{k} = {}", text_lit(w)));
            }
            if let Some(u) = unless {
                parts.push(format!("unless = {u}"));
            }
            format!("words({})", parts.join(", "))
        }
    }
}
