-- 0006_members_cover: the members of many profiles, read for planning their
-- syncs together (Tx.ScanSync), come from this index alone, grouped by
-- profile, source and time of joining, without a lookup of each row.
CREATE INDEX members_cover ON members (profile_id, source, since, user_id);
