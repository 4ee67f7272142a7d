//! A shaping TCP proxy for weak-link tests (issue 5 "Evidence"): it listens on one address and forwards every
//! connection to an upstream, and on the way it
//!
//! - limits the rate of each direction with a token bucket (bytes per second, shared by all connections of
//!   that direction, like one link);
//! - adds a one-way delay (half the round trip) to every forwarded segment, in order: a segment read at `t`
//!   is written no earlier than `t + delay`, so the delay is a pipe, not a per-segment pause;
//! - stalls: pauses forwarding (both ways) for a while, connections kept open;
//! - cuts: drops every open connection and refuses new ones until restored (optionally on its own after
//!   a given number of bytes, for a given time);
//! - counts the bytes each way (read from one side and written to the other).
//!
//! The kernel of the test machine has `tbf` but no `netem`, so the rate can also be shaped by `tc` between
//! two network namespaces (see `tests/common/netns.rs`); latency, stalls and cuts are this proxy's job.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// What to shape.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (port 0: any free port; see [`Shaper::local_addr`]).
    pub listen: SocketAddr,
    /// Where to forward.
    pub upstream: SocketAddr,
    /// Client → upstream rate in bytes per second (`None`: unlimited).
    pub rate_up: Option<u64>,
    /// Upstream → client rate in bytes per second (`None`: unlimited).
    pub rate_down: Option<u64>,
    /// Added to every segment in each direction (half the added round trip).
    pub one_way_delay: Duration,
    /// Automatic cuts: when the bytes forwarded client → upstream first reach `.0`, cut for `.1`.
    pub cuts: Vec<(u64, Duration)>,
}

impl Config {
    /// Forward `listen` → `upstream` unshaped.
    pub fn new(listen: SocketAddr, upstream: SocketAddr) -> Config {
        Config {
            listen,
            upstream,
            rate_up: None,
            rate_down: None,
            one_way_delay: Duration::ZERO,
            cuts: Vec::new(),
        }
    }

    /// The same rate both ways, from kilobits per second.
    pub fn rate_kbit(mut self, kbit: u64) -> Config {
        let b = kbit * 1000 / 8;
        self.rate_up = Some(b);
        self.rate_down = Some(b);
        self
    }

    /// The added round-trip time (each direction gets half).
    pub fn rtt(mut self, rtt: Duration) -> Config {
        self.one_way_delay = rtt / 2;
        self
    }
}

/// Bytes forwarded so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bytes {
    /// Read from clients.
    pub up_read: u64,
    /// Written to the upstream.
    pub up: u64,
    /// Read from the upstream.
    pub down_read: u64,
    /// Written to clients.
    pub down: u64,
    /// Connections accepted and forwarded.
    pub connections: u64,
    /// Connections dropped by a cut (open ones, and new ones refused during a cut).
    pub cut_connections: u64,
    /// Cuts so far.
    pub cuts: u64,
}

#[derive(Default)]
struct Counters {
    up_read: AtomicU64,
    up: AtomicU64,
    down_read: AtomicU64,
    down: AtomicU64,
    connections: AtomicU64,
    cut_connections: AtomicU64,
    cuts: AtomicU64,
}

/// A token bucket shared by every connection of one direction. Tokens may go negative (a debt paid by
/// waiting), so the long-run rate is exact whatever the segment sizes.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u64) -> Bucket {
        let rate = rate.max(1) as f64;
        // A tenth of a second of traffic, at least one full segment.
        let burst = (rate / 10.0).max(1500.0);
        Bucket {
            rate,
            burst,
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Takes `n` tokens; the time to wait before sending them.
    fn take(&mut self, n: usize) -> Duration {
        let now = Instant::now();
        let dt = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

struct Inner {
    cfg: Config,
    counters: Counters,
    cut: AtomicBool,
    /// Bumped by every cut: connections watch it and close.
    epoch: watch::Sender<u64>,
    stalled_until: Mutex<Option<Instant>>,
    up_bucket: Option<tokio::sync::Mutex<Bucket>>,
    down_bucket: Option<tokio::sync::Mutex<Bucket>>,
    /// Which automatic cuts have fired.
    fired: Mutex<Vec<bool>>,
}

/// A running shaper; stops (dropping every connection) when dropped.
pub struct Shaper {
    inner: Arc<Inner>,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Shaper {
    fn drop(&mut self) {
        self.task.abort();
        self.inner.epoch.send_modify(|e| *e += 1);
    }
}

impl Shaper {
    /// Binds `cfg.listen` and starts forwarding.
    pub async fn start(cfg: Config) -> io::Result<Shaper> {
        let listener = TcpListener::bind(cfg.listen).await?;
        let local = listener.local_addr()?;
        let (epoch, _) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            up_bucket: cfg.rate_up.map(|r| tokio::sync::Mutex::new(Bucket::new(r))),
            down_bucket: cfg
                .rate_down
                .map(|r| tokio::sync::Mutex::new(Bucket::new(r))),
            fired: Mutex::new(vec![false; cfg.cuts.len()]),
            cfg,
            counters: Counters::default(),
            cut: AtomicBool::new(false),
            epoch,
            stalled_until: Mutex::new(None),
        });
        let i2 = inner.clone();
        let task = tokio::spawn(async move { accept_loop(listener, i2).await });
        Ok(Shaper { inner, local, task })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Drops every open connection and refuses new ones until [`Shaper::restore`].
    pub fn cut(&self) {
        cut(&self.inner);
    }

    /// Accepts and forwards connections again after a cut.
    pub fn restore(&self) {
        self.inner.cut.store(false, Ordering::SeqCst);
    }

    /// True while cut.
    pub fn is_cut(&self) -> bool {
        self.inner.cut.load(Ordering::SeqCst)
    }

    /// Pauses forwarding both ways for `d` (connections stay open).
    pub fn stall(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut s = self.inner.stalled_until.lock().expect("stall lock");
        *s = Some(s.map_or(until, |u| u.max(until)));
    }

    /// Bytes forwarded so far.
    pub fn bytes(&self) -> Bytes {
        let c = &self.inner.counters;
        Bytes {
            up_read: c.up_read.load(Ordering::SeqCst),
            up: c.up.load(Ordering::SeqCst),
            down_read: c.down_read.load(Ordering::SeqCst),
            down: c.down.load(Ordering::SeqCst),
            connections: c.connections.load(Ordering::SeqCst),
            cut_connections: c.cut_connections.load(Ordering::SeqCst),
            cuts: c.cuts.load(Ordering::SeqCst),
        }
    }
}

fn cut(inner: &Inner) {
    inner.cut.store(true, Ordering::SeqCst);
    inner.counters.cuts.fetch_add(1, Ordering::SeqCst);
    inner.epoch.send_modify(|e| *e += 1);
}

async fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        if inner.cut.load(Ordering::SeqCst) {
            // Refused: reset at once (linger 0), as a dead link looks to the caller. The deprecation is
            // about a non-zero linger blocking the thread on drop; a zero linger resets without waiting.
            inner
                .counters
                .cut_connections
                .fetch_add(1, Ordering::SeqCst);
            #[allow(deprecated)]
            let _ = client.set_linger(Some(Duration::ZERO));
            drop(client);
            continue;
        }
        let inner = inner.clone();
        tokio::spawn(async move {
            let Ok(upstream) = TcpStream::connect(inner.cfg.upstream).await else {
                return;
            };
            inner.counters.connections.fetch_add(1, Ordering::SeqCst);
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            forward(client, upstream, inner).await;
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

/// Forwards both directions until either side closes or a cut comes.
async fn forward(client: TcpStream, upstream: TcpStream, inner: Arc<Inner>) {
    let mut epoch = inner.epoch.subscribe();
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    let up = pipe(cr, uw, inner.clone(), Dir::Up);
    let down = pipe(ur, cw, inner.clone(), Dir::Down);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        _ = epoch.changed() => {
            inner.counters.cut_connections.fetch_add(1, Ordering::SeqCst);
        }
    }
    // Dropping the halves closes both sockets.
}

/// One direction: a reader stamping segments with their release time, and a writer releasing them in order
/// after the delay, any stall, and the rate limit.
async fn pipe(
    mut r: tokio::net::tcp::OwnedReadHalf,
    mut w: tokio::net::tcp::OwnedWriteHalf,
    inner: Arc<Inner>,
    dir: Dir,
) {
    let rate = match dir {
        Dir::Up => inner.cfg.rate_up,
        Dir::Down => inner.cfg.rate_down,
    };
    // Small segments on a slow link keep the pacing smooth (about 20 per second).
    let seg = rate.map_or(16384, |r| (r as usize / 20).clamp(256, 16384));
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(256);
    let reader_inner = inner.clone();
    let reader = async move {
        let mut buf = vec![0u8; seg];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let c = &reader_inner.counters;
                    match dir {
                        Dir::Up => c.up_read.fetch_add(n as u64, Ordering::SeqCst),
                        Dir::Down => c.down_read.fetch_add(n as u64, Ordering::SeqCst),
                    };
                    let at = Instant::now() + reader_inner.cfg.one_way_delay;
                    if tx.send((at, buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            loop {
                let until = *inner.stalled_until.lock().expect("stall lock");
                match until {
                    Some(u) if u > Instant::now() => tokio::time::sleep_until(u).await,
                    _ => break,
                }
            }
            let bucket = match dir {
                Dir::Up => inner.up_bucket.as_ref(),
                Dir::Down => inner.down_bucket.as_ref(),
            };
            if let Some(b) = bucket {
                let wait = b.lock().await.take(bytes.len());
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
            if w.write_all(&bytes).await.is_err() {
                break;
            }
            let c = &inner.counters;
            match dir {
                Dir::Up => {
                    let total =
                        c.up.fetch_add(bytes.len() as u64, Ordering::SeqCst) + bytes.len() as u64;
                    auto_cut(&inner, total);
                }
                Dir::Down => {
                    c.down.fetch_add(bytes.len() as u64, Ordering::SeqCst);
                }
            }
        }
        let _ = w.shutdown().await;
    };
    tokio::join!(reader, writer);
}

/// Fires the automatic cuts whose byte mark `total` has reached.
fn auto_cut(inner: &Arc<Inner>, total: u64) {
    let mut fired = inner.fired.lock().expect("fired lock");
    for (i, (at, dur)) in inner.cfg.cuts.iter().enumerate() {
        if !fired[i] && total >= *at {
            fired[i] = true;
            cut(inner);
            let (inner, dur) = (inner.clone(), *dur);
            tokio::spawn(async move {
                tokio::time::sleep(dur).await;
                inner.cut.store(false, Ordering::SeqCst);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that echoes everything back.
    async fn echo() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        a
    }

    /// An upstream that reads everything and answers how many bytes it got when the client closes.
    async fn sink() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let mut n = 0u64;
                    loop {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(k) => n += k as u64,
                        }
                    }
                    let _ = s.write_all(&n.to_be_bytes()).await;
                });
            }
        });
        a
    }

    fn any() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_rate_is_within_15_percent_of_the_setting() {
        let up = sink().await;
        // 800 kbit/s = 100 000 B/s; 300 kB take about 3 s.
        let s = Shaper::start(Config::new(any(), up).rate_kbit(800))
            .await
            .unwrap();
        let mut c = TcpStream::connect(s.local_addr()).await.unwrap();
        let data = vec![7u8; 300_000];
        let t0 = std::time::Instant::now();
        c.write_all(&data).await.unwrap();
        c.shutdown().await.unwrap();
        let mut n = [0u8; 8];
        c.read_exact(&mut n).await.unwrap();
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(u64::from_be_bytes(n), 300_000);
        let rate = 300_000.0 / secs;
        println!("measured {rate:.0} B/s for a setting of 100 000 B/s");
        assert!(
            (85_000.0..=115_000.0).contains(&rate),
            "measured {rate:.0} B/s for a setting of 100 000 B/s ({secs:.2} s)"
        );
        assert_eq!(s.bytes().up, 300_000);
        assert_eq!(s.bytes().up_read, 300_000);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_delay_is_added_each_way_and_order_kept() {
        let up = echo().await;
        let s = Shaper::start(Config::new(any(), up).rtt(Duration::from_millis(300)))
            .await
            .unwrap();
        let mut c = TcpStream::connect(s.local_addr()).await.unwrap();
        c.set_nodelay(true).unwrap();
        let t0 = std::time::Instant::now();
        c.write_all(b"ping").await.unwrap();
        let mut b = [0u8; 4];
        c.read_exact(&mut b).await.unwrap();
        let rtt = t0.elapsed();
        assert_eq!(&b, b"ping");
        assert!(
            rtt >= Duration::from_millis(295) && rtt < Duration::from_millis(600),
            "{rtt:?}"
        );
        // Many segments in a row: pipelined (not 150 ms each) and in order.
        let t0 = std::time::Instant::now();
        let mut want = Vec::new();
        for i in 0..50u8 {
            c.write_all(&[i; 100]).await.unwrap();
            want.extend_from_slice(&[i; 100]);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let mut got = vec![0u8; want.len()];
        c.read_exact(&mut got).await.unwrap();
        assert_eq!(got, want);
        assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cut_drops_and_refuses_until_restored() {
        let up = echo().await;
        let s = Shaper::start(Config::new(any(), up)).await.unwrap();
        let mut c = TcpStream::connect(s.local_addr()).await.unwrap();
        c.write_all(b"one").await.unwrap();
        let mut b = [0u8; 3];
        c.read_exact(&mut b).await.unwrap();
        s.cut();
        let mut rest = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(2), c.read_to_end(&mut rest)).await;
        assert!(
            matches!(r, Ok(Ok(0)) | Ok(Err(_))),
            "open connection dropped: {r:?}"
        );
        // New connections are refused while cut.
        // (reset at once: the connect itself may already fail, or the first read does.)
        if let Ok(mut c2) = TcpStream::connect(s.local_addr()).await {
            let _ = c2.write_all(b"two").await;
            let mut b2 = [0u8; 3];
            let r = tokio::time::timeout(Duration::from_secs(2), c2.read_exact(&mut b2)).await;
            assert!(matches!(r, Ok(Err(_))), "refused while cut: {r:?}");
        }
        s.restore();
        let mut c3 = TcpStream::connect(s.local_addr()).await.unwrap();
        c3.write_all(b"tri").await.unwrap();
        c3.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"tri");
        assert_eq!(s.bytes().cuts, 1);
        assert!(s.bytes().cut_connections >= 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stall_pauses_and_automatic_cuts_fire_by_bytes() {
        let up = echo().await;
        let s = Shaper::start(Config::new(any(), up)).await.unwrap();
        let mut c = TcpStream::connect(s.local_addr()).await.unwrap();
        s.stall(Duration::from_millis(400));
        let t0 = std::time::Instant::now();
        c.write_all(b"x").await.unwrap();
        let mut b = [0u8; 1];
        c.read_exact(&mut b).await.unwrap();
        assert!(
            t0.elapsed() >= Duration::from_millis(350),
            "{:?}",
            t0.elapsed()
        );

        let mut cfg = Config::new(any(), up);
        cfg.cuts = vec![(1000, Duration::from_millis(500))];
        let s = Shaper::start(cfg).await.unwrap();
        let mut c = TcpStream::connect(s.local_addr()).await.unwrap();
        c.write_all(&[1u8; 1500]).await.unwrap();
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), c.read_to_end(&mut rest)).await;
        assert_eq!(s.bytes().cuts, 1);
        assert!(s.is_cut());
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(!s.is_cut(), "restored on its own");
        let mut c = TcpStream::connect(s.local_addr()).await.unwrap();
        c.write_all(b"ok").await.unwrap();
        let mut b = [0u8; 2];
        c.read_exact(&mut b).await.unwrap();
        assert_eq!(s.bytes().cuts, 1, "each automatic cut fires once");
    }
}
