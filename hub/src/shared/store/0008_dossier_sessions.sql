-- capture/ and seal/: every dossier belongs to the outreach session that was open when its draft was
-- started (NULL when none was: e.g. captured at the commune office). The sealed dossier carries it as
-- `session_id` (protocol §3.1); the session report counts dossiers by it.
ALTER TABLE drafts ADD COLUMN session_id TEXT REFERENCES outreach_sessions(id);
ALTER TABLE receipts ADD COLUMN session_id TEXT REFERENCES outreach_sessions(id);
CREATE INDEX receipts_session ON receipts(session_id);
