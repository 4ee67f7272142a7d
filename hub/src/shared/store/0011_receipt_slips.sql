-- seal/: what the printed slip needs beyond the receipt, none of it personal data.
-- `lang`: the villager's language, chosen by the team at capture (the slip prints it first, then
-- Vietnamese; Vietnamese alone when it is `vi`). `originals`: a JSON array of the document roles whose
-- original applies to this dossier, worked out from the answers when sealing (the last moment the hub
-- holds them in plaintext). Receipts sealed before this table have no row: their slip lists every paper
-- with its condition, as it did.
CREATE TABLE receipt_slips (
    dossier_id TEXT PRIMARY KEY REFERENCES receipts(dossier_id),
    lang       TEXT NOT NULL,
    originals  TEXT NOT NULL
);
