-- selfservice/: villagers' pre-declarations, filled on their own phone on the hub's Wi-Fi. The answers
-- stay in this hub's database only, and only until the team takes the pre-declaration as a draft: then
-- `fields_json` is cleared (the draft holds them; personal data is not kept twice).
CREATE TABLE predeclarations (
    id                TEXT PRIMARY KEY,
    pickup_number     INTEGER NOT NULL UNIQUE,   -- the short number the villager shows the team
    procedure_id      TEXT NOT NULL,
    procedure_version INTEGER NOT NULL,
    fields_json       TEXT,                      -- NULL once taken
    lang              TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    ticket_id         TEXT,                      -- queue ticket issued with it, if a session was open
    ticket_number     INTEGER,
    taken_at          TEXT,
    taken_by          TEXT REFERENCES users(id),
    draft_id          TEXT
);
CREATE INDEX predeclarations_waiting ON predeclarations(taken_at, created_at);

-- The hub's secret for receipt tracking keys. Receipt codes are derived from the hub's device id and the
-- receipt number (protocol §6), so anyone holding one slip could compute the codes of the receipts before
-- and after it; the public status therefore also needs the tracking key, HMAC-SHA256(secret, code),
-- which only the slip carries. One row, made on first use.
CREATE TABLE selfservice_secret (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
);
