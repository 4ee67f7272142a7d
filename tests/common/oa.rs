//! Helpers shared by `tests/it/openapi.rs` and `tests/it/role_matrix.rs`: reading a hub's OpenAPI document
//! (`GET /api/v1/openapi.json`), listing its operations, and calling an operation with placeholder
//! parameters and an empty body of its documented content type.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;

/// The HTTP methods an OpenAPI path item may hold.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation of a document.
#[derive(Debug, Clone)]
pub struct Op {
    /// The path as documented, e.g. `/api/v1/drafts/{id}`.
    pub path: String,
    /// Upper case, e.g. `POST`.
    pub method: String,
    /// The operation object.
    pub op: Value,
    /// The path item's own parameters (merged with the operation's).
    pub path_params: Vec<Value>,
}

impl Op {
    pub fn id(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub fn operation_id(&self) -> Option<&str> {
        self.op["operationId"].as_str()
    }

    /// Whether the method changes state (needs the CSRF token).
    pub fn is_write(&self) -> bool {
        !matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS")
    }

    /// All parameters (path item's and operation's), `$ref`s not followed (the hub writes them inline).
    pub fn params(&self) -> Vec<&Value> {
        let mut v: Vec<&Value> = self.path_params.iter().collect();
        if let Some(a) = self.op["parameters"].as_array() {
            v.extend(a.iter());
        }
        v
    }
}

/// Fetches `/api/v1/openapi.json` of the hub at `base` and parses it as plain JSON (as an external tool
/// would: from the text, not through a typed model).
pub async fn fetch_doc(base: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/openapi.json"))
        .send()
        .await
        .expect("GET /api/v1/openapi.json");
    assert_eq!(r.status().as_u16(), 200, "GET /api/v1/openapi.json");
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let text = r.text().await.unwrap();
    serde_json::from_str(&text).expect("the OpenAPI document is valid JSON")
}

/// Every operation of `doc`, in document order (paths sorted by the serializer).
pub fn operations(doc: &Value) -> Vec<Op> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        let path_params = item["parameters"].as_array().cloned().unwrap_or_default();
        for m in METHODS {
            if let Some(op) = item.get(*m) {
                out.push(Op {
                    path: path.clone(),
                    method: m.to_uppercase(),
                    op: op.clone(),
                    path_params: path_params.clone(),
                });
            }
        }
    }
    out
}

/// A placeholder value for a parameter named `name` with schema `schema`: `1` for integers and numbers,
/// the first enum value, a syntactically valid value where a format or name asks for one (a 64-hex
/// sha256, a date, a UUID), else `x`.
pub fn placeholder(name: &str, schema: &Value) -> String {
    if let Some(e) = schema["enum"].as_array().and_then(|a| a.first()) {
        return match e {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    }
    let ty = match &schema["type"] {
        Value::String(s) => s.clone(),
        // OpenAPI 3.1 nullable: ["integer", "null"]
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string")
            .to_owned(),
        _ => "string".to_owned(),
    };
    let format = schema["format"].as_str().unwrap_or("");
    let lname = name.to_lowercase();
    match ty.as_str() {
        "integer" | "number" => "1".to_owned(),
        "boolean" => "false".to_owned(),
        _ if format == "date" || lname == "date" || lname.ends_with("_date") => {
            "2026-01-01".to_owned()
        }
        _ if format == "date-time" => "2026-01-01T00:00:00Z".to_owned(),
        _ if format == "uuid" => "00000000-0000-0000-0000-000000000000".to_owned(),
        _ if lname.contains("sha256") || lname == "hash" => "0".repeat(64),
        _ => "x".to_owned(),
    }
}

/// The operation's URL path with placeholder path parameters and required query parameters.
pub fn concrete_path(op: &Op) -> String {
    let mut path = op.path.clone();
    let mut query = Vec::new();
    let params = op.params();
    // Path parameters not declared at all still get a placeholder (the route must answer anyway).
    while let Some(i) = path.find('{') {
        let j = path[i..].find('}').map(|j| i + j).unwrap_or(path.len() - 1);
        let name = path[i + 1..j].to_owned();
        let schema = params
            .iter()
            .find(|p| p["in"] == "path" && p["name"] == name.as_str())
            .map(|p| p["schema"].clone())
            .unwrap_or(Value::Null);
        path.replace_range(i..=j, &placeholder(&name, &schema));
    }
    for p in params {
        if p["in"] == "query" && p["required"] == true {
            let name = p["name"].as_str().unwrap_or("");
            query.push(format!("{name}={}", placeholder(name, &p["schema"])));
        }
    }
    if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// The request body to send: `Some((content type, bytes))`, `None` when the operation has none.
/// `{}` for JSON, an empty body of the first documented content type otherwise.
pub fn body_for(op: &Op) -> Option<(String, Vec<u8>)> {
    let content = op.op["requestBody"]["content"].as_object()?;
    if content.contains_key("application/json") {
        return Some(("application/json".to_owned(), b"{}".to_vec()));
    }
    let ct = content.keys().next()?.clone();
    let ct = if ct.starts_with("multipart/") {
        format!("{ct}; boundary=role-matrix-boundary")
    } else {
        ct
    };
    Some((ct, Vec::new()))
}

/// What a call answered: status and, for error answers in JSON, the error code and English message.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub status: u16,
    pub code: String,
    pub message_en: String,
}

impl Answer {
    /// `404 "API route not found."`: the catch-all for unknown `/api/` paths (`app.rs`).
    pub fn is_route_fallback(&self) -> bool {
        self.status == 404 && self.code == "not_found" && self.message_en == "API route not found."
    }

    pub fn cell(&self) -> String {
        if self.code.is_empty() {
            self.status.to_string()
        } else {
            format!("{} {}", self.status, self.code)
        }
    }
}

/// Calls `op` on `base` through `http` (whose cookie jar carries the session, if any), with `csrf` as
/// the `X-CSRF-Token` header on state-changing calls. The body of a success is not read (event streams
/// never end).
pub async fn call(http: &reqwest::Client, base: &str, op: &Op, csrf: Option<&str>) -> Answer {
    let method = reqwest::Method::from_bytes(op.method.as_bytes()).unwrap();
    let url = format!("{base}{}", concrete_path(op));
    let mut rq = http.request(method, &url).timeout(Duration::from_secs(30));
    if let (true, Some(c)) = (op.is_write(), csrf) {
        rq = rq.header("x-csrf-token", c);
    }
    if let Some((ct, bytes)) = body_for(op) {
        rq = rq.header("content-type", ct).body(bytes);
    }
    let r = rq
        .send()
        .await
        .unwrap_or_else(|e| panic!("{} {url}: {e}", op.method));
    let status = r.status().as_u16();
    let mut a = Answer {
        status,
        ..Default::default()
    };
    if status >= 400 {
        if let Ok(Ok(b)) = tokio::time::timeout(Duration::from_secs(10), r.json::<Value>()).await {
            a.code = b["error"]["code"].as_str().unwrap_or("").to_owned();
            a.message_en = b["error"]["message_en"].as_str().unwrap_or("").to_owned();
        }
    }
    a
}

/// The security requirements of an operation: `None` when the key is missing (not declared).
pub fn security(op: &Op) -> Option<Vec<serde_json::Map<String, Value>>> {
    op.op["security"].as_array().map(|a| {
        a.iter()
            .map(|r| r.as_object().cloned().unwrap_or_default())
            .collect()
    })
}

/// The roles of a hub mode.
pub fn roles_of(mode: &str) -> &'static [&'static str] {
    match mode {
        "field" => &["admin", "officer", "volunteer"],
        "office" => &["admin", "clerk"],
        other => panic!("unknown mode {other}"),
    }
}

pub const ALL_ROLES: &[&str] = &["admin", "officer", "volunteer", "clerk"];
