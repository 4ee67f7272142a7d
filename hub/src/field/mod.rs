//! What only the field hub runs, at the cultural house. Imports `shared/` and other field concerns, never
//! `office/` or `app/`.
//!
//! | module | concern |
//! |---|---|
//! | `outreach/` | outreach sessions, tickets, the live queue board, services rendered |
//! | `capture/` | drafts and their document photos |
//! | `seal/` | sealing, receipts, the receipt slip, protecting and chaining envelopes |
//! | `thermal/` | receipts on 58/80 mm thermal printers: the hub's USB printer and phones' Bluetooth ones |
//! | `news/` | status news received from the office, shown by hamlet and receipt code |
//! | `selfservice/` | villagers' pre-declarations and the public receipt status |
//! | `pairing/` | pairing with the office by one-time code (the field side) |
//! | `uploader/` | finding the office, background upload, progress, acks, retention, the USB batch file |
//! | `captive/` | captive portal of a hub that is its own access point |
//! | `retention/` | deleting what the field no longer needs: old drafts, untaken pre-declarations, ticket names, old news |

pub mod captive;
pub mod capture;
pub mod news;
pub mod outreach;
pub mod pairing;
pub mod retention;
pub mod seal;
pub mod selfservice;
pub mod thermal;
pub mod uploader;
