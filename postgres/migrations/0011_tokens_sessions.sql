-- 0011_tokens_sessions: API tokens get a public id (random, not derived from
-- the secret), a name, their issuer, an expiry, their last use and a
-- revocation; console sessions move into the database; events name the
-- token an actor acted with and its issuer.
ALTER TABLE tokens
	ADD COLUMN id           TEXT COLLATE "C",
	ADD COLUMN issuer       TEXT COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN name         TEXT COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN expires_at   TIMESTAMPTZ,
	ADD COLUMN last_used_at TIMESTAMPTZ,
	ADD COLUMN revoked_at   TIMESTAMPTZ;
-- Tokens issued before have no issuer on record: the bootstrap token's is
-- its user, and so is every other's (an admin could issue one for anyone).
UPDATE tokens SET id = 'tok_' || substr(replace(gen_random_uuid()::text, '-', ''), 1, 16), issuer = user_id;
ALTER TABLE tokens ALTER COLUMN id SET NOT NULL;
ALTER TABLE tokens DROP CONSTRAINT tokens_pkey;
ALTER TABLE tokens ADD PRIMARY KEY (id);
CREATE UNIQUE INDEX tokens_hash ON tokens (hash);
CREATE INDEX tokens_issuer ON tokens (issuer);

CREATE TABLE sessions (
	id           TEXT COLLATE "C" PRIMARY KEY,
	hash         TEXT COLLATE "C" NOT NULL UNIQUE,
	user_id      TEXT COLLATE "C" NOT NULL,
	method       TEXT COLLATE "C" NOT NULL,
	token_id     TEXT COLLATE "C" NOT NULL,
	issuer       TEXT COLLATE "C" NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	last_used_at TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_token ON sessions (token_id);
CREATE INDEX sessions_last_used ON sessions (last_used_at);

ALTER TABLE events
	ADD COLUMN token  TEXT COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN issuer TEXT COLLATE "C" NOT NULL DEFAULT '';
