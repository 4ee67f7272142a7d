//! Sealing: turning a complete draft into a signed dossier with a receipt, encrypting it to the trusted
//! office key(s) and appending it to this device's envelope chain, and deleting the plaintext draft — all in
//! one transaction. A hub with no office key yet keeps signed dossiers as "pending protection" and protects
//! them the moment an office key is trusted.

pub mod chain_cli;
pub mod codes;
pub mod engine;
pub mod receipt_check;
pub mod routes;
pub mod slip;
pub mod tracking;
