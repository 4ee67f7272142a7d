//! Legal deadlines in working days (pure; no database). Saturdays, Sundays and the days in a holiday set are
//! not working days.
//!
//! The rule used: the clock starts on `received_on`, the first working day of the count (the office's
//! receipt day in Vietnam local time; a receipt on a day off, or — for the 3-in-1 — after 15:00, starts on
//! the next working day, DOMAIN.md). A limit of N working days ends on the N-th working day counting
//! `received_on` as day 1: received Monday 10:00 with a limit of 3 → due Wednesday; received Monday 16:00
//! (3-in-1) → counted from Tuesday → due Thursday. A dossier is overdue the day after `due_on`.

use std::collections::BTreeSet;

use time::{Date, Duration, Weekday};

/// The set of days off besides weekends.
pub type Holidays = BTreeSet<Date>;

/// The local hour from which a 3-in-1 receipt counts from the next working day.
pub const CUTOFF_HOUR: u8 = 15;

/// Whether `d` is a working day.
pub fn is_working_day(d: Date, holidays: &Holidays) -> bool {
    !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) && !holidays.contains(&d)
}

/// The first working day strictly after `d`.
pub fn next_working_day(d: Date, holidays: &Holidays) -> Date {
    let mut x = d + Duration::days(1);
    // A year of days off in a row is not a calendar; bound the walk anyway.
    for _ in 0..366 {
        if is_working_day(x, holidays) {
            return x;
        }
        x += Duration::days(1);
    }
    x
}

/// `d` itself when it is a working day, else the next one.
pub fn this_or_next_working_day(d: Date, holidays: &Holidays) -> Date {
    if is_working_day(d, holidays) {
        d
    } else {
        next_working_day(d, holidays)
    }
}

/// The day the clock starts for a receipt on local day `day` at local hour `hour`: that day when it is a
/// working day (and, with `cutoff`, before 15:00), else the next working day.
pub fn received_on(day: Date, hour: u8, cutoff: bool, holidays: &Holidays) -> Date {
    if cutoff && hour >= CUTOFF_HOUR {
        next_working_day(day, holidays)
    } else {
        this_or_next_working_day(day, holidays)
    }
}

/// The last working day allowed: the `working_days`-th working day counting `received_on` (moved to a
/// working day if it is not one) as day 1. A limit of 0 means the same working day.
pub fn due_on(received_on: Date, working_days: u32, holidays: &Holidays) -> Date {
    let mut d = this_or_next_working_day(received_on, holidays);
    for _ in 1..working_days.max(1) {
        d = next_working_day(d, holidays);
    }
    d
}

/// Working days in `(from, to]` — positive when `to` is after `from`, negative (the days in `(to, from]`)
/// when before, 0 when equal. E.g. the working days left from today until `due_on`.
pub fn working_days_between(from: Date, to: Date, holidays: &Holidays) -> i64 {
    if from == to {
        return 0;
    }
    let (a, b, sign) = if from < to {
        (from, to, 1)
    } else {
        (to, from, -1)
    };
    let mut n = 0i64;
    let mut d = a + Duration::days(1);
    while d <= b {
        if is_working_day(d, holidays) {
            n += 1;
        }
        d += Duration::days(1);
    }
    n * sign
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &f).ok()
}

/// Formats as `YYYY-MM-DD`.
pub fn fmt_date(d: Date) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        parse_date(s).unwrap()
    }

    #[test]
    fn weekends_are_skipped() {
        let h = Holidays::new();
        // 2026-11-23 is a Monday.
        assert_eq!(d("2026-11-23").weekday(), Weekday::Monday);
        assert_eq!(due_on(d("2026-11-23"), 3, &h), d("2026-11-25"));
        // Thursday + 3 working days → Monday.
        assert_eq!(due_on(d("2026-11-26"), 3, &h), d("2026-11-30"));
        // A Saturday receipt starts on Monday.
        assert_eq!(received_on(d("2026-11-28"), 9, false, &h), d("2026-11-30"));
        assert_eq!(due_on(d("2026-11-28"), 3, &h), d("2026-12-02"));
        // 23 working days from Monday 2026-11-23: 4 weeks and 3 days → Wednesday 2026-12-23.
        assert_eq!(due_on(d("2026-11-23"), 23, &h), d("2026-12-23"));
        assert_eq!(due_on(d("2026-11-23"), 0, &h), d("2026-11-23"));
    }

    #[test]
    fn holidays_are_skipped() {
        let mut h = Holidays::new();
        h.insert(d("2026-11-24"));
        h.insert(d("2026-11-25"));
        assert_eq!(due_on(d("2026-11-23"), 3, &h), d("2026-11-27"));
        assert!(!is_working_day(d("2026-11-24"), &h));
        assert_eq!(next_working_day(d("2026-11-23"), &h), d("2026-11-26"));
        // A holiday on the receipt day moves the start.
        assert_eq!(received_on(d("2026-11-24"), 8, true, &h), d("2026-11-26"));
    }

    #[test]
    fn after_15h_counts_from_the_next_working_day() {
        let h = Holidays::new();
        assert_eq!(received_on(d("2026-11-23"), 14, true, &h), d("2026-11-23"));
        assert_eq!(received_on(d("2026-11-23"), 15, true, &h), d("2026-11-24"));
        assert_eq!(received_on(d("2026-11-23"), 15, false, &h), d("2026-11-23"));
        // Friday 16:00 → Monday.
        assert_eq!(received_on(d("2026-11-27"), 16, true, &h), d("2026-11-30"));
        let start = received_on(d("2026-11-23"), 16, true, &h);
        assert_eq!(due_on(start, 3, &h), d("2026-11-26"));
    }

    #[test]
    fn extended_limit_and_days_between() {
        let h = Holidays::new();
        assert_eq!(due_on(d("2026-11-23"), 5, &h), d("2026-11-27"));
        assert_eq!(
            working_days_between(d("2026-11-23"), d("2026-11-27"), &h),
            4
        );
        assert_eq!(
            working_days_between(d("2026-11-27"), d("2026-11-30"), &h),
            1
        );
        assert_eq!(
            working_days_between(d("2026-11-30"), d("2026-11-27"), &h),
            -1
        );
        assert_eq!(
            working_days_between(d("2026-11-28"), d("2026-11-29"), &h),
            0
        );
        assert_eq!(
            working_days_between(d("2026-11-23"), d("2026-11-23"), &h),
            0
        );
    }
}
