//! Politeness on weak links, as pure parts: exponential backoff with full jitter, quiet hours (a daily
//! window in Vietnam time, UTC+7, that may wrap around midnight), and a token bucket that caps the bytes
//! sent per second.

use std::time::Duration;

/// A random `u64` from the operating system (jitter only; never a secret).
pub fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    let _ = getrandom::getrandom(&mut b);
    u64::from_le_bytes(b)
}

/// Exponential backoff with full jitter: attempt `n` (0-based) waits a uniformly random time in
/// `0 ..= min(cap, base · 2ⁿ)`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// Retries of one request: 0.5 s doubling up to 30 s.
    pub const REQUEST: Backoff = Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(30),
    };
    /// Background runs after a failure: 15 s doubling up to 30 min.
    pub const RUN: Backoff = Backoff {
        base: Duration::from_secs(15),
        cap: Duration::from_secs(1800),
    };

    /// The upper bound of attempt `n`'s wait.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u64.checked_shl(attempt.min(40)).unwrap_or(u64::MAX);
        let ms = (self.base.as_millis() as u64).saturating_mul(factor);
        Duration::from_millis(ms).min(self.cap)
    }

    /// The wait before retry `attempt`, drawn with `random` (any u64; uniform over the range).
    pub fn delay_with(&self, attempt: u32, random: u64) -> Duration {
        let ceil = self.ceiling(attempt).as_millis() as u64;
        Duration::from_millis(random % (ceil + 1))
    }

    /// [`Backoff::delay_with`] with operating-system randomness.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, random_u64())
    }
}

/// Vietnam's offset from UTC (no daylight saving time), in seconds.
const VN_OFFSET_SECS: i64 = 7 * 3600;

/// A daily window (Asia/Ho_Chi_Minh time) with no background sync, `HH:MM-HH:MM`; the end is excluded and
/// a window whose end is before its start wraps around midnight (`22:00-06:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Minutes after midnight.
    pub start: u16,
    pub end: u16,
}

fn parse_hhmm(s: &str) -> Option<u16> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`.
    pub fn parse(s: &str) -> Result<QuietHours, String> {
        let err =
            || format!("quiet hours are HH:MM-HH:MM in Vietnam time, e.g. 16:30-18:30, not `{s}`");
        let (a, b) = s.split_once('-').ok_or_else(err)?;
        let (start, end) = (
            parse_hhmm(a).ok_or_else(err)?,
            parse_hhmm(b).ok_or_else(err)?,
        );
        if start == end {
            return Err(format!("quiet hours `{s}` start and end at the same time"));
        }
        Ok(QuietHours { start, end })
    }

    /// Whether minute-of-day `m` (Vietnam time) is inside the window.
    pub fn contains_minute(&self, m: u16) -> bool {
        if self.start < self.end {
            (self.start..self.end).contains(&m)
        } else {
            m >= self.start || m < self.end
        }
    }

    /// Whether unix time `t` falls in the window.
    pub fn contains_unix(&self, t: i64) -> bool {
        let m = ((t + VN_OFFSET_SECS).rem_euclid(86_400) / 60) as u16;
        self.contains_minute(m)
    }

    /// Seconds from unix time `t` until the window ends (0 when outside it).
    pub fn secs_until_end(&self, t: i64) -> i64 {
        if !self.contains_unix(t) {
            return 0;
        }
        let s = (t + VN_OFFSET_SECS).rem_euclid(86_400);
        let end = self.end as i64 * 60;
        (end - s).rem_euclid(86_400)
    }
}

impl std::fmt::Display for QuietHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// A token bucket over bytes: `rate` bytes per second, holding at most `burst` bytes. `take` answers how
/// long to wait before sending `n` bytes (taking them now, into debt if needed, so concurrent senders
/// queue up fairly behind each other).
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl TokenBucket {
    /// A bucket of `kbit_per_s` kilobits per second (1 kbit = 1000 bits), starting full, with one second
    /// of burst (at least 16 KiB).
    pub fn kbps(kbit_per_s: u64) -> TokenBucket {
        let rate = kbit_per_s as f64 * 1000.0 / 8.0;
        let burst = rate.max(16.0 * 1024.0);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: std::time::Instant::now(),
        }
    }

    /// Takes `n` bytes at instant `now`; returns how long the caller must wait before sending them.
    pub fn take_at(&mut self, n: u64, now: std::time::Instant) -> Duration {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.tokens -= n as f64;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    /// [`TokenBucket::take_at`] now.
    pub fn take(&mut self, n: u64) -> Duration {
        self.take_at(n, std::time::Instant::now())
    }
}

/// How much and how long the field hub reads from an office (or whatever answers at its address: a fake
/// office found by a spoofed mDNS record may answer anything). Every client read of the field hub —
/// pairing, the sync session, holdings, manifest, envelope and chunk answers, acks, news — goes through
/// these limits (docs/protocol.md §11.9, "Limits of the field's reads").
pub mod limits {
    use std::time::Duration;

    /// Time to open a TCP connection (and finish the TLS handshake) to the office.
    pub const CONNECT: Duration = Duration::from_secs(10);
    /// Longest silence while waiting for the answer's head or for the next bytes of its body.
    pub const IDLE: Duration = Duration::from_secs(30);
    /// Longest time for a whole request: sending it, then reading the whole answer. A 256 KiB chunk on a
    /// 20 kbit/s link takes about 105 s.
    pub const REQUEST: Duration = Duration::from_secs(120);
    /// Longest time for a challenge or a pairing answer (a few hundred bytes).
    pub const SMALL_REQUEST: Duration = Duration::from_secs(30);
    /// Largest error body (`{"error": …}`) read from a refusal.
    pub const ERROR_BYTES: u64 = 64 * 1024;

    /// What a field hub asks an office for, each with its own limits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Reply {
        Pair,
        OfficeTls,
        Challenge,
        Hello,
        Holdings,
        Manifest,
        Envelope,
        Chunk,
        BlobState,
        Ack,
        News,
        Packages,
        Other,
    }

    impl Reply {
        /// The kind of answer a request to `path` (`/api/v1/sync/…`, query included) gets.
        pub fn of(path: &str) -> Reply {
            let p = path.split('?').next().unwrap_or(path);
            let Some(rest) = p.strip_prefix("/api/v1/sync/") else {
                return Reply::Other;
            };
            match rest.split('/').next().unwrap_or("") {
                "pair" => Reply::Pair,
                "tls" => Reply::OfficeTls,
                "challenge" => Reply::Challenge,
                "hello" => Reply::Hello,
                "holdings" => Reply::Holdings,
                "manifest" => Reply::Manifest,
                "envelopes" => Reply::Envelope,
                "blobs" if path.contains("offset=") => Reply::Chunk,
                "blobs" => Reply::BlobState,
                "ack" => Reply::Ack,
                "news" => Reply::News,
                "packages" => Reply::Packages,
                _ => Reply::Other,
            }
        }

        /// The most bytes of a successful answer the field reads; beyond that it stops and refuses the
        /// answer. Each is far above what an honest office sends for that kind.
        pub fn max_bytes(self) -> u64 {
            const KIB: u64 = 1024;
            match self {
                // A key card, proofs, a status: about 1 KiB.
                Reply::Pair => 64 * KIB,
                // A signed certificate (about 600 bytes of DER) in hex: about 2 KiB.
                Reply::OfficeTls => 64 * KIB,
                // 64 hex characters and a number.
                Reply::Challenge => 4 * KIB,
                // A 64-character token, a number, a status.
                Reply::Hello => 4 * KIB,
                // Seq ranges and unresolved quarantine items (a few dozen bytes each).
                Reply::Holdings => 4 * 1024 * KIB,
                // 200 envelopes and their ciphertexts, about 120 bytes each.
                Reply::Manifest => 1024 * KIB,
                Reply::Envelope | Reply::Chunk | Reply::BlobState => 16 * KIB,
                // 200 envelopes acked, quarantined (detail up to 500 characters) or missing.
                Reply::Ack => 2 * 1024 * KIB,
                // 50 items; an item may list 50 papers or numbers of 200 characters.
                Reply::News => 8 * 1024 * KIB,
                // The index (500 entries of about 150 bytes) or one signed package (at most 1 MiB).
                Reply::Packages => protocol::MAX_PACKAGE_BYTES as u64 + 64 * KIB,
                Reply::Other => 64 * KIB,
            }
        }

        /// The longest the whole request may take.
        pub fn deadline(self) -> Duration {
            let d = match self {
                Reply::Challenge | Reply::Pair | Reply::OfficeTls | Reply::Hello => SMALL_REQUEST,
                _ => REQUEST,
            };
            match test_deadline() {
                Some(t) => t.min(d),
                None => d,
            }
        }

        /// In plain words, for error messages: (Vietnamese, English).
        pub fn what(self) -> (&'static str, &'static str) {
            match self {
                Reply::Pair => ("câu trả lời ghép nối", "the pairing answer"),
                Reply::OfficeTls => (
                    "chứng chỉ HTTPS của văn phòng",
                    "the office's HTTPS certificate",
                ),
                Reply::Challenge => ("mã thử thách", "the challenge"),
                Reply::Hello => ("câu trả lời mở phiên", "the session answer"),
                Reply::Holdings => ("danh sách hồ sơ văn phòng đã có", "the holdings"),
                Reply::Manifest => ("câu trả lời cho bản kê", "the manifest answer"),
                Reply::Envelope => ("câu trả lời cho phong bì", "the envelope answer"),
                Reply::Chunk => ("câu trả lời cho một phần dữ liệu", "the chunk answer"),
                Reply::BlobState => ("trạng thái dữ liệu", "the blob state"),
                Reply::Ack => ("xác nhận đã nhận", "the acknowledgement"),
                Reply::News => ("tin từ văn phòng", "the news"),
                Reply::Packages => ("gói thủ tục", "a procedure package"),
                Reply::Other => ("câu trả lời", "the answer"),
            }
        }
    }

    /// `HUB_SYNC_REQUEST_TIMEOUT_SECS`: a shorter whole-request limit, for tests of slow fake offices.
    fn test_deadline() -> Option<Duration> {
        std::env::var("HUB_SYNC_REQUEST_TIMEOUT_SECS")
            .ok()?
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sync_path_has_its_own_reply_limit() {
        use limits::Reply;
        for (path, want) in [
            ("/api/v1/sync/pair", Reply::Pair),
            ("/api/v1/sync/challenge", Reply::Challenge),
            ("/api/v1/sync/hello", Reply::Hello),
            ("/api/v1/sync/holdings", Reply::Holdings),
            ("/api/v1/sync/manifest", Reply::Manifest),
            ("/api/v1/sync/envelopes/3", Reply::Envelope),
            ("/api/v1/sync/blobs/ab12?offset=0", Reply::Chunk),
            ("/api/v1/sync/blobs/ab12", Reply::BlobState),
            ("/api/v1/sync/ack", Reply::Ack),
            ("/api/v1/sync/news?after=4", Reply::News),
            ("/api/v1/sync/packages", Reply::Packages),
            ("/api/v1/sync/packages/ab12", Reply::Packages),
            ("/api/v1/sync/tls", Reply::OfficeTls),
            ("/healthz", Reply::Other),
        ] {
            assert_eq!(Reply::of(path), want, "{path}");
            assert!(want.max_bytes() <= 8 * 1024 * 1024, "{path}");
        }
        assert!(Reply::Hello.max_bytes() < Reply::News.max_bytes());
    }

    #[test]
    fn backoff_stays_within_full_jitter_bounds() {
        let b = Backoff {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        };
        assert_eq!(b.ceiling(0), Duration::from_millis(500));
        assert_eq!(b.ceiling(3), Duration::from_secs(4));
        assert_eq!(b.ceiling(10), Duration::from_secs(30), "capped");
        assert_eq!(b.ceiling(200), Duration::from_secs(30), "no overflow");
        for attempt in 0..12 {
            for _ in 0..200 {
                let d = b.delay(attempt);
                assert!(d <= b.ceiling(attempt), "{d:?} > {:?}", b.ceiling(attempt));
            }
        }
        assert_eq!(b.delay_with(2, 0), Duration::ZERO);
        assert_eq!(b.delay_with(2, 2000), Duration::from_millis(2000));
        assert_eq!(
            b.delay_with(2, 2001),
            Duration::ZERO,
            "wraps: uniform over 0..=ceiling"
        );
        // Full jitter spreads: many draws are not all the same.
        let draws: std::collections::HashSet<_> = (0..50).map(|_| b.delay(6)).collect();
        assert!(draws.len() > 10);
    }

    #[test]
    fn quiet_hours_parse_and_wrap_around_midnight() {
        let q = QuietHours::parse("16:30-18:30").unwrap();
        assert_eq!(
            q,
            QuietHours {
                start: 990,
                end: 1110
            }
        );
        assert_eq!(q.to_string(), "16:30-18:30");
        assert!(q.contains_minute(990));
        assert!(q.contains_minute(1109));
        assert!(!q.contains_minute(1110), "the end is excluded");
        assert!(!q.contains_minute(600));
        let night = QuietHours::parse("22:00-6:00").unwrap();
        assert!(night.contains_minute(23 * 60));
        assert!(night.contains_minute(0));
        assert!(night.contains_minute(5 * 60 + 59));
        assert!(!night.contains_minute(6 * 60));
        assert!(!night.contains_minute(12 * 60));
        for bad in [
            "",
            "16:30",
            "16:30-16:30",
            "25:00-01:00",
            "16:60-17:00",
            "a-b",
            "16:3-17:00",
        ] {
            assert!(QuietHours::parse(bad).is_err(), "{bad}");
        }
        // 2026-11-23T10:00:00Z is 17:00 in Vietnam: inside 16:30-18:30, 90 minutes before its end.
        let t = 1_795_428_000;
        assert!(q.contains_unix(t));
        assert_eq!(q.secs_until_end(t), 90 * 60);
        assert!(!q.contains_unix(t + 2 * 3600));
        assert_eq!(q.secs_until_end(t + 2 * 3600), 0);
        assert_eq!(
            night.secs_until_end(t + 6 * 3600),
            7 * 3600,
            "23:00 → 06:00"
        );
    }

    #[test]
    fn token_bucket_caps_the_rate() {
        // 80 kbit/s = 10 000 B/s, burst 16 KiB.
        let mut b = TokenBucket::kbps(80);
        let t0 = b.last;
        assert_eq!(
            b.take_at(16 * 1024, t0),
            Duration::ZERO,
            "the burst goes at once"
        );
        let w = b.take_at(10_000, t0);
        assert!((w.as_secs_f64() - 1.0).abs() < 1e-6, "{w:?}");
        // A second concurrent sender queues behind the first.
        let w2 = b.take_at(10_000, t0);
        assert!((w2.as_secs_f64() - 2.0).abs() < 1e-6, "{w2:?}");
        // After waiting, the debt is paid and tokens refill up to the burst only.
        let later = t0 + Duration::from_secs(100);
        assert_eq!(b.take_at(16 * 1024, later), Duration::ZERO);
        assert!(b.take_at(1, later) > Duration::ZERO);
        // Over a long run the average never exceeds the rate.
        let mut b = TokenBucket::kbps(800);
        let burst = b.burst;
        let start = b.last;
        let mut clock = start;
        let mut sent = 0u64;
        for _ in 0..1000 {
            clock += b.take_at(4096, clock);
            sent += 4096;
        }
        let secs = clock.duration_since(start).as_secs_f64();
        let rate = (sent as f64 - burst) / secs;
        assert!(rate <= 100_000.0 * 1.001, "{rate} B/s");
    }
}
