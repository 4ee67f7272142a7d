//! Batch files: the self-describing file that carries sealed envelopes from a field hub to the office on a
//! USB stick. The file is an SQLite database (robust, inspectable with `sqlite3`) with this layout:
//!
//! ```sql
//! batch_meta(key TEXT PRIMARY KEY, value TEXT)   -- format = 'outreach-kit-batch', format_version = '1',
//!                                                -- batch_id, device_id, created_at
//! manifest(id INTEGER PRIMARY KEY CHECK (id = 1), body BLOB, signature TEXT)
//!                                                -- body: canonical JSON of the BatchManifest
//! envelopes(seq INTEGER PRIMARY KEY, header BLOB, signature TEXT, payload BLOB)
//!                                                -- header: canonical JSON of the EnvelopeHeader
//! blobs(sha256 TEXT PRIMARY KEY, bytes BLOB)     -- encrypted photos, by hash of the ciphertext
//! ```
//!
//! The field writes one from its chain (`field::uploader::batch_file`); the office verifies it envelope by
//! envelope (`office::intake::batch_import`). This module holds only what both sides agree on: the format
//! name, its version and the schema.

pub const FORMAT: &str = "outreach-kit-batch";
pub const FORMAT_VERSION: &str = "1";

pub(crate) const SCHEMA: &str = "
CREATE TABLE batch_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE manifest(id INTEGER PRIMARY KEY CHECK (id = 1), body BLOB NOT NULL, signature TEXT NOT NULL);
CREATE TABLE envelopes(seq INTEGER PRIMARY KEY, header BLOB NOT NULL, signature TEXT NOT NULL, payload BLOB NOT NULL);
CREATE TABLE blobs(sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL);
";
