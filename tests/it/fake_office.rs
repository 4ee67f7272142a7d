//! Issue 18, finding 5: a fake office (found by a spoofed mDNS record, a wrong URL) cannot push more than
//! the field's read limits into it, nor hold it forever. A small fake office on loopback stands in front of
//! a real office and passes every request through, except one kind of call, which it answers with an
//! endless body (64 KiB chunks, "1 GB and more") or an endless slow trickle (one byte every 100 ms). For
//! each client call of a sync run (challenge, hello, holdings, manifest, envelope, chunk, ack, news) the
//! real `hub sync` must stop with the plain error of its limit within a bounded time, its peak memory
//! (VmHWM of the child) staying small.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::common::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Evil {
    /// An endless chunked body, as fast as the field reads it.
    Huge,
    /// An endless chunked body of one byte every 100 ms.
    Trickle,
}

/// Which call to spoil, and how; and how often it was spoiled.
#[derive(Default)]
struct Plan {
    target: Option<(&'static str, Evil)>,
    hits: HashMap<&'static str, u32>,
}

/// The call kind of a request line's path (`/api/v1/sync/<kind>…`).
fn kind_of(method: &str, path: &str) -> &'static str {
    let p = path.split('?').next().unwrap_or(path);
    match p.trim_start_matches("/api/v1/sync/").split('/').next() {
        Some("challenge") => "challenge",
        Some("hello") => "hello",
        Some("holdings") => "holdings",
        Some("manifest") => "manifest",
        Some("envelopes") => "envelopes",
        Some("blobs") if method == "PUT" => "chunk",
        Some("blobs") => "blob_state",
        Some("ack") => "ack",
        Some("news") => "news",
        Some("tls") => "tls",
        _ => "other",
    }
}

async fn evil_answer(mut s: TcpStream, evil: Evil) {
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    if s.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let started = Instant::now();
    // Bounded so that a broken field hub cannot keep the test alive forever either.
    while started.elapsed() < Duration::from_secs(120) {
        let r = match evil {
            Evil::Huge => {
                let chunk = vec![b' '; 64 * 1024];
                let mut frame = format!("{:x}\r\n", chunk.len()).into_bytes();
                frame.extend_from_slice(&chunk);
                frame.extend_from_slice(b"\r\n");
                s.write_all(&frame).await
            }
            Evil::Trickle => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                s.write_all(b"1\r\n \r\n").await
            }
        };
        if r.is_err() {
            return;
        }
    }
}

/// Serves one client connection: requests are read one by one and passed to `office`, except the target.
async fn serve_conn(s: TcpStream, office: String, plan: Arc<Mutex<Plan>>, http: reqwest::Client) {
    let mut r = BufReader::new(s);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, path) = (method.to_string(), path.to_string());
        let mut headers: Vec<(String, String)> = Vec::new();
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).await.unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).await.is_err() {
            return;
        }
        let kind = kind_of(&method, &path);
        let spoil = {
            let mut p = plan.lock().unwrap();
            match p.target {
                Some((k, evil)) if k == kind => {
                    *p.hits.entry(kind).or_default() += 1;
                    Some(evil)
                }
                _ => None,
            }
        };
        if let Some(evil) = spoil {
            evil_answer(r.into_inner(), evil).await;
            return;
        }
        let mut rb = http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{office}{path}"),
        );
        for (k, v) in &headers {
            if k == "authorization" || k == "content-type" {
                rb = rb.header(k.as_str(), v.as_str());
            }
        }
        let Ok(resp) = rb.body(body).send().await else {
            return;
        };
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_string();
        let bytes = resp.bytes().await.unwrap_or_default();
        let head = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
            status.as_u16(),
            status.canonical_reason().unwrap_or("X"),
            bytes.len()
        );
        let s = r.get_mut();
        if s.write_all(head.as_bytes()).await.is_err() || s.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

/// The fake office in front of `office` on a free loopback port; returns its base URL.
fn start_fake(rt: &tokio::runtime::Runtime, office: &str, plan: Arc<Mutex<Plan>>) -> String {
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let office = office.to_string();
    rt.spawn(async move {
        let http = reqwest::Client::new();
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(serve_conn(s, office.clone(), plan.clone(), http.clone()));
        }
    });
    base
}

/// The bound on `hub sync`'s peak resident memory.
const MAX_PEAK_KB: u64 = 200 * 1024;

/// Peak resident memory of process `pid` in kB (VmHWM), if it still runs.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Runs `hub sync` against `url`; answers (exit code, stdout + stderr, peak memory in kB, time taken).
fn run_sync(field_dir: &Path, url: &str) -> (i32, String, u64, Duration) {
    let t0 = Instant::now();
    let out_path = field_dir.with_extension("out");
    let err_path = field_dir.with_extension("err");
    let mut child = Command::new(hub_bin())
        .envs(unlock_env(field_dir))
        .args([
            "sync",
            "--data",
            field_dir.to_str().unwrap(),
            "--mdns",
            "off",
        ])
        .args(["--office-url", url])
        .env("HUB_LOG", "warn")
        // The whole-request limit, shortened so that the trickle case ends in seconds.
        .env("HUB_SYNC_REQUEST_TIMEOUT_SECS", "3")
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    let mut peak = 0;
    let code = loop {
        if let Some(kb) = vm_hwm_kb(child.id()) {
            peak = peak.max(kb);
        }
        if peak > MAX_PEAK_KB {
            // Over the bound already: stop it before it eats the machine's memory.
            let _ = child.kill();
        }
        if let Some(st) = child.try_wait().unwrap() {
            break st.code().unwrap_or(-1);
        }
        if t0.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hub sync still running after 90 s (peak {peak} kB)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = format!(
        "{}{}",
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    (code, text, peak, t0.elapsed())
}

#[test]
fn a_fake_office_cannot_flood_or_hold_a_field_hub() {
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    block_on(async {
        let officer = field_officer(&field, "mat-khau-can-bo").await;
        capture_and_seal(&officer, "Nguyễn Văn An", "070198010001", &photo).await;
    });
    drop(field);
    let office = Hub::start("office", &office_dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let plan = Arc::new(Mutex::new(Plan::default()));
    let fake = start_fake(&rt, &office.base, plan.clone());

    // In the order of a run, so that each target is reached: what passes through before it succeeds.
    let targets = [
        "challenge",
        "hello",
        "holdings",
        "manifest",
        "envelopes",
        "chunk",
        "ack",
        "news",
    ];
    let mut figures = Vec::new();
    for target in targets {
        for evil in [Evil::Huge, Evil::Trickle] {
            plan.lock().unwrap().target = Some((target, evil));
            let hits_before = plan.lock().unwrap().hits.get(target).copied().unwrap_or(0);
            let (code, text, peak_kb, took) = run_sync(&field_dir, &fake);
            let hits = plan.lock().unwrap().hits.get(target).copied().unwrap_or(0) - hits_before;
            figures.push(format!(
                "{target:>9} {evil:?}: exit {code}, {took:.1?}, peak {} MB",
                peak_kb / 1024
            ));
            assert!(hits > 0, "{target} {evil:?} was never asked for: {text}");
            let want = match evil {
                Evil::Huge => "office_answer_too_large",
                Evil::Trickle => "office_answer_too_slow",
            };
            assert!(
                text.contains(want),
                "{target} {evil:?}: no {want} in {text}"
            );
            if target == "news" {
                // News failing does not undo the upload; it is reported.
                assert!(text.contains("News could not be pulled"), "{text}");
            } else {
                assert_eq!(code, 1, "{target} {evil:?}: {text}");
                assert!(
                    text.contains("Đồng bộ không thành công"),
                    "the Vietnamese words are shown too: {text}"
                );
            }
            assert!(
                peak_kb < MAX_PEAK_KB,
                "{target} {evil:?}: hub sync peaked at {} MB",
                peak_kb / 1024
            );
            assert!(
                took < Duration::from_secs(60),
                "{target} {evil:?}: took {took:?}"
            );
        }
    }
    println!("{}", figures.join("\n"));
    plan.lock().unwrap().target = None;
    let (code, text, _, _) = run_sync(&field_dir, &fake);
    assert_eq!(code, 0, "with an honest answer the sync completes: {text}");
    drop(office);
    drop(tmp);
}
