-- 0007_events_rowid: SQLite's events table drops AUTOINCREMENT in this
-- version. PostgreSQL's events take their ids from a sequence, which needs no
-- change; the version exists so that both stores keep the same numbering.
SELECT 1;
