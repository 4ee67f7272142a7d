//! The layering of `hub/src` is its import graph (issue 15). Every `crate::…` path and every `super::…`
//! path that leaves its concern is read from the source and resolved to a concern: `shared::store`,
//! `field::seal`, `office::intake`… (the first folder or file below `shared/`, `field/`, `office/`), or
//! `app` (the top that assembles the hub). Then:
//!
//! - `shared/` imports only `shared/`; `field/` imports `field/` and `shared/`; `office/` imports `office/`
//!   and `shared/`; nothing but `app/` (and `main.rs`, `lib.rs`) imports `app/`;
//! - the concerns form no cycle: every import between two concerns goes one way only.
//!
//! A failure names the offending files and lines. The layers found are written to
//! `target/architecture.txt` (each concern with what it imports), the source of the picture in
//! `docs/architecture.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A concern: `app`, or a side (`shared`, `field`, `office`) and a module name.
type Unit = String;

/// Where an import was seen: file (relative to `hub/src`) and line.
type Site = (String, usize);

/// The import graph between concerns, with one place each edge was seen.
#[derive(Default)]
struct Graph {
    units: BTreeSet<Unit>,
    edges: BTreeMap<Unit, BTreeMap<Unit, Site>>,
}

/// The module path of a file: `field/seal/slip.rs` → `[field, seal, slip]`, `field/seal/mod.rs` →
/// `[field, seal]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    if last != "mod.rs" && last != "lib.rs" && last != "main.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

/// The concern a module path belongs to, if any (`lib.rs` and `main.rs` belong to none).
fn unit_of(path: &[String]) -> Option<Unit> {
    match path {
        [side, name, ..] if matches!(side.as_str(), "shared" | "field" | "office") => {
            Some(format!("{side}::{name}"))
        }
        [first, ..] if first == "app" => Some("app".to_string()),
        _ => None,
    }
}

/// The source without comments (line, doc and block comments), lines kept so positions stay true.
fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let (mut i, mut in_str) = (0, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            out.push(c as char);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            i += 1;
        } else if c == b'"' {
            // A character literal '"' is not a string.
            in_str = !(i > 0 && b[i - 1] == b'\'' && b.get(i + 1) == Some(&b'\''));
            out.push('"');
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            while i < b.len() && !b[i..].starts_with(b"*/") {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
        } else {
            // Multi-byte characters are copied whole.
            let len = utf8_len(c);
            out.push_str(&src[i..(i + len).min(src.len())]);
            i += len;
        }
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// Reads a use tree or an expression path starting at `s` (just after `crate::` or `super::`): every
/// path it names, as segments (`{a, b::{c, d}}` → `[a]`, `[b, c]`, `[b, d]`).
fn paths_at(s: &str) -> Vec<Vec<String>> {
    fn ident(s: &[u8], i: &mut usize) -> Option<String> {
        let start = *i;
        while *i < s.len() && (s[*i].is_ascii_alphanumeric() || s[*i] == b'_') {
            *i += 1;
        }
        (start < *i).then(|| String::from_utf8_lossy(&s[start..*i]).into_owned())
    }
    fn skip_ws(s: &[u8], i: &mut usize) {
        while *i < s.len() && s[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    fn tree(s: &[u8], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        skip_ws(s, i);
        if *i < s.len() && s[*i] == b'{' {
            *i += 1;
            loop {
                skip_ws(s, i);
                if *i >= s.len() || s[*i] == b'}' {
                    *i += 1;
                    return;
                }
                let before = *i;
                tree(s, i, prefix.clone(), out);
                skip_ws(s, i);
                if *i < s.len() && s[*i] == b',' {
                    *i += 1;
                } else if *i == before {
                    *i += 1; // not a path: step over it
                }
            }
        }
        let mut path = prefix;
        while let Some(seg) = ident(s, i) {
            path.push(seg);
            if s[*i..].starts_with(b"::") {
                *i += 2;
                if *i < s.len() && s[*i] == b'{' {
                    tree(s, i, path, out);
                    return;
                }
            } else {
                break;
            }
        }
        // `x as y` and a trailing `*` add nothing.
        skip_ws(s, i);
        if s[*i..].starts_with(b"as") && s.get(*i + 2).is_some_and(|c| c.is_ascii_whitespace()) {
            *i += 2;
            skip_ws(s, i);
            ident(s, i);
        } else if *i < s.len() && s[*i] == b'*' {
            *i += 1;
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    let mut out = Vec::new();
    tree(s.as_bytes(), &mut 0, Vec::new(), &mut out);
    out
}

/// Every concern `module` (a file's module path) refers to, with the line: `crate::…` paths, and
/// `super::…` paths resolved against the module path.
fn references(module: &[String], src: &str) -> Vec<(Unit, usize)> {
    let text = strip_comments(src);
    let mut out = Vec::new();
    let line_at = |pos: usize| text[..pos].matches('\n').count() + 1;
    let mut from = 0;
    while let Some(k) = text[from..].find("crate::") {
        let at = from + k;
        from = at + "crate::".len();
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        for p in paths_at(&text[from..]) {
            if let Some(u) = unit_of(&p) {
                out.push((u, line_at(at)));
            }
        }
    }
    from = 0;
    while let Some(k) = text[from..].find("super::") {
        let at = from + k;
        // A chain `super::super::…` counts once, from its first `super`.
        let before = &text[..at];
        if before.ends_with("::") {
            from = at + "super::".len();
            continue;
        }
        let mut up: usize = 0;
        let mut rest = &text[at..];
        while let Some(r) = rest.strip_prefix("super::") {
            up += 1;
            rest = r;
        }
        from = text.len() - rest.len();
        // Code inside `mod tests { … }` of a file names `super` as the file itself: one level less.
        let in_inline_mod = inline_module_depth(&text[..at]);
        let up = up.saturating_sub(in_inline_mod);
        if up == 0 || up > module.len() {
            continue;
        }
        let base = &module[..module.len() - up];
        for p in paths_at(rest) {
            let full: Vec<String> = base.iter().cloned().chain(p).collect();
            if let Some(u) = unit_of(&full) {
                out.push((u, line_at(at)));
            }
        }
    }
    out
}

/// How many inline modules (`mod name {`) are open at the end of `before` (a file's text up to a point).
fn inline_module_depth(before: &str) -> usize {
    let mut depth_stack: Vec<bool> = Vec::new(); // one entry per open brace: is it a module's?
    let b = before.as_bytes();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
        } else if c == b'"' {
            in_str = !(i > 0 && b[i - 1] == b'\'' && b.get(i + 1) == Some(&b'\''));
        } else if c == b'{' {
            let head = before[..i].trim_end();
            let is_mod = head
                .rsplit([';', '}', '{'])
                .next()
                .map(|stmt| {
                    let words: Vec<&str> = stmt.split_whitespace().collect();
                    words.len() >= 2 && words[words.len() - 2] == "mod"
                })
                .unwrap_or(false);
            depth_stack.push(is_mod);
        } else if c == b'}' {
            depth_stack.pop();
        }
        i += 1;
    }
    depth_stack.iter().filter(|m| **m).count()
}

/// Reads every `.rs` file under `root` (a `hub/src`).
fn scan(root: &Path) -> Graph {
    let mut g = Graph::default();
    let mut stack = vec![root.to_path_buf()];
    let mut files: Vec<PathBuf> = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    for p in files {
        let rel = p.strip_prefix(root).unwrap().to_path_buf();
        let module = module_path(&rel);
        let src = std::fs::read_to_string(&p).unwrap();
        let Some(from) = unit_of(&module) else {
            continue;
        };
        g.units.insert(from.clone());
        for (to, line) in references(&module, &src) {
            g.units.insert(to.clone());
            if to != from {
                g.edges
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| (rel.to_string_lossy().into_owned(), line));
            }
        }
    }
    g
}

fn side(u: &str) -> &str {
    u.split("::").next().unwrap_or(u)
}

/// Imports that break the side rules, as readable lines.
fn side_violations(g: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for (from, tos) in &g.edges {
        for (to, (file, line)) in tos {
            let allowed = match (side(from), side(to)) {
                ("app", _) => true,
                (_, "app") => false,
                ("shared", t) => t == "shared",
                ("field", t) => t == "field" || t == "shared",
                ("office", t) => t == "office" || t == "shared",
                _ => false,
            };
            if !allowed {
                out.push(format!(
                    "{from} imports {to} (hub/src/{file}:{line}): {} code may not import {} code",
                    side(from),
                    side(to)
                ));
            }
        }
    }
    out
}

/// The strongly connected components of more than one concern (Tarjan), each sorted.
fn cycles(g: &Graph) -> Vec<Vec<Unit>> {
    struct T<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<Unit>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        if let Some(tos) = t.g.edges.get(v) {
            for w in tos.keys() {
                let w = w.as_str();
                if !t.index.contains_key(w) {
                    visit(t, w);
                    let lw = t.low[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if t.on.contains(w) {
                    let iw = t.index[w];
                    let lv = t.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for u in &g.units {
        if !t.index.contains_key(u.as_str()) {
            visit(&mut t, u);
        }
    }
    t.out
}

/// A cycle as readable lines: each edge inside it with where it was seen.
fn describe_cycle(g: &Graph, comp: &[Unit]) -> String {
    let mut s = format!("import cycle between {}:", comp.join(", "));
    for from in comp {
        for (to, (file, line)) in g.edges.get(from).into_iter().flatten() {
            if comp.contains(to) {
                s.push_str(&format!("\n    {from} → {to} (hub/src/{file}:{line})"));
            }
        }
    }
    s
}

/// The concerns in layers: layer 0 imports no other concern, each later one only earlier layers.
fn layers(g: &Graph) -> Vec<Vec<Unit>> {
    let mut placed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out: Vec<Vec<Unit>> = Vec::new();
    while placed.len() < g.units.len() {
        let layer: Vec<&str> = g
            .units
            .iter()
            .map(String::as_str)
            .filter(|u| !placed.contains_key(u))
            .filter(|u| {
                g.edges
                    .get(*u)
                    .is_none_or(|tos| tos.keys().all(|t| placed.contains_key(t.as_str())))
            })
            .collect();
        if layer.is_empty() {
            break; // a cycle: reported by `cycles`
        }
        for u in &layer {
            placed.insert(u, out.len());
        }
        out.push(layer.into_iter().map(str::to_string).collect());
    }
    out
}

fn hub_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn hub_src_is_layered_by_its_imports() {
    let g = scan(&hub_src());
    for side in ["shared", "field", "office"] {
        assert!(
            g.units.iter().any(|u| u.starts_with(&format!("{side}::"))),
            "no concern found under hub/src/{side}/: is the tree where this test looks?"
        );
    }
    let mut problems = side_violations(&g);
    for comp in cycles(&g) {
        problems.push(describe_cycle(&g, &comp));
    }
    // The picture for docs/architecture.md: layer by layer, each concern with what it imports.
    let mut txt = String::from(
        "# hub/src concerns by layer (tests/it/architecture.rs): each imports only earlier layers\n",
    );
    for (n, layer) in layers(&g).iter().enumerate() {
        txt.push_str(&format!("\nlayer {n}\n"));
        for u in layer {
            let tos: Vec<&str> = g
                .edges
                .get(u)
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            txt.push_str(&format!("  {u:<24} → {}\n", tos.join(", ")));
        }
    }
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let _ = std::fs::create_dir_all(&target);
    let _ = std::fs::write(target.join("architecture.txt"), &txt);
    assert!(
        problems.is_empty(),
        "hub/src breaks its layering:\n{}\n\n{txt}",
        problems.join("\n")
    );
}

/// The checker itself finds what it must: a small tree with a side violation, an upward import into
/// `app`, a cycle through a `super::super` path and a grouped `use crate::{…}`.
#[test]
fn the_checker_finds_cycles_and_side_violations() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |rel: &str, src: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, src).unwrap();
    };
    write(
        "lib.rs",
        "pub mod app; pub mod shared; pub mod field; pub mod office;",
    );
    write("app/mod.rs", "use crate::field::a; use crate::office::b;");
    write(
        "shared/store.rs",
        "// crate::field::a in a comment does not count\npub fn f() {}",
    );
    write("shared/state.rs", "use crate::app::make_app;");
    write(
        "field/a/mod.rs",
        "use crate::{shared::store, field::{c::x, d}};",
    );
    write("field/c.rs", "pub fn x() { super::a::y(); }");
    write(
        "field/d/routes.rs",
        "use super::super::a::z;\nmod tests { use super::*; }",
    );
    write("office/b.rs", "fn g() { crate::field::a::y(); }");
    let g = scan(root);
    let v = side_violations(&g);
    assert!(
        v.iter().any(|l| l.starts_with("shared::state imports app")),
        "{v:?}"
    );
    assert!(
        v.iter()
            .any(|l| l.starts_with("office::b imports field::a (hub/src/office/b.rs:1)")),
        "{v:?}"
    );
    assert_eq!(v.len(), 2, "{v:?}");
    let c = cycles(&g);
    assert_eq!(
        c,
        vec![vec![
            "field::a".to_string(),
            "field::c".to_string(),
            "field::d".to_string()
        ]],
        "field::a → c → a and a → d → a"
    );
    assert!(describe_cycle(&g, &c[0]).contains("field::d → field::a (hub/src/field/d/routes.rs:1)"));
    // `mod tests { use super::*; }` is the file itself, not a parent.
    assert!(!g.edges.get("field::d").unwrap().contains_key("field::*"));
}

#[test]
fn use_trees_are_expanded() {
    assert_eq!(
        paths_at("{shared::{a, b::c as d}, field::e::*};"),
        vec![
            vec!["shared", "a"],
            vec!["shared", "b", "c"],
            vec!["field", "e"]
        ]
    );
    assert_eq!(
        paths_at("shared::clock::now()"),
        vec![vec!["shared", "clock", "now"]]
    );
}
