//! Backups a thief cannot open (issue 19): a field hub's backup opens with its office's key and with the
//! recovery key kept on paper at the office, and with nothing found on the hub (every file of its data
//! directory is tried as a key); its bytes hold no name or PIN in clear; an unpaired field hub backs up to
//! the recovery key only and says so; with no key at all (or an office hub without a recovery key) the
//! backup is refused and nothing is written; a passphrase backup made before this change still restores.

use std::path::{Path, PathBuf};

use crate::backup::{recovery_key, run, s};
use crate::common::*;

/// Every regular file under `dir`.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Restores `backup` into a fresh directory with `--identity key`: (exit code, stdout, stderr), and
/// whether the directory was created.
fn restore_with(tmp: &Path, backup: &Path, key: &Path, n: usize) -> (i32, String, String, bool) {
    let dest = tmp.join(format!("try-{n}"));
    let (code, out, err) = run(
        &[
            "restore",
            "--data",
            s(&dest),
            "--from",
            s(backup),
            "--identity",
            s(key),
        ],
        &[],
    );
    (code, out, err, dest.exists())
}

#[test]
fn a_field_backup_opens_with_the_office_and_recovery_keys_and_nothing_on_the_hub() {
    let tmp = tempfile::tempdir().unwrap();
    let (field_dir, office_dir) = (tmp.path().join("field"), tmp.path().join("office"));
    let photo = std::fs::read(sample_photo("to-khai-xac-nhan-hon-nhan.jpg")).unwrap();
    init_office(&office_dir);
    // `hub init --recovery-key` makes the key and prints its secret once (with a QR code).
    let out = cli_ok(
        &[
            "init",
            "--mode",
            "field",
            "--data",
            s(&field_dir),
            "--recovery-key",
        ],
        &[],
    );
    let secret = out
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();
    assert!(out.contains("shown ONCE") && out.contains('█'), "{out}");
    let paper = tmp.path().join("paper.key");
    std::fs::write(&paper, format!("{secret}\n")).unwrap();
    // Only the public part stays on the hub.
    for f in files_under(&field_dir) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !contains(&bytes, &secret),
            "{} holds the secret",
            f.display()
        );
    }
    let again = cli_ok(&["init", "--data", s(&field_dir), "--recovery-key"], &[]);
    assert!(
        again.contains("exists already") && !again.contains("AGE-SECRET-KEY"),
        "{again}"
    );
    pair_by_files(tmp.path(), &field_dir, &office_dir);
    for (role, name, pw) in [
        ("admin", "quantri", "mat-khau-quan-tri"),
        ("officer", "canbo", "mat-khau-can-bo"),
    ] {
        cli_ok(
            &[
                "user",
                "add",
                "--data",
                s(&field_dir),
                "--role",
                role,
                "--name",
                name,
            ],
            &[("HUB_PASSWORD", pw)],
        );
    }
    // A sealed dossier and a draft still in plaintext in the field database.
    let (name, pin) = ("Điểu Thị Hạnh", "070198004455");
    let field = Hub::start("field", &field_dir);
    block_on(async {
        let officer = Client::login(&field.base, "canbo", "mat-khau-can-bo").await;
        capture_and_seal(&officer, "Thị Sa Ly", "058198004567", &photo).await;
        fill_draft(
            &officer,
            "marital-status-certificate",
            &marital_fields(name, pin),
            &["id_document"],
            "giay-to.jpg",
            &photo,
        )
        .await;
    });

    // The draft is in the field database (read with the data key: the officer's login protected the hub,
    // issue 19), so the searches below would find its name and PIN if they were anywhere in clear.
    let drafts =
        crate::backup_protected::drafts_with_password(&field_dir, "canbo", "mat-khau-can-bo");
    assert!(
        drafts.iter().any(|d| d.contains(name) && d.contains(pin)),
        "{drafts:?}"
    );
    // Even a plain archive of a protected hub holds them only encrypted (database and keys as on disk).
    let plain = tmp.path().join("plain.tar");
    let (code, _, err) = run(
        &[
            "backup",
            "--data",
            s(&field_dir),
            "--out",
            s(&plain),
            "--unencrypted",
        ],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let plain_bytes = std::fs::read(&plain).unwrap();
    assert!(
        !contains(&plain_bytes, name) && !contains(&plain_bytes, pin),
        "the plain archive of a protected hub holds the draft in clear"
    );

    // The backup, while the hub serves: to the office key and the recovery key, no secret asked.
    let backup = tmp.path().join("tram.hubbackup");
    let (code, out, err) = run(
        &["backup", "--data", s(&field_dir), "--out", s(&backup)],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("encrypted to the office key of \"UBND xã\"")
            && out.contains("and the recovery key"),
        "{out}"
    );
    assert!(!err.contains("note:"), "{err}");
    let bytes = std::fs::read(&backup).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    for needle in [name, pin, "Thị Sa Ly", "058198004567", "canbo", "quantri"] {
        assert!(
            !contains(&bytes, needle),
            "{needle} is in the backup in clear"
        );
    }
    // The summary's sha256 is the file's (usb-backup.sh checks the copy on the stick with it).
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    assert!(out.contains(&format!("sha256 {sha}")), "{out}");

    // Nothing on the field hub opens it: every file of its data directory tried as the key.
    let mut tried = 0;
    for (i, f) in files_under(&field_dir).iter().enumerate() {
        let (code, out, err, created) = restore_with(tmp.path(), &backup, f, i);
        assert_ne!(code, 0, "{} opened the backup: {out}", f.display());
        assert!(!created, "a refused restore left a directory");
        assert!(
            err.contains("wrong key")
                || err.contains("holds no age secret key")
                || err.contains("cannot read the identity file"),
            "{}: {err}",
            f.display()
        );
        tried += 1;
    }
    assert!(tried >= 4, "{tried} files tried");
    // The hub's own age key is a real key, but not one the backup was made for: the message says which.
    let (code, _, err, _) = restore_with(
        tmp.path(),
        &backup,
        &crate::backup_protected::own_age_key(&field_dir, tmp.path()),
        900,
    );
    assert_eq!(code, 2, "{err}");
    let rec = cli_ok(
        &["backup", "recovery-key", "show", "--data", s(&field_dir)],
        &[],
    );
    let fp = rec
        .lines()
        .find_map(|l| l.strip_prefix("Fingerprint: "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        err.contains("this backup was made for the office key")
            && err.contains(&format!("the recovery key {fp}")),
        "{err}"
    );
    assert!(
        rec.contains("encrypted to the office key of \"UBND xã\""),
        "{rec}"
    );
    // A passphrase does not open it either, with a clear message.
    let pass = tmp.path().join("backup.pass");
    std::fs::write(&pass, "ba con mèo trèo cây cau\n").unwrap();
    let (code, _, err) = run(
        &[
            "backup",
            "verify",
            "--from",
            s(&backup),
            "--passphrase-file",
            s(&pass),
        ],
        &[],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("encrypted to keys, not to a passphrase"),
        "{err}"
    );
    // New backups are never made with a passphrase.
    let (code, _, err) = run(
        &[
            "backup",
            "--data",
            s(&field_dir),
            "--out",
            s(&tmp.path().join("p.hubbackup")),
            "--passphrase-file",
            s(&pass),
        ],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("no longer encrypted with a passphrase"),
        "{err}"
    );
    assert!(!tmp.path().join("p.hubbackup").exists());

    // The recovery key from paper (typed in lower case and groups of five) opens it.
    let typed: Vec<String> = secret
        .to_lowercase()
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let typed_file = tmp.path().join("typed.key");
    std::fs::write(&typed_file, typed.join(" ")).unwrap();
    let device = cli_ok(&["key", "show", "--data", s(&field_dir)], &[]);
    for (i, key) in [&paper, &typed_file].into_iter().enumerate() {
        let (code, out, err, _) = restore_with(tmp.path(), &backup, key, 1000 + i);
        assert_eq!(code, 0, "{out}\n{err}");
        assert!(out.contains("field hub"), "{out}");
    }
    // The office opens it with its own key file (`backup verify` and `backup restore`).
    let office_key = office_dir.join("keys/encrypt.age");
    let (code, out, err) = run(
        &[
            "backup",
            "verify",
            "--from",
            s(&backup),
            "--identity",
            s(&office_key),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Backup verified"), "{out}");
    let at_office = tmp.path().join("restored-at-office");
    let (code, out, err) = run(
        &[
            "backup",
            "restore",
            "--data",
            s(&at_office),
            "--from",
            s(&backup),
            "--identity",
            s(&office_key),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let restored_card = cli_ok(&["key", "show", "--data", s(&at_office)], &[]);
    assert_eq!(restored_card, device, "the restored hub is the field hub");
    drop(field);
}

#[test]
fn an_unpaired_field_hub_backs_up_to_the_recovery_key_only_and_none_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    init_hub("field", &field_dir, Some("Trạm Bù Lư"));
    let out_file = tmp.path().join("a.hubbackup");
    // No office, no recovery key: refused, nothing written (never plaintext).
    let (code, out, err) = run(
        &["backup", "--data", s(&field_dir), "--out", s(&out_file)],
        &[],
    );
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains("no backup key")
            && err.contains("not paired with an office")
            && err.contains("hub backup recovery-key new"),
        "{err}"
    );
    assert!(!out_file.exists() && !tmp.path().join("a.hubbackup.partial").exists());
    let (code, out, _) = run(&["backup", "--data", s(&field_dir), "--out", "-"], &[]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "nothing on standard output either");

    let key = recovery_key(&field_dir, tmp.path(), "recovery.key");
    let (code, out, err) = run(
        &["backup", "--data", s(&field_dir), "--out", s(&out_file)],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        err.contains("note: this field hub is not paired with an office yet")
            && err.contains("recovery key only"),
        "{err}"
    );
    let (code, out, err, _) = restore_with(tmp.path(), &out_file, &key, 1);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("encrypted to the recovery key"), "{out}");

    // A second key needs --replace; backups made after it do not open with the old key, and say so.
    let (code, _, err) = run(
        &["backup", "recovery-key", "new", "--data", s(&field_dir)],
        &[],
    );
    assert_eq!(code, 1);
    assert!(err.contains("already has a recovery key"), "{err}");
    let out = cli_ok(
        &[
            "backup",
            "recovery-key",
            "new",
            "--replace",
            "--data",
            s(&field_dir),
        ],
        &[],
    );
    assert!(out.contains("previous recovery key"), "{out}");
    let new_fp = out
        .split("fingerprint ")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap()
        .to_string();
    let b2 = tmp.path().join("b.hubbackup");
    cli_ok(&["backup", "--data", s(&field_dir), "--out", s(&b2)], &[]);
    let (code, _, err, created) = restore_with(tmp.path(), &b2, &key, 2);
    assert_eq!(code, 2, "{err}");
    assert!(!created);
    assert!(
        err.contains(&format!(
            "this backup was made for the recovery key {new_fp}"
        )),
        "{err}"
    );
}

#[test]
fn an_office_backup_needs_the_recovery_key_its_own_key_does_not_open_it() {
    let tmp = tempfile::tempdir().unwrap();
    let office_dir = tmp.path().join("office");
    init_office(&office_dir);
    let file = tmp.path().join("office.hubbackup");
    let (code, _, err) = run(
        &["backup", "--data", s(&office_dir), "--out", s(&file)],
        &[],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("office hub has no recovery key") && err.contains("on this computer"),
        "{err}"
    );
    assert!(!file.exists());
    let key = recovery_key(&office_dir, tmp.path(), "office-recovery.key");
    let out = cli_ok(
        &["backup", "--data", s(&office_dir), "--out", s(&file)],
        &[],
    );
    assert!(out.contains("encrypted to the recovery key ("), "{out}");
    assert!(!out.contains("office key"), "{out}");
    for f in files_under(&office_dir) {
        let (code, _, err, created) = restore_with(tmp.path(), &file, &f, 0);
        assert_ne!(code, 0, "{} opened the office backup", f.display());
        assert!(!created, "{err}");
    }
    let (code, out, err, _) = restore_with(tmp.path(), &file, &key, 1);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("office hub \"UBND xã\""), "{out}");
}

#[test]
fn a_passphrase_backup_made_before_backup_keys_still_restores() {
    let tmp = tempfile::tempdir().unwrap();
    let field_dir = tmp.path().join("field");
    init_hub("field", &field_dir, Some("Trạm cũ"));
    // What the hub wrote before issue 19: the archive encrypted to an age passphrase (scrypt, N = 2^16).
    let plain = tmp.path().join("plain.tar");
    cli_ok(
        &[
            "backup",
            "--data",
            s(&field_dir),
            "--out",
            s(&plain),
            "--unencrypted",
        ],
        &[],
    );
    let pass = "ba con mèo trèo cây cau";
    let mut r = age::scrypt::Recipient::new(age::secrecy::SecretString::from(pass.to_string()));
    r.set_work_factor(16);
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut old = Vec::new();
    let mut w = enc.wrap_output(&mut old).unwrap();
    std::io::Write::write_all(&mut w, &std::fs::read(&plain).unwrap()).unwrap();
    w.finish().unwrap();
    let old_file = tmp.path().join("old.hubbackup");
    std::fs::write(&old_file, &old).unwrap();
    let pass_file = tmp.path().join("backup.pass");
    std::fs::write(&pass_file, format!("{pass}\n")).unwrap();

    // A key alone: told to use the passphrase.
    let key = recovery_key(&field_dir, tmp.path(), "recovery.key");
    let (code, _, err, created) = restore_with(tmp.path(), &old_file, &key, 1);
    assert_eq!(code, 2, "{err}");
    assert!(!created);
    assert!(
        err.contains("made before backup keys") && err.contains("--passphrase-file"),
        "{err}"
    );
    // The passphrase file (or the environment) restores it.
    let dest = tmp.path().join("restored");
    let (code, out, err) = run(
        &[
            "restore",
            "--data",
            s(&dest),
            "--from",
            s(&old_file),
            "--passphrase-file",
            s(&pass_file),
        ],
        &[],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("encrypted to the backup passphrase"), "{out}");
    let (code, out, err) = run(
        &["backup", "verify", "--from", s(&old_file)],
        &[("HUB_BACKUP_PASSPHRASE", pass)],
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let (code, _, err) = run(
        &["backup", "verify", "--from", s(&old_file)],
        &[("HUB_BACKUP_PASSPHRASE", "not it")],
    );
    assert_eq!(code, 2);
    assert!(err.contains("wrong passphrase"), "{err}");
}
