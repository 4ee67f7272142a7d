-- lang/: recordings from a phone's file picker (issue 25) are stored as they come, so the stored media type
-- may also be MP3 (`audio/mpeg`) or WAV (`audio/wav`). SQLite cannot change a CHECK: the table is made again
-- with the wider one and the rows copied.
CREATE TABLE audio_prompts_new (
    lang        TEXT NOT NULL,                -- vi, en, or a code of `languages`
    key         TEXT NOT NULL,
    media_type  TEXT NOT NULL CHECK (media_type IN ('audio/webm', 'audio/ogg', 'audio/mp4', 'audio/mpeg', 'audio/wav')),
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    PRIMARY KEY (lang, key)
);
INSERT INTO audio_prompts_new SELECT lang, key, media_type, sha256, size, bytes, recorded_at, recorded_by FROM audio_prompts;
DROP TABLE audio_prompts;
ALTER TABLE audio_prompts_new RENAME TO audio_prompts;
