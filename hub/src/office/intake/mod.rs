//! The office's intake of field uploads over the network (protocol §11): sync sessions (challenge, hello,
//! token), and — per envelope, never all-or-nothing — holdings, manifest, envelopes, chunked ciphertexts,
//! acknowledgements and the quarantine of envelopes that fail a check. `verify` is the per-envelope core
//! shared with the USB batch import (`batch::import`).

pub mod ack;
pub mod batch_import;
pub mod quarantine;
pub mod routes;
pub mod session;
pub mod store;
pub mod verify;

pub use routes::router;
