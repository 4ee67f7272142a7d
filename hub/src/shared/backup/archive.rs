//! The backup archive: a tar stream whose first entry is `MANIFEST.json` (what the backup is, and the size
//! and SHA-256 of every file), then the directories and files of the data directory. Written and read one
//! entry at a time through small buffers, so a 2 GB database never sits in memory. The reader trusts
//! nothing: every path must be plain and relative and listed in the manifest, every file must match its
//! size and hash, and nothing may be missing.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format this hub writes.
pub const FORMAT: &str = "outreach-hub-backup/1";
const FORMAT_PREFIX: &str = "outreach-hub-backup/";
const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_NAME: &str = "MANIFEST.json";
/// The last entry: the SHA-256 of the manifest's bytes, so a plain (unencrypted) archive whose manifest was
/// altered is caught too (age authenticates an encrypted one as a whole).
pub const MANIFEST_SUM_NAME: &str = "MANIFEST.sha256";
/// A manifest larger than this is refused before it is parsed.
const MAX_MANIFEST: u64 = 1 << 20;

/// `MANIFEST.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub hub_version: String,
    pub created_at: String,
    pub device_id: String,
    pub mode: String,
    pub name: String,
    /// Number of applied schema migrations, and their names.
    pub schema_version: usize,
    pub migrations: Vec<String>,
    pub encrypted: bool,
    /// The keys the backup was encrypted to, described ("the recovery key (3f2a-…)"); empty for a plain
    /// archive and for passphrase backups made before issue 19.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encrypted_to: Vec<String>,
    /// The data directory was protected (issue 19, `shared::vault`): `hub.sqlite` is encrypted with the
    /// hub's data key (SQLCipher), the secret key files are sealed under it, and `keys/keyring.json` holds
    /// the wrapped copies of that key. Restoring gives a protected (locked) directory again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
    /// Row counts: users, drafts, receipts (sealed dossiers), envelopes, received_dossiers…
    pub counts: BTreeMap<String, i64>,
    /// Directories to create (relative paths, `/`-separated), parents first.
    pub dirs: Vec<String>,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// Why an archive is refused (exit code 2 of `hub restore`).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("the backup was made by a newer hub (format {0}); install a newer hub to restore it")]
    Newer(String),
    #[error("this is not an outreach hub backup ({0})")]
    NotABackup(String),
    #[error("the backup file is damaged or incomplete: {0}")]
    Damaged(String),
}

impl Manifest {
    /// Checks the format line: ours, or a newer one we must not guess at.
    pub fn check_format(&self) -> Result<(), ArchiveError> {
        match self.format.strip_prefix(FORMAT_PREFIX) {
            Some(v) => match v.parse::<u32>() {
                Ok(n) if n == FORMAT_VERSION => Ok(()),
                Ok(n) if n > FORMAT_VERSION => Err(ArchiveError::Newer(self.format.clone())),
                _ => Err(ArchiveError::NotABackup(format!(
                    "unknown format {}",
                    self.format
                ))),
            },
            None => Err(ArchiveError::NotABackup(format!(
                "unknown format {}",
                self.format
            ))),
        }
    }

    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// A file to put in the archive: where it is now and its relative name in the archive.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub rel: String,
    pub abs: PathBuf,
}

/// Hashes a file (size and SHA-256) by streaming it.
pub fn hash_file(path: &Path) -> io::Result<(u64, String)> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let n = io::copy(&mut f, &mut h)?;
    Ok((n, hex::encode(h.finalize())))
}

/// Counts and hashes what passes through.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    n: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.hash.update(&buf[..k]);
        self.n += k as u64;
        Ok(k)
    }
}

fn header(size: u64, mode: u32, mtime: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h.set_entry_type(kind);
    h
}

/// Writes the archive to `out`: the manifest, the directories, then each file (whose size and hash must
/// still be those in the manifest: a file that changed since it was hashed fails the backup).
pub fn write<W: Write>(
    out: W,
    manifest: &Manifest,
    files: &[SourceFile],
    mtime: u64,
) -> anyhow::Result<W> {
    let mut b = tar::Builder::new(out);
    let json = serde_json::to_vec_pretty(manifest)?;
    let mut h = header(json.len() as u64, 0o600, mtime, tar::EntryType::Regular);
    b.append_data(&mut h, MANIFEST_NAME, json.as_slice())?;
    for d in &manifest.dirs {
        let mut h = header(0, 0o700, mtime, tar::EntryType::Directory);
        b.append_data(&mut h, d, io::empty())?;
    }
    for f in files {
        let entry = manifest
            .files
            .iter()
            .find(|e| e.path == f.rel)
            .ok_or_else(|| anyhow::anyhow!("{} is not in the manifest", f.rel))?;
        let file = fs::File::open(&f.abs)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", f.abs.display()))?;
        let mut r = Hashing {
            inner: file.take(entry.size),
            hash: Sha256::new(),
            n: 0,
        };
        let mut h = header(entry.size, 0o600, mtime, tar::EntryType::Regular);
        b.append_data(&mut h, &f.rel, &mut r)?;
        if r.n != entry.size || hex::encode(r.hash.finalize()) != entry.sha256 {
            anyhow::bail!(
                "{} changed while it was being backed up; run the backup again",
                f.rel
            );
        }
    }
    let sum = format!("{}\n", hex::encode(Sha256::digest(&json)));
    let mut h = header(sum.len() as u64, 0o600, mtime, tar::EntryType::Regular);
    b.append_data(&mut h, MANIFEST_SUM_NAME, sum.as_bytes())?;
    Ok(b.into_inner()?)
}

/// Checks that an archive path is plain and relative (`a/b`, no `..`, no root) and returns it with `/`.
fn clean_rel(p: &Path) -> Option<String> {
    let mut parts = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("/"))
    }
}

fn damaged(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Damaged(e.to_string())
}

/// Reads an archive from `input` into the empty directory `dest`, verifying every file against the
/// manifest; reads `input` to its end (so an encrypted stream's final authentication is checked).
pub fn unpack<R: Read>(input: R, dest: &Path) -> Result<Manifest, ArchiveError> {
    let mut archive = tar::Archive::new(input);
    let manifest = {
        let mut entries = archive.entries().map_err(damaged)?;
        let mut first = match entries.next() {
            Some(e) => e.map_err(|e| ArchiveError::NotABackup(e.to_string()))?,
            None => return Err(ArchiveError::NotABackup("the archive is empty".into())),
        };
        let path = first.path().map_err(damaged)?.into_owned();
        if path != Path::new(MANIFEST_NAME) {
            return Err(ArchiveError::NotABackup(format!(
                "it starts with {} instead of {MANIFEST_NAME}",
                path.display()
            )));
        }
        if first.size() > MAX_MANIFEST {
            return Err(ArchiveError::NotABackup("manifest too large".into()));
        }
        let mut json = Vec::new();
        (&mut first)
            .take(MAX_MANIFEST)
            .read_to_end(&mut json)
            .map_err(damaged)?;
        // Read the format line alone first, so a newer manifest with other fields is refused as newer.
        #[derive(Deserialize)]
        struct Head {
            format: String,
        }
        let head: Head = serde_json::from_slice(&json)
            .map_err(|e| ArchiveError::NotABackup(format!("bad manifest: {e}")))?;
        if !head.format.starts_with(FORMAT_PREFIX) {
            return Err(ArchiveError::NotABackup(format!(
                "unknown format {}",
                head.format
            )));
        }
        if head.format != FORMAT {
            let m = Manifest {
                format: head.format,
                hub_version: String::new(),
                created_at: String::new(),
                device_id: String::new(),
                mode: String::new(),
                name: String::new(),
                schema_version: 0,
                migrations: vec![],
                encrypted: false,
                encrypted_to: vec![],
                protected: false,
                counts: BTreeMap::new(),
                dirs: vec![],
                files: vec![],
            };
            m.check_format()?;
        }
        let manifest: Manifest = serde_json::from_slice(&json)
            .map_err(|e| ArchiveError::NotABackup(format!("bad manifest: {e}")))?;
        manifest.check_format()?;
        let expected: BTreeMap<&str, &FileEntry> = manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f))
            .collect();
        if expected.len() != manifest.files.len() || !expected.contains_key("hub.sqlite") {
            return Err(ArchiveError::NotABackup(
                "the manifest lists no database or a file twice".into(),
            ));
        }
        let dirs: BTreeSet<&str> = manifest.dirs.iter().map(String::as_str).collect();
        let mut seen = BTreeSet::new();
        let want_sum = hex::encode(Sha256::digest(&json));
        let mut sum_ok = false;
        for entry in entries {
            let mut entry = entry.map_err(damaged)?;
            let raw = entry.path().map_err(damaged)?.into_owned();
            let rel = clean_rel(&raw).ok_or_else(|| {
                ArchiveError::Damaged(format!("unsafe path {} in the archive", raw.display()))
            })?;
            if sum_ok {
                return Err(ArchiveError::Damaged(format!(
                    "{rel} follows the end of the archive"
                )));
            }
            let target = dest.join(&rel);
            match entry.header().entry_type() {
                tar::EntryType::Regular if rel == MANIFEST_SUM_NAME => {
                    let mut text = String::new();
                    (&mut entry)
                        .take(256)
                        .read_to_string(&mut text)
                        .map_err(damaged)?;
                    if text.trim() != want_sum {
                        return Err(ArchiveError::Damaged(
                            "the manifest does not match its checksum".into(),
                        ));
                    }
                    sum_ok = true;
                }
                tar::EntryType::Directory if dirs.contains(rel.as_str()) => {
                    fs::create_dir_all(&target).map_err(damaged)?;
                    fs::set_permissions(&target, fs::Permissions::from_mode(0o700))
                        .map_err(damaged)?;
                }
                tar::EntryType::Regular => {
                    let want = expected.get(rel.as_str()).ok_or_else(|| {
                        ArchiveError::Damaged(format!(
                            "{rel} is in the archive but not in the manifest"
                        ))
                    })?;
                    if !seen.insert(rel.clone()) {
                        return Err(ArchiveError::Damaged(format!("{rel} appears twice")));
                    }
                    if let Some(parent) = target.parent() {
                        fs::create_dir_all(parent).map_err(damaged)?;
                    }
                    let mut out = fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(&target)
                        .map_err(damaged)?;
                    let mut r = Hashing {
                        inner: &mut entry,
                        hash: Sha256::new(),
                        n: 0,
                    };
                    io::copy(&mut r, &mut out).map_err(damaged)?;
                    out.sync_all().map_err(damaged)?;
                    if r.n != want.size || hex::encode(r.hash.finalize()) != want.sha256 {
                        return Err(ArchiveError::Damaged(format!(
                            "{rel} does not match its checksum in the manifest"
                        )));
                    }
                }
                other => {
                    return Err(ArchiveError::Damaged(format!(
                        "unexpected {other:?} entry {rel}"
                    )))
                }
            }
        }
        let missing: Vec<&str> = expected
            .keys()
            .filter(|k| !seen.contains(**k))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(ArchiveError::Damaged(format!(
                "missing from the archive: {}",
                missing.join(", ")
            )));
        }
        if !sum_ok {
            return Err(ArchiveError::Damaged(format!(
                "the archive ends before {MANIFEST_SUM_NAME}"
            )));
        }
        manifest
    };
    // Drain to the end: a truncated or altered encrypted stream fails here if not before.
    io::copy(&mut archive.into_inner(), &mut io::sink()).map_err(damaged)?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> (Manifest, Vec<SourceFile>) {
        fs::create_dir_all(dir.join("keys")).unwrap();
        fs::write(dir.join("hub.sqlite"), vec![7u8; 70_000]).unwrap();
        fs::write(dir.join("keys/device.ed25519"), b"seed\n").unwrap();
        let files: Vec<SourceFile> = ["hub.sqlite", "keys/device.ed25519"]
            .iter()
            .map(|r| SourceFile {
                rel: r.to_string(),
                abs: dir.join(r),
            })
            .collect();
        let entries = files
            .iter()
            .map(|f| {
                let (size, sha256) = hash_file(&f.abs).unwrap();
                FileEntry {
                    path: f.rel.clone(),
                    size,
                    sha256,
                }
            })
            .collect();
        let m = Manifest {
            format: FORMAT.into(),
            hub_version: "0.1.0".into(),
            created_at: "2026-11-23T10:00:00Z".into(),
            device_id: "abcd".into(),
            mode: "field".into(),
            name: "Trạm".into(),
            schema_version: 1,
            migrations: vec!["0001_initial".into()],
            encrypted: false,
            encrypted_to: vec![],
            protected: false,
            counts: BTreeMap::from([("receipts".into(), 3)]),
            dirs: vec!["keys".into()],
            files: entries,
        };
        (m, files)
    }

    #[test]
    fn round_trip_restores_every_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (m, files) = sample(&tmp.path().join("src"));
        let bytes = write(Vec::new(), &m, &files, 0).unwrap();
        let dest = tmp.path().join("dest");
        fs::create_dir(&dest).unwrap();
        let got = unpack(bytes.as_slice(), &dest).unwrap();
        assert_eq!(got, m);
        assert_eq!(
            fs::read(dest.join("hub.sqlite")).unwrap(),
            vec![7u8; 70_000]
        );
        assert_eq!(
            fs::metadata(dest.join("keys/device.ed25519"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    #[test]
    fn every_flipped_byte_in_file_data_or_manifest_is_caught() {
        let tmp = tempfile::tempdir().unwrap();
        let (m, files) = sample(&tmp.path().join("src"));
        let bytes = write(Vec::new(), &m, &files, 0).unwrap();
        // Flip bytes at many offsets: a damaged archive must never unpack "successfully" with other
        // content than the original (padding and header fields tar ignores may pass unchanged).
        let mut refused = 0;
        for (i, off) in (0..bytes.len()).step_by(997).enumerate() {
            let mut b = bytes.clone();
            b[off] ^= 0x55;
            let dest = tmp.path().join(format!("d{i}"));
            fs::create_dir(&dest).unwrap();
            match unpack(b.as_slice(), &dest) {
                Err(_) => refused += 1,
                Ok(got) => {
                    assert_eq!(got, m, "offset {off}");
                    assert_eq!(
                        fs::read(dest.join("hub.sqlite")).unwrap(),
                        vec![7u8; 70_000],
                        "offset {off}"
                    );
                }
            }
        }
        assert!(refused > 50, "{refused}");
    }

    #[test]
    fn truncated_archives_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (m, files) = sample(&tmp.path().join("src"));
        let bytes = write(Vec::new(), &m, &files, 0).unwrap();
        // Everything up to the end of the last file's data must be there.
        for (i, cut) in [0, 100, 600, 2000, 40_000, bytes.len() - 2048]
            .into_iter()
            .enumerate()
        {
            let dest = tmp.path().join(format!("t{i}"));
            fs::create_dir(&dest).unwrap();
            assert!(unpack(&bytes[..cut], &dest).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn unsafe_unknown_and_newer_archives_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let (m, files) = sample(&tmp.path().join("src"));
        // A newer format.
        let mut newer = m.clone();
        newer.format = "outreach-hub-backup/2".into();
        let b = write(Vec::new(), &newer, &files, 0).unwrap();
        let dest = tmp.path().join("n");
        fs::create_dir(&dest).unwrap();
        assert!(matches!(
            unpack(b.as_slice(), &dest),
            Err(ArchiveError::Newer(_))
        ));
        // A file the manifest does not list.
        let mut short = m.clone();
        short.files.retain(|f| f.path == "hub.sqlite");
        let err = write(Vec::new(), &short, &files, 0).unwrap_err();
        assert!(err.to_string().contains("not in the manifest"));
        // A path escaping the directory, written by hand.
        let mut b = tar::Builder::new(Vec::new());
        let json = serde_json::to_vec(&m).unwrap();
        let mut h = header(json.len() as u64, 0o600, 0, tar::EntryType::Regular);
        b.append_data(&mut h, MANIFEST_NAME, json.as_slice())
            .unwrap();
        let mut h = header(4, 0o600, 0, tar::EntryType::Regular);
        h.as_gnu_mut().unwrap().name[..12].copy_from_slice(b"../evil.txt\0");
        h.set_cksum();
        b.append(&h, &b"evil"[..]).unwrap();
        let bytes = b.into_inner().unwrap();
        let dest = tmp.path().join("e");
        fs::create_dir(&dest).unwrap();
        let err = unpack(bytes.as_slice(), &dest).unwrap_err();
        assert!(err.to_string().contains("unsafe path"), "{err}");
        assert!(!tmp.path().join("evil.txt").exists());
        // Not a backup at all.
        let dest = tmp.path().join("x");
        fs::create_dir(&dest).unwrap();
        assert!(matches!(
            unpack(&b"hello world"[..], &dest),
            Err(ArchiveError::NotABackup(_) | ArchiveError::Damaged(_))
        ));
    }
}
