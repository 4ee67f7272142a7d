//! Retention of what the field no longer needs (issue 19): a field hub left in a cultural house keeps
//! personal data only while the work needs it. Each concern owns the deletion of its own data
//! (`capture`: drafts and their photos; `selfservice`: pre-declarations never taken; `outreach`: names
//! on tickets; `news`: status news); this module holds the settings and runs them all, at start and
//! every hour, then checkpoints the WAL so the deleted rows leave the disk
//! ([`crate::shared::store::checkpoint_truncate`]). Each run is logged as counts only.
//!
//! Acknowledged envelopes (ciphertexts) have their own retention in `uploader/`; envelopes not yet
//! acknowledged by the office are never deleted.

use std::time::Duration;

use clap::Args;
use protocol::HubMode;
use tokio_util::sync::CancellationToken;

use crate::field::capture::store::{self as drafts, DraftRetention};
use crate::field::news::store as news;
use crate::field::outreach::store as outreach;
use crate::field::selfservice::store as selfservice;
use crate::shared::clock;
use crate::shared::state::AppState;
use crate::shared::store::{checkpoint_truncate, Db, StoreResult};

/// How long a field hub keeps personal data the field no longer needs. Flattened into `hub serve`.
#[derive(Debug, Clone, Args)]
pub struct RetentionSettings {
    /// Days a draft nobody changed (typing, a photo) is kept; then it is deleted with its photos.
    #[arg(
        long,
        env = "HUB_DRAFT_RETENTION_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub draft_retention_days: u32,
    /// Days before that deletion the drafts list shows "will be deleted on DD/MM".
    #[arg(
        long,
        env = "HUB_DRAFT_WARNING_DAYS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(0..=365)
    )]
    pub draft_warning_days: u32,
    /// Days a villager's pre-declaration never taken as a draft is kept (those sent during an outreach
    /// session are deleted when it closes).
    #[arg(
        long,
        env = "HUB_PREDECLARATION_RETENTION_DAYS",
        default_value_t = 7,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub predeclaration_retention_days: u32,
    /// Days status news from the office (which may carry result numbers such as a child's PIN) are kept
    /// after they arrive.
    #[arg(
        long,
        env = "HUB_NEWS_RETENTION_DAYS",
        default_value_t = 90,
        value_parser = clap::value_parser!(u32).range(1..=3650)
    )]
    pub news_retention_days: u32,
    /// Hours the names typed on queue tickets are kept while their session stays open (closing the
    /// session erases them at once).
    #[arg(
        long,
        env = "HUB_TICKET_NAME_HOURS",
        default_value_t = 24,
        value_parser = clap::value_parser!(u32).range(1..=8760)
    )]
    pub ticket_name_hours: u32,
    /// Tests only: seconds between retention runs (default 3600; a run also happens at start).
    #[arg(
        long,
        env = "HUB_RETENTION_CHECK_SECONDS",
        hide = true,
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub retention_check_seconds: u64,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        let d = DraftRetention::default();
        Self {
            draft_retention_days: d.days,
            draft_warning_days: d.warning_days,
            predeclaration_retention_days: 7,
            news_retention_days: 90,
            ticket_name_hours: 24,
            retention_check_seconds: 3600,
        }
    }
}

impl RetentionSettings {
    /// The drafts' part, which the drafts list uses to warn.
    pub fn drafts(&self) -> DraftRetention {
        DraftRetention {
            days: self.draft_retention_days,
            warning_days: self.draft_warning_days,
        }
    }
}

/// What one run deleted (counts only: no personal data is ever logged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub drafts: usize,
    pub photos: usize,
    pub predeclarations: usize,
    pub ticket_names: usize,
    pub news: usize,
    /// The run was skipped: the clock looks wrong (behind the last seal or confirmation), so "older
    /// than N days" cannot be trusted.
    pub skipped: bool,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.drafts + self.photos + self.predeclarations + self.ticket_names + self.news
    }
}

fn rfc3339_days_ago(now_unix: i64, days: u32) -> String {
    clock::rfc3339_of_ms((now_unix - i64::from(days) * 86_400) * 1000)
}

/// Deletes, in one transaction, what is past its time (see [`RetentionSettings`]), then checkpoints and
/// truncates the WAL when anything was deleted. Skipped while the clock is implausible.
pub fn run_sync(c: &mut rusqlite::Connection, s: &RetentionSettings) -> StoreResult<Counts> {
    let facts = crate::shared::clock_guard::facts(c, HubMode::Field)?;
    if crate::shared::clock_guard::plausibility(&facts).is_some() {
        return Ok(Counts {
            skipped: true,
            ..Counts::default()
        });
    }
    let now = clock::now_unix();
    let tx = crate::shared::store::write_tx(c)?;
    let purged = drafts::purge_untouched(&tx, &rfc3339_days_ago(now, s.draft_retention_days))?;
    let predeclarations =
        selfservice::purge_untaken(&tx, &rfc3339_days_ago(now, s.predeclaration_retention_days))?;
    let ticket_names =
        outreach::erase_stale_ticket_names(&tx, now - i64::from(s.ticket_name_hours) * 3600)?;
    let news = news::purge_received_before(&tx, &rfc3339_days_ago(now, s.news_retention_days))?;
    tx.commit()?;
    let counts = Counts {
        drafts: purged.drafts,
        photos: purged.photos,
        predeclarations,
        ticket_names,
        news,
        skipped: false,
    };
    if counts.total() > 0 {
        checkpoint_truncate(c)?;
    }
    Ok(counts)
}

/// One retention run on `db`, logged as counts.
pub async fn run(db: &Db, s: &RetentionSettings) -> StoreResult<Counts> {
    let s = s.clone();
    let started = std::time::Instant::now();
    let counts = db.call(move |c| run_sync(c, &s)).await?;
    if counts.skipped {
        tracing::warn!(
            "retention skipped: the clock looks wrong until an officer confirms the time"
        );
    } else {
        tracing::info!(
            drafts = counts.drafts,
            photos = counts.photos,
            predeclarations = counts.predeclarations,
            ticket_names = counts.ticket_names,
            news = counts.news,
            ms = started.elapsed().as_millis() as u64,
            "retention run"
        );
    }
    Ok(counts)
}

/// The background task of a field hub: a retention run every `--retention-check-seconds` (the run at
/// start is made by `hub serve` before it listens); stops when `cancel` fires.
pub async fn background(st: AppState, cancel: CancellationToken) {
    let settings = st.part::<RetentionSettings>().clone();
    let every = Duration::from_secs(settings.retention_check_seconds);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = cancel.cancelled() => return,
        }
        if let Err(e) = run(&st.db, &settings).await {
            tracing::warn!(error = %e, "retention run failed");
        }
    }
}
