-- 0009_event_chain: the audit log becomes a hash chain. Each event carries
-- hash, the SHA-256 of the previous event's hash and the event's canonical
-- JSON (roster.ChainHash); event_chain holds the chain's head, the last
-- event and its hash, which each transaction that appends events reads and
-- moves. The events written before this version are chained by a Go step
-- after the last migration, in id order (see hashEvents).
ALTER TABLE events ADD COLUMN hash BLOB;
CREATE TABLE event_chain (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	last_id   INTEGER NOT NULL,
	last_hash BLOB NOT NULL
);
INSERT INTO event_chain (id, last_id, last_hash) VALUES (1, 0, zeroblob(32));
