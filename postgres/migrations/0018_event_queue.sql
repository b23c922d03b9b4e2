-- 0018_event_queue: transactions that append audit events no longer lock the
-- chain's head until they commit, which made every such transaction wait for
-- the one before it to reach the disk. They queue their events here, in the
-- order they wrote them (seq); a sealer (SealEvents) takes the committed ones,
-- oldest first, holding the head, gives them the ids after it and their
-- hashes, and moves them into events. The engine seals after each commit
-- that queued events, and before the audit log is read.
CREATE TABLE event_queue (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at          TIMESTAMPTZ NOT NULL,
	actor       TEXT COLLATE "C" NOT NULL,
	action      TEXT COLLATE "C" NOT NULL,
	object_type TEXT COLLATE "C" NOT NULL,
	object_id   TEXT COLLATE "C" NOT NULL,
	reason      TEXT COLLATE "C" NOT NULL,
	data        JSONB,
	token       TEXT COLLATE "C" NOT NULL,
	issuer      TEXT COLLATE "C" NOT NULL
);
