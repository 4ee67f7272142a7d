//! Integration tests: the public receipt status (nothing personal, lenient codes, rate limit), the printed
//! slip's data (originals, due date skipping weekends, tracking URL and QR), and villagers'
//! pre-declarations taken by the team as drafts — all on a real hub process.

use crate::common::*;
use serde_json::{json, Value};
use time::{Date, Duration, Weekday};

const NAME: &str = "Điểu Thị Lan";
const PIN: &str = "075198001234";

/// Sealing date + `n` working days, counted from the next day, weekends and the built-in holiday list
/// skipped (the counting independent of the hub's code; the list is the hub's data).
fn plus_working_days(from: Date, n: u32) -> Date {
    let cal = hub::shared::deadline::Calendar::builtin();
    let mut d = from;
    let mut k = 0;
    while k < n {
        d += Duration::days(1);
        if d.weekday() != Weekday::Saturday && d.weekday() != Weekday::Sunday && !cal.is_day_off(d)
            || cal.is_working_day(d) && matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
        {
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

/// `DDDD-DDDD-DDDD-DD`: the digit form of receipt codes and tracking keys.
fn is_digit_code(s: &str) -> bool {
    s.len() == 17
        && s.char_indices().all(|(i, c)| {
            if [4, 9, 14].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
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

        // A receipt sealed now has a digit code and a digit key (read aloud in any language, typed on a
        // phone's numeric keypad).
        assert!(is_digit_code(&code), "{code}");
        assert!(is_digit_code(&key), "{key}");
        // Lenient parsing: no hyphens, O for 0 and I/L for 1.
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

        // A wrong check digit is a clear 422; a malformed code too; an unknown valid code is 404.
        let last = compact.chars().last().unwrap().to_digit(10).unwrap();
        let wrong = format!("{}{}", &compact[..13], (last + 1) % 10);
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
        // Only the papers this dossier needs (asked for oneself, no earlier certificate), no conditions.
        assert_eq!(roles, ["id_document"]);
        assert_eq!(slip["originals_apply"], true);
        assert!(slip["originals"][0]["only_if"].is_null());
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
        let db = crate::common::db(tmp.path().join("hub.sqlite")).unwrap();
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

/// Rewrites receipt `dossier_id` of the stopped field hub in `dir` as the hub's previous version issued
/// it: the same value (derived from the device id and receipt number) in the Crockford form `XXXX-XXXX-C`,
/// its QR and its signed dossier re-signed with the hub's own device key. Returns the old-form code.
fn make_receipt_as_issued_before_digit_codes(dir: &std::path::Path, dossier_id: &str) -> String {
    use protocol::{DeviceKey, ReceiptCode, ReceiptCodeForm, SignedDossier, SignedReceipt};
    // The device key file is sealed on a protected hub: read it as the hub does.
    let key: DeviceKey = crate::common::hub_keys(dir).device;
    let db = crate::common::db(dir.join("hub.sqlite")).unwrap();
    let (code, qr): (String, String) = db
        .query_row(
            "SELECT code, qr FROM receipts WHERE dossier_id = ?1",
            [dossier_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let old = ReceiptCode::parse(&code)
        .unwrap()
        .in_form(ReceiptCodeForm::Crockford);
    let mut receipt = SignedReceipt::from_qr_text(&qr).unwrap().receipt;
    assert!(old.is_derived_from(&receipt.device_id, receipt.seq));
    receipt.code = old.clone();
    let old_qr = receipt.sign(&key).unwrap().to_qr_text().unwrap();
    let signed: Vec<u8> = db
        .query_row(
            "SELECT signed_dossier FROM pending_protection WHERE dossier_id = ?1",
            [dossier_id],
            |r| r.get(0),
        )
        .unwrap();
    let mut dossier = SignedDossier::from_bytes(&signed).unwrap().dossier;
    dossier.receipt_code = old.clone();
    let resigned = dossier.sign(&key).unwrap().to_bytes().unwrap();
    db.execute(
        "UPDATE receipts SET code = ?1, qr = ?2 WHERE dossier_id = ?3",
        rusqlite::params![old.to_string(), old_qr, dossier_id],
    )
    .unwrap();
    db.execute(
        "UPDATE pending_protection SET signed_dossier = ?1 WHERE dossier_id = ?2",
        rusqlite::params![resigned, dossier_id],
    )
    .unwrap();
    old.to_string()
}

#[test]
fn a_dossier_sealed_now_gets_a_digit_code_and_codes_issued_before_still_resolve() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    let hub = fresh_hub("field", tmp.path());
    let (old_dossier, new_code, new_key) = block_on(async {
        let admin = Client::setup(&hub, "quantri", "mat-khau-quan-tri").await;
        // Sealed "before digit codes" (rewritten below, hub stopped), and sealed now.
        let (old, _) = capture_and_seal(&admin, "Thị Mai", "075198005678", &photo).await;
        let (receipt, _) = capture_and_seal(&admin, NAME, PIN, &photo).await;
        let code = receipt["code"].as_str().unwrap().to_owned();
        assert!(
            is_digit_code(&code),
            "a dossier sealed now gets digits: {code}"
        );
        let (s, slip) = admin.get(&format!("/api/v1/receipts/{code}/slip")).await;
        assert_eq!(s, 200, "{slip}");
        let key = slip["tracking_key"].as_str().unwrap().to_owned();
        assert!(is_digit_code(&key), "{key}");
        assert_eq!(slip["code_compact"], code.replace('-', ""));
        // The QR carries the digit code, and verifies offline.
        let qr = receipt["qr"].as_str().unwrap();
        assert!(qr.contains(&format!("\"code\":\"{code}\"")), "{qr}");
        let out = cli_ok(
            &[
                "receipt",
                "verify",
                "--data",
                tmp.path().to_str().unwrap(),
                qr,
            ],
            &[],
        );
        assert!(!out.is_empty());

        // The villager types it as read aloud: groups of digits with spaces (as the status page sends
        // them), the key likewise.
        let spaced = code.replace('-', " ");
        let spaced_key = format!(" {} ", key.replace('-', "  "));
        let (s, b) = public_get(
            &hub.base,
            &format!(
                "/api/v1/public/receipts/{}?k={}",
                spaced.replace(' ', "%20"),
                spaced_key.replace(' ', "%20")
            ),
        )
        .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
        assert_eq!(json_of(&b)["code"], code.as_str());
        // One digit wrong, or two neighbouring digits swapped: a clear 422, not "no such receipt".
        let digits: Vec<char> = code.replace('-', "").chars().collect();
        let pos = (0..13).find(|&i| digits[i] != digits[i + 1]).unwrap();
        let mut swapped = digits.clone();
        swapped.swap(pos, pos + 1);
        let swapped: String = swapped.into_iter().collect();
        let (s, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{swapped}?k={key}"),
        )
        .await;
        let e = json_of(&b);
        assert_eq!(
            (s, e["error"]["code"].clone()),
            (422, json!("bad_check_symbol"))
        );
        assert_eq!(e["error"]["field"], "code");
        // 13 digits: the 422 says what a code looks like.
        let (s, b) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{}?k={key}", &swapped[..13]),
        )
        .await;
        let e = json_of(&b);
        assert_eq!((s, e["error"]["code"].clone()), (422, json!("bad_code")));
        assert!(
            e["error"]["message_vi"]
                .as_str()
                .unwrap()
                .contains("14 chữ số"),
            "{e}"
        );
        (old["dossier_id"].as_str().unwrap().to_owned(), code, key)
    });
    drop(hub);

    let old_code = make_receipt_as_issued_before_digit_codes(tmp.path(), &old_dossier);
    assert_eq!(old_code.len(), 11, "{old_code}");
    let hub = Hub::start("field", tmp.path());
    block_on(async {
        let admin = Client::login(&hub.base, "quantri", "mat-khau-quan-tri").await;
        // The team finds the old receipt by its old code, typed leniently, and its slip keeps the old form.
        let sloppy = old_code.to_lowercase().replace('-', " ");
        let (s, r) = admin
            .get(&format!("/api/v1/receipts/{}", sloppy.replace(' ', "%20")))
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["code"], old_code.as_str());
        assert_eq!(r["dossier_id"], old_dossier.as_str());
        let old_qr = r["qr"].as_str().unwrap().to_owned();
        assert!(old_qr.contains(&format!("\"code\":\"{old_code}\"")));
        // Its signed QR (old form) still verifies offline.
        cli_ok(
            &[
                "receipt",
                "verify",
                "--data",
                tmp.path().to_str().unwrap(),
                &old_qr,
            ],
            &[],
        );
        let (s, slip) = admin
            .get(&format!("/api/v1/receipts/{old_code}/slip"))
            .await;
        assert_eq!(s, 200, "{slip}");
        let old_key = slip["tracking_key"].as_str().unwrap().to_owned();
        assert_eq!(
            old_key.len(),
            11,
            "an old receipt's key is in the old form: {old_key}"
        );
        assert_eq!(slip["code_compact"], old_code.replace('-', ""));

        // The villager with the old slip: old code and old key, typed in lower case with spaces.
        let (s, b) = public_get(
            &hub.base,
            &format!(
                "/api/v1/public/receipts/{}?k={}",
                sloppy.replace(' ', "%20"),
                old_key.to_lowercase()
            ),
        )
        .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
        assert_eq!(json_of(&b)["code"], old_code.as_str());
        assert_eq!(json_of(&b)["status"], "new");
        // A key is a secret, not a name: the same key written in digits works too.
        let key_digits = protocol::ReceiptCode::parse(&old_key)
            .unwrap()
            .in_form(protocol::ReceiptCodeForm::Digits)
            .to_string();
        let (s, _) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{old_code}?k={key_digits}"),
        )
        .await;
        assert_eq!(s, 200);
        // The digit form of the old receipt's value is another code, never issued: it names nothing.
        let old_as_digits = protocol::ReceiptCode::parse(&old_code)
            .unwrap()
            .in_form(protocol::ReceiptCodeForm::Digits)
            .to_string();
        for k in [&old_key, &key_digits] {
            let (s, _) = public_get(
                &hub.base,
                &format!("/api/v1/public/receipts/{old_as_digits}?k={k}"),
            )
            .await;
            assert_eq!(s, 404, "{old_as_digits}");
        }
        let (s, _) = admin
            .get(&format!("/api/v1/receipts/{old_as_digits}"))
            .await;
        assert_eq!(s, 404);
        // And the new receipt still answers by its digits, not by its Crockford twin.
        let (s, _) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{new_code}?k={new_key}"),
        )
        .await;
        assert_eq!(s, 200);
        let twin = protocol::ReceiptCode::parse(&new_code)
            .unwrap()
            .in_form(protocol::ReceiptCodeForm::Crockford)
            .to_string();
        let (s, _) = public_get(
            &hub.base,
            &format!("/api/v1/public/receipts/{twin}?k={new_key}"),
        )
        .await;
        assert_eq!(s, 404, "{twin}");
        // Both are listed as issued; a receipt sealed after the restart is digits again.
        let (_, list) = admin.get("/api/v1/dossiers").await;
        let codes: Vec<&str> = list["dossiers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["receipt_code"].as_str().unwrap())
            .collect();
        assert!(
            codes.contains(&old_code.as_str()) && codes.contains(&new_code.as_str()),
            "{codes:?}"
        );
        let (third, _) = capture_and_seal(&admin, "Điểu Thị Hoa", "075198004321", &photo).await;
        assert!(is_digit_code(third["code"].as_str().unwrap()), "{third}");
    });
}
