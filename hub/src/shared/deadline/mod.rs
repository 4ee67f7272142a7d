//! The legal due date of a dossier, the one function the field slip, the villager's status page and the
//! office casework all call (pure: no database, no clock). The rule and its sources: docs/domain.md,
//! "Deadlines: how the time limit is counted".
//!
//! - The **receipt** is the moment the commune officer takes the complete dossier: at an outreach session
//!   that is the sealing time carried in the sealed dossier (`sealed_at`), read in Vietnam time (UTC+7) —
//!   never the office's import time.
//! - A limit of N **working days** skips Saturdays, Sundays and the [`Calendar`]'s days off, and counts the
//!   weekend days the calendar lists as worked (a swapped day).
//! - **Day 1** of the count ([`Counting`]): in general the first working day after the receipt day (Civil
//!   Code 2015 art. 147: the day of the event is not counted). For a procedure whose text has the 15:00
//!   rule (the 3-in-1), the receipt day itself is day 1 when the dossier was received on a working day
//!   before 15:00; at or after 15:00, or on a day off, day 1 is the next working day.
//! - The result is due by the end of the N-th working day counting day 1 as the first.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, UtcOffset, Weekday};

/// The built-in list of days off (`holidays-vn.json`, next to this file).
pub const BUILTIN_JSON: &str = include_str!("holidays-vn.json");

/// The local hour from which a receipt counts from the next working day, for procedures with the rule.
pub const CUTOFF_HOUR: u8 = 15;

/// Vietnam's time zone (no daylight saving).
pub const VN_OFFSET_HOURS: i8 = 7;

/// How day 1 of a procedure's count is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Counting {
    /// Day 1 is the first working day after the receipt day (Civil Code art. 147).
    FromNextDay,
    /// Day 1 is the receipt day when it is a working day and the receipt was before 15:00; else the next
    /// working day (the 15:00 rule).
    ReceiptDayBefore15h,
}

/// The counting rule of procedure `procedure_id`, as its package says (`time_limit_counting`; the newest
/// version that says one). Absent, or an unknown procedure: from the next day.
pub fn counting(procedure_id: &str) -> Counting {
    let said = crate::shared::procedures::all()
        .into_iter()
        .filter(|d| d.id == procedure_id)
        .filter_map(|d| d.time_limit_counting)
        .next_back();
    match said {
        Some(protocol::DayOne::ReceiptDayBefore15h) => Counting::ReceiptDayBefore15h,
        _ => Counting::FromNextDay,
    }
}

// ---------------------------------------------------------------------------------------------------------
// The calendar of days off
// ---------------------------------------------------------------------------------------------------------

/// The days off of one year besides weekends, and the weekend days worked instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Year {
    status: Option<String>,
    off: BTreeMap<Date, String>,
    work: BTreeMap<Date, String>,
}

/// Which days are working days: Monday to Friday, except the listed days off, plus the listed weekend
/// days worked. Knows which years its list covers (a year it does not cover counts weekends only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, Year>,
    /// Days off added on top of the yearly lists (the office's own list); they cover no year.
    extra: BTreeMap<Date, String>,
}

/// The office's former name for the calendar.
pub type Holidays = Calendar;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDay {
    date: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileYear {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default)]
    off: Vec<FileDay>,
    #[serde(default)]
    work: Vec<FileDay>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    about: Option<String>,
    years: BTreeMap<String, FileYear>,
}

impl Calendar {
    /// No days off and no year covered: weekends only.
    pub fn new() -> Calendar {
        Calendar::default()
    }

    /// The built-in list (`holidays-vn.json`), parsed once.
    pub fn builtin() -> &'static Calendar {
        static CAL: OnceLock<Calendar> = OnceLock::new();
        CAL.get_or_init(|| {
            Calendar::parse(BUILTIN_JSON).expect("holidays-vn.json is checked by tests")
        })
    }

    /// Parses and checks a list in the format of `holidays-vn.json`: `{"years": {"2027": {"off": [{date,
    /// name}], "work": [{date, name}]}}}`. Each day's year must be its key; a worked day must be a Saturday
    /// or Sunday; a day off on a weekend means nothing and is refused; no day is both.
    pub fn parse(json: &str) -> Result<Calendar, String> {
        let f: File = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut cal = Calendar::new();
        for (key, y) in f.years {
            let year: i32 = key
                .parse()
                .ok()
                .filter(|y| (2000..=2100).contains(y))
                .ok_or_else(|| format!("`{key}` is not a year from 2000 to 2100"))?;
            let mut out = Year {
                status: y.status,
                ..Year::default()
            };
            for (list, work) in [(&y.off, false), (&y.work, true)] {
                for day in list {
                    let d = parse_date(&day.date)
                        .ok_or_else(|| format!("`{}` is not a date YYYY-MM-DD", day.date))?;
                    if d.year() != year {
                        return Err(format!("{} is listed under {year}", day.date));
                    }
                    if day.name.trim().is_empty() {
                        return Err(format!("{} has no name", day.date));
                    }
                    let weekend = is_weekend(d);
                    if work && !weekend {
                        return Err(format!(
                            "{} is a weekday: only a Saturday or Sunday can be a worked day",
                            day.date
                        ));
                    }
                    if !work && weekend {
                        return Err(format!(
                            "{} is a Saturday or Sunday: list the day taken instead (the next working day)",
                            day.date
                        ));
                    }
                    let target = if work { &mut out.work } else { &mut out.off };
                    if target.insert(d, day.name.trim().to_owned()).is_some() {
                        return Err(format!("{} is listed twice", day.date));
                    }
                }
            }
            cal.years.insert(year, out);
        }
        Ok(cal)
    }

    /// This list in the format [`Calendar::parse`] reads (the office keeps the one in effect).
    pub fn to_json(&self) -> String {
        let day = |(d, n): (&Date, &String)| FileDay {
            date: fmt_date(*d),
            name: n.clone(),
            source: None,
        };
        let f = File {
            about: None,
            years: self
                .years
                .iter()
                .map(|(y, v)| {
                    (
                        y.to_string(),
                        FileYear {
                            status: v.status.clone(),
                            off: v.off.iter().map(day).collect(),
                            work: v.work.iter().map(day).collect(),
                        },
                    )
                })
                .collect(),
        };
        serde_json::to_string(&f).unwrap_or_default()
    }

    /// This calendar with `other`'s years replacing its own (years `other` does not list are kept).
    pub fn overridden_by(&self, other: &Calendar) -> Calendar {
        let mut out = self.clone();
        for (y, v) in &other.years {
            out.years.insert(*y, v.clone());
        }
        for (d, n) in &other.extra {
            out.extra.insert(*d, n.clone());
        }
        out
    }

    /// Adds one day off on top of the yearly lists (it covers no year).
    pub fn insert(&mut self, d: Date) {
        self.extra.entry(d).or_default();
    }

    /// Adds days off on top of the yearly lists.
    pub fn with_days_off(mut self, days: impl IntoIterator<Item = (Date, String)>) -> Calendar {
        for (d, n) in days {
            self.extra.insert(d, n);
        }
        self
    }

    /// Whether `d` is a listed day off (besides weekends).
    pub fn is_day_off(&self, d: Date) -> bool {
        self.extra.contains_key(&d)
            || self
                .years
                .get(&d.year())
                .is_some_and(|y| y.off.contains_key(&d))
    }

    /// Whether `d` is a working day.
    pub fn is_working_day(&self, d: Date) -> bool {
        if self.is_day_off(d) {
            return false;
        }
        if is_weekend(d) {
            return self
                .years
                .get(&d.year())
                .is_some_and(|y| y.work.contains_key(&d));
        }
        true
    }

    /// Whether the list covers the year of `d` (else only weekends are known there).
    pub fn covers(&self, d: Date) -> bool {
        self.years.contains_key(&d.year())
    }

    /// The years the list covers.
    pub fn years(&self) -> BTreeSet<i32> {
        self.years.keys().copied().collect()
    }

    /// Every listed day off with its name, by date.
    pub fn days_off(&self) -> Vec<(Date, String)> {
        let mut all: BTreeMap<Date, String> = BTreeMap::new();
        for y in self.years.values() {
            all.extend(y.off.iter().map(|(d, n)| (*d, n.clone())));
        }
        all.extend(self.extra.iter().map(|(d, n)| (*d, n.clone())));
        all.into_iter().collect()
    }

    /// The first working day strictly after `d`.
    pub fn next_working_day(&self, d: Date) -> Date {
        let mut x = d + Duration::days(1);
        // A year of days off in a row is not a calendar; bound the walk anyway.
        for _ in 0..366 {
            if self.is_working_day(x) {
                return x;
            }
            x += Duration::days(1);
        }
        x
    }
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

// ---------------------------------------------------------------------------------------------------------
// The due date
// ---------------------------------------------------------------------------------------------------------

/// A procedure's time limits in working days, as this hub applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub working_days: u32,
    /// The longer limit when the case needs verification, if the law has one.
    pub extended_working_days: Option<u32>,
}

impl Limit {
    /// The limits of `def` as it stands (a definition from the hub's `procedures` already has the
    /// configured limits applied).
    pub fn of(def: &protocol::ProcedureDef) -> Limit {
        Limit {
            working_days: def.time_limit_working_days,
            extended_working_days: def.time_limit_extended_working_days,
        }
    }

    /// The limits of the catalogue's `def` with `time_limits` (`--time-limit PROCEDURE=DAYS`) applied the
    /// way `shared::procedures::with_limits` applies them: the last value given for the procedure replaces
    /// its normal limit.
    pub fn configured(def: &protocol::ProcedureDef, time_limits: &[(String, u32)]) -> Limit {
        let mut l = Limit::of(def);
        if let Some((_, days)) = time_limits.iter().rev().find(|(id, _)| *id == def.id) {
            l.working_days = *days;
        }
        l
    }

    /// The normal or the extended limit (the normal one when the law has no longer limit).
    pub fn days(&self, extended: bool) -> u32 {
        if extended {
            self.extended_working_days.unwrap_or(self.working_days)
        } else {
            self.working_days
        }
    }
}

/// A dossier's due date and how it was counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The receipt's calendar day in Vietnam.
    pub received_on: Date,
    /// Day 1 of the count.
    pub first_day: Date,
    pub due_on: Date,
    /// The due date with the extended limit, when the law has one.
    pub due_on_extended: Option<Date>,
    pub counting: Counting,
    /// Whether the calendar's list of days off covers every year from the receipt to the last due date
    /// (else a holiday there is not known and the date may move later).
    pub holidays_known: bool,
}

/// The Vietnam (UTC+7) local date-time of an instant.
pub fn vn_local(t: OffsetDateTime) -> time::PrimitiveDateTime {
    let offset = UtcOffset::from_hms(VN_OFFSET_HOURS, 0, 0).unwrap_or(UtcOffset::UTC);
    let l = t.to_offset(offset);
    time::PrimitiveDateTime::new(l.date(), l.time())
}

/// Day 1 of the count for a receipt at `received_at` under `counting`.
pub fn first_day(received_at: OffsetDateTime, counting: Counting, cal: &Calendar) -> Date {
    let local = vn_local(received_at);
    let day = local.date();
    match counting {
        Counting::ReceiptDayBefore15h if cal.is_working_day(day) && local.hour() < CUTOFF_HOUR => {
            day
        }
        _ => cal.next_working_day(day),
    }
}

/// The last working day allowed: the `working_days`-th working day counting `first_day` (moved to a
/// working day if it is not one) as day 1. A limit of 0 means day 1 itself.
pub fn due_on(first_day: Date, working_days: u32, cal: &Calendar) -> Date {
    let mut d = this_or_next_working_day(first_day, cal);
    for _ in 1..working_days.max(1) {
        d = cal.next_working_day(d);
    }
    d
}

/// THE due date: of a dossier of procedure `procedure_id` with limits `limit`, received (sealed) at
/// `received_at`, under calendar `cal`.
pub fn deadline(
    procedure_id: &str,
    limit: Limit,
    received_at: OffsetDateTime,
    cal: &Calendar,
) -> Deadline {
    let how = counting(procedure_id);
    let first = first_day(received_at, how, cal);
    let due = due_on(first, limit.working_days, cal);
    let due_ext = limit
        .extended_working_days
        .map(|n| due_on(first, n.max(limit.working_days), cal));
    let received_on = vn_local(received_at).date();
    let last = due_ext.unwrap_or(due).max(due);
    let holidays_known = (received_on.year()..=last.year()).all(|y| cal.years.contains_key(&y));
    Deadline {
        received_on,
        first_day: first,
        due_on: due,
        due_on_extended: due_ext,
        counting: how,
        holidays_known,
    }
}

/// [`deadline`] of an RFC 3339 receipt time; `None` when it does not parse.
pub fn deadline_at(
    procedure_id: &str,
    limit: Limit,
    received_at: &str,
    cal: &Calendar,
) -> Option<Deadline> {
    let t =
        OffsetDateTime::parse(received_at, &time::format_description::well_known::Rfc3339).ok()?;
    Some(deadline(procedure_id, limit, t, cal))
}

/// What a hub counts deadlines with: the configured time limits (`--time-limit`) and its calendar
/// (the built-in list, with `--holidays` years replacing the built-in ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub time_limits: Vec<(String, u32)>,
    pub calendar: Calendar,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            time_limits: Vec::new(),
            calendar: Calendar::builtin().clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct RulesJson {
    time_limits: Vec<(String, u32)>,
    calendar: serde_json::Value,
}

impl Rules {
    /// The limits of procedure `id` version `version` of the catalogue with this hub's time limits; a
    /// version the catalogue does not have gets 3 working days (the shortest common limit), so it is
    /// not forgotten.
    pub fn limit(&self, id: &str, version: u32) -> Limit {
        match crate::shared::procedures::find(&protocol::ProcedureRef {
            id: id.to_owned(),
            version,
        }) {
            Some(def) => Limit::configured(def, &self.time_limits),
            None => Limit {
                working_days: 3,
                extended_working_days: None,
            },
        }
    }

    /// As JSON (kept by the office, so the command line and every request count alike).
    pub fn to_json(&self) -> String {
        let cal: serde_json::Value =
            serde_json::from_str(&self.calendar.to_json()).unwrap_or(serde_json::Value::Null);
        serde_json::to_string(&RulesJson {
            time_limits: self.time_limits.clone(),
            calendar: cal,
        })
        .unwrap_or_default()
    }

    /// Reads [`Rules::to_json`].
    pub fn from_json(s: &str) -> Result<Rules, String> {
        let r: RulesJson = serde_json::from_str(s).map_err(|e| e.to_string())?;
        Ok(Rules {
            time_limits: r.time_limits,
            calendar: Calendar::parse(&r.calendar.to_string())?,
        })
    }
}

// ---------------------------------------------------------------------------------------------------------
// Working-day helpers (the office's work lists)
// ---------------------------------------------------------------------------------------------------------

/// Whether `d` is a working day.
pub fn is_working_day(d: Date, cal: &Calendar) -> bool {
    cal.is_working_day(d)
}

/// The first working day strictly after `d`.
pub fn next_working_day(d: Date, cal: &Calendar) -> Date {
    cal.next_working_day(d)
}

/// `d` itself when it is a working day, else the next one.
pub fn this_or_next_working_day(d: Date, cal: &Calendar) -> Date {
    if cal.is_working_day(d) {
        d
    } else {
        cal.next_working_day(d)
    }
}

/// Working days in `(from, to]` — positive when `to` is after `from`, negative (the days in `(to, from]`)
/// when before, 0 when equal. E.g. the working days left from today until `due_on`.
pub fn working_days_between(from: Date, to: Date, cal: &Calendar) -> i64 {
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
        if cal.is_working_day(d) {
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
mod tests;
