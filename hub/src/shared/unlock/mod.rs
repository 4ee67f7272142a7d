//! Protecting a field hub's data directory and unlocking it (issue 19), on top of `shared::vault`.
//!
//! - **Protect** ([`protect`]): the first time an officer or admin gives a password on a field hub (the
//!   setup of the first admin, or the first login after an upgrade), a data key is made, the database is
//!   encrypted in place (SQLCipher), the device key, the age identity and the CA keys are sealed, and the
//!   keyring is written with that user's copy — the commit point; a start after a crash rolls the
//!   conversion forward or back ([`boot`]).
//! - **Upkeep** ([`after_password`]): every later login, password change or reset of an officer/admin
//!   refreshes their copy when their password changed; the escrow copy follows the paired office keys and
//!   the recovery key. A disabled account's copy is removed.
//! - **Unlock**: by an officer's password ([`unlock_password`]: the locked hub's login), by an escrow
//!   identity ([`unlock_identity`]: the office's key or the recovery key, `hub vault recover`), or for a CLI
//!   command from `HUB_UNLOCK_USER`/`HUB_UNLOCK_PASSWORD`, `HUB_UNLOCK_IDENTITY`, or a prompt
//!   ([`unlock_for_cli`]).

use std::path::{Path, PathBuf};

use anyhow::Context;
use protocol::HubMode;

use crate::shared::store::{self, Db, StoreError};
use crate::shared::vault::{self, files, keyring, DataKey, VaultError};

/// The roles whose password unlocks a field hub (volunteers and clerks do not).
pub fn role_unlocks(role: &str) -> bool {
    matches!(role, "admin" | "officer")
}

/// The secret files sealed under the data key, relative to the data directory.
pub const SEALED_FILES: &[&str] = &[
    "keys/device.ed25519",
    "keys/encrypt.age",
    "tls/ca.key",
    "tls/ca.old.key",
];

fn sealing_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".sealing");
    PathBuf::from(s)
}

/// Whether `data` is protected and this process has not unlocked it.
pub fn is_locked(data: &Path) -> bool {
    vault::is_protected(data) && vault::unlocked(data).is_none()
}

/// Completes or undoes a protection cut short by a crash or power cut: with a keyring (the commit
/// happened) the sealed files and the encrypted database take their places; without one they are dropped
/// and the plaintext stays in use. Called by `hub serve` once it holds the directory's lock, before
/// anything else opens the directory; commands call [`boot_if_unserved`].
pub fn boot(data: &Path) -> anyhow::Result<()> {
    let committed = vault::is_protected(data);
    for rel in SEALED_FILES {
        let p = data.join(rel);
        let s = sealing_path(&p);
        // A sealed copy cut short while being written (`files::write_atomic`'s temporary file, before its
        // rename): never complete, so never the commit's; wiped either way.
        let mut part = s.as_os_str().to_owned();
        part.push(".tmp");
        files::shred(Path::new(&part))?;
        if !s.exists() {
            continue;
        }
        if committed {
            files::shred(&p)?;
            std::fs::rename(&s, &p).with_context(|| format!("cannot install {}", p.display()))?;
        } else {
            files::shred(&s)?;
        }
    }
    let db = data.join("hub.sqlite");
    if committed {
        store::finish_encrypt(&db)?;
    } else {
        store::abandon_encrypt(&db)?;
    }
    Ok(())
}

/// [`boot`] for a command that does not serve: skipped while a serving hub holds the directory's lock
/// (`DATA/hub.lock`; that hub rolls its own conversion forward or back, and one may be under way).
pub fn boot_if_unserved(data: &Path) -> anyhow::Result<()> {
    if served_by_another(data)? {
        return Ok(());
    }
    boot(data)
}

/// Whether a `hub serve` process other than this one holds the lock of `data` (`DATA/hub.lock`; the
/// serving process itself also gets `true`: call it only from commands).
pub fn served_by_another(data: &Path) -> anyhow::Result<bool> {
    let Ok(f) = std::fs::File::open(data.join("hub.lock")) else {
        return Ok(false);
    };
    match f.try_lock() {
        Ok(()) => {
            let _ = f.unlock();
            Ok(false)
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot check {}/hub.lock", data.display()))
        }
    }
}

/// The escrow recipients of a field hub: the office keys it pinned at pairing and its recovery key.
pub fn escrow_recipients(db: &Db, data: &Path) -> anyhow::Result<Vec<String>> {
    let mut r = db.call_sync(|c| crate::shared::trust::office_recipients(c))?;
    if let Ok(text) = std::fs::read_to_string(data.join("backup-recovery-key.pub")) {
        r.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| l.starts_with("age1"))
                .map(String::from)
                .take(1),
        );
    }
    Ok(r)
}

/// Brings the escrow copy of a protected, unlocked hub in step with its office keys and recovery key
/// (after pairing, at an unlocked start). Returns whether it changed.
pub fn refresh_escrow(db: &Db) -> anyhow::Result<bool> {
    let data = data_of(db);
    if !vault::is_protected(&data) || vault::unlocked(&data).is_none() {
        return Ok(false);
    }
    Ok(keyring::set_escrow(&data, &escrow_recipients(db, &data)?)?)
}

/// Protects the plaintext field-hub data directory `data` (whose database `db` is open): see the module
/// documentation. `holder` gets the first password copy.
pub fn protect(
    db: &Db,
    data: &Path,
    hub_name: &str,
    holder: &keyring::Holder<'_>,
    password: &str,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !vault::is_protected(data),
        "{} is protected already",
        data.display()
    );
    let started = std::time::Instant::now();
    let key = DataKey::generate()?;
    let mut kr = keyring::Keyring::new(&key, holder, password)?;
    kr.hub_name = hub_name.to_string();
    let recipients = escrow_recipients(db, data)?;
    if !recipients.is_empty() {
        let mut want = recipients.clone();
        want.sort();
        want.dedup();
        kr.escrow = Some(keyring::Escrow {
            armored: vault::wrap::wrap_escrow(&key, &want)?,
            recipients: want,
        });
    }
    // The sealed files are written beside the plaintext ones; the keyring makes them official.
    let mut sealed = Vec::new();
    for rel in SEALED_FILES {
        let p = data.join(rel);
        if !p.exists() || files::is_sealed(&p) {
            continue;
        }
        let plain = std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
        let label = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut out = files::MAGIC.to_vec();
        out.extend(vault::wrap::seal(&key, &label, &plain)?);
        files::write_atomic(&sealing_path(&p), &out)?;
        sealed.push(p);
    }
    let data_owned = data.to_path_buf();
    let key2 = key.clone();
    db.encrypt(&key, move || {
        keyring::save(&data_owned, &kr).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        vault::register(&data_owned, key2);
        Ok(())
    })
    .context("cannot encrypt the hub database")?;
    for p in sealed {
        files::shred(&p)?;
        std::fs::rename(sealing_path(&p), &p)
            .with_context(|| format!("cannot install {}", p.display()))?;
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "the hub's data is now encrypted at rest: it starts locked after a restart until an officer logs in"
    );
    Ok(())
}

/// Keeps the protection in step with a password just proven or set by an officer/admin of a field hub
/// (login, setup, password change or reset): protects a plaintext directory, or refreshes the user's copy
/// when their password changed, and brings the escrow copy up to date. Runs argon2id at most once more;
/// call it off the async threads.
pub fn after_password(
    db: &Db,
    mode: HubMode,
    hub_name: &str,
    holder: &keyring::Holder<'_>,
    password: &str,
) -> anyhow::Result<()> {
    if mode != HubMode::Field || !role_unlocks(holder.role) {
        return Ok(());
    }
    let data = data_of(db);
    if !vault::is_protected(&data) {
        return protect(db, &data, hub_name, holder, password);
    }
    let current =
        keyring::load(&data)?.is_some_and(|kr| kr.is_current(holder.user_id, holder.password_hash));
    if !current {
        keyring::enrol(&data, holder, password)?;
    }
    keyring::set_escrow(&data, &escrow_recipients(db, &data)?)?;
    Ok(())
}

/// The data directory of `db`.
pub fn data_of(db: &Db) -> PathBuf {
    db.path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Unlocks the protected `data` with the password of the user `name_key` (NFC, lower case): the data key
/// is registered for this process. Returns the user's copy (who unlocked).
pub fn unlock_password(
    data: &Path,
    name_key: &str,
    password: &str,
) -> Result<keyring::UserCopy, VaultError> {
    let kr = keyring::load(data)?.ok_or(VaultError::BadPassword)?;
    let (key, who) = kr.unlock(name_key, password)?;
    vault::register(data, key);
    Ok(who)
}

/// Unlocks the protected `data` with an escrow identity (the office's key or the recovery key).
pub fn unlock_identity(data: &Path, identity_text: &str) -> Result<(), VaultError> {
    let kr = keyring::load(data)?.ok_or(VaultError::BadIdentity)?;
    let key = kr.unlock_escrow(identity_text)?;
    vault::register(data, key);
    Ok(())
}

/// Unlocks the protected `data` for a CLI command: with the age identity file named by
/// `HUB_UNLOCK_IDENTITY`, or the officer/admin named by `HUB_UNLOCK_USER` with the password in
/// `HUB_UNLOCK_PASSWORD`, or by asking on the terminal. Does nothing on a directory that is not protected
/// or already unlocked.
pub fn unlock_for_cli(data: &Path) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !is_locked(data) {
        return Ok(());
    }
    if let Some(file) = std::env::var("HUB_UNLOCK_IDENTITY")
        .ok()
        .filter(|s| !s.is_empty())
    {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("HUB_UNLOCK_IDENTITY: cannot read {file}"))?;
        return unlock_identity(data, &text).with_context(|| {
            format!(
                "HUB_UNLOCK_IDENTITY: {file} is neither this hub's office key nor its recovery key"
            )
        });
    }
    let from_env = std::env::var("HUB_UNLOCK_USER")
        .ok()
        .filter(|s| !s.is_empty());
    let (name, password) = match from_env {
        Some(name) => {
            let password = std::env::var("HUB_UNLOCK_PASSWORD").context(
                "HUB_UNLOCK_USER is set but HUB_UNLOCK_PASSWORD is not: give the officer's password",
            )?;
            (name, password)
        }
        None if std::io::stdin().is_terminal() => {
            eprintln!(
                "The data of this hub is encrypted. An officer or admin unlocks it (their password is \
                 checked, never stored)."
            );
            eprint!("User name: ");
            let mut name = String::new();
            std::io::stdin().read_line(&mut name)?;
            let password = rpassword::prompt_password("Password: ")?;
            (name.trim().to_string(), password)
        }
        None => anyhow::bail!(
            "the data of {} is encrypted and locked: set HUB_UNLOCK_USER and HUB_UNLOCK_PASSWORD (an officer's \
             or admin's), or HUB_UNLOCK_IDENTITY (the office's key or the recovery key), or run the command on \
             a terminal",
            data.display()
        ),
    };
    let key = keyring::name_key(&name);
    unlock_password(data, &key, &password)
        .map(|_| ())
        .map_err(|e| match e {
            VaultError::BadPassword => anyhow::anyhow!(
                "wrong user name or password, or that user cannot unlock this hub (officers and admins can)"
            ),
            other => other.into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A power cut while a sealed copy was being written leaves `X.sealing.tmp`: the next start wipes it,
    /// committed or not (seen once in the power-cut test of `tests/it/unlock.rs`, whose cut lands at a
    /// random instant).
    #[test]
    fn boot_wipes_a_sealed_copy_cut_short_while_written() {
        let dir = tempfile::tempdir().unwrap();
        for rel in SEALED_FILES {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"plain key").unwrap();
            let mut part = sealing_path(&p).into_os_string();
            part.push(".tmp");
            std::fs::write(&part, b"half a sealed copy").unwrap();
        }
        boot(dir.path()).unwrap();
        for rel in SEALED_FILES {
            let p = dir.path().join(rel);
            let mut part = sealing_path(&p).into_os_string();
            part.push(".tmp");
            assert!(
                !Path::new(&part).exists(),
                "{rel}: the half-written copy is gone"
            );
            assert_eq!(
                std::fs::read(&p).unwrap(),
                b"plain key",
                "{rel}: the plaintext stays in use"
            );
        }
    }
}
