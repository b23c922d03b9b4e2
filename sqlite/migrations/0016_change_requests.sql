-- 0016_change_requests: with settings.change_approval on, an admin's change
-- to settings, policies, profiles, connectors or webhooks waits here for
-- another admin.
CREATE TABLE change_requests (
	id         INTEGER PRIMARY KEY,
	state      TEXT NOT NULL,
	author     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX change_requests_state ON change_requests (state, id);
