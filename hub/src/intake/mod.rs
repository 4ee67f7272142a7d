//! The office's intake of field uploads over the network (protocol §11): sync sessions (challenge, hello,
//! token), and — per envelope, never all-or-nothing — holdings, manifest, envelopes, chunked ciphertexts,
//! acknowledgements and the quarantine of envelopes that fail a check.

pub mod routes;
pub mod session;

pub use routes::router;
