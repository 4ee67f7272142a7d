//! `office-load measure`: logs in to a running office hub as a clerk (session cookie + CSRF token), then
//! times each path of a paths file N times, one request after another, and prints median, p90 and max with
//! the response size, plus the hub's memory (VmRSS/VmHWM) when its pid is given.
//!
//! Paths file: one request a line, `#` comments. `/path` or `GET /path` times a read; `POST /path {json}`
//! times a state-changing call (an export) and, when the answer names a file to fetch (`download_url`,
//! `url`, `href`, `file` or a `Location` header), times that download too (bytes/s). `{device}` and
//! `{dossier}` are filled from the office's own data. A path answering 404 is reported as missing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

pub struct Options {
    pub base: String,
    pub user: String,
    pub password: String,
    pub runs: usize,
    pub paths: PathBuf,
    pub hub_pid: Option<u32>,
    /// Write the results as JSON here too (for the summary table of the scale script).
    pub json_out: Option<PathBuf>,
}

struct Req {
    method: String,
    path: String,
    body: Option<Value>,
}

fn parse_paths(text: &str) -> anyhow::Result<Vec<Req>> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (method, rest) = match line.split_once(' ') {
            Some((m @ ("GET" | "POST"), rest)) => (m.to_string(), rest.trim()),
            _ => ("GET".to_string(), line),
        };
        let (path, body) = match rest.split_once(' ') {
            Some((p, b)) => (
                p.to_string(),
                Some(
                    serde_json::from_str(b.trim())
                        .with_context(|| format!("bad JSON body in {line:?}"))?,
                ),
            ),
            None => (rest.to_string(), None),
        };
        out.push(Req { method, path, body });
    }
    Ok(out)
}

fn stats(mut ms: Vec<f64>) -> (f64, f64, f64) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.9), *ms.last().unwrap())
}

fn memory(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |k: &str| {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((kb("VmRSS:")?, kb("VmHWM:")?))
}

/// The first object of the first array in `v` (a list answer, whatever its key).
fn first_item(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(a) => a.first(),
        Value::Object(o) => o.values().find_map(|x| match x {
            Value::Array(a) => a.first(),
            _ => None,
        }),
        _ => None,
    }
}

pub async fn run(o: Options) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(600))
        .build()?;
    let base = o.base.trim_end_matches('/').to_string();
    let r = http
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({"name": o.user, "password": o.password}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("login as {} failed: {}", o.user, r.status());
    }
    let login: Value = r.json().await?;
    let csrf = login["csrf_token"].as_str().unwrap_or_default().to_string();

    // Placeholders from the office's own data: the first listed dossier and its device.
    let list: Value = http
        .get(format!("{base}/api/v1/office/dossiers?limit=1"))
        .send()
        .await?
        .json()
        .await
        .unwrap_or(Value::Null);
    let first = first_item(&list).cloned().unwrap_or(Value::Null);
    let dossier = first["dossier_id"]
        .as_str()
        .or(first["id"].as_str())
        .unwrap_or("none")
        .to_string();
    let device = first["device_id"].as_str().unwrap_or("none").to_string();
    println!("dossier {dossier}, device {device}");

    let reqs = parse_paths(
        &std::fs::read_to_string(&o.paths)
            .with_context(|| format!("cannot read {}", o.paths.display()))?,
    )?;
    if let Some(pid) = o.hub_pid {
        if let Some((rss, hwm)) = memory(pid) {
            println!(
                "hub memory before: VmRSS {} MiB, VmHWM {} MiB",
                rss / 1024,
                hwm / 1024
            );
        }
    }
    println!(
        "{:<6} {:<58} {:>9} {:>9} {:>9} {:>11}  note",
        "method", "path", "median", "p90", "max", "bytes"
    );
    let mut results = Vec::new();
    for q in &reqs {
        let path = q
            .path
            .replace("{device}", &device)
            .replace("{dossier}", &dossier);
        let mut ms = Vec::new();
        let mut size = 0usize;
        let mut note = String::new();
        let mut download: Option<(Vec<f64>, usize)> = None;
        let mut failed = None;
        for _ in 0..o.runs {
            let t = Instant::now();
            let req = match q.method.as_str() {
                "POST" => http
                    .post(format!("{base}{path}"))
                    .header("x-csrf-token", &csrf)
                    .json(q.body.as_ref().unwrap_or(&Value::Null)),
                _ => http.get(format!("{base}{path}")),
            };
            let r = req.send().await?;
            let status = r.status();
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = r.bytes().await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            size = bytes.len();
            if status.as_u16() == 404 || status.as_u16() == 405 {
                failed = Some("missing".to_string());
                break;
            }
            if !status.is_success() {
                failed = Some(format!(
                    "FAILED {status}: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                ));
                break;
            }
            if q.method == "POST" {
                let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let file = ["download_url", "url", "href", "file", "download"]
                    .iter()
                    .find_map(|k| v[*k].as_str().map(str::to_owned))
                    .or(location.clone())
                    .filter(|p| p.starts_with('/'));
                if let Some(f) = file {
                    let t = Instant::now();
                    let r = http.get(format!("{base}{f}")).send().await?;
                    let ok = r.status().is_success();
                    let body = r.bytes().await?;
                    if ok {
                        let d = download.get_or_insert((Vec::new(), 0));
                        d.0.push(t.elapsed().as_secs_f64() * 1000.0);
                        d.1 = body.len();
                    }
                }
            }
        }
        if let Some(f) = &failed {
            note = f.clone();
        }
        let (med, p90, max) = stats(ms.clone());
        if failed.as_deref() == Some("missing") {
            println!(
                "{:<6} {:<58} {:>9} {:>9} {:>9} {:>11}  missing",
                q.method, path, "-", "-", "-", "-"
            );
        } else {
            if med > 300.0 {
                note.push_str(" SLOW (median > 300 ms)");
            }
            println!(
                "{:<6} {:<58} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>11}  {}",
                q.method,
                path,
                med,
                p90,
                max,
                size,
                note.trim()
            );
        }
        let mut entry = serde_json::json!({
            "method": q.method, "path": q.path, "runs": ms.len(), "median_ms": med, "p90_ms": p90, "max_ms": max,
            "bytes": size, "status": failed.clone().unwrap_or_else(|| "ok".into()),
        });
        if let Some((dms, dbytes)) = download {
            let (dmed, dp90, dmax) = stats(dms);
            let rate = dbytes as f64 / (dmed / 1000.0) / (1 << 20) as f64;
            println!(
                "{:<6} {:<58} {:>7.1}ms {:>7.1}ms {:>7.1}ms {:>11}  download, {rate:.1} MiB/s",
                "  GET", "  (the export file)", dmed, dp90, dmax, dbytes
            );
            entry["download"] = serde_json::json!({"median_ms": dmed, "p90_ms": dp90, "max_ms": dmax, "bytes": dbytes, "mib_per_s": rate});
        }
        results.push(entry);
    }
    let mut mem = Value::Null;
    if let Some(pid) = o.hub_pid {
        if let Some((rss, hwm)) = memory(pid) {
            println!(
                "hub memory after: VmRSS {} MiB, VmHWM {} MiB",
                rss / 1024,
                hwm / 1024
            );
            mem = serde_json::json!({"vm_rss_kib": rss, "vm_hwm_kib": hwm});
        }
    }
    if let Some(p) = &o.json_out {
        std::fs::write(
            p,
            serde_json::to_vec_pretty(&serde_json::json!({"paths": results, "memory": mem}))?,
        )?;
    }
    let failures = results
        .iter()
        .filter(|r| {
            r["status"]
                .as_str()
                .is_some_and(|s| s.starts_with("FAILED"))
        })
        .count();
    if failures > 0 {
        bail!("{failures} path(s) failed");
    }
    Ok(())
}
