//! Integration tests: the public receipt status (nothing personal, lenient codes, rate limit), the printed
//! slip's data (originals, due date skipping weekends, tracking URL and QR), and villagers'
//! pre-declarations taken by the team as drafts — all on a real hub process.

use crate::common::*;
use serde_json::{json, Value};
use time::{Date, Duration, Weekday};

const NAME: &str = "Điểu Thị Lan";
const PIN: &str = "075198001234";

/// Sealing date + `n` working days, weekends skipped (independent of the hub's code).
fn plus_working_days(from: Date, n: u32) -> Date {
    let mut d = from;
    let mut k = 0;
    while k < n {
        d += Duration::days(1);
        if d.weekday() != Weekday::Saturday && d.weekday() != Weekday::Sunday {
            k += 1;
        }
    }
    d
}

fn date(s: &str) -> Date {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).unwrap()
}

async fn public_get(base: &str, path: &str) -> (u16, Vec<u8>) {
    let r = reqwest::get(format!("{base}{path}")).await.unwrap();
    let s = r.status().as_u16();
    (s, r.bytes().await.unwrap().to_vec())
}

/// A fresh hub whose one-time setup link has been read. Under load the hub can answer `/healthz`
/// before the harness has seen the link on stdout, so keep reading its output for a while.
fn fresh_hub(mode: &str, dir: &std::path::Path) -> Hub {
    let mut hub = Hub::start(mode, dir);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while hub.setup_token.is_none() && std::time::Instant::now() < deadline {
        if let Ok(line) = hub
            .stdout_lines
            .recv_timeout(std::time::Duration::from_millis(200))
        {
            if let Some(i) = line.find("#/setup?token=") {
                hub.setup_token = Some(line[i + "#/setup?token=".len()..].trim().to_string());
            }
        }
    }
    hub
}

fn json_of(b: &[u8]) -> Value {
    serde_json::from_slice(b).unwrap_or(Value::Null)
}

#[test]
fn public_status_shows_one_receipt_and_nothing_personal_and_the_slip_has_what_to_bring() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let hub = fresh_hub("field", tmp.path());
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let (receipt, fields) = capture_and_seal(&admin, NAME, PIN, &photo).await;
        let code = receipt["code"].as_str().unwrap().to_owned();
        let dossier_id = receipt["dossier_id"].as_str().unwrap().to_owned();

        // The tracking key comes with the slip (and its QR); the team fetches the slip.
        let (s, slip) = admin.get(&format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(s, 200, "{slip}");
        let key = slip["tracking_key"].as_str().unwrap().to_owned();
        let kc = key.replace('-', "");

        // Anyone on the Wi-Fi, no login, with the code and the key.
        let (s, bytes) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{code}?k={key}"),
        )
        .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&bytes));
        let text = String::from_utf8(bytes.clone()).unwrap();
        for secret in [
            NAME,
            PIN,
            "Bù Lư",
            "vay vốn",
            "Xtiêng",
            "1998-03-12",
            &dossier_id,
        ] {
            assert!(
                !text.contains(secret),
                "public status leaks {secret:?}: {text}"
            );
        }
        for v in fields.values().filter(|v| v.chars().count() > 6) {
            assert!(
                !text.contains(v.as_str()),
                "public status leaks a field value {v:?}"
            );
        }
        let st = json_of(&bytes);
        assert_eq!(st["code"], code.as_str());
        assert_eq!(st["status"], "new");
        assert_eq!(st["procedure"]["id"], "marital-status-certificate");
        assert_eq!(st["handed_over"], false);
        assert_eq!(
            st["protected"], false,
            "no office key yet: pending protection"
        );
        assert!(st["originals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["role"] == "id_document"));
        let sealed_on = date(st["sealed_on"].as_str().unwrap());
        assert_eq!(
            st["due"]["due_by"].as_str().unwrap(),
            plus_working_days(sealed_on, 3).to_string()
        );

        // Lenient parsing: lower case, no hyphens, O for 0 and I/L for 1.
        let compact = code.replace('-', "");
        let sloppy = compact.to_lowercase().replace('0', "o").replace('1', "l");
        let sloppy_key = kc.to_lowercase().replace('0', "o").replace('1', "l");
        let (s, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{sloppy}?k={sloppy_key}"),
        )
        .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
        assert_eq!(json_of(&b)["code"], code.as_str());

        // The code alone is not enough: codes follow the hub's id and receipt number, so a neighbour's
        // code can be computed from one slip; the key cannot. A wrong key reads like an unknown code.
        let (s, b) = public_get(&hub.base, &format!("/api/v1/public/receipts/{code}")).await;
        assert_eq!(
            (s, json_of(&b)["error"]["code"].clone()),
            (422, json!("key_required"))
        );
        let wrong_key = protocol::ReceiptCode::from_entropy([9, 9, 9, 9, 9]);
        let (s, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{code}?k={wrong_key}"),
        )
        .await;
        assert_eq!(
            (s, json_of(&b)["error"]["code"].clone()),
            (404, json!("not_found"))
        );
        // The next villager's receipt: its code is computable from this slip's tracking number…
        let (r2, _) = capture_and_seal(&admin, "Thị Mai", "075198005678", &photo).await;
        let tn = slip["tracking_number"].as_str().unwrap();
        let (dev, seq) = tn.rsplit_once('-').unwrap();
        let next = protocol::ReceiptCode::derive(
            &protocol::DeviceId::parse(dev).unwrap(),
            seq.parse::<u64>().unwrap() + 1,
        );
        assert_eq!(r2["code"], next.to_string());
        // …but neither without a key nor with this slip's key does it answer anything.
        let (s, _) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{next}?k={key}"),
        )
        .await;
        assert_eq!(s, 404);

        // A wrong check symbol is a clear 422; a malformed code too; an unknown valid code is 404.
        let last = compact.chars().last().unwrap();
        let wrong = format!("{}{}", &compact[..8], if last == 'A' { 'B' } else { 'A' });
        let (s, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{wrong}?k={key}"),
        )
        .await;
        assert_eq!(
            (s, json_of(&b)["error"]["code"].clone()),
            (422, json!("bad_check_symbol"))
        );
        let (s, b) = public_get(&hub.base, &format!("/api/v1/public/receipts/XYZ?k={key}")).await;
        assert_eq!(
            (s, json_of(&b)["error"]["code"].clone()),
            (422, json!("bad_code"))
        );
        let other = protocol::ReceiptCode::derive(
            &protocol::DeviceId::parse("0123456789abcdef").unwrap(),
            7,
        );
        let (s, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{other}?k={key}"),
        )
        .await;
        assert_eq!(
            (s, json_of(&b)["error"]["code"].clone()),
            (404, json!("not_found"))
        );

        // The slip is for the team only.
        let (s, _) = public_get(&hub.base, &format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(s, 401);
        let (s, _) = public_get(&hub.base, &format!("/api/v1/receipts/{code}/track.png")).await;
        assert_eq!(s, 401);
        let (s, slip) = admin.get(&format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(s, 200, "{slip}");
        assert_eq!(slip["code"], code.as_str());
        assert_eq!(slip["hub_name"].as_str().map(|n| !n.is_empty()), Some(true));
        assert_eq!(
            slip["tracking_url"].as_str().unwrap(),
            format!("{}/#/r/{compact}?k={kc}", hub.base)
        );
        assert!(slip["tracking_number"].as_str().unwrap().contains('-'));
        assert_eq!(slip["tracking_key"], key.as_str(), "the key is stable");
        assert_eq!(
            slip["procedure_title"]["vi"],
            "Cấp Giấy xác nhận tình trạng hôn nhân"
        );
        let roles: Vec<&str> = slip["originals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["role"].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            [
                "id_document",
                "previous_certificate",
                "authorisation_letter"
            ]
        );
        assert!(slip["originals"][0]["only_if"].is_null());
        assert!(slip["originals"][2]["only_if"]["vi"]
            .as_str()
            .unwrap()
            .starts_with("nếu "));
        assert_eq!(slip["due"]["time_limit_working_days"], 3);
        assert_eq!(slip["due"]["excludes_public_holidays"], true);
        assert_eq!(
            slip["due"]["due_by_extended"].as_str().unwrap(),
            plus_working_days(sealed_on, 23).to_string()
        );
        let sealed_weekday = sealed_on.weekday();
        let due = date(slip["due"]["due_by"].as_str().unwrap());
        assert!(
            !matches!(due.weekday(), Weekday::Saturday | Weekday::Sunday),
            "{sealed_weekday:?} → {due}"
        );
        let (s, png) = admin
            .get_bytes(&format!("/api/v1/receipts/{code}/track.png"))
            .await;
        assert_eq!(s, 200);
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(img.width(), img.height());
        assert!(img.width() >= 200);
        // The slip's scheme follows the page's (https when the page was opened over TLS).
        let (_, slip) = admin
            .get(&format!("/api/v1/receipts/{code}/slip?scheme=https"))
            .await;
        assert!(slip["tracking_url"]
            .as_str()
            .unwrap()
            .starts_with("https://"));

        // A cancelled dossier reads "voided" and asks for nothing more.
        let (s, v) = admin
            .post(
                &format!("/api/v1/dossiers/{dossier_id}/void"),
                json!({"reason": "Người dân rút hồ sơ"}),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        let (_, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{code}?k={key}"),
        )
        .await;
        let st = json_of(&b);
        assert_eq!(st["status"], "voided");
        assert_eq!(st["originals"], json!([]));
        assert!(st["due"].is_null());
        assert!(
            !String::from_utf8_lossy(&b).contains("rút hồ sơ"),
            "the reason is not public"
        );
    });
}

#[test]
fn public_status_is_rate_limited_per_client_for_hits_and_misses() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let hub = fresh_hub("field", tmp.path());
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let (receipt, _) = capture_and_seal(&admin, NAME, PIN, &photo).await;
        let code = receipt["code"].as_str().unwrap();
        let (_, slip) = admin.get(&format!("/api/v1/receipts/{code}/slip")).await;
        let key = slip["tracking_key"].as_str().unwrap();
        // 30 lookups in the window: misses (guessing keys) and hits count alike.
        for i in 0..29u8 {
            let guess = protocol::ReceiptCode::from_entropy([i, 1, 2, 3, 4]);
            let (s, _) = public_get(
                &hub.base,
                &format!("/api/v1/public/receipts/{code}?k={guess}"),
            )
            .await;
            assert_eq!(s, 404, "guess {i}");
        }
        let (s, _) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{code}?k={key}"),
        )
        .await;
        assert_eq!(s, 200);
        let (s, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{code}?k={key}"),
        )
        .await;
        assert_eq!(s, 429);
        let e = json_of(&b);
        assert_eq!(e["error"]["code"], "rate_limited");
        assert!(e["error"]["message_vi"].as_str().unwrap().contains("phút"));
        // The team's own routes are not affected.
        let (s, _) = admin.get(&format!("/api/v1/receipts/{code}")).await;
        assert_eq!(s, 200);
    });
}

fn self_service_fields() -> Value {
    let mut f = marital_fields(NAME, PIN);
    f.remove("addressee.commune");
    f.remove("declaration.confirmed");
    json!(f)
}

#[test]
fn a_villager_predeclares_and_the_team_takes_it_as_a_draft() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = fresh_hub("field", tmp.path());
    block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        let phone = reqwest::Client::new();
        let post = |body: Value| {
            let phone = phone.clone();
            let url = hub.url("/api/v1/public/predeclarations");
            async move {
                let r = phone.post(url).json(&body).send().await.unwrap();
                let s = r.status().as_u16();
                (s, r.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let proc_ref = json!({"id": "marital-status-certificate", "version": 1});

        // The self-service form leaves the office's fields out.
        let (s, b) = public_get(
            &hub.base,
            "/api/v1/public/predeclare/marital-status-certificate",
        )
        .await;
        assert_eq!(s, 200);
        let form = json_of(&b);
        let groups: Vec<&str> = form["procedure"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap())
            .collect();
        assert!(
            !groups.contains(&"addressee") && !groups.contains(&"declaration"),
            "{groups:?}"
        );
        let (s, _) = public_get(&hub.base, "/api/v1/public/predeclare/no-such-procedure").await;
        assert_eq!(s, 404);

        // Office-only fields, bad formats and empty forms are refused; nothing is stored.
        let mut with_office = self_service_fields();
        with_office["addressee.commune"] = json!("UBND xã");
        let (s, e) = post(json!({"procedure": proc_ref, "fields": with_office})).await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["error"]["details"][0]["code"], "not_self_service");
        let mut bad_pin = self_service_fields();
        bad_pin["subject.pin"] = json!("12345");
        let (s, e) = post(json!({"procedure": proc_ref, "fields": bad_pin})).await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["error"]["field"], "subject.pin");
        let (s, _) = post(json!({"procedure": proc_ref, "fields": {}})).await;
        assert_eq!(s, 422);
        let huge =
            json!({"procedure": proc_ref, "fields": {"request.purpose": "x".repeat(40_000)}});
        let (s, _) = post(huge).await;
        assert_eq!(s, 413);

        // A complete pre-declaration gets a short pickup number.
        let (s, r) =
            post(json!({"procedure": proc_ref, "fields": self_service_fields(), "lang": "en"}))
                .await;
        assert_eq!(s, 201, "{r}");
        assert_eq!(r["pickup_number"], 1);
        assert!(r["ticket"].is_null(), "no outreach session is open");
        assert!(
            !r.to_string().contains(NAME),
            "the answer repeats nothing personal"
        );

        // The public cannot list or take pre-declarations.
        let (s, _) = public_get(&hub.base, "/api/v1/predeclarations").await;
        assert_eq!(s, 401);
        let (s, list) = admin.get("/api/v1/predeclarations").await;
        assert_eq!(s, 200, "{list}");
        let waiting = list["predeclarations"].as_array().unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0]["title"], NAME);
        assert_eq!(waiting[0]["pickup_number"], 1);
        assert_eq!(waiting[0]["lang"], "en");
        let id = waiting[0]["id"].as_str().unwrap().to_owned();
        let r = phone
            .post(hub.url(&format!("/api/v1/predeclarations/{id}/take")))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);

        // Taken: a draft with the same fields; the pre-declaration no longer holds them.
        let (s, draft) = admin
            .post(&format!("/api/v1/predeclarations/{id}/take"), json!({}))
            .await;
        assert_eq!(s, 201, "{draft}");
        let expected = self_service_fields();
        for (k, v) in expected.as_object().unwrap() {
            assert_eq!(&draft["fields"][k], v, "{k}");
        }
        let (s, d) = admin
            .get(&format!("/api/v1/drafts/{}", draft["id"].as_str().unwrap()))
            .await;
        assert_eq!(s, 200);
        assert_eq!(d["fields"]["subject.full_name"], NAME);
        let (s, again) = admin
            .post(&format!("/api/v1/predeclarations/{id}/take"), json!({}))
            .await;
        assert_eq!(
            (s, again["error"]["code"].clone()),
            (409, json!("conflict"))
        );
        let (_, list) = admin.get("/api/v1/predeclarations").await;
        assert_eq!(list["predeclarations"], json!([]));
        let db = rusqlite::Connection::open(tmp.path().join("hub.sqlite")).unwrap();
        let kept: i64 = db
            .query_row(
                "SELECT count(*) FROM predeclarations WHERE fields_json IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(kept, 0, "personal data is not kept twice");

        // The second pre-declaration gets the next number.
        let (s, r) = post(json!({"procedure": proc_ref, "fields": self_service_fields()})).await;
        assert_eq!((s, r["pickup_number"].clone()), (201, json!(2)));
        assert!(r["ticket"].is_null());

        // With an outreach session open, the villager also gets a queue ticket (self-service, no name).
        let (s, session) = admin
            .post(
                "/api/v1/outreach/sessions",
                json!({"hamlet": "Thôn Bù Lư", "venue_kind": "cultural_house",
                       "venue_name": "Nhà văn hoá thôn Bù Lư", "commune_code": "25222", "team": []}),
            )
            .await;
        assert_eq!(s, 201, "{session}");
        let sid = session["id"].as_str().unwrap();
        let (s, t) = admin
            .post(
                &format!("/api/v1/outreach/sessions/{sid}/tickets"),
                json!({}),
            )
            .await;
        assert_eq!((s, t["number"].clone()), (201, json!(1)), "{t}");
        let (s, r) = post(json!({"procedure": proc_ref, "fields": self_service_fields()})).await;
        assert_eq!(s, 201, "{r}");
        assert_eq!(
            (r["pickup_number"].clone(), r["ticket"].clone()),
            (json!(3), json!(2))
        );
        let (_, tickets) = admin
            .get(&format!("/api/v1/outreach/sessions/{sid}/tickets"))
            .await;
        let mine = tickets["tickets"]
            .as_array()
            .unwrap_or_else(|| panic!("{tickets}"))
            .iter()
            .find(|t| t["number"] == 2)
            .unwrap();
        assert_eq!(mine["source"], "self_service");
        assert!(
            mine["name"].is_null(),
            "the name stays in the pre-declaration only"
        );
        let (_, list) = admin.get("/api/v1/predeclarations").await;
        let waiting = list["predeclarations"].as_array().unwrap();
        assert_eq!(waiting.last().unwrap()["ticket"], 2);
    });
}

#[test]
fn pre_declarations_are_rate_limited_and_field_only() {
    let tmp = tempfile::tempdir().unwrap();
    let hub = fresh_hub("field", tmp.path());
    let office_dir = tempfile::tempdir().unwrap();
    let office = fresh_hub("office", office_dir.path());
    block_on(async {
        let phone = reqwest::Client::new();
        let body = json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                          "fields": {"subject.full_name": NAME}});
        for i in 0..10 {
            let r = phone
                .post(hub.url("/api/v1/public/predeclarations"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201, "pre-declaration {i}");
        }
        let r = phone
            .post(hub.url("/api/v1/public/predeclarations"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 429);
        let office_admin = Client::setup(&office, "quantri", "mat-khau-quan-tri").await;
        let (s, b) = office_admin.get("/api/v1/receipts/ABCD-EFGH-J/slip").await;
        assert_eq!((s, b["error"]["code"].clone()), (404, json!("wrong_mode")));
        for path in [
            "/api/v1/public/receipts/ABCD-EFGH-J",
            "/api/v1/public/predeclare/marital-status-certificate",
        ] {
            let (s, b) = public_get(&office.base, path).await;
            assert_eq!(
                (s, json_of(&b)["error"]["code"].clone()),
                (404, json!("wrong_mode")),
                "{path}"
            );
        }
    });
}
