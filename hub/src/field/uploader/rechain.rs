//! Re-chaining a restored or cloned field hub onto the office's chain (protocol §11.4.2). When the office
//! holds another envelope at a seq this hub used (a card restored from an older copy, or a copy of the
//! card, sealed there too), this hub's unacknowledged envelopes from that seq on are numbered again after
//! the office's chain head: same dossier, same payload and photo ciphertexts, a new header signed by the
//! same device key. Nothing is decrypted (a field hub cannot: its dossiers are encrypted to the office),
//! nothing sealed is lost, and the office, which finds the same ciphertext under the new seq, stores the
//! dossier once and settles the envelope it had set aside. All in one transaction: a power cut leaves the
//! old numbering or the new, never a mix.

use std::collections::BTreeSet;
use std::path::Path;

use protocol::{DeviceKey, EnvelopeHeader, Holdings};
use rusqlite::{params, Connection};
use serde::Serialize;

use crate::field::seal::engine::{CHAIN_BASE_HASH, CHAIN_BASE_SEQ};
use crate::shared::chain_guard::{self, Standing};
use crate::shared::clock;
use crate::shared::store::{meta_set, write_tx, StoreError, StoreResult};

/// One envelope numbered again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub dossier_id: String,
    pub old_seq: u64,
    pub new_seq: u64,
}

/// What re-chaining did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rechained {
    /// Envelopes numbered again, in their new order.
    pub moved: Vec<Moved>,
    /// The office's chain head this hub now builds on (`None`: the office holds nothing of this device).
    pub base_seq: Option<u64>,
}

/// Check codes under which the office sets aside an envelope that another one took the place of: such an
/// envelope is re-chained. Any other reason (a bad signature, a revoked range, a dossier already held) is
/// a defect of the envelope itself, which a new number would not cure.
fn displaced(reason: protocol::CheckKind) -> bool {
    matches!(
        reason,
        protocol::CheckKind::Equivocation | protocol::CheckKind::Chain
    )
}

/// Re-chains this hub onto the office's chain as `holdings` (verified by the caller, for this device)
/// describe it, signing new headers with `device`. Moves every unacknowledged envelope from the first one
/// the office cannot take at its seq (it holds another there, or set ours aside as displaced) and every
/// unacknowledged envelope above the office's head, in their old order, to the seqs after the head; records
/// the head as the chain's base so that dossiers sealed next follow it.
pub fn rechain(
    c: &mut Connection,
    device: &DeviceKey,
    holdings: &Holdings,
) -> StoreResult<Rechained> {
    let tx = write_tx(c)?;
    let mut out = Rechained::default();
    let Some(head) = holdings.head.clone() else {
        // The office holds nothing of this device: nothing can have taken this hub's seqs.
        tx.commit().map_err(StoreError::classify)?;
        return Ok(out);
    };
    let held = |seq: u64| holdings.held.iter().any(|r| r[0] <= seq && seq <= r[1]);
    let set_aside: BTreeSet<(u64, &str)> = holdings
        .quarantined
        .iter()
        .filter(|q| displaced(q.reason))
        .map(|q| (q.seq, q.hash.as_str()))
        .collect();
    let local: Vec<(u64, String, bool)> = {
        let mut st =
            tx.prepare("SELECT seq, hash, acked_at IS NOT NULL FROM envelopes ORDER BY seq")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
        })?;
        rows.collect::<Result<_, _>>()?
    };
    let first_conflict = local
        .iter()
        .filter(|(seq, hash, acked)| {
            !acked && (held(*seq) || set_aside.contains(&(*seq, hash.as_str())))
        })
        .map(|(seq, _, _)| *seq)
        .min();
    let from = match first_conflict {
        Some(s) => s.min(head.seq + 1),
        None => head.seq + 1,
    };
    let to_move: Vec<u64> = local
        .iter()
        .filter(|(seq, _, acked)| !acked && *seq >= from)
        .map(|(seq, _, _)| *seq)
        .collect();
    // Only numbering that the office's chain contradicts is changed: an unacknowledged tail above the
    // head that already follows it (not yet uploaded) stays as it is.
    let next_prev = match local.iter().find(|(seq, _, _)| *seq == head.seq + 1) {
        Some((seq, _, _)) => prev_of(&tx, *seq)?,
        None => None,
    };
    let follows_head =
        first_conflict.is_none() && next_prev.is_none_or(|p| p == head.hash.as_str());
    if !follows_head || first_conflict.is_some() {
        let mut rows = Vec::with_capacity(to_move.len());
        for &seq in &to_move {
            rows.push(take(&tx, seq)?);
        }
        let (mut seq, mut prev) = (head.seq, head.hash.clone());
        let now = clock::now_rfc3339();
        for row in rows {
            seq += 1;
            let mut h: EnvelopeHeader = protocol::parse_canonical(&row.header)?;
            h.seq = seq;
            h.prev = prev.clone();
            let hash = h.hash()?;
            let header_bytes = protocol::canonical_bytes(&h)?;
            let signed = h.sign(device)?;
            tx.execute(
                "INSERT INTO envelopes(seq, dossier_id, header, signature, hash, payload, sealed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![seq as i64, row.dossier_id, header_bytes, signed.signature.to_hex(), hash, row.payload, row.sealed_at],
            )
            .map_err(StoreError::classify)?;
            for (i, (sha, bytes)) in row.blobs.iter().enumerate() {
                tx.execute(
                    "INSERT INTO envelope_blobs(seq, idx, sha256, bytes) VALUES (?1, ?2, ?3, ?4)",
                    params![seq as i64, i as i64, sha, bytes],
                )
                .map_err(StoreError::classify)?;
            }
            tx.execute(
                "UPDATE receipts SET seq = ?1 WHERE dossier_id = ?2",
                params![seq as i64, row.dossier_id],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO rechained(old_seq, old_hash, dossier_id, new_seq, new_hash, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![row.seq as i64, row.hash, row.dossier_id, seq as i64, hash, now],
            )?;
            // Earlier re-chainings of the same dossier now point at its newest number.
            tx.execute(
                "UPDATE rechained SET new_seq = ?1, new_hash = ?2 WHERE dossier_id = ?3",
                params![seq as i64, hash, row.dossier_id],
            )?;
            tx.execute(
                "UPDATE sync_alarms SET resolved_at = ?1, resolution = ?2
                 WHERE seq = ?3 AND hash = ?4 AND resolved_at IS NULL",
                params![
                    now,
                    format!(
                        "numbered again as seq {seq} after the office's seq {}",
                        head.seq
                    ),
                    row.seq as i64,
                    row.hash
                ],
            )?;
            out.moved.push(Moved {
                dossier_id: row.dossier_id,
                old_seq: row.seq,
                new_seq: seq,
            });
            prev = hash;
        }
    }
    meta_set(&tx, CHAIN_BASE_SEQ, &head.seq.to_string())?;
    meta_set(&tx, CHAIN_BASE_HASH, &head.hash)?;
    out.base_seq = Some(head.seq);
    tx.commit().map_err(StoreError::classify)?;
    Ok(out)
}

fn prev_of(c: &Connection, seq: u64) -> StoreResult<Option<String>> {
    use rusqlite::OptionalExtension;
    let header: Option<Vec<u8>> = c
        .query_row(
            "SELECT header FROM envelopes WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match header {
        Some(b) => Some(protocol::parse_canonical::<EnvelopeHeader>(&b)?.prev),
        None => None,
    })
}

/// An envelope lifted out of the chain, to be numbered again.
struct Taken {
    seq: u64,
    hash: String,
    dossier_id: String,
    header: Vec<u8>,
    payload: Vec<u8>,
    sealed_at: String,
    blobs: Vec<(String, Vec<u8>)>,
}

/// Reads envelope `seq` with its photo ciphertexts and deletes it (the caller inserts it again).
fn take(tx: &Connection, seq: u64) -> StoreResult<Taken> {
    let (hash, dossier_id, header, payload, sealed_at) = tx.query_row(
        "SELECT hash, dossier_id, header, payload, sealed_at FROM envelopes WHERE seq = ?1",
        [seq as i64],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let blobs: Vec<(String, Vec<u8>)> = {
        let mut st =
            tx.prepare("SELECT sha256, bytes FROM envelope_blobs WHERE seq = ?1 ORDER BY idx")?;
        let rows = st.query_map([seq as i64], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    tx.execute("DELETE FROM envelope_blobs WHERE seq = ?1", [seq as i64])?;
    tx.execute(
        "UPDATE receipts SET seq = NULL WHERE seq = ?1",
        [seq as i64],
    )?;
    tx.execute("DELETE FROM envelopes WHERE seq = ?1", [seq as i64])?;
    Ok(Taken {
        seq,
        hash,
        dossier_id,
        header,
        payload,
        sealed_at,
        blobs,
    })
}

/// Whether an envelope of this hub waits at the office as displaced (an unresolved `equivocation` or
/// `chain` alarm on an unacknowledged envelope of this hub): the next sync re-chains.
pub fn has_displaced(c: &Connection) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS (SELECT 1 FROM sync_alarms a JOIN envelopes e ON e.seq = a.seq AND e.hash = a.hash
          WHERE a.resolved_at IS NULL AND e.acked_at IS NULL AND a.reason IN ('equivocation', 'chain'))",
        [],
        |r| r.get(0),
    )?)
}

/// Why comparing or settling the chain failed: the store, or the chain guard's files.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot record the standing of this hub's chain: {0}")]
    Io(#[from] std::io::Error),
}

/// Compares this hub's chain with `holdings` (protocol §11.4.1 step 2) and marks a divergence (which moves
/// receipts to a fresh range), or clears a restore mark the holdings show was harmless. `fresh` are the
/// seqs of equivocations in the holdings this hub had not seen before ([`super::store::new_equivocations`]).
/// The divergence found, in English, if any.
pub fn detect(
    c: &Connection,
    dir: &Path,
    holdings: &Holdings,
    fresh: &[u64],
) -> Result<Option<String>, SettleError> {
    use rusqlite::OptionalExtension;
    let local_head: i64 = c
        .query_row("SELECT coalesce(max(seq), 0) FROM envelopes", [], |r| {
            r.get(0)
        })
        .map_err(StoreError::from)?;
    let local_hash_at: Option<String> = match &holdings.head {
        Some(h) => c
            .query_row(
                "SELECT hash FROM envelopes WHERE seq = ?1",
                [h.seq as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(StoreError::from)?,
        None => None,
    };
    let found = chain_guard::compare(
        local_head as u64,
        local_hash_at.as_deref(),
        holdings.head.as_ref().map(|h| (h.seq, h.hash.as_str())),
        fresh,
    );
    match &found {
        Some(detail) => {
            tracing::warn!(%detail, "the office holds what this hub's chain does not: sealed dossiers wait for re-chaining");
            chain_guard::mark_diverged(
                dir,
                &chain_guard::Diverged {
                    found_at: clock::now_rfc3339(),
                    office_head_seq: holdings.head.as_ref().map(|h| h.seq).unwrap_or(0),
                    local_head_seq: local_head as u64,
                    detail: detail.clone(),
                },
            )?;
        }
        None => {
            if chain_guard::verified_by_sync(dir)? {
                tracing::info!("restored hub: the office holds nothing beyond its chain");
            }
        }
    }
    Ok(found)
}

/// Whether [`settle`] has work: the chain is unsure, an envelope of this hub is displaced, or sealed
/// dossiers wait unchained while an office key is known.
pub fn needs_settling(c: &Connection, dir: &Path) -> StoreResult<bool> {
    if chain_guard::standing(dir) != Standing::Sealable || has_displaced(c)? {
        return Ok(true);
    }
    let waiting: i64 = c.query_row("SELECT count(*) FROM pending_protection", [], |r| r.get(0))?;
    Ok(waiting > 0 && !crate::shared::trust::office_recipients(c)?.is_empty())
}

/// What settling did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Settled {
    /// Envelopes numbered again after the office's chain head.
    pub rechained: usize,
    /// Dossiers sealed while the chain was unsure, now chained.
    pub placed: usize,
}

/// After an upload (network) or an ack file with holdings (USB): re-chains onto the office's chain as
/// `holdings` describe it ([`rechain`]), clears the chain guard's marks, and chains the dossiers that
/// waited (protocol §11.4.2). `None` when there was nothing to settle.
pub fn settle(
    c: &mut Connection,
    dir: &Path,
    device: &DeviceKey,
    holdings: &Holdings,
) -> Result<Option<Settled>, SettleError> {
    if !needs_settling(c, dir)? {
        return Ok(None);
    }
    let done = rechain(c, device, holdings)?;
    if !done.moved.is_empty() {
        tracing::warn!(
            count = done.moved.len(),
            after = ?done.base_seq,
            "envelopes numbered again after the office's chain head (restored or cloned card)"
        );
    }
    chain_guard::clear_diverged(dir)?;
    chain_guard::verified_by_sync(dir)?;
    let placed = crate::field::seal::engine::protect_pending(c, device, chain_guard::place(dir))?;
    Ok(Some(Settled {
        rechained: done.moved.len(),
        placed,
    }))
}

/// After the second upload: an envelope of this hub still displaced (a copy of the card sealed the same
/// seq in between) makes the chain unsure again, so that the next sync settles it before anything sealed
/// meanwhile is numbered.
pub fn still_displaced(c: &Connection, dir: &Path) -> Result<bool, SettleError> {
    if !has_displaced(c)? {
        return Ok(false);
    }
    chain_guard::mark_diverged(
        dir,
        &chain_guard::Diverged {
            found_at: clock::now_rfc3339(),
            office_head_seq: 0,
            local_head_seq: 0,
            detail: "the office set aside envelopes of this hub numbered again in this very sync: another \
                     copy of this hub's card is sealing"
                .into(),
        },
    )?;
    Ok(true)
}
