//! The chain guard of a field hub: it puts sealed dossiers in its chain of envelopes only while that
//! chain can be the one the office knows. A field hub numbers its envelopes 1, 2, 3… and derives receipt
//! codes from its device id and a counter; a hub restored from an older backup, or a copy of its card,
//! would number new dossiers with seqs and codes the office already holds for other dossiers. Two events
//! make the chain unsure, each kept as a small JSON file in the data directory (written atomically and
//! fsynced: a power cut does not forget it, and it needs no database, which a restore cannot open):
//!
//! - `chain-restored.json`, written by `hub restore` of a field hub: dossiers sealed after the backup are
//!   unknown to this copy.
//! - `chain-diverged.json`, written by a sync whose holdings show the office holding envelopes of this
//!   device beyond this hub's chain head, a different envelope at a seq this hub holds, or an envelope of
//!   this device it set aside as an equivocation: this card was restored from an older copy or cloned.
//!
//! While the chain is unsure the hub still seals (protocol §11.4.1): the villager gets a receipt at once,
//! from a fresh receipt range (`receipt-floor.json`, a random start that no other copy of the card
//! shares), and the signed dossier waits, unchained, until a sync has shown where the office's chain of
//! this device ends. The sync then re-chains what the office set aside and chains the waiting dossiers
//! after the office's head (`field::uploader`), and clears the markers. Drafts are never touched.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The marker `hub restore` leaves in a restored field hub's data directory.
pub const RESTORED_FILE: &str = "chain-restored.json";
/// The marker a sync leaves when the office holds what this hub does not.
pub const DIVERGED_FILE: &str = "chain-diverged.json";
/// The marker a sync hello leaves when the office paused this device (two copies of its card sealing).
pub const PAUSED_FILE: &str = "chain-paused.json";
/// The lowest receipt sequence number this hub may issue next (kept for good once written).
pub const RECEIPT_FLOOR_FILE: &str = "receipt-floor.json";

/// Receipt ranges start at a random value in `[2^40, 2^52)`: two copies of one card that each move to a
/// fresh range share a receipt sequence number with odds of about (receipts issued) / 2^52.
const FLOOR_LOW: u64 = 1 << 40;
const FLOOR_HIGH: u64 = 1 << 52;

/// The receipt floor file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ReceiptFloor {
    /// The next receipt sequence number is at least this.
    floor: u64,
    /// Why and when it was chosen.
    reason: String,
    chosen_at: String,
}

/// Where a dossier sealed now goes: into the chain at once (`open`), or held until a sync has shown
/// where the office's chain ends; and the lowest receipt sequence number it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPlace {
    pub open: bool,
    pub receipt_floor: u64,
}

impl ChainPlace {
    /// A hub whose chain is known, with no receipt floor (tests, and hubs never restored or cloned).
    pub const OPEN: ChainPlace = ChainPlace {
        open: true,
        receipt_floor: 0,
    };
}

/// Where dossiers sealed now on the field hub of `dir` go (see [`ChainPlace`]). An unreadable floor file
/// holds the chain shut (the dossier waits; nothing is numbered from a guess).
pub fn place(dir: &Path) -> ChainPlace {
    let open = standing(dir) == Standing::Sealable;
    // A mark without a floor (written by a hub of an earlier version): the fresh range is chosen now,
    // before any receipt is made on the unsure chain.
    if !open && !dir.join(RECEIPT_FLOOR_FILE).exists() {
        if let Err(e) =
            new_receipt_range(dir, "a restore or divergence marked before receipt ranges")
        {
            tracing::error!(error = %e, "cannot choose a fresh receipt range");
        }
    }
    match read::<ReceiptFloor>(&dir.join(RECEIPT_FLOOR_FILE)) {
        Ok(f) => ChainPlace {
            open,
            receipt_floor: f
                .map(|f| f.floor)
                .unwrap_or(if open { 0 } else { FLOOR_HIGH }),
        },
        Err(e) => {
            tracing::error!(error = %e, "receipt floor unreadable: sealed dossiers wait for a sync");
            ChainPlace {
                open: false,
                receipt_floor: FLOOR_HIGH,
            }
        }
    }
}

/// Moves this hub's receipts to a fresh random range: after a restore or a divergence, receipt numbers
/// the lost or cloned card may have used are never issued again.
fn new_receipt_range(dir: &Path, reason: &str) -> io::Result<()> {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).map_err(io::Error::other)?;
    let floor = FLOOR_LOW + u64::from_be_bytes(b) % (FLOOR_HIGH - FLOOR_LOW);
    write(
        dir,
        RECEIPT_FLOOR_FILE,
        &ReceiptFloor {
            floor,
            reason: reason.to_owned(),
            chosen_at: crate::shared::clock::now_rfc3339(),
        },
    )
}

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

/// The office paused this device (protocol §11.4.3): two copies of its card were found sealing the same
/// seqs. Nothing is sealed until a clerk approves the device again; syncs go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    /// When the office paused it (RFC 3339).
    pub since: String,
    /// The office's reason, in English.
    pub reason: String,
}

/// Whether the office paused this device, as the last sync hello said. An unreadable marker counts as a
/// pause (sealing waits until it is looked at).
pub fn paused(dir: &Path) -> Option<Paused> {
    match read::<Paused>(&dir.join(PAUSED_FILE)) {
        Ok(p) => p,
        Err(e) => Some(Paused {
            since: String::new(),
            reason: format!("{PAUSED_FILE} cannot be read ({e})"),
        }),
    }
}

/// Records what the office's sync hello said of a pause: `Some` marks it, `None` lifts it.
pub fn set_paused(dir: &Path, p: Option<&Paused>) -> io::Result<()> {
    match p {
        Some(p) => {
            if read::<Paused>(&dir.join(PAUSED_FILE))
                .ok()
                .flatten()
                .as_ref()
                == Some(p)
            {
                return Ok(());
            }
            write(dir, PAUSED_FILE, p)
        }
        None => remove(dir, PAUSED_FILE).map(|_| ()),
    }
}

/// `hub restore` of a field hub: new receipts come from a fresh range at once, and sealed dossiers wait
/// for a sync (or an admin's confirmation) before they are chained.
pub fn mark_restored(dir: &Path, r: &Restored) -> io::Result<()> {
    new_receipt_range(dir, "restored from a backup")?;
    write(dir, RESTORED_FILE, r)
}

/// A sync found the office holding what this hub does not: receipts move to a fresh range and sealed
/// dossiers wait until a sync has re-chained (the first finding is kept).
pub fn mark_diverged(dir: &Path, d: &Diverged) -> io::Result<()> {
    if dir.join(DIVERGED_FILE).exists() {
        return Ok(());
    }
    new_receipt_range(dir, "the office holds envelopes this hub did not seal")?;
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

/// A sync re-chained this hub's envelopes after the office's head: the divergence is settled. True when a
/// marker was cleared.
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
    fn an_unsure_chain_takes_receipts_from_a_fresh_range_once() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(place(dir.path()), ChainPlace::OPEN);
        // A restore marker left by an earlier version, with no floor: one is chosen at the first seal.
        fs::write(
            dir.path().join(RESTORED_FILE),
            br#"{"backup_created_at":"2026-11-20T03:00:00Z","backup_envelopes":5,"restored_at":"2026-11-25T03:00:00Z"}"#,
        )
        .unwrap();
        let p = place(dir.path());
        assert!(!p.open);
        assert!((FLOOR_LOW..FLOOR_HIGH).contains(&p.receipt_floor), "{p:?}");
        assert_eq!(place(dir.path()), p, "chosen once");
        // Settled: the chain opens, the floor stays (numbers below it may be the lost card's).
        assert!(verified_by_sync(dir.path()).unwrap());
        assert_eq!(
            place(dir.path()),
            ChainPlace {
                open: true,
                receipt_floor: p.receipt_floor
            }
        );
        // A divergence found later moves to another fresh range.
        mark_diverged(
            dir.path(),
            &Diverged {
                found_at: String::new(),
                office_head_seq: 9,
                local_head_seq: 5,
                detail: "x".into(),
            },
        )
        .unwrap();
        let q = place(dir.path());
        assert!(!q.open);
        assert_ne!(q.receipt_floor, p.receipt_floor);
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
