//! Progress of the uploader, as one value in a `tokio::sync::watch` channel: the sync page's status and
//! event stream and `hub sync`'s progress bar all read it. The rate is smoothed (exponentially weighted).

use std::time::Instant;

use serde::Serialize;
use tokio::sync::watch;

/// What the uploader is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = UploadPhase)]
pub enum Phase {
    /// Not running (waiting for the next attempt).
    #[default]
    Idle,
    /// Looking for the office (configured URL, mDNS, paired URL).
    Locating,
    /// Opening a session and asking what the office holds.
    Comparing,
    /// Sending the manifest, envelopes and chunks.
    Uploading,
    /// Asking for the signed acknowledgement.
    Acknowledging,
    /// Pulling status news.
    News,
    /// Pulling new procedure packages.
    Packages,
}

/// An error in plain words (Vietnamese first) with a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = UploadPlainError)]
pub struct PlainError {
    pub code: String,
    pub message_vi: String,
    pub message_en: String,
}

/// The uploader's progress and standing.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = UploadProgress)]
pub struct Progress {
    pub phase: Phase,
    pub running: bool,
    pub dossiers_done: u64,
    pub dossiers_total: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Bytes actually sent in this run (including resent chunks).
    pub bytes_sent: u64,
    /// Smoothed upload rate, bytes per second.
    pub rate_bps: f64,
    /// Estimated seconds left.
    pub eta_secs: Option<u64>,
    pub office_name: Option<String>,
    pub office_url: Option<String>,
    /// How the office was found: `configured` (--office-url), `mdns`, or `paired` (the pairing URL).
    pub found_by: Option<String>,
    pub last_error: Option<PlainError>,
    /// RFC 3339 time of the last successful run.
    #[schema(format = DateTime)]
    pub last_success_at: Option<String>,
    /// RFC 3339 time of the next background attempt.
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    /// Envelopes acknowledged in the last run.
    pub last_acked: u64,
    /// A warning about the current run (e.g. run on demand during quiet hours).
    pub warning: Option<PlainError>,
    /// Procedure packages newly installed by the last run, as `{id, version, title}` (the sync page says
    /// "new procedures"); and those refused, with why.
    pub last_packages: Vec<NewPackage>,
    pub last_packages_refused: Vec<String>,
}

/// A procedure package a run installed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = UploadNewPackage)]
pub struct NewPackage {
    pub id: String,
    pub version: u32,
    #[schema(value_type = crate::shared::api_doc::field_schemas::Text)]
    pub title: protocol::Text,
}

/// Updates a progress channel and keeps the smoothed rate.
pub struct Tracker {
    tx: watch::Sender<Progress>,
    last_sample: Instant,
    sample_bytes: u64,
}

impl Tracker {
    pub fn new(tx: watch::Sender<Progress>) -> Tracker {
        Tracker {
            tx,
            last_sample: Instant::now(),
            sample_bytes: 0,
        }
    }

    pub fn update(&self, f: impl FnOnce(&mut Progress)) {
        self.tx.send_modify(f);
    }

    pub fn get(&self) -> Progress {
        self.tx.borrow().clone()
    }

    /// Records `n` more bytes sent and `held` progress, updating the smoothed rate and time left.
    pub fn sent(&mut self, n: u64, newly_held: u64) {
        self.sample_bytes += n;
        let dt = self.last_sample.elapsed().as_secs_f64();
        let mut sample = None;
        if dt >= 0.5 {
            sample = Some(self.sample_bytes as f64 / dt);
            self.sample_bytes = 0;
            self.last_sample = Instant::now();
        }
        self.tx.send_modify(|p| {
            p.bytes_sent += n;
            p.bytes_done = (p.bytes_done + newly_held).min(p.bytes_total.max(p.bytes_done));
            if let Some(s) = sample {
                p.rate_bps = if p.rate_bps == 0.0 {
                    s
                } else {
                    0.7 * p.rate_bps + 0.3 * s
                };
            }
            p.eta_secs = eta(p);
        });
    }

    pub fn reset_rate(&mut self) {
        self.last_sample = Instant::now();
        self.sample_bytes = 0;
    }
}

/// Seconds left at the smoothed rate.
pub fn eta(p: &Progress) -> Option<u64> {
    let left = p.bytes_total.saturating_sub(p.bytes_done);
    if left == 0 {
        return Some(0);
    }
    (p.rate_bps > 1.0).then(|| (left as f64 / p.rate_bps).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_follows_the_smoothed_rate() {
        let (tx, rx) = watch::channel(Progress {
            bytes_total: 1000,
            ..Default::default()
        });
        let mut t = Tracker::new(tx);
        t.last_sample = Instant::now() - std::time::Duration::from_secs(1);
        t.sent(100, 100);
        let p = rx.borrow().clone();
        assert_eq!(p.bytes_done, 100);
        assert!(p.rate_bps > 50.0 && p.rate_bps <= 100.0, "{}", p.rate_bps);
        assert!(p.eta_secs.unwrap() >= 9, "{:?}", p.eta_secs);
        t.sent(900, 900);
        assert_eq!(rx.borrow().eta_secs, Some(0));
    }
}
