-- A user's rev becomes a commit-ordered global count (SPEC section 5, rules
-- on attributes): every insert of a user, and every change of a field an
-- expression can read, takes the next value of user_rev, so a sync finds
-- the users changed since it last looked with rev > the largest it saw,
-- from users_rev, instead of reading every user's rev. Users are never
-- deleted.
--
-- Commit order: before taking a value, the trigger takes a transaction-level
-- advisory lock (held until commit or rollback), so no two transactions give
-- revs at once, and a transaction's revs are above those of every
-- transaction that committed before it took the lock; PostgreSQL releases a
-- transaction's locks only once its commit is visible. A snapshot that sees
-- some rev thus sees every smaller one that ever commits. The sequence is
-- not rolled back: a rev is never given twice.
CREATE SEQUENCE user_rev;
DO $$
DECLARE n BIGINT;
BEGIN
	SELECT count(*) INTO n FROM users;
	IF n > 0 THEN
		PERFORM setval('user_rev', n);
	END IF;
END $$;

-- The users there are, numbered 1, 2, ... in the order of their ids (the
-- trigger keeps a rev set by the statement when no field changes).
UPDATE users SET rev = numbered.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) AS numbered
WHERE numbered.id = users.id;
CREATE INDEX users_rev_order ON users (rev);

-- 0x726f737465727576 is "rosteruv": the advisory lock of user revs.
CREATE OR REPLACE FUNCTION users_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' OR (OLD.email, OLD.name, OLD.manager, OLD.department, OLD.title, OLD.location, OLD.employment_type,
		OLD.start_date, OLD.end_date, OLD.status, OLD.attributes)
		IS DISTINCT FROM (NEW.email, NEW.name, NEW.manager, NEW.department, NEW.title, NEW.location,
		NEW.employment_type, NEW.start_date, NEW.end_date, NEW.status, NEW.attributes) THEN
		PERFORM pg_advisory_xact_lock(8245936386494068086);
		NEW.rev := nextval('user_rev');
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER users_rev_insert BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION users_rev();
