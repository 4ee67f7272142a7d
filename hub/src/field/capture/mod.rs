//! Capture: drafts of dossiers and their document photos, before sealing. Drafts are the only plaintext
//! personal data a field hub keeps; sealing deletes them (see `seal`).

pub mod routes;
pub mod rules;
pub mod store;
