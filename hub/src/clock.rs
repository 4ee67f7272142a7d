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
