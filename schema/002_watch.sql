-- 002: what the watchdog cycle needs to survive a crash: deliveries that
-- are still owed (alerts per channel, deploy hooks), and per-credential
-- counters for the metrics.

CREATE TABLE outbox (
	id            INTEGER PRIMARY KEY,
	created_at    INTEGER NOT NULL,
	kind          TEXT NOT NULL CHECK (kind IN ('alert', 'deploy')),
	channel       TEXT,     -- alert channel; NULL for a deploy
	credential_id INTEGER NOT NULL
	              REFERENCES credential (id) ON DELETE CASCADE,
	secret_id     INTEGER REFERENCES secret (id) ON DELETE CASCADE,
	payload       TEXT NOT NULL DEFAULT '{}', -- alert fields; never a secret
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_at       INTEGER NOT NULL,
	done_at       INTEGER,
	failed_at     INTEGER,
	last_error    TEXT
);
CREATE INDEX outbox_due ON outbox (next_at)
	WHERE done_at IS NULL AND failed_at IS NULL;

ALTER TABLE credential ADD COLUMN last_check_at INTEGER;
ALTER TABLE credential ADD COLUMN switches INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credential ADD COLUMN test_failures INTEGER NOT NULL DEFAULT 0;
