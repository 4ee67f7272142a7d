//! `shaper`: the shaping TCP proxy as a command, for `tests/weak-link.sh`.
//!
//! ```text
//! shaper --listen 127.0.0.1:9000 --upstream 10.203.0.2:8080 --rate-kbit 100 --rtt-ms 600 \
//!        --cut-at-bytes 400000 --cut-at-bytes 900000 --cut-for-s 20 --stats /tmp/shaper.json
//! ```
//!
//! `--cut-at-bytes` may be repeated (bytes forwarded client → upstream at which to cut); every cut lasts
//! `--cut-for-s` seconds. `--stats FILE` rewrites FILE with the counters (JSON) every second and on exit.

use std::net::SocketAddr;
use std::time::Duration;

use shaper::{Config, Shaper};

fn usage() -> ! {
    eprintln!(
        "usage: shaper --listen ADDR --upstream ADDR [--rate-kbit N] [--up-kbit N] [--down-kbit N] \
         [--rtt-ms M] [--cut-at-bytes X]... [--cut-for-s S] [--stats FILE]"
    );
    std::process::exit(2)
}

fn num(v: Option<String>) -> u64 {
    v.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

fn addr(v: Option<String>) -> SocketAddr {
    v.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

fn stats_json(b: shaper::Bytes) -> String {
    format!(
        "{{\"up_read\":{},\"up\":{},\"down_read\":{},\"down\":{},\"connections\":{},\"cut_connections\":{},\"cuts\":{}}}\n",
        b.up_read, b.up, b.down_read, b.down, b.connections, b.cut_connections, b.cuts
    )
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut listen, mut upstream) = (None, None);
    let (mut up, mut down, mut rtt, mut cut_for) = (None, None, 0u64, 20u64);
    let (mut cut_at, mut stats) = (Vec::new(), None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = Some(addr(args.next())),
            "--upstream" => upstream = Some(addr(args.next())),
            "--rate-kbit" => {
                let k = num(args.next());
                up = Some(k);
                down = Some(k);
            }
            "--up-kbit" => up = Some(num(args.next())),
            "--down-kbit" => down = Some(num(args.next())),
            "--rtt-ms" => rtt = num(args.next()),
            "--cut-at-bytes" => cut_at.push(num(args.next())),
            "--cut-for-s" => cut_for = num(args.next()),
            "--stats" => stats = Some(args.next().unwrap_or_else(|| usage())),
            _ => usage(),
        }
    }
    let mut cfg = Config::new(
        listen.unwrap_or_else(|| usage()),
        upstream.unwrap_or_else(|| usage()),
    )
    .rtt(Duration::from_millis(rtt));
    cfg.rate_up = up.map(|k| k * 1000 / 8);
    cfg.rate_down = down.map(|k| k * 1000 / 8);
    cfg.cuts = cut_at
        .into_iter()
        .map(|b| (b, Duration::from_secs(cut_for)))
        .collect();
    let s = match Shaper::start(cfg).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("shaper: cannot listen: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("shaper: listening on {}", s.local_addr());
    let write = |b| {
        if let Some(f) = &stats {
            let tmp = format!("{f}.tmp");
            if std::fs::write(&tmp, stats_json(b)).is_ok() {
                let _ = std::fs::rename(&tmp, f);
            }
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal");
    loop {
        tokio::select! {
            _ = tick.tick() => write(s.bytes()),
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    write(s.bytes());
    eprint!("shaper: {}", stats_json(s.bytes()));
}
