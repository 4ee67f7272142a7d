//! Pairing a field hub with its office hub by one-time code (protocol §11.2–11.3): the office shows a code and
//! its QR, the field's admin scans or types it, both pin each other's key cards, a clerk approves (or later
//! revokes) the device. File pairing (`hub trust`) stays as the fallback and ends in the same table.

pub mod client;
pub mod routes;
pub mod store;

pub use routes::router;
