-- A profile now keeps its last sync in figures (SyncSummary); drop the old
-- form, which listed every user. The next sync records the new one.
UPDATE profiles SET sync = json_remove(sync, '$.last');
