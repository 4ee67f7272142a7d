use super::*;

fn d(s: &str) -> Date {
    parse_date(s).unwrap()
}

fn at(s: &str) -> OffsetDateTime {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap()
}

const MARITAL: &str = "marital-status-certificate";
const THREE_IN_ONE: &str = "birth-residence-insurance";

fn three(days: u32) -> Limit {
    Limit {
        working_days: days,
        extended_working_days: None,
    }
}

/// (procedure, limit, receipt instant, day 1, due date, why): with the built-in calendar.
const CASES: &[(&str, u32, &str, &str, &str, &str)] = &[
    (
        MARITAL,
        3,
        "2026-11-23T10:00:00+07:00",
        "2026-11-24",
        "2026-11-26",
        "Monday: the receipt day is not counted",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-11-23T10:00:00+07:00",
        "2026-11-23",
        "2026-11-25",
        "3-in-1 before 15:00: the receipt day is day 1",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-11-23T14:59:59+07:00",
        "2026-11-23",
        "2026-11-25",
        "one second before 15:00",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-11-23T15:00:00+07:00",
        "2026-11-24",
        "2026-11-26",
        "3-in-1 at 15:00: the next working day",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-11-23T08:00:00Z",
        "2026-11-24",
        "2026-11-26",
        "08:00 UTC is 15:00 in Vietnam",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-11-23T17:30:00Z",
        "2026-11-24",
        "2026-11-26",
        "17:30 UTC is 00:30 the next day in Vietnam",
    ),
    (
        MARITAL,
        3,
        "2026-11-27T16:00:00+07:00",
        "2026-11-30",
        "2026-12-02",
        "Friday afternoon",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-11-27T16:00:00+07:00",
        "2026-11-30",
        "2026-12-02",
        "3-in-1 Friday after 15:00",
    ),
    (
        MARITAL,
        3,
        "2026-11-28T09:00:00+07:00",
        "2026-11-30",
        "2026-12-02",
        "Saturday session",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-11-28T09:00:00+07:00",
        "2026-11-30",
        "2026-12-02",
        "3-in-1 on a Saturday morning",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-12-30T14:30:00+07:00",
        "2026-12-30",
        "2027-01-04",
        "New Year's Day skipped",
    ),
    (
        THREE_IN_ONE,
        3,
        "2026-12-30T15:30:00+07:00",
        "2026-12-31",
        "2027-01-05",
        "after 15:00, New Year's Day skipped",
    ),
    (
        MARITAL,
        3,
        "2026-12-30T10:00:00+07:00",
        "2026-12-31",
        "2027-01-05",
        "marital, New Year's Day skipped",
    ),
    (
        MARITAL,
        5,
        "2026-12-30T10:00:00+07:00",
        "2026-12-31",
        "2027-01-07",
        "a configured limit of 5",
    ),
    (
        MARITAL,
        3,
        "2026-01-09T10:00:00+07:00",
        "2026-01-10",
        "2026-01-13",
        "Saturday 10/01/2026 was worked (swap)",
    ),
    (
        MARITAL,
        3,
        "2026-02-13T10:00:00+07:00",
        "2026-02-23",
        "2026-02-25",
        "Tết 2026 skipped",
    ),
    (
        MARITAL,
        3,
        "2026-04-24T10:00:00+07:00",
        "2026-04-28",
        "2026-05-04",
        "Hùng Kings (day in lieu), 30/4 and 1/5 skipped",
    ),
    (
        THREE_IN_ONE,
        3,
        "2027-04-29T09:00:00+07:00",
        "2027-04-29",
        "2027-05-05",
        "30/4/2027 and the day in lieu of 1/5 skipped",
    ),
    (
        THREE_IN_ONE,
        3,
        "2027-05-03T09:00:00+07:00",
        "2027-05-04",
        "2027-05-06",
        "3-in-1 received on a day off",
    ),
];

#[test]
fn the_due_date_table() {
    let cal = Calendar::builtin();
    for (proc_id, n, when, day1, due, why) in CASES {
        let dl = deadline(proc_id, three(*n), at(when), cal);
        assert_eq!(
            (fmt_date(dl.first_day), fmt_date(dl.due_on)),
            (day1.to_string(), due.to_string()),
            "{proc_id} {n} at {when}: {why}"
        );
        assert!(dl.holidays_known, "{when}");
        assert_eq!(dl.due_on_extended, None);
    }
}

#[test]
fn the_extended_limit_and_unknown_years() {
    let cal = Calendar::builtin();
    let l = Limit {
        working_days: 3,
        extended_working_days: Some(5),
    };
    let dl = deadline(THREE_IN_ONE, l, at("2026-11-23T10:00:00+07:00"), cal);
    assert_eq!(dl.due_on, d("2026-11-25"));
    assert_eq!(dl.due_on_extended, Some(d("2026-11-27")));
    assert_eq!(dl.received_on, d("2026-11-23"));
    assert_eq!(dl.counting, Counting::ReceiptDayBefore15h);
    // 2028 is not in the list: weekends only, and the deadline says so.
    let dl = deadline(MARITAL, three(3), at("2028-01-03T10:00:00+07:00"), cal);
    assert!(!dl.holidays_known);
    assert_eq!(dl.due_on, d("2028-01-06"));
    // A December receipt whose due date falls in an unknown year is not "known" either.
    let dl = deadline(MARITAL, three(3), at("2027-12-30T10:00:00+07:00"), cal);
    assert!(!dl.holidays_known);
}

#[test]
fn limits_are_configured_as_the_hub_applies_them() {
    let limits = vec![
        (MARITAL.to_owned(), 4),
        (MARITAL.to_owned(), 5),
        (THREE_IN_ONE.to_owned(), 2),
    ];
    let applied = crate::shared::procedures::with_limits(&limits);
    // The built-in procedures (other unit tests add packages to the process-wide registry meanwhile).
    for def in protocol::catalogue() {
        let mine = Limit::configured(def, &limits);
        let theirs = applied
            .iter()
            .find(|x| x.id == def.id && x.version == def.version)
            .unwrap();
        assert_eq!(mine, Limit::of(theirs), "{}", def.id);
    }
    let rules = Rules {
        time_limits: limits,
        calendar: Calendar::new(),
    };
    assert_eq!(rules.limit(MARITAL, 1).working_days, 5);
    assert_eq!(rules.limit(MARITAL, 1).days(true), 23);
    assert_eq!(rules.limit(THREE_IN_ONE, 1).days(false), 2);
    assert_eq!(rules.limit(THREE_IN_ONE, 1).days(true), 5);
    assert_eq!(rules.limit("nope", 1).days(true), 3);
    assert_eq!(Rules::default().limit(MARITAL, 1).working_days, 3);
}

#[test]
fn the_built_in_list_holds_the_labour_code_days() {
    let cal = Calendar::builtin();
    assert_eq!(cal.years(), [2026, 2027].into_iter().collect());
    for day in [
        "2026-01-01",
        "2026-02-17",
        "2026-04-30",
        "2026-05-01",
        "2026-09-02",
        "2027-01-01",
        "2027-04-16",
        "2027-04-30",
        "2027-09-02",
    ] {
        assert!(cal.is_day_off(d(day)), "{day}");
    }
    // Five working days of Tết each year (Labour Code art. 112.1.b).
    for (from, to) in [("2026-01-20", "2026-03-10"), ("2027-01-20", "2027-03-10")] {
        let mut x = d(from);
        let mut n = 0;
        while x <= d(to) {
            n += usize::from(cal.is_day_off(x) && !is_weekend(x));
            x += Duration::days(1);
        }
        assert_eq!(n, 5, "Tết around {from}");
    }
    // 1/5/2027 is a Saturday: the day in lieu is Monday 3/5 (art. 111.3).
    assert!(!cal.is_day_off(d("2027-05-01")) && cal.is_day_off(d("2027-05-03")));
    assert!(cal.is_working_day(d("2026-01-10")), "the swapped Saturday");
    assert!(!cal.is_working_day(d("2026-01-17")));
    assert_eq!(cal.days_off().len(), 12 + 11);
}

#[test]
fn a_holiday_file_replaces_the_years_it_lists() {
    let file = r#"{"years": {"2027": {"off": [{"date": "2027-02-11", "name": "Tết (thông báo chính thức)"}],
                   "work": [{"date": "2027-02-20", "name": "Làm bù"}]}}}"#;
    let over = Calendar::parse(file).unwrap();
    let cal = Calendar::builtin().overridden_by(&over);
    assert!(cal.is_day_off(d("2027-02-11")));
    assert!(!cal.is_day_off(d("2027-01-01")), "2027 replaced as a whole");
    assert!(cal.is_working_day(d("2027-02-20")));
    assert!(cal.is_day_off(d("2026-01-01")), "2026 kept");
    // The office's own days come on top and cover no year.
    let cal = Calendar::new().with_days_off([(d("2029-03-01"), "Local".to_owned())]);
    assert!(!cal.is_working_day(d("2029-03-01")) && !cal.covers(d("2029-03-01")));
}

#[test]
fn a_holiday_file_is_checked() {
    let bad = [
        (
            r#"{"years": {"2027": {"off": [{"date": "2027-05-01", "name": "x"}]}}}"#,
            "Saturday",
        ),
        (
            r#"{"years": {"2027": {"work": [{"date": "2027-05-03", "name": "x"}]}}}"#,
            "weekday",
        ),
        (
            r#"{"years": {"2027": {"off": [{"date": "2026-05-04", "name": "x"}]}}}"#,
            "listed under",
        ),
        (
            r#"{"years": {"2027": {"off": [{"date": "2027-5-3", "name": "x"}]}}}"#,
            "not a date",
        ),
        (
            r#"{"years": {"2027": {"off": [{"date": "2027-05-03", "name": " "}]}}}"#,
            "no name",
        ),
        (r#"{"years": {"27": {}}}"#, "not a year"),
        (
            r#"{"years": {"2027": {"off": [{"date": "2027-05-03", "name": "a"}, {"date": "2027-05-03", "name": "b"}]}}}"#,
            "twice",
        ),
        (r#"{"years": {"2027": {"days": []}}}"#, "unknown field"),
    ];
    for (json, want) in bad {
        let e = Calendar::parse(json).unwrap_err();
        assert!(e.contains(want), "{json}: {e}");
    }
}

#[test]
fn rules_survive_a_round_trip() {
    let r = Rules {
        time_limits: vec![(MARITAL.to_owned(), 5)],
        calendar: Calendar::builtin().clone(),
    };
    assert_eq!(Rules::from_json(&r.to_json()).unwrap(), r);
}

#[test]
fn working_days_between_counts_both_ways() {
    let cal = Calendar::new();
    assert_eq!(
        working_days_between(d("2026-11-23"), d("2026-11-27"), &cal),
        4
    );
    assert_eq!(
        working_days_between(d("2026-11-27"), d("2026-11-30"), &cal),
        1
    );
    assert_eq!(
        working_days_between(d("2026-11-30"), d("2026-11-27"), &cal),
        -1
    );
    assert_eq!(
        working_days_between(d("2026-11-28"), d("2026-11-29"), &cal),
        0
    );
    assert_eq!(
        working_days_between(d("2026-11-23"), d("2026-11-23"), &cal),
        0
    );
    let b = Calendar::builtin();
    assert_eq!(working_days_between(d("2026-12-31"), d("2027-01-04"), b), 1);
    assert_eq!(due_on(d("2026-11-28"), 3, &cal), d("2026-12-02"));
    assert_eq!(due_on(d("2026-11-23"), 0, &cal), d("2026-11-23"));
}
