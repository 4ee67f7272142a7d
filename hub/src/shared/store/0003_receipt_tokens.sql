-- seal/: receipts made offline from this hub's id and its own receipt sequence (protocol §6), with the
-- signed QR payload any paired hub can verify. Rows sealed before this migration keep their random codes
-- and have neither.
ALTER TABLE receipts ADD COLUMN receipt_seq INTEGER;
ALTER TABLE receipts ADD COLUMN qr TEXT;
CREATE UNIQUE INDEX receipts_by_receipt_seq ON receipts(receipt_seq);
