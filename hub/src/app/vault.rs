//! `hub vault status` and `hub vault recover` (issue 19): a field hub's encryption at rest seen and
//! repaired from the command line. It sits in `app` because recovery spans the vault (`shared::unlock`)
//! and the accounts (`shared::auth`), which must not import each other both ways.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::shared::auth::{self, Role};
use crate::shared::datadir::DataDir;
use crate::shared::store::write_tx;
use crate::shared::vault::{self, keyring, wrap};
use crate::shared::{unlock, vault::VaultError};

#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Whether the data directory is encrypted at rest, who can unlock it, and which escrow keys hold a
    /// copy of its data key. Reads only the public part: works on a locked hub.
    Status {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
    },
    /// Recovers a locked field hub (or a restored backup of one) with the office's key or the recovery
    /// key, and gives an officer or admin a new password, to be changed at their next login.
    Recover {
        #[arg(long, env = "HUB_DATA", default_value = "./hub-data")]
        data: PathBuf,
        /// An age identity file: the office hub's `keys/encrypt.age`, or the recovery key printed at
        /// installation, saved as a file.
        #[arg(long)]
        identity: PathBuf,
        /// The officer or admin who gets the new password.
        #[arg(long)]
        user: String,
        /// Read the new password from standard input (one line) instead of asking twice on the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Runs a `hub vault` command; returns the exit code.
pub fn run(command: VaultCommand) -> anyhow::Result<i32> {
    match command {
        VaultCommand::Status { data } => status(&data),
        VaultCommand::Recover {
            data,
            identity,
            user,
            password_stdin,
        } => recover(&data, &identity, &user, password_stdin),
    }
}

fn status(data: &Path) -> anyhow::Result<i32> {
    unlock::boot_if_unserved(data)?;
    let Some(kr) = keyring::load(data)? else {
        println!(
            "{}: NOT encrypted at rest. A field hub is protected at its first admin's setup or at the \
             first officer/admin login; an office hub is not encrypted (it stays in the office).",
            data.display()
        );
        return Ok(0);
    };
    println!(
        "{}: encrypted at rest since {} (hub \"{}\"). After a restart it starts locked until one of \
         these logs in:",
        data.display(),
        kr.protected_at,
        kr.hub_name
    );
    for u in &kr.users {
        println!(
            "  {:<8} {}  (copy updated {})",
            u.role, u.name_key, u.updated_at
        );
    }
    match &kr.escrow {
        Some(e) => {
            println!("Escrow copy (recovery with `hub vault recover --identity FILE`) for:");
            for r in &e.recipients {
                println!(
                    "  {}  {}",
                    crate::shared::backup::keys::fingerprint(r),
                    r
                );
            }
        }
        None => println!(
            "No escrow copy yet: pair the hub with its office (`hub pair`) or make a recovery key (`hub \
             backup recovery-key new`), then an officer logs in once; until then a forgotten password \
             cannot be recovered."
        ),
    }
    Ok(0)
}

fn recover(data: &Path, identity: &Path, user: &str, password_stdin: bool) -> anyhow::Result<i32> {
    unlock::boot_if_unserved(data)?;
    if !vault::is_protected(data) {
        bail!(
            "{} is not encrypted at rest: reset the password with `hub user reset --data {} {user}`",
            data.display(),
            data.display()
        );
    }
    let text = std::fs::read_to_string(identity)
        .with_context(|| format!("cannot read {}", identity.display()))?;
    match unlock::unlock_identity(data, &text) {
        Ok(()) => {}
        Err(VaultError::BadIdentity) => {
            let want = keyring::load(data)?
                .and_then(|k| k.escrow)
                .map(|e| {
                    e.recipients
                        .iter()
                        .map(|r| crate::shared::backup::keys::fingerprint(r))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_else(|| "none: the hub has no escrow copy".into());
            bail!(
                "{} opens none of this hub's escrow copies (its key {}; the hub's copy is for {want}). \
                 Nothing was changed.",
                identity.display(),
                wrap::identity_recipient(&text)
                    .map(|r| crate::shared::backup::keys::fingerprint(&r))
                    .unwrap_or_else(|| "unreadable".into())
            )
        }
        Err(e) => return Err(e.into()),
    }
    let dir = DataDir::open_or_create(data, None, None)?;
    let Some(acc) = dir
        .db
        .call_sync(|c| auth::store::account_by_name(c, user))?
    else {
        bail!("no account is named `{user}`; nothing was changed");
    };
    if !unlock::role_unlocks(acc.role.as_str()) || acc.disabled {
        bail!(
            "`{user}` is a {}{}: only an enabled officer or admin can unlock the hub; nothing was changed",
            acc.role.as_str(),
            if acc.disabled { " (disabled)" } else { "" }
        );
    }
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_to_string(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        let p = rpassword::prompt_password(format!("New password for {user}: "))?;
        if p != rpassword::prompt_password("Repeat it: ")? {
            bail!("the two passwords differ; nothing was changed");
        }
        p
    };
    auth::routes::check_password(&password).map_err(|e| anyhow::anyhow!(e.message_en))?;
    let hash = auth::hash_password(&password).map_err(|e| anyhow::anyhow!(e))?;
    let id = acc.id.clone();
    let h = hash.clone();
    dir.db.call_sync(|c| {
        let tx = write_tx(c)?;
        auth::store::set_password(&tx, &id, &h, true)?;
        let n = auth::store::end_sessions(&tx, &id, None)?;
        let out = auth::store::AccountOut {
            must_change_password: true,
            ..acc.clone()
        };
        auth::store::audit_account(
            &tx,
            crate::shared::audit::Actor {
                id: None,
                name: "hub vault recover (office key)",
            },
            "password_reset",
            &out,
            n,
        )?;
        tx.commit()?;
        Ok(())
    })?;
    let key = keyring::name_key(&acc.name);
    keyring::enrol(
        data,
        &keyring::Holder {
            user_id: &acc.id,
            name_key: &key,
            role: acc.role.as_str(),
            password_hash: &hash,
        },
        &password,
    )?;
    let role = if acc.role == Role::Admin {
        "admin"
    } else {
        "officer"
    };
    println!(
        "Recovered: the {role} `{}` can unlock the hub with the new password, and chooses their own at the \
         next login.",
        acc.name
    );
    Ok(0)
}
