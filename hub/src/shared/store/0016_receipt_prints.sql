-- Receipts printed on thermal printers (issue 21, field/thermal): when, how (the hub's USB printer or a
-- team phone over Bluetooth), on which profile, and the answer given, so a retried request with the same
-- Idempotency-Key answers it again instead of printing twice. No personal data.
CREATE TABLE receipt_prints (
    id INTEGER PRIMARY KEY,
    receipt_code TEXT NOT NULL,
    printed_at TEXT NOT NULL,
    via TEXT NOT NULL CHECK (via IN ('hub', 'phone')),
    profile TEXT NOT NULL,
    device TEXT,
    length_mm REAL NOT NULL,
    bytes INTEGER NOT NULL,
    idem_key TEXT UNIQUE,
    answer TEXT NOT NULL
);
CREATE INDEX receipt_prints_by_code ON receipt_prints (receipt_code);
