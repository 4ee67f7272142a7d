-- units/: what an import replaced. `hub units import` used to drop the units and provinces a newer list no
-- longer has, and overwrite renamed ones; a dossier captured under an older code then showed a bare code.
-- Now every entry an import retires or renames is kept here with the first day it no longer applied (the
-- new list's effective date), so a code can be named as of any date (`units::store::lookup`). Rows are only
-- ever added, never changed or deleted. The names the kit knows from before its built-in list (e.g. the
-- communes of Đồng Nai that became wards on 30 April 2026) are compiled in (`units::history`), not stored.

CREATE TABLE admin_unit_history (
    code           TEXT NOT NULL CHECK (length(code) = 5),
    valid_until    TEXT NOT NULL,            -- YYYY-MM-DD: the first day this entry no longer applied
    province_code  TEXT NOT NULL,            -- the province it was in (no foreign key: it may be gone too)
    name           TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    full_name      TEXT NOT NULL,            -- e.g. Xã Trảng Bom
    full_name_en   TEXT NOT NULL,
    code_name      TEXT NOT NULL,
    retired        INTEGER NOT NULL CHECK (retired IN (0, 1)), -- 1: the code left the list; 0: renamed/moved
    successor_code TEXT,                     -- for a retired code: the unit that took it over, if known
    replaced_by    TEXT NOT NULL,            -- name of the dataset that replaced this entry
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (code, valid_until)
);

CREATE TABLE admin_province_history (
    code           TEXT NOT NULL CHECK (length(code) = 2),
    valid_until    TEXT NOT NULL,
    name           TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    full_name      TEXT NOT NULL,            -- e.g. Tỉnh Đồng Nai
    full_name_en   TEXT NOT NULL,
    retired        INTEGER NOT NULL CHECK (retired IN (0, 1)),
    replaced_by    TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (code, valid_until)
);

-- The date the stored list took effect (its file-name date or `--effective`); NULL for lists stored before
-- this migration (their `dataset_date` stands in).
ALTER TABLE admin_unit_dataset ADD COLUMN effective_date TEXT;
