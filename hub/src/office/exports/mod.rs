//! Exports for the downstream systems (issue 6): the selected dossiers with each system's official item
//! names and order (birth declaration, CT01, TK1-TS, marital-status request), as XLSX (for people) or CSV
//! (for software); each dossier is offered once per system, and only once the data the system needs exists
//! (CT01 and TK1-TS wait for the child's PIN). An export's file is made when the export is recorded and
//! kept: every download sends the same bytes, whose SHA-256 is recorded (issue 24).
//!
//! - `systems`: the systems of the known procedure packages (their export mappings: item names, order,
//!   where each value comes from, per procedure version) and the row maker;
//! - `words`: dates in figures and in Vietnamese words;
//! - `store`: selection, recording an export (+ audit + its kept file), listing, reading rows in chunks;
//! - `render`: CSV and XLSX writing; `routes`: the HTTP API.

pub mod render;
pub mod routes;
pub mod store;
pub mod systems;
pub mod words;

pub use routes::router;
