-- outreach/: outreach sessions, villagers' tickets, services rendered.
-- (The login-session table is `sessions`; these are `outreach_*`.)

CREATE TABLE outreach_sessions (
    id           TEXT PRIMARY KEY,                 -- UUIDv7
    hamlet       TEXT NOT NULL,                    -- hamlet / village name
    venue_kind   TEXT NOT NULL CHECK (venue_kind IN ('cultural_house','school','other')),
    venue_name   TEXT NOT NULL,
    commune_code TEXT,                             -- 5-digit unit code, checked against admin units
    date         TEXT NOT NULL,                    -- YYYY-MM-DD, Asia/Ho_Chi_Minh
    opened_by    TEXT NOT NULL REFERENCES users(id),
    opened_at    TEXT NOT NULL,
    closed_at    TEXT,
    closed_by    TEXT REFERENCES users(id),
    next_number  INTEGER NOT NULL DEFAULT 1        -- the next ticket number; never decreases
);
-- At most one open session at a time.
CREATE UNIQUE INDEX outreach_sessions_one_open
    ON outreach_sessions (coalesce(closed_at, 'open')) WHERE closed_at IS NULL;

CREATE TABLE outreach_team (
    session_id TEXT NOT NULL REFERENCES outreach_sessions(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (session_id, user_id)
);

CREATE TABLE outreach_tickets (
    id              TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL REFERENCES outreach_sessions(id),
    number          INTEGER NOT NULL,
    name            TEXT,                          -- personal data: never logged, never on the board; cleared at close
    source          TEXT NOT NULL CHECK (source IN ('desk','self_service')),
    status          TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting','called','done','no_show')),
    desk            TEXT CHECK (desk IN ('civil_status','police','telecom','guidance')),
    created_at      TEXT NOT NULL,
    created_unix    INTEGER NOT NULL,
    first_called_unix INTEGER,                     -- wait time = first call − creation
    called_at       TEXT,
    called_unix     INTEGER,                       -- last call, orders the board
    finished_at     TEXT,
    recalls         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (session_id, number)
);
CREATE INDEX outreach_tickets_queue ON outreach_tickets (session_id, status, number);

-- Idempotency keys of ticket-issuing and desk-calling requests: a retried request answers the same ticket.
CREATE TABLE outreach_idempotency (
    key        TEXT PRIMARY KEY,
    ticket_id  TEXT REFERENCES outreach_tickets(id),
    created_at TEXT NOT NULL
);

CREATE TABLE outreach_services (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES outreach_sessions(id),
    desk         TEXT NOT NULL CHECK (desk IN ('civil_status','police','telecom','guidance')),
    kind         TEXT NOT NULL CHECK (kind IN ('vneid_level2_activated','sim_registered','account_created',
                                               'guidance_given','dossier_captured','other')),
    note         TEXT,
    ticket_id    TEXT REFERENCES outreach_tickets(id),
    consent      INTEGER NOT NULL DEFAULT 0 CHECK (consent IN (0, 1)),
    sex          TEXT CHECK (sex IN ('male','female','other')),
    age_band     TEXT CHECK (age_band IN ('0-5','6-14','15-17','18-35','36-59','60+')),
    ethnicity    TEXT,                             -- name in the code system below
    ethnicity_code TEXT,
    ethnicity_system TEXT,
    recorded_by  TEXT NOT NULL REFERENCES users(id),
    recorded_at  TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    -- Demographic facts only with the villager's consent.
    CHECK (consent = 1 OR (sex IS NULL AND age_band IS NULL AND ethnicity IS NULL))
);
CREATE INDEX outreach_services_session ON outreach_services (session_id, recorded_by, recorded_at);
