//! Outreach sessions, villagers' tickets, the live queue board and services rendered (field mode).
//!
//! `store` holds the data; `routes` the team's API and the public board (JSON and a Server-Sent Events
//! stream); [`Live`] tells board streams that the queue changed. Anything that changes tickets outside
//! these routes (e.g. self-service ticket issue) calls [`Live::changed`] after committing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::Router;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::shared::state::AppState;

pub mod routes;
pub mod store;
pub mod summary;

pub fn router() -> Router<AppState> {
    routes::router()
}

/// Most board streams open at once (a TV or two per session; the rest are refused, not queued).
pub const MAX_BOARD_STREAMS: usize = 32;

/// Live updates for the queue board: a change counter that board streams watch. A `watch` channel keeps
/// only the latest value, so a burst of changes wakes each stream once and nothing piles up for slow
/// or departed clients.
#[derive(Debug)]
pub struct Live {
    changes: watch::Sender<u64>,
    streams: Arc<AtomicUsize>,
    /// Fires when the hub stops: open board streams end, so a graceful shutdown does not wait on a TV.
    closing: CancellationToken,
}

impl Default for Live {
    fn default() -> Self {
        Self::with_shutdown(CancellationToken::new())
    }
}

impl Live {
    /// Board streams end when `closing` fires (the server's shutdown token).
    pub fn with_shutdown(closing: CancellationToken) -> Self {
        Self {
            changes: watch::channel(0).0,
            streams: Arc::new(AtomicUsize::new(0)),
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

    /// Reserves a board-stream slot; `None` when [`MAX_BOARD_STREAMS`] are open. The slot is freed when
    /// the guard is dropped, i.e. when the client leaves and its stream is dropped.
    pub fn open_stream(&self) -> Option<StreamGuard> {
        let prev = self.streams.fetch_add(1, Ordering::SeqCst);
        if prev >= MAX_BOARD_STREAMS {
            self.streams.fetch_sub(1, Ordering::SeqCst);
            return None;
        }
        Some(StreamGuard(self.streams.clone()))
    }

    /// Board streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.load(Ordering::SeqCst)
    }
}

/// One open board stream; frees its slot when dropped.
#[derive(Debug)]
pub struct StreamGuard(Arc<AtomicUsize>);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_slots_are_bounded_and_freed() {
        let live = Live::default();
        let guards: Vec<_> = (0..MAX_BOARD_STREAMS)
            .map(|_| live.open_stream().unwrap())
            .collect();
        assert!(live.open_stream().is_none());
        assert_eq!(live.open_streams(), MAX_BOARD_STREAMS);
        drop(guards);
        assert_eq!(live.open_streams(), 0);
        let mut rx = live.subscribe();
        live.changed();
        live.changed();
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        assert!(!rx.has_changed().unwrap());
    }
}
