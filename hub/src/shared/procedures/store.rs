//! Storage of procedure packages beyond the built-in ones (`procedure_packages`), and the two ways one
//! arrives: published by this office hub (signed with its key), or pulled by a field hub from its paired
//! office (verified against the pinned office key). Each is written to the database before it joins the
//! registry, so what a user was told is installed survives a power cut; at every start [`load`] puts the
//! stored packages back into the registry, checking each signature again.

use rusqlite::{params, Connection, OptionalExtension};

use protocol::{DeviceKey, DevicePublicKey, ProcedurePackage, ProtocolError, SignedPackage};

use super::registry::{self, Added, Conflict, Origin};
use crate::shared::audit::{self, Actor};
use crate::shared::clock;
use crate::shared::store::{StoreError, StoreResult};

/// Why a package was not installed or published.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// Malformed: not a package, or a rule of the package format broken (the message says which).
    #[error("{0}")]
    Form(ProtocolError),
    /// The signature is not the pinned office's.
    #[error("the package is not signed by the paired office (its signature does not verify)")]
    Signature,
    /// Another package holds that procedure and version.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for PackageError {
    fn from(e: rusqlite::Error) -> Self {
        PackageError::Store(StoreError::classify(e))
    }
}

/// What one stored package is, for lists.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredPackage {
    pub procedure_id: String,
    pub version: u32,
    pub hash: String,
    pub effective_from: String,
    pub source: String,
    pub added_at: String,
    pub added_by: Option<String>,
}

fn insert(
    c: &Connection,
    signed: &SignedPackage,
    bytes: &[u8],
    hash: &str,
    origin: Origin,
    signer: &DevicePublicKey,
    by: Option<&str>,
) -> StoreResult<()> {
    let p = &signed.package.procedure;
    c.execute(
        "INSERT INTO procedure_packages(procedure_id, version, hash, effective_from, source, signed, signer,
                                        added_at, added_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(procedure_id, version) DO NOTHING",
        params![
            p.id,
            p.version,
            hash,
            p.effective_from,
            origin.as_str(),
            bytes,
            signer.to_hex(),
            clock::now_rfc3339(),
            by
        ],
    )
    .map_err(StoreError::classify)?;
    Ok(())
}

/// The hash a package would have, with the form checked.
fn checked_hash(p: &ProcedurePackage) -> Result<String, PackageError> {
    p.check_form().map_err(PackageError::Form)?;
    p.hash().map_err(PackageError::Form)
}

/// Publishes `package` on this office hub: checks it, refuses a procedure version already known with
/// another content, signs it with the office key, stores it with an audit entry (one transaction), then
/// adds it to the registry. Publishing the very same package again is no change (`Added::Known`).
pub fn publish(
    c: &mut Connection,
    package: ProcedurePackage,
    key: &DeviceKey,
    actor: Actor<'_>,
) -> Result<(Added, String), PackageError> {
    let hash = checked_hash(&package)?;
    let (id, version) = (package.procedure.id.clone(), package.procedure.version);
    if registry::admits(&id, version, &hash)? == Added::Known {
        return Ok((Added::Known, hash));
    }
    let signed = SignedPackage::sign(package, key).map_err(PackageError::Form)?;
    let bytes = signed.to_bytes().map_err(PackageError::Form)?;
    let tx = c.transaction()?;
    insert(
        &tx,
        &signed,
        &bytes,
        &hash,
        Origin::Published,
        &key.public(),
        actor.id,
    )?;
    audit::append(
        &tx,
        actor,
        &audit::Event {
            action: "package_published",
            detail: serde_json::json!({
                "procedure_id": id,
                "version": version,
                "effective_from": signed.package.procedure.effective_from,
                "hash": hash,
            }),
            ..Default::default()
        },
    )?;
    tx.commit()?;
    let added = registry::add(signed.package, hash.clone(), Origin::Published)?;
    Ok((added, hash))
}

/// Installs a signed package pulled from the paired office (over the network or from a USB ack file):
/// parses and checks it, verifies it against the pinned office key, refuses a procedure version already
/// known with another content, stores it, then adds it to the registry.
pub fn install(
    c: &Connection,
    bytes: &[u8],
    office: &DevicePublicKey,
) -> Result<(Added, String, protocol::ProcedureRef), PackageError> {
    let signed = SignedPackage::from_bytes(bytes).map_err(PackageError::Form)?;
    signed.verify(office).map_err(|_| PackageError::Signature)?;
    let hash = checked_hash(&signed.package)?;
    let r = signed.package.reference();
    if registry::admits(&r.id, r.version, &hash)? == Added::Known {
        return Ok((Added::Known, hash, r));
    }
    insert(c, &signed, bytes, &hash, Origin::Office, office, None)?;
    let added = registry::add(signed.package, hash.clone(), Origin::Office)?;
    Ok((added, hash, r))
}

/// What [`load`] did at start.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// Packages put back into the registry.
    pub installed: usize,
    /// Stored packages left out, with why (a signature that no longer verifies, a conflict with a
    /// built-in package of this binary).
    pub refused: Vec<String>,
}

/// Puts every stored package back into the registry, verifying each against the key that signed it.
pub fn load(c: &Connection) -> StoreResult<Loaded> {
    let mut st = c.prepare(
        "SELECT procedure_id, version, source, signed, signer FROM procedure_packages
         ORDER BY procedure_id, version",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, u32>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Loaded::default();
    for (id, version, source, bytes, signer) in rows {
        let origin = if source == "published" {
            Origin::Published
        } else {
            Origin::Office
        };
        let outcome = DevicePublicKey::from_hex(&signer)
            .map_err(PackageError::Form)
            .and_then(|k| {
                let s = SignedPackage::from_bytes(&bytes).map_err(PackageError::Form)?;
                s.verify(&k).map_err(|_| PackageError::Signature)?;
                let hash = checked_hash(&s.package)?;
                Ok(registry::add(s.package, hash, origin)?)
            });
        match outcome {
            Ok(_) => out.installed += 1,
            Err(e) => out.refused.push(format!("{id} v{version}: {e}")),
        }
    }
    Ok(out)
}

/// The stored signed bytes of a package by hash.
pub fn signed_bytes(c: &Connection, hash: &str) -> StoreResult<Option<Vec<u8>>> {
    Ok(c.query_row(
        "SELECT signed FROM procedure_packages WHERE hash = ?1",
        [hash],
        |r| r.get(0),
    )
    .optional()?)
}

/// Every stored package, oldest first.
pub fn list(c: &Connection) -> StoreResult<Vec<StoredPackage>> {
    let mut st = c.prepare(
        "SELECT procedure_id, version, hash, effective_from, source, added_at, added_by
         FROM procedure_packages ORDER BY added_at, procedure_id, version",
    )?;
    let rows = st
        .query_map([], |r| {
            Ok(StoredPackage {
                procedure_id: r.get(0)?,
                version: r.get(1)?,
                hash: r.get(2)?,
                effective_from: r.get(3)?,
                source: r.get(4)?,
                added_at: r.get(5)?,
                added_by: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A built-in package renamed into a procedure no test uses elsewhere (the registry is per process).
    fn fresh(id: &str) -> ProcedurePackage {
        let mut p = protocol::builtin_packages()[0].clone();
        p.procedure.id = id.into();
        p.exports.clear();
        p.layouts.clear();
        p
    }

    #[test]
    fn install_verifies_the_office_signature_and_refuses_clashes() {
        let office = DeviceKey::from_seed([3; 32]);
        let stranger = DeviceKey::from_seed([4; 32]);
        let c = crate::shared::store::open_memory().unwrap();
        let pkg = fresh("unit-install-test");
        // Another key: refused, nothing stored, nothing registered.
        let foreign = SignedPackage::sign(pkg.clone(), &stranger)
            .unwrap()
            .to_bytes()
            .unwrap();
        assert!(matches!(
            install(&c, &foreign, &office.public()),
            Err(PackageError::Signature)
        ));
        // A tampered byte: refused.
        let good = SignedPackage::sign(pkg.clone(), &office)
            .unwrap()
            .to_bytes()
            .unwrap();
        let tampered = String::from_utf8(good.clone())
            .unwrap()
            .replacen("Ủy ban", "Uỷ ban", 1);
        assert!(install(&c, tampered.as_bytes(), &office.public()).is_err());
        assert!(registry::find(&pkg.reference()).is_none());
        // A clash with a built-in version: refused, named.
        let mut clash = protocol::builtin_packages()[0].clone();
        clash.procedure.time_limit_working_days += 7;
        let bytes = SignedPackage::sign(clash, &office)
            .unwrap()
            .to_bytes()
            .unwrap();
        let e = install(&c, &bytes, &office.public()).unwrap_err();
        assert!(matches!(e, PackageError::Conflict(_)), "{e}");
        let n: i64 = c
            .query_row("SELECT count(*) FROM procedure_packages", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "nothing stored");
        // The good one: stored and registered; again: known, still one row.
        let (added, _, r) = install(&c, &good, &office.public()).unwrap();
        assert_eq!(added, Added::New);
        assert!(registry::find(&r).is_some());
        assert_eq!(
            install(&c, &good, &office.public()).unwrap().0,
            Added::Known
        );
        assert_eq!(list(&c).unwrap().len(), 1);
        // At the next start, load puts it back (here: already known, nothing refused).
        let l = load(&c).unwrap();
        assert_eq!((l.installed, l.refused.len()), (1, 0));
    }

    #[test]
    fn a_stored_package_whose_bytes_changed_is_left_out_at_load() {
        let office = DeviceKey::from_seed([5; 32]);
        let c = crate::shared::store::open_memory().unwrap();
        let pkg = fresh("unit-load-test");
        let s = SignedPackage::sign(pkg, &office).unwrap();
        let hash = s.package.hash().unwrap();
        let mut bytes = s.to_bytes().unwrap();
        let i = bytes.windows(3).position(|w| w == b"\"vi").unwrap();
        bytes[i + 6] ^= 1;
        insert(
            &c,
            &s,
            &bytes,
            &hash,
            Origin::Office,
            &office.public(),
            None,
        )
        .unwrap();
        let l = load(&c).unwrap();
        assert_eq!(l.installed, 0);
        assert_eq!(l.refused.len(), 1, "{l:?}");
        assert!(registry::find(&s.package.reference()).is_none());
    }

    #[test]
    fn publishing_signs_stores_audits_and_refuses_a_changed_version() {
        let key = DeviceKey::from_seed([6; 32]);
        let mut c = crate::shared::store::open_memory().unwrap();
        let pkg = fresh("unit-publish-test");
        let actor = Actor {
            id: None,
            name: "quantri",
        };
        let (added, hash) = publish(&mut c, pkg.clone(), &key, actor).unwrap();
        assert_eq!(added, Added::New);
        let bytes = signed_bytes(&c, &hash).unwrap().unwrap();
        SignedPackage::from_bytes(&bytes)
            .unwrap()
            .verify(&key.public())
            .unwrap();
        assert_eq!(
            publish(&mut c, pkg.clone(), &key, actor).unwrap().0,
            Added::Known
        );
        let mut changed = pkg;
        changed.procedure.time_limit_working_days += 1;
        assert!(matches!(
            publish(&mut c, changed, &key, actor),
            Err(PackageError::Conflict(_))
        ));
        let audited: i64 = c
            .query_row(
                "SELECT count(*) FROM audit_log WHERE action = 'package_published'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(audited, 1);
    }
}
