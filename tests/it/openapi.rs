//! The OpenAPI document covers every registered route (issue 8, security): the `.route(` calls of
//! `hub/src` are read from the source, and the union of the field and office hubs' documents
//! (`GET /api/v1/openapi.json`) must list exactly those (path, method) pairs; every documented operation
//! answers on its mode's hub (not the unknown-route fallback, not `405`, not `404 wrong_mode`); and the
//! documents follow the conventions of `hub/src/shared/api_doc/mod.rs` (OpenAPI 3.1, unique operationIds, a tag
//! and an explicit `security` on every operation, CSRF with every session write, scopes that are role
//! names of the mode, every `$ref` resolving).

use crate::common::oa;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::*;
use serde_json::Value;

/// `.route(` calls whose method router is `any(`: the app's catch-alls, exempt from the document. Keyed
/// by file (relative to `hub/src`) and the first argument as written: the other mode's paths registered
/// in a loop (`404 wrong_mode`) and the unknown-API-route fallback.
const EXEMPT_ANY: &[(&str, &str)] = &[
    ("app/mod.rs", "p"),
    ("app/mod.rs", "\"/api/{*rest}\""),
    // A locked hub answers every API call but a few `503 hub_locked` (issue 19).
    ("app/serve/locked.rs", "\"/api/{*rest}\""),
];

/// Calls in a method-router chain that add no method.
const NOT_METHODS: &[&str] = &["layer", "route_layer", "with_state"];

/// The methods of `axum::routing` (lower case).
const ROUTING_METHODS: &[&str] = &[
    "get", "post", "put", "delete", "patch", "head", "options", "trace",
];

/// Blanks out comments (keeping newlines) and returns (source without comments, the same with string
/// and char literal contents replaced by `_`), both with one entry per source char.
fn clean(src: &str) -> (Vec<char>, Vec<char>) {
    let s: Vec<char> = src.chars().collect();
    let mut code = s.clone();
    let mut masked = s.clone();
    let mut i = 0;
    let blank = |v: &mut Vec<char>, a: usize, b: usize| {
        for c in v.iter_mut().take(b).skip(a) {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    while i < s.len() {
        let c = s[i];
        let next = s.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = s[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(s.len(), |p| i + p);
            blank(&mut code, i, end);
            blank(&mut masked, i, end);
            i = end;
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            let mut j = i;
            while j < s.len() {
                if s[j] == '/' && s.get(j + 1) == Some(&'*') {
                    depth += 1;
                    j += 2;
                } else if s[j] == '*' && s.get(j + 1) == Some(&'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut code, i, j);
            blank(&mut masked, i, j);
            i = j;
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && (i == 0 || !(s[i - 1].is_alphanumeric() || s[i - 1] == '_'))
        {
            // raw string r"..." / r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while s.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if s.get(j) != Some(&'"') {
                i += 1;
                continue;
            }
            let start = j + 1;
            let mut k = start;
            loop {
                if k >= s.len() {
                    break;
                }
                if s[k] == '"' && (0..hashes).all(|h| s.get(k + 1 + h) == Some(&'#')) {
                    break;
                }
                k += 1;
            }
            for c in masked.iter_mut().take(k).skip(start) {
                if *c != '\n' {
                    *c = '_';
                }
            }
            i = k + 1 + hashes;
        } else if c == '"' {
            let start = i + 1;
            let mut k = start;
            while k < s.len() && s[k] != '"' {
                if s[k] == '\\' {
                    k += 1;
                }
                k += 1;
            }
            for c in masked.iter_mut().take(k.min(s.len())).skip(start) {
                if *c != '\n' {
                    *c = '_';
                }
            }
            i = k + 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                let end = s[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(s.len(), |p| i + 2 + p);
                for c in masked.iter_mut().take(end).skip(i + 1) {
                    *c = '_';
                }
                i = end + 1;
            } else if s.get(i + 2) == Some(&'\'') {
                masked[i + 1] = '_';
                i += 3;
            } else {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    (code, masked)
}

/// The index of the `)` matching the `(` at `open` in `m` (masked source).
fn matching(m: &[char], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, &c) in m.iter().enumerate().skip(open) {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    m.len()
}

/// Splits `m[a..b]` at top-level commas: ranges of the arguments.
fn split_args(m: &[char], a: usize, b: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = a;
    for (k, &ch) in m.iter().enumerate().take(b).skip(a) {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push((start, k));
                start = k + 1;
            }
            _ => {}
        }
    }
    if m[start..b].iter().any(|c| !c.is_whitespace()) {
        out.push((start, b));
    }
    out
}

fn text(v: &[char], a: usize, b: usize) -> String {
    v[a..b].iter().collect::<String>().trim().to_owned()
}

fn line_of(v: &[char], pos: usize) -> usize {
    v[..pos].iter().filter(|&&c| c == '\n').count() + 1
}

/// The calls at the top level of a method-router expression `m[a..b]`, e.g.
/// `axum::routing::post(h).layer(..).get(g)` → `["post", "layer", "get"]`; `Err` if it is not such a
/// chain.
fn chain_calls(m: &[char], a: usize, b: usize) -> Result<Vec<String>, String> {
    let mut calls = Vec::new();
    let mut k = a;
    let skip_ws = |k: &mut usize| {
        while *k < b && m[*k].is_whitespace() {
            *k += 1;
        }
    };
    skip_ws(&mut k);
    let mut first = true;
    while k < b {
        if !first {
            if m[k] != '.' {
                return Err(format!("unexpected `{}`", m[k]));
            }
            k += 1;
            skip_ws(&mut k);
        }
        // a path like axum::routing::post
        let start = k;
        while k < b && (m[k].is_alphanumeric() || m[k] == '_' || m[k] == ':') {
            k += 1;
        }
        let path: String = m[start..k].iter().collect();
        skip_ws(&mut k);
        if path.is_empty() || k >= b || m[k] != '(' {
            return Err(format!("not a call chain near `{path}`"));
        }
        let close = matching(m, k);
        calls.push(path.rsplit("::").next().unwrap_or("").to_owned());
        k = close + 1;
        skip_ws(&mut k);
        first = false;
    }
    Ok(calls)
}

/// (routes as (path, METHOD), errors naming file:line, exempt `any(` calls as (file, first argument)).
type Scan = (
    BTreeSet<(String, String)>,
    Vec<String>,
    Vec<(String, String)>,
);

/// Every (path, METHOD) registered with `.route(` under `hub/src`, `{*x}` written `{x}`; errors name
/// file:line. Also the exempt `any(` calls found.
fn scan_routes(root: &Path) -> Scan {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    files.sort();
    let mut routes = BTreeSet::new();
    let mut errors = Vec::new();
    let mut exempt_seen = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let src = std::fs::read_to_string(&f).unwrap();
        let (code, m) = clean(&src);
        let mut k = 0;
        while k + 6 < m.len() {
            // `.route` followed by optional whitespace and `(`
            if m[k] == '.' && m[k + 1..k + 6].iter().collect::<String>() == "route" {
                let mut j = k + 6;
                if m.get(j).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                    k += 1;
                    continue;
                }
                while j < m.len() && m[j].is_whitespace() {
                    j += 1;
                }
                if m.get(j) != Some(&'(') {
                    k += 1;
                    continue;
                }
                let close = matching(&m, j);
                let at = format!("hub/src/{rel}:{}", line_of(&m, k));
                let args = split_args(&m, j + 1, close);
                if args.len() != 2 {
                    errors.push(format!("{at}: .route( with {} arguments", args.len()));
                    k = close;
                    continue;
                }
                let first = text(&code, args[0].0, args[0].1);
                let calls = match chain_calls(&m, args[1].0, args[1].1) {
                    Ok(c) => c,
                    Err(e) => {
                        errors.push(format!(
                            "{at}: cannot read the method router `{}` ({e})",
                            text(&code, args[1].0, args[1].1)
                        ));
                        k = close;
                        continue;
                    }
                };
                if calls.iter().any(|c| c == "any") {
                    if EXEMPT_ANY.contains(&(rel.as_str(), first.as_str())) {
                        exempt_seen.push((rel.clone(), first.clone()));
                    } else {
                        errors.push(format!(
                            "{at}: `any(` on {first}: only the app's catch-alls may use it (EXEMPT_ANY)"
                        ));
                    }
                    k = close;
                    continue;
                }
                let path = match first.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    Some(p) if !p.contains('"') => p.replace("{*", "{"),
                    _ => {
                        errors.push(format!(
                            "{at}: the path must be a string literal, found `{first}`"
                        ));
                        k = close;
                        continue;
                    }
                };
                let mut any_method = false;
                for c in &calls {
                    if ROUTING_METHODS.contains(&c.as_str()) {
                        routes.insert((path.clone(), c.to_uppercase()));
                        any_method = true;
                    } else if !NOT_METHODS.contains(&c.as_str()) {
                        errors.push(format!(
                            "{at}: unknown call `{c}(` in the method router of {path}"
                        ));
                    }
                }
                if !any_method {
                    errors.push(format!("{at}: no HTTP method found for {path}"));
                }
                k = close;
            } else {
                k += 1;
            }
        }
    }
    (routes, errors, exempt_seen)
}

fn src_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_route_scanner_reads_chains_comments_and_strings() {
    // The scanner itself, on a made-up router: multi-line calls, chained methods after a layer, a path
    // with `.route(` in a string and in a comment, a catch-all.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.rs"),
        r#"
        // .route("/commented", get(nothing))
        /* .route("/block", post(nothing)) */
        fn r() -> Router { Router::new()
            .route("/a/{id}", get(a).put(b))
            .route(
                "/b/{*rest}",
                axum::routing::post(c)
                    .layer(DefaultBodyLimit::max(10 * (1 + 2)))
                    .get(d),
            )
            .route("/c", delete(|| async { "),(.route(\"/d\", get(x))" }))
            .route_layer(foo)
        }
        "#,
    )
    .unwrap();
    let (routes, errors, exempt) = scan_routes(dir.path());
    assert!(errors.is_empty(), "{errors:?}");
    assert!(exempt.is_empty());
    let want: BTreeSet<(String, String)> = [
        ("/a/{id}", "GET"),
        ("/a/{id}", "PUT"),
        ("/b/{rest}", "POST"),
        ("/b/{rest}", "GET"),
        ("/c", "DELETE"),
    ]
    .iter()
    .map(|(p, m)| (p.to_string(), m.to_string()))
    .collect();
    assert_eq!(routes, want);

    std::fs::write(
        dir.path().join("x.rs"),
        "fn r() { Router::new().route(P, get(a)).route(\"/z\", any(b)).route(\"/y\", on(GET, c)) }",
    )
    .unwrap();
    let (routes, errors, _) = scan_routes(dir.path());
    assert!(routes.is_empty(), "{routes:?}");
    let joined = errors.join("\n");
    for want in [
        "x.rs:1: the path must be a string literal, found `P`",
        "`any(` on \"/z\"",
        "unknown call `on(` in the method router of /y",
    ] {
        assert!(joined.contains(want), "missing {want:?} in:\n{joined}");
    }
}

#[test]
fn the_document_covers_every_registered_route_and_every_operation_answers() {
    let (scanned, errors, exempt_seen) = scan_routes(&src_root());
    let mut failures: Vec<String> = errors;
    for e in EXEMPT_ANY {
        if !exempt_seen
            .iter()
            .any(|(f, a)| (f.as_str(), a.as_str()) == *e)
        {
            failures.push(format!(
                "EXEMPT_ANY lists {e:?} but no such `any(` route was found: update the list"
            ));
        }
    }
    assert!(
        scanned.len() > 50,
        "the scan found only {} routes: the scanner is broken",
        scanned.len()
    );

    let tmp = tempfile::tempdir().unwrap();
    let field = Hub::start_with("field", &tmp.path().join("field"), &[]);
    let office = Hub::start_with("office", &tmp.path().join("office"), &[]);
    block_on(async {
        let mut docs = BTreeMap::new();
        for (mode, hub) in [("field", &field), ("office", &office)] {
            docs.insert(mode, (hub.base.clone(), oa::fetch_doc(&hub.base).await));
        }
        let mut documented = BTreeSet::new();
        for (_, doc) in docs.values() {
            for op in oa::operations(doc) {
                documented.insert((op.path.clone(), op.method.clone()));
            }
        }
        let missing: Vec<_> = scanned.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&scanned).collect();
        for (p, m) in &missing {
            failures.push(format!("not documented: {m} {p}"));
        }
        for (p, m) in &extra {
            failures.push(format!("documented but not registered: {m} {p}"));
        }

        // Every documented operation answers on its own mode's hub.
        let anon = reqwest::Client::new();
        for (mode, (base, doc)) in &docs {
            for op in oa::operations(doc) {
                let a = oa::call(&anon, base, &op, None).await;
                let why = if a.is_route_fallback() {
                    Some("the unknown-API-route fallback")
                } else if a.status == 405 {
                    Some("405 method not allowed")
                } else if a.status == 404 && a.code == "wrong_mode" {
                    Some("404 wrong_mode")
                } else {
                    None
                };
                if let Some(why) = why {
                    failures.push(format!(
                        "{mode} hub: documented {} {} answers {why} ({})",
                        op.method,
                        op.path,
                        oa::concrete_path(&op)
                    ));
                }
            }
        }
        eprintln!(
            "scanned {} routes; documented {} operations (field {}, office {}); {} missing, {} extra",
            scanned.len(),
            documented.len(),
            oa::operations(&docs["field"].1).len(),
            oa::operations(&docs["office"].1).len(),
            missing.len(),
            extra.len()
        );
    });
    assert!(
        failures.is_empty(),
        "{} problem(s) with the OpenAPI coverage:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// Conventions of `hub/src/shared/api_doc/mod.rs` for one mode's document; problems pushed to `out`.
fn hygiene(mode: &str, doc: &Value, out: &mut Vec<String>) {
    let version = doc["openapi"].as_str().unwrap_or("");
    if !version.starts_with("3.1.") {
        out.push(format!("{mode}: openapi is {version:?}, not 3.1.x"));
    }
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for s in ["session", "csrf", "sync_token"] {
        if !schemes.contains_key(s) {
            out.push(format!(
                "{mode}: security scheme {s} missing from components"
            ));
        }
    }
    let roles = oa::roles_of(mode);
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    for op in oa::operations(doc) {
        let at = format!("{mode}: {}", op.id());
        match op.operation_id() {
            None | Some("") => out.push(format!("{at}: no operationId")),
            Some(id) => {
                if let Some(other) = ids.insert(id.to_owned(), op.id()) {
                    out.push(format!("{at}: operationId {id} also used by {other}"));
                }
            }
        }
        if op.op["tags"].as_array().is_none_or(|t| t.is_empty()) {
            out.push(format!("{at}: no tag"));
        }
        let Some(reqs) = oa::security(&op) else {
            out.push(format!("{at}: no explicit `security` list"));
            continue;
        };
        if reqs.is_empty() {
            out.push(format!(
                "{at}: empty `security` list (write security(()) for a public route)"
            ));
        }
        for r in &reqs {
            for (name, scopes) in r {
                if !schemes.contains_key(name) {
                    out.push(format!("{at}: unknown security scheme {name}"));
                }
                let scopes: Vec<&str> = scopes
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if name == "session" {
                    for s in &scopes {
                        if !oa::ALL_ROLES.contains(s) {
                            out.push(format!("{at}: session scope {s:?} is not a role name"));
                        }
                    }
                    if !scopes.is_empty() && !scopes.iter().any(|s| roles.contains(s)) {
                        out.push(format!(
                            "{at}: allows only {scopes:?}, none of which exists on a {mode} hub"
                        ));
                    }
                    if op.is_write() && !r.contains_key("csrf") {
                        out.push(format!(
                            "{at}: a state-changing session call without \"csrf\" in the same requirement"
                        ));
                    }
                } else if !scopes.is_empty() {
                    out.push(format!("{at}: scheme {name} takes no scopes"));
                }
            }
        }
    }
}

/// Every `$ref` in `v` (the pointer text, where it was found).
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if k == "$ref" {
                    if let Some(s) = x.as_str() {
                        out.push((at.clone(), s));
                    }
                } else {
                    refs(x, format!("{at}/{k}"), out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                refs(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The document loads as plain JSON and every `$ref` resolves into `components.schemas`.
fn refs_resolve(mode: &str, doc: &Value, out: &mut Vec<String>) {
    let mut found = Vec::new();
    refs(doc, String::new(), &mut found);
    for (at, r) in found {
        match r.strip_prefix("#/components/schemas/") {
            Some(name) if doc["components"]["schemas"].get(name).is_some() => {}
            Some(name) => out.push(format!("{mode}: $ref {r} at {at}: no schema {name}")),
            None => out.push(format!(
                "{mode}: $ref {r} at {at} does not point into components.schemas"
            )),
        }
    }
}

#[test]
fn the_documents_follow_the_conventions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    for mode in ["field", "office"] {
        let hub = Hub::start_with(mode, &tmp.path().join(mode), &[]);
        let doc = block_on(oa::fetch_doc(&hub.base));
        assert!(doc.is_object(), "{mode}: the document is a JSON object");
        assert!(
            doc["info"]["title"].is_string() && doc["info"]["version"].is_string(),
            "{mode}: info.title and info.version"
        );
        hygiene(mode, &doc, &mut problems);
        refs_resolve(mode, &doc, &mut problems);
    }
    assert!(
        problems.is_empty(),
        "{} convention problem(s):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn the_hygiene_checks_catch_what_they_should() {
    // The checks themselves, on a made-up document breaking each rule once.
    let doc = serde_json::json!({
        "openapi": "3.0.3",
        "components": {"securitySchemes": {"session": {}, "csrf": {}, "sync_token": {}},
                       "schemas": {"A": {}}},
        "paths": {
            "/a": {
                "get": {"operationId": "a", "tags": ["t"], "security": [{}],
                        "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}}},
                "post": {"operationId": "a", "tags": ["t"], "security": [{"session": ["admin"]}]}
            },
            "/b": {
                "get": {"operationId": "b", "security": [{"session": ["clerk"]}]},
                "put": {"operationId": "c", "tags": ["t"], "security": [{"session": ["boss"], "csrf": []}]},
                "delete": {"operationId": "d", "tags": ["t"]}
            }
        }
    });
    let mut p = Vec::new();
    hygiene("field", &doc, &mut p);
    refs_resolve("field", &doc, &mut p);
    let joined = p.join("\n");
    for want in [
        "not 3.1.x",
        "operationId a also used",
        "without \"csrf\"",
        "GET /b: no tag",
        "none of which exists on a field hub",
        "\"boss\" is not a role name",
        "DELETE /b: no explicit `security`",
        "no schema B",
    ] {
        assert!(joined.contains(want), "missing {want:?} in:\n{joined}");
    }
}
