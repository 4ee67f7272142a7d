//! Locking and unlocking a protected field hub (issue 19): who can unlock it after a restart and who
//! cannot (a wrong password, a volunteer, a disabled officer, an old password after a change or a reset;
//! guesses count against the login limits), an officer added after the protection (their copy of the data
//! key is made at their first login), recovery by the office when every officer forgot their password
//! (`hub vault status`, `hub vault recover` with the office's key or the recovery key, a wrong key
//! refused), the escrow copy following a pairing made after the protection, CLI commands on a locked data
//! directory (a clear refusal without `HUB_UNLOCK_*`, working with them; CLI account changes keep the
//! copies in step), and the upgrade of a plaintext data directory at the first officer's login — with
//! writes going on during it, and with power cuts at three points of it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;
use crate::thief::{
    assert_locked, distinctive_photo, files_below, head, is_locked, photo_needles, power_cut,
    predeclare, search, stored_photos, text_needles, try_login, unlock_by_login, SEALED,
};

const ADMIN_PW: &str = "Quan-tri-mo-khoa-2026";
const CANBO_PW: &str = "Can-bo-mo-khoa-2026";
const CANBO_NEW_PW: &str = "Can-bo-doi-mat-khau-2027";
const LATE_PW: &str = "Can-bo-moi-den-2026";
const GONE_PW: &str = "Can-bo-da-nghi-2026";
const TNV_PW: &str = "Tinh-nguyen-vien-2026";

/// Runs `hub` with `args` and `envs` only (no `HUB_UNLOCK_*` inherited or added), `stdin` written to it.
fn hub_cmd(args: &[&str], envs: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(hub_bin());
    cmd.args(args)
        .env("HUB_LOG", "warn")
        .env_remove("HUB_UNLOCK_USER")
        .env_remove("HUB_UNLOCK_PASSWORD")
        .env_remove("HUB_UNLOCK_IDENTITY")
        .env_remove("HUB_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run hub");
    {
        let mut w = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            w.write_all(text.as_bytes()).unwrap();
        }
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `i` written in letters (a name takes no digits): 1 → "a", 27 → "aa".
fn letters(mut i: u32) -> String {
    let mut out = Vec::new();
    while i > 0 {
        i -= 1;
        out.push(b'a' + (i % 26) as u8);
        i /= 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// The `name_key`s of the password copies in `DATA/keys/keyring.json`.
fn keyring_holders(data: &Path) -> Vec<String> {
    let kr: Value =
        serde_json::from_slice(&std::fs::read(data.join("keys/keyring.json")).unwrap()).unwrap();
    let mut v: Vec<String> = kr["users"]
        .as_array()
        .unwrap_or_else(|| panic!("users in {kr}"))
        .iter()
        .map(|u| u["name_key"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// Whether `password` of `name` unwraps the data key from the keyring on disk (what a thief holding the
/// password would do offline, or a login on the locked hub). Leaves this process's registry as it was.
fn keyring_opens(data: &Path, name: &str, password: &str) -> bool {
    let ok = hub::shared::unlock::unlock_password(data, name, password).is_ok();
    hub::shared::vault::forget(data);
    ok
}

async fn user_id(admin: &Client, name: &str) -> String {
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
        .to_string()
}

/// Asserts a login of `name` with `password` on the locked hub at `base` does not unlock it.
async fn refused_while_locked(base: &str, name: &str, password: &str, status: u16, code: &str) {
    let (s, b) = try_login(base, name, password).await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (status, Some(code)),
        "login of {name} on the locked hub: {b}"
    );
    assert_locked(base, &format!("after {name}'s refused login")).await;
}

#[test]
fn wrong_passwords_volunteers_disabled_and_old_passwords_do_not_unlock() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let field = Hub::start_locked("field", &dir, &["--sync", "off"]);
    block_on(async {
        let admin = Client::setup(&field, "quantri", ADMIN_PW).await;
        assert!(dir.join("keys/keyring.json").exists(), "protected at setup");
        for (name, role, pw) in [
            ("canbo", "officer", CANBO_PW),
            ("tinhnguyen", "volunteer", TNV_PW),
            ("canbonghi", "officer", GONE_PW),
            ("canbomoi", "officer", LATE_PW),
        ] {
            admin.add_user(name, role, pw).await;
        }
        for (name, pw) in [
            ("canbo", CANBO_PW),
            ("tinhnguyen", TNV_PW),
            ("canbonghi", GONE_PW),
            // An officer added after the protection: their copy is made at their first login.
            ("canbomoi", LATE_PW),
        ] {
            Client::login(&field.base, name, pw).await;
        }
        assert_eq!(
            keyring_holders(&dir),
            ["canbo", "canbomoi", "canbonghi", "quantri"],
            "officers and admins hold copies, volunteers none"
        );
        // A disabled officer's copy is removed.
        let gone = user_id(&admin, "canbonghi").await;
        let (s, b) = admin
            .post(&format!("/api/v1/users/{gone}/disable"), json!({}))
            .await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(
            keyring_holders(&dir),
            ["canbo", "canbomoi", "quantri"],
            "the disabled officer's copy is gone"
        );
    });
    assert!(!keyring_opens(&dir, "canbonghi", GONE_PW));
    assert!(!keyring_opens(&dir, "tinhnguyen", TNV_PW));
    assert!(keyring_opens(&dir, "canbomoi", LATE_PW));
    power_cut(field);

    let field = Hub::start_locked("field", &dir, &["--sync", "off"]);
    block_on(async {
        assert_locked(&field.base, "after a restart").await;
        refused_while_locked(
            &field.base,
            "canbo",
            "Khong-phai-mat-khau",
            401,
            "bad_credentials",
        )
        .await;
        refused_while_locked(&field.base, "tinhnguyen", TNV_PW, 503, "hub_locked").await;
        let (s, b) = try_login(&field.base, "canbonghi", GONE_PW).await;
        assert_ne!(s, 200, "a disabled officer: {b}");
        assert_locked(&field.base, "after the disabled officer's login").await;
        // The officer added after the protection unlocks.
        let late = unlock_by_login(&field.base, "canbomoi", LATE_PW).await;
        let (s, b) = late.get("/api/v1/drafts").await;
        assert_eq!(s, 200, "{b}");
        // Now an ordinary login: the volunteer gets in, the disabled officer still does not.
        Client::login(&field.base, "tinhnguyen", TNV_PW).await;
        let (s, b) = try_login(&field.base, "canbonghi", GONE_PW).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (403, Some("account_disabled"))
        );

        // A password change: the copy follows the new password.
        let canbo = Client::login(&field.base, "canbo", CANBO_PW).await;
        let (s, b) = canbo
            .post(
                "/api/v1/users/me/password",
                json!({"current_password": CANBO_PW, "password": CANBO_NEW_PW}),
            )
            .await;
        assert_eq!(s, 200, "{b}");

        // An admin's reset: the copy follows the temporary password.
        let admin = Client::login(&field.base, "quantri", ADMIN_PW).await;
        let late = user_id(&admin, "canbomoi").await;
        let (s, b) = admin
            .post(
                &format!("/api/v1/users/{late}/password"),
                json!({"password": "Tam-thoi-2027-dai"}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
    });
    assert!(
        !keyring_opens(&dir, "canbo", CANBO_PW),
        "the old password no longer opens the keyring"
    );
    assert!(keyring_opens(&dir, "canbo", CANBO_NEW_PW));
    assert!(
        !keyring_opens(&dir, "canbomoi", LATE_PW),
        "reset: the old copy is gone"
    );
    assert!(keyring_opens(&dir, "canbomoi", "Tam-thoi-2027-dai"));
    power_cut(field);

    let field = Hub::start_locked("field", &dir, &["--sync", "off"]);
    block_on(async {
        assert_locked(&field.base, "after the second restart").await;
        refused_while_locked(&field.base, "canbo", CANBO_PW, 401, "bad_credentials").await;
        refused_while_locked(&field.base, "canbomoi", LATE_PW, 401, "bad_credentials").await;
        // Guesses on the locked hub count against the login limits like any login (5 per name and
        // address): the 6th is refused before its password is tried, even the right one.
        for _ in 0..4 {
            refused_while_locked(
                &field.base,
                "canbo",
                "Doan-bua-2026",
                401,
                "bad_credentials",
            )
            .await;
        }
        let (s, b) = try_login(&field.base, "canbo", CANBO_NEW_PW).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (429, Some("rate_limited")),
            "{b}"
        );
        assert_locked(&field.base, "after the limit").await;
        // Another officer is not held back by it.
        let late = unlock_by_login(&field.base, "canbomoi", "Tam-thoi-2027-dai").await;
        let (_, me) = late.get("/api/v1/me").await;
        assert_eq!(me["must_change_password"], true, "{me}");
    });
}

#[test]
fn the_office_key_recovers_a_hub_whose_officers_forgot_their_passwords() {
    let (tmp, field_dir, office_dir, field) = paired_field(&["--sync", "off"]);
    let (f, o) = (field_dir.to_str().unwrap(), office_dir.to_str().unwrap());
    let draft = block_on(async {
        let admin = Client::setup(&field, "quantri", ADMIN_PW).await;
        admin.add_user("canbo", "officer", CANBO_PW).await;
        admin.add_user("tinhnguyen", "volunteer", TNV_PW).await;
        let officer = Client::login(&field.base, "canbo", CANBO_PW).await;
        Client::login(&field.base, "tinhnguyen", TNV_PW).await;
        let (s, d) = officer
            .post(
                "/api/v1/drafts",
                json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                       "fields": {"subject.full_name": "Điểu Thị Phục Hồi"}}),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        d["id"].as_str().unwrap().to_string()
    });
    // The escrow copy is to the paired office's key.
    let office_recipient = hub::shared::keys::load(&office_dir).unwrap().age_recipient;
    let kr: Value =
        serde_json::from_slice(&std::fs::read(field_dir.join("keys/keyring.json")).unwrap())
            .unwrap();
    assert!(
        kr["escrow"]["recipients"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x == office_recipient.as_str())),
        "escrow to the office key {office_recipient}: {kr}"
    );
    power_cut(field);

    // Who can unlock: the officers and admins, and the office by its key (no unlock needed to ask).
    let out = hub_cmd(&["vault", "status", "--data", f], &[], None);
    assert!(out.status.success(), "{}", text(&out));
    let status = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        status.contains("quantri") && status.contains("canbo"),
        "{status}"
    );
    assert!(
        !status.contains("tinhnguyen"),
        "volunteers cannot unlock: {status}"
    );
    assert!(
        status.contains(&office_recipient),
        "the office's key is named: {status}"
    );

    // Every officer forgot their password. A key that is not the office's is refused, and nothing changes.
    let other = tmp.path().join("other-office");
    init_office(&other);
    let before = std::fs::read(field_dir.join("keys/keyring.json")).unwrap();
    let wrong = other.join("keys/encrypt.age");
    let out = hub_cmd(
        &[
            "vault",
            "recover",
            "--data",
            f,
            "--identity",
            wrong.to_str().unwrap(),
            "--user",
            "canbo",
            "--password-stdin",
        ],
        &[],
        Some("Mat-khau-phuc-hoi-2027\n"),
    );
    assert!(!out.status.success(), "a wrong key: {}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !err.contains("panicked")
            && err.contains("escrow")
            && err.contains(wrong.to_str().unwrap()),
        "a clear message: the key given opens none of the hub's escrow copies: {err}"
    );
    assert_eq!(
        std::fs::read(field_dir.join("keys/keyring.json")).unwrap(),
        before,
        "the keyring is unchanged"
    );

    // The office's key: canbo gets a new password, which unlocks the hub.
    let recovered_pw = "Mat-khau-phuc-hoi-2027";
    let office_key = format!("{o}/keys/encrypt.age");
    let t0 = Instant::now();
    let out = hub_cmd(
        &[
            "vault",
            "recover",
            "--data",
            f,
            "--identity",
            &office_key,
            "--user",
            "canbo",
            "--password-stdin",
        ],
        &[],
        Some(&format!("{recovered_pw}\n")),
    );
    assert!(out.status.success(), "{}", text(&out));
    eprintln!(
        "figures: hub vault recover took {} ms",
        t0.elapsed().as_millis()
    );
    assert!(keyring_opens(&field_dir, "canbo", recovered_pw));
    assert!(!keyring_opens(&field_dir, "canbo", CANBO_PW));

    let field = Hub::start_locked("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        assert_locked(&field.base, "after the restart").await;
        refused_while_locked(&field.base, "canbo", CANBO_PW, 401, "bad_credentials").await;
        let officer = unlock_by_login(&field.base, "canbo", recovered_pw).await;
        // The recovered password is a temporary one: the officer chooses their own first.
        let (_, me) = officer.get("/api/v1/me").await;
        assert_eq!(me["must_change_password"], true, "{me}");
        let (s, b) = officer
            .post(
                "/api/v1/users/me/password",
                json!({"current_password": recovered_pw, "password": CANBO_NEW_PW}),
            )
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, d) = officer.get(&format!("/api/v1/drafts/{draft}")).await;
        assert_eq!(s, 200, "{d}");
        assert!(d.to_string().contains("Điểu Thị Phục Hồi"), "{d}");
        // The old password is gone from the accounts too.
        let (s, _) = try_login(&field.base, "canbo", CANBO_PW).await;
        assert_eq!(s, 401);
    });
    // The copy follows the password the officer chose.
    assert!(keyring_opens(&field_dir, "canbo", CANBO_NEW_PW));
    assert!(!keyring_opens(&field_dir, "canbo", recovered_pw));
    power_cut(field);
    let field = Hub::start_locked("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        assert_locked(&field.base, "after the officer chose a password").await;
        unlock_by_login(&field.base, "canbo", CANBO_NEW_PW).await;
    });
    let _ = &tmp;
}

#[test]
fn cli_commands_on_a_locked_directory_need_an_officer_or_the_office_key() {
    let (_tmp, field_dir, office_dir, field) = paired_field(&["--sync", "off"]);
    let f = field_dir.to_str().unwrap();
    block_on(async {
        let admin = Client::setup(&field, "quantri", ADMIN_PW).await;
        admin.add_user("canbo", "officer", CANBO_PW).await;
        admin.add_user("tinhnguyen", "volunteer", TNV_PW).await;
        admin.add_user("canbonghi", "officer", GONE_PW).await;
        // The officers' copies of the data key are made at their first login.
        Client::login(&field.base, "canbo", CANBO_PW).await;
        Client::login(&field.base, "canbonghi", GONE_PW).await;
    });
    // While the hub serves (unlocked in its own process), and after it stopped: the directory is locked
    // for any other process.
    let mut field = Some(field);
    for stopped in [false, true] {
        let out = hub_cmd(&["user", "list", "--data", f], &[], None);
        assert!(!out.status.success(), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            err.contains("HUB_UNLOCK_USER")
                && err.contains("HUB_UNLOCK_PASSWORD")
                && err.contains("HUB_UNLOCK_IDENTITY")
                && !err.contains("panicked"),
            "stopped={stopped}: {err}"
        );
        let out = hub_cmd(&["key", "show", "--data", f], &[], None);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("HUB_UNLOCK_USER"),
            "{}",
            text(&out)
        );
        if !stopped {
            // Nothing unlocks the directory for a volunteer or with a wrong password.
            for (user, pw, why) in [
                ("tinhnguyen", TNV_PW, "a volunteer"),
                ("canbo", "Sai-mat-khau-2026", "a wrong password"),
            ] {
                let out = hub_cmd(
                    &["user", "list", "--data", f],
                    &[("HUB_UNLOCK_USER", user), ("HUB_UNLOCK_PASSWORD", pw)],
                    None,
                );
                assert!(!out.status.success(), "{why}: {}", text(&out));
                assert!(
                    String::from_utf8_lossy(&out.stderr).contains("wrong user name or password"),
                    "{why}: {}",
                    text(&out)
                );
            }
        }
        let out = hub_cmd(
            &["user", "list", "--data", f],
            &[
                ("HUB_UNLOCK_USER", "canbo"),
                ("HUB_UNLOCK_PASSWORD", CANBO_PW),
            ],
            None,
        );
        assert!(out.status.success(), "{}", text(&out));
        let listed = String::from_utf8_lossy(&out.stdout);
        assert!(
            listed.contains("tinhnguyen") && listed.contains("quantri"),
            "{listed}"
        );
        let office_key = office_dir.join("keys/encrypt.age");
        let out = hub_cmd(
            &["key", "show", "--data", f],
            &[("HUB_UNLOCK_IDENTITY", office_key.to_str().unwrap())],
            None,
        );
        assert!(out.status.success(), "{}", text(&out));
        assert!(!out.stdout.is_empty());
        if let Some(hub) = field.take() {
            power_cut(hub);
        }
    }

    // Account changes by the CLI keep the copies in step: a password set there replaces the old copy, a
    // disabled account's copy is removed.
    assert!(keyring_opens(&field_dir, "canbonghi", GONE_PW));
    let unlock = [
        ("HUB_UNLOCK_USER", "canbo"),
        ("HUB_UNLOCK_PASSWORD", CANBO_PW),
    ];
    let out = hub_cmd(
        &["user", "disable", "--data", f, "--name", "canbonghi"],
        &unlock,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!keyring_holders(&field_dir).contains(&"canbonghi".to_string()));
    assert!(!keyring_opens(&field_dir, "canbonghi", GONE_PW));
    let mut env = unlock.to_vec();
    env.push(("HUB_PASSWORD", CANBO_NEW_PW));
    let out = hub_cmd(
        &["user", "passwd", "--data", f, "--name", "canbo"],
        &env,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(keyring_opens(&field_dir, "canbo", CANBO_NEW_PW));
    assert!(
        !keyring_opens(&field_dir, "canbo", CANBO_PW),
        "the password set by the CLI replaced the old copy"
    );
    let out = hub_cmd(
        &["user", "list", "--data", f],
        &[
            ("HUB_UNLOCK_USER", "canbo"),
            ("HUB_UNLOCK_PASSWORD", CANBO_NEW_PW),
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// A field directory as an earlier version left it: an admin, an officer and a volunteer, no keyring, a
/// plaintext database. (Today's `hub user add` of an officer or admin protects the directory at once, so
/// the accounts are written through the library, as the earlier version's were.)
fn legacy_plaintext_dir(dir: &Path) {
    init_hub("field", dir, Some("Tổ lưu động cũ"));
    let db = hub::shared::store::Db::open(&dir.join("hub.sqlite")).unwrap();
    db.call_sync(|c| {
        for (name, role, pw) in [
            ("quantri", "admin", ADMIN_PW),
            ("canbo", "officer", CANBO_PW),
            ("tinhnguyen", "volunteer", TNV_PW),
        ] {
            let role = hub::shared::auth::Role::parse(role).unwrap();
            let hash = hub::shared::auth::hash_password(pw).unwrap();
            hub::shared::auth::store::insert_user(c, name, role, &hash)?;
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_plaintext_field_directory_is_protected_at_the_first_officer_login() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    legacy_plaintext_dir(&dir);
    assert!(!dir.join("keys/keyring.json").exists());
    assert_eq!(head(&dir.join("hub.sqlite"), 16), b"SQLite format 3\0");

    let field = Hub::start_locked("field", &dir, &["--sync", "off"]);
    let name = "Điểu Thị Nâng Cấp";
    let pin = "070198664422";
    let mut needles = text_needles("name", name);
    needles.extend(text_needles("PIN", pin));
    let draft_name = "Lò Văn Ảnh Cũ";
    let draft_pin = "070198775533";
    needles.extend(text_needles("draft name", draft_name));
    needles.extend(text_needles("draft PIN", draft_pin));
    let photo = distinctive_photo(909);
    block_on(async {
        assert!(
            !is_locked(&field.base).await,
            "a plaintext directory is not locked"
        );
        predeclare(&field.base, name, pin).await;
        // A volunteer's login protects nothing (volunteers cannot unlock); their draft with a photo is
        // written in plaintext.
        let vol = Client::login(&field.base, "tinhnguyen", TNV_PW).await;
        let id = fill_draft(
            &vol,
            "marital-status-certificate",
            &marital_fields(draft_name, draft_pin),
            &["id_document"],
            "giay-to.jpg",
            &photo,
        )
        .await;
        for (aid, bytes) in stored_photos(&vol, &id).await {
            needles.extend(photo_needles(&format!("photo {aid}"), &bytes));
        }
    });
    // The control: in a plaintext directory the thief's search finds the villagers and the photo, so
    // the same search finding nothing later means something.
    let s = search(&dir, &needles);
    for what in ["name", "PIN", "draft name", "draft PIN", "photo"] {
        assert!(
            s.found.iter().any(|f| f.starts_with(what)),
            "the search finds the {what} before the protection ({} files, {} bytes): {:?}",
            s.files,
            s.bytes,
            s.found
        );
    }
    eprintln!(
        "control: in the plaintext directory the search found {} of {} needles",
        s.found.len(),
        needles.len()
    );
    assert!(!dir.join("keys/keyring.json").exists());
    assert_eq!(
        head(&dir.join("hub.sqlite"), 16),
        b"SQLite format 3\0",
        "a volunteer's login left the database as it was"
    );

    let t0 = Instant::now();
    // A volunteer keeps saving drafts while the officer's login converts the directory: every draft the
    // hub answered 201 for must be there afterwards (nothing written during the conversion is lost).
    let saved: Vec<String> = block_on(async {
        let vol = Client::login(&field.base, "tinhnguyen", TNV_PW).await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let stop = stop.clone();
            async move {
                let mut ids = Vec::new();
                let mut refused = Vec::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    i += 1;
                    let (s, d) = vol
                        .post(
                            "/api/v1/drafts",
                            json!({"procedure": {"id": "marital-status-certificate", "version": 1},
                                   "fields": {"subject.full_name": format!("Trong Lúc Mã Hóa {}", letters(i))}}),
                        )
                        .await;
                    match s {
                        201 => ids.push(d["id"].as_str().unwrap().to_string()),
                        _ => refused.push(format!("{s} {}", d["error"]["code"])),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (ids, refused)
            }
        };
        let login = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let officer = Client::login(&field.base, "canbo", CANBO_PW).await;
            let (s, list) = officer.get("/api/v1/predeclarations").await;
            assert_eq!(s, 200, "{list}");
            assert!(list.to_string().contains(name), "{list}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        let ((ids, refused), ()) = tokio::join!(writer, login);
        eprintln!(
            "figures: {} drafts saved while the directory was converted, {} refused: {refused:?}",
            ids.len(),
            refused.len()
        );
        assert!(ids.len() >= 3, "drafts were saved around the conversion");
        ids
    });
    // The conversion runs at the login (allow it a few seconds if it finishes in the background).
    while head(&dir.join("hub.sqlite"), 16) == b"SQLite format 3\0" {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "hub.sqlite is still plaintext 10 s after the officer's login"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "figures: protected {} ms after the officer's login started",
        t0.elapsed().as_millis()
    );
    assert!(dir.join("keys/keyring.json").exists());
    for rel in ["keys/device.ed25519", "keys/encrypt.age"] {
        assert_eq!(head(&dir.join(rel), SEALED.len()), SEALED, "{rel} sealed");
    }
    block_on(async {
        // Still serving, unlocked, the data there.
        let officer = Client::login(&field.base, "canbo", CANBO_PW).await;
        let (_, list) = officer.get("/api/v1/predeclarations").await;
        assert!(list.to_string().contains(name), "{list}");
    });
    power_cut(field);
    let s = search(&dir, &needles);
    let listing: Vec<String> = files_below(&dir)
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    assert!(
        s.found.is_empty(),
        "after the protection and a power cut the thief still finds {:#?} in {listing:?}",
        s.found
    );

    let field = Hub::start_locked("field", &dir, &["--sync", "off"]);
    block_on(async {
        assert_locked(&field.base, "an upgraded hub after a restart").await;
        // Only those who logged in since the upgrade hold a copy: the admin has not yet.
        refused_while_locked(&field.base, "quantri", ADMIN_PW, 503, "hub_locked").await;
        let officer = unlock_by_login(&field.base, "canbo", CANBO_PW).await;
        let (_, list) = officer.get("/api/v1/predeclarations").await;
        assert!(list.to_string().contains(name), "{list}");
        let (s, list) = officer.get("/api/v1/drafts").await;
        assert_eq!(s, 200, "{list}");
        let have: Vec<&str> = list["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["id"].as_str())
            .collect();
        let lost: Vec<&String> = saved
            .iter()
            .filter(|id| !have.contains(&id.as_str()))
            .collect();
        assert!(
            lost.is_empty(),
            "drafts answered 201 during the conversion and lost: {lost:?}"
        );
    });
}

/// The escrow copy of a hub protected before it was paired: none at first (`hub vault status` says a
/// forgotten password cannot be recovered yet), then, after a recovery key is made and the hub is paired,
/// an officer's next login puts the copy to both keys, and each of them recovers the hub.
#[test]
fn the_escrow_copy_follows_pairing_and_a_recovery_key_made_after_the_protection() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let office_dir = tmp.path().join("office");
    init_office(&office_dir);
    let (f, o) = (field_dir.to_str().unwrap(), office_dir.to_str().unwrap());
    let canbo_env = [
        ("HUB_UNLOCK_USER", "canbo"),
        ("HUB_UNLOCK_PASSWORD", CANBO_PW),
    ];
    let field = Hub::start_locked("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        let admin = Client::setup(&field, "quantri", ADMIN_PW).await;
        admin.add_user("canbo", "officer", CANBO_PW).await;
        Client::login(&field.base, "canbo", CANBO_PW).await;
    });
    let kr = |dir: &Path| -> Value {
        serde_json::from_slice(&std::fs::read(dir.join("keys/keyring.json")).unwrap()).unwrap()
    };
    assert!(kr(&field_dir)["escrow"].is_null(), "{}", kr(&field_dir));
    let out = hub_cmd(&["vault", "status", "--data", f], &[], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No escrow copy"),
        "{}",
        text(&out)
    );
    let office_key = office_dir.join("keys/encrypt.age");
    let recover = |identity: &Path, user: &str, pw: &str| {
        hub_cmd(
            &[
                "vault",
                "recover",
                "--data",
                f,
                "--identity",
                identity.to_str().unwrap(),
                "--user",
                user,
                "--password-stdin",
            ],
            &[],
            Some(&format!("{pw}\n")),
        )
    };
    let out = recover(&office_key, "canbo", "Chua-ghep-doi-2026");
    assert!(!out.status.success(), "no escrow copy yet: {}", text(&out));

    // A recovery key (its secret kept outside the hub) and the pairing with the office, by files.
    let out = hub_cmd(
        &["backup", "recovery-key", "new", "--data", f],
        &canbo_env,
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    let secret = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("{}", text(&out)))
        .to_string();
    let recovery_file = tmp.path().join("recovery.key");
    std::fs::write(&recovery_file, format!("{secret}\n")).unwrap();
    let (field_card, office_card) = (tmp.path().join("field.pub"), tmp.path().join("office.pub"));
    for (dir, card, env) in [(f, &field_card, &canbo_env[..]), (o, &office_card, &[][..])] {
        let out = hub_cmd(&["key", "show", "--data", dir], env, None);
        assert!(out.status.success(), "{}", text(&out));
        std::fs::write(card, &out.stdout).unwrap();
    }
    for (dir, card, env) in [(f, &office_card, &canbo_env[..]), (o, &field_card, &[][..])] {
        let out = hub_cmd(&["trust", "--data", dir, card.to_str().unwrap()], env, None);
        assert!(out.status.success(), "{}", text(&out));
    }

    // The officer's next login brings the escrow copy in step: to the office key and the recovery key.
    block_on(async {
        Client::login(&field.base, "canbo", CANBO_PW).await;
    });
    let office_recipient = hub::shared::keys::load(&office_dir).unwrap().age_recipient;
    let recovery_recipient = std::fs::read_to_string(field_dir.join("backup-recovery-key.pub"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("age1"))
        .unwrap()
        .trim()
        .to_string();
    let escrow = kr(&field_dir)["escrow"]["recipients"].clone();
    for r in [&office_recipient, &recovery_recipient] {
        assert!(
            escrow
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == r.as_str())),
            "escrow to {r}: {escrow}"
        );
    }
    power_cut(field);

    // Each key recovers: the recovery key for the admin, the office key for the officer.
    let out = recover(&recovery_file, "quantri", "Phuc-hoi-quan-tri-2027");
    assert!(out.status.success(), "{}", text(&out));
    let out = recover(&office_key, "canbo", "Phuc-hoi-can-bo-2027");
    assert!(out.status.success(), "{}", text(&out));
    let field = Hub::start_locked("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        assert_locked(&field.base, "after the recoveries").await;
        let admin = unlock_by_login(&field.base, "quantri", "Phuc-hoi-quan-tri-2027").await;
        assert_eq!(
            admin.get("/api/v1/me").await.1["must_change_password"],
            true
        );
        let (s, b) = try_login(&field.base, "canbo", "Phuc-hoi-can-bo-2027").await;
        assert_eq!(s, 200, "{b}");
    });
}

/// Copies the directory tree `from` into `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let kind = e.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&src, &dst);
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// Whether any file below `dir` has a name ending in `suffix`.
fn any_file_ending(dir: &Path, suffix: &str) -> Option<std::path::PathBuf> {
    files_below(dir)
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(suffix))
}

/// A power cut while the first officer's login converts a plaintext directory (upgrade), at three points:
/// while the secret files are being sealed beside the plain ones, while the database is being exported
/// into its encrypted copy (before the commit), and just after the keyring was written (the commit). At
/// the next start the conversion is rolled back or forward: nothing is lost, no half-converted file stays,
/// and a directory that counts as protected holds no plaintext.
#[test]
fn a_power_cut_during_the_protection_loses_nothing_and_leaves_no_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    legacy_plaintext_dir(&base);
    // Enough data that the export takes a while: drafts with two photos each.
    const DRAFTS: usize = 12;
    let names: Vec<String> = (1..=DRAFTS as u32)
        .map(|i| format!("Điểu Thị Mất Điện {}", letters(i)))
        .collect();
    let hub = Hub::start_locked("field", &base, &["--sync", "off"]);
    block_on(async {
        let vol = Client::login(&hub.base, "tinhnguyen", TNV_PW).await;
        for (i, n) in names.iter().enumerate() {
            fill_draft(
                &vol,
                "marital-status-certificate",
                &json!({ "subject.full_name": n }),
                &["id_document", "id_document"],
                "giay-to.jpg",
                &distinctive_photo(1_000 + i as u32),
            )
            .await;
        }
    });
    power_cut(hub);
    let mut needles = Vec::new();
    for n in &names {
        needles.extend(text_needles("name", n));
    }
    let sz: u64 = files_below(&base)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    eprintln!("figures: the plaintext directory holds {sz} bytes");

    for (at, trigger) in [
        ("sealing the key files", ".sealing"),
        ("exporting the database", "hub.sqlite.protecting"),
        ("just after the commit", "keys/keyring.json"),
    ] {
        let dir = tmp.path().join(trigger.replace(['/', '.'], "_"));
        copy_tree(&base, &dir);
        let mut hub = Hub::start_locked("field", &dir, &["--sync", "off"]);
        let base_url = hub.base.clone();
        // The login's answer never comes: the power is cut under it.
        let login = std::thread::spawn(move || {
            block_on(async move {
                let _ = reqwest::Client::new()
                    .post(format!("{base_url}/api/v1/login"))
                    .json(&json!({"name": "canbo", "password": CANBO_PW}))
                    .send()
                    .await;
            })
        });
        let t0 = Instant::now();
        let mut seen = None;
        while t0.elapsed() < Duration::from_secs(60) && !login.is_finished() {
            if let Some(p) = any_file_ending(&dir, trigger) {
                seen = Some(p);
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        hub.child.kill().unwrap();
        hub.child.wait().unwrap();
        let _ = login.join();
        let protected = dir.join("keys/keyring.json").exists();
        eprintln!(
            "power cut {at}: trigger {} after {} ms; protected at the cut: {protected}",
            if seen.is_some() { "seen" } else { "NOT seen" },
            t0.elapsed().as_millis()
        );
        assert!(
            seen.is_some(),
            "{at}: the cut came too late to test this point"
        );

        let hub = Hub::start_locked("field", &dir, &["--sync", "off"]);
        let leftovers: Vec<_> = [".sealing", ".protecting", ".tmp"]
            .iter()
            .filter_map(|s| any_file_ending(&dir, s))
            .collect();
        assert!(
            leftovers.is_empty(),
            "{at}: half-converted files after the start: {leftovers:?}"
        );
        block_on(async {
            let officer = if protected {
                assert_locked(&hub.base, at).await;
                unlock_by_login(&hub.base, "canbo", CANBO_PW).await
            } else {
                assert!(!is_locked(&hub.base).await, "{at}: rolled back, not locked");
                Client::login(&hub.base, "canbo", CANBO_PW).await
            };
            let (s, list) = officer.get("/api/v1/drafts").await;
            assert_eq!(s, 200, "{list}");
            let text = list.to_string();
            let missing: Vec<&String> = names
                .iter()
                .filter(|n| !text.contains(n.as_str()))
                .collect();
            assert!(missing.is_empty(), "{at}: drafts lost: {missing:?}");
        });
        // Protected now in every case (rolled forward at the start, or at this login): no plaintext left.
        while head(&dir.join("hub.sqlite"), 16) == b"SQLite format 3\0" {
            std::thread::sleep(Duration::from_millis(100));
        }
        power_cut(hub);
        for rel in ["keys/device.ed25519", "keys/encrypt.age"] {
            assert_eq!(
                head(&dir.join(rel), SEALED.len()),
                SEALED,
                "{at}: {rel} sealed"
            );
        }
        let s = search(&dir, &needles);
        assert!(s.found.is_empty(), "{at}: plaintext left: {:?}", s.found);
    }
}

/// `hub user add` while a hub serves an unprotected field directory must not encrypt the database under the
/// running server (it would go on writing to a removed file: everything saved after would be lost). The
/// command leaves the protection to the serving hub, which does it at that user's first login; what was
/// saved before and after stays.
#[test]
fn a_command_never_encrypts_the_database_under_a_serving_hub() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("field");
    let d = dir.to_str().unwrap();
    let out = hub_cmd(&["init", "--mode", "field", "--data", d], &[], None);
    assert!(out.status.success(), "{}", text(&out));
    let hub = Hub::start_locked("field", &dir, &[]);
    let out = hub_cmd(
        &[
            "user", "add", "--data", d, "--role", "officer", "--name", "canbo",
        ],
        &[("HUB_PASSWORD", CANBO_PW)],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("encrypts its data at rest when `canbo` first logs in"),
        "{}",
        text(&out)
    );
    assert!(
        !dir.join("keys/keyring.json").exists(),
        "protected under the serving hub"
    );
    assert_eq!(
        head(&dir.join("hub.sqlite"), 16),
        b"SQLite format 3\0".to_vec()
    );
    block_on(async {
        let c = Client::login(&hub.base, "canbo", CANBO_PW).await;
        let (s, d1) = c
            .post(
                "/api/v1/drafts",
                json!({"procedure": {"id": "marital-status-certificate", "version": 2}, "fields": {}}),
            )
            .await;
        assert_eq!(s, 201, "{d1}");
        // Protected by that login (the serving hub encrypts its own database); it goes on serving.
        let c = Client::login(&hub.base, "canbo", CANBO_PW).await;
        assert!(
            dir.join("keys/keyring.json").exists(),
            "the login protects the data"
        );
        let (s, d2) = c
            .post(
                "/api/v1/drafts",
                json!({"procedure": {"id": "marital-status-certificate", "version": 2}, "fields": {}}),
            )
            .await;
        assert_eq!(s, 201, "{d2}");
        let (s, list) = c.get("/api/v1/drafts").await;
        assert_eq!(s, 200, "{list}");
        let ids: Vec<&str> = list["drafts"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["id"].as_str())
            .collect();
        for d in [&d1, &d2] {
            assert!(ids.contains(&d["id"].as_str().unwrap()), "{list}");
        }
    });
    assert_ne!(
        head(&dir.join("hub.sqlite"), 16),
        b"SQLite format 3\0".to_vec()
    );
}
