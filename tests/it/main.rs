//! The integration tests, as one test binary: each module is one concern's tests (the file it lives in),
//! all sharing `tests/common` (spawning real `hub` processes on loopback, logins, fixtures). One binary
//! links once instead of once per file, and its tests share the two cores as one pool.
//!
//! Run one concern with a filter: `cargo test -p hub --test it abuse::` (or any test name substring).

#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod account_lifecycle;
mod accounts;
mod architecture;
mod authoring;
mod backup;
mod backup_keys;
mod backup_protected;
mod batch_tamper;
mod board_streams;
mod captive;
mod casework;
mod catalogue;
mod clock;
mod crash;
mod deadlines;
mod disk_full;
mod dispositions;
mod exports;
mod exports_libreoffice;
mod fake_office;
mod https_only;
mod intake;
mod join;
mod languages;
mod ledger;
mod login_limits;
mod news;
mod no_pii_logs;
mod office_tls;
mod openapi;
mod outreach;
mod packages;
mod pairing;
mod photos;
mod qr_codes;
mod reports;
mod restored_hub;
mod retention;
mod revocation;
mod role_matrix;
mod selfservice;
mod slip;
mod slowloris;
mod sync;
mod sync_weak_link;
mod systemd_notify;
mod thermal;
mod thief;
mod tls_ca;
mod unit_history;
mod units;
mod unlock;
mod walking_skeleton;
