-- 004: token files. A credential may opt in to a file holding its current
-- access token (for Postfix); the watchdog remembers what it last wrote
-- there (the secret and the token's expiry) and when a failed refresh
-- that left no valid token was alerted, so that it is alerted once per
-- failure streak.
ALTER TABLE credential ADD COLUMN token_file INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credential ADD COLUMN token_file_secret_id INTEGER;
ALTER TABLE credential ADD COLUMN token_file_expires_at INTEGER;
ALTER TABLE credential ADD COLUMN token_file_failed_at INTEGER;
