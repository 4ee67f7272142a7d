//! Everything two outreach-kit hubs must agree on: dossiers, envelopes, signatures, sealing, hash chains,
//! batch manifests, the procedure catalogue and its validation, receipt codes, and the sync messages
//! (pairing, holdings, chunks, acknowledgements, news).
//!
//! The crate is pure: no file or network I/O, no async, no clock reads and no OS randomness. Callers pass
//! times (RFC 3339 UTC strings) and random bytes in. The one exception is age's internal RNG for file keys
//! (see [`seal`]). The byte-exact wire format is described in `docs/protocol.md`.

pub mod batch;
pub mod canonical;
pub mod catalogue;
pub mod chain;
pub mod derive;
pub mod dossier;
pub mod envelope;
pub mod error;
pub mod ethnicity;
pub mod keycard;
pub mod keys;
pub mod package;
pub mod pin;
pub mod receipt;
pub mod seal;
pub mod session;
pub mod sync;
pub mod timestamp;
pub mod validate;

pub use batch::*;
pub use canonical::*;
pub use catalogue::*;
pub use chain::*;
pub use derive::*;
pub use dossier::*;
pub use envelope::*;
pub use error::*;
pub use ethnicity::*;
pub use keycard::*;
pub use keys::*;
pub use package::{
    pick_in_force, PackageIndex, PackageSummary, ProcedurePackage, ResultDef, SignedPackage,
    MAX_PACKAGES, MAX_PACKAGE_BYTES, PACKAGE_INDEX_KIND, PACKAGE_KIND,
};
pub use pin::*;
pub use receipt::*;
pub use seal::*;
pub use session::*;
pub use sync::*;
pub use timestamp::*;
pub use validate::*;

/// The largest integer any protocol structure may carry (2⁵³ − 1, exact in every JSON implementation).
pub const MAX_INTEGER: u64 = (1 << 53) - 1;

/// The protocol version carried in the `v` member of every wire structure.
pub const PROTOCOL_VERSION: u32 = 1;
