//! What only the office hub runs, for commune clerks. Imports `shared/` and other office concerns, never
//! `field/` or `app/`.
//!
//! | module | concern |
//! |---|---|
//! | `authoring/` | procedure packages as sheets (CSV or workbook): `hub procedure check`, `build`, `sheets` |
//! | `devices/` | pairing codes, paired field devices, approving and revoking them |
//! | `intake/` | sync sessions, per-envelope intake of uploads and batch files, acks, quarantine |
//! | `ledger/` | reconciliation per device and session, duplicates |
//! | `received/` | received dossiers and import reports for clerks |
//! | `casework/` | statuses, deadlines in working days, holidays |
//! | `news/` | status news published to the field |
//! | `packages/` | procedure packages: publishing, the Procedures page, field hubs pulling them |
//! | `exports/` | exports once per downstream system (CSV, XLSX) |
//! | `forms/` | the official forms on A4, filled in (layouts as data, values as the exports give them) |
//! | `reports/` | reports per period, hamlet and session, with charts |

pub mod authoring;
pub mod casework;
pub mod devices;
pub mod exports;
pub mod forms;
pub mod intake;
pub mod ledger;
pub mod news;
pub mod packages;
pub mod received;
pub mod reports;
