-- 0012_delegations: a person may name someone to decide in their place until
-- a time (roster user delegate): one delegation per user, replaced when set
-- again.
CREATE TABLE delegations (
	user_id  TEXT COLLATE "C" PRIMARY KEY,
	delegate TEXT COLLATE "C" NOT NULL,
	until    TIMESTAMPTZ NOT NULL,
	set_by   TEXT COLLATE "C" NOT NULL,
	set_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX delegations_until ON delegations (until);
