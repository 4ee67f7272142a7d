//! Reconciliation at the office (issue 6): a ledger per field device (every seq from 1 to the announced
//! chain head: received, missing or quarantined), expected vs received per outreach session, and duplicate
//! dossiers for a clerk to merge or keep.

pub mod devices;
pub mod duplicates;
pub mod expected;
pub mod routes;
pub mod sessions;

pub use routes::router;
