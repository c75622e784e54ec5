-- 003: exactly-once delivery. A deliverer claims an owed delivery by
-- setting claimed_until in the same statement that checks nobody else
-- holds it; the claim lapses by itself if its holder dies.
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER;
