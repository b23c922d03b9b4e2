-- 0009_event_chain: the audit log becomes a hash chain. Each event carries
-- hash, the SHA-256 of the previous event's hash and the event's canonical
-- JSON (roster.ChainHash); event_chain holds the chain's head, the last
-- event and its hash. A transaction that appends events locks the head
-- (SELECT ... FOR UPDATE), takes the ids after it, and moves it: replicas
-- writing at once append one after the other, and ids follow the chain.
-- The events written before this version are chained by a Go step after
-- the last migration, in id order (see hashEvents).
ALTER TABLE events ADD COLUMN hash BYTEA;
CREATE TABLE event_chain (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	last_id   BIGINT NOT NULL,
	last_hash BYTEA NOT NULL
);
INSERT INTO event_chain (id, last_id, last_hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
