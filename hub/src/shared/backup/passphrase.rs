//! Where the backup passphrase comes from: `--passphrase-file F` (its first line), the environment
//! variable `HUB_BACKUP_PASSPHRASE`, or a prompt on the terminal (asked twice when making a backup).

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context};

pub const ENV: &str = "HUB_BACKUP_PASSPHRASE";
/// A new backup's passphrase has at least this many characters.
pub const MIN_CHARS: usize = 8;

/// Why the passphrase is wanted: a new backup asks twice and checks its length.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Encrypt,
    Decrypt,
}

pub fn obtain(file: Option<&Path>, purpose: Purpose) -> anyhow::Result<age::secrecy::SecretString> {
    let text = if let Some(f) = file {
        let all = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the passphrase file {}", f.display()))?;
        all.lines().next().unwrap_or("").to_string()
    } else if let Ok(p) = std::env::var(ENV) {
        p
    } else {
        if !std::io::stdin().is_terminal() {
            bail!(
                "no passphrase: give --passphrase-file FILE or set {ENV} (or run on a terminal to be asked)"
            );
        }
        let p = rpassword::prompt_password("Backup passphrase: ")?;
        if purpose == Purpose::Encrypt {
            let again = rpassword::prompt_password("Repeat it: ")?;
            if p != again {
                bail!("the two passphrases differ; nothing was written");
            }
        }
        p
    };
    let text = text.trim_end_matches(['\r', '\n']).to_string();
    if text.is_empty() {
        bail!("the passphrase is empty");
    }
    if purpose == Purpose::Encrypt && text.chars().count() < MIN_CHARS {
        bail!("the passphrase is too short: use at least {MIN_CHARS} characters (a few words are best)");
    }
    Ok(age::secrecy::SecretString::from(text))
}
