//! Backups of a protected field hub (issue 19): the archive holds the data as it is on disk — the database
//! encrypted with the hub's data key, the key files sealed, the keyring with the wrapped copies of the key —
//! so even whoever opens the archive (the office, the recovery key) finds no villager's name in clear
//! without the data key; a restore gives a protected data directory that starts locked, which an officer's
//! password or the recovery key opens, with the draft in it. `hub backup verify` unwraps the data key from
//! the archive's escrow copy with the key that opened the archive, and says plainly what it could not check
//! when that key does not open the escrow copy (a hub protected before it was paired).

use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::backup::{recovery_key, s};
use crate::common::*;

const ADMIN: &str = "quantri";
const ADMIN_PW: &str = "mat-khau-quan-tri";
const OFFICER: &str = "canbo";
const OFFICER_PW: &str = "Can-bo-sao-luu-2026";
/// A distinctive villager, and a PIN: ASCII digits, so a search finds them whatever the text encoding.
const NAME: &str = "Điểu Thị Bảo Mật Xuân";
const PIN: &str = "079301009988";

/// Runs `hub` with `args` and exactly `envs` as far as unlocking goes (no `HUB_UNLOCK_*` inherited):
/// (exit code, stdout, stderr).
fn run_clean(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(hub_bin());
    cmd.args(args)
        .env("HUB_LOG", "warn")
        .env_remove("HUB_UNLOCK_USER")
        .env_remove("HUB_UNLOCK_PASSWORD")
        .env_remove("HUB_UNLOCK_IDENTITY");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run hub");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(r: (i32, String, String), what: &str) -> String {
    assert_eq!(r.0, 0, "{what}: stdout {}\nstderr {}", r.1, r.2);
    r.1
}

fn admin_env() -> [(&'static str, &'static str); 2] {
    [
        ("HUB_UNLOCK_USER", ADMIN),
        ("HUB_UNLOCK_PASSWORD", ADMIN_PW),
    ]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Decrypts the backup file with the identity file `key`, as anyone holding the office's key or the
/// recovery key can: the plain tar archive.
fn decrypt(backup: &Path, key: &Path) -> Vec<u8> {
    let ids = hub::shared::backup::keys::read_identities(key).unwrap();
    let f = std::io::BufReader::new(std::fs::File::open(backup).unwrap());
    let dec = age::Decryptor::new_buffered(f).unwrap();
    let mut r = dec
        .decrypt(ids.iter().map(|i| i as &dyn age::Identity))
        .expect("the key opens the backup file");
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

/// The files of a tar archive, by path.
fn tar_files(tar_bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(tar_bytes);
    let mut out = std::collections::BTreeMap::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let p = e.path().unwrap().to_string_lossy().into_owned();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        out.insert(p, b);
    }
    out
}

/// Asserts the decrypted archive holds the protected hub's data only in its encrypted form.
fn assert_nothing_in_clear(tar_bytes: &[u8]) {
    let files = tar_files(tar_bytes);
    let db = files
        .get("hub.sqlite")
        .expect("the database is in the archive");
    assert!(db.len() > 4096, "a real database: {} bytes", db.len());
    assert!(
        !db.starts_with(b"SQLite format 3"),
        "the database in the backup of a protected hub is plaintext"
    );
    assert!(
        files.contains_key("keys/keyring.json"),
        "the keyring travels with the data: {:?}",
        files.keys()
    );
    for rel in hub::shared::unlock::SEALED_FILES {
        if let Some(b) = files.get(*rel) {
            assert!(
                b.starts_with(hub::shared::vault::files::MAGIC),
                "{rel} is in the backup unsealed"
            );
        }
    }
    assert!(files.contains_key("keys/device.ed25519"));
    let manifest: serde_json::Value = serde_json::from_slice(&files["MANIFEST.json"]).unwrap();
    assert_eq!(manifest["protected"], true, "{manifest}");
    for needle in [NAME, PIN, "Bảo Mật Xuân"] {
        assert!(
            !contains(tar_bytes, needle.as_bytes()),
            "{needle} is in clear in the decrypted backup"
        );
    }
}

/// The `fields_json` of every draft in the protected `data`, read with the key from `identity` (what
/// `hub vault recover --identity` does), leaving the directory locked again in this process.
fn drafts_with_identity(data: &Path, identity: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(identity).unwrap();
    hub::shared::unlock::unlock_identity(data, &text).expect("the key opens the escrow copy");
    let rows = read_drafts(data);
    hub::shared::vault::forget(data);
    rows
}

/// The protected hub `data`'s own age identity in plaintext, written to `dir/own-age.key`: what a thief who
/// unlocked the hub with an officer's or admin's password (the tests' standard ones) would hold. A real key,
/// but not one backups are made for. On a plaintext directory, a copy of the file.
pub fn own_age_key(data: &Path, dir: &Path) -> std::path::PathBuf {
    let file = data.join("keys/encrypt.age");
    if hub::shared::vault::is_protected(data) {
        let opened = [(ADMIN, ADMIN_PW), (OFFICER, "mat-khau-can-bo")]
            .iter()
            .any(|(u, pw)| {
                hub::shared::unlock::unlock_password(
                    data,
                    &hub::shared::vault::keyring::name_key(u),
                    pw,
                )
                .is_ok()
            });
        assert!(opened, "no standard password unlocks {}", data.display());
    }
    let plain = hub::shared::vault::files::read_secret(data, &file).unwrap();
    hub::shared::vault::forget(data);
    let out = dir.join("own-age.key");
    std::fs::write(&out, plain).unwrap();
    out
}

/// The `fields_json` of every draft in the protected `data`, read with the data key that the password of
/// `user` unwraps; the directory is locked again in this process afterwards.
pub fn drafts_with_password(data: &Path, user: &str, password: &str) -> Vec<String> {
    hub::shared::unlock::unlock_password(
        data,
        &hub::shared::vault::keyring::name_key(user),
        password,
    )
    .expect("the password unlocks the hub");
    let rows = read_drafts(data);
    hub::shared::vault::forget(data);
    rows
}

fn read_drafts(data: &Path) -> Vec<String> {
    let c = hub::shared::store::open_connection(&data.join("hub.sqlite")).unwrap();
    let mut st = c.prepare("SELECT fields_json FROM drafts").unwrap();
    let rows: Vec<String> = st
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows
}

/// Asserts `data` is a protected data directory at rest: keyring, encrypted database, sealed key files.
fn assert_protected_at_rest(data: &Path) {
    assert!(data.join("keys/keyring.json").exists(), "no keyring");
    assert!(hub::shared::store::is_encrypted_file(
        &data.join("hub.sqlite")
    ));
    assert!(hub::shared::vault::files::is_sealed(
        &data.join("keys/device.ed25519")
    ));
    assert!(hub::shared::vault::files::is_sealed(
        &data.join("keys/encrypt.age")
    ));
}

#[test]
fn a_protected_field_backup_stays_encrypted_inside_and_restores_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let (field_dir, office_dir) = (tmp.path().join("field"), tmp.path().join("office"));
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    init_office(&office_dir);
    init_hub("field", &field_dir, None);
    let recovery = recovery_key(&field_dir, tmp.path(), "recovery.key");
    // Paired before the first admin: the escrow copy of the data key is for the office and the recovery key.
    pair_by_files(tmp.path(), &field_dir, &office_dir);
    let office_key = office_dir.join("keys/encrypt.age");
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    let draft = block_on(async {
        let admin = Client::setup(&field, ADMIN, ADMIN_PW).await;
        assert!(
            field_dir.join("keys/keyring.json").exists(),
            "the first admin's setup protects the field hub"
        );
        admin.add_user(OFFICER, "officer", OFFICER_PW).await;
        let officer = Client::login(&field.base, OFFICER, OFFICER_PW).await;
        fill_draft(
            &officer,
            "marital-status-certificate",
            &marital_fields(NAME, PIN),
            &["id_document"],
            "giay-to.jpg",
            &photo,
        )
        .await
    });
    assert_protected_at_rest(&field_dir);

    // The backup, while the hub serves; the CLI unlocks the directory with the admin's password.
    let backup = tmp.path().join("field.backup");
    let (code, out, err) = run_clean(
        &["backup", "--data", s(&field_dir), "--out", s(&backup)],
        &admin_env(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("inside, the database and key files stay encrypted with the hub's data key"),
        "{out}"
    );
    // No unlock given: the serving, unlocked hub writes it over DATA/backup.sock (a USB stick plugged in;
    // refusals when nothing holds the key: `an_unattended_backup_of_a_protected_hub_is_made_by_the_process_holding_the_key`).
    let delegated = tmp.path().join("delegated.backup");
    let (code, out, err) = run_clean(
        &["backup", "--data", s(&field_dir), "--out", s(&delegated)],
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(delegated.exists());

    // Whoever opens the archive (the office, the recovery key) finds the data still encrypted.
    for key in [&office_key, &recovery] {
        assert_nothing_in_clear(&decrypt(&backup, key));
    }

    // Verify with the office's key: the data key is unwrapped from the escrow copy, every check runs.
    let verified = ok(
        run_clean(
            &[
                "backup",
                "verify",
                "--from",
                s(&backup),
                "--identity",
                s(&office_key),
            ],
            &[],
        ),
        "verify with the office key",
    );
    assert!(
        verified.contains("Backup verified")
            && verified.contains("opened with the key that opened the backup")
            && !verified.contains("PARTLY"),
        "{verified}"
    );
    assert!(
        verified.contains("drafts 1"),
        "counted from the database: {verified}"
    );

    // Restore with the recovery key into a new directory: protected and locked, like the original.
    drop(field);
    let restored = tmp.path().join("restored");
    let out = ok(
        run_clean(
            &[
                "restore",
                "--data",
                s(&restored),
                "--from",
                s(&backup),
                "--identity",
                s(&recovery),
            ],
            &[],
        ),
        "restore",
    );
    assert!(
        out.contains("Restored into") && out.contains("starts locked"),
        "{out}"
    );
    assert_protected_at_rest(&restored);
    assert!(
        hub::shared::unlock::is_locked(&restored),
        "the restore left the key registered"
    );
    // The recovery key opens it (`hub vault recover`), and the draft is there.
    let drafts = drafts_with_identity(&restored, &recovery);
    assert_eq!(drafts.len(), 1, "{drafts:?}");
    assert!(
        drafts[0].contains(NAME) && drafts[0].contains(PIN),
        "{drafts:?}"
    );
    // A CLI command on the restored directory needs it unlocked: HUB_UNLOCK_IDENTITY does it.
    let (code, _, err) = run_clean(&["key", "show", "--data", s(&restored)], &[]);
    assert_ne!(code, 0, "{err}");
    let card = ok(
        run_clean(
            &["key", "show", "--data", s(&restored)],
            &[("HUB_UNLOCK_IDENTITY", s(&recovery))],
        ),
        "a command with HUB_UNLOCK_IDENTITY",
    );
    let device = std::fs::read_to_string(tmp.path().join("field.pub")).unwrap();
    assert_eq!(card, device, "the restored hub is the same device");
    // The restored hub starts locked; the officer's password opens it and the draft is there.
    let hub = Hub::start_locked("field", &restored, &["--sync", "off"]);
    block_on(async {
        let (st, setup) = Client::new(&hub.base).get("/api/v1/setup").await;
        assert_eq!(
            (st, &setup["locked"]),
            (200, &serde_json::json!(true)),
            "{setup}"
        );
        let officer = Client::login(&hub.base, OFFICER, OFFICER_PW).await;
        let (st, d) = officer.get(&format!("/api/v1/drafts/{draft}")).await;
        assert_eq!(st, 200, "{d}");
        assert!(d.to_string().contains(PIN), "{d}");
    });
}

#[test]
fn verify_says_what_it_could_not_check_when_the_key_does_not_open_the_escrow_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let (field_dir, office_dir) = (tmp.path().join("field"), tmp.path().join("office"));
    init_office(&office_dir);
    init_hub("field", &field_dir, None);
    let recovery = recovery_key(&field_dir, tmp.path(), "recovery.key");
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    // Protected before it was paired: the escrow copy is for the recovery key only.
    block_on(async {
        Client::setup(&field, ADMIN, ADMIN_PW).await;
    });
    drop(field);
    assert_protected_at_rest(&field_dir);
    // Paired afterwards (no officer has logged in since, so the escrow copy is still recovery-only).
    let (field_card, office_card) = (tmp.path().join("field.pub"), tmp.path().join("office.pub"));
    std::fs::write(
        &field_card,
        ok(
            run_clean(&["key", "show", "--data", s(&field_dir)], &admin_env()),
            "key show",
        ),
    )
    .unwrap();
    key_card(&office_dir, &office_card);
    ok(
        run_clean(
            &["trust", "--data", s(&field_dir), s(&office_card)],
            &admin_env(),
        ),
        "trust on the field hub",
    );
    trust_card(&office_dir, &field_card);
    let office_key = office_dir.join("keys/encrypt.age");
    // The escrow copy as a hub protected before it was paired has it until its escrow is brought up to
    // date (an unlocked start, a pairing over the network, an officer's login): for the recovery key only.
    hub::shared::unlock::unlock_password(&field_dir, ADMIN, ADMIN_PW).unwrap();
    let recovery_pub = std::fs::read_to_string(field_dir.join("backup-recovery-key.pub")).unwrap();
    let recovery_pub = recovery_pub
        .lines()
        .find(|l| l.starts_with("age1"))
        .unwrap()
        .to_string();
    hub::shared::vault::keyring::set_escrow(&field_dir, std::slice::from_ref(&recovery_pub))
        .unwrap();
    hub::shared::vault::forget(&field_dir);
    let kr = hub::shared::vault::keyring::load(&field_dir)
        .unwrap()
        .unwrap();
    assert_eq!(kr.escrow.unwrap().recipients, vec![recovery_pub]);

    let backup = tmp.path().join("field.backup");
    ok(
        run_clean(
            &["backup", "--data", s(&field_dir), "--out", s(&backup)],
            &admin_env(),
        ),
        "backup",
    );
    // The office's key opens the backup file (it was made for the paired office) but not the data key.
    assert_nothing_in_clear(&decrypt(&backup, &office_key));
    let verify = |identity: &Path, envs: &[(&str, &str)]| {
        ok(
            run_clean(
                &[
                    "backup",
                    "verify",
                    "--from",
                    s(&backup),
                    "--identity",
                    s(identity),
                ],
                envs,
            ),
            "verify",
        )
    };
    let partly = verify(&office_key, &[]);
    assert!(
        partly.contains("PARTLY CHECKED")
            && partly.contains("does not open the escrow copy of the data key")
            && partly.contains("the recovery key")
            && partly.contains("NOT checked: the database's integrity and the hub's keys"),
        "{partly}"
    );
    // With an admin's password as well, or with the recovery key, every check runs.
    let full = verify(&office_key, &admin_env());
    assert!(
        !full.contains("PARTLY") && full.contains("opened with the password of quantri"),
        "{full}"
    );
    let full = verify(&recovery, &[]);
    assert!(
        !full.contains("PARTLY") && full.contains("opened with the key that opened the backup"),
        "{full}"
    );
    // A wrong password is named as such and the check stays partial.
    let wrong = verify(
        &office_key,
        &[
            ("HUB_UNLOCK_USER", ADMIN),
            ("HUB_UNLOCK_PASSWORD", "not-it"),
        ],
    );
    assert!(
        wrong.contains("PARTLY CHECKED") && wrong.contains("does not unlock this backup's hub"),
        "{wrong}"
    );

    // The office can still restore it: the restored hub is locked and the admin's password opens it.
    let restored = tmp.path().join("restored");
    let out = ok(
        run_clean(
            &[
                "restore",
                "--data",
                s(&restored),
                "--from",
                s(&backup),
                "--identity",
                s(&office_key),
            ],
            &[],
        ),
        "restore with the office key",
    );
    assert!(
        out.contains("PARTLY CHECKED") && out.contains("starts locked"),
        "{out}"
    );
    assert_protected_at_rest(&restored);
    let who = hub::shared::unlock::unlock_password(
        &restored,
        &hub::shared::vault::keyring::name_key(ADMIN),
        ADMIN_PW,
    )
    .expect("the admin's password opens the restored hub");
    assert_eq!(who.role, "admin");
    let c = hub::shared::store::open_connection(&restored.join("hub.sqlite")).unwrap();
    let integrity: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    drop(c);
    hub::shared::vault::forget(&restored);
}

/// The USB stick service runs `hub backup` unattended, with no password to give: on a protected hub the
/// command asks the process that holds the data key over `DATA/backup.sock`. Here, once the hub has
/// stopped (no process holds the key: refused), this test process plays the serving hub's part (unlocked
/// by the admin's password, answering on the socket); the `hub backup` binary, given no `HUB_UNLOCK_*`,
/// gets the same encrypted archive. Once that process is locked again, the command says so and writes
/// nothing.
#[test]
fn an_unattended_backup_of_a_protected_hub_is_made_by_the_process_holding_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    init_hub("field", &field_dir, None);
    let recovery = recovery_key(&field_dir, tmp.path(), "recovery.key");
    let field = Hub::start_with("field", &field_dir, &["--sync", "off"]);
    block_on(async {
        let admin = Client::setup(&field, ADMIN, ADMIN_PW).await;
        fill_draft(
            &admin,
            "marital-status-certificate",
            &marital_fields(NAME, PIN),
            &["id_document"],
            "giay-to.jpg",
            &photo,
        )
        .await;
    });
    drop(field);
    assert_protected_at_rest(&field_dir);
    // No process holds the key and no password is given: refused, nothing written.
    let out = tmp.path().join("usb.hubbackup");
    let (code, _, err) = run_clean(&["backup", "--data", s(&field_dir), "--out", s(&out)], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("encrypted and locked"), "{err}");
    assert!(!out.exists());

    hub::shared::unlock::unlock_password(&field_dir, ADMIN, ADMIN_PW).unwrap();
    hub::shared::backup::socket::serve(&field_dir).unwrap();
    let (code, stdout, err) =
        run_clean(&["backup", "--data", s(&field_dir), "--out", s(&out)], &[]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(
        stdout.contains("Backup of field hub")
            && stdout.contains("encrypted to the recovery key")
            && stdout.contains("stay encrypted with the hub's data key"),
        "{stdout}"
    );
    assert_nothing_in_clear(&decrypt(&out, &recovery));
    // Standard output works too (the USB script writes `--out -` to the stick).
    let piped = Command::new(hub_bin())
        .args(["backup", "--data", s(&field_dir), "--out", "-"])
        .env("HUB_LOG", "warn")
        .env_remove("HUB_UNLOCK_USER")
        .env_remove("HUB_UNLOCK_PASSWORD")
        .env_remove("HUB_UNLOCK_IDENTITY")
        .output()
        .unwrap();
    assert!(
        piped.status.success(),
        "{}",
        String::from_utf8_lossy(&piped.stderr)
    );
    let on_stick = tmp.path().join("stick.hubbackup");
    std::fs::write(&on_stick, &piped.stdout).unwrap();
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&piped.stdout));
    assert!(
        String::from_utf8_lossy(&piped.stderr).contains(&format!("sha256 {sha}")),
        "the summary's SHA-256 is of the bytes received"
    );
    let verified = ok(
        run_clean(
            &[
                "backup",
                "verify",
                "--from",
                s(&on_stick),
                "--identity",
                s(&recovery),
            ],
            &[],
        ),
        "verify the piped backup",
    );
    assert!(
        verified.contains("drafts 1") && !verified.contains("PARTLY"),
        "{verified}"
    );

    // The holder of the key locked again (a restart): the command says so and writes nothing.
    hub::shared::vault::forget(&field_dir);
    let again = tmp.path().join("again.hubbackup");
    let (code, _, err) = run_clean(
        &["backup", "--data", s(&field_dir), "--out", s(&again)],
        &[],
    );
    assert_ne!(code, 0);
    assert!(err.contains("serving but locked"), "{err}");
    assert!(!again.exists() && !tmp.path().join("again.hubbackup.partial").exists());
}
