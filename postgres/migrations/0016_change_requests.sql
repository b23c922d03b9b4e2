-- 0016_change_requests: with settings.change_approval on, an admin's change
-- to settings, policies, profiles, connectors or webhooks waits here for
-- another admin.
CREATE TABLE change_requests (
	id         BIGINT PRIMARY KEY,
	state      TEXT COLLATE "C" NOT NULL,
	author     TEXT COLLATE "C" NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	data       JSONB NOT NULL
);
CREATE INDEX change_requests_state ON change_requests (state, id);
