//! One deadline everywhere (issue 16 item 6), on real field and office hubs: dossiers sealed before and
//! after 15:00 and on a holiday, with the field hub's clock set by an officer's confirmation from a phone,
//! get the same due date on the printed slip, on the villager's public status page and at the office
//! (which counts from the sealing time carried in the dossier, not from its import, and applies its own
//! `--time-limit` and `--holidays`). Restarting the office with another time limit moves open deadlines.
//!
//! The expected dates are worked out here by hand from the rule in docs/domain.md ("Deadlines: how the
//! time limit is counted"), not by the hub's code.

use crate::common::*;
use serde_json::{json, Value};
use time::{Date, Duration, OffsetDateTime, UtcOffset, Weekday};

fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Unix milliseconds of `day` at `hh:mm` in Vietnam (UTC+7).
fn vn_ms(day: Date, hh: u8, mm: u8) -> i64 {
    let t = day
        .with_hms(hh, mm, 0)
        .unwrap()
        .assume_offset(UtcOffset::from_hms(7, 0, 0).unwrap());
    t.unix_timestamp() * 1000
}

/// Sets the field hub's clock as an officer does from a phone.
async fn set_clock(officer: &Client, ms: i64) {
    let (s, b) = officer
        .post("/api/v1/clock/confirm", json!({"phone_time": ms}))
        .await;
    assert_eq!(s, 200, "{b}");
}

/// The due date of receipt `code` on the slip and on the public status page (they must agree).
async fn field_due(officer: &Client, base: &str, code: &str) -> String {
    let (s, slip) = officer.get(&format!("/api/v1/receipts/{code}/slip")).await;
    assert_eq!(s, 200, "{slip}");
    let key = slip["tracking_key"].as_str().unwrap().to_string();
    let r = reqwest::get(format!("{base}/api/v1/public/receipts/{code}?k={key}"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let public: Value = r.json().await.unwrap();
    assert_eq!(
        public["due"]["due_by"], slip["due"]["due_by"],
        "slip and status page of {code}: {slip} / {public}"
    );
    assert_eq!(slip["due"]["holidays_known"], true, "{slip}");
    slip["due"]["due_by"].as_str().unwrap().to_string()
}

#[test]
fn the_slip_the_status_page_and_the_office_give_the_same_due_date() {
    // A Wednesday at least three weeks ahead; its Friday is a holiday (the `--holidays` file, which
    // replaces the built-in list for the years it names, on both hubs).
    let today = (OffsetDateTime::now_utc() + Duration::hours(7)).date();
    let mut w = today + Duration::days(21);
    while w.weekday() != Weekday::Wednesday {
        w += Duration::days(1);
    }
    let day = |n: i64| w + Duration::days(n);
    let holiday = day(2);
    let conf = tempfile::tempdir().unwrap();
    let holidays = conf.path().join("holidays.json");
    let mut years = serde_json::Map::new();
    for y in [w.year(), day(14).year()] {
        years.insert(y.to_string(), json!({"off": [], "work": []}));
    }
    years[&holiday.year().to_string()]["off"] =
        json!([{"date": ymd(holiday), "name": "Ngày nghỉ thử"}]);
    std::fs::write(&holidays, json!({ "years": years }).to_string()).unwrap();
    let hol = holidays.to_str().unwrap().to_string();
    let opts = [
        "--holidays",
        hol.as_str(),
        "--time-limit",
        "marital-status-certificate=5",
    ];

    let (tmp, field_dir, office_dir, field) = paired_field(&opts);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let born = ymd(w - Duration::days(20));
    // (what, receipt code, due date expected)
    let sealed: Vec<(&str, String, String)> = block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        let mut out = Vec::new();
        // Marital status, Wednesday 10:00, limit configured to 5: day 1 is Thursday, Friday is the
        // holiday → Thu, Mon, Tue, Wed, Thu.
        set_clock(&officer, vn_ms(w, 10, 0)).await;
        let (r, _) = capture_and_seal(&officer, "Điểu Thị Hà", "070198001234", &photo).await;
        out.push((
            "marital 10:00",
            r["code"].as_str().unwrap().to_string(),
            ymd(day(8)),
        ));
        // 3-in-1, Wednesday 14:30 (before 15:00): Wednesday is day 1 → Wed, Thu, Mon.
        set_clock(&officer, vn_ms(w, 14, 30)).await;
        let r = seal_three_in_one(&officer, "Điểu Thị Mai", &born, &photo).await;
        out.push((
            "3-in-1 14:30",
            r["code"].as_str().unwrap().to_string(),
            ymd(day(5)),
        ));
        // 3-in-1, Wednesday 15:30 (after 15:00): Thursday is day 1 → Thu, Mon, Tue.
        set_clock(&officer, vn_ms(w, 15, 30)).await;
        let r = seal_three_in_one(&officer, "Điểu Văn Nam", &born, &photo).await;
        out.push((
            "3-in-1 15:30",
            r["code"].as_str().unwrap().to_string(),
            ymd(day(6)),
        ));
        // 3-in-1 at a session on the holiday, 09:00: Monday is day 1 → Mon, Tue, Wed.
        set_clock(&officer, vn_ms(holiday, 9, 0)).await;
        let r = seal_three_in_one(&officer, "Thị Sa Ly", &born, &photo).await;
        out.push((
            "3-in-1 holiday",
            r["code"].as_str().unwrap().to_string(),
            ymd(day(7)),
        ));
        for (what, code, want) in &out {
            assert_eq!(
                &field_due(&officer, &field.base, code).await,
                want,
                "field, {what}"
            );
        }
        out
    });
    drop(field);
    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);

    // The office, imported weeks before the sealing dates by its own clock, counts from the sealing time.
    let office_due = |office: &Hub| -> Vec<(String, i64, String)> {
        block_on(async {
            let clerk = Client::login(&office.base, "vanthu", "mat-khau-van-thu").await;
            let (s, list) = clerk.get("/api/v1/office/dossiers").await;
            assert_eq!(s, 200, "{list}");
            let mut out = Vec::new();
            for (_, code, _) in &sealed {
                let row = list["dossiers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["receipt_code"] == code.as_str())
                    .unwrap_or_else(|| panic!("{code} not in {list}"))
                    .clone();
                let id = row["dossier_id"].as_str().unwrap();
                let (s, d) = clerk.get(&format!("/api/v1/office/dossiers/{id}")).await;
                assert_eq!(s, 200, "{d}");
                assert_eq!(d["deadline"]["due_on"], row["due_on"], "{d}");
                out.push((
                    d["deadline"]["due_on"].as_str().unwrap().to_string(),
                    d["deadline"]["limit_working_days"].as_i64().unwrap(),
                    d["deadline"]["received_on"].as_str().unwrap().to_string(),
                ));
            }
            out
        })
    };
    {
        let office = Hub::start_with("office", &office_dir, &opts);
        block_on(office_clerk(&office));
        let got = office_due(&office);
        for ((what, _, want), (due, _, _)) in sealed.iter().zip(&got) {
            assert_eq!(due, want, "office, {what}");
        }
        assert_eq!(got[0].1, 5, "the office applies its --time-limit");
        // Day 1 of each count, as the office shows it ("counted from").
        let firsts: Vec<&str> = got.iter().map(|g| g.2.as_str()).collect();
        assert_eq!(
            firsts,
            [ymd(day(1)), ymd(w), ymd(day(1)), ymd(day(5))]
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        );
    }
    // Served again without the configured limit: the open marital deadline follows (3 working days:
    // Thu, Mon, Tue); the others stay.
    let office = Hub::start_with("office", &office_dir, &["--holidays", hol.as_str()]);
    let got = office_due(&office);
    assert_eq!((got[0].0.as_str(), got[0].1), (ymd(day(6)).as_str(), 3));
    assert_eq!(got[1].0, sealed[1].2);
    drop(office);
    drop(tmp);
}
