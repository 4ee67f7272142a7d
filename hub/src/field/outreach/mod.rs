//! Outreach sessions, villagers' tickets, the live queue board and services rendered (field mode).
//!
//! `store` holds the data; `routes` the team's API and the public board (JSON and a Server-Sent Events
//! stream); [`Live`] tells board streams that the queue changed and keeps count of them. Anything that
//! changes tickets outside these routes (e.g. self-service ticket issue) calls [`Live::changed`] after
//! committing.
//!
//! Board streams are public (no login) and each holds a connection for as long as the screen stays
//! open, so they are capped (issue 18, finding 8): a few per client address, so one phone cannot take
//! every slot, and a global cap; at the global cap a newcomer from an address holding fewer streams than
//! the busiest address takes that address's oldest stream (fair share), so many attacking addresses
//! cannot lock the TV out either. A refused board falls back to polling `GET /api/v1/board`.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use clap::Args;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::shared::state::AppState;

pub mod routes;
pub mod store;
pub mod summary;

pub fn router() -> Router<AppState> {
    routes::router()
}

/// Default for `--board-streams-per-address`: a TV, a laptop and a phone or two behind one address.
pub const DEFAULT_STREAMS_PER_ADDRESS: u16 = 4;
/// The global cap, when not set, is this many times the per-address cap (64 by default): far more
/// screens than a session has, while each change of the queue costs one small read per open stream.
pub const GLOBAL_STREAMS_PER_ADDRESS_CAP: usize = 16;

/// How many queue-board streams may be open (issue 18, finding 8). Flattened into `hub serve`'s options.
#[derive(Debug, Clone, Args)]
pub struct BoardLimits {
    /// Most live queue-board streams (GET /api/v1/board/events) open at once from one client address
    /// (an IPv6 client: its /64); further ones get 429 and the board polls instead.
    #[arg(
        long,
        env = "HUB_BOARD_STREAMS_PER_ADDRESS",
        default_value_t = DEFAULT_STREAMS_PER_ADDRESS,
        value_parser = clap::value_parser!(u16).range(1..=1000)
    )]
    pub board_streams_per_address: u16,
    /// Most live queue-board streams open at once in all. Default (0): 16 × --board-streams-per-address.
    /// At the cap a newcomer takes the oldest stream of the address holding the most (when that address
    /// holds at least two more than the newcomer's address), else it gets 503 and the board polls instead.
    #[arg(long, env = "HUB_MAX_BOARD_STREAMS", default_value_t = 0)]
    pub max_board_streams: usize,
}

impl Default for BoardLimits {
    fn default() -> Self {
        Self {
            board_streams_per_address: DEFAULT_STREAMS_PER_ADDRESS,
            max_board_streams: 0,
        }
    }
}

impl BoardLimits {
    /// The global cap in force (see `--max-board-streams`).
    pub fn global(&self) -> usize {
        if self.max_board_streams > 0 {
            self.max_board_streams
        } else {
            usize::from(self.board_streams_per_address)
                .saturating_mul(GLOBAL_STREAMS_PER_ADDRESS_CAP)
        }
    }
}

/// Why a board stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRefused {
    /// This client address holds `--board-streams-per-address` streams already.
    PerAddress,
    /// The global cap is reached and no address holds more than its fair share.
    Global,
}

/// Live updates for the queue board: a change counter that board streams watch. A `watch` channel keeps
/// only the latest value, so a burst of changes wakes each stream once and nothing piles up for slow
/// or departed clients.
#[derive(Debug)]
pub struct Live {
    changes: watch::Sender<u64>,
    streams: Arc<Mutex<Streams>>,
    per_address: usize,
    global: usize,
    /// Fires when the hub stops: open board streams end, so a graceful shutdown does not wait on a TV.
    closing: CancellationToken,
}

/// The open board streams by client address, each with the token that ends it (oldest first).
#[derive(Debug, Default)]
struct Streams {
    total: usize,
    by_address: HashMap<IpAddr, BTreeMap<u64, CancellationToken>>,
    next_id: u64,
}

impl Default for Live {
    fn default() -> Self {
        Self::with_shutdown(CancellationToken::new())
    }
}

/// The key a client address is counted under: an IPv4 address (or IPv4-mapped IPv6) as is, an IPv6
/// address by its /64 (a phone may hold many addresses of its network).
fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

impl Live {
    /// Default limits; board streams end when `closing` fires (the server's shutdown token).
    pub fn with_shutdown(closing: CancellationToken) -> Self {
        Self::new(closing, &BoardLimits::default())
    }

    /// Board streams capped by `limits`, ending when `closing` fires.
    pub fn new(closing: CancellationToken, limits: &BoardLimits) -> Self {
        Self {
            changes: watch::channel(0).0,
            streams: Arc::new(Mutex::new(Streams::default())),
            per_address: usize::from(limits.board_streams_per_address.max(1)),
            global: limits.global().max(1),
            closing,
        }
    }

    /// Fires when the hub is stopping.
    pub fn closing(&self) -> CancellationToken {
        self.closing.clone()
    }

    /// Signals that tickets or the open session changed (call after the change is committed).
    pub fn changed(&self) {
        self.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// A receiver that wakes on the next [`Live::changed`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Reserves a board-stream slot for a client at `ip`, or says which cap refuses it. At the global
    /// cap, the oldest stream of the address holding the most (between equals, the one holding the
    /// oldest stream) is ended to make room when that address holds at least two more than `ip` holds. The slot is freed when the guard is dropped
    /// (the client left and its stream was dropped); the guard's [`StreamGuard::ended`] fires when the
    /// stream was ended for a newcomer.
    pub fn open_stream(&self, ip: IpAddr) -> Result<StreamGuard, StreamRefused> {
        let key = address_key(ip);
        let mut s = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let mine = s.by_address.get(&key).map_or(0, BTreeMap::len);
        if mine >= self.per_address {
            return Err(StreamRefused::PerAddress);
        }
        if s.total >= self.global {
            // The address holding the most; between equals, the one with the oldest stream.
            let busiest = s
                .by_address
                .iter()
                .max_by_key(|(_, m)| (m.len(), std::cmp::Reverse(m.keys().next().copied())))
                .map(|(a, m)| (*a, m.len()));
            match busiest {
                Some((addr, n)) if n > mine + 1 => {
                    let m = s.by_address.get_mut(&addr).expect("the busiest address");
                    if let Some((_, token)) = m.pop_first() {
                        token.cancel();
                        s.total -= 1;
                    }
                    if s.by_address.get(&addr).is_some_and(BTreeMap::is_empty) {
                        s.by_address.remove(&addr);
                    }
                }
                _ => return Err(StreamRefused::Global),
            }
        }
        let id = s.next_id;
        s.next_id += 1;
        let token = CancellationToken::new();
        s.by_address
            .entry(key)
            .or_default()
            .insert(id, token.clone());
        s.total += 1;
        Ok(StreamGuard {
            streams: self.streams.clone(),
            key,
            id,
            token,
        })
    }

    /// Board streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

/// One open board stream; frees its slot when dropped.
#[derive(Debug)]
pub struct StreamGuard {
    streams: Arc<Mutex<Streams>>,
    key: IpAddr,
    id: u64,
    token: CancellationToken,
}

impl StreamGuard {
    /// Fires when the stream was ended to make room for another address's (see [`Live::open_stream`]).
    pub fn ended(&self) -> CancellationToken {
        self.token.clone()
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut s = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        let Some(m) = s.by_address.get_mut(&self.key) else {
            return;
        };
        if m.remove(&self.id).is_none() {
            return; // ended for a newcomer: already not counted
        }
        if m.is_empty() {
            s.by_address.remove(&self.key);
        }
        s.total -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 168, 4, last])
    }

    #[test]
    fn streams_are_capped_per_address_and_freed() {
        let live = Live::default();
        let guards: Vec<_> = (0..DEFAULT_STREAMS_PER_ADDRESS)
            .map(|_| live.open_stream(ip(20)).unwrap())
            .collect();
        assert_eq!(
            live.open_stream(ip(20)).unwrap_err(),
            StreamRefused::PerAddress
        );
        let other = live.open_stream(ip(21)).expect("another address");
        assert_eq!(
            live.open_streams(),
            usize::from(DEFAULT_STREAMS_PER_ADDRESS) + 1
        );
        drop(guards);
        assert_eq!(live.open_streams(), 1);
        assert!(live.open_stream(ip(20)).is_ok());
        drop(other);
        let mut rx = live.subscribe();
        live.changed();
        live.changed();
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        assert!(!rx.has_changed().unwrap());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64() {
        let live = Live::new(
            CancellationToken::new(),
            &BoardLimits {
                board_streams_per_address: 1,
                max_board_streams: 0,
            },
        );
        let a: IpAddr = "2001:db8:1:2::10".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2::11".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::10".parse().unwrap();
        let _g = live.open_stream(a).unwrap();
        assert!(live.open_stream(b).is_err());
        assert!(live.open_stream(c).is_ok());
    }

    #[test]
    fn at_the_global_cap_a_newcomer_takes_the_busiest_addresss_oldest_stream() {
        let live = Live::new(
            CancellationToken::new(),
            &BoardLimits {
                board_streams_per_address: 2,
                max_board_streams: 4,
            },
        );
        let a: Vec<_> = (0..2).map(|_| live.open_stream(ip(2)).unwrap()).collect();
        let b: Vec<_> = (0..2).map(|_| live.open_stream(ip(3)).unwrap()).collect();
        // The TV (no stream yet) gets in: one of the busiest address's streams ends, the oldest.
        let tv = live.open_stream(ip(9)).expect("the newcomer is admitted");
        assert!(a[0].ended().is_cancelled() && !a[1].ended().is_cancelled());
        assert!(b.iter().all(|g| !g.ended().is_cancelled()));
        assert_eq!(live.open_streams(), 4);
        // The evicted address coming back (1 open) finds no one holding two more: refused.
        assert_eq!(live.open_stream(ip(2)).unwrap_err(), StreamRefused::Global);
        // Nor can the TV take a second one from an address holding 2 (2 > 1 + 1 is false).
        assert_eq!(live.open_stream(ip(9)).unwrap_err(), StreamRefused::Global);
        // The evicted guard is dropped later without freeing someone else's slot.
        drop(a);
        assert_eq!(live.open_streams(), 3);
        drop(tv);
        drop(b);
        assert_eq!(live.open_streams(), 0);
    }
}
