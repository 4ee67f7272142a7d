//! The USB path's acknowledgement: the office writes `ack-<batch_id>.json` (a canonical `SignedAck`) after
//! importing a batch file; the field imports it here, verified exactly as an ack received over the network
//! (form, signature by the pinned office key, addressed to this device), and marks exactly the envelopes it
//! covers. The office adds its holdings of this device (a `SignedHoldings` line, protocol §11.4.2): with
//! them a hub with no network settles its chain as a network sync would (a restored or cloned card), and
//! the next batch file carries what it re-chained.

use protocol::SignedAck;
use rusqlite::Connection;

use super::client::SyncError;
use super::store::{self, AckMarked};

/// What importing an ack file did.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AckFileReport {
    pub batch_id: String,
    pub office: String,
    /// Envelopes the ack names as acknowledged.
    pub acked_in_file: usize,
    #[serde(flatten)]
    pub marked: AckMarked,
    pub quarantined: usize,
    pub missing: Vec<u64>,
    /// Procedure packages the file carried that were newly installed (`id vN`).
    pub packages_new: Vec<String>,
    /// Packages the file carried that were refused, with why.
    pub packages_refused: Vec<String>,
    /// What settling the chain on the office's holdings did (null: the file carried none, or there was
    /// nothing to settle).
    pub settled: Option<super::rechain::Settled>,
}

/// How a holdings line is told from a package line: its `kind`, as canonical JSON writes it.
const HOLDINGS_MARK: &[u8] = b"\"kind\":\"outreach-kit/holdings\"";

/// Verifies `bytes` as an ack of the pinned office for `device` and applies it (one transaction).
/// Envelopes the office set aside, each counted once: an equivocation is listed both as quarantined
/// (the offered envelope, reason `equivocation`) and in `equivocations` (held and offered hashes).
fn set_aside(ack: &protocol::Ack) -> usize {
    let mut seen: std::collections::BTreeSet<(u64, &str)> = ack
        .quarantined
        .iter()
        .map(|q| (q.seq, q.hash.as_str()))
        .collect();
    seen.extend(
        ack.equivocations
            .iter()
            .map(|e| (e.seq, e.offered_hash.as_str())),
    );
    seen.len()
}

pub fn import(
    c: &mut Connection,
    keys: &crate::shared::keys::HubKeys,
    dir: &std::path::Path,
    bytes: &[u8],
) -> Result<AckFileReport, SyncError> {
    let device = &keys.device_id;
    let office = store::pinned_office(c)?.ok_or_else(|| {
        SyncError::local(
            "no_office",
            "Trạm chưa ghép nối với văn phòng xã nên không kiểm tra được tệp xác nhận.",
            "This hub is not paired with a commune office, so it cannot check an acknowledgement file.",
        )
    })?;
    let bad = |e: &dyn std::fmt::Display| {
        SyncError::local(
            "ack_file_invalid",
            format!("Tệp xác nhận không hợp lệ hoặc không do văn phòng đã ghép nối ký: {e}. Không hồ sơ nào được đánh dấu."),
            format!("The acknowledgement file is not valid or not signed by the paired office: {e}. No dossier was marked."),
        )
    };
    // The first line is the ack; each further line a signed procedure package (protocol §13.4).
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let signed = SignedAck::from_bytes(first).map_err(|e| bad(&e))?;
    signed.verify(&office.key).map_err(|e| bad(&e))?;
    if &signed.ack.device_id != device {
        return Err(bad(&"it acknowledges another field device"));
    }
    let ack = signed.ack;
    let run = store::run_started(c, "file", None)?;
    let marked = store::apply_ack(c, &ack)?;
    store::run_finished(
        c,
        run,
        None,
        marked.newly_acked,
        0,
        if ack.missing.is_empty() {
            "ok"
        } else {
            "partial"
        },
        None,
    )?;
    let (mut packages_new, mut packages_refused) = (Vec::new(), Vec::new());
    let mut holdings = None;
    for line in lines {
        // The office's holdings of this device (a line of its own kind), else a procedure package.
        if line
            .windows(HOLDINGS_MARK.len())
            .any(|w| w == HOLDINGS_MARK)
        {
            let h = protocol::SignedHoldings::from_bytes(line).map_err(|e| bad(&e))?;
            h.verify(&office.key).map_err(|e| bad(&e))?;
            if &h.holdings.device_id != device {
                return Err(bad(&"its holdings describe another field device"));
            }
            holdings = Some(h.holdings);
            continue;
        }
        match crate::shared::procedures::store::install(c, line, &office.key) {
            Ok((crate::shared::procedures::registry::Added::New, _, r)) => {
                packages_new.push(format!("{} v{}", r.id, r.version))
            }
            Ok(_) => {}
            Err(e) => packages_refused.push(e.to_string()),
        }
    }
    let settled = match holdings {
        Some(h) => {
            let fresh = store::new_equivocations(c, &h.quarantined)?;
            store::alarms_from_holdings(c, &h.quarantined)?;
            super::rechain::detect(c, dir, &h, &fresh).map_err(super::engine::settle_error)?;
            super::rechain::settle(c, dir, &keys.device, &h).map_err(super::engine::settle_error)?
        }
        None => None,
    };
    Ok(AckFileReport {
        settled,
        packages_new,
        packages_refused,
        batch_id: ack.batch_id.clone(),
        office: office.name,
        acked_in_file: ack.acked.len(),
        marked,
        quarantined: set_aside(&ack),
        missing: ack.missing.clone(),
    })
}

#[cfg(test)]
mod tests {
    use protocol::{Ack, CheckKind, DeviceKey, Equivocation, QuarantineEntry, ACK_KIND};

    /// Three envelopes set aside, two of them equivocations (listed in both lists): three, not five.
    #[test]
    fn each_envelope_set_aside_counts_once() {
        let id = DeviceKey::from_seed([3; 32]).public().device_id();
        let q = |seq: u64, hash: &str, reason| QuarantineEntry {
            seq,
            hash: hash.into(),
            reason,
            detail: "x".into(),
        };
        let ack = Ack {
            kind: ACK_KIND.into(),
            v: 1,
            office_id: id.clone(),
            device_id: id,
            batch_id: "01a250db-0000-7000-8000-000000000001".into(),
            acked: vec![],
            quarantined: vec![
                q(6, "b6", CheckKind::Equivocation),
                q(7, "b7", CheckKind::Equivocation),
                q(9, "c9", CheckKind::EnvelopeSignature),
            ],
            equivocations: [6, 7]
                .map(|seq| Equivocation {
                    seq,
                    held_hash: format!("a{seq}"),
                    offered_hash: format!("b{seq}"),
                })
                .to_vec(),
            missing: vec![],
            acked_at: "2026-12-07T03:00:00Z".into(),
        };
        assert_eq!(super::set_aside(&ack), 3);
    }
}
