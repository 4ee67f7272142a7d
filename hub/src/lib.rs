//! The outreach-kit hub as a library (the `hub` binary is a thin wrapper). The tree says where code runs:
//!
//! | folder | runs on | may import |
//! |---|---|---|
//! | `app/` | both: assembles the router, the OpenAPI document, the configuration, `hub serve` and the CLI | everything |
//! | `field/` | the field hub at the cultural house: capture, sealing, receipts, the queue, self-service, upload | `field/`, `shared/` |
//! | `office/` | the commune office hub: intake, ledger, casework, exports, reports, devices, news | `office/`, `shared/` |
//! | `shared/` | both hubs: state, storage, auth, keys, clock, media, units, languages, the web app… | `shared/` |
//!
//! Inside each folder a concern's imports only go downward (no cycles); `tests/it/architecture.rs` checks
//! both rules on every test run. `docs/architecture.md` has the picture.

pub mod app;
pub mod field;
pub mod office;
pub mod shared;
