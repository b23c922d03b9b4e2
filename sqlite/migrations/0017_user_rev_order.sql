-- A user's rev becomes a commit-ordered global count (SPEC section 5, rules
-- on attributes): every insert of a user, and every change of a field an
-- expression can read, takes the next value of user_rev. SQLite has one
-- writer at a time, so the values are given in commit order, and a sync
-- finds the users changed since it last looked with rev > the largest it
-- saw, from users_rev, instead of reading every user's rev. Users are never
-- deleted.
CREATE TABLE user_rev (
	one INTEGER PRIMARY KEY CHECK (one = 1),
	rev INTEGER NOT NULL
);
INSERT INTO user_rev (one, rev) SELECT 1, count(*) FROM users;

DROP TRIGGER users_rev;
DROP INDEX users_id_rev;
-- The users there are, numbered 1, 2, ... in the order of their ids.
WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users)
UPDATE users SET rev = numbered.n FROM numbered WHERE numbered.id = users.id;
CREATE INDEX users_rev ON users (rev);

CREATE TRIGGER users_rev_insert AFTER INSERT ON users
BEGIN
	UPDATE user_rev SET rev = rev + 1;
	UPDATE users SET rev = (SELECT rev FROM user_rev) WHERE id = NEW.id;
END;
CREATE TRIGGER users_rev AFTER UPDATE ON users
WHEN OLD.rev IS NEW.rev AND (OLD.email IS NOT NEW.email OR OLD.name IS NOT NEW.name OR OLD.manager IS NOT NEW.manager
	OR OLD.department IS NOT NEW.department OR OLD.title IS NOT NEW.title OR OLD.location IS NOT NEW.location
	OR OLD.employment_type IS NOT NEW.employment_type OR OLD.start_date IS NOT NEW.start_date
	OR OLD.end_date IS NOT NEW.end_date OR OLD.status IS NOT NEW.status OR OLD.attributes IS NOT NEW.attributes)
BEGIN
	UPDATE user_rev SET rev = rev + 1;
	UPDATE users SET rev = (SELECT rev FROM user_rev) WHERE id = NEW.id;
END;
