//! Status news back to the field (protocol §11.7), the office side: a clerk publishes signed news per
//! dossier (or casework publishes it with a status change); field devices pull it on every sync.

pub mod form;
pub mod routes;
pub mod store;

pub use routes::router;
