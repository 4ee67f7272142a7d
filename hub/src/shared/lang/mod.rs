//! Further languages as data and recorded audio prompts.
//!
//! Vietnamese and English are built in (their UI strings ship in `client-web/i18n/`); an admin adds further
//! languages (Xtiêng `stg`, Raglai `rog`, Chăm `cjm`, Khmer `km`, …). Team members translate every text
//! (`keys`: UI strings, catalogue labels, guide texts) when the language is written, and record an audio
//! prompt per text in any language, Vietnamese included (`audio`: M4A, MP3, WAV, WebM or Ogg Opus,
//! recognised from the bytes, ≤ 1 MiB). Reading is public (`GET /api/v1/languages…`): guides are played on villagers' phones.
//!
//! - `keys`: the inventory of translatable texts and their keys;
//! - `audio`: accepted recording formats;
//! - `store`: tables of migration 0006;
//! - `routes`: the HTTP API (see `docs/api.md`, "Languages and audio prompts").

pub mod audio;
pub mod keys;
pub mod routes;
pub mod store;

pub use routes::router;
