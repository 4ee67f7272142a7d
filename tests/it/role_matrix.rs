//! The role matrix (issue 8, security): every API route × every role of the mode and no login → allowed
//! or refused as the hub's OpenAPI document (`GET /api/v1/openapi.json`) says. For each mode a real hub
//! with one user of every role (the admin by the setup link, the others created by the admin through the
//! API), each with its own cookie jar and CSRF token, plus an anonymous client, calls every documented
//! operation with placeholder parameters and an empty body of its content type:
//! - `security(())` → no caller gets 401, or 403 `forbidden`/`csrf`;
//! - `session` without scopes → anonymous 401; every role neither 401 nor 403;
//! - `session` with scopes → anonymous 401; roles not listed 403 `forbidden`; listed roles neither 401
//!   nor 403 (save a record-level 403 named in [`ALLOWED_403`]);
//! - `sync_token` → 401 for anonymous and every session role;
//! - an operation of the other mode's document that this mode does not serve → 404 for every caller.
//!
//! All mismatches are collected and reported at once; the full matrix is written as a Markdown table to
//! `target/role-matrix-<mode>.md`.

use crate::common::oa;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use crate::common::*;
use oa::{Answer, Op};
use serde_json::json;

const ADMIN_PW: &str = "Quản-trị-viên-2024";
const PW: &str = "mật-khẩu-đúng-123";

/// 403 answers with a code other than `forbidden` that a role listed in the operation's scopes may get
/// (a refusal about the record, not the role): (METHOD, documented path, role, code). Each entry says why.
const ALLOWED_403: &[(&str, &str, &str, &str)] = &[];

/// Operations that end the caller's session (or may): called last. After any state-changing call the
/// caller's session is checked anyway (`GET /api/v1/me`) and renewed if it is gone. The login rate limit
/// (`auth/ratelimit.rs`) counts failed logins only: the renewals succeed, and the matrix's own
/// `POST /api/v1/login` with `{}` is refused as malformed (400) before the limiter counts anything, so no
/// `--login-lockout-seconds` is needed.
fn ends_session(op: &Op) -> bool {
    let p = op.path.as_str();
    p == "/api/v1/logout"
        || p.contains("password")
        || p.contains("disable")
        || (op.method == "DELETE" && p.starts_with("/api/v1/users/"))
}

/// What the document promises for an operation.
#[derive(Debug, Clone)]
enum Expect {
    /// `security(())`: no login.
    Public,
    /// `session` with these scopes (empty: any logged-in user).
    Session(Vec<String>),
    /// `sync_token` only.
    Sync,
    /// No usable `security` declared.
    Undeclared(String),
}

impl Expect {
    fn of(op: &Op) -> Expect {
        let Some(reqs) = oa::security(op) else {
            return Expect::Undeclared("no security list".into());
        };
        if reqs.iter().any(|r| r.is_empty()) {
            return Expect::Public;
        }
        let mut scopes = BTreeSet::new();
        let mut session = false;
        let mut any_scopeless_session = false;
        for r in &reqs {
            if let Some(s) = r.get("session") {
                session = true;
                let list: Vec<String> = s
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                if list.is_empty() {
                    any_scopeless_session = true;
                }
                scopes.extend(list);
            }
        }
        if session {
            return Expect::Session(if any_scopeless_session {
                Vec::new()
            } else {
                scopes.into_iter().collect()
            });
        }
        if reqs.iter().all(|r| r.contains_key("sync_token")) {
            return Expect::Sync;
        }
        Expect::Undeclared(format!("unknown requirements {reqs:?}"))
    }

    fn label(&self) -> String {
        match self {
            Expect::Public => "public".into(),
            Expect::Session(s) if s.is_empty() => "session (any role)".into(),
            Expect::Session(s) => format!("session: {}", s.join(", ")),
            Expect::Sync => "sync_token".into(),
            Expect::Undeclared(_) => "undeclared".into(),
        }
    }

    /// `None` when `a` (answered to `role`, `None` = anonymous) is as documented, else what was expected.
    fn check(&self, op: &Op, role: Option<&str>, a: &Answer) -> Option<String> {
        let auth_refusal = a.status == 401 || (a.status == 403 && is_auth_403(a));
        match (self, role) {
            (Expect::Undeclared(why), _) => Some(format!("a declared security ({why})")),
            // A rate limit (429) on a public route is fine: it is not an auth refusal.
            (Expect::Public, _) => auth_refusal.then(|| "no 401/403 from auth (public)".into()),
            (Expect::Session(_) | Expect::Sync, None) => {
                (a.status != 401).then(|| "401 (no login)".into())
            }
            (Expect::Sync, Some(_)) => (a.status != 401).then(|| "401 (sync token only)".into()),
            (Expect::Session(scopes), Some(r)) => {
                if scopes.is_empty() || scopes.iter().any(|s| s == r) {
                    let allowed_403 = a.status == 403
                        && ALLOWED_403.iter().any(|&(m, p, ro, c)| {
                            m == op.method && p == op.path && ro == r && c == a.code
                        });
                    (a.status == 401 || (a.status == 403 && !allowed_403))
                        .then(|| "neither 401 nor 403 (role allowed)".into())
                } else {
                    (a.status != 403 || a.code != "forbidden")
                        .then(|| "403 forbidden (role not allowed)".into())
                }
            }
        }
    }
}

/// A 403 from the auth layer (role or CSRF), as opposed to a record-level refusal.
fn is_auth_403(a: &Answer) -> bool {
    matches!(a.code.as_str(), "forbidden" | "csrf" | "")
}

/// One caller: a role with its session, or anonymous.
struct Caller {
    role: Option<&'static str>,
    name: String,
    http: reqwest::Client,
    csrf: Option<String>,
}

impl Caller {
    fn label(&self) -> &str {
        self.role.unwrap_or("anonymous")
    }
}

async fn login(base: &str, role: &'static str, name: &str, pw: &str) -> Caller {
    let c = Client::login(base, name, pw).await;
    Caller {
        role: Some(role),
        name: name.to_owned(),
        http: c.http,
        csrf: Some(c.csrf),
    }
}

fn password_of(role: &str) -> &'static str {
    if role == "admin" {
        ADMIN_PW
    } else {
        PW
    }
}

/// Where the matrix goes: `target/role-matrix-<mode>.md` (or under `CARGO_TARGET_DIR`).
fn matrix_path(mode: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    std::fs::create_dir_all(&target).unwrap();
    target.join(format!("role-matrix-{mode}.md"))
}

fn run(mode: &'static str) {
    let other_mode = if mode == "field" { "office" } else { "field" };
    let tmp = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // The other mode's document, from a hub of that mode started only to read it.
    let other_doc = {
        let other = Hub::start(other_mode, &tmp.path().join(other_mode));
        block_on(oa::fetch_doc(&other.base))
    };
    let hub = Hub::start(mode, &tmp.path().join(mode));
    let roles = oa::roles_of(mode);
    block_on(async {
        let doc = oa::fetch_doc(&hub.base).await;
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        let mut callers = vec![Caller {
            role: None,
            name: String::new(),
            http: reqwest::Client::new(),
            csrf: None,
        }];
        for &role in roles {
            let name = format!("{role}-matrix");
            let name = if role == "admin" {
                "admin".to_owned()
            } else {
                let (s, b) = admin
                    .post(
                        "/api/v1/users",
                        json!({"name": name, "role": role, "password": PW}),
                    )
                    .await;
                assert_eq!(s, 201, "create {role}: {b}");
                name
            };
            callers.push(login(&hub.base, role, &name, password_of(role)).await);
        }

        let mut ops = oa::operations(&doc);
        // Session-ending calls last (stable: document order otherwise).
        ops.sort_by_key(ends_session);
        let served: BTreeSet<(String, String)> = ops
            .iter()
            .map(|o| (o.path.clone(), o.method.clone()))
            .collect();

        let mut mismatches = Vec::new();
        let mut notes = Vec::new();
        let mut md = String::new();
        let head: Vec<String> = callers.iter().map(|c| c.label().to_owned()).collect();
        writeln!(md, "# Role matrix: {mode} hub\n").unwrap();
        writeln!(
            md,
            "Every operation of the {mode} hub's OpenAPI document called by each caller with placeholder \
             parameters (`tests/it/role_matrix.rs`). A cell is the status and error code; ✗ marks a \
             mismatch with the documented security.\n"
        )
        .unwrap();
        writeln!(md, "| operation | security | {} |", head.join(" | ")).unwrap();
        writeln!(md, "|---|---|{}", "---|".repeat(head.len())).unwrap();

        for op in &ops {
            let expect = Expect::of(op);
            let mut cells = Vec::new();
            for c in callers.iter_mut() {
                let a = oa::call(&c.http, &hub.base, op, c.csrf.as_deref()).await;
                let bad = expect.check(op, c.role, &a);
                let mut cell = a.cell();
                if let Some(want) = bad {
                    cell.push_str(" ✗");
                    mismatches.push(format!(
                        "{} {} as {}: {} (expected {want}) [{}]",
                        op.method,
                        op.path,
                        c.label(),
                        a.cell(),
                        oa::concrete_path(op)
                    ));
                }
                cells.push(cell);
                // A state-changing call may have ended the session: renew it so the next rows are true.
                if let (Some(role), true) = (c.role, op.is_write()) {
                    let (s, _) = Client {
                        http: c.http.clone(),
                        base: hub.base.clone(),
                        csrf: String::new(),
                    }
                    .get("/api/v1/me")
                    .await;
                    if s == 401 {
                        notes.push(format!(
                            "{} {} ended the {role}'s session; logged in again",
                            op.method, op.path
                        ));
                        let name = c.name.clone();
                        *c = login(&hub.base, role, &name, password_of(role)).await;
                    }
                }
            }
            writeln!(
                md,
                "| `{} {}` | {} | {} |",
                op.method,
                op.path,
                expect.label(),
                cells.join(" | ")
            )
            .unwrap();
        }

        // The other mode's operations that this mode does not serve: 404 for everyone.
        writeln!(
            md,
            "\n## The {other_mode} hub's operations on this {mode} hub (expected 404)\n"
        )
        .unwrap();
        writeln!(md, "| operation | {} |", head.join(" | ")).unwrap();
        writeln!(md, "|---|{}", "---|".repeat(head.len())).unwrap();
        for op in oa::operations(&other_doc) {
            if served.contains(&(op.path.clone(), op.method.clone())) {
                continue;
            }
            let mut cells = Vec::new();
            for c in &callers {
                let a = oa::call(&c.http, &hub.base, &op, c.csrf.as_deref()).await;
                let mut cell = a.cell();
                // Routes of shared routers check the mode first (`FieldOnly` / `OfficeOnly` extractors),
                // before the login, the role gate and the body: 404 for every caller.
                if a.status != 404 {
                    cell.push_str(" ✗");
                    mismatches.push(format!(
                        "{} {} ({other_mode} only) as {}: {} (expected 404) [{}]",
                        op.method,
                        op.path,
                        c.label(),
                        a.cell(),
                        oa::concrete_path(&op)
                    ));
                }
                cells.push(cell);
            }
            writeln!(
                md,
                "| `{} {}` | {} |",
                op.method,
                op.path,
                cells.join(" | ")
            )
            .unwrap();
        }
        if !notes.is_empty() {
            writeln!(md, "\n## Notes\n").unwrap();
            for n in &notes {
                writeln!(md, "- {n}").unwrap();
            }
        }
        writeln!(md, "\n## Mismatches: {}\n", mismatches.len()).unwrap();
        for m in &mismatches {
            writeln!(md, "- {m}").unwrap();
        }
        let path = matrix_path(mode);
        std::fs::write(&path, &md).unwrap();
        eprintln!(
            "role matrix ({mode}): {} operations × {} callers in {:.1} s; {} mismatch(es); table: {}",
            ops.len(),
            callers.len(),
            started.elapsed().as_secs_f64(),
            mismatches.len(),
            path.display()
        );
        assert!(
            mismatches.is_empty(),
            "{} role-matrix mismatch(es) on the {mode} hub (table: {}):\n  {}",
            mismatches.len(),
            path.display(),
            mismatches.join("\n  ")
        );
    });
}

#[test]
fn field_hub_routes_allow_and_refuse_each_role_as_documented() {
    run("field");
}

#[test]
fn office_hub_routes_allow_and_refuse_each_role_as_documented() {
    run("office");
}

#[test]
fn the_expectations_catch_what_they_should() {
    // The rules themselves, on made-up operations and answers.
    let op = |sec: serde_json::Value| Op {
        path: "/x".into(),
        method: "POST".into(),
        op: json!({"security": sec}),
        path_params: vec![],
    };
    let ans = |status: u16, code: &str| Answer {
        status,
        code: code.into(),
        message_en: String::new(),
    };
    let leads = op(json!([{"session": ["officer", "admin"], "csrf": []}]));
    let e = Expect::of(&leads);
    assert!(e
        .check(&leads, None, &ans(401, "unauthenticated"))
        .is_none());
    assert!(e
        .check(&leads, None, &ans(422, "validation_failed"))
        .is_some());
    assert!(e.check(&leads, Some("officer"), &ans(422, "x")).is_none());
    assert!(e
        .check(&leads, Some("officer"), &ans(403, "forbidden"))
        .is_some());
    assert!(e
        .check(&leads, Some("officer"), &ans(403, "record_locked"))
        .is_some());
    assert!(e
        .check(&leads, Some("volunteer"), &ans(403, "forbidden"))
        .is_none());
    assert!(e.check(&leads, Some("volunteer"), &ans(200, "")).is_some());
    let public = op(json!([{}]));
    let e = Expect::of(&public);
    assert!(e.check(&public, None, &ans(429, "rate_limited")).is_none());
    assert!(e
        .check(&public, None, &ans(401, "unauthenticated"))
        .is_some());
    let sync = op(json!([{"sync_token": []}]));
    let e = Expect::of(&sync);
    assert!(e.check(&sync, Some("admin"), &ans(401, "sync")).is_none());
    assert!(e.check(&sync, Some("admin"), &ans(400, "bad")).is_some());
    let none = Op {
        op: json!({}),
        ..public.clone()
    };
    assert!(Expect::of(&none)
        .check(&none, None, &ans(200, ""))
        .is_some());
}
