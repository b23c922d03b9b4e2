-- 0006_members_cover: the members of many profiles, read for planning their
-- syncs together (Tx.ScanSync), come from this index alone (an index-only
-- scan), as in the SQLite driver's 0006.
CREATE INDEX members_cover ON members (profile_id, source, since, user_id);
