-- Refusals, corrections and cancellations (protocol §3.1.1). seal/: what each sealed dossier does and the
-- later dossier that replaced or cancelled it. office/: the same, as received.
ALTER TABLE receipts ADD COLUMN disposition TEXT NOT NULL DEFAULT 'new';
ALTER TABLE receipts ADD COLUMN refers_to TEXT;
ALTER TABLE receipts ADD COLUMN replaced_by TEXT;
ALTER TABLE received_dossiers ADD COLUMN disposition TEXT NOT NULL DEFAULT 'new';
ALTER TABLE received_dossiers ADD COLUMN refers_to TEXT;
ALTER TABLE received_dossiers ADD COLUMN reason TEXT;
CREATE INDEX received_dossiers_by_refers_to ON received_dossiers(refers_to);
