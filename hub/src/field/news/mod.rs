//! Status news from the office, on the field hub (protocol §11.7): pulled on every sync (`uploader`),
//! verified against the pinned office key, stored as signed bytes, and shown by receipt code and by hamlet
//! so a volunteer can tell the villager.

pub mod routes;
pub mod store;

pub use routes::router;
