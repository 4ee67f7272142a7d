//! Which field device holds which package (`package_holders`), and the signed bytes the office serves for
//! each package it knows (published ones as stored, built-in ones signed with the office key on demand).

use rusqlite::{params, Connection};

use protocol::{DeviceKey, PackageIndex, PackageSummary, SignedPackage, PACKAGE_INDEX_KIND};

use crate::shared::clock;
use crate::shared::procedures::registry::{self, Origin};
use crate::shared::procedures::store as packages;
use crate::shared::store::{StoreError, StoreResult};

/// Every package this office serves (built-in and published), oldest procedure version first.
pub fn index() -> StoreResult<PackageIndex> {
    let packages = registry::entries()
        .into_iter()
        .filter(|e| e.origin != Origin::Office)
        .map(|e| {
            let p = &e.package.procedure;
            PackageSummary {
                id: p.id.clone(),
                version: p.version,
                effective_from: p.effective_from.clone(),
                hash: e.hash,
            }
        })
        .collect();
    Ok(PackageIndex {
        kind: PACKAGE_INDEX_KIND.into(),
        v: protocol::PROTOCOL_VERSION,
        packages,
    })
}

/// The canonical bytes of the signed package with this hash, if this office serves it.
pub fn signed(c: &Connection, key: &DeviceKey, hash: &str) -> StoreResult<Option<Vec<u8>>> {
    let Some(e) = registry::by_hash(hash) else {
        return Ok(None);
    };
    match e.origin {
        Origin::Published => packages::signed_bytes(c, hash),
        Origin::Builtin => Ok(Some(
            SignedPackage::sign(e.package.clone(), key)?.to_bytes()?,
        )),
        Origin::Office => Ok(None),
    }
}

/// Records that `device` says it holds exactly these packages (hashes of packages this office does not
/// serve are ignored).
pub fn confirm_held(c: &mut Connection, device: &str, hashes: &[String]) -> StoreResult<()> {
    let now = clock::now_rfc3339();
    let tx = c.transaction().map_err(StoreError::classify)?;
    mark_reader(&tx, device)?;
    for h in hashes {
        if registry::by_hash(h).is_some_and(|e| e.origin != Origin::Office) {
            tx.execute(
                "INSERT INTO package_holders(device_id, hash, confirmed_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(device_id, hash) DO UPDATE SET confirmed_at = excluded.confirmed_at",
                params![device, h, now],
            )?;
        }
    }
    tx.commit().map_err(StoreError::classify)?;
    Ok(())
}

/// Records that `device` downloaded the package `hash`.
pub fn mark_pulled(c: &Connection, device: &str, hash: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO package_holders(device_id, hash, pulled_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(device_id, hash) DO UPDATE SET pulled_at = excluded.pulled_at",
        params![device, hash, clock::now_rfc3339()],
    )?;
    Ok(())
}

/// One device's hold on one package.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[schema(as = PackageHolder)]
pub struct Holder {
    pub device_id: String,
    pub device_name: Option<String>,
    /// When the device last downloaded it.
    #[schema(format = DateTime)]
    pub pulled_at: Option<String>,
    /// When the device said it holds it.
    #[schema(format = DateTime)]
    pub confirmed_at: Option<String>,
}

/// Who holds the package `hash`.
pub fn holders(c: &Connection, hash: &str) -> StoreResult<Vec<Holder>> {
    let mut st = c.prepare(
        "SELECT h.device_id, p.name, h.pulled_at, h.confirmed_at
         FROM package_holders h LEFT JOIN trusted_peers p ON p.device_id = h.device_id
         WHERE h.hash = ?1 ORDER BY h.device_id",
    )?;
    let rows = st
        .query_map([hash], |r| {
            Ok(Holder {
                device_id: r.get(0)?,
                device_name: r.get(1)?,
                pulled_at: r.get(2)?,
                confirmed_at: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The signed packages `device` has not confirmed holding, for the tail of a USB ack file (one canonical
/// SignedPackage per line after the ack).
pub fn ack_file_tail(c: &Connection, key: &DeviceKey, device: &str) -> StoreResult<Vec<Vec<u8>>> {
    let mut held = std::collections::BTreeSet::new();
    {
        let mut st = c.prepare(
            "SELECT hash FROM package_holders WHERE device_id = ?1 AND confirmed_at IS NOT NULL",
        )?;
        for h in st.query_map([device], |r| r.get::<_, String>(0))? {
            held.insert(h?);
        }
    }
    let mut out = Vec::new();
    for s in index()?.packages {
        if held.contains(&s.hash) {
            continue;
        }
        if let Some(b) = signed(c, key, &s.hash)? {
            out.push(b);
        }
    }
    Ok(out)
}

/// Records that `device` reads procedure packages (in its USB ack file, and over the network).
pub fn mark_reader(c: &Connection, device: &str) -> StoreResult<()> {
    c.execute(
        "INSERT INTO package_readers(device_id, since) VALUES (?1, ?2) ON CONFLICT(device_id) DO NOTHING",
        params![device, clock::now_rfc3339()],
    )?;
    Ok(())
}

pub fn is_reader(c: &Connection, device: &str) -> StoreResult<bool> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM package_readers WHERE device_id = ?1)",
        [device],
        |r| r.get(0),
    )?)
}

/// The whole USB ack file for `ack`: its canonical bytes on the first line, then — when the device reads
/// them ([`mark_reader`]) — one signed package per line for each package it has not confirmed holding
/// (docs/protocol.md §13.4).
pub fn ack_file(
    c: &Connection,
    key: &DeviceKey,
    ack: &protocol::SignedAck,
) -> StoreResult<Vec<u8>> {
    let mut out = ack.to_bytes()?;
    if !is_reader(c, ack.ack.device_id.as_str())? {
        return Ok(out);
    }
    for p in ack_file_tail(c, key, ack.ack.device_id.as_str())? {
        out.push(b'\n');
        out.extend_from_slice(&p);
    }
    Ok(out)
}
