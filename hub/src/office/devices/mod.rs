//! The field devices of this office (protocol §11.2–11.3): a clerk opens a one-time pairing code and its
//! QR, a field hub answers it with a signed request (`POST /api/v1/sync/pair`), the office pins the card as
//! pending, and a clerk approves or later revokes the device. The field's side is `field::pairing`.

pub mod receipts;
pub mod routes;
pub mod store;

pub use routes::router;
