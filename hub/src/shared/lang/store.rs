//! Storage of languages, translations and audio prompts (tables of migration 0006).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::keys;
use crate::shared::store::{write_tx, StoreError, StoreResult};

/// Codes of the built-in languages, whose UI strings ship with the web client.
pub const BUILT_IN: &[(&str, &str, &str, &str)] = &[
    ("vi", "Tiếng Việt", "Tiếng Việt", "Vietnamese"),
    ("en", "English", "Tiếng Anh", "English"),
];

/// A language as the API shows it, with its progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Language {
    pub code: String,
    pub native_name: String,
    pub vi_name: String,
    pub en_name: String,
    pub has_script: bool,
    pub direction: String,
    pub built_in: bool,
    /// Texts translated (always every text for the built-in languages).
    pub translated: u32,
    /// Texts with a recorded audio prompt.
    pub recorded: u32,
    /// Translatable texts in all.
    pub total: u32,
}

/// What an admin enters for a language.
#[derive(Debug, Clone)]
pub struct LanguageInput {
    pub native_name: String,
    pub vi_name: String,
    pub en_name: String,
    pub has_script: bool,
    pub direction: String,
}

/// A stored audio prompt's description.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AudioInfo {
    pub lang: String,
    pub key: String,
    pub media_type: String,
    pub size: u64,
    pub sha256: String,
    pub recorded_at: String,
}

fn total() -> u32 {
    keys::all().len() as u32
}

/// Counts only rows whose key is still a known text (a catalogue label whose wording changed leaves an
/// orphan that no longer counts).
fn counts(c: &Connection, table: &str, lang: &str) -> StoreResult<u32> {
    let mut stmt = c.prepare_cached(&format!("SELECT key FROM {table} WHERE lang = ?1"))?;
    let rows = stmt.query_map([lang], |r| r.get::<_, String>(0))?;
    let mut n = 0;
    for k in rows {
        if keys::find(&k?).is_some() {
            n += 1;
        }
    }
    Ok(n)
}

fn built_in(c: &Connection, code: &str) -> StoreResult<Option<Language>> {
    let Some((code, native, vi, en)) = BUILT_IN.iter().find(|b| b.0 == code) else {
        return Ok(None);
    };
    Ok(Some(Language {
        code: (*code).into(),
        native_name: (*native).into(),
        vi_name: (*vi).into(),
        en_name: (*en).into(),
        has_script: true,
        direction: "ltr".into(),
        built_in: true,
        translated: total(),
        recorded: counts(c, "audio_prompts", code)?,
        total: total(),
    }))
}

fn row(c: &Connection, r: &rusqlite::Row<'_>) -> rusqlite::Result<Language> {
    let code: String = r.get(0)?;
    Ok(Language {
        native_name: r.get(1)?,
        vi_name: r.get(2)?,
        en_name: r.get(3)?,
        has_script: r.get(4)?,
        direction: r.get(5)?,
        built_in: false,
        translated: counts(c, "translations", &code).unwrap_or(0),
        recorded: counts(c, "audio_prompts", &code).unwrap_or(0),
        total: total(),
        code,
    })
}

const COLS: &str = "code, native_name, vi_name, en_name, has_script, direction";

/// Built-in languages first, then the added ones in the order they were added.
pub fn list(c: &Connection) -> StoreResult<Vec<Language>> {
    let mut out = Vec::new();
    for (code, ..) in BUILT_IN {
        out.extend(built_in(c, code)?);
    }
    let mut stmt = c.prepare(&format!("SELECT {COLS} FROM languages ORDER BY rowid"))?;
    let rows = stmt.query_map([], |r| row(c, r))?;
    for l in rows {
        out.push(l?);
    }
    Ok(out)
}

/// One language, built in or added.
pub fn get(c: &Connection, code: &str) -> StoreResult<Option<Language>> {
    if let Some(l) = built_in(c, code)? {
        return Ok(Some(l));
    }
    Ok(c.query_row(
        &format!("SELECT {COLS} FROM languages WHERE code = ?1"),
        [code],
        |r| row(c, r),
    )
    .optional()?)
}

/// Adds a language; `None` if the code exists already.
pub fn add(
    c: &mut Connection,
    code: &str,
    l: &LanguageInput,
    by: &str,
) -> StoreResult<Option<Language>> {
    let now = crate::shared::clock::now_rfc3339();
    let tx = write_tx(c)?;
    let n = tx
        .execute(
            "INSERT INTO languages (code, native_name, vi_name, en_name, has_script, direction, created_at,
                                    created_by, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7) ON CONFLICT(code) DO NOTHING",
            params![code, l.native_name, l.vi_name, l.en_name, l.has_script, l.direction, now, by],
        )
        .map_err(StoreError::classify)?;
    tx.commit().map_err(StoreError::classify)?;
    if n == 0 {
        return Ok(None);
    }
    get(c, code)
}

/// Edits an added language's names and script; `None` if there is no such language.
pub fn update(c: &mut Connection, code: &str, l: &LanguageInput) -> StoreResult<Option<Language>> {
    let tx = write_tx(c)?;
    let n = tx
        .execute(
            "UPDATE languages SET native_name = ?2, vi_name = ?3, en_name = ?4, has_script = ?5,
                    direction = ?6, updated_at = ?7 WHERE code = ?1",
            params![
                code,
                l.native_name,
                l.vi_name,
                l.en_name,
                l.has_script,
                l.direction,
                crate::shared::clock::now_rfc3339()
            ],
        )
        .map_err(StoreError::classify)?;
    tx.commit().map_err(StoreError::classify)?;
    if n == 0 {
        return Ok(None);
    }
    get(c, code)
}

/// Removes an added language with its translations and recordings; false if there was none.
pub fn remove(c: &mut Connection, code: &str) -> StoreResult<bool> {
    let tx = write_tx(c)?;
    tx.execute("DELETE FROM audio_prompts WHERE lang = ?1", [code])?;
    tx.execute("DELETE FROM translations WHERE lang = ?1", [code])?;
    let n = tx.execute("DELETE FROM languages WHERE code = ?1", [code])?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(n > 0)
}

/// Sets (or, with `None`, clears) the translation of `key` into `lang` (an added language).
pub fn set_translation(
    c: &mut Connection,
    lang: &str,
    key: &str,
    text: Option<&str>,
    by: &str,
) -> StoreResult<()> {
    let tx = write_tx(c)?;
    match text {
        Some(t) => tx.execute(
            "INSERT INTO translations (lang, key, text, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(lang, key) DO UPDATE SET text = excluded.text, updated_at = excluded.updated_at,
                                                  updated_by = excluded.updated_by",
            params![lang, key, t, crate::shared::clock::now_rfc3339(), by],
        ),
        None => tx.execute(
            "DELETE FROM translations WHERE lang = ?1 AND key = ?2",
            [lang, key],
        ),
    }
    .map_err(StoreError::classify)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(())
}

/// Every translation of `lang` (known keys only).
pub fn strings(c: &Connection, lang: &str) -> StoreResult<BTreeMap<String, String>> {
    let mut stmt = c.prepare("SELECT key, text FROM translations WHERE lang = ?1")?;
    let rows = stmt.query_map([lang], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let (k, t) = r?;
        if keys::find(&k).is_some() {
            out.insert(k, t);
        }
    }
    Ok(out)
}

/// Keys of `lang` having a recording → the recording's SHA-256 (known keys only).
pub fn audio_index(c: &Connection, lang: &str) -> StoreResult<BTreeMap<String, String>> {
    let mut stmt = c.prepare("SELECT key, sha256 FROM audio_prompts WHERE lang = ?1")?;
    let rows = stmt.query_map([lang], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
    let mut out = BTreeMap::new();
    for r in rows {
        let (k, s) = r?;
        if keys::find(&k).is_some() {
            out.insert(k, s);
        }
    }
    Ok(out)
}

/// Stores (replacing) the recording of `key` in `lang`; the bytes were sniffed as `media_type`.
pub fn put_audio(
    c: &mut Connection,
    lang: &str,
    key: &str,
    media_type: &str,
    bytes: &[u8],
    by: &str,
) -> StoreResult<AudioInfo> {
    let sha = protocol::sha256_hex(bytes);
    let now = crate::shared::clock::now_rfc3339();
    let tx = write_tx(c)?;
    tx.execute(
        "INSERT INTO audio_prompts (lang, key, media_type, sha256, size, bytes, recorded_at, recorded_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(lang, key) DO UPDATE SET media_type = excluded.media_type, sha256 = excluded.sha256,
             size = excluded.size, bytes = excluded.bytes, recorded_at = excluded.recorded_at,
             recorded_by = excluded.recorded_by",
        params![lang, key, media_type, sha, bytes.len() as i64, bytes, now, by],
    )
    .map_err(StoreError::classify)?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(AudioInfo {
        lang: lang.into(),
        key: key.into(),
        media_type: media_type.into(),
        size: bytes.len() as u64,
        sha256: sha,
        recorded_at: now,
    })
}

/// A recording: media type, SHA-256 and bytes.
pub fn get_audio(
    c: &Connection,
    lang: &str,
    key: &str,
) -> StoreResult<Option<(String, String, Vec<u8>)>> {
    Ok(c.query_row(
        "SELECT media_type, sha256, bytes FROM audio_prompts WHERE lang = ?1 AND key = ?2",
        [lang, key],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .optional()?)
}

/// Deletes a recording; false if there was none.
pub fn delete_audio(c: &mut Connection, lang: &str, key: &str) -> StoreResult<bool> {
    let tx = write_tx(c)?;
    let n = tx.execute(
        "DELETE FROM audio_prompts WHERE lang = ?1 AND key = ?2",
        [lang, key],
    )?;
    tx.commit().map_err(StoreError::classify)?;
    Ok(n > 0)
}
