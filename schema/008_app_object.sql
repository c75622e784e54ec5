-- 008: the application's object ID (not the client ID, not the service
-- principal's object ID), learned from Graph when a certificate is
-- uploaded. An app rolling its own certificate with addKey names it as
-- the issuer of the proof-of-possession JWT, and with no directory
-- permission it cannot read it from Graph then. '' when not known.
ALTER TABLE credential ADD COLUMN app_object_id TEXT NOT NULL DEFAULT '';
