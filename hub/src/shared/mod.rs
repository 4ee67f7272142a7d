//! What both hubs run. Nothing here imports `field/`, `office/` or `app/`.
//!
//! | module | concern |
//! |---|---|
//! | `state` | the state every handler takes; the live parts of single concerns, by type |
//! | `store/` | SQLite connection, schema and migrations |
//! | `error` | the JSON error every failing call answers (code, Vietnamese, English, field) |
//! | `procedures` | the procedure catalogue as this hub serves it (time limits applied) |
//! | `deadline/` | the legal due date of a dossier (working days, the 15:00 rule, the holiday list) |
//! | `auth/` | users, roles and role gates, passwords, sessions, CSRF, setup link, login limits |
//! | `ip_limit` | per-client-IP rate limits of the public routes, the client-address extractor |
//! | `keys/` | this hub's own keys |
//! | `vault/` | encryption at rest: the data key, its wrapped copies (keyring), sealed secret files |
//! | `unlock/` | protecting a field hub's data directory, unlocking it (password, escrow key), `hub vault` |
//! | `trust/` | key cards of paired hubs |
//! | `clock` | wall-clock time in the kit's formats, the hub's corrected clock |
//! | `clock_guard/` | no sealing on an implausible clock; an officer's confirmation from a phone |
//! | `chain_guard` | no sealing on a field hub restored from a backup or found diverged from the office |
//! | `audit` | the append-only audit log |
//! | `media/` | photo checks (format, size, pixel limits) |
//! | `cpu` | heavy work (photos, password checks) off the async threads, one job per core at a time |
//! | `units/` | provinces and communes/wards: import, search, checks |
//! | `lang/` | further languages as data, recorded audio prompts |
//! | `texts` | a translatable text with its stable key |
//! | `guides/` | public procedure guides |
//! | `join/` | joining the hub: Wi-Fi and app QR codes, the join page |
//! | `tls/` | the hub's local certificate authority and HTTPS listener |
//! | `discovery/` | mDNS advertisement and browsing |
//! | `batch_file` | the batch file's format (written in the field, verified at the office) |
//! | `backup/` | backups of the data directory, restore, the serve lock on the data directory |
//! | `datadir` | opening or creating a data directory |
//! | `api_doc/` | what every concern's OpenAPI annotations share (error body, error sets, security) |
//! | `web/` | the embedded web client |
//! | `qr` | QR codes as PNG and terminal text |
//! | `terminal` | what `hub serve` prints |
//! | `service` | systemd notifications: ready, watchdog while the database answers, stopping |

pub mod api_doc;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod batch_file;
pub mod chain_guard;
pub mod clock;
pub mod clock_guard;
pub mod cpu;
pub mod datadir;
pub mod deadline;
pub mod discovery;
pub mod error;
pub mod guides;
pub mod ip_limit;
pub mod join;
pub mod keys;
pub mod lang;
pub mod media;
pub mod procedures;
pub mod qr;
pub mod service;
pub mod state;
pub mod store;
pub mod terminal;
pub mod texts;
pub mod tls;
pub mod trust;
pub mod units;
pub mod unlock;
pub mod vault;
pub mod web;
