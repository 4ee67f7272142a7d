//! Session and period reports at the office (issue 6): villagers served, services rendered, dossiers by
//! procedure, status, hamlet, sex, age band and consented ethnicity, time from capture to registration;
//! SVG charts and CSV downloads.

pub mod charts;
pub mod memo;
pub mod routes;
pub mod store;
pub mod tables;

pub use routes::router;
