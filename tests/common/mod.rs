//! Shared helpers for the integration tests: spawning real `hub` processes on loopback ports with
//! temporary data directories, running CLI commands, and a small logged-in HTTP client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub fn hub_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hub"))
}

/// Path of a sample document photo from `../shared/data/photos`.
pub fn sample_photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/photos")
        .join(name)
}

/// A running hub process; killed when dropped.
pub struct Hub {
    pub child: Child,
    pub base: String,
    pub data: PathBuf,
    pub setup_token: Option<String>,
    /// The start banner's lines (addresses, QR code, setup link).
    pub banner: Vec<String>,
    pub stdout_lines: mpsc::Receiver<String>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Hub {
    /// Starts `hub serve` in `mode` on a free loopback port with mDNS on loopback only, and waits until
    /// `/healthz` answers.
    pub fn start(mode: &str, data: &Path) -> Hub {
        Hub::start_with(mode, data, &[])
    }

    /// [`Hub::start`] with further `hub serve` arguments.
    pub fn start_with(mode: &str, data: &Path, extra: &[&str]) -> Hub {
        Hub::start_logged(mode, data, extra, "warn", None)
    }

    /// [`Hub::start_with`] at log level `level` (`HUB_LOG`), its standard error appended to `log` if given.
    pub fn start_logged(
        mode: &str,
        data: &Path,
        extra: &[&str],
        level: &str,
        log: Option<&Path>,
    ) -> Hub {
        // The hub binds port 0 and its banner names the port the kernel gave it, so no other process can
        // take the port in between. A hub that exits before it is healthy is tried again.
        for attempt in 1..=3 {
            if let Some(hub) = Hub::try_start(mode, data, extra, level, log) {
                return hub;
            }
            eprintln!("hub exited before it was healthy (attempt {attempt}); trying again");
        }
        panic!("hub did not start after 3 attempts (see its standard error above)");
    }

    /// One attempt of [`Hub::start_logged`]: `None` when the hub process exited before it was healthy.
    fn try_start(
        mode: &str,
        data: &Path,
        extra: &[&str],
        level: &str,
        log: Option<&Path>,
    ) -> Option<Hub> {
        let stderr = match log {
            Some(p) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)
                    .expect("open the hub log"),
            ),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(hub_bin())
            .args(["serve", "--mode", mode, "--data"])
            .arg(data)
            .args(["--listen", "127.0.0.1:0", "--mdns", "loopback"])
            // No HTTPS unless a test asks for it: the default port would be shared by every test hub.
            .args(if extra.contains(&"--https-listen") {
                &[][..]
            } else {
                &["--https-listen", "off"][..]
            })
            .args(extra)
            .env("HUB_LOG", level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn hub");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut banner = Vec::new();
        let mut base: Option<String> = None;
        let mut setup_token = None;
        loop {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "hub did not become healthy within 30 s; its banner so far: {banner:#?}"
            );
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if base.is_none() {
                        base = banner_url(&line, "http");
                    }
                    if let Some(i) = line.find("#/setup?token=") {
                        setup_token = Some(line[i + "#/setup?token=".len()..].trim().to_string());
                    }
                    banner.push(line);
                }
                // The banner is written before the hub serves: once it is healthy, whatever it printed
                // is in the channel (an already set-up hub prints no setup link).
                Err(_) => {
                    if let Some(b) = &base {
                        if healthy(b) {
                            while let Ok(line) = rx.try_recv() {
                                if let Some(i) = line.find("#/setup?token=") {
                                    setup_token =
                                        Some(line[i + "#/setup?token=".len()..].trim().to_string());
                                }
                                banner.push(line);
                            }
                            break;
                        }
                    }
                }
            }
        }
        Some(Hub {
            child,
            base: base.expect("the banner named the address"),
            data: data.to_path_buf(),
            setup_token,
            banner,
            stdout_lines: rx,
        })
    }

    /// The HTTPS address (`https://127.0.0.1:PORT`) the banner named, when the hub serves HTTPS.
    pub fn https_base(&self) -> Option<String> {
        self.banner.iter().find_map(|l| banner_url(l, "https"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// `scheme://127.0.0.1:PORT` when `line` is a banner address line of that scheme ("  http://127.0.0.1:PORT/").
pub fn banner_url(line: &str, scheme: &str) -> Option<String> {
    let rest = line
        .trim()
        .strip_prefix(&format!("{scheme}://127.0.0.1:"))?;
    let port: u16 = rest.trim_end_matches('/').parse().ok()?;
    Some(format!("{scheme}://127.0.0.1:{port}"))
}

fn healthy(base: &str) -> bool {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map(|r| r.status().is_success())
            .unwrap_or(false)
    })
}

/// Runs a `hub` CLI command and returns its output.
pub fn cli(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(hub_bin());
    cmd.args(args).env("HUB_LOG", "warn");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run hub cli")
}

/// Runs a CLI command that must succeed; returns its stdout.
pub fn cli_ok(args: &[&str], envs: &[(&str, &str)]) -> String {
    let out = cli(args, envs);
    assert!(
        out.status.success(),
        "hub {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An HTTP client with a cookie jar and the session's CSRF token.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub csrf: String,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap(),
            base: base.to_string(),
            csrf: String::new(),
        }
    }

    /// Creates the first admin through the one-time setup link.
    pub async fn setup(hub: &Hub, name: &str, password: &str) -> Client {
        let mut c = Client::new(&hub.base);
        let token = hub.setup_token.clone().expect("setup link printed");
        let (status, body) = c
            .post(
                "/api/v1/setup",
                json!({"token": token, "name": name, "password": password}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        c.csrf = body["csrf_token"].as_str().unwrap().to_string();
        c
    }

    pub async fn login(base: &str, name: &str, password: &str) -> Client {
        let mut c = Client::new(base);
        let (status, body) = c
            .post("/api/v1/login", json!({"name": name, "password": password}))
            .await;
        assert_eq!(status, 200, "login {name}: {body}");
        c.csrf = body["csrf_token"].as_str().unwrap().to_string();
        c
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.bytes().await.unwrap().to_vec())
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, body).await
    }

    pub async fn upload(
        &self,
        draft_id: &str,
        role: &str,
        file_name: &str,
        bytes: Vec<u8>,
        mime: &str,
    ) -> (u16, Value) {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_string())
            .mime_str(mime)
            .unwrap();
        let form = reqwest::multipart::Form::new()
            .text("role", role.to_string())
            .part("file", part);
        let r = self
            .http
            .post(format!(
                "{}/api/v1/drafts/{draft_id}/attachments",
                self.base
            ))
            .header("x-csrf-token", &self.csrf)
            .multipart(form)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
}

/// A complete, valid certificate-of-marital-status request (Vietnamese values, NFC).
pub fn marital_fields(subject: &str, pin: &str) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    for (k, v) in [
        ("addressee.commune", "Ủy ban nhân dân xã Bù Gia Mập"),
        ("requester.full_name", subject),
        (
            "requester.residence",
            "Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai",
        ),
        ("requester.id_type", "can_cuoc"),
        ("requester.pin", pin),
        (
            "requester.id_issuer",
            "Cục Cảnh sát quản lý hành chính về trật tự xã hội",
        ),
        ("requester.id_issue_date", "2021-04-15"),
        ("requester.relationship", "self"),
        ("subject.full_name", subject),
        ("subject.date_of_birth", "1998-03-12"),
        ("subject.sex", "female"),
        ("subject.ethnicity", "Xtiêng"),
        ("subject.nationality", "Việt Nam"),
        (
            "subject.residence",
            "Thôn Bù Lư, xã Bù Gia Mập, tỉnh Đồng Nai",
        ),
        ("subject.id_type", "can_cuoc"),
        ("subject.pin", pin),
        ("subject.marital_status", "never_married"),
        (
            "request.purpose",
            "Bổ sung hồ sơ vay vốn ngân hàng chính sách xã hội",
        ),
        ("declaration.confirmed", "yes"),
    ] {
        f.insert(k.to_string(), v.to_string());
    }
    f
}

/// Creates, fills, photographs and seals one marital-status dossier; returns the receipt JSON.
pub async fn capture_and_seal(
    c: &Client,
    subject: &str,
    pin: &str,
    photo: &[u8],
) -> (Value, BTreeMap<String, String>) {
    let fields = marital_fields(subject, pin);
    let receipt = seal_marital(c, &fields, photo).await;
    (receipt, fields)
}

/// Captures a certificate of marital status with `fields` and one ID photo, seals it; returns the receipt.
pub async fn seal_marital(c: &Client, fields: &BTreeMap<String, String>, photo: &[u8]) -> Value {
    let (s, draft) = c
        .post(
            "/api/v1/drafts",
            json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}),
        )
        .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_string();
    let (s, saved) = c
        .put(
            &format!("/api/v1/drafts/{id}"),
            json!({"fields": fields, "version": draft["version"]}),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
    let (s, att) = c
        .upload(
            &id,
            "id_document",
            "giay-to.jpg",
            photo.to_vec(),
            "image/jpeg",
        )
        .await;
    assert_eq!(s, 201, "{att}");
    let (s, receipt) = c
        .post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
        .await;
    assert_eq!(s, 201, "{receipt}");
    receipt
}

/// Runs an async block on a fresh runtime (tests are plain #[test] so they can mix CLI and HTTP).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Pairs a field and an office data directory by files, both ways (`hub key show` → `hub trust`): the
/// fallback pairing, whose cards count as approved.
pub fn pair_by_files(tmp: &Path, field_dir: &Path, office_dir: &Path) {
    let field_card = tmp.join("field.pub");
    let office_card = tmp.join("office.pub");
    std::fs::write(
        &field_card,
        cli_ok(&["key", "show", "--data", field_dir.to_str().unwrap()], &[]),
    )
    .unwrap();
    std::fs::write(
        &office_card,
        cli_ok(
            &["key", "show", "--data", office_dir.to_str().unwrap()],
            &[],
        ),
    )
    .unwrap();
    cli_ok(
        &[
            "trust",
            "--data",
            field_dir.to_str().unwrap(),
            office_card.to_str().unwrap(),
        ],
        &[],
    );
    cli_ok(
        &[
            "trust",
            "--data",
            office_dir.to_str().unwrap(),
            field_card.to_str().unwrap(),
        ],
        &[],
    );
}

/// The fields of a complete 3-in-1 request for `child` born on `born` (derived values left to the hub).
pub fn three_in_one_fields(child: &str, born: &str) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    for (k, v) in [
        ("child.full_name", child),
        ("child.date_of_birth", born),
        ("child.sex", "female"),
        ("child.nationality", "Việt Nam"),
        ("child.place_of_birth", "Trạm Y tế xã Bù Gia Mập"),
        ("birth.proof", "facility"),
        ("mother.full_name", "Thị Hoa"),
        ("mother.date_of_birth", "1998"),
        ("mother.ethnicity", "Xtiêng"),
        ("mother.nationality", "Việt Nam"),
        ("mother.pin", "070198001234"),
        ("mother.residence_commune", "25222"),
        ("mother.residence_detail", "Thôn Bù Khơn"),
        ("mother.phone", "0912345678"),
        ("father.declared", "yes"),
        ("father.full_name", "Điểu Minh"),
        ("father.date_of_birth", "1995-04-02"),
        ("father.ethnicity", "Xtiêng"),
        ("father.nationality", "Việt Nam"),
        ("father.pin", "070095004321"),
        ("requester.relationship", "mother"),
        ("requester.id_type", "can_cuoc"),
        ("birth.copies", "1"),
        ("residence.head_is", "mother"),
        ("residence.relationship_to_head", "child"),
        ("declaration.confirmed", "yes"),
    ] {
        fields.insert(k.into(), json!(v));
    }
    fields
}

/// Creates, fills, photographs and seals a complete 3-in-1 dossier for `child` born on `born` (derived values
/// left to the hub), with the papers it needs; returns the receipt JSON.
pub async fn seal_three_in_one(c: &Client, child: &str, born: &str, photo: &[u8]) -> Value {
    let fields = three_in_one_fields(child, born);
    let (s, draft) = c
        .post(
            "/api/v1/drafts",
            json!({"procedure": {"id": "birth-residence-insurance", "version": 1}, "fields": {}}),
        )
        .await;
    assert_eq!(s, 201, "{draft}");
    let id = draft["id"].as_str().unwrap().to_string();
    let (s, saved) = c
        .put(
            &format!("/api/v1/drafts/{id}"),
            json!({"fields": fields, "version": draft["version"]}),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
    for role in ["birth_certificate", "requester_id"] {
        let (s, att) = c
            .upload(&id, role, "giay.jpg", photo.to_vec(), "image/jpeg")
            .await;
        assert_eq!(s, 201, "{att}");
    }
    let (s, receipt) = c
        .post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
        .await;
    assert_eq!(s, 201, "{receipt}");
    receipt
}

/// Carries the field hub's unacknowledged envelopes to the office by "USB stick": `hub batch export` into
/// `batch`, then `hub batch import` on the office.
pub fn carry_batch(batch: &Path, field_dir: &Path, office_dir: &Path) {
    let (b, f, o) = (
        batch.to_str().unwrap(),
        field_dir.to_str().unwrap(),
        office_dir.to_str().unwrap(),
    );
    cli_ok(&["batch", "export", "--data", f, "--out", b], &[]);
    cli_ok(&["batch", "import", "--data", o, b], &[]);
}
