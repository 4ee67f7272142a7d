-- lang/: further languages (added as data by an admin), their translations, and recorded audio prompts.
-- `vi` and `en` are built in (their UI strings ship with the web client) and are never rows of `languages`;
-- audio prompts may still be recorded for them (villagers who do not read).
CREATE TABLE languages (
    code        TEXT PRIMARY KEY,             -- BCP 47 / ISO 639-3, lower case: stg, rog, cjm, km
    native_name TEXT NOT NULL,                -- the language's own name for itself
    vi_name     TEXT NOT NULL,                -- its Vietnamese name
    en_name     TEXT NOT NULL DEFAULT '',
    has_script  INTEGER NOT NULL CHECK (has_script IN (0, 1)),
    direction   TEXT NOT NULL DEFAULT 'ltr' CHECK (direction IN ('ltr', 'rtl')),
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE translations (
    lang       TEXT NOT NULL REFERENCES languages(code) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    text       TEXT NOT NULL,                 -- NFC
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (lang, key)
) WITHOUT ROWID;

CREATE TABLE audio_prompts (
    lang        TEXT NOT NULL,                -- vi, en, or a code of `languages`
    key         TEXT NOT NULL,
    media_type  TEXT NOT NULL CHECK (media_type IN ('audio/webm', 'audio/ogg', 'audio/mp4')),
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (lang, key)
);
