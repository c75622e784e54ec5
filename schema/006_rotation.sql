-- 006: automatic rotation through Microsoft Graph.
--
-- A credential opts in with rotate = 1 (cred add/set --rotate auto).
-- A rotation starts with an intent row, committed before addPassword is
-- called, and is closed by the transaction that stores the new secret:
-- an intent still open later means a process died in between, and that
-- Entra may hold a secret named display_name whose value is lost. At most
-- one open intent per credential (the partial unique index).
--
-- A secret removed from Entra by secretwatch after its grace period
-- becomes 'revoked' (its ciphertext wiped); revoked_at says when. SQLite
-- cannot change a CHECK constraint, so the secret table is rebuilt with
-- the new state (store.c runs migrations with foreign keys off, as the
-- SQLite documentation's procedure asks, and checks them before commit).
ALTER TABLE credential ADD COLUMN rotate INTEGER NOT NULL DEFAULT 0;

CREATE TABLE rotation (
	id            INTEGER PRIMARY KEY,
	credential_id INTEGER NOT NULL
	              REFERENCES credential (id) ON DELETE CASCADE,
	display_name  TEXT NOT NULL UNIQUE,
	requested_end INTEGER NOT NULL,
	created_at    INTEGER NOT NULL,
	state         TEXT NOT NULL DEFAULT 'open'
	              CHECK (state IN ('open', 'done', 'abandoned')),
	closed_at     INTEGER,
	secret_id     INTEGER REFERENCES secret (id) ON DELETE SET NULL,
	key_id        TEXT
);
CREATE UNIQUE INDEX rotation_one_open ON rotation (credential_id)
	WHERE state = 'open';

CREATE TABLE secret_new (
	id               INTEGER PRIMARY KEY,
	credential_id    INTEGER NOT NULL
	                 REFERENCES credential (id) ON DELETE CASCADE,
	state            TEXT NOT NULL DEFAULT 'pending'
	                 CHECK (state IN ('pending', 'active', 'previous',
	                                  'retired', 'failed', 'revoked')),
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
	next_try_at      INTEGER,
	removed_in_entra_at INTEGER NOT NULL DEFAULT 0,
	revoked_at       INTEGER
);
INSERT INTO secret_new (id, credential_id, state, hint, key_id, note,
	expires_at, created_at, activated_at, ciphertext, last_test_at,
	last_test_ok, last_test_detail, first_try_at, next_try_at,
	removed_in_entra_at)
	SELECT id, credential_id, state, hint, key_id, note, expires_at,
	created_at, activated_at, ciphertext, last_test_at, last_test_ok,
	last_test_detail, first_try_at, next_try_at, removed_in_entra_at
	FROM secret;
DROP TABLE secret;
ALTER TABLE secret_new RENAME TO secret;
CREATE INDEX secret_by_credential ON secret (credential_id, state);
CREATE UNIQUE INDEX secret_one_active ON secret (credential_id)
	WHERE state = 'active';
-- What the credential view reads of rotations and deploys, per credential.
CREATE INDEX rotation_by_credential ON rotation (credential_id, state);
CREATE INDEX outbox_deploy ON outbox (secret_id) WHERE kind = 'deploy';
