//! Writing a batch file from this field hub's envelope chain.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use protocol::{BatchManifest, ChainHead, EnvelopeHeader, ManifestEntry};
use rusqlite::{params, Connection};

use crate::shared::datadir::DataDir;

struct ExportParts<'a> {
    db: &'a crate::shared::store::Db,
    path: &'a Path,
}

/// Seals the session summaries of `manifest` to the office `recipients` (protocol §3.5, batch format 2):
/// nothing about a session travels in plaintext, on a USB stick or over the network. Without a trusted
/// office key (never the case while there are envelopes to send) the summaries are left out and logged.
pub(crate) fn seal_sessions(
    manifest: &mut BatchManifest,
    recipients: &[String],
    sessions: Vec<protocol::SessionSummary>,
) -> anyhow::Result<()> {
    if recipients.is_empty() && !sessions.is_empty() {
        tracing::warn!(
            sessions = sessions.len(),
            "no office key is trusted: session summaries left out of the batch"
        );
        manifest.sessions.clear();
        manifest.sealed_sessions = None;
        return Ok(());
    }
    manifest
        .seal_sessions(recipients, sessions)
        .context("cannot seal the session summaries to the office")
}

/// What an export wrote.
#[derive(Debug)]
pub struct ExportSummary {
    pub path: PathBuf,
    pub batch_id: String,
    pub envelopes: usize,
    pub first_seq: u64,
    pub last_seq: u64,
    pub bytes: u64,
    /// Sealed dossiers not in the file because no office key is trusted yet.
    pub not_yet_protected: i64,
}

/// Exports the envelopes with `seq >= from_seq` to `out` (written to a temporary file, synced, then renamed,
/// so a half-written batch never carries the final name).
pub fn export(dir: &DataDir, out: &Path, from_seq: u64) -> anyhow::Result<ExportSummary> {
    if dir.mode != protocol::HubMode::Field {
        bail!(
            "only a field hub exports batches; {} is an office hub",
            dir.path.display()
        );
    }
    export_with(&dir.db, &dir.keys, &dir.name, &dir.path, out, from_seq)
}

/// [`export`] from a running hub's parts (the field sync page's "batch file for a USB stick").
pub fn export_with(
    db: &crate::shared::store::Db,
    keys: &crate::shared::keys::HubKeys,
    name: &str,
    data_path: &Path,
    out: &Path,
    from_seq: u64,
) -> anyhow::Result<ExportSummary> {
    let dir = ExportParts {
        db,
        path: data_path,
    };
    let device = &keys.device;
    let device_id = keys.device_id.clone();
    let name = name.to_string();
    let tmp = out.with_extension("partial");
    let _ = std::fs::remove_file(&tmp);
    let summary = dir.db.call_sync(|c| {
        let tx = c.transaction()?; // a read snapshot while the server keeps sealing
        let pending: i64 =
            tx.query_row("SELECT count(*) FROM pending_protection", [], |r| r.get(0))?;
        let mut entries = Vec::new();
        {
            let mut st =
                tx.prepare("SELECT seq, header, hash FROM envelopes WHERE seq >= ?1 AND pruned_at IS NULL ORDER BY seq")?;
            let rows = st.query_map([from_seq as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            for row in rows {
                let (seq, header, hash) = row?;
                let h: EnvelopeHeader = protocol::parse_canonical(&header)?;
                entries.push(ManifestEntry {
                    seq: seq as u64,
                    hash,
                    payload: h.payload,
                    blobs: h.blobs,
                });
            }
        }
        let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
        let sessions = crate::field::outreach::summary::for_manifest(&tx, &seqs)?;
        let recipients = crate::shared::trust::office_recipients(&tx)?;
        Ok((pending, entries, sessions, recipients))
    });
    let (pending, entries, sessions, recipients) =
        summary.context("cannot read the envelope chain")?;
    let Some(last) = entries.last() else {
        if pending > 0 {
            bail!(
                "nothing to export: {pending} sealed dossier(s) are not yet protected because no office key is \
                 trusted. Trust the office's key card first: hub trust --data {} office.pub",
                dir.path.display()
            );
        }
        bail!("nothing to export: no sealed dossier from seq {from_seq} on");
    };
    let mut manifest = BatchManifest {
        kind: "outreach-kit/batch-manifest".into(),
        v: 1,
        batch_id: uuid::Uuid::now_v7().to_string(),
        device_id: device_id.clone(),
        device_name: name,
        created_at: crate::shared::clock::now_rfc3339(),
        chain_head: ChainHead {
            seq: last.seq,
            hash: last.hash.clone(),
        },
        sessions: Vec::new(),
        sealed_sessions: None,
        envelopes: entries,
    };
    seal_sessions(&mut manifest, &recipients, sessions)?;
    let signed = protocol::SignedManifest::sign(manifest.clone(), device)?;
    let body = protocol::canonical_bytes(&manifest)?;

    // Written to `tmp`, synced, then renamed; on any failure (a full stick, a full disk) the partial file is
    // removed so it takes no space and is never mistaken for a batch.
    let write = || -> anyhow::Result<u64> {
        let file =
            Connection::open(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        file.pragma_update(None, "journal_mode", "DELETE")?;
        file.pragma_update(None, "synchronous", "FULL")?;
        file.execute_batch(crate::shared::batch_file::SCHEMA)?;
        file.execute_batch("BEGIN")?;
        for (k, v) in [
            ("format", crate::shared::batch_file::FORMAT),
            ("format_version", crate::shared::batch_file::FORMAT_VERSION),
            ("batch_id", manifest.batch_id.as_str()),
            ("device_id", device_id.as_str()),
            ("created_at", manifest.created_at.as_str()),
            // This hub reads procedure packages in the office's ack file (protocol §13.4).
            ("ack_packages", "1"),
        ] {
            file.execute("INSERT INTO batch_meta(key, value) VALUES (?1, ?2)", [k, v])?;
        }
        file.execute(
            "INSERT INTO manifest(id, body, signature) VALUES (1, ?1, ?2)",
            params![body, signed.signature.to_hex()],
        )?;
        let mut bytes = 0u64;
        dir.db.call_sync(|c| {
            for e in &manifest.envelopes {
                let (header, sig, payload): (Vec<u8>, String, Vec<u8>) = c.query_row(
                    "SELECT header, signature, payload FROM envelopes WHERE seq = ?1",
                    [e.seq as i64],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )?;
                bytes += payload.len() as u64;
                file.execute(
                    "INSERT INTO envelopes(seq, header, signature, payload) VALUES (?1, ?2, ?3, ?4)",
                    params![e.seq as i64, header, sig, payload],
                )?;
                let mut st =
                    c.prepare("SELECT sha256, bytes FROM envelope_blobs WHERE seq = ?1 ORDER BY idx")?;
                let rows = st.query_map([e.seq as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
                })?;
                for row in rows {
                    let (sha, b) = row?;
                    bytes += b.len() as u64;
                    file.execute(
                        "INSERT OR IGNORE INTO blobs(sha256, bytes) VALUES (?1, ?2)",
                        params![sha, b],
                    )?;
                }
            }
            Ok(())
        })?;
        file.execute_batch("COMMIT")?;
        drop(file);
        std::fs::File::open(&tmp).and_then(|f| f.sync_all())?;
        std::fs::rename(&tmp, out).with_context(|| format!("cannot write {}", out.display()))?;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(parent).and_then(|d| d.sync_all())?;
        }
        Ok(bytes)
    };
    let bytes = match write() {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            let _ = std::fs::remove_file(tmp.with_extension("partial-journal"));
            if e.chain().any(crate::shared::store::is_disk_full) {
                return Err(e.context(format!(
                    "the disk holding {} is full: free some space and export again",
                    out.display()
                )));
            }
            return Err(e);
        }
    };
    Ok(ExportSummary {
        path: out.to_path_buf(),
        batch_id: manifest.batch_id.clone(),
        envelopes: manifest.envelopes.len(),
        first_seq: manifest.envelopes[0].seq,
        last_seq: manifest.chain_head.seq,
        bytes,
        not_yet_protected: pending,
    })
}
