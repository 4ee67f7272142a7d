-- auth/: account lifecycle (issue 18, finding 7). An admin's password reset sets this flag; the user's own
-- password change clears it. The app sends such a user to "change my password" before anything else.
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;
