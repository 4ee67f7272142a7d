//! The outreach-kit hub as a library (the `hub` binary is a thin wrapper), organised by concern:
//!
//! | folder | concern |
//! |---|---|
//! | `api_doc/` | the OpenAPI document of every route (`GET /api/v1/openapi.json`) |
//! | `auth/` | users, roles and role gates, passwords, sessions, CSRF, setup link |
//! | `capture/` | drafts and their document photos |
//! | `media/` | photo checks (format, size, pixel limits) |
//! | `cpu.rs` | heavy work (photos, password checks) off the async threads, one job per core at a time |
//! | `seal/` | sealing, receipts, protecting and chaining envelopes |
//! | `trust/` | key cards of paired hubs |
//! | `backup/` | backups of the data directory, restore, the serve lock on the data directory |
//! | `batch/` | batch files: export (field), verify-and-import (office) |
//! | `office/` | received dossiers for clerks |
//! | `pairing/` | pairing field and office hubs by one-time code; approving and revoking devices |
//! | `intake/` | office: sync sessions and per-envelope intake of uploads, acks, quarantine |
//! | `uploader/` | field: finding the office, background upload, progress, acks, retention |
//! | `news/` | status news: published at the office, pulled and shown in the field |
//! | `units/` | provinces and communes/wards: import, search, checks |
//! | `discovery/` | mDNS advertisement |
//! | `captive/` | captive portal of a hub that is its own access point: phones' connectivity checks, the portal page |
//! | `join/` | joining the hub: Wi-Fi and app QR codes, the team's join page |
//! | `tls/` | the hub's local certificate authority and HTTPS listener |
//! | `outreach/` | outreach sessions, tickets, the live queue board, services rendered |
//! | `lang/` | further languages as data, recorded audio prompts |
//! | `guides/` | public procedure guides |
//! | `selfservice/` | villagers' pre-declarations and the public receipt status |
//! | `keys/` | this hub's own keys |
//! | `clock/` | the hub's time: corrected by an officer's confirmation from a phone; no sealing on an implausible clock |
//! | `store/` | SQLite connection, schema and migrations |
//! | `service.rs` | systemd notifications: ready, watchdog while the database answers, stopping |
//! | `web/` | the embedded web client |

pub mod api_doc;
pub mod app;
pub mod auth;
pub mod backup;
pub mod batch;
pub mod captive;
pub mod capture;
pub mod casework;
pub mod cli;
pub mod clock;
pub mod config;
pub mod cpu;
pub mod datadir;
pub mod discovery;
pub mod error;
pub mod exports;
pub mod guides;
pub mod intake;
pub mod join;
pub mod keys;
pub mod lang;
pub mod ledger;
pub mod media;
pub mod news;
pub mod office;
pub mod outreach;
pub mod pairing;
pub mod qr;
pub mod reports;
pub mod seal;
pub mod selfservice;
pub mod serve;
pub mod service;
pub mod store;
pub mod terminal;
pub mod tls;
pub mod trust;
pub mod units;
pub mod uploader;
pub mod web;
