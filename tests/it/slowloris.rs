//! Slowloris (issue 18, finding 2): connections that send half a request header and then nothing, or
//! only the beginning of a body, must not take the hub down. The hub closes a connection whose header is
//! not complete after `--header-read-timeout`, a body that stalls after `--body-read-timeout`, refuses
//! at once more than `--max-connections-per-address` connections from one address, and keeps at most
//! `--max-connections` in all (shedding the oldest stalled one for a newcomer), on HTTP and HTTPS;
//! meanwhile `/healthz` and a login still answer.
//!
//! The attacker's connections leave from 127.0.0.2 (any 127.0.0.0/8 address reaches the hub), the
//! honest client from 127.0.0.1; the hidden `--connection-cap-on-loopback` applies the per-address cap
//! to loopback clients (exempt by default: the hub's own machine).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

use crate::common::*;

const ADMIN_PW: &str = "Quản-trị-viên-2024";
const ATTACKER: [u8; 4] = [127, 0, 0, 2];
const HALF_HEADER: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: hub.local\r\nX-Slow: ";

/// What happened to one stalled connection.
#[derive(Debug, Clone, Copy)]
struct Stalled {
    /// When it was connected (and its first bytes sent).
    opened: Instant,
    /// When the hub closed it; `None` if still open at the end of the watch.
    closed: Option<Instant>,
}

/// The most connections the hub held at once: connections open for at least `held` (a refused one is
/// closed at once; one waiting in the kernel's accept queue is not held), swept over time.
fn most_held_at_once(all: &[Stalled], held: Duration) -> usize {
    let far = Instant::now() + Duration::from_secs(3600);
    let mut events: Vec<(Instant, i32)> = all
        .iter()
        .filter(|c| c.closed.is_none_or(|e| e - c.opened >= held))
        .flat_map(|c| [(c.opened, 1), (c.closed.unwrap_or(far), -1)])
        .collect();
    // At equal instants, closes first.
    events.sort();
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        most = most.max(now);
    }
    most as usize
}

fn hub_addr(base: &str) -> SocketAddr {
    base.rsplit_once("://").unwrap().1.parse().unwrap()
}

/// Raises this process's open-file limit to its hard limit (the attack needs a few thousand sockets).
fn raise_nofile() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    if l.current < l.maximum {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// Opens `n` connections from `from` to `to`, each sending `first` and then nothing, and watches each
/// for `watch`: when did the hub close it (or refuse it: a connection refused at once is closed at once).
fn stall(
    set: &mut JoinSet<Stalled>,
    to: SocketAddr,
    from: [u8; 4],
    n: usize,
    first: &'static [u8],
) {
    stall_counted(set, to, from, n, first, &Arc::new(AtomicUsize::new(0)))
}

/// [`stall`], counting in `connected` the connections made and their first bytes sent.
fn stall_counted(
    set: &mut JoinSet<Stalled>,
    to: SocketAddr,
    from: [u8; 4],
    n: usize,
    first: &'static [u8],
    connected: &Arc<AtomicUsize>,
) {
    let watch = Duration::from_secs(15);
    for _ in 0..n {
        let connected = connected.clone();
        set.spawn(async move {
            let sock = tokio::net::TcpSocket::new_v4().unwrap();
            sock.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(from)), 0))
                .unwrap();
            let opened = Instant::now();
            let Ok(Ok(mut s)) =
                tokio::time::timeout(Duration::from_secs(5), sock.connect(to)).await
            else {
                return Stalled {
                    opened,
                    closed: Some(Instant::now()),
                };
            };
            let opened = Instant::now();
            if s.write_all(first).await.is_err() {
                return Stalled {
                    opened,
                    closed: Some(Instant::now()),
                };
            }
            connected.fetch_add(1, Ordering::SeqCst);
            let mut sink = Vec::new();
            let closed = match tokio::time::timeout(watch, s.read_to_end(&mut sink)).await {
                Ok(_) => Some(Instant::now()),
                Err(_) => None,
            };
            Stalled { opened, closed }
        });
    }
}

async fn collect(mut set: JoinSet<Stalled>) -> Vec<Stalled> {
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        out.push(r.unwrap());
    }
    out
}

/// `/healthz` from the honest address, with how long it took.
async fn healthz(base: &str) -> (Result<u16, String>, Duration) {
    let t = Instant::now();
    let r = reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, 1]))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string());
    (r, t.elapsed())
}

#[test]
fn half_sent_headers_are_cut_one_address_is_capped_and_the_hub_keeps_answering() {
    assert!(raise_nofile() >= 4096, "the test needs 4096 open files");
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(
        "field",
        &tmp.path().join("field"),
        &[
            "--https-listen",
            "127.0.0.1:0",
            "--header-read-timeout",
            "4",
            "--max-connections-per-address",
            "50",
            "--connection-cap-on-loopback",
        ],
    );
    let https = hub_addr(&hub.https_base().expect("HTTPS on"));
    let http = hub_addr(&hub.base);
    block_on(async {
        let admin = Client::setup(&hub, "admin", ADMIN_PW).await;
        drop(admin);
        let start = Instant::now();
        // 1,500 half headers on HTTP and 500 TLS connections that never say hello, from one address.
        let mut set = JoinSet::new();
        for i in 0..2000 {
            if i % 4 == 3 {
                stall(&mut set, https, ATTACKER, 1, b"");
            } else {
                stall(&mut set, http, ATTACKER, 1, HALF_HEADER);
            }
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;

        // The hub still answers the honest client, within a few seconds, during the attack.
        let (r, took) = healthz(&hub.base).await;
        assert_eq!(r, Ok(200), "/healthz during the attack");
        assert!(took < Duration::from_secs(3), "/healthz took {took:?}");
        let t = Instant::now();
        let c = Client::login(&hub.base, "admin", ADMIN_PW).await;
        let (s, _) = c.get("/api/v1/me").await;
        assert_eq!(s, 200);
        let login = t.elapsed();
        assert!(login < Duration::from_secs(8), "login took {login:?}");

        let all = collect(set).await;
        assert_eq!(all.len(), 2000);
        // Held = open for 3 s or more: a connection the hub keeps lives until the 4 s header timeout, a
        // refused one is closed as soon as it is accepted, which a busy machine (other builds on the same
        // 2 cores) can delay by a second or two (a CI run once counted 172 at 2 s).
        let most = most_held_at_once(&all, Duration::from_secs(3));
        assert!(
            (40..=50).contains(&most),
            "{most} of the attacker's connections were held together (cap 50)"
        );
        let refused = all
            .iter()
            .filter(|c| {
                c.closed
                    .is_some_and(|e| e - c.opened < Duration::from_secs(2))
            })
            .count();
        assert!(
            refused >= 1900,
            "only {refused} connections refused at once"
        );
        // Every connection the hub kept was closed after the header timeout (HTTP) or the handshake
        // timeout (HTTPS, 10 s), not left open.
        let still_open = all.iter().filter(|c| c.closed.is_none()).count();
        assert_eq!(still_open, 0, "connections still open after 15 s");
        let longest = all
            .iter()
            .map(|c| c.closed.unwrap() - c.opened)
            .max()
            .unwrap();
        assert!(
            longest < Duration::from_secs(13),
            "longest stall {longest:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(30));
        eprintln!(
            "slowloris: 2000 stalled connections from one address: {most} held at once (cap 50), \
             {refused} refused at once, longest kept {longest:?}; /healthz answered in {took:?}, \
             login + /me in {login:?}; {:?} in all",
            start.elapsed()
        );
    });
}

#[test]
fn a_stalled_header_is_closed_after_the_timeout_and_the_global_cap_sheds_load() {
    assert!(raise_nofile() >= 1024);
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(
        "field",
        &tmp.path().join("field"),
        &[
            "--header-read-timeout",
            "3",
            "--body-read-timeout",
            "2",
            "--max-connections",
            "40",
            "--max-connections-per-address",
            "1000",
            "--connection-cap-on-loopback",
        ],
    );
    let http = hub_addr(&hub.base);
    block_on(async {
        // One stalled header alone: closed by the hub after about 3 s.
        let mut set = JoinSet::new();
        stall(&mut set, http, ATTACKER, 1, HALF_HEADER);
        let one = collect(set).await[0];
        let after = one.closed.expect("the hub closed the stalled header") - one.opened;
        assert!(
            after >= Duration::from_millis(2500) && after < Duration::from_secs(6),
            "closed after {after:?}"
        );

        // A body that stops after 10 of its 100 bytes: the request fails and the connection closes.
        let mut set = JoinSet::new();
        stall(
            &mut set,
            http,
            ATTACKER,
            1,
            b"POST /api/v1/login HTTP/1.1\r\nHost: hub.local\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\": ",
        );
        let one = collect(set).await[0];
        let after = one.closed.expect("the hub closed the stalled body") - one.opened;
        assert!(
            after >= Duration::from_millis(1500) && after < Duration::from_secs(6),
            "closed after {after:?}"
        );

        // 300 stalled connections against a global cap of 40 (many addresses could do this despite the
        // per-address cap): the hub keeps at most 40, shedding the oldest stalled ones for newcomers, so
        // an honest client still gets in during the attack; the kept ones time out.
        let mut set = JoinSet::new();
        let connected = Arc::new(AtomicUsize::new(0));
        stall_counted(&mut set, http, ATTACKER, 300, HALF_HEADER, &connected);
        let t = Instant::now();
        while connected.load(Ordering::SeqCst) < 300 && t.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // All made: let the hub go through its accept queue, then count the ones it still holds.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let sample = Instant::now();
        let (r, took) = healthz(&hub.base).await;
        assert_eq!(
            r,
            Ok(200),
            "/healthz with the global cap full of stalled connections"
        );
        assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
        let all = collect(set).await;
        let held = all
            .iter()
            .filter(|c| c.opened <= sample && c.closed.is_none_or(|e| e > sample))
            .count();
        assert!(
            (30..=40).contains(&held),
            "{held} connections held at once (cap 40)"
        );
        assert!(all.iter().all(|c| c.closed.is_some()));
        let (r, took) = healthz(&hub.base).await;
        assert_eq!(r, Ok(200), "/healthz after the attack");
        assert!(took < Duration::from_secs(3), "/healthz took {took:?}");
    });
}

#[test]
fn honest_keep_alive_requests_are_served_after_idle_pauses_shorter_than_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub::start_with(
        "field",
        &tmp.path().join("field"),
        &["--header-read-timeout", "3"],
    );
    block_on(async {
        let http = reqwest::Client::new();
        for _ in 0..3 {
            let r = http.get(hub.url("/healthz")).send().await.unwrap();
            assert_eq!(r.status(), 200);
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        // A pause longer than the header timeout: the idle connection was closed, the client reconnects.
        tokio::time::sleep(Duration::from_secs(4)).await;
        let r = http
            .post(hub.url("/api/v1/login"))
            .json(&json!({"name": "nobody", "password": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
    });
}
