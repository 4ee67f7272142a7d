//! Telling systemd how the hub is doing (the kit's `Type=notify` unit with `WatchdogSec=`): `READY=1` once
//! the hub listens, `WATCHDOG=1` every half watchdog period but only while the database answers a
//! `SELECT 1` (a wedged database means no ping, so systemd restarts the hub), `STOPPING=1` when shutdown
//! begins. Outside systemd (no `NOTIFY_SOCKET`, no `WATCHDOG_USEC`) every call here does nothing.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::shared::store::Db;

fn send(state: NotifyState<'_>) {
    if let Err(e) = sd_notify::notify(&[state]) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// The hub accepts connections.
pub fn ready() {
    send(NotifyState::Ready);
}

/// Shutdown has begun.
pub fn stopping() {
    send(NotifyState::Stopping);
}

/// How often to ping systemd's watchdog: half its period, or `None` when no watchdog is set for this
/// process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}

/// Pings systemd's watchdog every `every` while the database answers, until `cancel` fires.
/// One watchdog ping (a locked hub, which has no database to check yet, pings while it serves).
pub fn ping() {
    send(NotifyState::Watchdog);
}

pub async fn watchdog(db: Db, every: Duration, cancel: CancellationToken) {
    watchdog_loop(db, every, cancel, || send(NotifyState::Watchdog)).await
}

/// [`watchdog`] with the ping as a parameter (tests count them). One probe at most is in flight: while
/// a probe waits for a wedged database, no new probe piles up behind it and no ping is sent.
pub async fn watchdog_loop(
    db: Db,
    every: Duration,
    cancel: CancellationToken,
    mut ping: impl FnMut(),
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pending: Option<JoinHandle<bool>> = None;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let mut probe = pending.take().unwrap_or_else(|| {
            let db = db.clone();
            tokio::spawn(async move {
                db.call(|c| Ok(c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
                    .await
                    .is_ok_and(|one| one == 1)
            })
        });
        match tokio::time::timeout(every, &mut probe).await {
            Ok(Ok(true)) => ping(),
            Ok(_) => tracing::warn!("watchdog: the database gave an error; not pinging systemd"),
            Err(_) => {
                tracing::warn!("watchdog: the database does not answer; not pinging systemd");
                pending = Some(probe);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pings_only_while_the_database_answers() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("hub.sqlite")).unwrap();
        let pings = Arc::new(AtomicUsize::new(0));
        let cancel = CancellationToken::new();
        let p2 = pings.clone();
        let task = tokio::spawn(watchdog_loop(
            db.clone(),
            Duration::from_millis(50),
            cancel.clone(),
            move || {
                p2.fetch_add(1, Ordering::SeqCst);
            },
        ));
        tokio::time::sleep(Duration::from_millis(400)).await;
        let answering = pings.load(Ordering::SeqCst);
        assert!(
            answering >= 4,
            "only {answering} pings while the database answered"
        );

        // Wedge the database: a call holds the connection for 1.5 s.
        let wedge = tokio::spawn({
            let db = db.clone();
            async move {
                db.call(|_| {
                    std::thread::sleep(Duration::from_millis(1500));
                    Ok(())
                })
                .await
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = pings.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert_eq!(
            pings.load(Ordering::SeqCst),
            before,
            "pinged while the database was wedged"
        );
        wedge.await.unwrap().unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(
            pings.load(Ordering::SeqCst) > before,
            "no ping once the database answered again"
        );
        cancel.cancel();
        task.await.unwrap();
    }
}
