-- 001: credentials, their secrets, sent warnings, the audit trail and the
-- token cache. Times are UTC seconds since the epoch.

CREATE TABLE credential (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	tenant        TEXT NOT NULL,
	client_id     TEXT NOT NULL,
	sender        TEXT NOT NULL,
	object_id     TEXT,
	test_to       TEXT,
	cloud         TEXT NOT NULL DEFAULT 'global'
	              CHECK (cloud IN ('global', 'usgov', 'dod', 'china')),
	authority_url TEXT,
	smtp_url      TEXT,
	graph_url     TEXT,
	created_at    INTEGER NOT NULL
);

CREATE TABLE secret (
	id               INTEGER PRIMARY KEY,
	credential_id    INTEGER NOT NULL
	                 REFERENCES credential (id) ON DELETE CASCADE,
	state            TEXT NOT NULL DEFAULT 'pending'
	                 CHECK (state IN ('pending', 'active', 'previous',
	                                  'retired', 'failed')),
	hint             TEXT NOT NULL,
	key_id           TEXT,
	note             TEXT,
	expires_at       INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	activated_at     INTEGER,
	ciphertext       BLOB NOT NULL,
	last_test_at     INTEGER,
	last_test_ok     INTEGER,
	last_test_detail TEXT,
	first_try_at     INTEGER,
	next_try_at      INTEGER
);
CREATE INDEX secret_by_credential ON secret (credential_id, state);
-- The database itself guarantees at most one active secret per credential.
CREATE UNIQUE INDEX secret_one_active ON secret (credential_id)
	WHERE state = 'active';

CREATE TABLE warning (
	secret_id INTEGER NOT NULL REFERENCES secret (id) ON DELETE CASCADE,
	threshold INTEGER NOT NULL,
	sent_at   INTEGER NOT NULL,
	PRIMARY KEY (secret_id, threshold)
);

CREATE TABLE event (
	id         INTEGER PRIMARY KEY,
	at         INTEGER NOT NULL,
	credential TEXT,
	secret_id  INTEGER,
	kind       TEXT NOT NULL,
	detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX event_by_credential ON event (credential, at);

CREATE TABLE token_cache (
	secret_id  INTEGER NOT NULL REFERENCES secret (id) ON DELETE CASCADE,
	scope      TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	ciphertext BLOB NOT NULL,
	PRIMARY KEY (secret_id, scope)
);

-- Key-check value and other single facts about the store.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);
