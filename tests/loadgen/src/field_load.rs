//! `field-load`: the issue-8 field load check. N virtual phones (default 50) do the real capture flow
//! against one running field hub over HTTP for D seconds (default 60): log in, fetch the app shell and the
//! procedures as the web app does, create a draft (3-in-1 or marital-status certificate), save its fields
//! in a few autosave steps, upload document photos prepared as client-web's `shrink()` prepares them
//! (EXIF-upright, long side 1600 px, within the hub's 100 KiB budget: `photos.rs`), review, seal and fetch the receipt, with seeded random think time
//! between steps. Volunteer phones capture only and hand their drafts to the officer phones, which review
//! and seal them (volunteers may not seal). Prints per request kind and overall requests/s and latency
//! percentiles, errors by status, dossiers sealed and the hub's memory (VmRSS sampled every 100 ms, VmHWM);
//! `--json FILE` writes the same as JSON. Exits 1 when any request failed (any status ≥ 400 or no answer).
//! Loopback only: `--base` must be a 127.0.0.0/8 or localhost address.

#[allow(dead_code)]
mod data;
#[allow(dead_code)]
mod photos;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use data::Rng;
use photos::{prepare_photo, Photo};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "field-load",
    about = "Field hub under N phones doing the capture flow (issue 8)"
)]
struct Cli {
    /// The field hub, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long)]
    base: String,
    /// Virtual phones.
    #[arg(long, default_value_t = 50)]
    phones: usize,
    /// Seconds of load; phones start no new step after that.
    #[arg(long, default_value_t = 60)]
    duration: u64,
    /// Officer accounts (comma-separated), made beforehand with `hub user add --role officer`.
    #[arg(long, value_delimiter = ',', required = true)]
    officers: Vec<String>,
    /// Volunteer accounts (comma-separated), made beforehand with `hub user add --role volunteer`.
    #[arg(long, value_delimiter = ',')]
    volunteers: Vec<String>,
    /// One phone in this many is a volunteer's (0: none).
    #[arg(long, default_value_t = 5)]
    volunteer_every: usize,
    /// The accounts' password.
    #[arg(long, env = "HUB_PASSWORD", hide_env_values = true)]
    password: String,
    /// Think time between steps, milliseconds (uniform between min and max).
    #[arg(long, default_value_t = 500)]
    think_min_ms: u64,
    #[arg(long, default_value_t = 2000)]
    think_max_ms: u64,
    /// Phones log in spread over this many milliseconds at the start.
    #[arg(long, default_value_t = 5000)]
    ramp_ms: u64,
    /// Percent of dossiers that are 3-in-1 (three photos); the rest are marital-status certificates (one).
    #[arg(long, default_value_t = 70)]
    three_in_one_pct: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The sample document photos (giay-chung-sinh.jpg, to-khai-xac-nhan-hon-nhan.jpg).
    #[arg(long, default_value = "../shared/data/photos")]
    photos: PathBuf,
    /// The hub's process id: its VmRSS is sampled every 100 ms and VmHWM read at the end.
    #[arg(long)]
    hub_pid: Option<u32>,
    /// Also write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write the prepared photos (as uploaded) into this folder and exit.
    #[arg(long)]
    write_photos: Option<PathBuf>,
    /// Seconds a phone may take past the end to finish its dossier in hand; longer is an error.
    #[arg(long, default_value_t = 60)]
    drain: u64,
    /// Each phone stops after sealing this many dossiers (0: no limit; the duration still applies).
    #[arg(long, default_value_t = 0)]
    max_dossiers: usize,
    /// Save the hub's stored copy of each sample photo (as the draft page's thumbnail fetches it) here.
    #[arg(long)]
    save_stored: Option<PathBuf>,
}

/// Request kinds, in the order of the flow.
const KINDS: &[&str] = &[
    "shell",
    "login",
    "me",
    "procedures",
    "home",
    "create",
    "save",
    "photo",
    "thumb",
    "check",
    "seal",
    "receipt",
];

/// One timed request: its kind, latency and status (0: no answer).
struct Sample {
    kind: &'static str,
    /// When the request was sent, ms since the run's start.
    at_ms: f64,
    ms: f64,
    status: u16,
}

struct Phone {
    /// The run's start (for [`Sample::at_ms`]).
    start: Instant,
    http: reqwest::Client,
    base: String,
    csrf: String,
    samples: Vec<Sample>,
    errors: Vec<String>,
    /// Answers that were 2xx but not what the flow needs (no id, not ready, ...).
    bad: usize,
}

/// What one phone did.
#[derive(Default)]
struct Tally {
    sealed: usize,
    three_in_one: usize,
    handed_over: usize,
    photos: usize,
    photo_bytes: usize,
}

impl Phone {
    /// Sends a request and reads the whole answer, timing both; records errors (status ≥ 400, no answer).
    async fn call(
        &mut self,
        kind: &'static str,
        rb: reqwest::RequestBuilder,
    ) -> Option<(u16, bytes_body::Body)> {
        let t0 = Instant::now();
        let at_ms = t0.duration_since(self.start).as_secs_f64() * 1000.0;
        let res = async {
            let r = rb.timeout(Duration::from_secs(30)).send().await?;
            let s = r.status().as_u16();
            let b = r.bytes().await?;
            Ok::<_, reqwest::Error>((s, b))
        }
        .await;
        let ms = t0.elapsed().as_secs_f64() * 1000.0;
        match res {
            Ok((status, body)) => {
                self.samples.push(Sample {
                    kind,
                    at_ms,
                    ms,
                    status,
                });
                if status >= 400 {
                    self.errors.push(format!(
                        "{kind}: {status} {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                    return None;
                }
                Some((status, bytes_body::Body(body.to_vec())))
            }
            Err(e) => {
                self.samples.push(Sample {
                    kind,
                    at_ms,
                    ms,
                    status: 0,
                });
                self.errors.push(format!("{kind}: no answer: {e}"));
                None
            }
        }
    }

    fn req(&self, m: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.request(m.clone(), format!("{}{path}", self.base));
        if m == reqwest::Method::GET || self.csrf.is_empty() {
            rb
        } else {
            rb.header("x-csrf-token", &self.csrf)
        }
    }

    fn fail(&mut self, msg: String) {
        self.bad += 1;
        self.errors.push(msg);
    }

    async fn get(&mut self, kind: &'static str, path: &str) -> Option<Value> {
        let rb = self.req(reqwest::Method::GET, path);
        self.call(kind, rb).await.map(|(_, b)| b.json())
    }

    async fn send(
        &mut self,
        kind: &'static str,
        m: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Option<Value> {
        let rb = self.req(m, path).json(&body);
        self.call(kind, rb).await.map(|(_, b)| b.json())
    }
}

mod bytes_body {
    /// A whole answer body.
    pub struct Body(pub Vec<u8>);
    impl Body {
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.0).unwrap_or(serde_json::Value::Null)
        }
    }
}

/// Everything shared by the phones.
struct Shared {
    base: String,
    password: String,
    photos: Vec<Photo>,
    communes: Vec<data::Commune>,
    today: time::Date,
    deadline: Instant,
    /// The run's start.
    start: Instant,
    think: (u64, u64),
    three_pct: u64,
    max_dossiers: usize,
    save_stored: Option<PathBuf>,
    /// Drafts captured by volunteers, waiting for an officer to review and seal them.
    handed: Mutex<VecDeque<String>>,
}

impl Shared {
    /// The pause of a person between two steps. Past the end of the load the phone finishes the dossier
    /// in hand at the same pace (the caller starts no new one): people do not type faster when the
    /// measured minute ends, and 50 phones firing their remaining steps back to back at that moment would
    /// measure a stampede no outreach session makes (every photo of every phone queued at once).
    async fn think(&self, rng: &mut Rng) {
        let (lo, hi) = self.think;
        let ms = lo + rng.below(hi.saturating_sub(lo) + 1);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// The app shell and start-up calls of the web app (index.html, its modules, strings, and the first API
/// calls of app.js), once per phone as a browser without a warm cache does.
const SHELL: &[&str] = &[
    "/",
    "/app.css",
    "/app.js",
    "/lib.js",
    "/field.js",
    "/form.js",
    "/store.js",
    "/outbox.js",
    "/clock.js",
    "/i18n/vi.json",
    "/manifest.webmanifest",
];

async fn phone_run(
    i: usize,
    user: String,
    officer: bool,
    sh: Arc<Shared>,
    mut rng: Rng,
    ramp_ms: u64,
) -> (Phone, Tally) {
    let mut p = Phone {
        start: sh.start,
        http: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("HTTP client"),
        base: sh.base.clone(),
        csrf: String::new(),
        samples: Vec::new(),
        errors: Vec::new(),
        bad: 0,
    };
    let mut tally = Tally::default();
    tokio::time::sleep(Duration::from_millis(rng.below(ramp_ms + 1))).await;
    // Boot: the shell, then the account screens' calls, then login.
    for path in SHELL {
        let rb = p.req(reqwest::Method::GET, path);
        if p.call("shell", rb).await.is_none() {
            return (p, tally);
        }
    }
    for path in ["/healthz", "/api/v1/setup", "/api/v1/languages"] {
        if p.get("shell", path).await.is_none() {
            return (p, tally);
        }
    }
    let Some(login) = p
        .send(
            "login",
            reqwest::Method::POST,
            "/api/v1/login",
            json!({"name": user, "password": sh.password}),
        )
        .await
    else {
        return (p, tally);
    };
    p.csrf = login["csrf_token"].as_str().unwrap_or_default().to_string();
    if p.get("me", "/api/v1/me").await.is_none()
        || p.get("procedures", "/api/v1/procedures").await.is_none()
    {
        return (p, tally);
    }
    let mut n = 0u64;
    while Instant::now() < sh.deadline && (sh.max_dossiers == 0 || tally.sealed < sh.max_dossiers) {
        // The home page: status, drafts (and the sealed list for an officer).
        if p.get("home", "/api/v1/status").await.is_none()
            || p.get("home", "/api/v1/drafts").await.is_none()
        {
            break;
        }
        if officer && p.get("home", "/api/v1/dossiers").await.is_none() {
            break;
        }
        sh.think(&mut rng).await;
        if Instant::now() >= sh.deadline {
            break;
        }
        // An officer first seals what a volunteer handed over.
        let handed = if officer {
            sh.handed.lock().unwrap().pop_front()
        } else {
            None
        };
        let ok = match handed {
            Some(id) => review_and_seal(&mut p, &sh, &mut rng, &id, &mut tally, false).await,
            None => {
                n += 1;
                capture(&mut p, &sh, &mut rng, i, n, officer, &mut tally).await
            }
        };
        if !ok {
            break;
        }
    }
    (p, tally)
}

/// One dossier from the start: create, autosave in steps, photos; an officer then reviews and seals it,
/// a volunteer hands it over.
async fn capture(
    p: &mut Phone,
    sh: &Shared,
    rng: &mut Rng,
    phone: usize,
    n: u64,
    officer: bool,
    tally: &mut Tally,
) -> bool {
    let three = rng.below(100) < sh.three_pct;
    let (proc_id, fields, roles): (&str, BTreeMap<String, String>, &[&str]) = if three {
        (
            "birth-residence-insurance",
            data::three_in_one(rng, &sh.communes, sh.today),
            &[
                "birth_certificate",
                "requester_id",
                "parents_marriage_certificate",
            ],
        )
    } else {
        (
            "marital-status-certificate",
            data::marital(rng, &sh.communes, sh.today),
            &["id_document"],
        )
    };
    let idem = format!("load-{phone}-{n}-{}", rng.next_u64());
    let rb = p
        .req(reqwest::Method::POST, "/api/v1/drafts")
        .header("idempotency-key", idem)
        .json(&json!({"procedure": {"id": proc_id, "version": 1}, "fields": {}}));
    let Some((_, d)) = p.call("create", rb).await else {
        return false;
    };
    let d = d.json();
    let Some(id) = d["id"].as_str().map(str::to_string) else {
        p.fail(format!("create: no id in {d}"));
        return false;
    };
    let mut version = d["version"].clone();
    // Autosave: the form is typed group by group; each save carries everything typed so far.
    let keys: Vec<&String> = fields.keys().collect();
    let steps = 3 + rng.below(2) as usize;
    let per = keys.len().div_ceil(steps);
    let mut sent = BTreeMap::new();
    for chunk in keys.chunks(per) {
        sh.think(rng).await;
        for k in chunk {
            sent.insert((*k).clone(), fields[*k].clone());
        }
        let Some(d) = p
            .send(
                "save",
                reqwest::Method::PUT,
                &format!("/api/v1/drafts/{id}"),
                json!({"fields": sent, "version": version}),
            )
            .await
        else {
            return false;
        };
        version = d["version"].clone();
    }
    for (k, role) in roles.iter().enumerate() {
        sh.think(rng).await;
        // The birth certificate and the declaration are the two samples; the ID either of them.
        let pick = match k {
            0 => 0,
            2 => 1,
            _ => rng.below(2) as usize,
        };
        let photo = &sh.photos[pick % sh.photos.len()];
        let part = reqwest::multipart::Part::bytes(photo.bytes.clone())
            .file_name(photo.name.clone())
            .mime_str("image/jpeg")
            .expect("mime");
        let form = reqwest::multipart::Form::new()
            .text("role", role.to_string())
            .part("file", part);
        let rb = p
            .req(
                reqwest::Method::POST,
                &format!("/api/v1/drafts/{id}/attachments"),
            )
            .multipart(form);
        let Some((_, a)) = p.call("photo", rb).await else {
            return false;
        };
        // The draft page shows the stored copy as a thumbnail.
        let att = a.json()["id"].as_str().unwrap_or_default().to_string();
        let rb = p.req(
            reqwest::Method::GET,
            &format!("/api/v1/drafts/{id}/attachments/{att}"),
        );
        let Some((_, stored)) = p.call("thumb", rb).await else {
            return false;
        };
        if let Some(dir) = &sh.save_stored {
            let path = dir.join(&photo.name);
            if !path.exists() {
                if let Err(e) =
                    std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, &stored.0))
                {
                    p.fail(format!("cannot save {}: {e}", path.display()));
                    return false;
                }
            }
        }
        tally.photos += 1;
        tally.photo_bytes += photo.bytes.len();
    }
    if officer {
        let ok = review_and_seal(p, sh, rng, &id, tally, three).await;
        return ok;
    }
    sh.handed.lock().unwrap().push_back(id);
    tally.handed_over += 1;
    true
}

/// The draft page opened by an officer, the review step, the seal and the receipt page.
async fn review_and_seal(
    p: &mut Phone,
    sh: &Shared,
    rng: &mut Rng,
    id: &str,
    tally: &mut Tally,
    three_known: bool,
) -> bool {
    let Some(d) = p.get("check", &format!("/api/v1/drafts/{id}")).await else {
        return false;
    };
    let three = three_known || d["procedure"]["id"] == "birth-residence-insurance";
    let Some(review) = p.get("check", &format!("/api/v1/drafts/{id}/check")).await else {
        return false;
    };
    if review["ready"] != true {
        p.fail(format!("check: not ready: {review}"));
        return false;
    }
    sh.think(rng).await;
    let Some(r) = p
        .send(
            "seal",
            reqwest::Method::POST,
            &format!("/api/v1/drafts/{id}/seal"),
            json!({}),
        )
        .await
    else {
        return false;
    };
    tally.sealed += 1;
    if three {
        tally.three_in_one += 1;
    }
    let Some(code) = r["code"].as_str() else {
        p.fail(format!("seal: no receipt code in {r}"));
        return false;
    };
    p.get("receipt", &format!("/api/v1/receipts/{code}"))
        .await
        .is_some()
        && {
            let rb = p.req(
                reqwest::Method::GET,
                &format!("/api/v1/receipts/{code}/qr.png"),
            );
            p.call("receipt", rb).await.is_some()
        }
}

/// VmRSS and VmHWM of a process, in KiB.
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

#[derive(serde::Serialize)]
struct Stats {
    count: usize,
    per_s: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

fn stats(ms: &mut [f64], secs: f64) -> Option<Stats> {
    if ms.is_empty() {
        return None;
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    // Nearest rank: the smallest value with at least q of the samples at or below it.
    let at = |q: f64| ms[((q * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
    Some(Stats {
        count: ms.len(),
        per_s: ms.len() as f64 / secs,
        p50_ms: at(0.50),
        p90_ms: at(0.90),
        p99_ms: at(0.99),
        max_ms: ms[ms.len() - 1],
    })
}

fn loopback(base: &str) -> bool {
    let rest = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
        .unwrap_or("");
    let host = rest.split(['/', ':']).next().unwrap_or("");
    host == "localhost" || host.starts_with("127.") || rest.starts_with("[::1]")
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let photos: Vec<Photo> = ["giay-chung-sinh.jpg", "to-khai-xac-nhan-hon-nhan.jpg"]
        .iter()
        .map(|f| prepare_photo(&cli.photos.join(f)))
        .collect::<anyhow::Result<_>>()?;
    if let Some(dir) = &cli.write_photos {
        std::fs::create_dir_all(dir)?;
        for p in &photos {
            std::fs::write(dir.join(&p.name), &p.bytes)?;
            println!("{} {} bytes", dir.join(&p.name).display(), p.bytes.len());
        }
        return Ok(());
    }
    if !loopback(&cli.base) {
        bail!("--base must be a loopback address (127.0.0.1, localhost, [::1]): the load stays on this machine");
    }
    if cli.phones == 0 || cli.think_min_ms > cli.think_max_ms {
        bail!("--phones must be at least 1 and --think-min-ms at most --think-max-ms");
    }
    let volunteers_on = cli.volunteer_every > 0 && !cli.volunteers.is_empty();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(cli, photos, volunteers_on))
}

async fn run(cli: Cli, photos: Vec<Photo>, volunteers_on: bool) -> anyhow::Result<()> {
    let start = Instant::now();
    let deadline = start + Duration::from_millis(cli.ramp_ms) + Duration::from_secs(cli.duration);
    let sh = Arc::new(Shared {
        start,
        base: cli.base.trim_end_matches('/').to_string(),
        password: cli.password.clone(),
        photos,
        communes: data::communes(),
        today: hub::shared::clock::today_vn(),
        deadline,
        think: (cli.think_min_ms, cli.think_max_ms),
        three_pct: cli.three_in_one_pct,
        max_dossiers: cli.max_dossiers,
        save_stored: cli.save_stored.clone(),
        handed: Mutex::new(VecDeque::new()),
    });
    // Memory of the hub, every 100 ms.
    let mem = Arc::new(Mutex::new((0u64, 0u64, None::<(u64, u64)>)));
    let sampler = cli.hub_pid.map(|pid| {
        let mem = mem.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                tick.tick().await;
                if let Some((rss, hwm)) = memory(pid) {
                    let mut m = mem.lock().unwrap();
                    if m.2.is_none() {
                        m.2 = Some((rss, hwm));
                    }
                    m.0 = m.0.max(rss);
                    m.1 = hwm;
                }
            }
        })
    });
    let mut tasks = Vec::new();
    let (mut n_off, mut n_vol) = (0usize, 0usize);
    for i in 0..cli.phones {
        let volunteer = volunteers_on && i % cli.volunteer_every == cli.volunteer_every - 1;
        let user = if volunteer {
            n_vol += 1;
            cli.volunteers[(n_vol - 1) % cli.volunteers.len()].clone()
        } else {
            n_off += 1;
            cli.officers[(n_off - 1) % cli.officers.len()].clone()
        };
        let rng = Rng::new(cli.seed.wrapping_mul(1_000_003) ^ (i as u64 + 1));
        tasks.push(tokio::spawn(phone_run(
            i,
            user,
            !volunteer,
            sh.clone(),
            rng,
            cli.ramp_ms,
        )));
    }
    let mut phones = Vec::new();
    let mut tally = Tally::default();
    // Bounded: a phone still busy 60 s past the end is stuck; that is an error, not a wait.
    let hard_stop = deadline + Duration::from_secs(cli.drain);
    let mut stuck = 0usize;
    for t in tasks {
        match tokio::time::timeout_at(hard_stop.into(), t).await {
            Ok(Ok((p, t))) => {
                tally.sealed += t.sealed;
                tally.three_in_one += t.three_in_one;
                tally.handed_over += t.handed_over;
                tally.photos += t.photos;
                tally.photo_bytes += t.photo_bytes;
                phones.push(p);
            }
            Ok(Err(e)) => bail!("a phone's task failed: {e}"),
            Err(_) => stuck += 1,
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(s) = sampler {
        s.abort();
    }
    let (peak_rss, hwm, first) = *mem.lock().unwrap();
    let end_mem = cli.hub_pid.and_then(memory);

    // Rates are per second of the whole run (ramp-up with the logins and the drain included).
    let window = elapsed.max(1e-3);
    let mut by_kind: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut all = Vec::new();
    // Photo uploads run in the background on a phone (client-web's outbox): nobody waits on them.
    let mut waited = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for p in &phones {
        for s in &p.samples {
            by_kind.entry(s.kind).or_default().push(s.ms);
            all.push(s.ms);
            if s.kind != "photo" {
                waited.push(s.ms);
            }
            if s.status >= 400 || s.status == 0 {
                let k = if s.status == 0 {
                    "no answer".to_string()
                } else {
                    s.status.to_string()
                };
                *errors.entry(k).or_default() += 1;
            }
        }
    }
    let bad: usize = phones.iter().map(|p| p.bad).sum();
    if bad > 0 {
        *errors.entry("bad answer".into()).or_default() += bad;
    }
    if stuck > 0 {
        *errors.entry("phone stuck".into()).or_default() += stuck;
    }
    let error_count: usize = errors.values().sum();
    // After the login storm: the last login's answer, then every request sent later. Each login is a
    // 19 MiB argon2id check (~0.1-0.2 s of CPU), all 50 within the ramp-up, on the same one-job-per-core
    // CPU pool as the photos; the figures after it show what a session's steady pace costs.
    let logins_done_ms = phones
        .iter()
        .flat_map(|p| &p.samples)
        .filter(|s| s.kind == "login")
        .map(|s| s.at_ms + s.ms)
        .fold(0.0, f64::max);
    let after: Vec<&Sample> = phones
        .iter()
        .flat_map(|p| &p.samples)
        .filter(|s| s.at_ms > logins_done_ms)
        .collect();
    let steady_window = (elapsed - logins_done_ms / 1000.0).max(1e-3);
    let steady = stats(
        &mut after.iter().map(|s| s.ms).collect::<Vec<_>>(),
        steady_window,
    );
    let steady_photo = stats(
        &mut after
            .iter()
            .filter(|s| s.kind == "photo")
            .map(|s| s.ms)
            .collect::<Vec<_>>(),
        steady_window,
    );
    let overall = stats(&mut all, window);
    let but_photo = stats(&mut waited, window);
    let mut kinds = BTreeMap::new();
    for k in KINDS {
        if let Some(v) = by_kind.get_mut(k) {
            kinds.insert(k.to_string(), stats(v, window));
        }
    }

    println!(
        "field load: {} phones ({n_off} officer, {n_vol} volunteer), {} s + {} ms ramp-up, think {}–{} ms, seed {}; ran {elapsed:.1} s",
        cli.phones, cli.duration, cli.ramp_ms, cli.think_min_ms, cli.think_max_ms, cli.seed
    );
    println!(
        "photos as uploaded (client-web shrink): {}",
        sh.photos
            .iter()
            .map(|p| format!("{} {} KB", p.name, p.bytes.len() / 1024))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "{:<11} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "kind", "count", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    let row = |k: &str, s: &Stats| {
        println!(
            "{:<11} {:>7} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            k, s.count, s.per_s, s.p50_ms, s.p90_ms, s.p99_ms, s.max_ms
        )
    };
    for (k, s) in &kinds {
        if let Some(s) = s {
            row(k, s);
        }
    }
    if let Some(s) = &but_photo {
        row("ALL-photo", s);
    }
    if let Some(s) = &overall {
        row("ALL", s);
    }
    println!(
        "after the logins (the last answered at {:.1} s):",
        logins_done_ms / 1000.0
    );
    if let Some(s) = &steady_photo {
        row("photo", s);
    }
    if let Some(s) = &steady {
        row("ALL", s);
    }
    println!(
        "dossiers sealed: {} ({} 3-in-1), handed over by volunteers: {}, photos uploaded: {} ({} KB)",
        tally.sealed,
        tally.three_in_one,
        tally.handed_over,
        tally.photos,
        tally.photo_bytes / 1024
    );
    if cli.hub_pid.is_some() {
        println!(
            "hub memory: VmRSS at start {} KB, peak sampled {} KB, at end {} KB; VmHWM {} KB",
            first.map_or(0, |f| f.0),
            peak_rss,
            end_mem.map_or(0, |m| m.0),
            end_mem.map_or(hwm, |m| m.1)
        );
    }
    println!(
        "errors: {error_count}{}",
        if errors.is_empty() {
            String::new()
        } else {
            format!(" {errors:?}")
        }
    );
    let shown: Vec<&String> = phones
        .iter()
        .flat_map(|p| p.errors.iter())
        .take(10)
        .collect();
    for e in &shown {
        println!("  {e}");
    }

    if let Some(path) = &cli.json {
        let out = json!({
            "phones": cli.phones,
            "officer_phones": n_off,
            "volunteer_phones": n_vol,
            "duration_s": cli.duration,
            "ramp_ms": cli.ramp_ms,
            "think_ms": [cli.think_min_ms, cli.think_max_ms],
            "seed": cli.seed,
            "elapsed_s": elapsed,
            "window_s": window,
            "overall": overall,
            "overall_but_photo_uploads": but_photo,
            "logins_done_s": logins_done_ms / 1000.0,
            "after_logins": steady,
            "photo_uploads_after_logins": steady_photo,
            "kinds": kinds,
            "errors": errors,
            "error_count": error_count,
            "dossiers_sealed": tally.sealed,
            "three_in_one_sealed": tally.three_in_one,
            "handed_over": tally.handed_over,
            "photos_uploaded": tally.photos,
            "photo_bytes_uploaded": tally.photo_bytes,
            "photo_bytes_each": sh.photos.iter().map(|p| json!({"name": p.name, "bytes": p.bytes.len()})).collect::<Vec<_>>(),
            "hub_memory_kb": cli.hub_pid.map(|pid| json!({
                "pid": pid,
                "rss_start": first.map(|f| f.0),
                "rss_peak_sampled": peak_rss,
                "rss_end": end_mem.map(|m| m.0),
                "hwm": end_mem.map_or(hwm, |m| m.1),
            })),
        });
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ok();
        }
        std::fs::write(path, serde_json::to_string_pretty(&out)? + "\n")?;
    }
    if error_count > 0 {
        bail!("{error_count} request(s) failed: a field hub under load must answer every one");
    }
    if tally.sealed == 0 {
        bail!("no dossier was sealed: the load did not exercise the capture flow");
    }
    Ok(())
}
