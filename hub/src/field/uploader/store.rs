//! The uploader's storage on a field hub: the pinned office, the local envelopes and their ciphertexts,
//! marking envelopes acknowledged (only those a verified ack covers), alarms, the record of sync runs, and
//! retention (deleting acknowledged ciphertexts after the retention period, never unacknowledged ones).

use protocol::{
    Ack, BlobRef, DeviceId, DevicePublicKey, EnvelopeHeader, ManifestEntry, Quarantined,
};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::shared::clock;
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// The office this field hub is paired with.
#[derive(Debug, Clone)]
pub struct PinnedOffice {
    pub device_id: DeviceId,
    pub key: DevicePublicKey,
    pub name: String,
    /// The URL it was paired at (pairing by code), if any.
    pub base_url: Option<String>,
    /// The key fingerprint the office advertises over mDNS.
    pub fingerprint: String,
}

/// The fingerprint a hub advertises in its mDNS TXT record: the first 16 hex digits of
/// SHA-256(signing key hex ‖ age recipient) (see `serve.rs`).
pub fn key_fingerprint(sign_pub_hex: &str, age_recipient: &str) -> String {
    protocol::sha256_hex(format!("{sign_pub_hex}{age_recipient}").as_bytes())[..16].to_string()
}

/// The first office this hub trusted (a field hub syncs with one office).
pub fn pinned_office(c: &Connection) -> StoreResult<Option<PinnedOffice>> {
    let row: Option<(String, String, String, Option<String>, String)> = c
        .query_row(
            "SELECT device_id, sign_pub, name, base_url, age_recipient FROM trusted_peers
             WHERE mode = 'office' ORDER BY trusted_at, device_id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((_id, sign_pub, name, base_url, age)) = row else {
        return Ok(None);
    };
    let key = DevicePublicKey::from_hex(&sign_pub)?;
    Ok(Some(PinnedOffice {
        device_id: key.device_id(),
        fingerprint: key_fingerprint(&sign_pub, &age),
        key,
        name,
        base_url: base_url.filter(|u| !u.is_empty()),
    }))
}

/// One local envelope's standing.
#[derive(Debug, Clone)]
pub struct LocalEnvelope {
    pub seq: u64,
    pub hash: String,
    pub acked: bool,
    pub pruned: bool,
}

/// Every envelope of this hub's chain, ascending.
pub fn local_envelopes(c: &Connection) -> StoreResult<Vec<LocalEnvelope>> {
    let mut st = c.prepare(
        "SELECT seq, hash, acked_at IS NOT NULL, pruned_at IS NOT NULL FROM envelopes ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok(LocalEnvelope {
            seq: r.get::<_, i64>(0)? as u64,
            hash: r.get(1)?,
            acked: r.get(2)?,
            pruned: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Manifest entries of envelopes `seqs` (built as `batch/export.rs` builds them: from the stored header).
pub fn manifest_entries(c: &Connection, seqs: &[u64]) -> StoreResult<Vec<ManifestEntry>> {
    let mut out = Vec::with_capacity(seqs.len());
    let mut st = c.prepare("SELECT header, hash FROM envelopes WHERE seq = ?1")?;
    for &seq in seqs {
        let (header, hash): (Vec<u8>, String) =
            st.query_row([seq as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let h: EnvelopeHeader = protocol::parse_canonical(&header)?;
        out.push(ManifestEntry {
            seq,
            hash,
            payload: h.payload,
            blobs: h.blobs,
        });
    }
    Ok(out)
}

/// The canonical bytes of envelope `seq` as a `SignedEnvelope` (`{header, signature}`).
pub fn signed_envelope_bytes(c: &Connection, seq: u64) -> StoreResult<Vec<u8>> {
    let (header, sig): (Vec<u8>, String) = c.query_row(
        "SELECT header, signature FROM envelopes WHERE seq = ?1",
        [seq as i64],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let signed = protocol::SignedEnvelope {
        header: protocol::parse_canonical(&header)?,
        signature: protocol::Signature::from_hex(&sig)?,
    };
    Ok(protocol::canonical_bytes(&signed)?)
}

/// Where a ciphertext lives: the payload of envelope `seq` (`idx` None) or its attachment `idx`.
#[derive(Debug, Clone, Copy)]
pub struct CipherLoc {
    pub seq: u64,
    pub idx: Option<i64>,
}

/// Where each ciphertext of `entries` lives, by SHA-256.
pub fn cipher_locations(entries: &[ManifestEntry]) -> Vec<(BlobRef, CipherLoc)> {
    let mut out = Vec::new();
    for e in entries {
        out.push((
            e.payload.clone(),
            CipherLoc {
                seq: e.seq,
                idx: None,
            },
        ));
        for (i, b) in e.blobs.iter().enumerate() {
            out.push((
                b.clone(),
                CipherLoc {
                    seq: e.seq,
                    idx: Some(i as i64),
                },
            ));
        }
    }
    out
}

/// The bytes of one ciphertext.
pub fn ciphertext(c: &Connection, loc: CipherLoc) -> StoreResult<Vec<u8>> {
    Ok(match loc.idx {
        None => c.query_row(
            "SELECT payload FROM envelopes WHERE seq = ?1 AND pruned_at IS NULL",
            [loc.seq as i64],
            |r| r.get(0),
        )?,
        Some(i) => c.query_row(
            "SELECT bytes FROM envelope_blobs WHERE seq = ?1 AND idx = ?2",
            params![loc.seq as i64, i],
            |r| r.get(0),
        )?,
    })
}

/// What marking an ack did.
#[derive(Debug, Default, Clone, Copy, Serialize, utoipa::ToSchema)]
#[schema(as = UploadAckMarked)]
pub struct AckMarked {
    /// Envelopes newly marked acknowledged.
    pub newly_acked: usize,
    /// Alarms newly raised (quarantined or equivocation).
    pub alarms: usize,
}

/// In one transaction: marks acknowledged exactly the local envelopes `ack` covers (same seq, same header
/// hash) and raises an alarm for each quarantined envelope and equivocation it names. The caller has
/// verified `ack` (signature by the pinned office, for this device).
pub fn apply_ack(c: &mut Connection, ack: &Ack) -> StoreResult<AckMarked> {
    let now = clock::now_rfc3339();
    let tx = write_tx(c)?;
    let mut m = AckMarked::default();
    {
        let mut st = tx.prepare("SELECT seq, hash FROM envelopes WHERE acked_at IS NULL")?;
        let rows: Vec<(i64, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (seq, hash) in rows {
            if ack.covers(seq as u64, &hash) {
                m.newly_acked += tx.execute(
                    "UPDATE envelopes SET acked_at = ?1, acked_batch = ?2
                     WHERE seq = ?3 AND hash = ?4 AND acked_at IS NULL",
                    params![now, ack.batch_id, seq, hash],
                )?;
            }
        }
    }
    for q in &ack.quarantined {
        m.alarms += raise(&tx, q.seq, &q.hash, q.reason.as_str(), &q.detail, &now)?;
    }
    for e in &ack.equivocations {
        let detail = format!(
            "the office already holds a different envelope {} (hash {}); this hub offered {}",
            e.seq, e.held_hash, e.offered_hash
        );
        m.alarms += raise(&tx, e.seq, &e.offered_hash, "equivocation", &detail, &now)?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(m)
}

/// The seqs of the equivocations in `quarantined` that this hub has not alarmed yet (news of a copy of
/// its card, or of its own envelope displaced).
pub fn new_equivocations(c: &Connection, quarantined: &[Quarantined]) -> StoreResult<Vec<u64>> {
    let mut out = Vec::new();
    let mut st = c.prepare(
        "SELECT EXISTS (SELECT 1 FROM sync_alarms WHERE seq = ?1 AND hash = ?2 AND reason = 'equivocation')",
    )?;
    for q in quarantined
        .iter()
        .filter(|q| q.reason == protocol::CheckKind::Equivocation)
    {
        let seen: bool = st.query_row(params![q.seq as i64, q.hash], |r| r.get(0))?;
        if !seen {
            out.push(q.seq);
        }
    }
    Ok(out)
}

/// Raises alarms for the envelopes a holdings answer lists as quarantined.
pub fn alarms_from_holdings(c: &mut Connection, quarantined: &[Quarantined]) -> StoreResult<usize> {
    if quarantined.is_empty() {
        return Ok(0);
    }
    let now = clock::now_rfc3339();
    let tx = write_tx(c)?;
    let mut n = 0;
    for q in quarantined {
        n += raise(
            &tx,
            q.seq,
            &q.hash,
            q.reason.as_str(),
            "set aside by the office (quarantine)",
            &now,
        )?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(n)
}

fn raise(
    c: &Connection,
    seq: u64,
    hash: &str,
    reason: &str,
    detail: &str,
    now: &str,
) -> StoreResult<usize> {
    Ok(c.execute(
        "INSERT OR IGNORE INTO sync_alarms(seq, hash, reason, detail, raised_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![seq as i64, hash, reason, detail, now],
    )?)
}

/// An alarm as listed to officers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = UploadAlarm)]
pub struct Alarm {
    pub id: i64,
    pub seq: u64,
    pub hash: String,
    pub reason: String,
    pub detail: String,
    #[schema(format = DateTime)]
    pub raised_at: String,
    #[schema(format = DateTime)]
    pub resolved_at: Option<String>,
    /// The name of the user who resolved it.
    pub resolved_by: Option<String>,
    /// The receipt code of the dossier in that envelope, when it is this hub's envelope (by seq and
    /// hash: an envelope a copy of this hub's card sealed at the same seq names no receipt of this hub).
    pub receipt_code: Option<String>,
    /// How it was settled without a person (e.g. "numbered again as seq 11 after the office's seq 10").
    pub resolution: Option<String>,
}

/// Alarms, unresolved first, newest first.
pub fn list_alarms(c: &Connection) -> StoreResult<Vec<Alarm>> {
    let mut st = c.prepare(
        "SELECT a.id, a.seq, a.hash, a.reason, a.detail, a.raised_at, a.resolved_at, u.name, r.code,
                a.resolution
         FROM sync_alarms a
         LEFT JOIN users u ON u.id = a.resolved_by
         LEFT JOIN envelopes e ON e.seq = a.seq AND e.hash = a.hash
         LEFT JOIN rechained x ON x.old_hash = a.hash
         LEFT JOIN receipts r ON r.dossier_id = coalesce(e.dossier_id, x.dossier_id)
         ORDER BY a.resolved_at IS NOT NULL, a.id DESC LIMIT 500",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Alarm {
            id: r.get(0)?,
            seq: r.get::<_, i64>(1)? as u64,
            hash: r.get(2)?,
            reason: r.get(3)?,
            detail: r.get(4)?,
            raised_at: r.get(5)?,
            resolved_at: r.get(6)?,
            resolved_by: r.get(7)?,
            receipt_code: r.get(8)?,
            resolution: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many alarms stand (not resolved by an officer).
pub fn standing_alarms(c: &Connection) -> StoreResult<usize> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM sync_alarms WHERE resolved_at IS NULL",
        [],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// Marks alarm `id` resolved by `user`; false when there is no such unresolved alarm.
pub fn resolve_alarm(c: &mut Connection, id: i64, user: &str) -> StoreResult<bool> {
    let tx = write_tx(c)?;
    let n = tx.execute(
        "UPDATE sync_alarms SET resolved_at = ?1, resolved_by = ?2 WHERE id = ?3 AND resolved_at IS NULL",
        params![clock::now_rfc3339(), user, id],
    )?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(n == 1)
}

/// Starts the record of a sync run; returns its id.
pub fn run_started(c: &mut Connection, via: &str, office_url: Option<&str>) -> StoreResult<i64> {
    let tx = write_tx(c)?;
    tx.execute(
        "INSERT INTO sync_runs(started_at, via, office_url) VALUES (?1, ?2, ?3)",
        params![clock::now_rfc3339(), via, office_url],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit().map_err(StoreError::classify)?;
    Ok(id)
}

/// Finishes the record of run `id`.
pub fn run_finished(
    c: &mut Connection,
    id: i64,
    office_url: Option<&str>,
    envelopes: usize,
    bytes_sent: u64,
    outcome: &str,
    error: Option<&str>,
) -> StoreResult<()> {
    let tx = write_tx(c)?;
    tx.execute(
        "UPDATE sync_runs SET finished_at = ?1, office_url = coalesce(?2, office_url), envelopes = ?3,
             bytes_sent = ?4, outcome = ?5, error = ?6 WHERE id = ?7",
        params![
            clock::now_rfc3339(),
            office_url,
            envelopes as i64,
            bytes_sent as i64,
            outcome,
            error,
            id
        ],
    )?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(())
}

/// The last successful run's finish time.
pub fn last_success(c: &Connection) -> StoreResult<Option<String>> {
    Ok(c.query_row(
        "SELECT max(finished_at) FROM sync_runs WHERE outcome = 'ok'",
        [],
        |r| r.get(0),
    )?)
}

/// Counts for the sync page.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[schema(as = UploadCounts)]
pub struct Counts {
    /// Sealed dossiers in the chain (protected).
    pub sealed: i64,
    /// Acknowledged by the office.
    pub acked: i64,
    /// Sealed, not yet acknowledged.
    pub waiting: i64,
    /// Sealed before any office key was trusted (not in the chain yet).
    pub not_yet_protected: i64,
    /// Acknowledged and whose sealed data was deleted after the retention period.
    pub pruned: i64,
    /// Unresolved alarms.
    pub alarms: i64,
}

pub fn counts(c: &Connection) -> StoreResult<Counts> {
    Ok(c.query_row(
        "SELECT (SELECT count(*) FROM envelopes),
                (SELECT count(*) FROM envelopes WHERE acked_at IS NOT NULL),
                (SELECT count(*) FROM pending_protection),
                (SELECT count(*) FROM envelopes WHERE pruned_at IS NOT NULL),
                (SELECT count(*) FROM sync_alarms WHERE resolved_at IS NULL)",
        [],
        |r| {
            let sealed: i64 = r.get(0)?;
            let acked: i64 = r.get(1)?;
            Ok(Counts {
                sealed,
                acked,
                waiting: sealed - acked,
                not_yet_protected: r.get(2)?,
                pruned: r.get(3)?,
                alarms: r.get(4)?,
            })
        },
    )?)
}

/// Retention: deletes the ciphertexts of envelopes acknowledged at or before `cutoff` (RFC 3339): the
/// payload is emptied, its attachments' rows deleted, `pruned_at` set; the header, hash, signature and
/// receipt stay. Never touches an unacknowledged envelope. Returns how many were pruned.
pub fn prune(c: &mut Connection, cutoff: &str) -> StoreResult<usize> {
    let now = clock::now_rfc3339();
    let tx = write_tx(c)?;
    let seqs: Vec<i64> = {
        let mut st = tx.prepare(
            "SELECT seq FROM envelopes WHERE acked_at IS NOT NULL AND pruned_at IS NULL AND acked_at <= ?1",
        )?;
        let rows = st.query_map([cutoff], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for seq in &seqs {
        tx.execute("DELETE FROM envelope_blobs WHERE seq = ?1", [seq])?;
        tx.execute(
            "UPDATE envelopes SET payload = x'', pruned_at = ?1
             WHERE seq = ?2 AND acked_at IS NOT NULL AND pruned_at IS NULL",
            params![now, seq],
        )?;
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(seqs.len())
}

/// The seqs of the envelopes the office acknowledged (the field home shows "uploaded to the office").
pub fn acked_seqs(c: &Connection) -> StoreResult<Vec<i64>> {
    let mut st = c.prepare("SELECT seq FROM envelopes WHERE acked_at IS NOT NULL ORDER BY seq")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
