-- units/: Vietnam's administrative units (two tiers since 1 July 2025: provinces, then communes / wards /
-- special zones). Replaced as a whole by `hub units import` (one transaction); a built-in sample of the pilot
-- provinces is loaded while no dataset is stored. Other tables must not hold foreign keys to these: an import
-- may remove a unit.

-- The dataset currently stored (at most one row).
CREATE TABLE admin_unit_dataset (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    name         TEXT NOT NULL,              -- file name, e.g. units-2026-07-25.json
    dataset_date TEXT,                       -- YYYY-MM-DD found in the file name, if any
    source       TEXT NOT NULL CHECK (source IN ('sample','import')),
    sha256       TEXT NOT NULL,              -- of the file's bytes
    provinces    INTEGER NOT NULL,
    units        INTEGER NOT NULL,
    imported_at  TEXT NOT NULL
);

CREATE TABLE admin_provinces (
    code         TEXT PRIMARY KEY CHECK (length(code) = 2),
    name         TEXT NOT NULL,              -- NFC, e.g. Khánh Hoà
    name_en      TEXT NOT NULL,
    full_name    TEXT NOT NULL,              -- e.g. Tỉnh Khánh Hoà
    full_name_en TEXT NOT NULL,
    code_name    TEXT NOT NULL,
    search_key   TEXT NOT NULL               -- units::key::search_key(name)
);

CREATE TABLE admin_units (
    code          TEXT PRIMARY KEY CHECK (length(code) = 5),
    province_code TEXT NOT NULL REFERENCES admin_provinces(code),
    name          TEXT NOT NULL,             -- NFC, e.g. Bù Gia Mập
    name_en       TEXT NOT NULL,
    full_name     TEXT NOT NULL,             -- e.g. Xã Bù Gia Mập
    full_name_en  TEXT NOT NULL,
    code_name     TEXT NOT NULL,
    search_key    TEXT NOT NULL,             -- search_key(name): "bu gia map"
    search_text   TEXT NOT NULL              -- keys of full_name, full_name_en and the province's full_name
);
CREATE INDEX admin_units_by_province ON admin_units(province_code, search_key);
