-- 0007_events_rowid: events drop AUTOINCREMENT. Events are never deleted, so
-- a plain INTEGER PRIMARY KEY hands out the same increasing ids, without the
-- extra write to sqlite_sequence that every append paid (about 40% of an
-- event's insert: a sync that creates many tasks writes several events each).
CREATE TABLE events_new (
	id          INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	data        TEXT
);
INSERT INTO events_new (id, at, actor, action, object_type, object_id, reason, data)
	SELECT id, at, actor, action, object_type, object_id, reason, data FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_object ON events (object_type, object_id, id);
CREATE INDEX events_action ON events (action, id);
CREATE INDEX events_actor ON events (actor, id);
CREATE INDEX events_at ON events (at);
DELETE FROM sqlite_sequence WHERE name = 'events';
