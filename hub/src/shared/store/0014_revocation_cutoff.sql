-- office/devices: revocation from a sequence number (issue 19). A field device reported lost or stolen is
-- revoked with the first sequence number no longer accepted: envelopes below it that chain correctly are
-- still accepted, those at or above it are quarantined (`device_revoked`). NULL with status 'revoked' is a
-- full revocation (every upload refused), as before this column existed.
ALTER TABLE trusted_peers ADD COLUMN revoked_from_seq INTEGER
    CHECK (revoked_from_seq IS NULL OR revoked_from_seq >= 1);
