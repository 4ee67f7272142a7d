-- Initial schema. One schema for both modes; a mode's unused tables stay empty.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- auth/
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('admin','officer','volunteer','clerk')),
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at INTEGER NOT NULL          -- unix seconds; sliding
);
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

-- trust/: peers whose key cards this hub has trusted
CREATE TABLE trusted_peers (
    device_id     TEXT PRIMARY KEY,
    mode          TEXT NOT NULL CHECK (mode IN ('field','office')),
    name          TEXT NOT NULL,
    sign_pub      TEXT NOT NULL,
    age_recipient TEXT NOT NULL,
    card          TEXT NOT NULL,
    trusted_at    TEXT NOT NULL
);

-- capture/: the only plaintext personal data on a field hub; purged at seal time
CREATE TABLE drafts (
    id                TEXT PRIMARY KEY,
    procedure_id      TEXT NOT NULL,
    procedure_version INTEGER NOT NULL,
    fields_json       TEXT NOT NULL,
    version           INTEGER NOT NULL DEFAULT 1,
    created_by        TEXT NOT NULL REFERENCES users(id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    idempotency_key   TEXT UNIQUE
);
CREATE TABLE draft_attachments (
    id         TEXT PRIMARY KEY,
    draft_id   TEXT NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX draft_attachments_draft ON draft_attachments(draft_id);

-- seal/: receipts of every sealed dossier (no personal data)
CREATE TABLE receipts (
    dossier_id        TEXT PRIMARY KEY,
    code              TEXT NOT NULL UNIQUE,
    procedure_id      TEXT NOT NULL,
    procedure_version INTEGER NOT NULL,
    sealed_at         TEXT NOT NULL,
    sealed_by         TEXT NOT NULL,
    seq               INTEGER UNIQUE     -- NULL while not yet protected
);
-- Signed but not yet encrypted dossiers of a hub with no office key (shown as "not yet protected").
CREATE TABLE pending_protection (
    dossier_id     TEXT PRIMARY KEY REFERENCES receipts(dossier_id),
    signed_dossier BLOB NOT NULL,
    sealed_at      TEXT NOT NULL,
    ord            INTEGER NOT NULL UNIQUE
);
CREATE TABLE pending_attachments (
    dossier_id TEXT NOT NULL REFERENCES pending_protection(dossier_id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    PRIMARY KEY (dossier_id, idx)
);
-- This device's envelope chain.
CREATE TABLE envelopes (
    seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
    dossier_id TEXT NOT NULL UNIQUE REFERENCES receipts(dossier_id),
    header     BLOB NOT NULL,            -- canonical JSON of the envelope header
    signature  TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE,
    payload    BLOB NOT NULL,            -- age ciphertext of the signed dossier
    sealed_at  TEXT NOT NULL,
    acked_at   TEXT
);
CREATE TABLE envelope_blobs (
    seq    INTEGER NOT NULL REFERENCES envelopes(seq),
    idx    INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    bytes  BLOB NOT NULL,                -- age ciphertext of one attachment
    PRIMARY KEY (seq, idx)
);

-- office/: what arrived from field devices, after verification
CREATE TABLE received_envelopes (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    prev        TEXT NOT NULL,
    header      BLOB NOT NULL,
    signature   TEXT NOT NULL,
    dossier_id  TEXT NOT NULL UNIQUE,
    batch_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE TABLE received_dossiers (
    dossier_id        TEXT PRIMARY KEY,
    device_id         TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    procedure_id      TEXT NOT NULL,
    procedure_version INTEGER NOT NULL,
    receipt_code      TEXT NOT NULL,
    title             TEXT NOT NULL,
    fields_json       TEXT NOT NULL,
    signed_dossier    BLOB NOT NULL,     -- canonical signed dossier: verifiable again at any time
    sealed_at         TEXT NOT NULL,
    received_at       TEXT NOT NULL,
    checks_json       TEXT NOT NULL,
    FOREIGN KEY (device_id, seq) REFERENCES received_envelopes(device_id, seq)
);
CREATE TABLE received_attachments (
    dossier_id TEXT NOT NULL REFERENCES received_dossiers(dossier_id),
    idx        INTEGER NOT NULL,
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    media_type TEXT NOT NULL,
    sha256     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    PRIMARY KEY (dossier_id, idx)
);
CREATE TABLE imports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id     TEXT,
    device_id    TEXT,
    imported_at  TEXT NOT NULL,
    accepted     INTEGER NOT NULL,
    stored       INTEGER NOT NULL,
    already_held INTEGER NOT NULL,
    report_json  TEXT NOT NULL
);
