//! Hostile batch files: an office opens a batch from a USB stick as untrusted SQLite. Each crafted file —
//! `batch_meta` as an endless recursive view, a trigger, an extra table or column, a value larger than any
//! real one, a corrupt record header, a wrong page size, a file that is not SQLite, a view disguised as a
//! table by rewriting `sqlite_schema` — is refused quickly with its stable error code (Vietnamese and
//! English), nothing is stored, and `/healthz` keeps answering during and after the import.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::*;

/// An endless recursive view standing in for `batch_meta`: its rows never end and none is the `format`
/// key, so a lookup of that key never finishes.
const ENDLESS_VIEW: &str = "CREATE VIEW batch_meta AS WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL \
     SELECT n + 1 FROM r) SELECT 'k' || n AS key, 'v' AS value FROM r";

/// How long one refusal may take (the unfixed hub never answers: the request times out instead).
const QUICK: Duration = Duration::from_secs(10);

/// The hostile files, each with the error code its import must be refused with.
fn hostile_files(fx: &Fixture) -> Vec<(&'static str, PathBuf, &'static str)> {
    let mut out = Vec::new();
    out.push((
        "batch_meta as an endless recursive view",
        altered(fx, "view.batch", |c| {
            c.execute_batch(&format!("DROP TABLE batch_meta; {ENDLESS_VIEW};"))
                .unwrap();
        }),
        "batch_unexpected_schema",
    ));
    out.push((
        // SQLite itself finds such a schema malformed: the file is refused as damaged, before any read.
        "a view disguised as a table in sqlite_schema",
        altered(fx, "disguised.batch", |c| {
            c.execute_batch(&format!(
                "DROP TABLE batch_meta; {ENDLESS_VIEW}; PRAGMA writable_schema = ON;
                 UPDATE sqlite_schema SET type = 'table' WHERE name = 'batch_meta';
                 PRAGMA writable_schema = OFF;"
            ))
            .unwrap();
        }),
        "batch_damaged",
    ));
    out.push((
        "a trigger",
        altered(fx, "trigger.batch", |c| {
            c.execute_batch(
                "CREATE TRIGGER t AFTER INSERT ON envelopes BEGIN DELETE FROM blobs; END;",
            )
            .unwrap();
        }),
        "batch_unexpected_schema",
    ));
    out.push((
        "an extra table",
        altered(fx, "table.batch", |c| {
            c.execute_batch("CREATE TABLE extra(x); INSERT INTO extra VALUES (1);")
                .unwrap();
        }),
        "batch_unexpected_schema",
    ));
    out.push((
        "an extra column",
        altered(fx, "column.batch", |c| {
            c.execute_batch("ALTER TABLE blobs ADD COLUMN note TEXT;")
                .unwrap();
        }),
        "batch_unexpected_schema",
    ));
    out.push((
        "an extra index",
        altered(fx, "index.batch", |c| {
            c.execute_batch("CREATE INDEX i ON envelopes(length(payload));")
                .unwrap();
        }),
        "batch_unexpected_schema",
    ));
    out.push((
        "a value larger than any real one (17 MiB)",
        altered(fx, "huge.batch", |c| {
            c.execute(
                "UPDATE blobs SET bytes = zeroblob(17 * 1024 * 1024) WHERE rowid = 1",
                [],
            )
            .unwrap();
        }),
        "batch_value_too_large",
    ));
    // Long to read (100 MiB of rows, so /healthz is polled while it is read), then a value too large.
    out.push((
        "100 MiB of padding rows, then a 17 MiB value",
        altered(fx, "padded.batch", |c| {
            c.execute_batch(
                "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r LIMIT 100000)
                 INSERT INTO blobs(sha256, bytes) SELECT 'pad' || n, randomblob(1024) FROM r;
                 INSERT INTO blobs(sha256, bytes) VALUES ('last', zeroblob(17 * 1024 * 1024));",
            )
            .unwrap();
        }),
        "batch_value_too_large",
    ));
    // A record whose header claims a text of 2^64 bytes (a 9-byte varint) in a row of a few bytes.
    let varint = altered(fx, "varint.batch", |c| {
        c.execute(
            "INSERT INTO batch_meta(key, value) VALUES ('zz', 'xxxxxxxxxxxx')",
            [],
        )
        .unwrap();
    });
    let mut bytes = std::fs::read(&varint).unwrap();
    let needle = [&[3u8, 0x11, 0x25][..], b"zzxxxxxxxxxxxx"].concat();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the record is in the file");
    let forged = [&[11u8, 0x11][..], &[0xff; 9], b"zzxxxx"].concat();
    assert_eq!(forged.len(), needle.len());
    bytes[at..at + needle.len()].copy_from_slice(&forged);
    std::fs::write(&varint, &bytes).unwrap();
    out.push((
        "a record header with a huge varint",
        varint,
        "batch_damaged",
    ));
    let page = fx.root.join("page.batch");
    let mut bytes = std::fs::read(&fx.batch).unwrap();
    bytes[16..18].copy_from_slice(&1000u16.to_be_bytes());
    std::fs::write(&page, &bytes).unwrap();
    out.push(("a page size of 1000", page, "batch_bad_header"));
    let wal = fx.root.join("wal.batch");
    let mut bytes = std::fs::read(&fx.batch).unwrap();
    bytes[18] = 2;
    bytes[19] = 2;
    std::fs::write(&wal, &bytes).unwrap();
    out.push(("a file in WAL mode", wal, "batch_bad_header"));
    let jpeg = fx.root.join("photo.batch");
    std::fs::write(&jpeg, small_jpeg()).unwrap();
    out.push(("a JPEG, not SQLite", jpeg, "batch_not_sqlite"));
    out
}

/// Polls `/healthz` every 50 ms until stopped; returns (polls, failures, slowest answer).
struct HealthWatch {
    stop: Arc<AtomicBool>,
    stats: Arc<Mutex<(u32, u32, Duration)>>,
    task: tokio::task::JoinHandle<()>,
}

impl HealthWatch {
    fn start(base: &str) -> HealthWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Mutex::new((0, 0, Duration::ZERO)));
        let (s, st, url) = (stop.clone(), stats.clone(), format!("{base}/healthz"));
        let task = tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap();
            while !s.load(Ordering::SeqCst) {
                let t = Instant::now();
                let ok = matches!(http.get(&url).send().await, Ok(r) if r.status() == 200);
                {
                    let mut g = st.lock().unwrap();
                    g.0 += 1;
                    if !ok {
                        g.1 += 1;
                    }
                    g.2 = g.2.max(t.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        HealthWatch { stop, stats, task }
    }

    async fn finish(self) -> (u32, u32, Duration) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.task.await;
        *self.stats.lock().unwrap()
    }
}

async fn upload(admin: &Client, file: &Path) -> Result<(u16, Value), String> {
    let r = admin
        .http
        .post(format!("{}/api/v1/office/imports", admin.base))
        .header("x-csrf-token", &admin.csrf)
        .header("content-type", "application/octet-stream")
        .header("x-file-name", "hostile.batch")
        .timeout(Duration::from_secs(20))
        .body(std::fs::read(file).unwrap())
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let s = r.status().as_u16();
    Ok((s, r.json().await.unwrap_or(Value::Null)))
}

fn nothing_stored(office: &Path) {
    assert_eq!(stored_count(office), 0, "nothing stored");
    assert!(quarantine_rows(office).is_empty(), "nothing quarantined");
    let c = crate::common::db(office.join("hub.sqlite")).unwrap();
    let manifests: i64 = c
        .query_row("SELECT count(*) FROM received_envelopes", [], |r| r.get(0))
        .unwrap();
    assert_eq!(manifests, 0, "no envelope recorded");
}

#[test]
fn hostile_batch_files_are_refused_quickly_and_the_hub_keeps_serving() {
    let fx = fixture();
    let files = hostile_files(&fx);
    let o = office(&fx, "o-hostile");
    let hub = Hub::start("office", &o);
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-van-phong").await;
        for (what, file, code) in &files {
            let size = std::fs::metadata(file).unwrap().len();
            let watch = HealthWatch::start(&hub.base);
            let t = Instant::now();
            let answer = upload(&admin, file).await;
            let took = t.elapsed();
            let (polls, failures, slowest) = watch.finish().await;
            eprintln!(
                "{what} ({size} bytes): {:?} in {took:?}; /healthz {polls} polls, {failures} failed, \
                 slowest {slowest:?}",
                answer.as_ref().map(|(s, v)| (s, v["error"]["code"].clone()))
            );
            let (status, body) = answer.unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(status, 400, "{what}: {body:#}");
            assert_eq!(body["error"]["code"], *code, "{what}: {body:#}");
            assert_eq!(body["error"]["field"], "file", "{what}: {body:#}");
            for lang in ["message_vi", "message_en"] {
                assert!(
                    body["error"][lang].as_str().is_some_and(|m| m.len() > 10),
                    "{what}: {body:#}"
                );
            }
            assert!(took < QUICK, "{what}: refused in {took:?}");
            assert_eq!(
                failures, 0,
                "{what}: /healthz must answer during the import"
            );
            assert!(polls > 0);
            let (s, _) = admin.get("/healthz").await;
            assert_eq!(s, 200, "{what}: /healthz after the import");
            nothing_stored(&o);
        }
        // The refusals are in the import history, and the office still imports the real batch.
        let (_, imports) = admin.get("/api/v1/office/imports").await;
        let refused = imports
            .as_array()
            .or_else(|| imports["imports"].as_array())
            .map(|a| a.iter().filter(|r| r["accepted"] == false).count())
            .unwrap_or(0);
        assert_eq!(refused, files.len(), "{imports:#}");
        let (status, report) = upload(&admin, &fx.batch).await.unwrap();
        assert_eq!(status, 200, "{report:#}");
        assert_eq!(report["stored"], 3, "{report:#}");
    });
    // The hub still stops on SIGTERM at once.
    let pid = hub.child.id().to_string();
    let t = Instant::now();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let mut hub = hub;
    loop {
        if hub.child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "SIGTERM must stop the hub"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("SIGTERM stopped the hub in {:?}", t.elapsed());
}

/// `hub batch import` (the CLI) refuses the endless view within a bound too, naming the code.
#[test]
fn cli_import_refuses_a_recursive_view_quickly() {
    let fx = fixture();
    let o = office(&fx, "o-cli");
    let file = altered(&fx, "view.batch", |c| {
        c.execute_batch(&format!("DROP TABLE batch_meta; {ENDLESS_VIEW};"))
            .unwrap();
    });
    let t = Instant::now();
    let mut child = std::process::Command::new(hub_bin())
        .args(["batch", "import", "--json", "--data"])
        .arg(&o)
        .arg(&file)
        .env("HUB_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`hub batch import` still reading the file after 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("CLI refused the recursive view in {:?}", t.elapsed());
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(status.code(), Some(2), "{report:#}");
    assert_eq!(report["accepted"], false);
    assert_eq!(
        report["error"]["code"], "batch_unexpected_schema",
        "{report:#}"
    );
    assert_eq!(report["problems"][0]["check"], "format");
    nothing_stored(&o);
}
