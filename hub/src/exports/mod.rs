//! Exports for the downstream systems (issue 6): the selected dossiers with each system's official item
//! names and order (birth declaration, CT01, TK1-TS, marital-status request), as CSV (UTF-8 with BOM) or
//! XLSX, streamed; each dossier is offered once per system.

pub mod routes;

pub use routes::router;
