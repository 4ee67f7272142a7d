//! What the office tells a field device about its envelopes, signed with the office key: the `Holdings`
//! (protocol §11.4) and the `Ack` of one batch (§11.6). Both are computed from the store's current state, so
//! asking again is always safe.

use protocol::{
    Ack, AckedEnvelope, BatchManifest, ChainHead, CheckKind, DeviceId, DeviceKey, DeviceStatus,
    Equivocation, Holdings, QuarantineEntry, Quarantined, SignedAck, SignedHoldings,
    SignedManifest, ACK_KIND, HOLDINGS_KIND,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

/// One unresolved quarantine item: (seq, hash, reason, detail, held_hash).
pub type OpenItem = (u64, String, CheckKind, String, Option<String>);

/// Unresolved quarantine items of `device`, by (seq, hash).
pub fn open_quarantine(c: &Connection, device: &DeviceId) -> StoreResult<Vec<OpenItem>> {
    let mut st = c.prepare(
        "SELECT seq, hash, reason, detail, held_hash FROM quarantine
         WHERE device_id = ?1 AND resolved_at IS NULL ORDER BY seq, hash",
    )?;
    let rows = st.query_map([device.as_str()], |r| {
        Ok((
            r.get::<_, i64>(0)? as u64,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (seq, hash, reason, detail, held) = r?;
        out.push((seq, hash, parse_check(&reason)?, detail, held));
    }
    Ok(out)
}

/// A stored check code.
pub fn parse_check(s: &str) -> StoreResult<CheckKind> {
    CheckKind::ALL
        .iter()
        .copied()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown check code {s:?}")))
}

/// The whole USB ack file for `ack` (protocol §8, §11.4.2, §13.4): the ack on the first line, then the
/// office's signed holdings of the device (with them a field hub with no network settles its chain), then
/// the signed packages; the lines after the first only for a device known to read them (§13.4).
pub fn usb_ack_file(
    c: &Connection,
    office: &DeviceKey,
    ack: &protocol::SignedAck,
) -> StoreResult<Vec<u8>> {
    let with_packages = crate::office::packages::store::ack_file(c, office, ack)?;
    let device = &ack.ack.device_id;
    // A field hub older than multi-line ack files reads the whole file as one ack: it gets the ack alone.
    if !crate::office::packages::store::is_reader(c, device.as_str())? {
        return Ok(with_packages);
    }
    let status = super::session::field_device_status(c, device)?
        .map(|(_, s)| s)
        .unwrap_or(DeviceStatus::Revoked);
    let held = holdings(c, office, device, status)?.to_bytes()?;
    let mut parts = with_packages.splitn(2, |b| *b == b'\n');
    let mut out = parts.next().unwrap_or_default().to_vec();
    out.push(b'\n');
    out.extend_from_slice(&held);
    if let Some(rest) = parts.next() {
        out.push(b'\n');
        out.extend_from_slice(rest);
    }
    Ok(out)
}

/// What the office holds of `device`, signed.
pub fn holdings(
    c: &Connection,
    office: &DeviceKey,
    device: &DeviceId,
    status: DeviceStatus,
) -> StoreResult<SignedHoldings> {
    let mut st =
        c.prepare("SELECT seq FROM received_envelopes WHERE device_id = ?1 ORDER BY seq")?;
    let seqs: Vec<u64> = st
        .query_map([device.as_str()], |r| r.get::<_, i64>(0))?
        .map(|r| r.map(|s| s as u64))
        .collect::<Result<_, _>>()?;
    let head: Option<ChainHead> = c
        .query_row(
            "SELECT seq, hash FROM received_envelopes WHERE device_id = ?1 ORDER BY seq DESC LIMIT 1",
            [device.as_str()],
            |r| {
                Ok(ChainHead {
                    seq: r.get::<_, i64>(0)? as u64,
                    hash: r.get(1)?,
                })
            },
        )
        .optional()?;
    let quarantined = open_quarantine(c, device)?
        .into_iter()
        .map(|(seq, hash, reason, _, _)| Quarantined { seq, hash, reason })
        .collect();
    let body = Holdings {
        kind: HOLDINGS_KIND.into(),
        v: 1,
        office_id: office.public().device_id(),
        device_id: device.clone(),
        head,
        held: Holdings::ranges_of(&seqs),
        quarantined,
        as_of: clock::now_rfc3339(),
        device_status: status,
    };
    Ok(SignedHoldings::sign(body, office)?)
}

/// Keeps a verified manifest as signed (idempotent: the same batch id again replaces it), and records the
/// device's chain head and `sessions`, the manifest's summaries as opened by
/// [`protocol::BatchManifest::open_sessions`] (sealed to the office since batch format 2). For a device
/// revoked from a sequence number (`cutoff`), a manifest whose chain head is at or above the cutoff is
/// kept as evidence only: its chain head and summaries may be forged, so they are not recorded.
pub fn save_manifest(
    c: &Connection,
    signed: &SignedManifest,
    sessions: Vec<protocol::SessionSummary>,
    cutoff: Option<&crate::office::intake::verify::Cutoff>,
) -> StoreResult<()> {
    let m = &signed.manifest;
    c.execute(
        "INSERT INTO sync_manifests(device_id, batch_id, body, signature, received_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(device_id, batch_id) DO UPDATE SET body = excluded.body, signature = excluded.signature",
        params![
            m.device_id.as_str(),
            m.batch_id,
            protocol::canonical_bytes(m)?,
            signed.signature.to_hex(),
            clock::now_rfc3339()
        ],
    )
    .map_err(StoreError::classify)?;
    if cutoff.is_some_and(|cut| cut.refuses(m.chain_head.seq)) {
        return Ok(());
    }
    let mut opened = signed.clone();
    opened.manifest.sessions = sessions;
    opened.manifest.sealed_sessions = None;
    crate::office::ledger::sessions::record(c, &opened)
}

/// A kept manifest of `device`.
pub fn manifest(
    c: &Connection,
    device: &DeviceId,
    batch_id: &str,
) -> StoreResult<Option<BatchManifest>> {
    let body: Option<Vec<u8>> = c
        .query_row(
            "SELECT body FROM sync_manifests WHERE device_id = ?1 AND batch_id = ?2",
            params![device.as_str(), batch_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match body {
        Some(b) => Some(BatchManifest::from_bytes(&b)?),
        None => None,
    })
}

/// The device that sent batch `batch_id` (any device), with its manifest.
pub fn manifest_by_batch(c: &Connection, batch_id: &str) -> StoreResult<Option<BatchManifest>> {
    let body: Option<Vec<u8>> = c
        .query_row(
            "SELECT body FROM sync_manifests WHERE batch_id = ?1 ORDER BY received_at DESC LIMIT 1",
            [batch_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match body {
        Some(b) => Some(BatchManifest::from_bytes(&b)?),
        None => None,
    })
}

/// The signed acknowledgement of `manifest` as the store stands now: each announced envelope is acked
/// (held with the same hash), quarantined (unresolved, as offered), or missing.
pub fn build_ack(c: &Connection, office: &DeviceKey, m: &BatchManifest) -> StoreResult<SignedAck> {
    let open = open_quarantine(c, &m.device_id)?;
    let mut acked = Vec::new();
    let mut quarantined = Vec::new();
    let mut equivocations = Vec::new();
    let mut missing = Vec::new();
    for e in &m.envelopes {
        let held = crate::office::intake::verify::held_hash(c, &m.device_id, e.seq)?;
        if held.as_deref() == Some(e.hash.as_str()) {
            acked.push(AckedEnvelope {
                seq: e.seq,
                hash: e.hash.clone(),
            });
            continue;
        }
        let mine: Vec<_> = open.iter().filter(|q| q.0 == e.seq).collect();
        if mine.is_empty() {
            missing.push(e.seq);
            continue;
        }
        for (seq, hash, reason, detail, held_hash) in mine {
            quarantined.push(QuarantineEntry {
                seq: *seq,
                hash: hash.clone(),
                reason: *reason,
                detail: detail.clone(),
            });
            if *reason == CheckKind::Equivocation {
                if let Some(h) = held_hash {
                    if !equivocations.iter().any(|q: &Equivocation| q.seq == *seq) && h != hash {
                        equivocations.push(Equivocation {
                            seq: *seq,
                            held_hash: h.clone(),
                            offered_hash: hash.clone(),
                        });
                    }
                }
            }
        }
    }
    acked.sort();
    acked.dedup_by_key(|a| a.seq);
    quarantined.sort_by(|a, b| (a.seq, &a.hash).cmp(&(b.seq, &b.hash)));
    quarantined.dedup_by(|a, b| a.seq == b.seq && a.hash == b.hash);
    equivocations.sort_by_key(|e| e.seq);
    missing.sort_unstable();
    missing.dedup();
    let body = Ack {
        kind: ACK_KIND.into(),
        v: 1,
        office_id: office.public().device_id(),
        device_id: m.device_id.clone(),
        batch_id: m.batch_id.clone(),
        acked,
        quarantined,
        equivocations,
        missing,
        acked_at: clock::now_rfc3339(),
    };
    Ok(SignedAck::sign(body, office)?)
}

/// Writes an ack file durably: a temporary file beside it, synced, then renamed over `path`.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.part");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}
