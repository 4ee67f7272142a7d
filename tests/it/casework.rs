//! Integration test: working received dossiers at the office (issue 6) with real field and office hubs.
//! A field hub seals a 3-in-1 and two marital-status dossiers; the office imports them (USB batch); a clerk
//! walks the 3-in-1 through every status (wrong moves answer 409, missing or bad fields 422 naming each
//! field, a stale version 409), registering with result numbers checked against the child's sex and date
//! of birth; the villager-facing steps publish news the field device pulls over a real sync session, the
//! office-internal ones publish nothing; every change is in the audit log, which SQL cannot edit; the work
//! lists and the received list page and filter; holidays (API and CLI) move open deadlines.

use crate::common::*;
use protocol::NewsBatch;
use serde_json::{json, Value};

/// A child born 20 days ago (Vietnam time), female.
fn child_born() -> String {
    let d = hub::shared::clock::today_vn() - time::Duration::days(20);
    hub::office::casework::deadline::fmt_date(d)
}

fn fields_of(b: &Value) -> Vec<String> {
    b["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|d| d["field"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_else(|| vec![b["error"]["field"].as_str().unwrap_or("").to_string()])
}

#[test]
fn a_three_in_one_dossier_walks_every_status_with_news_audit_and_deadlines() {
    let (tmp, field_dir, office_dir, field) = paired_field(&[]);
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let (code3, code_m1, code_m2) = block_on(async {
        let officer = field_officer(&field, "mat-khau-12345").await;
        let r3 = seal_three_in_one(&officer, "Điểu Thị Mai", &child_born(), &photo).await;
        let (m1, _) = capture_and_seal(&officer, "Điểu Thị Hà", "070198001234", &photo).await;
        let (m2, _) = capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        (
            r3["code"].as_str().unwrap().to_string(),
            m1["code"].as_str().unwrap().to_string(),
            m2["code"].as_str().unwrap().to_string(),
        )
    });
    drop(field);
    carry_batch(&tmp.path().join("b.batch"), &field_dir, &office_dir);
    let office = Hub::start("office", &office_dir);
    let office_id = crate::common::hub_keys(&office_dir).device_id.to_string();

    block_on(async {
        let (admin, clerk) = office_clerk(&office).await;

        // The received list: every row with its status and deadline; filters and pages.
        let (s, list) = clerk.get("/api/v1/office/dossiers").await;
        assert_eq!(s, 200, "{list}");
        assert_eq!(list["total"], 3);
        let rows = list["dossiers"].as_array().unwrap().clone();
        assert!(rows.iter().all(|r| r["status"] == "received"
            && r["due_on"].is_string()
            && r["overdue"] == false));
        let id_of = |code: &str| {
            rows.iter().find(|d| d["receipt_code"] == code).unwrap()["dossier_id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let (d3, m1, m2) = (id_of(&code3), id_of(&code_m1), id_of(&code_m2));
        let (_, p1) = clerk.get("/api/v1/office/dossiers?limit=2").await;
        assert_eq!(p1["dossiers"].as_array().unwrap().len(), 2);
        let cursor = p1["next_cursor"].as_str().unwrap().to_string();
        let (_, p2) = clerk
            .get(&format!(
                "/api/v1/office/dossiers?limit=2&cursor={}",
                urlencode(&cursor)
            ))
            .await;
        assert_eq!(p2["dossiers"].as_array().unwrap().len(), 1);
        assert!(p2["next_cursor"].is_null());
        let mut seen: Vec<String> = p1["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .chain(p2["dossiers"].as_array().unwrap())
            .map(|d| d["dossier_id"].as_str().unwrap().to_string())
            .collect();
        seen.sort();
        let mut all = vec![d3.clone(), m1.clone(), m2.clone()];
        all.sort();
        assert_eq!(seen, all, "pages cover the list once");
        let (_, byproc) = clerk
            .get("/api/v1/office/dossiers?procedure=birth-residence-insurance")
            .await;
        assert_eq!(byproc["total"], 1);
        let typed = code3.replace('-', "").to_lowercase();
        let (_, byq) = clerk
            .get(&format!("/api/v1/office/dossiers?q={}", &typed[..6]))
            .await;
        assert!(byq["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["dossier_id"] == d3.as_str()));
        let (s, bad) = clerk.get("/api/v1/office/dossiers?status=lost").await;
        assert_eq!(s, 422, "{bad}");

        // The dossier read: status, deadline, history.
        let (s, d) = clerk.get(&format!("/api/v1/office/dossiers/{d3}")).await;
        assert_eq!(s, 200, "{d}");
        assert_eq!(d["status"]["status"], "received");
        assert_eq!(d["status"]["version"], 0);
        assert_eq!(d["deadline"]["limit_working_days"], 3);
        let received_on = d["deadline"]["received_on"].as_str().unwrap().to_string();
        let due_on = d["deadline"]["due_on"].as_str().unwrap().to_string();
        let hol = hub::office::casework::deadline::Holidays::new();
        let on = hub::office::casework::deadline::parse_date(&received_on).unwrap();
        assert_eq!(
            hub::office::casework::deadline::fmt_date(hub::office::casework::deadline::due_on(
                on, 3, &hol
            )),
            due_on
        );
        assert_eq!(d["history"], json!([]));

        let status = format!("/api/v1/office/dossiers/{d3}/status");
        // Final or skipped steps are refused: 409 naming `to`.
        for to in ["handed_over", "ready_for_pickup", "received"] {
            let (s, b) = clerk.post(&status, json!({"to": to})).await;
            assert_eq!(s, 409, "{to}: {b}");
            assert_eq!(b["error"]["code"], "bad_transition");
            assert_eq!(b["error"]["field"], "to");
        }
        let (s, b) = clerk.post(&status, json!({"to": "lost"})).await;
        assert_eq!(s, 422, "{b}");
        let (s, b) = clerk
            .post(&status, json!({"to": "in_progress", "colour": "red"}))
            .await;
        assert!(s == 400 || s == 422, "unknown body field refused: {s} {b}");

        // received → in_progress (office-internal: no news).
        let (s, b) = clerk
            .post(&status, json!({"to": "in_progress", "expected_version": 0}))
            .await;
        assert_eq!(s, 200, "{b}");
        let v1 = b["status"]["version"].as_i64().unwrap();
        assert!(v1 > 0);
        // A second clerk who still saw version 0 is refused.
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "needs_papers", "papers": ["Giấy chứng sinh bản chính"],
                       "message": "Mang theo bản chính", "expected_version": 0}),
            )
            .await;
        assert_eq!(s, 409, "{b}");
        assert_eq!(b["error"]["code"], "stale_version");

        // needs_papers needs the papers and a message.
        let (s, b) = clerk.post(&status, json!({"to": "needs_papers"})).await;
        assert_eq!(s, 422, "{b}");
        let f = fields_of(&b);
        assert!(
            f.contains(&"papers".to_string()) && f.contains(&"message".to_string()),
            "{b}"
        );
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "needs_papers", "papers": ["Giấy chứng sinh bản chính", " "],
                       "message": "Xin mang đến UBND xã"}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(fields_of(&b), vec!["papers[1]".to_string()]);
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "needs_papers", "papers": ["Giấy chứng sinh bản chính"],
                       "message": "Xin mang giấy chứng sinh bản chính đến UBND xã.", "expected_version": v1,
                       "extended": true, "reason": "Cần xác minh nơi sinh"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["status"]["status"], "needs_papers");
        assert_eq!(b["status"]["extended"], true);
        let due_ext = b["status"]["due_on"].as_str().unwrap().to_string();
        assert_eq!(
            hub::office::casework::deadline::fmt_date(hub::office::casework::deadline::due_on(
                on, 5, &hol
            )),
            due_ext,
            "the extended limit (5 working days) applies"
        );

        // registered: the three numbers, each checked.
        let born = child_born();
        let yy = &born[2..4];
        let good_pin = format!("0703{yy}000123");
        let male_pin = format!("0702{yy}000123");
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "registered", "result_numbers": [
                    {"kind": "pin", "number": male_pin},
                    {"kind": "health_insurance", "number": "12345"}]}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        let f = fields_of(&b);
        for want in [
            "result_numbers.pin",
            "result_numbers.birth_registration",
            "result_numbers.health_insurance",
        ] {
            assert!(f.contains(&want.to_string()), "{want} in {b}");
        }
        assert!(b["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "pin_mismatch"));
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "registered", "result_numbers": [
                    {"kind": "pin", "number": good_pin},
                    {"kind": "birth_registration", "number": "125/2026"},
                    {"kind": "health_insurance", "number": "7012345678"}]}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["status"]["result_numbers"][0]["kind"], "pin");
        // Cannot go back.
        let (s, _) = clerk.post(&status, json!({"to": "in_progress"})).await;
        assert_eq!(s, 409);
        // ready_for_pickup: place and dates.
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "ready_for_pickup", "place": "", "from_date": "30/11/2026"}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        let f = fields_of(&b);
        assert!(f.contains(&"place".to_string()) && f.contains(&"from_date".to_string()));
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "ready_for_pickup", "place": "Bộ phận một cửa, UBND xã",
                       "from_date": "2026-11-30", "until_date": "2026-12-31"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = clerk
            .post(
                &status,
                json!({"to": "handed_over", "message": "Mẹ đã nhận"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert!(b["status"]["closed_at"].is_string());
        assert_eq!(b["status"]["next"], json!([]));
        let (s, _) = clerk
            .post(&status, json!({"to": "rejected", "reason": "x"}))
            .await;
        assert_eq!(s, 409, "handed over is final");

        // A marital dossier: rejected needs a reason.
        let st_m1 = format!("/api/v1/office/dossiers/{m1}/status");
        let (s, b) = clerk.post(&st_m1, json!({"to": "rejected"})).await;
        assert_eq!(s, 422, "{b}");
        assert_eq!(fields_of(&b), vec!["reason".to_string()]);
        let (s, b) = clerk
            .post(
                &st_m1,
                json!({"to": "registered", "result_numbers": {"marital_status_certificate": "88/2026/XNHN"}}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let st_m2 = format!("/api/v1/office/dossiers/{m2}/status");
        let (s, b) = clerk
            .post(
                &st_m2,
                json!({"to": "rejected", "reason": "Hồ sơ trùng với hồ sơ đã nộp"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, _) = clerk.post(&st_m2, json!({"to": "in_progress"})).await;
        assert_eq!(s, 409, "rejected is final");

        // History: every change in the audit log, with its news.
        let (_, d) = clerk.get(&format!("/api/v1/office/dossiers/{d3}")).await;
        let hist = d["history"].as_array().unwrap();
        let audit: Vec<(String, String)> = hist
            .iter()
            .filter(|h| h["kind"] == "audit" && h["action"] == "status_changed")
            .map(|h| {
                (
                    h["from_status"].as_str().unwrap().to_string(),
                    h["to_status"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            audit,
            [
                ("received", "in_progress"),
                ("in_progress", "needs_papers"),
                ("needs_papers", "registered"),
                ("registered", "ready_for_pickup"),
                ("ready_for_pickup", "handed_over")
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
        assert!(hist
            .iter()
            .all(|h| h["kind"] != "audit" || h["actor_name"] == "vanthu"));
        assert!(hist.iter().any(|h| h["action"] == "deadline_extended"));
        assert_eq!(hist.iter().filter(|h| h["kind"] == "news").count(), 3);

        // The field device pulls the villager-facing news: needs_papers, registered, ready_for_pickup for
        // the 3-in-1; registered and rejected for the marital ones. Nothing for in_progress/handed_over.
        let token =
            field_sync_token(&office, &field_dir, &office_id, "2026-11-23T08:00:00+07:00").await;
        let r = reqwest::Client::new()
            .get(office.url("/api/v1/sync/news?after=0"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let nb = NewsBatch::from_bytes(&r.bytes().await.unwrap()).unwrap();
        let kinds: Vec<(String, String)> = nb
            .items
            .iter()
            .map(|n| {
                (
                    n.news.receipt_code.to_string(),
                    n.news.status.code().to_string(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            vec![
                (code3.clone(), "needs_papers".into()),
                (code3.clone(), "registered".into()),
                (code3.clone(), "ready_for_pickup".into()),
                (code_m1.clone(), "registered".into()),
                (code_m2.clone(), "rejected".into()),
            ]
        );
        assert_eq!(
            nb.items[0].news.note.as_deref(),
            Some("Xin mang giấy chứng sinh bản chính đến UBND xã.")
        );

        // Work lists and counts.
        let (s, w) = clerk.get("/api/v1/office/work?view=open").await;
        assert_eq!(s, 200, "{w}");
        assert_eq!(w["counts"]["open"], 1, "{w}");
        assert_eq!(w["counts"]["status:handed_over"], 1);
        assert_eq!(w["counts"]["status:rejected"], 1);
        assert_eq!(w["counts"]["status:registered"], 1);
        assert_eq!(w["dossiers"][0]["dossier_id"], m1.as_str());
        let (_, w) = clerk.get("/api/v1/office/work?view=status:rejected").await;
        assert_eq!(w["dossiers"][0]["dossier_id"], m2.as_str());
        let (s, _) = clerk.get("/api/v1/office/work?view=everything").await;
        assert_eq!(s, 422);
        let (_, l) = clerk.get("/api/v1/office/dossiers?status=registered").await;
        assert_eq!(l["total"], 1);

        // Holidays: admin only; adding the marital dossier's last day moves its deadline one working day.
        let (_, dm) = clerk.get(&format!("/api/v1/office/dossiers/{m1}")).await;
        let m_due = dm["deadline"]["due_on"].as_str().unwrap().to_string();
        let (s, _) = clerk
            .post(
                "/api/v1/office/holidays",
                json!({"date": m_due, "name": "Nghỉ bù"}),
            )
            .await;
        assert_eq!(s, 403);
        let (s, b) = admin
            .post(
                "/api/v1/office/holidays",
                json!({"date": "2026-13-01", "name": ""}),
            )
            .await;
        assert_eq!(s, 422, "{b}");
        let f = fields_of(&b);
        assert!(f.contains(&"date".to_string()) && f.contains(&"name".to_string()));
        let (s, b) = admin
            .post(
                "/api/v1/office/holidays",
                json!({"date": m_due, "name": "Nghỉ bù"}),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        let (_, dm2) = clerk.get(&format!("/api/v1/office/dossiers/{m1}")).await;
        let moved = hub::office::casework::deadline::next_working_day(
            hub::office::casework::deadline::parse_date(&m_due).unwrap(),
            &hol,
        );
        assert_eq!(
            dm2["deadline"]["due_on"],
            hub::office::casework::deadline::fmt_date(moved),
            "{dm2}"
        );
        let (s, h) = clerk.get("/api/v1/office/holidays").await;
        assert_eq!(s, 200);
        assert_eq!(h["holidays"][0]["name"], "Nghỉ bù");
        let (s, _) = admin
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/office/holidays/{m_due}"),
                json!({}),
            )
            .await;
        assert_eq!(s, 200);
        let (_, dm3) = clerk.get(&format!("/api/v1/office/dossiers/{m1}")).await;
        assert_eq!(dm3["deadline"]["due_on"], m_due.as_str());
    });

    // The audit log cannot be edited, even with SQL on the database file; there is no API for it either.
    let c = crate::common::db(office_dir.join("hub.sqlite")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    let n: i64 = c
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert!(n >= 9, "{n} audit rows");
    assert!(c
        .execute("UPDATE audit_log SET actor_name = 'ai đó'", [])
        .is_err());
    assert!(c.execute("DELETE FROM audit_log", []).is_err());
    let n2: i64 = c
        .query_row("SELECT count(*) FROM audit_log", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, n2);
    drop(c);
    block_on(async {
        let admin = Client::login(&office.base, "quantri", "mat-khau-van-phong").await;
        for m in [
            reqwest::Method::PUT,
            reqwest::Method::DELETE,
            reqwest::Method::PATCH,
        ] {
            let (s, _) = admin.send(m, "/api/v1/office/audit/1", json!({})).await;
            assert!(s == 404 || s == 405, "{s}");
        }
    });
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn holidays_cli_lists_adds_imports_and_removes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("office");
    let d = dir.to_str().unwrap();
    cli_ok(
        &["init", "--mode", "office", "--data", d, "--name", "UBND xã"],
        &[],
    );
    let out = cli_ok(&["holidays", "list", "--data", d], &[]);
    assert!(out.contains("No holiday is listed"), "{out}");
    let out = cli_ok(
        &[
            "holidays",
            "add",
            "2027-01-01",
            "Tết Dương lịch",
            "--data",
            d,
        ],
        &[],
    );
    assert!(out.contains("Added 2027-01-01"), "{out}");
    let csv = tmp.path().join("h.csv");
    std::fs::write(
        &csv,
        "\u{feff}date,name\n2027-04-30,Ngày Chiến thắng\n2027-05-01,Quốc tế Lao động\n",
    )
    .unwrap();
    let out = cli_ok(
        &["holidays", "import", csv.to_str().unwrap(), "--data", d],
        &[],
    );
    assert!(out.contains("Read 2 day(s); 2 added"), "{out}");
    let out = cli_ok(&["holidays", "--data", d], &[]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        vec![
            "2027-01-01  Tết Dương lịch",
            "2027-04-30  Ngày Chiến thắng",
            "2027-05-01  Quốc tế Lao động"
        ]
    );
    let out = cli_ok(&["holidays", "remove", "2027-04-30", "--data", d], &[]);
    assert!(out.contains("Removed 2027-04-30"), "{out}");
    let bad = cli(&["holidays", "add", "2027-02-30", "Sai", "--data", d], &[]);
    assert!(!bad.status.success());
    let bad = cli(&["holidays", "remove", "2027-04-30", "--data", d], &[]);
    assert!(!bad.status.success());
    std::fs::write(&csv, "2027-09-02\n").unwrap();
    let bad = cli(
        &["holidays", "import", csv.to_str().unwrap(), "--data", d],
        &[],
    );
    assert!(!bad.status.success());
    // Each change is audited.
    let c = crate::common::db(dir.join("hub.sqlite")).unwrap();
    let actions: Vec<String> = c
        .prepare("SELECT action FROM audit_log ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        actions,
        vec![
            "holiday_added",
            "holiday_added",
            "holiday_added",
            "holiday_removed"
        ]
    );
}
