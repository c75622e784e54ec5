-- 010: the tenant sweep. A credential with sweep = 1 is the reader of
-- its tenant: it lists the tenant's applications and service principals
-- through Graph and keeps their credentials' metadata (never a value) in
-- inventory, one row per credential (a SAML token-signing certificate's
-- three rows in Entra are one here). A sweep row is written when a
-- sweep starts and finished only when every page of both collections
-- was read: only then are the rows it did not see taken out, so an
-- interrupted sweep never reports half a tenant as removed.
ALTER TABLE credential ADD COLUMN sweep INTEGER NOT NULL DEFAULT 0;

CREATE TABLE sweep (
	id            INTEGER PRIMARY KEY,
	credential_id INTEGER NOT NULL
	              REFERENCES credential (id) ON DELETE CASCADE,
	started_at    INTEGER NOT NULL,
	finished_at   INTEGER,
	state         TEXT NOT NULL DEFAULT 'running'
	              CHECK (state IN ('running', 'done', 'failed')),
	objects       INTEGER NOT NULL DEFAULT 0,
	items         INTEGER NOT NULL DEFAULT 0,
	requests      INTEGER NOT NULL DEFAULT 0,
	error         TEXT
);
CREATE INDEX sweep_by_credential ON sweep (credential_id, state);

CREATE TABLE inventory (
	id            INTEGER PRIMARY KEY,
	credential_id INTEGER NOT NULL
	              REFERENCES credential (id) ON DELETE CASCADE,
	object_kind   TEXT NOT NULL
	              CHECK (object_kind IN ('application', 'servicePrincipal')),
	object_id     TEXT NOT NULL,
	app_id        TEXT NOT NULL,
	display_name  TEXT NOT NULL,
	key_id        TEXT NOT NULL,
	kind          TEXT NOT NULL CHECK (kind IN ('secret', 'certificate')),
	usage         TEXT NOT NULL DEFAULT '',
	name          TEXT NOT NULL DEFAULT '',
	hint          TEXT NOT NULL DEFAULT '',
	starts_at     INTEGER NOT NULL DEFAULT 0,
	expires_at    INTEGER NOT NULL,
	microsoft     INTEGER NOT NULL DEFAULT 0,
	saml          INTEGER NOT NULL DEFAULT 0,
	owners        INTEGER,          -- the object's owners; NULL: not read
	owners_at     INTEGER,
	seen_sweep    INTEGER NOT NULL,
	first_seen_at INTEGER NOT NULL,
	UNIQUE (credential_id, object_id, key_id)
);
CREATE INDEX inventory_by_expiry ON inventory (credential_id, expires_at);

-- Thresholds alerted for, per inventory row: as warning is for secrets.
CREATE TABLE inventory_warning (
	item_id   INTEGER NOT NULL REFERENCES inventory (id) ON DELETE CASCADE,
	threshold INTEGER NOT NULL,
	sent_at   INTEGER NOT NULL,
	PRIMARY KEY (item_id, threshold)
);

-- Finding the secrets secretwatch manages among a tenant's.
CREATE INDEX secret_by_key_id ON secret (key_id);
