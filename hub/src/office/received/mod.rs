//! The office side: what arrived from field hubs, for commune clerks. Batches are verified and stored by
//! `batch::import`; this module lists and shows the received dossiers and the import reports.

pub mod routes;
pub mod store;
