-- 0018_event_queue: PostgreSQL queues audit events for a sealer to chain.
-- SQLite, one writer at a time, chains them as they are written; the version
-- exists so that both stores keep the same numbering.
SELECT 1;
