//! The passphrase of a backup made before issue 19 (new backups are encrypted to keys, see [`super::keys`]):
//! `--passphrase-file F` (its first line), the environment variable `HUB_BACKUP_PASSPHRASE`, or a prompt on
//! the terminal. Only restoring and verifying such a backup asks for it.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context};

pub const ENV: &str = "HUB_BACKUP_PASSPHRASE";

/// The passphrase to open an older backup.
pub fn obtain(file: Option<&Path>) -> anyhow::Result<age::secrecy::SecretString> {
    let text = if let Some(f) = file {
        let all = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read the passphrase file {}", f.display()))?;
        all.lines().next().unwrap_or("").to_string()
    } else if let Ok(p) = std::env::var(ENV) {
        p
    } else {
        if !std::io::stdin().is_terminal() {
            bail!(
                "this backup was made before backup keys, with the backup passphrase: give \
                 --passphrase-file FILE or set {ENV} (or run on a terminal to be asked)"
            );
        }
        rpassword::prompt_password("Backup passphrase (of a backup made before backup keys): ")?
    };
    let text = text.trim_end_matches(['\r', '\n']).to_string();
    if text.is_empty() {
        bail!("the passphrase is empty");
    }
    Ok(age::secrecy::SecretString::from(text))
}
