//! The office's intake of field uploads over the network (protocol §11): sync sessions (challenge, hello,
//! token), and — per envelope, never all-or-nothing — holdings, manifest, envelopes, chunked ciphertexts,
//! acknowledgements (over the network, and the USB ack file with the packages the device lacks), the
//! procedure packages a device pulls (`packages`), and the quarantine of envelopes that fail a check. `verify` is the per-envelope core
//! shared with the USB batch import (`batch::import`).

pub mod ack;
pub mod batch_import;
pub mod packages;
pub mod quarantine;
pub mod routes;
pub mod session;
pub mod store;
pub mod verify;

/// Every intake route.
pub fn router() -> axum::Router<crate::shared::state::AppState> {
    routes::router().merge(packages::router())
}
