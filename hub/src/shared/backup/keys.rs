//! Who can open a backup (issue 19): backups are encrypted to age X25519 *public* recipients whose secret
//! halves are not on the hub, so a thief holding the hub (and its USB sticks) cannot open them.
//!
//! - A field hub encrypts to the office key it pinned at pairing (the recipient dossiers are sealed to),
//!   so the office can restore it, and to the hub's **recovery key** when it has one.
//! - An office hub encrypts to its recovery key only: its own office key is on the same computer.
//! - The recovery key is made at installation (`hub backup recovery-key new`, or `hub init
//!   --recovery-key`): an age identity whose secret is printed once (text and QR, for paper kept at the
//!   office) and whose public recipient alone is stored, in `DATA/backup-recovery-key.pub` (a standard
//!   age recipients file).
//!
//! Every backup's age header carries one extra stanza, `-> outreach-hub-backup-for office:FP
//! recovery:FP`, naming the fingerprints of the keys it was made for (public information: it opens
//! nothing, and age clients ignore stanzas they do not know). A restore with the wrong key says which
//! keys the backup wants instead of "no matching keys".

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use anyhow::{bail, Context};
use sha2::{Digest, Sha256};

use crate::shared::datadir::DataDir;

/// The recovery key's public recipient, inside the data directory.
pub const RECOVERY_FILE: &str = "backup-recovery-key.pub";
/// The tag of the stanza that names the keys a backup was made for.
pub const LABEL_TAG: &str = "outreach-hub-backup-for";

/// A backup key's fingerprint: the first 8 bytes of the SHA-256 of its `age1…` recipient, in four groups
/// (`3f2a-9c01-77de-0b45`): short enough to compare with the paper card.
pub fn fingerprint(recipient: &str) -> String {
    let h = hex::encode(&Sha256::digest(recipient.trim().as_bytes())[..8]);
    format!("{}-{}-{}-{}", &h[0..4], &h[4..8], &h[8..12], &h[12..16])
}

/// What a backup key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// The office this field hub is paired with (its name).
    Office(String),
    Recovery,
}

/// One public key a backup is encrypted to.
#[derive(Debug, Clone)]
pub struct BackupKey {
    pub kind: KeyKind,
    pub recipient: String,
}

impl BackupKey {
    pub fn describe(&self) -> String {
        match &self.kind {
            KeyKind::Office(name) => format!(
                "the office key of \"{name}\" ({})",
                fingerprint(&self.recipient)
            ),
            KeyKind::Recovery => format!("the recovery key ({})", fingerprint(&self.recipient)),
        }
    }
    fn label(&self) -> String {
        let kind = match self.kind {
            KeyKind::Office(_) => "office",
            KeyKind::Recovery => "recovery",
        };
        format!("{kind}:{}", fingerprint(&self.recipient))
    }
}

/// The keys a backup of this hub goes to, and a note for the log when it is fewer than usual.
pub struct Plan {
    pub keys: Vec<BackupKey>,
    pub note: Option<String>,
}

impl Plan {
    /// "the office key of "UBND xã" (…) and the recovery key (…)".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self.keys.iter().map(BackupKey::describe).collect();
        match parts.len() {
            0 => String::new(),
            1 => parts[0].clone(),
            n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
        }
    }
}

/// The recovery key's public recipient, if this data directory has one.
pub fn recovery_recipient(data: &Path) -> anyhow::Result<Option<String>> {
    let path = data.join(RECOVERY_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    line.parse::<age::x25519::Recipient>().map_err(|e| {
        anyhow::anyhow!(
            "{} is damaged ({e}); make a new recovery key with `hub backup recovery-key new --replace`",
            path.display()
        )
    })?;
    Ok(Some(line.to_string()))
}

/// Which keys a backup of `dir` is encrypted to; refuses when there is none (never plaintext).
pub fn plan(dir: &DataDir) -> anyhow::Result<Plan> {
    let recovery = recovery_recipient(&dir.path)?.map(|r| BackupKey {
        kind: KeyKind::Recovery,
        recipient: r,
    });
    let make_one = format!(
        "make a recovery key with `hub backup recovery-key new --data {}` (its secret is printed once: \
         keep it on paper at the office, never with the hub)",
        dir.path.display()
    );
    if dir.mode == protocol::HubMode::Office {
        let Some(r) = recovery else {
            bail!(
                "no backup key: this office hub has no recovery key, and its own office key cannot protect \
                 its backups (it is on this computer). First {make_one}. Nothing was written."
            );
        };
        return Ok(Plan {
            keys: vec![r],
            note: None,
        });
    }
    let offices = dir.db.call_sync(|c| {
        let mut st = c.prepare(
            "SELECT name, age_recipient FROM trusted_peers WHERE mode = 'office' ORDER BY device_id",
        )?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    })?;
    let mut keys: Vec<BackupKey> = offices
        .into_iter()
        .map(|(name, recipient)| BackupKey {
            kind: KeyKind::Office(name),
            recipient,
        })
        .collect();
    let paired = !keys.is_empty();
    let note = match (paired, recovery.is_some()) {
        (false, false) => bail!(
            "no backup key: this field hub is not paired with an office yet and has no recovery key. \
             Pair it with its office (`hub pair`), or {make_one}. Nothing was written."
        ),
        (false, true) => Some(
            "this field hub is not paired with an office yet: the backup is encrypted to the recovery key \
             only (after pairing, the office can open its backups too)"
                .to_string(),
        ),
        (true, false) => Some(format!(
            "this hub has no recovery key: only the office can open the backup; {make_one}"
        )),
        (true, true) => None,
    };
    keys.extend(recovery);
    Ok(Plan { keys, note })
}

/// The age recipient that writes the label stanza (it wraps nothing).
struct Label(Vec<String>);

impl age::Recipient for Label {
    fn wrap_file_key(
        &self,
        _file_key: &age_core::format::FileKey,
    ) -> Result<(Vec<age_core::format::Stanza>, HashSet<String>), age::EncryptError> {
        Ok((
            vec![age_core::format::Stanza {
                tag: LABEL_TAG.into(),
                args: self.0.clone(),
                body: Vec::new(),
            }],
            HashSet::new(),
        ))
    }
}

/// An age encryptor to the plan's keys, with the label stanza.
pub fn encryptor(plan: &Plan) -> anyhow::Result<age::Encryptor> {
    let mut recipients: Vec<Box<dyn age::Recipient>> = Vec::new();
    for k in &plan.keys {
        let r: age::x25519::Recipient = k.recipient.parse().map_err(|e| {
            anyhow::anyhow!("the backup key {} is not an age key: {e}", k.describe())
        })?;
        recipients.push(Box::new(r));
    }
    recipients.push(Box::new(Label(
        plan.keys.iter().map(BackupKey::label).collect(),
    )));
    age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient))
        .map_err(|e| anyhow::anyhow!("cannot encrypt: {e}"))
}

/// The `kind:fingerprint` labels in an age header (empty when the file has none).
pub fn labels_in_header(head: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]);
    let prefix = format!("-> {LABEL_TAG} ");
    for line in text.lines() {
        if line.starts_with("---") {
            break;
        }
        if let Some(rest) = line.strip_prefix(&prefix) {
            return rest.split_whitespace().map(str::to_string).collect();
        }
    }
    Vec::new()
}

/// "the office key 3f2a-… and the recovery key 9c01-…" from labels.
pub fn describe_labels(labels: &[String]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|l| match l.split_once(':') {
            Some(("office", fp)) => format!("the office key {fp}"),
            Some(("recovery", fp)) => format!("the recovery key {fp}"),
            _ => l.clone(),
        })
        .collect();
    parts.join(" and ")
}

/// Reads age X25519 identities from an identity file: the recovery key (as printed, or typed from paper
/// with spaces) or an office's `keys/encrypt.age`. Lines starting with `#` are comments.
pub fn read_identities(path: &Path) -> anyhow::Result<Vec<age::x25519::Identity>> {
    let bytes = fs::read(path)
        .with_context(|| format!("cannot read the identity file {}", path.display()))?;
    let ids = parse_identities(&String::from_utf8_lossy(&bytes));
    if ids.is_empty() && bytes.starts_with(crate::shared::vault::files::MAGIC) {
        bail!(
            "{} holds no age secret key in clear: it is a sealed key file of a protected field hub \
             (encrypted under that hub's data key), and a hub's own key opens none of its backups anyway. \
             Give the recovery key kept at the office, or the office hub's keys/encrypt.age",
            path.display()
        );
    }
    if ids.is_empty() {
        bail!(
            "{} holds no age secret key (a line AGE-SECRET-KEY-1…): give the recovery key kept at the \
             office, or the office hub's keys/encrypt.age",
            path.display()
        );
    }
    Ok(ids)
}

/// Every line of `text` that reads as an age X25519 secret key (whitespace inside a line is ignored, so
/// a key typed in groups from paper works; letters may be in either case).
pub fn parse_identities(text: &str) -> Vec<age::x25519::Identity> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let joined: String = l
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_uppercase();
            joined.parse::<age::x25519::Identity>().ok()
        })
        .collect()
}

/// A new recovery key: the secret (to print once) and what was stored.
pub struct NewRecoveryKey {
    pub secret: age::secrecy::SecretString,
    pub recipient: String,
    pub path: PathBuf,
    pub replaced: Option<String>,
}

impl NewRecoveryKey {
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.recipient)
    }

    /// What `hub backup recovery-key new` prints: the secret as an age identity file (so the lines can be
    /// saved as a file at the office) and as a QR code, with what to do with it. `hub` names the hub (its name
    /// in quotes, or its data directory).
    pub fn text(&self, hub: &str) -> String {
        let secret = self.secret.expose_secret();
        let mut s = String::new();
        s.push_str(&format!(
            "Backup recovery key of the hub {hub} (fingerprint {}), shown ONCE:\n\n",
            self.fingerprint()
        ));
        s.push_str(&format!(
            "# outreach hub backup recovery key, hub {hub}, fingerprint {}\n{secret}\n\n",
            self.fingerprint()
        ));
        s.push_str(&crate::shared::terminal::qr(secret));
        s.push_str(
            "\nWrite it down (or print this page) and keep it at the commune office, NEVER with the hub or \
             its USB sticks. It opens every backup this hub makes from now on; the hub keeps only its \
             public part.\n\
             To restore: save the key line in a file and run `hub restore --identity FILE …`.\n",
        );
        if let Some(old) = &self.replaced {
            s.push_str(&format!(
                "The previous recovery key ({old}) is no longer used for new backups; keep it as long as \
                 older backups made with it may be needed.\n"
            ));
        }
        s
    }
}

/// Makes a recovery key for the data directory `data` (which must exist): stores its public recipient in
/// `DATA/backup-recovery-key.pub` (atomically, mode 0644: it is public) and returns the secret, which is
/// not stored anywhere. An existing key is kept unless `replace`.
pub fn new_recovery_key(data: &Path, replace: bool) -> anyhow::Result<NewRecoveryKey> {
    if !data.is_dir() {
        bail!(
            "{} does not exist: create the hub first (`hub init --data {}`)",
            data.display(),
            data.display()
        );
    }
    let old = recovery_recipient(data).ok().flatten();
    if let (Some(old), false) = (&old, replace) {
        bail!(
            "this hub already has a recovery key (fingerprint {}). Give --replace to make a new one (backups \
             made until now still need the old one).",
            fingerprint(old)
        );
    }
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let path = data.join(RECOVERY_FILE);
    let tmp = data.join(format!(".{RECOVERY_FILE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let content = format!(
        "# The public part of this hub's backup recovery key (fingerprint {}), made {}.\n\
         # Backups are encrypted to it; its secret is on paper at the office, not here.\n{recipient}\n",
        fingerprint(&recipient),
        crate::shared::clock::now_rfc3339()
    );
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    fs::File::open(data)?.sync_all()?;
    Ok(NewRecoveryKey {
        secret: id.to_string(),
        recipient,
        path,
        replaced: old.map(|o| fingerprint(&o)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable_and_grouped() {
        let r = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        assert_eq!(fingerprint(r), fingerprint(&format!("{r}\n")));
        assert_eq!(fingerprint(r).len(), 19);
        assert_eq!(fingerprint(r).matches('-').count(), 3);
    }

    #[test]
    fn identities_typed_from_paper_in_groups_and_lower_case_parse() {
        let id = age::x25519::Identity::generate();
        let s = id.to_string().expose_secret().to_string();
        let grouped: Vec<String> = s
            .to_lowercase()
            .as_bytes()
            .chunks(6)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let got = parse_identities(&format!("# comment\n\n  {}  \n", grouped.join(" ")));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].to_public().to_string(), id.to_public().to_string());
        assert!(parse_identities("not a key\nage1abc\n").is_empty());
    }

    #[test]
    fn label_stanza_is_read_back_from_the_header() {
        let r = age::x25519::Identity::generate().to_public().to_string();
        let plan = Plan {
            keys: vec![BackupKey {
                kind: KeyKind::Recovery,
                recipient: r.clone(),
            }],
            note: None,
        };
        let enc = encryptor(&plan).unwrap();
        let mut out = Vec::new();
        let mut w = enc.wrap_output(&mut out).unwrap();
        w.write_all(b"hello").unwrap();
        w.finish().unwrap();
        assert_eq!(
            labels_in_header(&out),
            vec![format!("recovery:{}", fingerprint(&r))]
        );
    }
}
