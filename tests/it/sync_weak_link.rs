//! Weak-link sync (issue 5 "Evidence"): a field hub uploads a batch of dossiers with photos to its office
//! through the shaping proxy (`tests/shaper`: rate limit, added round trip, a cut mid-transfer), and the
//! batch completes after the link returns with zero lost, zero duplicated, and the bytes the field sent at
//! most 1.10 × the bytes of the batch.
//!
//! `cargo test -p hub --test it sync_weak_link::` runs the CI variant (10 dossiers × 3 photos, 1 Mbit/s, 100 ms
//! round trip, one 5 s cut). `WEAK_LINK_FULL=1 cargo test -p hub --test it sync_weak_link:: -- --ignored
//! --nocapture` runs the full one (50 × 3, 100 kbit/s, 600 ms, two 20 s cuts; tens of minutes), which
//! `tests/weak-link.sh` wraps (with `tc tbf` in network namespaces when root). Both print time, goodput
//! against the link's capacity, the bytes ratio, lost and duplicated.
//!
//! The upload is the real `hub sync` (h/uploader) against the real office intake (h/intake).

use crate::common::netns;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::json;

/// Child processes killed (then reaped) when dropped.
struct KillOnDrop(Vec<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Variant {
    dossiers: usize,
    photos: usize,
    rate_kbit: u64,
    rtt_ms: u64,
    cuts: usize,
    cut_for: Duration,
    deadline: Duration,
}

/// The bytes of the batch: every envelope header, payload ciphertext and photo ciphertext on the field.
fn batch_bytes(field_dir: &Path) -> u64 {
    let c = crate::common::db(field_dir.join("hub.sqlite")).unwrap();
    c.query_row(
        "SELECT (SELECT coalesce(sum(length(header) + length(payload)), 0) FROM envelopes)
              + (SELECT coalesce(sum(length(bytes)), 0) FROM envelope_blobs)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .unwrap() as u64
}

fn count(db: &Path, sql: &str) -> i64 {
    let c = crate::common::db(db.join("hub.sqlite")).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn run(v: Variant) {
    let help = cli(&["sync", "--help"], &[]);
    assert!(
        help.status.success(),
        "`hub sync` is missing: this test needs the uploader (h/uploader) and intake (h/intake) merged"
    );
    let (tmp, field_dir, office_dir, field) = paired_field(&["--sync", "off"]);
    let photos: Vec<Vec<u8>> = [
        "to-khai-xac-nhan-hon-nhan.jpg",
        "giay-chung-sinh.jpg",
        "to-khai-xac-nhan-hon-nhan.jpg",
    ]
    .iter()
    .map(|n| std::fs::read(sample_photo(n)).unwrap())
    .collect();
    block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        for i in 0..v.dossiers {
            let fields = marital_fields(
                &format!(
                    "Điểu Thị {}{}",
                    char::from(b'A' + (i / 26) as u8),
                    char::from(b'a' + (i % 26) as u8)
                ),
                &format!("0701980{:05}", 10000 + i),
            );
            let (s, d) = officer
                .post(
                    "/api/v1/drafts",
                    json!({"procedure": {"id": "marital-status-certificate", "version": 1}, "fields": {}}),
                )
                .await;
            assert_eq!(s, 201, "{d}");
            let id = d["id"].as_str().unwrap().to_string();
            let (s, b) = officer
                .put(
                    &format!("/api/v1/drafts/{id}"),
                    json!({"fields": fields, "version": d["version"]}),
                )
                .await;
            assert_eq!(s, 200, "{b}");
            for p in photos.iter().take(v.photos) {
                let (s, b) = officer
                    .upload(&id, "id_document", "giay-to.jpg", p.clone(), "image/jpeg")
                    .await;
                assert_eq!(s, 201, "{b}");
            }
            let (s, b) = officer
                .post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
                .await;
            assert_eq!(s, 201, "{b}");
        }
    });
    drop(field);
    let total = batch_bytes(&field_dir);
    let cuts: Vec<(u64, Duration)> = (1..=v.cuts as u64)
        .map(|k| (total * k / (v.cuts as u64 + 1), v.cut_for))
        .collect();
    let netns_wanted = std::env::var("WEAK_LINK_NETNS").as_deref() == Ok("1");
    let pair = if netns_wanted {
        match netns::NetPair::create(
            7,
            Some(netns::Tbf {
                rate_kbit: v.rate_kbit,
                burst_bytes: 3200,
                latency_ms: 2000,
            }),
        ) {
            Ok(p) => Some(p),
            Err(why) => {
                println!("network namespaces not used ({why}): the shaper limits the rate instead of tbf");
                None
            }
        }
    } else {
        None
    };
    let t0;
    let mut runs = 0;
    let b: shaper::Bytes;
    let (_office, _rt, _children);
    let sync_ok = |runs: &mut u32, sync: &dyn Fn() -> std::process::Output, t0: Instant| loop {
        *runs += 1;
        let out = sync();
        if out.status.success()
            && count(
                &field_dir,
                "SELECT count(*) FROM envelopes WHERE acked_at IS NULL",
            ) == 0
        {
            break;
        }
        assert!(
            t0.elapsed() < v.deadline,
            "not done after {:?} ({runs} runs): {}",
            t0.elapsed(),
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    if let Some(pair) = &pair {
        // Office in namespace b behind the tbf-shaped veth; shaper (delay, cuts) and `hub sync` in a.
        let office_addr = format!("{}:8080", pair.addr_b);
        let office = netns::NetPair::command(&pair.ns_b, hub_bin().to_str().unwrap())
            .args([
                "serve",
                "--mode",
                "office",
                "--data",
                office_dir.to_str().unwrap(),
                "--listen",
                &office_addr,
                "--mdns",
                "off",
                "--https-listen",
                "off",
            ])
            .env("HUB_LOG", "warn")
            .spawn()
            .unwrap();
        let shaper_bin = hub_bin().with_file_name("shaper");
        assert!(
            shaper_bin.exists(),
            "build the shaper first: cargo build -p shaper"
        );
        let stats = tmp.path().join("shaper.json");
        let mut cmd = netns::NetPair::command(&pair.ns_a, shaper_bin.to_str().unwrap());
        cmd.args([
            "--listen",
            "127.0.0.1:9000",
            "--upstream",
            &office_addr,
            "--rtt-ms",
            &v.rtt_ms.to_string(),
            "--cut-for-s",
            &v.cut_for.as_secs().to_string(),
            "--stats",
            stats.to_str().unwrap(),
        ]);
        for (at, _) in &cuts {
            cmd.args(["--cut-at-bytes", &at.to_string()]);
        }
        let shaper = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_secs(2));
        let sync = || {
            netns::NetPair::command(&pair.ns_a, hub_bin().to_str().unwrap())
                .args([
                    "sync",
                    "--data",
                    field_dir.to_str().unwrap(),
                    "--mdns",
                    "off",
                    "--office-url",
                    "http://127.0.0.1:9000",
                ])
                .env("HUB_LOG", "warn")
                .output()
                .unwrap()
        };
        t0 = Instant::now();
        sync_ok(&mut runs, &sync, t0);
        let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
        b = shaper::Bytes {
            up_read: j["up_read"].as_u64().unwrap(),
            up: j["up"].as_u64().unwrap(),
            down_read: j["down_read"].as_u64().unwrap(),
            down: j["down"].as_u64().unwrap(),
            connections: j["connections"].as_u64().unwrap(),
            cut_connections: j["cut_connections"].as_u64().unwrap(),
            cuts: j["cuts"].as_u64().unwrap(),
        };
        _children = Some(KillOnDrop(vec![office, shaper]));
        _office = None;
        _rt = None;
    } else {
        let office = Hub::start("office", &office_dir);
        let upstream: std::net::SocketAddr =
            office.base.trim_start_matches("http://").parse().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let mut cfg = shaper::Config::new("127.0.0.1:0".parse().unwrap(), upstream)
            .rate_kbit(v.rate_kbit)
            .rtt(Duration::from_millis(v.rtt_ms));
        cfg.cuts = cuts.clone();
        let sh = rt.block_on(shaper::Shaper::start(cfg)).unwrap();
        let url = format!("http://{}", sh.local_addr());
        let sync = || {
            cli(
                &[
                    "sync",
                    "--data",
                    field_dir.to_str().unwrap(),
                    "--mdns",
                    "off",
                    "--office-url",
                    &url,
                ],
                &[],
            )
        };
        t0 = Instant::now();
        sync_ok(&mut runs, &sync, t0);
        b = sh.bytes();
        _children = None;
        _office = Some(office);
        _rt = Some((rt, sh));
    }
    let secs = t0.elapsed().as_secs_f64();
    let n = v.dossiers as i64;
    let held = count(&office_dir, "SELECT count(*) FROM received_dossiers");
    let distinct = count(
        &office_dir,
        "SELECT count(DISTINCT dossier_id) FROM received_dossiers",
    );
    let photos_held = count(&office_dir, "SELECT count(*) FROM received_attachments");
    let lost = n - distinct;
    let duplicated = held - distinct;
    let ratio = b.up_read as f64 / total as f64;
    let capacity = v.rate_kbit as f64 * 1000.0 / 8.0;
    let goodput = total as f64 / secs;
    println!(
        "weak link: {} dossiers × {} photos, {} kbit/s, {} ms RTT, {} cut(s) of {:?}: {:.1} s in {runs} sync run(s); \
         batch {} B, sent {} B (ratio {:.3}), received {} B; goodput {:.0} B/s = {:.0} % of {:.0} B/s; \
         lost {lost}, duplicated {duplicated}",
        v.dossiers, v.photos, v.rate_kbit, v.rtt_ms, b.cuts, v.cut_for, secs, total, b.up_read, ratio, b.down,
        goodput, 100.0 * goodput / capacity, capacity
    );
    assert_eq!(b.cuts as usize, v.cuts, "every cut happened mid-transfer");
    assert_eq!(lost, 0);
    assert_eq!(duplicated, 0);
    assert_eq!(photos_held, n * v.photos as i64);
    assert_eq!(
        count(
            &field_dir,
            "SELECT count(*) FROM envelopes WHERE acked_at IS NOT NULL"
        ),
        n
    );
    assert!(ratio <= 1.10, "sent {:.3} × the batch", ratio);
}

#[test]
fn weak_link_ci_variant() {
    run(Variant {
        dossiers: 10,
        photos: 3,
        rate_kbit: 1000,
        rtt_ms: 100,
        cuts: 1,
        cut_for: Duration::from_secs(5),
        deadline: Duration::from_secs(110),
    });
}

#[test]
#[ignore = "the full weak-link run takes tens of minutes: WEAK_LINK_FULL=1 … -- --ignored (tests/weak-link.sh)"]
fn weak_link_full() {
    if std::env::var("WEAK_LINK_FULL").as_deref() != Ok("1") {
        println!("skipped: set WEAK_LINK_FULL=1 to run the full weak-link variant");
        return;
    }
    run(Variant {
        dossiers: 50,
        photos: 3,
        rate_kbit: 100,
        rtt_ms: 600,
        cuts: 2,
        cut_for: Duration::from_secs(20),
        deadline: Duration::from_secs(3 * 3600),
    });
}

/// The namespaces helper on its own: a veth pair shaped by `tbf` at 1 Mbit/s carries 250 kB in about 2 s
/// (sender and receiver are small Python programs run inside the namespaces). Skipped, saying why, when not
/// root or without `ip netns` or python3.
#[test]
fn netns_tbf_shapes_the_link() {
    let pair = match netns::NetPair::create(
        9,
        Some(netns::Tbf {
            rate_kbit: 1000,
            burst_bytes: 3200,
            latency_ms: 400,
        }),
    ) {
        Ok(p) => p,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: python3 is not installed");
        return;
    }
    let sink = format!(
        "import socket\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
         s.bind(('{}',9009));s.listen(1);c,_=s.accept();n=0\nwhile True:\n  b=c.recv(65536)\n  if not b: break\n  n+=len(b)\n\
         c.sendall(str(n).encode());c.close()",
        pair.addr_b
    );
    let mut receiver = netns::NetPair::command(&pair.ns_b, "python3")
        .args(["-c", &sink])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let send = format!(
        "import socket,time\nc=socket.create_connection(('{}',9009));t=time.time()\nc.sendall(b'x'*250000)\n\
         c.shutdown(socket.SHUT_WR);n=c.recv(100).decode();print(n, time.time()-t)",
        pair.addr_b
    );
    let out = netns::NetPair::command(&pair.ns_a, "python3")
        .args(["-c", &send])
        .output()
        .unwrap();
    let _ = receiver.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace();
    let n: u64 = it.next().unwrap().parse().unwrap();
    let secs: f64 = it.next().unwrap().parse().unwrap();
    let rate = n as f64 * 8.0 / secs / 1000.0;
    println!(
        "tbf 1000 kbit/s between namespaces: {n} B in {secs:.2} s = {rate:.0} kbit/s of goodput"
    );
    assert_eq!(n, 250_000);
    // TCP/IP headers take about 5 % of the wire rate.
    assert!((800.0..=1050.0).contains(&rate), "{rate:.0} kbit/s");
}
