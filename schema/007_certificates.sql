-- 007: certificate credentials. A row of kind 'certificate' keeps the
-- private key (DER) in ciphertext, encrypted like a secret's value, and
-- the certificate (DER, public) as is. assertion_alg: the client-assertion
-- signature the token endpoint last accepted for it (PS256 or RS256);
-- NULL until one was accepted.
ALTER TABLE secret ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret';
ALTER TABLE secret ADD COLUMN certificate BLOB;
ALTER TABLE secret ADD COLUMN assertion_alg TEXT;
