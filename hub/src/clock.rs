//! Wall-clock time in the formats the kit uses (RFC 3339 UTC, unix seconds).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Now, as RFC 3339 UTC with whole seconds, e.g. `2026-11-23T08:15:00Z`.
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    now.format(&Rfc3339).unwrap_or_default()
}

/// Now, as unix seconds.
pub fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Today's date in Vietnam (UTC+7), for "date not in the future" checks.
pub fn today_vn() -> time::Date {
    (OffsetDateTime::now_utc() + time::Duration::hours(7)).date()
}
