-- 005: reconciling with Entra (secretwatch sync). When a stored secret was
-- found missing from the app's passwordCredentials, and the alert for it
-- was queued: set once, by a compare-and-set, so that it is alerted once.
ALTER TABLE secret ADD COLUMN removed_in_entra_at INTEGER NOT NULL DEFAULT 0;
