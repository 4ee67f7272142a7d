//! The chain guard of a field hub: it seals only while its chain of envelopes can be the one the office
//! knows. A field hub numbers its envelopes 1, 2, 3… and derives receipt codes from its device id and a
//! counter; a hub restored from an older backup, or a copy of its card, would number new dossiers with
//! seqs and codes the office already holds for other dossiers (set aside as `equivocation`, never stored).
//! So two events stop sealing, each kept as a small JSON file in the data directory (written atomically
//! and fsynced: a power cut does not forget it, and it needs no database, which a restore cannot open):
//!
//! - `chain-restored.json`, written by `hub restore` of a field hub: dossiers sealed after the backup are
//!   unknown to this copy. Sealing resumes after a sync whose holdings show the office has nothing beyond
//!   this hub's chain (`verified_by_sync`), or when an admin who knows no dossier was sealed after the
//!   backup says so (`hub chain confirm`).
//! - `chain-diverged.json`, written by a sync whose holdings show the office holding envelopes of this
//!   device beyond this hub's chain head, or a different envelope at a seq this hub holds, or one it set
//!   aside as an equivocation: this card was restored from an older copy or cloned. It stays until the
//!   office and the hub have sorted it out (docs/deployment.md, "A restored or cloned field hub").
//!
//! Drafts are never touched: the team keeps capturing; only sealing waits.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The marker `hub restore` leaves in a restored field hub's data directory.
pub const RESTORED_FILE: &str = "chain-restored.json";
/// The marker a sync leaves when the office holds what this hub does not.
pub const DIVERGED_FILE: &str = "chain-diverged.json";

/// What `hub restore` knew of the backup it restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    /// When the backup was made (RFC 3339).
    pub backup_created_at: String,
    /// Envelopes (sealed, protected dossiers) in the backup: its chain head when the chain starts at 1.
    pub backup_envelopes: i64,
    /// When the restore ran (RFC 3339).
    pub restored_at: String,
}

/// What a sync found that this hub's chain does not account for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diverged {
    /// When it was found (RFC 3339).
    pub found_at: String,
    /// The office's highest held seq of this device (0: none).
    pub office_head_seq: u64,
    /// This hub's highest seq (0: none).
    pub local_head_seq: u64,
    /// What exactly, in English (for the log, the CLI and the support call).
    pub detail: String,
}

/// Whether this hub may seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Sealable,
    /// Restored from a backup; not yet compared with the office.
    Restored(Restored),
    /// The office holds what this hub's chain does not account for.
    Diverged(Diverged),
}

fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The standing of the field hub whose data directory is `dir` (divergence first: it outranks a
/// restore). An unreadable marker counts as present: it never lets sealing through.
pub fn standing(dir: &Path) -> Standing {
    let unreadable = |file: &str, e: io::Error| Diverged {
        found_at: String::new(),
        office_head_seq: 0,
        local_head_seq: 0,
        detail: format!("{file} cannot be read ({e}); sealing waits until it is looked at"),
    };
    match read::<Diverged>(&dir.join(DIVERGED_FILE)) {
        Ok(Some(d)) => return Standing::Diverged(d),
        Ok(None) => {}
        Err(e) => return Standing::Diverged(unreadable(DIVERGED_FILE, e)),
    }
    match read::<Restored>(&dir.join(RESTORED_FILE)) {
        Ok(Some(r)) => Standing::Restored(r),
        Ok(None) => Standing::Sealable,
        Err(e) => Standing::Diverged(unreadable(RESTORED_FILE, e)),
    }
}

/// Writes `value` as `dir/file`, atomically and durably (temp file, fsync, rename, fsync of the directory).
fn write<T: Serialize>(dir: &Path, file: &str, value: &T) -> io::Result<()> {
    let path = dir.join(file);
    let tmp: PathBuf = dir.join(format!(".{file}.tmp"));
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, &path)?;
    fs::File::open(dir)?.sync_all()
}

/// Removes `dir/file` durably; true when it was there.
fn remove(dir: &Path, file: &str) -> io::Result<bool> {
    match fs::remove_file(dir.join(file)) {
        Ok(()) => {
            fs::File::open(dir)?.sync_all()?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// `hub restore` of a field hub: sealing waits for a sync or an admin's confirmation.
pub fn mark_restored(dir: &Path, r: &Restored) -> io::Result<()> {
    write(dir, RESTORED_FILE, r)
}

/// A sync found the office holding what this hub does not: sealing stops (the first finding is kept).
pub fn mark_diverged(dir: &Path, d: &Diverged) -> io::Result<()> {
    if dir.join(DIVERGED_FILE).exists() {
        return Ok(());
    }
    write(dir, DIVERGED_FILE, d)
}

/// A sync compared the chains and found nothing the office holds beyond this hub's: a restore is
/// verified. True when a restore marker was cleared.
pub fn verified_by_sync(dir: &Path) -> io::Result<bool> {
    remove(dir, RESTORED_FILE)
}

/// `hub chain confirm`: an admin states that no dossier was sealed on this hub after the backup it was
/// restored from. Clears the restore marker only; a divergence found by a sync is not confirmed away.
pub fn confirm_restored(dir: &Path) -> io::Result<bool> {
    remove(dir, RESTORED_FILE)
}

/// `hub chain clear-divergence`: after the office and the hub have sorted out a divergence (the procedure
/// in docs/deployment.md). True when a marker was cleared.
pub fn clear_diverged(dir: &Path) -> io::Result<bool> {
    remove(dir, DIVERGED_FILE)
}

/// Compares this hub's chain with what the office holds of this device: `local_head` is this hub's
/// highest seq (0: none), `local_hash_at` its envelope hash at the office's head seq (if it has one),
/// `office_head` the office's highest held seq and its hash, `equivocations` the seqs of envelopes of this
/// device the office set aside because it holds another envelope there. `Some(detail)` when they cannot
/// be one chain.
pub fn compare(
    local_head: u64,
    local_hash_at: Option<&str>,
    office_head: Option<(u64, &str)>,
    equivocations: &[u64],
) -> Option<String> {
    if let Some((seq, hash)) = office_head {
        if seq > local_head {
            return Some(format!(
                "the office holds envelopes of this device up to seq {seq}, this hub's chain ends at seq \
                 {local_head}: this hub was restored from an older copy, or another copy of its card sealed them"
            ));
        }
        if local_hash_at.is_some_and(|h| h != hash) {
            return Some(format!(
                "the office holds a different envelope at seq {seq} than this hub: another copy of this \
                 hub's card sealed it"
            ));
        }
    }
    if let Some(seq) = equivocations.first() {
        return Some(format!(
            "the office set aside an envelope of this device at seq {seq} because it holds another one \
             there: this hub and another copy of its card sealed the same seqs"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_stop_sealing_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(standing(dir.path()), Standing::Sealable);
        let r = Restored {
            backup_created_at: "2026-11-20T03:00:00Z".into(),
            backup_envelopes: 5,
            restored_at: "2026-11-25T03:00:00Z".into(),
        };
        mark_restored(dir.path(), &r).unwrap();
        assert_eq!(standing(dir.path()), Standing::Restored(r));
        let d = Diverged {
            found_at: "2026-11-26T03:00:00Z".into(),
            office_head_seq: 10,
            local_head_seq: 5,
            detail: "x".into(),
        };
        mark_diverged(dir.path(), &d).unwrap();
        assert_eq!(
            standing(dir.path()),
            Standing::Diverged(d.clone()),
            "divergence outranks"
        );
        // A sync that verifies the restore does not clear a divergence.
        assert!(verified_by_sync(dir.path()).unwrap());
        assert_eq!(standing(dir.path()), Standing::Diverged(d));
        assert!(clear_diverged(dir.path()).unwrap());
        assert_eq!(standing(dir.path()), Standing::Sealable);
        assert!(!clear_diverged(dir.path()).unwrap());
    }

    #[test]
    fn an_unreadable_marker_never_lets_sealing_through() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(RESTORED_FILE), b"{not json").unwrap();
        assert!(matches!(standing(dir.path()), Standing::Diverged(_)));
    }

    #[test]
    fn chains_are_compared() {
        // In step, or the office behind (not yet synced).
        assert_eq!(compare(5, Some("h5"), Some((5, "h5")), &[]), None);
        assert_eq!(compare(5, Some("h3"), Some((3, "h3")), &[]), None);
        assert_eq!(compare(5, None, None, &[]), None);
        assert_eq!(compare(0, None, None, &[]), None);
        // Restored from an older backup: the office holds more.
        assert!(compare(5, None, Some((10, "h10")), &[]).is_some());
        assert!(compare(0, None, Some((1, "h1")), &[]).is_some());
        // A clone sealed the same seq.
        assert!(compare(5, Some("h5"), Some((5, "other")), &[]).is_some());
        assert!(compare(7, Some("h3"), Some((3, "other")), &[]).is_some());
        assert!(compare(7, Some("h5"), Some((5, "h5")), &[6]).is_some());
    }
}
