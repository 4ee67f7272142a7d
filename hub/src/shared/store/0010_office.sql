-- The commune office at work (issue 6): reconciliation, casework with deadlines and an audit log,
-- one-time exports, session reports. Office tables only.

-- office/: the outreach session a received dossier was captured in (from the sealed dossier), for
-- "expected vs received" per session and the reports. Backfilled from the stored signed dossiers.
ALTER TABLE received_dossiers ADD COLUMN session_id TEXT;
UPDATE received_dossiers
   SET session_id = json_extract(CAST(signed_dossier AS TEXT), '$.dossier.session_id');
CREATE INDEX received_dossiers_session ON received_dossiers(session_id);
CREATE INDEX received_dossiers_procedure ON received_dossiers(procedure_id, received_at);
CREATE INDEX received_dossiers_device_seq ON received_dossiers(device_id, seq);

-- ledger/: the latest summary of each outreach session of each field device (protocol §3.5), from the
-- newest manifest that carried it (by the manifest's created_at).
CREATE TABLE session_summaries (
    device_id     TEXT NOT NULL,
    session_id    TEXT NOT NULL,
    hamlet        TEXT NOT NULL,
    date          TEXT NOT NULL,                -- YYYY-MM-DD
    summary_json  TEXT NOT NULL,                -- canonical JSON of the SessionSummary
    batch_id      TEXT NOT NULL,                -- the manifest it came in
    as_of         TEXT NOT NULL,                -- that manifest's created_at
    received_at   TEXT NOT NULL,
    PRIMARY KEY (device_id, session_id)
);
CREATE INDEX session_summaries_date ON session_summaries(date);
-- Which envelope seqs each session announced (from the summaries), to name the session of a gap.
CREATE TABLE session_envelopes (
    device_id     TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    session_id    TEXT NOT NULL,
    procedure_id  TEXT NOT NULL,
    disposition   TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX session_envelopes_session ON session_envelopes(session_id);
-- The highest chain head each device has announced (manifests over the network or in batch files).
CREATE TABLE device_heads (
    device_id     TEXT PRIMARY KEY,
    head_seq      INTEGER NOT NULL,
    head_hash     TEXT NOT NULL,
    batch_id      TEXT NOT NULL,
    seen_at       TEXT NOT NULL
);

-- ledger/: duplicates a clerk has decided on. A pair is stored once (dossier_a < dossier_b).
--   decision 'merge': dossier_b is the same request as dossier_a and leaves the work lists and exports;
--   decision 'keep': both are genuine (e.g. twins); the pair is no longer flagged.
CREATE TABLE duplicate_decisions (
    dossier_a   TEXT NOT NULL REFERENCES received_dossiers(dossier_id),
    dossier_b   TEXT NOT NULL REFERENCES received_dossiers(dossier_id),
    decision    TEXT NOT NULL CHECK (decision IN ('merge','keep')),
    kept        TEXT REFERENCES received_dossiers(dossier_id),   -- for 'merge': the dossier that stays
    note        TEXT,
    decided_by  TEXT NOT NULL REFERENCES users(id),
    decided_at  TEXT NOT NULL,
    PRIMARY KEY (dossier_a, dossier_b),
    CHECK (dossier_a < dossier_b),
    CHECK ((decision = 'merge') = (kept IS NOT NULL)),
    CHECK (kept IS NULL OR kept IN (dossier_a, dossier_b))
);
-- Dossiers merged into another: they leave the work lists, exports and report counts.
CREATE VIEW merged_away(dossier_id, kept) AS
    SELECT CASE WHEN kept = dossier_a THEN dossier_b ELSE dossier_a END, kept
    FROM duplicate_decisions WHERE decision = 'merge';

-- casework/: where each received dossier stands. One row per dossier, created on first read or change
-- (a dossier with no row is 'received'). Deadlines are computed in working days from received_on.
CREATE TABLE dossier_status (
    dossier_id      TEXT PRIMARY KEY REFERENCES received_dossiers(dossier_id),
    status          TEXT NOT NULL CHECK (status IN ('received','in_progress','needs_papers','registered',
                                                    'ready_for_pickup','handed_over','rejected')),
    received_on     TEXT NOT NULL,              -- YYYY-MM-DD the legal clock starts (local time)
    due_on          TEXT NOT NULL,              -- YYYY-MM-DD last working day allowed
    extended        INTEGER NOT NULL DEFAULT 0, -- the extended limit applies (verification needed)
    papers_json     TEXT,                       -- needs_papers: the papers asked for
    message         TEXT,                       -- a message for the villager (latest)
    result_json     TEXT,                       -- registered: result numbers [{kind, number}]
    reason          TEXT,                       -- rejected: why
    pickup_json     TEXT,                       -- ready_for_pickup: {place, from_date, until_date}
    assigned_to     TEXT REFERENCES users(id),
    updated_at      TEXT NOT NULL,
    updated_by      TEXT REFERENCES users(id),
    registered_at   TEXT,                       -- first time it reached 'registered'
    closed_at       TEXT                        -- handed over or rejected
);
CREATE INDEX dossier_status_by_status ON dossier_status(status, due_on);
CREATE INDEX dossier_status_due ON dossier_status(due_on) WHERE closed_at IS NULL;

-- casework/: the audit log. Append-only: the database itself refuses edits and deletions.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    actor_id    TEXT REFERENCES users(id),      -- NULL for the hub itself (e.g. intake)
    actor_name  TEXT NOT NULL,
    dossier_id  TEXT,                           -- NULL for events not about one dossier
    action      TEXT NOT NULL,                  -- e.g. status_changed, holiday_added, exported, merged
    from_status TEXT,
    to_status   TEXT,
    detail_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_dossier ON audit_log(dossier_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- casework/: public holidays and other days off, which deadlines skip (besides Saturdays and Sundays).
CREATE TABLE holidays (
    date      TEXT PRIMARY KEY,                 -- YYYY-MM-DD
    name      TEXT NOT NULL,
    added_by  TEXT REFERENCES users(id),
    added_at  TEXT NOT NULL
);

-- exports/: each export made, and which dossiers went to which downstream system. A dossier is offered
-- for a system until it has been exported there once; exporting it again is an explicit choice.
CREATE TABLE exports (
    id          TEXT PRIMARY KEY,               -- UUIDv7
    system      TEXT NOT NULL,                  -- birth_declaration | ct01 | tk1_ts | marital_status
    format      TEXT NOT NULL CHECK (format IN ('csv','xlsx')),
    rows        INTEGER NOT NULL,
    sha256      TEXT,                           -- of the file as sent (when complete)
    created_by  TEXT NOT NULL REFERENCES users(id),
    created_at  TEXT NOT NULL,
    completed_at TEXT
);
CREATE TABLE export_items (
    export_id   TEXT NOT NULL REFERENCES exports(id),
    dossier_id  TEXT NOT NULL REFERENCES received_dossiers(dossier_id),
    system      TEXT NOT NULL,
    PRIMARY KEY (export_id, dossier_id)
);
CREATE INDEX export_items_system ON export_items(system, dossier_id);

-- casework/ + office/: the received list pages by receipt time (newest first) and finds a receipt code by
-- prefix; work lists page by due day.
CREATE INDEX received_dossiers_received ON received_dossiers(received_at);
CREATE INDEX received_dossiers_receipt_code ON received_dossiers(receipt_code);
CREATE INDEX received_dossiers_device_received ON received_dossiers(device_id, received_at);

-- reports/: the Vietnamese day a dossier was sealed, so period reports read only that period's dossiers
-- (the expression must match reports::store::DAY).
CREATE INDEX received_dossiers_report_day ON received_dossiers(date(sealed_at, '+7 hours'));

-- ledger/: duplicate keys of each received dossier (filled at intake, and caught up on first use for
-- dossiers stored before): the same person's request captured twice shares a key. Keys are folded
-- (NFC, lower case, single spaces). key1: the subject's PIN (marital certificate) or child name + date
-- of birth + mother's name (3-in-1); key2: name + date of birth (marital certificate).
CREATE TABLE dup_keys (
    dossier_id    TEXT PRIMARY KEY REFERENCES received_dossiers(dossier_id),
    procedure_id  TEXT NOT NULL,
    key1          TEXT,
    key2          TEXT
);
CREATE INDEX dup_keys_key1 ON dup_keys(procedure_id, key1, dossier_id) WHERE key1 IS NOT NULL;
CREATE INDEX dup_keys_key2 ON dup_keys(procedure_id, key2, dossier_id) WHERE key2 IS NOT NULL;
CREATE INDEX received_envelopes_received_at ON received_envelopes(device_id, received_at);

-- casework/: "is this dossier merged away?" looked up from either side of a decision.
CREATE INDEX casework_duplicate_decisions_b ON duplicate_decisions(dossier_b);
-- casework/: the few dossiers that need no casework (refused, voiding), found without a scan.
CREATE INDEX casework_received_disposition ON received_dossiers(disposition);
