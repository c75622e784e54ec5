-- 009: rotation's loose ends.
--
-- made_by_rotation marks a client secret or certificate that a rotation
-- made in Entra: when it ends superseded (another one was switched to
-- while it waited) or failed, secretwatch removes it from Entra again,
-- once (its row then becomes 'revoked'). Rows from closed rotations are
-- marked here.
--
-- lifetime_max is the longest lifetime Entra accepted for a credential's
-- new client secret after an app management policy refused a longer one
-- without saying its limit, learned by asking for shorter ones; later
-- rotations ask for no more. 0: none learned.
ALTER TABLE secret ADD COLUMN made_by_rotation INTEGER NOT NULL DEFAULT 0;
UPDATE secret SET made_by_rotation = 1 WHERE id IN
	(SELECT secret_id FROM rotation WHERE state = 'done'
	 AND secret_id IS NOT NULL);
ALTER TABLE credential ADD COLUMN lifetime_max INTEGER NOT NULL DEFAULT 0;
