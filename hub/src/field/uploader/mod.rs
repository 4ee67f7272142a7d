//! The field hub's uploader (protocol §11): finds its paired office (mDNS or configured URL), and in the
//! background or on demand sends what the office lacks — manifest first, envelopes, resumable chunks — and
//! marks dossiers uploaded only on the office's signed acknowledgement.
//!
//! `engine` is one run; `client` the office's HTTP API with retries; `policy` backoff, quiet hours and the
//! bandwidth cap; `progress` what the UI and `hub sync` show; `store` the field's sync tables; `ackfile` the
//! USB path's acknowledgement file; `routes` the field API (`/api/v1/upload/*`).

use std::time::Duration;

use axum::Router;
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::field::uploader::settings::{OnOff, SyncSettings};
use crate::shared::discovery::MdnsMode;
use crate::shared::state::AppState;

pub mod ackfile;
pub mod batch_file;
pub mod cli;
pub mod client;
pub mod engine;
pub mod office_tls;
pub mod policy;
pub mod progress;
pub mod rechain;
pub mod routes;
pub mod settings;
pub mod store;

use client::SyncError;
use engine::{Engine, RunReport};
use policy::Backoff;
use progress::{PlainError, Progress};

pub fn router() -> Router<AppState> {
    routes::router()
}

/// The uploader's live state in a running hub.
pub struct Uploader {
    pub progress: watch::Sender<Progress>,
    pub settings: SyncSettings,
    pub mdns: MdnsMode,
    /// Wakes the background task (a run was asked for).
    wake: Notify,
    /// Held while a run is going on: at most one run at a time.
    running: tokio::sync::Mutex<()>,
    cancel: CancellationToken,
}

impl Uploader {
    pub fn new(settings: SyncSettings, mdns: MdnsMode, cancel: CancellationToken) -> Uploader {
        Uploader {
            progress: watch::channel(Progress::default()).0,
            settings,
            mdns,
            wake: Notify::new(),
            running: tokio::sync::Mutex::new(()),
            cancel,
        }
    }

    /// Whether `now` (unix seconds) is inside the configured quiet hours.
    pub fn quiet_now(&self) -> bool {
        self.settings
            .quiet_hours
            .is_some_and(|q| q.contains_unix(crate::shared::clock::now_unix()))
    }
}

impl Default for Uploader {
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            s: SyncSettings,
        }
        let s = T::parse_from(["hub"]).s;
        Uploader::new(s, MdnsMode::Off, CancellationToken::new())
    }
}

/// The warning shown when a run is asked for during quiet hours.
pub fn quiet_warning(u: &Uploader) -> Option<PlainError> {
    let q = u.settings.quiet_hours?;
    u.quiet_now().then(|| PlainError {
        code: "quiet_hours".into(),
        message_vi: format!(
            "Đang trong giờ yên lặng ({q}, giờ Việt Nam): đường truyền của xã thường nghẽn; đồng bộ theo yêu cầu vẫn chạy nhưng có thể chậm."
        ),
        message_en: format!(
            "These are quiet hours ({q}, Vietnam time): the commune link is often congested; a sync on demand still runs but may be slow."
        ),
    })
}

/// Runs once now unless a run is already going on (then `None`).
pub async fn run_once(st: &AppState, on_demand: bool) -> Option<Result<RunReport, SyncError>> {
    let _guard = st.part::<Uploader>().running.try_lock().ok()?;
    let warning = if on_demand {
        quiet_warning(st.part::<Uploader>())
    } else {
        None
    };
    st.part::<Uploader>()
        .progress
        .send_modify(|p| p.warning = warning);
    let engine = Engine {
        db: &st.db,
        keys: &st.keys,
        device_name: &st.name,
        settings: &st.part::<Uploader>().settings,
        mdns: st.part::<Uploader>().mdns,
        cancel: st.part::<Uploader>().cancel.clone(),
        progress: &st.part::<Uploader>().progress,
    };
    let r = engine.run().await;
    match &r {
        Ok(rep) => tracing::info!(
            acked = rep.newly_acked,
            bytes = rep.bytes_sent,
            office = %rep.office_url,
            "sync run finished"
        ),
        Err(e) => tracing::warn!(code = e.code(), "sync run failed"),
    }
    Some(r)
}

/// Asks for a run now: started in its own task (so the caller answers at once). False when one is running.
pub fn request_run(st: &AppState) -> bool {
    if st.part::<Uploader>().running.try_lock().is_err() {
        return false;
    }
    let st = st.clone();
    tokio::spawn(async move {
        run_once(&st, true).await;
    });
    true
}

/// The background task of a field hub: runs on the interval (backing off with jitter after failures),
/// outside quiet hours, whenever an office is pinned; stops when `cancel` fires.
pub async fn background(st: AppState, cancel: CancellationToken) {
    if let Ok(Some(t)) = st.db.call(|c| store::last_success(c)).await {
        st.part::<Uploader>()
            .progress
            .send_modify(|p| p.last_success_at = Some(t));
    }
    if st.part::<Uploader>().settings.sync == OnOff::Off {
        return;
    }
    let interval = Duration::from_secs(st.part::<Uploader>().settings.sync_interval);
    let mut failures: u32 = 0;
    let mut wait = Duration::from_secs(2);
    loop {
        let next = crate::shared::clock::now_utc() + wait;
        let next = next
            .replace_nanosecond(0)
            .unwrap_or(next)
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        st.part::<Uploader>()
            .progress
            .send_modify(|p| p.next_attempt_at = next);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = st.part::<Uploader>().wake.notified() => {}
            _ = cancel.cancelled() => return,
        }
        if let Some(q) = st.part::<Uploader>().settings.quiet_hours {
            let left = q.secs_until_end(crate::shared::clock::now_unix());
            if left > 0 {
                wait = Duration::from_secs(left as u64 + 1);
                continue;
            }
        }
        let pinned = st
            .db
            .call(|c| store::pinned_office(c))
            .await
            .ok()
            .flatten()
            .is_some();
        if !pinned {
            wait = interval;
            continue;
        }
        match run_once(&st, false).await {
            None => wait = interval, // a run on demand is going on
            Some(Ok(_)) => {
                failures = 0;
                wait = interval;
            }
            Some(Err(SyncError::Cancelled)) => return,
            Some(Err(e)) => {
                // A refusal (revoked, pending approval) waits for people: no point hurrying.
                wait = if e.is_transient() {
                    Backoff::RUN
                        .delay(failures)
                        .clamp(Duration::from_secs(5), interval.max(Duration::from_secs(5)))
                } else {
                    interval
                };
                failures = failures.saturating_add(1);
            }
        }
    }
}
