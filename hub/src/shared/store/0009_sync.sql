-- Sync over the network (issue 5, protocol §11). Office tables first, then field tables.

-- pairing/ (both sides): a pinned peer's standing with this hub and where to reach it.
--   status: on the office, a field device's status (pending_approval until a clerk approves it; revoked
--           refuses every later upload). Cards trusted by file (`hub trust`) were put there by an admin with
--           access to the machine: they count as approved. On a field hub, the office's status is unused
--           ('approved').
--   base_url: on a field hub, the office URL it paired with (NULL: found by mDNS or --office-url).
ALTER TABLE trusted_peers ADD COLUMN status TEXT NOT NULL DEFAULT 'approved'
    CHECK (status IN ('pending_approval','approved','revoked'));
ALTER TABLE trusted_peers ADD COLUMN status_changed_at TEXT;
ALTER TABLE trusted_peers ADD COLUMN status_changed_by TEXT;
ALTER TABLE trusted_peers ADD COLUMN status_note TEXT;
ALTER TABLE trusted_peers ADD COLUMN base_url TEXT;
ALTER TABLE trusted_peers ADD COLUMN paired_via TEXT NOT NULL DEFAULT 'file'
    CHECK (paired_via IN ('file','code'));

-- pairing/ (office): one-time pairing codes. The code bytes are kept only while the code is open (the
-- office must recompute proofs with them); spending or expiry clears them.
CREATE TABLE pairing_codes (
    id          TEXT PRIMARY KEY,               -- UUIDv7
    code        BLOB,                           -- 10 bytes; NULL once spent or expired
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users(id),
    expires_at  TEXT NOT NULL,
    spent_at    TEXT,
    spent_by    TEXT                            -- the field device id that used it
);

-- intake/ (office): signed manifests received over the network, and what each announced.
CREATE TABLE sync_manifests (
    device_id   TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    body        BLOB NOT NULL,                  -- canonical JSON of the BatchManifest
    signature   TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, batch_id)
);
CREATE TABLE sync_announced (
    device_id   TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,                  -- envelope header hash
    entry_json  TEXT NOT NULL,                  -- the ManifestEntry (payload and blob refs)
    PRIMARY KEY (device_id, batch_id, seq)
);
CREATE INDEX sync_announced_seq ON sync_announced(device_id, seq, hash);
-- Envelopes received over the network whose ciphertexts are not all complete yet.
CREATE TABLE sync_envelopes (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    header      BLOB NOT NULL,
    signature   TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq, hash)
);
-- Ciphertext bytes received so far, in order: `held` = sum of len over a ciphertext's chunks.
CREATE TABLE sync_chunks (
    device_id   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    offset      INTEGER NOT NULL,
    bytes       BLOB NOT NULL,
    PRIMARY KEY (device_id, sha256, offset)
);

-- intake/ (office): envelopes set aside with the check that refused them, until a person resolves them.
CREATE TABLE quarantine (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    hash         TEXT NOT NULL,                 -- the offered envelope's header hash
    reason       TEXT NOT NULL,                 -- a check code (protocol §9)
    detail       TEXT NOT NULL,
    held_hash    TEXT,                          -- for reason 'equivocation': the hash already held
    batch_id     TEXT,
    via          TEXT NOT NULL CHECK (via IN ('network','file')),
    header       BLOB,                          -- kept as evidence when readable
    signature    TEXT,
    raised_at    TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT,
    resolution   TEXT,
    UNIQUE (device_id, seq, hash)
);

-- news/ (office): status news published per dossier, one signed item each (protocol §11.7).
CREATE TABLE news_out (
    news_id      TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    dossier_id   TEXT NOT NULL REFERENCES received_dossiers(dossier_id),
    receipt_code TEXT NOT NULL,
    status_kind  TEXT NOT NULL,
    signed       BLOB NOT NULL,                 -- canonical bytes of the SignedNews
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL REFERENCES users(id),
    UNIQUE (device_id, seq)
);
CREATE INDEX news_out_dossier ON news_out(dossier_id);

-- uploader/ (field): the office's acknowledgement per envelope, alarms, retention.
ALTER TABLE envelopes ADD COLUMN acked_batch TEXT;      -- the batch whose signed ack covered it
ALTER TABLE envelopes ADD COLUMN pruned_at TEXT;        -- ciphertexts deleted after retention (header kept)
CREATE TABLE sync_alarms (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    seq          INTEGER NOT NULL,
    hash         TEXT NOT NULL,
    reason       TEXT NOT NULL,                 -- a check code from the office's ack or holdings
    detail       TEXT NOT NULL,
    raised_at    TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT,
    UNIQUE (seq, hash, reason)
);
-- One row per sync attempt (network or ack file), for the field UI and `hub sync`.
CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    via           TEXT NOT NULL CHECK (via IN ('network','file')),
    office_url    TEXT,
    envelopes     INTEGER NOT NULL DEFAULT 0,   -- envelopes newly acknowledged
    bytes_sent    INTEGER NOT NULL DEFAULT 0,
    outcome       TEXT,                         -- ok | partial | failed
    error         TEXT
);

-- news/ (field): status news received from the office, verified, by receipt code.
CREATE TABLE news_in (
    news_id      TEXT PRIMARY KEY,
    office_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    dossier_id   TEXT NOT NULL,
    receipt_code TEXT NOT NULL,
    status_kind  TEXT NOT NULL,
    signed       BLOB NOT NULL,                 -- canonical bytes of the SignedNews (re-verifiable)
    published_at TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    told_at      TEXT,                          -- when a volunteer marked it told to the villager
    UNIQUE (office_id, seq)
);
CREATE INDEX news_in_receipt ON news_in(receipt_code);
