-- A restored or cloned field hub (issue 23, protocol §11.4.1–11.4.3).

-- uploader/ (field): envelopes this hub numbered again after the office's chain head, because the office
-- holds another envelope at their first seq (restored from an older copy, or a copy of the card). The old
-- header is gone from `envelopes`; this row keeps which dossier it was, for alarms and the officer's page.
CREATE TABLE rechained (
    old_seq     INTEGER NOT NULL,
    old_hash    TEXT NOT NULL UNIQUE,
    dossier_id  TEXT NOT NULL REFERENCES receipts(dossier_id),
    new_seq     INTEGER NOT NULL,
    new_hash    TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX rechained_dossier ON rechained(dossier_id);
-- An alarm settled without a person (re-chained and stored at the office): what happened.
ALTER TABLE sync_alarms ADD COLUMN resolution TEXT;

-- intake/ (office): a dossier whose signed receipt code another dossier already holds here (two copies of
-- one card, or a card restored from an older backup, issued it twice) is recorded under a new code derived
-- from its device and dossier id (§6.2); the villager is told by news. `received_dossiers.receipt_code` is
-- the code the office's records use; the issued one stays in the signed dossier and here.
CREATE TABLE receipt_relinks (
    dossier_id   TEXT PRIMARY KEY REFERENCES received_dossiers(dossier_id),
    device_id    TEXT NOT NULL,
    issued_code  TEXT NOT NULL,
    office_code  TEXT NOT NULL UNIQUE,
    held_by      TEXT NOT NULL,                 -- the dossier that holds the issued code
    relinked_at  TEXT NOT NULL,
    news_seq     INTEGER                        -- the news item that told the field (NULL: not yet)
);
-- A set-aside envelope whose dossier the field sealed again under a later seq (same payload ciphertext).
ALTER TABLE quarantine ADD COLUMN rechained_seq INTEGER;
ALTER TABLE quarantine ADD COLUMN rechained_dossier TEXT;

-- news/ (office): news the office publishes by itself (a relinked receipt code, above) has no user behind
-- it: `published_by` is a user id or 'office'. SQLite cannot drop a foreign key in place: the table is
-- rebuilt with the same rows.
CREATE TABLE news_out_new (
    news_id      TEXT PRIMARY KEY,
    device_id    TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    dossier_id   TEXT NOT NULL REFERENCES received_dossiers(dossier_id),
    receipt_code TEXT NOT NULL,
    status_kind  TEXT NOT NULL,
    signed       BLOB NOT NULL,                 -- canonical bytes of the SignedNews
    published_at TEXT NOT NULL,
    published_by TEXT NOT NULL,                 -- a users(id), or 'office' for news the office made itself
    UNIQUE (device_id, seq)
);
INSERT INTO news_out_new SELECT news_id, device_id, seq, dossier_id, receipt_code, status_kind, signed,
    published_at, published_by FROM news_out;
DROP TABLE news_out;
ALTER TABLE news_out_new RENAME TO news_out;
CREATE INDEX news_out_dossier ON news_out(dossier_id);

-- devices/ (office): a field device paused because two envelopes with one (device, seq) arrived — two
-- copies of one card, or a card copied back by hand. Uploads go on (nothing sealed is stranded); the
-- device is told at its next sync hello and seals no more until a clerk approves it again.
ALTER TABLE trusted_peers ADD COLUMN paused_at TEXT;
ALTER TABLE trusted_peers ADD COLUMN pause_reason TEXT;
