//! Status news back to the field (protocol §11.7): the office publishes signed news per dossier; the field
//! pulls it on every sync and shows it by receipt code and by hamlet.

pub mod form;
pub mod routes;
pub mod store;

pub use routes::router;
