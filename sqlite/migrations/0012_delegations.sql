-- 0012_delegations: a person may name someone to decide in their place until
-- a time (roster user delegate): one delegation per user, replaced when set
-- again.
CREATE TABLE delegations (
	user_id  TEXT PRIMARY KEY,
	delegate TEXT NOT NULL,
	until    INTEGER NOT NULL,
	set_by   TEXT NOT NULL,
	set_at   INTEGER NOT NULL
);
CREATE INDEX delegations_until ON delegations (until);
