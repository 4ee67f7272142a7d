//! Account lifecycle (issue 18, finding 7): an admin disables and re-enables a user, resets a password and
//! ends a user's sessions; every user changes their own password and logs out everywhere; the hub's last
//! enabled admin cannot be disabled; the command line does the same on the data directory of a running
//! hub, whose sessions end at once. Every change is in the audit trail (`GET /api/v1/users/history`).

use serde_json::{json, Value};

use crate::common::*;

const ADMIN_PW: &str = "Quan-tri-2026!";
const PW: &str = "Mat-khau-2026-dai";
const NEW_PW: &str = "Mat-khau-moi-2027";

async fn id_of(admin: &Client, name: &str) -> String {
    let (s, list) = admin.get("/api/v1/users").await;
    assert_eq!(s, 200, "{list}");
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn account(admin: &Client, name: &str) -> Value {
    let (_, list) = admin.get("/api/v1/users").await;
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

async fn me_status(c: &Client) -> u16 {
    c.get("/api/v1/me").await.0
}

async fn login_answer(base: &str, name: &str, pw: &str) -> (u16, Value) {
    Client::new(base)
        .post("/api/v1/login", json!({"name": name, "password": pw}))
        .await
}

/// The account changes in the audit trail, oldest first, as (action, actor, user name, sessions ended).
async fn history(admin: &Client) -> Vec<(String, String, String, u64)> {
    let (s, h) = admin.get("/api/v1/users/history").await;
    assert_eq!(s, 200, "{h}");
    assert!(
        !h.to_string().contains(PW) && !h.to_string().contains("argon2"),
        "no password or hash in the trail: {h}"
    );
    let mut v: Vec<_> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor_name"].as_str().unwrap().to_owned(),
                e["detail"]["user_name"].as_str().unwrap().to_owned(),
                e["detail"]["sessions_ended"].as_u64().unwrap(),
            )
        })
        .collect();
    v.reverse();
    v
}

#[test]
fn a_disabled_user_is_logged_out_at_once_and_cannot_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", &dir.path().join("hub"));
    block_on(async {
        let admin = Client::setup(&hub, "quantri", ADMIN_PW).await;
        admin.add_user("Nguyễn Văn An", "officer", PW).await;
        let phone = Client::login(&hub.base, "Nguyễn Văn An", PW).await;
        let laptop = Client::login(&hub.base, "Nguyễn Văn An", PW).await;
        assert_eq!(me_status(&phone).await, 200);
        let id = id_of(&admin, "Nguyễn Văn An").await;
        assert_eq!(account(&admin, "Nguyễn Văn An").await["disabled"], false);

        // Another role cannot disable anyone.
        let (s, b) = phone
            .post(&format!("/api/v1/users/{id}/disable"), json!({}))
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (403, Some("forbidden")));

        let (s, b) = admin
            .post(&format!("/api/v1/users/{id}/disable"), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["sessions_ended"], 2, "{b}");
        assert_eq!(b["user"]["disabled"], true);
        // Every session of theirs is gone: the very next request is refused.
        assert_eq!(me_status(&phone).await, 401);
        assert_eq!(me_status(&laptop).await, 401);
        let (s, _) = phone.post("/api/v1/drafts", json!({})).await;
        assert_eq!(s, 401);
        // The right password: a clear refusal; a wrong one: the usual answer (nothing more revealed).
        let (s, b) = login_answer(&hub.base, "Nguyễn Văn An", PW).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (403, Some("account_disabled")),
            "{b}"
        );
        assert!(b["error"]["message_vi"].as_str().unwrap().contains("khóa"));
        let (s, b) = login_answer(&hub.base, "nguyễn văn an", "Sai-mat-khau-2026").await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (401, Some("bad_credentials"))
        );
        // Still listed for the admin, as disabled.
        assert_eq!(account(&admin, "Nguyễn Văn An").await["disabled"], true);

        // Re-enabled: the same password works again.
        let (s, b) = admin
            .post(&format!("/api/v1/users/{id}/enable"), json!({}))
            .await;
        assert_eq!((s, b["user"]["disabled"].as_bool()), (200, Some(false)));
        let again = Client::login(&hub.base, "Nguyễn Văn An", PW).await;
        assert_eq!(me_status(&again).await, 200);

        let h = history(&admin).await;
        let tail: Vec<_> = h
            .iter()
            .map(|(a, by, who, n)| (a.as_str(), by.as_str(), who.as_str(), *n))
            .collect();
        assert_eq!(
            tail,
            [
                ("user_created", "quantri", "Nguyễn Văn An", 0),
                ("user_disabled", "quantri", "Nguyễn Văn An", 2),
                ("user_enabled", "quantri", "Nguyễn Văn An", 0),
            ]
        );

        // An unknown id: 404.
        let (s, _) = admin
            .post("/api/v1/users/no-such-user/disable", json!({}))
            .await;
        assert_eq!(s, 404);
    });
}

#[test]
fn changing_ones_password_needs_the_current_one_and_ends_the_other_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start("office", &dir.path().join("hub"));
    block_on(async {
        let admin = Client::setup(&hub, "quantri", ADMIN_PW).await;
        admin.add_user("Lò Thị Mai", "clerk", PW).await;
        let here = Client::login(&hub.base, "Lò Thị Mai", PW).await;
        let elsewhere = Client::login(&hub.base, "Lò Thị Mai", PW).await;

        let (s, b) = here
            .post(
                "/api/v1/users/me/password",
                json!({"current_password": "Khong-phai-2026", "password": NEW_PW}),
            )
            .await;
        assert_eq!(s, 403, "{b}");
        assert_eq!(b["error"]["code"], "bad_current_password");
        assert_eq!(b["error"]["field"], "current_password");
        let (s, b) = here
            .post(
                "/api/v1/users/me/password",
                json!({"current_password": PW, "password": "ngan"}),
            )
            .await;
        assert_eq!((s, b["error"]["field"].as_str()), (400, Some("password")));
        // Without the CSRF token: refused like every write.
        let r = here
            .http
            .post(format!("{}/api/v1/users/me/password", hub.base))
            .json(&json!({"current_password": PW, "password": NEW_PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403);
        assert_eq!(me_status(&elsewhere).await, 200, "nothing changed yet");

        let (s, b) = here
            .post(
                "/api/v1/users/me/password",
                json!({"current_password": PW, "password": NEW_PW}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["sessions_ended"], 1);
        assert_eq!(me_status(&here).await, 200, "the current session stays");
        assert_eq!(me_status(&elsewhere).await, 401, "the other one ended");
        let (s, _) = login_answer(&hub.base, "Lò Thị Mai", PW).await;
        assert_eq!(s, 401, "the old password no longer works");
        let fresh = Client::login(&hub.base, "Lò Thị Mai", NEW_PW).await;
        assert_eq!(
            fresh.get("/api/v1/me").await.1["must_change_password"],
            false
        );

        // "Log out everywhere": every session, this one included.
        let r = here
            .http
            .delete(format!("{}/api/v1/users/me/sessions", hub.base))
            .header("x-csrf-token", &here.csrf)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("__Host-hub_session=;") && c.contains("Max-Age=0")),
            "the browser's cookie is cleared too: {cookies:?}"
        );
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["sessions_ended"], 2, "{b}");
        assert_eq!(me_status(&here).await, 401);
        assert_eq!(me_status(&fresh).await, 401);

        let h = history(&admin).await;
        assert_eq!(
            h[1..],
            [
                (
                    "password_changed".into(),
                    "Lò Thị Mai".into(),
                    "Lò Thị Mai".into(),
                    1
                ),
                (
                    "sessions_ended".into(),
                    "Lò Thị Mai".into(),
                    "Lò Thị Mai".into(),
                    2
                ),
            ]
        );
    });
}

#[test]
fn an_admin_resets_a_password_and_ends_sessions_and_the_user_must_change_it() {
    let dir = tempfile::tempdir().unwrap();
    // At debug level, its log then searched for names and passwords (as `no_pii_logs` does for a trip).
    let log = dir.path().join("hub.log");
    let hub = Hub::start_logged("field", &dir.path().join("hub"), &[], "debug", Some(&log));
    block_on(async {
        let admin = Client::setup(&hub, "quantri", ADMIN_PW).await;
        admin.add_user("Vàng A Pao", "volunteer", PW).await;
        let id = id_of(&admin, "Vàng A Pao").await;
        let v1 = Client::login(&hub.base, "Vàng A Pao", PW).await;
        let v2 = Client::login(&hub.base, "Vàng A Pao", PW).await;

        // A volunteer cannot reset someone's password, nor end their sessions.
        let admin_id = id_of(&admin, "quantri").await;
        let (s, _) = v1
            .post(
                &format!("/api/v1/users/{admin_id}/password"),
                json!({"password": NEW_PW}),
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = v1
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/users/{admin_id}/sessions"),
                json!({}),
            )
            .await;
        assert_eq!(s, 403);
        assert_eq!(me_status(&admin).await, 200);

        // The admin's own password goes through "change my password" (it needs the current one).
        let (s, b) = admin
            .post(
                &format!("/api/v1/users/{admin_id}/password"),
                json!({"password": NEW_PW}),
            )
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (409, Some("own_account")));

        let (s, b) = admin
            .post(
                &format!("/api/v1/users/{id}/password"),
                json!({"password": "tam-thoi-2026"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(b["sessions_ended"], 2);
        assert_eq!(b["user"]["must_change_password"], true);
        assert_eq!(me_status(&v1).await, 401);
        assert_eq!(me_status(&v2).await, 401);
        assert_eq!(
            account(&admin, "Vàng A Pao").await["must_change_password"],
            true
        );

        let v = Client::login(&hub.base, "Vàng A Pao", "tam-thoi-2026").await;
        let (_, me) = v.get("/api/v1/me").await;
        assert_eq!(me["must_change_password"], true, "{me}");
        // Enforced by the hub, not only by the app: nothing else answers until the password is changed.
        let (s, b) = v.get("/api/v1/drafts").await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (403, Some("password_change_required")),
            "{b}"
        );
        let (s, b) = v
            .post("/api/v1/drafts", json!({"procedure": {"id": "marital-status-certificate", "version": 2}, "fields": {}}))
            .await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (403, Some("password_change_required")),
            "{b}"
        );
        let (s, _) = v
            .post(
                "/api/v1/users/me/password",
                json!({"current_password": "tam-thoi-2026", "password": NEW_PW}),
            )
            .await;
        assert_eq!(s, 200);
        assert_eq!(v.get("/api/v1/me").await.1["must_change_password"], false);
        assert_eq!(
            v.get("/api/v1/drafts").await.0,
            200,
            "working again after the change"
        );

        // The admin ends the volunteer's sessions.
        let (s, b) = admin
            .send(
                reqwest::Method::DELETE,
                &format!("/api/v1/users/{id}/sessions"),
                json!({}),
            )
            .await;
        assert_eq!((s, b["sessions_ended"].as_u64()), (200, Some(1)), "{b}");
        assert_eq!(me_status(&v).await, 401);
        assert_eq!(me_status(&admin).await, 200);

        let h = history(&admin).await;
        let actions: Vec<_> = h
            .iter()
            .map(|e| (e.0.as_str(), e.1.as_str(), e.3))
            .collect();
        assert_eq!(
            actions,
            [
                ("user_created", "quantri", 0),
                ("password_reset", "quantri", 2),
                ("password_changed", "Vàng A Pao", 0),
                ("sessions_ended", "quantri", 1),
            ]
        );
    });
    drop(hub);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("password reset"),
        "the hub logged at debug level"
    );
    for secret in [
        "Vàng A Pao",
        "vang a pao",
        "quantri",
        PW,
        NEW_PW,
        "tam-thoi-2026",
        ADMIN_PW,
    ] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "{secret:?} in the log"
        );
    }
}

#[test]
fn the_last_enabled_admin_cannot_be_disabled_and_an_admin_not_themself() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start("office", &dir.path().join("hub"));
    block_on(async {
        let admin = Client::setup(&hub, "quantri", ADMIN_PW).await;
        let own = id_of(&admin, "quantri").await;
        let (s, b) = admin
            .post(&format!("/api/v1/users/{own}/disable"), json!({}))
            .await;
        assert_eq!((s, b["error"]["code"].as_str()), (409, Some("own_account")));
        // From the command line either: the only admin.
        let out = cli(
            &[
                "user",
                "disable",
                "--data",
                hub.data.to_str().unwrap(),
                "--name",
                "quantri",
            ],
            &[],
        );
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("last enabled admin"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(me_status(&admin).await, 200);

        // With a second admin, one disables the other; the last one left stays.
        admin.add_user("phó quản trị", "admin", PW).await;
        let second = Client::login(&hub.base, "phó quản trị", PW).await;
        let (s, b) = second
            .post(&format!("/api/v1/users/{own}/disable"), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(me_status(&admin).await, 401);
        let out = cli(
            &[
                "user",
                "disable",
                "--data",
                hub.data.to_str().unwrap(),
                "--name",
                "phó quản trị",
            ],
            &[],
        );
        assert!(!out.status.success(), "the last enabled admin");
        assert_eq!(me_status(&second).await, 200);
        // Re-enabled, the first may then disable the second.
        let (s, _) = second
            .post(&format!("/api/v1/users/{own}/enable"), json!({}))
            .await;
        assert_eq!(s, 200);
        let (s, _) = login_answer(&hub.base, "quantri", ADMIN_PW).await;
        assert_eq!(s, 200);
    });
}

#[test]
fn the_command_line_ends_a_users_sessions_on_the_running_hub() {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start("field", &dir.path().join("hub"));
    let data = hub.data.to_str().unwrap().to_owned();
    block_on(async {
        let admin = Client::setup(&hub, "quantri", ADMIN_PW).await;
        admin.add_user("Sùng Văn Lử", "officer", PW).await;
        let officer = Client::login(&hub.base, "sùng văn lử", PW).await;
        assert_eq!(me_status(&officer).await, 200);

        let out = cli_ok(
            &["user", "disable", "--data", &data, "--name", "Sùng Văn Lử"],
            &[],
        );
        assert!(out.contains("1 session(s) ended"), "{out}");
        assert_eq!(me_status(&officer).await, 401, "ended on the running hub");
        let (s, b) = login_answer(&hub.base, "Sùng Văn Lử", PW).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (403, Some("account_disabled"))
        );
        let list = cli_ok(&["user", "list", "--data", &data], &[]);
        assert!(list.contains("Sùng Văn Lử  [disabled]"), "{list}");

        cli_ok(
            &["user", "enable", "--data", &data, "--name", "Sùng Văn Lử"],
            &[],
        );
        let officer = Client::login(&hub.base, "Sùng Văn Lử", PW).await;
        cli_ok(
            &["user", "logout", "--data", &data, "--name", "Sùng Văn Lử"],
            &[],
        );
        assert_eq!(me_status(&officer).await, 401);

        // A password from HUB_PASSWORD, checked like the app's.
        let out = cli(
            &["user", "passwd", "--data", &data, "--name", "Sùng Văn Lử"],
            &[("HUB_PASSWORD", "ngan")],
        );
        assert!(!out.status.success());
        let officer = Client::login(&hub.base, "Sùng Văn Lử", PW).await;
        cli_ok(
            &["user", "reset", "--data", &data, "--name", "Sùng Văn Lử"],
            &[("HUB_PASSWORD", "tam-thoi-2026")],
        );
        assert_eq!(me_status(&officer).await, 401);
        let officer = Client::login(&hub.base, "Sùng Văn Lử", "tam-thoi-2026").await;
        assert_eq!(
            officer.get("/api/v1/me").await.1["must_change_password"],
            true
        );
        cli_ok(
            &["user", "passwd", "--data", &data, "--name", "Sùng Văn Lử"],
            &[("HUB_PASSWORD", NEW_PW)],
        );
        let officer = Client::login(&hub.base, "Sùng Văn Lử", NEW_PW).await;
        assert_eq!(
            officer.get("/api/v1/me").await.1["must_change_password"],
            false
        );

        let out = cli(
            &["user", "disable", "--data", &data, "--name", "không có ai"],
            &[],
        );
        assert!(!out.status.success());

        let h = history(&admin).await;
        let cli_rows: Vec<_> = h
            .iter()
            .filter(|e| e.1 == "hub user (CLI)")
            .map(|e| (e.0.as_str(), e.3))
            .collect();
        assert_eq!(
            cli_rows,
            [
                ("user_disabled", 1),
                ("user_enabled", 0),
                ("sessions_ended", 1),
                ("password_reset", 1),
                ("password_changed", 1),
            ]
        );
    });
}
