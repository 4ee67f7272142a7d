//! The process-wide set of procedure packages this hub knows: the built-in ones (compiled in from
//! `protocol/packages/`) and those installed from its database (published here, or pulled from the paired
//! office). One process serves one hub, so one set per process; it only grows, and a package, once added,
//! lives as long as the process (packages are few, immutable and small), which lets every concern hold a
//! `&'static ProcedureDef` as it did when the catalogue was compiled in.

use std::collections::BTreeSet;
use std::sync::{OnceLock, RwLock};

use protocol::{pick_in_force, ProcedureDef, ProcedurePackage, ProcedureRef};

/// Where a package came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Compiled into this binary.
    Builtin,
    /// Published by this (office) hub.
    Published,
    /// Pulled from the paired office hub.
    Office,
}

impl Origin {
    /// The `source` column of `procedure_packages`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Builtin => "builtin",
            Origin::Published => "published",
            Origin::Office => "office",
        }
    }
}

/// One known package.
#[derive(Debug, Clone)]
pub struct Entry {
    pub package: &'static ProcedurePackage,
    /// [`ProcedurePackage::hash`].
    pub hash: String,
    pub origin: Origin,
}

/// What [`add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// A package not known before.
    New,
    /// The very same package (same hash) was known already.
    Known,
}

/// [`add`] refused: another package with the same procedure and version is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{id} version {version} is already known with another content (hash {known_hash})")]
pub struct Conflict {
    pub id: String,
    pub version: u32,
    pub known_hash: String,
}

fn cell() -> &'static RwLock<Vec<Entry>> {
    static CELL: OnceLock<RwLock<Vec<Entry>>> = OnceLock::new();
    CELL.get_or_init(|| {
        let mut v: Vec<Entry> = protocol::builtin_packages()
            .iter()
            .filter_map(|p| {
                Some(Entry {
                    package: p,
                    hash: p.hash().ok()?,
                    origin: Origin::Builtin,
                })
            })
            .collect();
        sort(&mut v);
        RwLock::new(v)
    })
}

fn sort(v: &mut [Entry]) {
    v.sort_by(|a, b| {
        let (p, q) = (&a.package, &b.package);
        (p.menu_order, &p.procedure.id, p.procedure.version).cmp(&(
            q.menu_order,
            &q.procedure.id,
            q.procedure.version,
        ))
    });
}

fn read() -> std::sync::RwLockReadGuard<'static, Vec<Entry>> {
    cell().read().unwrap_or_else(|e| e.into_inner())
}

/// How many packages are known: the registry only grows, so a change of this number says that something
/// derived from the packages (e.g. the list of translatable texts) must be made again.
pub fn generation() -> usize {
    read().len()
}

/// Every known package with its hash and origin, in menu order (then id and version).
pub fn entries() -> Vec<Entry> {
    read().clone()
}

/// Every known package, in menu order.
pub fn packages() -> Vec<&'static ProcedurePackage> {
    read().iter().map(|e| e.package).collect()
}

/// The package of `r`, if known.
pub fn package(r: &ProcedureRef) -> Option<&'static ProcedurePackage> {
    read()
        .iter()
        .find(|e| e.package.procedure.id == r.id && e.package.procedure.version == r.version)
        .map(|e| e.package)
}

/// The known entry with this hash.
pub fn by_hash(hash: &str) -> Option<Entry> {
    read().iter().find(|e| e.hash == hash).cloned()
}

/// The procedure definition of `r` (without a hub's configured time limits), if known.
pub fn find(r: &ProcedureRef) -> Option<&'static ProcedureDef> {
    package(r).map(|p| &p.procedure)
}

/// Every known procedure definition, in menu order.
pub fn all() -> Vec<&'static ProcedureDef> {
    read().iter().map(|e| &e.package.procedure).collect()
}

/// The version of procedure `id` in force on `on` among the known packages (see
/// [`protocol::pick_in_force`]).
pub fn in_force(id: &str, on: time::Date) -> Option<&'static ProcedureDef> {
    pick_in_force(all(), id, on)
}

/// Every procedure's version in force on `on`, in menu order.
pub fn in_force_all(on: time::Date) -> Vec<&'static ProcedureDef> {
    let defs = all();
    let mut seen = BTreeSet::new();
    defs.iter()
        .filter(|d| seen.insert(d.id.as_str()))
        .filter_map(|d| pick_in_force(defs.iter().copied(), &d.id, on))
        .collect()
}

/// Whether `(id, version)` may be added with `hash`: `Ok(Known)` when that very package is known,
/// `Ok(New)` when the version is free, a [`Conflict`] otherwise.
pub fn admits(id: &str, version: u32, hash: &str) -> Result<Added, Conflict> {
    match read()
        .iter()
        .find(|e| e.package.procedure.id == id && e.package.procedure.version == version)
    {
        None => Ok(Added::New),
        Some(e) if e.hash == hash => Ok(Added::Known),
        Some(e) => Err(Conflict {
            id: id.to_owned(),
            version,
            known_hash: e.hash.clone(),
        }),
    }
}

/// Adds a checked package (its form already checked by the caller). A package with the same procedure and
/// version is either the same one (`Known`, nothing changes) or a [`Conflict`].
pub fn add(package: ProcedurePackage, hash: String, origin: Origin) -> Result<Added, Conflict> {
    let mut all = cell().write().unwrap_or_else(|e| e.into_inner());
    let (id, version) = (&package.procedure.id, package.procedure.version);
    if let Some(e) = all
        .iter()
        .find(|e| &e.package.procedure.id == id && e.package.procedure.version == version)
    {
        if e.hash == hash {
            return Ok(Added::Known);
        }
        return Err(Conflict {
            id: id.clone(),
            version,
            known_hash: e.hash.clone(),
        });
    }
    let package: &'static ProcedurePackage = Box::leak(Box::new(package));
    all.push(Entry {
        package,
        hash,
        origin,
    });
    sort(&mut all);
    Ok(Added::New)
}
