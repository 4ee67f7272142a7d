//! Serving the HTTP and HTTPS listeners with connection limits (issue 18: slowloris on the open Wi-Fi).
//!
//! `axum::serve` sets no timer on hyper, so a half-sent header kept its connection (and a file
//! descriptor) forever, and nothing capped the connections: a thousand stalled ones exhausted the
//! process's open files and `/healthz` failed. Here each listener's accept loop:
//!
//! - admits a connection only under the per-address cap (an IPv6 client counted by its /64) and the
//!   global cap (HTTP and HTTPS together, derived from RLIMIT_NOFILE so the database and files keep
//!   descriptors); a connection over the per-address cap is closed at once, before any byte is read. At
//!   the global cap, a new connection sheds the oldest one that has not yet sent a complete request (a
//!   stalled one, under attack), so many attacking addresses cannot lock honest clients out; only when
//!   every open connection is busy with requests is the new one refused;
//! - serves it with hyper's HTTP/1.1 server and a timer: the request header (also the wait for the
//!   next request on a kept-alive connection) must arrive within the header-read timeout, a TLS handshake
//!   within the handshake timeout, and a request body must not stall longer than the body-read timeout.
//!
//! Cancelling stops the accept loops; open connections finish their request (graceful shutdown) and
//! [`Gate::drained`] waits for them.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::app::config::ConnectionLimits;
use crate::shared::auth::channel::Channel;

/// The limits in force, resolved from the configuration and the process's open-file limit.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub global: usize,
    pub per_address: usize,
    /// Whether the per-address cap applies to loopback clients (tests only).
    pub cap_loopback: bool,
}

impl Limits {
    /// Resolves `cfg`, first raising the soft open-file limit towards the hard one (up to 8192), as the
    /// kernel's usual soft default (1024) is low for a server; the global cap follows the result.
    pub fn resolve(cfg: &ConnectionLimits) -> Limits {
        let nofile = raise_nofile(8192);
        let global = cfg.global_cap(nofile);
        tracing::info!(
            open_files = nofile,
            max_connections = global,
            per_address = cfg.max_connections_per_address,
            header_read_timeout_s = cfg.header_read_timeout,
            body_read_timeout_s = cfg.body_read_timeout,
            "connection limits"
        );
        Limits {
            header_read_timeout: Duration::from_secs(cfg.header_read_timeout),
            body_read_timeout: Duration::from_secs(cfg.body_read_timeout),
            global,
            per_address: usize::try_from(cfg.max_connections_per_address).unwrap_or(usize::MAX),
            cap_loopback: cfg.connection_cap_on_loopback,
        }
    }
}

/// Raises the soft RLIMIT_NOFILE to `min(hard, want)` when it is lower; returns the soft limit in force.
fn raise_nofile(want: u64) -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let l = getrlimit(Resource::Nofile);
    let current = l.current.unwrap_or(u64::MAX);
    let target = l.maximum.unwrap_or(u64::MAX).min(want);
    if current < target {
        let mut new = l;
        new.current = Some(target);
        match setrlimit(Resource::Nofile, new) {
            Ok(()) => return target,
            Err(e) => tracing::debug!(error = %e, "cannot raise the open-file limit"),
        }
    }
    current
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Global,
    PerAddress,
}

/// Counts the open connections of every listener, in all and per client address.
#[derive(Debug)]
pub struct Gate {
    limits: Limits,
    open: Mutex<Open>,
    refused: AtomicU64,
    shed_count: AtomicU64,
    last_warning: Mutex<Option<Instant>>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
    /// Connections that have not sent a complete request yet, oldest first (admission order), with
    /// the token that sheds each.
    waiting: BTreeMap<u64, CancellationToken>,
    next_id: u64,
}

/// One admitted connection; its place is given back when dropped.
#[derive(Debug)]
pub struct Permit {
    gate: Arc<Gate>,
    key: Option<IpAddr>,
    id: u64,
    shed: CancellationToken,
}

impl Permit {
    /// Fires when the gate sheds this connection (it had sent no complete request yet).
    fn shed(&self) -> CancellationToken {
        self.shed.clone()
    }

    /// Marks the connection as having sent a request: it is no longer shed for newcomers.
    fn started(&self) -> Started {
        Started {
            gate: self.gate.clone(),
            id: self.id,
            done: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        }
    }
}

/// Called on each request of a connection; the first takes it off the gate's waiting list.
#[derive(Debug, Clone)]
struct Started {
    gate: Arc<Gate>,
    id: u64,
    done: Arc<std::sync::atomic::AtomicBool>,
}

impl Started {
    fn mark(&self) {
        if !self.done.swap(true, Ordering::Relaxed) {
            let mut open = self.gate.open.lock().unwrap_or_else(|e| e.into_inner());
            open.waiting.remove(&self.id);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total = open.total.saturating_sub(1);
        open.waiting.remove(&self.id);
        if let Some(k) = self.key {
            if let Some(n) = open.by_address.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    open.by_address.remove(&k);
                }
            }
        }
    }
}

/// The key a client address is counted under: IPv4 as is (also when mapped into IPv6), IPv6 by its
/// /64 (a host on a SLAAC network can take any address of its /64).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
        }
        v4 => v4,
    }
}

impl Gate {
    pub fn new(limits: Limits) -> Arc<Gate> {
        Arc::new(Gate {
            limits,
            open: Mutex::new(Open::default()),
            refused: AtomicU64::new(0),
            shed_count: AtomicU64::new(0),
            last_warning: Mutex::new(None),
        })
    }

    /// Admits a connection from `peer`, or says which cap it would exceed. At the global cap, the oldest
    /// connection that has not sent a complete request yet is shed to make room (its task closes it).
    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Permit, Refused> {
        let key = (self.limits.cap_loopback || !peer.to_canonical().is_loopback())
            .then(|| address_key(peer));
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = key {
            if open.by_address.get(&k).copied().unwrap_or(0) >= self.limits.per_address {
                return Err(Refused::PerAddress);
            }
        }
        if open.total >= self.limits.global {
            // Its task drops the permit (and the socket) at once; until then the count is one over.
            let Some((_, oldest)) = open.waiting.pop_first() else {
                return Err(Refused::Global);
            };
            oldest.cancel();
            self.shed_count.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(k) = key {
            *open.by_address.entry(k).or_insert(0) += 1;
        }
        open.total += 1;
        let id = open.next_id;
        open.next_id += 1;
        let shed = CancellationToken::new();
        open.waiting.insert(id, shed.clone());
        Ok(Permit {
            gate: self.clone(),
            key,
            id,
            shed,
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// Counts a refusal, and warns at most every 10 seconds (an attack must not flood the log).
    fn refused(&self, why: Refused, peer: IpAddr) {
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let mut last = self.last_warning.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
            *last = Some(Instant::now());
            tracing::warn!(
                reason = match why {
                    Refused::Global => "max-connections",
                    Refused::PerAddress => "max-connections-per-address",
                },
                %peer,
                refused_total = n,
                shed_total = self.shed_count.load(Ordering::Relaxed),
                open = self.open(),
                "connection refused: too many open connections"
            );
        }
    }

    /// Waits until every admitted connection is closed.
    pub async fn drained(&self) {
        while self.open() > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Accepts connections on `listener` until `cancel` fires, and serves each admitted one (through TLS
/// when `tls` is given) in its own task. Every request carries its [`Channel`]; `https_port` is the hub's
/// HTTPS listener, where plain-HTTP team calls are sent.
/// The router that serves requests, replaceable while the listeners run: a hub that starts locked serves
/// the locked router until an officer unlocks it, then the full app (`serve/locked.rs`).
#[derive(Clone)]
pub struct Switch(Arc<std::sync::RwLock<Router>>);

impl Switch {
    pub fn new(router: Router) -> Switch {
        Switch(Arc::new(std::sync::RwLock::new(router)))
    }

    /// The router in force.
    pub fn current(&self) -> Router {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts `router` in force for every request from now on.
    pub fn set(&self, router: Router) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = router;
    }
}

pub async fn run(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    https_port: Option<u16>,
    app: Switch,
    gate: Arc<Gate>,
    cancel: CancellationToken,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of descriptors (EMFILE/ENFILE) despite the cap, or a connection reset while
                    // queued: wait a little rather than spin.
                    tracing::warn!(error = %e, open = gate.open(), "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let permit = match gate.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                gate.refused(why, peer.ip());
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (app, cancel, limits, tls) = (app.clone(), cancel.clone(), gate.limits, tls.clone());
        tokio::spawn(async move {
            let (shed, started) = (permit.shed(), permit.started());
            let serve = async move {
                let channel = Channel {
                    peer,
                    tls: tls.is_some(),
                    https_port,
                };
                match tls {
                    None => serve_io(stream, channel, app, limits, started, cancel).await,
                    Some(acceptor) => {
                        if let Some(s) = crate::shared::tls::handshake(&acceptor, stream).await {
                            serve_io(s, channel, app, limits, started, cancel).await;
                        }
                    }
                }
            };
            tokio::select! {
                _ = serve => {}
                // Shed for a newcomer at the global cap: dropping `serve` closes the connection.
                _ = shed.cancelled() => tracing::debug!(%peer, "connection shed at the global cap"),
            }
            drop(permit);
        });
    }
}

/// Serves HTTP/1.1 on one connection, with the header-read and body-read timeouts.
async fn serve_io<I>(
    io: I,
    channel: Channel,
    app: Switch,
    limits: Limits,
    started: Started,
    cancel: CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let body_timeout = limits.body_read_timeout;
    let svc = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        started.mark();
        req.extensions_mut().insert(ConnectInfo(channel.peer));
        req.extensions_mut().insert(channel);
        let req = req.map(|b| Body::new(IdleTimeoutBody::new(b, body_timeout)));
        // The router in force when the request arrives (a locked hub swaps in the full app on unlock,
        // also for connections kept alive across the swap).
        let inner = TowerToHyperService::new(app.current());
        async move { hyper::service::Service::call(&inner, req).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            return;
        }
        _ = cancel.cancelled() => {}
    }
    // Shutting down: finish the request in progress, then close.
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// A request body that fails when no data arrives for `idle` while the handler waits for it (a body
/// that stalls); a slow but moving upload is not cut, nor a body its handler reads late.
struct IdleTimeoutBody {
    inner: Incoming,
    idle: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
    armed: bool,
}

impl IdleTimeoutBody {
    fn new(inner: Incoming, idle: Duration) -> Self {
        IdleTimeoutBody {
            inner,
            idle,
            sleep: Box::pin(tokio::time::sleep(idle)),
            armed: false,
        }
    }
}

/// The error of a stalled request body.
#[derive(Debug, thiserror::Error)]
#[error("the request body stalled (body read timeout)")]
struct BodyStalled;

impl hyper::body::Body for IdleTimeoutBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if !this.armed {
            let deadline = tokio::time::Instant::now() + this.idle;
            this.sleep.as_mut().reset(deadline);
            this.armed = true;
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(r) => {
                this.armed = false;
                Poll::Ready(r.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    tracing::debug!("request body stalled: body read timeout");
                    Poll::Ready(Some(Err(BodyStalled.into())))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(global: usize, per_address: usize, cap_loopback: bool) -> Arc<Gate> {
        Gate::new(Limits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            global,
            per_address,
            cap_loopback,
        })
    }

    #[test]
    fn the_gate_caps_each_address_and_the_total_and_gives_places_back() {
        let g = gate(5, 2, false);
        let a: IpAddr = "192.168.4.20".parse().unwrap();
        let b: IpAddr = "192.168.4.21".parse().unwrap();
        let a1 = g.admit(a).unwrap();
        let _a2 = g.admit(a).unwrap();
        assert_eq!(g.admit(a).unwrap_err(), Refused::PerAddress);
        // The same client as an IPv4-mapped IPv6 address is the same client.
        assert_eq!(
            g.admit("::ffff:192.168.4.20".parse().unwrap()).unwrap_err(),
            Refused::PerAddress
        );
        let _b1 = g.admit(b).unwrap();
        drop(a1);
        let _a3 = g.admit(a).unwrap();
        // Loopback is exempt from the per-address cap, not from the global one.
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let _l1 = g.admit(lo).unwrap();
        let _l2 = g.admit(lo).unwrap();
        assert_eq!(g.open(), 5);
        let g = gate(10, 1, true);
        let _l = g.admit(lo).unwrap();
        assert_eq!(g.admit(lo).unwrap_err(), Refused::PerAddress);
    }

    #[test]
    fn at_the_global_cap_the_oldest_connection_without_a_request_is_shed() {
        let g = gate(3, 10, false);
        let ip = |i: u8| IpAddr::from([192, 168, 4, i]);
        let (p1, p2, p3) = (
            g.admit(ip(1)).unwrap(),
            g.admit(ip(2)).unwrap(),
            g.admit(ip(3)).unwrap(),
        );
        // p1 has sent a request: it stays; p2 is the oldest still waiting.
        p1.started().mark();
        let p4 = g.admit(ip(4)).unwrap();
        assert!(!p1.shed().is_cancelled());
        assert!(p2.shed().is_cancelled());
        assert!(!p3.shed().is_cancelled());
        drop(p2);
        assert_eq!(g.open(), 3);
        // Every open connection busy with requests: a newcomer is refused.
        p3.started().mark();
        p4.started().mark();
        assert_eq!(g.admit(ip(5)).unwrap_err(), Refused::Global);
        // The per-address cap is checked first and sheds nobody.
        let g = gate(2, 1, false);
        let q1 = g.admit(ip(1)).unwrap();
        assert_eq!(g.admit(ip(1)).unwrap_err(), Refused::PerAddress);
        assert!(!q1.shed().is_cancelled());
        drop(p1);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_slash_64() {
        let g = gate(10, 2, false);
        let _x = g.admit("fd00:1:2:3::a".parse().unwrap()).unwrap();
        let _y = g.admit("fd00:1:2:3:ffff::b".parse().unwrap()).unwrap();
        assert_eq!(
            g.admit("fd00:1:2:3:1234::c".parse().unwrap()).unwrap_err(),
            Refused::PerAddress
        );
        assert!(g.admit("fd00:1:2:4::a".parse().unwrap()).is_ok());
    }
}
