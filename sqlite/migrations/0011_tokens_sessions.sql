-- 0011_tokens_sessions: API tokens get a public id (random, not derived from
-- the secret), a name, their issuer, an expiry, their last use and a
-- revocation; console sessions move into the database; events name the
-- token an actor acted with and its issuer.
CREATE TABLE tokens_new (
	id           TEXT PRIMARY KEY,
	hash         TEXT NOT NULL UNIQUE,
	user_id      TEXT NOT NULL,
	issuer       TEXT NOT NULL,
	name         TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER,
	last_used_at INTEGER,
	revoked_at   INTEGER
);
-- Tokens issued before have no issuer on record: the bootstrap token's is
-- its user, and so is every other's (an admin could issue one for anyone).
INSERT INTO tokens_new (id, hash, user_id, issuer, name, created_at)
	SELECT 'tok_' || lower(hex(randomblob(8))), hash, user_id, user_id, '', created_at FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_new RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id);
CREATE INDEX tokens_issuer ON tokens (issuer);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,
	hash         TEXT NOT NULL UNIQUE,
	user_id      TEXT NOT NULL,
	method       TEXT NOT NULL,
	token_id     TEXT NOT NULL,
	issuer       TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_token ON sessions (token_id);
CREATE INDEX sessions_last_used ON sessions (last_used_at);

ALTER TABLE events ADD COLUMN token TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
