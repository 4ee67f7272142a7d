//! Integration test: session and period reports at the office, with two real hubs paired by files. A
//! field hub opens an outreach session in Thôn Bù Lư, issues and serves tickets, records services with
//! and without the villager's consent, captures and seals two dossiers in the session and one outside
//! it, and exports a USB batch (whose manifest carries the session summary); the office imports it.
//! The report then shows the villagers served and services (from the summary), the dossiers by
//! procedure, status, hamlet, sex and age band, the time from capture to registration of registered
//! dossiers; the CSV files have a BOM and the same numbers; the charts are well-formed SVG with
//! Vietnamese labels; the session report shows expected vs received.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use serde_json::{json, Value};

/// Creates, fills, photographs and seals one marital-status dossier for a subject of `sex` born on
/// `dob`; returns the receipt.
async fn capture(c: &Client, name: &str, pin: &str, sex: &str, dob: &str, photo: &[u8]) -> Value {
    let mut fields: BTreeMap<String, String> = marital_fields(name, pin);
    fields.insert("subject.sex".into(), sex.into());
    fields.insert("subject.date_of_birth".into(), dob.into());
    seal_marital(c, &fields, photo).await
}

/// Marks a received dossier registered `days` days after it was sealed, with the legal limit
/// `limit_days` after sealing: the row casework keeps (dossier_status), written in the office database
/// (days in the past cannot be made through the status route, which stamps the present; the row may
/// already exist, as casework creates rows when a list is first read).
fn register(office_dir: &Path, receipt_code: &str, days: i64, limit_days: i64) {
    let c = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let n = c
        .execute(
            "INSERT INTO dossier_status(dossier_id, status, received_on, due_on, updated_at, registered_at)
             SELECT dossier_id, 'registered', date(sealed_at, '+7 hours'),
                    date(sealed_at, '+7 hours', ?2), strftime('%Y-%m-%dT%H:%M:%SZ', sealed_at, ?3),
                    strftime('%Y-%m-%dT%H:%M:%SZ', sealed_at, ?3)
             FROM received_dossiers WHERE receipt_code = ?1 AND true
             ON CONFLICT(dossier_id) DO UPDATE SET status = 'registered', received_on = excluded.received_on,
                 due_on = excluded.due_on, updated_at = excluded.updated_at,
                 registered_at = excluded.registered_at",
            rusqlite::params![
                receipt_code,
                format!("+{limit_days} days"),
                format!("+{days} days")
            ],
        )
        .unwrap();
    assert_eq!(n, 1);
}

fn count_of(list: &Value, key: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .map(|c| c["count"].as_i64().unwrap())
        .unwrap_or(0)
}

/// Parses `svg` as XML (fails on malformed XML) and returns all its text content.
fn svg_text(svg: &str) -> String {
    let mut r = quick_xml::Reader::from_str(svg);
    let mut text = String::new();
    let mut depth = 0i32;
    let mut saw_svg = false;
    loop {
        match r.read_event().expect("well-formed SVG") {
            quick_xml::events::Event::Start(e) => {
                if e.name().as_ref() == b"svg" {
                    saw_svg = true;
                }
                depth += 1;
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Text(t) => {
                text.push_str(&t.decode().unwrap());
                text.push('\n');
            }
            quick_xml::events::Event::GeneralRef(e) => {
                let name = e.decode().unwrap();
                text.push_str(match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unknown entity {other}"),
                });
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert!(saw_svg && depth == 0, "an <svg> root, balanced");
    text
}

#[test]
fn reports_count_sessions_services_and_dossiers() {
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let (in_a, in_b, outside, sid, field_id) = block_on(async {
        let admin = Client::setup(&field, "quantri", "mat-khau-quan-tri").await;
        for (name, role) in [("canbo", "officer"), ("tnv", "volunteer")] {
            admin.add_user(name, role, "mat-khau-12345").await;
        }
        let officer = Client::login(&field.base, "canbo", "mat-khau-12345").await;
        let vol = Client::login(&field.base, "tnv", "mat-khau-12345").await;
        let sid = open_bu_lu_session(&officer).await;
        // Three tickets; the first is called and served to the end.
        let tickets = format!("/api/v1/outreach/sessions/{sid}/tickets");
        for _ in 0..3 {
            let (s, t) = vol.post(&tickets, json!({})).await;
            assert_eq!(s, 201, "{t}");
        }
        let (s, called) = vol
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/desks/police/call-next"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200, "{called}");
        let t1 = called["ticket"]["id"].as_str().unwrap();
        let (s, r) = vol
            .post(
                &format!("/api/v1/outreach/tickets/{t1}/action"),
                json!({"action": "done"}),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        // Services: two with consent, one without.
        let services = format!("/api/v1/outreach/sessions/{sid}/services");
        for tap in [
            json!({"desk": "police", "kind": "vneid_level2_activated", "consent": true,
                   "sex": "female", "age_band": "18-35", "ethnicity": "22"}),
            json!({"desk": "police", "kind": "vneid_level2_activated", "consent": true,
                   "sex": "male", "age_band": "60+", "ethnicity": "01"}),
            json!({"desk": "telecom", "kind": "sim_registered"}),
        ] {
            let (s, b) = vol.post(&services, tap).await;
            assert_eq!(s, 201, "{b}");
        }
        // Two dossiers in the session, one after it is closed (captured outside any session).
        let a = capture(
            &officer,
            "Điểu Thị Hà",
            "070198001234",
            "female",
            "1998-03-12",
            &photo,
        )
        .await;
        let b = capture(
            &officer,
            "Điểu Văn Lợi",
            "070050004321",
            "male",
            "1950-01-20",
            &photo,
        )
        .await;
        let (s, r) = officer
            .post(&format!("/api/v1/outreach/sessions/{sid}/close"), json!({}))
            .await;
        assert_eq!(s, 200, "{r}");
        let c = capture(
            &officer,
            "Thị Sa Ly",
            "058170004567",
            "female",
            "1970-06-01",
            &photo,
        )
        .await;
        let (_, h) = officer.get("/healthz").await;
        (
            a["code"].as_str().unwrap().to_string(),
            b["code"].as_str().unwrap().to_string(),
            c["code"].as_str().unwrap().to_string(),
            sid,
            h["device_id"].as_str().unwrap().to_string(),
        )
    });

    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);
    // Registered 3 days after capture within a 10-day limit, and 8 days after within a 5-day limit.
    register(&office_dir, &in_a, 3, 10);
    register(&office_dir, &outside, 8, 5);
    let _ = in_b;

    let office = Hub::start("office", &office_dir);
    let today = hub::shared::clock::today_vn();
    let from = (today - time::Duration::days(1)).to_string();
    let to = (today + time::Duration::days(1)).to_string();
    let period = format!("from={from}&to={to}");
    block_on(async {
        let anon = Client::new(&office.base);
        assert_eq!(
            anon.get(&format!("/api/v1/office/reports?{period}"))
                .await
                .0,
            401
        );
        let (_admin, clerk) = office_clerk(&office).await;

        // Bad periods are refused, naming the field.
        let (s, b) = clerk
            .get("/api/v1/office/reports?from=2026-13-01&to=2026-12-31")
            .await;
        assert_eq!((s, &b["error"]["field"]), (422, &json!("from")), "{b}");
        let (s, b) = clerk
            .get("/api/v1/office/reports?from=2026-12-01&to=2026-11-01")
            .await;
        assert_eq!((s, &b["error"]["field"]), (422, &json!("to")), "{b}");

        // The default period is this month: it holds today's session.
        let (s, r) = clerk.get("/api/v1/office/reports").await;
        assert_eq!(s, 200, "{r}");
        let first = today.replace_day(1).unwrap().to_string();
        assert_eq!(r["figures"]["scope"]["from"], json!(first));
        assert_eq!(r["figures"]["served"]["sessions"], 1, "{r}");

        let (s, r) = clerk.get(&format!("/api/v1/office/reports?{period}")).await;
        assert_eq!(s, 200, "{r}");
        let f = &r["figures"];
        // From the session summary.
        let served = &f["served"];
        assert_eq!(served["sessions"], 1, "{served}");
        assert_eq!(served["tickets_issued"], 3);
        // Ticket 1, served at the police desk, and the two villagers of the session's dossiers, sealed
        // with no ticket at the civil-status desk (the taps without a ticket may be theirs).
        assert_eq!(served["villagers_served"], 3);
        assert_eq!(served["services_total"], 3);
        assert_eq!(count_of(&served["services"], "vneid_level2_activated"), 2);
        assert_eq!(count_of(&served["services"], "sim_registered"), 1);
        assert_eq!(served["consented"], 2);
        assert_eq!(count_of(&served["by_sex"], "female"), 1);
        assert_eq!(count_of(&served["by_sex"], "male"), 1);
        assert_eq!(count_of(&served["by_age_band"], "60+"), 1);
        let eth: Vec<(String, i64)> = served["by_ethnicity"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["code"].as_str().unwrap().to_string(),
                    e["count"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(eth, [("01".to_string(), 1), ("22".to_string(), 1)]);
        // From the received dossiers.
        let d = &f["dossiers"];
        assert_eq!(d["total"], 3, "{d}");
        assert_eq!(d["refused"], 0);
        assert_eq!(
            count_of(&d["by_procedure"], "marital-status-certificate"),
            3
        );
        assert_eq!(count_of(&d["by_status"], "registered"), 2);
        assert_eq!(count_of(&d["by_status"], "received"), 1);
        assert_eq!(
            d["by_procedure_status"],
            json!([{"procedure": "marital-status-certificate", "status": "received", "count": 1},
                   {"procedure": "marital-status-certificate", "status": "registered", "count": 2}])
        );
        assert_eq!(count_of(&d["by_hamlet"], "Thôn Bù Lư"), 2, "{d}");
        assert_eq!(count_of(&d["by_hamlet"], ""), 1, "no session");
        assert_eq!(count_of(&d["by_sex"], "female"), 2);
        assert_eq!(count_of(&d["by_sex"], "male"), 1);
        assert_eq!(
            d["by_age_band"],
            json!([{"key": "18-35", "count": 1}, {"key": "36-59", "count": 1}, {"key": "60+", "count": 1}])
        );
        // Capture → registration: 3 and 8 days; one of two within the limit.
        let reg = &f["registration"];
        assert_eq!(reg["registered"], 2, "{reg}");
        assert_eq!(reg["median_days"], 5.5);
        assert_eq!(reg["p90_days"], 7.5);
        assert_eq!(reg["within_limit"], 1);
        assert_eq!(reg["within_limit_pct"], 50.0);
        assert_eq!(
            reg["days"],
            json!([{"days": 3, "count": 1}, {"days": 8, "count": 1}])
        );
        // The sessions of the period, expected vs received.
        let sessions = r["sessions"].as_array().unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0]["session_id"], json!(sid));
        assert_eq!(sessions[0]["hamlet"], "Thôn Bù Lư");
        assert_eq!(sessions[0]["services"], 3);
        assert_eq!(sessions[0]["dossiers_expected"], 2);
        assert_eq!(sessions[0]["dossiers_received"], 2);
        assert!(r["hamlets"]
            .as_array()
            .unwrap()
            .contains(&json!("Thôn Bù Lư")));

        // One hamlet: its session's dossiers and services only.
        let (s, r) = clerk
            .get(&format!(
                "/api/v1/office/reports?{period}&hamlet=Th%C3%B4n%20B%C3%B9%20L%C6%B0"
            ))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["figures"]["dossiers"]["total"], 2);
        assert_eq!(r["figures"]["served"]["services_total"], 3);
        let (_, r) = clerk
            .get(&format!("/api/v1/office/reports?{period}&hamlet=Ấp%20Khác"))
            .await;
        assert_eq!(r["figures"]["dossiers"]["total"], 0);
        assert_eq!(r["figures"]["served"]["sessions"], 0);
        // Another period: nothing.
        let (_, r) = clerk
            .get("/api/v1/office/reports?from=2020-01-01&to=2020-12-31")
            .await;
        assert_eq!(r["figures"]["dossiers"]["total"], 0);
        assert_eq!(r["sessions"], json!([]));

        // The session report.
        let (s, r) = clerk
            .get(&format!("/api/v1/office/reports/session/{field_id}/{sid}"))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["dossiers_expected"], 2);
        assert_eq!(r["dossiers_received"], 2);
        assert_eq!(r["session"]["hamlet"], "Thôn Bù Lư");
        assert_eq!(r["figures"]["dossiers"]["total"], 2);
        assert_eq!(r["figures"]["served"]["villagers_served"], 3);
        assert_eq!(r["figures"]["registration"]["registered"], 1);
        assert_eq!(r["figures"]["registration"]["median_days"], 3.0);
        let (s, _) = clerk
            .get(&format!(
                "/api/v1/office/reports/session/{field_id}/no-such-session"
            ))
            .await;
        assert_eq!(s, 404);

        // CSV: a BOM, a header, the same numbers.
        let (s, body) = clerk
            .get_bytes(&format!(
                "/api/v1/office/reports/dossiers-by-sex.csv?{period}"
            ))
            .await;
        assert_eq!(s, 200);
        assert_eq!(&body[..3], b"\xEF\xBB\xBF", "UTF-8 BOM");
        let text = String::from_utf8(body[3..].to_vec()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            ["Mã,Giới tính,Số lượng", "female,Nữ,2", "male,Nam,1"]
        );
        let (_, body) = clerk
            .get_bytes(&format!("/api/v1/office/reports/services.csv?{period}"))
            .await;
        let text = String::from_utf8(body[3..].to_vec()).unwrap();
        assert!(
            text.contains("vneid_level2_activated,Kích hoạt định danh điện tử mức 2,2\r\n"),
            "{text}"
        );
        assert!(
            text.contains("sim_registered,Chuẩn hoá thông tin thuê bao,1\r\n"),
            "{text}"
        );
        let (_, body) = clerk
            .get_bytes(&format!(
                "/api/v1/office/reports/registration-days.csv?{period}"
            ))
            .await;
        assert_eq!(
            String::from_utf8(body[3..].to_vec()).unwrap(),
            "Số ngày,Số hồ sơ\r\n3,1\r\n8,1\r\n"
        );
        let (_, body) = clerk
            .get_bytes(&format!("/api/v1/office/reports/sessions.csv?{period}"))
            .await;
        let text = String::from_utf8(body[3..].to_vec()).unwrap();
        assert!(
            text.contains(&format!(",Thôn Bù Lư,Nhà văn hoá thôn Bù Lư,{field_id},")),
            "{text}"
        );
        assert!(text.trim_end().ends_with(",3,3,3,2,2"), "{text}");
        let (_, body) = clerk
            .get_bytes(&format!(
                "/api/v1/office/reports/dossiers-by-procedure.csv?device={field_id}&session={sid}"
            ))
            .await;
        let text = String::from_utf8(body[3..].to_vec()).unwrap();
        assert!(text.contains(",registered,Đã đăng ký,1\r\n"), "{text}");
        assert!(text.contains(",received,Đã tiếp nhận,1\r\n"), "{text}");
        assert_eq!(
            clerk
                .get_bytes("/api/v1/office/reports/nothing.csv")
                .await
                .0,
            404
        );

        // Charts: well-formed SVG with a title, an aria-label and Vietnamese labels.
        for name in [
            "services",
            "dossiers-by-procedure",
            "dossiers-by-hamlet",
            "dossiers-by-sex",
            "dossiers-by-age-band",
            "registration-days",
            "consented-by-sex",
            "consented-by-age-band",
            "consented-by-ethnicity",
        ] {
            let r = clerk
                .http
                .get(office.url(&format!(
                    "/api/v1/office/reports/charts/{name}.svg?{period}"
                )))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{name}");
            assert!(r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("image/svg+xml"));
            let svg = r.text().await.unwrap();
            assert!(svg.contains("aria-label=\""), "{name}");
            let text = svg_text(&svg);
            match name {
                "dossiers-by-procedure" => {
                    assert!(text.contains("Hồ sơ theo thủ tục và trạng thái"), "{text}");
                    assert!(
                        text.contains("Cấp Giấy xác nhận tình trạng hôn nhân"),
                        "{text}"
                    );
                    assert!(
                        text.contains("Đã đăng ký") && text.contains("Đã tiếp nhận"),
                        "{text}"
                    );
                }
                "dossiers-by-hamlet" => assert!(text.contains("Thôn Bù Lư"), "{text}"),
                "dossiers-by-sex" => assert!(text.contains("Nữ") && text.contains("Nam"), "{text}"),
                "services" => assert!(text.contains("Kích hoạt định danh điện tử mức 2"), "{text}"),
                "registration-days" => assert!(text.contains("8 ngày"), "{text}"),
                "consented-by-ethnicity" => assert!(text.contains("Xtiêng"), "{text}"),
                _ => assert!(!text.trim().is_empty()),
            }
        }
        let r = clerk
            .http
            .get(office.url("/api/v1/office/reports/charts/nothing.svg"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    });
}
