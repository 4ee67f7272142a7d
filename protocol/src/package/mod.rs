//! Procedure packages: everything one procedure version needs, as data — the form (fields, groups,
//! choices, derivations, cross-checks, papers, time limits), the result numbers the office registers, the
//! export mapping of each downstream system and the A4 print layout of each official form — and their
//! signed distribution from an office hub to its field hubs (docs/protocol.md §13).
//!
//! A package is identified by `(procedure.id, procedure.version)` and by its hash (SHA-256 of its
//! canonical bytes). A version, once published, never changes: a second package with the same id and
//! version but another hash is refused.

pub mod export;
pub mod layout;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::canonical::{canonical_bytes, parse_canonical};
use crate::catalogue::{ProcedureDef, ProcedureRef, Text};
use crate::error::ProtocolError;
use crate::keys::{Context, DeviceKey, DevicePublicKey, Signature};

pub use export::ExportSystem;
pub use layout::PrintLayout;

/// `kind` of a [`ProcedurePackage`].
pub const PACKAGE_KIND: &str = "outreach-kit/procedure-package";
/// `kind` of a [`PackageIndex`].
pub const PACKAGE_INDEX_KIND: &str = "outreach-kit/package-index";
/// The largest signed package accepted, in bytes (the biggest built-in package is about a tenth of it).
pub const MAX_PACKAGE_BYTES: usize = 1024 * 1024;
/// The most packages an index lists.
pub const MAX_PACKAGES: usize = 500;

/// A result number the office registers for a dossier of this procedure (e.g. the child's PIN), shown on
/// the casework page and carried back to the field in news.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultDef {
    /// Stable key, `[a-z0-9_]{1,40}`, e.g. `pin`, `birth_registration`.
    pub kind: String,
    /// What it is, e.g. "Số định danh cá nhân".
    pub label: Text,
}

/// One procedure version as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedurePackage {
    /// Always [`PACKAGE_KIND`].
    pub kind: String,
    /// Package format version, [`crate::PROTOCOL_VERSION`].
    pub v: u32,
    /// Where the procedure appears in the list of procedures (smaller first; ties by id).
    #[serde(default = "default_menu_order")]
    pub menu_order: u32,
    /// The form, papers, checks and time limits (with the legal basis and the effective date).
    pub procedure: ProcedureDef,
    /// Result numbers the office registers, in display order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ResultDef>,
    /// Export mappings, one per downstream system.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exports: Vec<ExportSystem>,
    /// A4 print layouts of the official forms (each with the day its form version starts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layouts: Vec<PrintLayout>,
    /// The villagers' guide (public page `#/guides/<id>`): what the procedure is for, who may file, the
    /// steps and the fees, in plain words. Absent in a package that has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guide: Option<PackageGuide>,
}

/// The hand-written part of a procedure's public guide, read or played aloud to villagers (the papers to
/// bring and the time limit come from the procedure itself). Each text may carry further languages and
/// recorded audio like any [`Text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageGuide {
    /// What the procedure gives, in a few short sentences.
    pub purpose: Text,
    /// Who may file, one line each (at least one).
    pub who: Vec<Text>,
    /// What happens, step by step (at least [`MIN_GUIDE_STEPS`]).
    pub steps: Vec<Text>,
    /// What it costs.
    pub fees: Text,
}

/// The fewest steps a guide has.
pub const MIN_GUIDE_STEPS: usize = 3;
/// The most lines a guide's `who` or `steps` has.
pub const MAX_GUIDE_LINES: usize = 20;

impl PackageGuide {
    /// Every text, in reading order: purpose, who, steps, fees.
    pub fn texts(&self) -> impl Iterator<Item = &Text> {
        std::iter::once(&self.purpose)
            .chain(&self.who)
            .chain(&self.steps)
            .chain(std::iter::once(&self.fees))
    }

    /// At least one `who` and [`MIN_GUIDE_STEPS`] steps, at most [`MAX_GUIDE_LINES`] of each; every text
    /// with a non-empty Vietnamese and English wording, every wording NFC.
    pub fn check(&self) -> Result<(), String> {
        if self.who.is_empty() || self.who.len() > MAX_GUIDE_LINES {
            return Err(format!(
                "the guide says who may file in 1 to {MAX_GUIDE_LINES} lines, not {}",
                self.who.len()
            ));
        }
        if self.steps.len() < MIN_GUIDE_STEPS || self.steps.len() > MAX_GUIDE_LINES {
            return Err(format!(
                "the guide has {MIN_GUIDE_STEPS} to {MAX_GUIDE_LINES} steps, not {}",
                self.steps.len()
            ));
        }
        for t in self.texts() {
            for s in [&t.vi, &t.en].into_iter().chain(t.more.values()) {
                if s.trim().is_empty() || s.nfc().collect::<String>() != *s {
                    return Err(format!("guide text {s:?} is empty or not NFC"));
                }
            }
        }
        Ok(())
    }
}

fn default_menu_order() -> u32 {
    100
}

fn is_key(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl ProcedurePackage {
    /// Wraps a procedure definition with no exports, layouts or results.
    pub fn new(procedure: ProcedureDef) -> ProcedurePackage {
        ProcedurePackage {
            kind: PACKAGE_KIND.into(),
            v: crate::PROTOCOL_VERSION,
            menu_order: default_menu_order(),
            procedure,
            results: Vec::new(),
            exports: Vec::new(),
            layouts: Vec::new(),
            guide: None,
        }
    }

    /// Which procedure version this is.
    pub fn reference(&self) -> ProcedureRef {
        self.procedure.reference()
    }

    /// Checks everything that can be checked without the hub: the kind and version, the procedure
    /// definition ([`ProcedureDef::check`]), unique result kinds, and that every export item and layout
    /// value names a field of this procedure, and the guide's form ([`PackageGuide::check`]).
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        let err = |m: String| {
            Err(ProtocolError::Catalogue(format!(
                "{} v{}: {m}",
                self.procedure.id, self.procedure.version
            )))
        };
        if self.kind != PACKAGE_KIND || self.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Package(format!(
                "not a procedure package of format {} (kind {:?}, v {})",
                crate::PROTOCOL_VERSION,
                self.kind,
                self.v
            )));
        }
        if !is_key(&self.procedure.id, 60) || self.procedure.version == 0 {
            return err("the id is 1 to 60 of a-z, 0-9, - and _; the version is 1 or more".into());
        }
        self.procedure.check()?;
        let mut kinds = std::collections::BTreeSet::new();
        for r in &self.results {
            if !is_key(&r.kind, 40) || !kinds.insert(r.kind.as_str()) {
                return err(format!("result kind {:?} is malformed or repeated", r.kind));
            }
        }
        export::check_all(&self.exports, &self.procedure, &kinds).or_else(err)?;
        layout::check_all(&self.layouts, &self.procedure, &kinds).or_else(err)?;
        if let Some(g) = &self.guide {
            g.check().or_else(err)?;
        }
        Ok(())
    }

    /// The package's canonical bytes.
    pub fn canonical(&self) -> Result<Vec<u8>, ProtocolError> {
        canonical_bytes(self)
    }

    /// Lower-case hex SHA-256 of the canonical bytes: the package's identity.
    pub fn hash(&self) -> Result<String, ProtocolError> {
        Ok(hex::encode(Sha256::digest(self.canonical()?)))
    }

    /// Parses a package (any JSON form; built-in package files are pretty-printed) and checks its form.
    pub fn parse(json: &str) -> Result<ProcedurePackage, ProtocolError> {
        let p: ProcedurePackage =
            serde_json::from_str(json).map_err(|e| ProtocolError::Catalogue(e.to_string()))?;
        p.check_form()?;
        Ok(p)
    }

    /// What an index lists of this package.
    pub fn summary(&self) -> Result<PackageSummary, ProtocolError> {
        Ok(PackageSummary {
            id: self.procedure.id.clone(),
            version: self.procedure.version,
            effective_from: self.procedure.effective_from.clone(),
            hash: self.hash()?,
        })
    }
}

/// A package signed by the office that publishes it: `{ "package": …, "signature": hex }`, the
/// signature Ed25519 over `"outreach-kit/v1/procedure-package" || LF || canonical(package)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedPackage {
    /// The package.
    pub package: ProcedurePackage,
    /// The office key's signature.
    pub signature: Signature,
}

impl SignedPackage {
    /// Checks the package's form and signs it.
    pub fn sign(
        package: ProcedurePackage,
        key: &DeviceKey,
    ) -> Result<SignedPackage, ProtocolError> {
        package.check_form()?;
        let signature = key.sign_value(Context::ProcedurePackage, &package)?;
        Ok(SignedPackage { package, signature })
    }

    /// Parses the canonical bytes of a signed package (at most [`MAX_PACKAGE_BYTES`]) and checks the
    /// package's form, not the signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<SignedPackage, ProtocolError> {
        if bytes.len() > MAX_PACKAGE_BYTES {
            return Err(ProtocolError::Package(format!(
                "a signed package is at most {MAX_PACKAGE_BYTES} bytes, not {}",
                bytes.len()
            )));
        }
        let s: SignedPackage = parse_canonical(bytes)?;
        s.package.check_form()?;
        Ok(s)
    }

    /// The canonical bytes (what travels).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        canonical_bytes(self)
    }

    /// Verifies the signature with the pinned office key.
    pub fn verify(&self, office: &DevicePublicKey) -> Result<(), ProtocolError> {
        office.verify_value(Context::ProcedurePackage, &self.package, &self.signature)
    }
}

/// What an index says of one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSummary {
    /// Procedure id.
    pub id: String,
    /// Procedure version.
    pub version: u32,
    /// First day in force (`YYYY-MM-DD`).
    pub effective_from: String,
    /// The package hash ([`ProcedurePackage::hash`]).
    pub hash: String,
}

impl PackageSummary {
    fn check_form(&self) -> Result<(), ProtocolError> {
        let hex64 = self.hash.len() == 64
            && self
                .hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !is_key(&self.id, 60) || self.version == 0 || !hex64 {
            return Err(ProtocolError::Package(format!(
                "package summary {} v{} is malformed",
                self.id, self.version
            )));
        }
        Ok(())
    }
}

/// The office's list of the packages it publishes (`GET /api/v1/sync/packages`). Not signed: each package
/// carries its own signature, and a field hub fetches only what it lacks, by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageIndex {
    /// Always [`PACKAGE_INDEX_KIND`].
    pub kind: String,
    /// [`crate::PROTOCOL_VERSION`].
    pub v: u32,
    /// Every published package, oldest first.
    pub packages: Vec<PackageSummary>,
}

impl PackageIndex {
    /// Kind, version, at most [`MAX_PACKAGES`] well-formed entries with distinct (id, version).
    pub fn check_form(&self) -> Result<(), ProtocolError> {
        if self.kind != PACKAGE_INDEX_KIND || self.v != crate::PROTOCOL_VERSION {
            return Err(ProtocolError::Package("not a package index".into()));
        }
        if self.packages.len() > MAX_PACKAGES {
            return Err(ProtocolError::Package(format!(
                "a package index lists at most {MAX_PACKAGES} packages"
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for p in &self.packages {
            p.check_form()?;
            if !seen.insert((p.id.as_str(), p.version)) {
                return Err(ProtocolError::Package(format!(
                    "package {} v{} is listed twice",
                    p.id, p.version
                )));
            }
        }
        Ok(())
    }

    /// Parses canonical bytes and checks the form.
    pub fn from_bytes(bytes: &[u8]) -> Result<PackageIndex, ProtocolError> {
        let i: PackageIndex = parse_canonical(bytes)?;
        i.check_form()?;
        Ok(i)
    }
}

/// The version of procedure `id` in force on `on` among `defs`: the one with the latest `effective_from`
/// not after `on`; before the first version's day, the first version (a hub whose clock is wrong still
/// captures, and the office sees the date).
pub fn pick_in_force<'a>(
    defs: impl IntoIterator<Item = &'a ProcedureDef>,
    id: &str,
    on: time::Date,
) -> Option<&'a ProcedureDef> {
    let mut versions: Vec<&ProcedureDef> = defs.into_iter().filter(|d| d.id == id).collect();
    versions.sort_by(|a, b| (&a.effective_from, a.version).cmp(&(&b.effective_from, b.version)));
    let day = on.to_string();
    versions
        .iter()
        .rev()
        .find(|d| d.effective_from <= day)
        .or(versions.first())
        .copied()
}

#[cfg(test)]
mod tests;
