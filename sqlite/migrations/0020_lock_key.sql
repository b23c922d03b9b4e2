-- 0020_lock_key: PostgreSQL computes the keys of its advisory locks in SQL.
-- SQLite, one writer at a time, takes no such locks; the version exists so
-- that both stores keep the same numbering.
SELECT 1;
