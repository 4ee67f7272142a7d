//! Pairing this field hub with its office hub by one-time code (protocol §11.2–11.3), the field's side: the
//! admin scans or types the office's code, the field sends a signed request, checks the office's signed
//! answer and pins its key card. The office's side (codes, approval, revocation) is `office::devices`.
//! File pairing (`hub trust`) stays as the fallback and ends in the same table.

pub mod client;
pub mod routes;
pub mod store;

pub use routes::router;
