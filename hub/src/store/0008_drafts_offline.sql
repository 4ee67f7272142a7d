-- capture/: drafts linked to sessions, for offline editing
SELECT 1;
