//! Wall-clock time in the formats the kit uses (RFC 3339 UTC, unix seconds), and the hub's corrected
//! clock.
//!
//! A Raspberry Pi has no real-time clock: it boots at the last saved time (fake-hwclock) or in 1970. The
//! hub runs unprivileged and does not set the system clock; once an officer confirms the time from a
//! phone (`clock_guard`), every `now_*` here reads an [`Anchor`]: the confirmed time carried forward
//! by the kernel's boot-time clock (CLOCK_BOOTTIME, which counts suspend and ignores NTP steps). Without
//! a confirmation in this boot, `now_*` is the system clock. All of the hub's data timestamps come from
//! here; pure durations and timeouts stay on `std::time::Instant`.

use std::sync::{LazyLock, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The build date of this binary, unix seconds (`hub/build.rs`: SOURCE_DATE_EPOCH or the build time).
pub const BUILD_UNIX: i64 = parse_i64(env!("HUB_BUILD_UNIX"));
/// The build date of this binary, `YYYY-MM-DD` (UTC).
pub const BUILD_DATE: &str = env!("HUB_BUILD_DATE");

const fn parse_i64(s: &str) -> i64 {
    let b = s.as_bytes();
    let (mut i, neg) = if !b.is_empty() && b[0] == b'-' {
        (1, true)
    } else {
        (0, false)
    };
    let mut n: i64 = 0;
    while i < b.len() {
        n = n * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
}

/// The corrected clock: the confirmed time at some boot-clock reading, carried forward by the boot clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Unix milliseconds at boot-clock zero, as the confirming phone put it.
    pub boot_epoch_ms: i64,
}

impl Anchor {
    /// The anchor that makes `boot_ms` (a boot-clock reading) read as `unix_ms`.
    pub fn at(unix_ms: i64, boot_ms: i64) -> Anchor {
        Anchor {
            boot_epoch_ms: unix_ms - boot_ms,
        }
    }

    /// Unix milliseconds when the boot clock reads `boot_ms`.
    pub fn unix_ms(self, boot_ms: i64) -> i64 {
        self.boot_epoch_ms + boot_ms
    }
}

struct ClockState {
    /// Tests only: seconds added to the system clock (`HUB_CLOCK_SKEW_SECONDS`).
    skew_s: i64,
    anchor: Option<Anchor>,
}

static STATE: RwLock<ClockState> = RwLock::new(ClockState {
    skew_s: 0,
    anchor: None,
});

/// Sets the test-only skew of the system clock (`hub serve --clock-skew-seconds`, hidden).
pub fn set_skew(seconds: i64) {
    if let Ok(mut s) = STATE.write() {
        s.skew_s = seconds;
    }
}

/// Sets (or clears) the corrected clock of this process.
pub fn set_anchor(anchor: Option<Anchor>) {
    if let Ok(mut s) = STATE.write() {
        s.anchor = anchor;
    }
}

/// The corrected clock in effect, if any.
pub fn anchor() -> Option<Anchor> {
    STATE.read().ok().and_then(|s| s.anchor)
}

static PROCESS_START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// The kernel's boot-time clock (CLOCK_BOOTTIME, `/proc/uptime`) in milliseconds, with whether it is the
/// real one; elsewhere, the time since this process started (an anchor then lasts for the process only).
pub fn boot_ms() -> (i64, bool) {
    match std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| parse_uptime_ms(&s))
    {
        Some(ms) => (ms, true),
        None => (PROCESS_START.elapsed().as_millis() as i64, false),
    }
}

/// The first number of `/proc/uptime` ("12345.67 54321.00") in milliseconds.
pub fn parse_uptime_ms(s: &str) -> Option<i64> {
    let first = s.split_whitespace().next()?;
    let (whole, frac) = first.split_once('.').unwrap_or((first, "0"));
    let whole: i64 = whole.parse().ok()?;
    let frac = format!("{:0<3}", &frac[..frac.len().min(3)]);
    let frac: i64 = frac.parse().ok()?;
    Some(whole * 1000 + frac)
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`): a confirmation is kept across hub restarts in the
/// same boot and forgotten after a reboot. `None` where the kernel does not say.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .filter(|_| boot_ms().1)
}

/// The system clock (plus the test-only skew), unix milliseconds, uncorrected.
pub fn system_unix_ms() -> i64 {
    let skew = STATE.read().map(|s| s.skew_s).unwrap_or(0);
    let sys = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    sys + skew * 1000
}

/// Now, unix milliseconds: the corrected clock when an officer confirmed the time in this boot, else the
/// system clock.
pub fn now_unix_ms() -> i64 {
    match anchor() {
        Some(a) => a.unix_ms(boot_ms().0),
        None => system_unix_ms(),
    }
}

/// `ms` unix milliseconds as a UTC date-time (clamped to the representable range).
pub fn from_unix_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Now, as a UTC date-time (see [`now_unix_ms`]).
pub fn now_utc() -> OffsetDateTime {
    from_unix_ms(now_unix_ms())
}

/// `ms` unix milliseconds as RFC 3339 UTC with whole seconds.
pub fn rfc3339_of_ms(ms: i64) -> String {
    from_unix_ms(ms.div_euclid(1000) * 1000)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Now, as RFC 3339 UTC with whole seconds, e.g. `2026-11-23T08:15:00Z`.
pub fn now_rfc3339() -> String {
    rfc3339_of_ms(now_unix_ms())
}

/// Now, as unix seconds.
pub fn now_unix() -> i64 {
    now_unix_ms().div_euclid(1000)
}

/// Today's date in Vietnam (UTC+7), for "date not in the future" checks.
pub fn today_vn() -> time::Date {
    (now_utc() + time::Duration::hours(7)).date()
}

/// Unix seconds of an RFC 3339 time; `None` when it does not parse.
pub fn unix_of(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// An RFC 3339 time in its UTC normal form with whole seconds (`…Z`), so such strings sort as instants;
/// `None` when it does not parse.
pub fn to_utc_rfc3339(s: &str) -> Option<String> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?;
    t.format(&Rfc3339).ok()
}

/// The local (Vietnam, UTC+7) calendar day of an RFC 3339 time; `None` when it does not parse.
pub fn vn_date_of(s: &str) -> Option<time::Date> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    Some((t.to_offset(time::UtcOffset::UTC) + time::Duration::hours(7)).date())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_carries_the_confirmed_time_on_the_boot_clock() {
        // Confirmed at boot-clock 5 000 ms as 2026-11-24T01:00:00Z.
        let confirmed = 1_795_999_600_000;
        let a = Anchor::at(confirmed, 5_000);
        assert_eq!(a.unix_ms(5_000), confirmed);
        // An hour of boot clock later (suspend included), an hour later — whatever the system clock did.
        assert_eq!(a.unix_ms(5_000 + 3_600_000), confirmed + 3_600_000);
        assert_eq!(rfc3339_of_ms(a.unix_ms(5_999)), rfc3339_of_ms(confirmed));
    }

    #[test]
    fn uptime_and_build_date_parse() {
        assert_eq!(parse_uptime_ms("12345.67 54321.00\n"), Some(12_345_670));
        assert_eq!(parse_uptime_ms("7 1"), Some(7_000));
        assert_eq!(parse_uptime_ms(""), None);
        assert_eq!(parse_i64("1795999600"), 1_795_999_600);
        assert_eq!(parse_i64("-5"), -5);
        // The build date is today's or earlier, and agrees with its calendar form.
        const { assert!(BUILD_UNIX > 1_700_000_000) };
        assert!(
            BUILD_UNIX <= system_unix_ms() / 1000 + 60,
            "built in the future"
        );
        assert_eq!(
            rfc3339_of_ms(BUILD_UNIX * 1000)[..10],
            *BUILD_DATE,
            "HUB_BUILD_DATE is the UTC day of HUB_BUILD_UNIX"
        );
    }

    #[test]
    fn utc_normal_form_and_local_day() {
        assert_eq!(
            super::to_utc_rfc3339("2026-11-20T07:30:00.5+07:00").as_deref(),
            Some("2026-11-20T00:30:00Z")
        );
        assert_eq!(super::to_utc_rfc3339("yesterday"), None);
        assert_eq!(
            super::vn_date_of("2026-11-20T18:00:00Z")
                .map(|d| d.to_string())
                .as_deref(),
            Some("2026-11-21")
        );
    }
}
