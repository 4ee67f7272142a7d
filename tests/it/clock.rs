//! The clock guard end to end, on the real hub with a simulated wrong system clock
//! (`--clock-skew-seconds`, hidden, tests only): sealing is refused with `clock_unconfirmed` until an
//! officer confirms the time from a phone; the sealed time is then the confirmed time; the confirmation
//! survives a hub restart in the same boot; a clock behind an existing seal is refused too.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{block_on, field_team, fill_draft, marital_fields, sample_photo, Client, Hub};
use serde_json::{json, Value};

/// Five years (of 365 days) behind.
const FIVE_YEARS_BEHIND: &str = "--clock-skew-seconds=-157680000";

fn real_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn unix_of(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

/// A complete marital-status draft with its photo, ready to seal; returns its id.
async fn ready_draft(c: &Client, subject: &str, pin: &str) -> String {
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    fill_draft(
        c,
        "marital-status-certificate",
        &marital_fields(subject, pin),
        &["id_document"],
        "giay-to.jpg",
        &photo,
    )
    .await
}

async fn seal(c: &Client, id: &str) -> (u16, Value) {
    c.post(&format!("/api/v1/drafts/{id}/seal"), json!({}))
        .await
}

async fn healthz_plausible(base: &str) -> bool {
    let v: Value = reqwest::get(format!("{base}/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["clock"].as_object().map(|o| o.len()), Some(1), "{v}");
    v["clock"]["plausible"].as_bool().unwrap()
}

#[test]
fn a_hub_booted_years_behind_seals_only_after_an_officer_confirms_the_time() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let hub = Hub::start_with("field", &dir, &[FIVE_YEARS_BEHIND]);
    let confirmed_at = block_on(async {
        let (_admin, officer, volunteer) = field_team(&hub).await;

        // The hub knows its clock is wrong: before this binary's build date.
        let (s, clock) = officer.get("/api/v1/clock").await;
        assert_eq!(s, 200, "{clock}");
        assert_eq!(clock["plausible"], false, "{clock}");
        assert_eq!(clock["reason"], "before_build");
        assert_eq!(clock["can_confirm"], true);
        let hub_ms = clock["hub_unix_ms"].as_i64().unwrap();
        let behind = (real_now_ms() - hub_ms) / 1000;
        assert!(
            (157_680_000 - 60..=157_680_000 + 60).contains(&behind),
            "{behind}"
        );
        assert!(!healthz_plausible(&hub.base).await);

        // Sealing is refused, with a message in both languages.
        let id = ready_draft(&officer, "Điểu Thị Hạnh", "070198001234").await;
        let (s, e) = seal(&officer, &id).await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "clock_unconfirmed");
        assert!(e["error"]["message_vi"]
            .as_str()
            .unwrap()
            .contains("Dùng giờ của điện thoại này"));
        assert!(e["error"]["message_en"]
            .as_str()
            .unwrap()
            .contains("Use this phone's time"));

        // A volunteer may not confirm the time; the volunteer's view says so.
        let (s, v) = volunteer.get("/api/v1/clock").await;
        assert_eq!((s, &v["can_confirm"]), (200, &json!(false)), "{v}");
        let (s, e) = volunteer
            .post(
                "/api/v1/clock/confirm",
                json!({"phone_time": real_now_ms()}),
            )
            .await;
        assert_eq!(s, 403, "{e}");
        // Nor without the CSRF header.
        let r = officer
            .http
            .post(format!("{}/api/v1/clock/confirm", hub.base))
            .json(&json!({"phone_time": real_now_ms()}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        // A phone whose own clock is before the build date is refused.
        let (s, e) = officer
            .post("/api/v1/clock/confirm", json!({"phone_time": hub_ms}))
            .await;
        assert_eq!(s, 422, "{e}");
        assert_eq!(e["error"]["code"], "clock_phone_wrong");

        // The officer confirms from the phone in one tap.
        let phone = real_now_ms();
        let (s, c) = officer
            .post("/api/v1/clock/confirm", json!({"phone_time": phone}))
            .await;
        assert_eq!(s, 200, "{c}");
        assert_eq!(c["plausible"], true, "{c}");
        assert_eq!(c["confirmed_by"], "officer");
        let corr = c["correction_seconds"].as_i64().unwrap();
        assert!(
            (157_680_000 - 60..=157_680_000 + 60).contains(&corr),
            "{corr}"
        );
        assert!(healthz_plausible(&hub.base).await);

        // The officer is still signed in, and sealing works, stamped with the confirmed time.
        let (s, receipt) = seal(&officer, &id).await;
        assert_eq!(s, 201, "{receipt}");
        let sealed = unix_of(receipt["sealed_at"].as_str().unwrap());
        assert!(
            (sealed - real_now_ms() / 1000).abs() <= 30,
            "sealed at {} vs now",
            receipt["sealed_at"]
        );
        c["confirmed_at"].as_str().unwrap().to_owned()
    });

    // A hub restart in the same boot keeps the confirmation.
    drop(hub);
    let hub = Hub::start_with("field", &dir, &[FIVE_YEARS_BEHIND]);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-canbo").await;
        let (_, clock) = officer.get("/api/v1/clock").await;
        assert_eq!(clock["plausible"], true, "{clock}");
        assert_eq!(clock["confirmed_at"], confirmed_at.as_str());
        let hub_ms = clock["hub_unix_ms"].as_i64().unwrap();
        assert!((hub_ms - real_now_ms()).abs() < 30_000, "{clock}");
        assert!(healthz_plausible(&hub.base).await);
        let id = ready_draft(&officer, "Thị Hoa", "070198005678").await;
        let (s, receipt) = seal(&officer, &id).await;
        assert_eq!(s, 201, "{receipt}");
        let sealed = unix_of(receipt["sealed_at"].as_str().unwrap());
        assert!((sealed - real_now_ms() / 1000).abs() <= 30, "{receipt}");
    });
}

#[test]
fn a_clock_behind_the_last_seal_is_refused_until_confirmed() {
    // The scenario runs one day ahead of this machine's clock ("today" = now + 1 day), so that "a day
    // behind" stays after the build date even for a binary built minutes ago.
    const DAY_MS: i64 = 86_400_000;
    let today_ms = || real_now_ms() + DAY_MS;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let hub = Hub::start_with("field", &dir, &["--clock-skew-seconds=86400"]);
    let first_seal = block_on(async {
        let (_admin, officer, _volunteer) = field_team(&hub).await;
        let (_, clock) = officer.get("/api/v1/clock").await;
        assert_eq!(clock["plausible"], true, "{clock}");
        assert_eq!(clock["reason"], Value::Null);
        let id = ready_draft(&officer, "Điểu Thị Hạnh", "070198001234").await;
        let (s, receipt) = seal(&officer, &id).await;
        assert_eq!(s, 201, "{receipt}");
        unix_of(receipt["sealed_at"].as_str().unwrap())
    });
    drop(hub);

    // After a power cut the system clock restarts a day behind (here: this machine's clock, skew 0).
    let hub = Hub::start("field", &dir);
    block_on(async {
        let officer = Client::login(&hub.base, "canbo", "mat-khau-canbo").await;
        let (_, clock) = officer.get("/api/v1/clock").await;
        assert_eq!(clock["plausible"], false, "{clock}");
        assert_eq!(clock["reason"], "behind_last_seal");
        assert_eq!(unix_of(clock["last_seal_at"].as_str().unwrap()), first_seal);
        assert!(!healthz_plausible(&hub.base).await);
        let id = ready_draft(&officer, "Thị Hoa", "070198005678").await;
        let (s, e) = seal(&officer, &id).await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "clock_unconfirmed");

        // A phone half a day behind the last seal is not taken silently: it needs the second tap.
        let half_a_day_ago = today_ms() - DAY_MS / 2;
        let (s, e) = officer
            .post(
                "/api/v1/clock/confirm",
                json!({"phone_time": half_a_day_ago}),
            )
            .await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(e["error"]["code"], "clock_behind_last_seal");
        assert!(
            e["error"]["message_en"]
                .as_str()
                .unwrap()
                .contains(" hours before the latest sealed dossier"),
            "{e}"
        );
        let (_, clock) = officer.get("/api/v1/clock").await;
        assert_eq!(clock["plausible"], false, "still unconfirmed: {clock}");
        let (s, c) = officer
            .post(
                "/api/v1/clock/confirm",
                json!({"phone_time": half_a_day_ago, "really": true}),
            )
            .await;
        assert_eq!(s, 200, "{c}");
        let hub_ms = c["hub_unix_ms"].as_i64().unwrap();
        assert!((hub_ms - half_a_day_ago).abs() < 30_000, "{c}");

        // The right phone time, ahead of the last seal, is taken in one tap; sealing works again.
        let (s, c) = officer
            .post("/api/v1/clock/confirm", json!({"phone_time": today_ms()}))
            .await;
        assert_eq!(s, 200, "{c}");
        let (s, receipt) = seal(&officer, &id).await;
        assert_eq!(s, 201, "{receipt}");
        let sealed = unix_of(receipt["sealed_at"].as_str().unwrap());
        assert!(sealed >= first_seal, "{receipt}");
        assert!((sealed - today_ms() / 1000).abs() <= 30, "{receipt}");
    });
}
