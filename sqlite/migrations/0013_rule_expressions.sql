-- Rules on attributes (SPEC section 5). profile_fields indexes which
-- profiles' expressions read a user field, so a change of that field finds
-- the profiles it can affect (as profile_rules does for entitlements).
-- users.rev counts the changes of a user's fields that an expression can
-- read: a sync keeps each expression's matches and evaluates again only the
-- users whose rev moved.
CREATE TABLE profile_fields (
	field      TEXT NOT NULL,
	profile_id TEXT NOT NULL,
	PRIMARY KEY (field, profile_id)
) WITHOUT ROWID;
CREATE INDEX profile_fields_profile ON profile_fields (profile_id);

ALTER TABLE users ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
-- A sync reads every user's rev in the order of ids: from this index alone.
CREATE INDEX users_id_rev ON users (id, rev);
CREATE TRIGGER users_rev AFTER UPDATE ON users
WHEN OLD.rev IS NEW.rev AND (OLD.email IS NOT NEW.email OR OLD.name IS NOT NEW.name OR OLD.manager IS NOT NEW.manager
	OR OLD.department IS NOT NEW.department OR OLD.title IS NOT NEW.title OR OLD.location IS NOT NEW.location
	OR OLD.employment_type IS NOT NEW.employment_type OR OLD.start_date IS NOT NEW.start_date
	OR OLD.end_date IS NOT NEW.end_date OR OLD.status IS NOT NEW.status OR OLD.attributes IS NOT NEW.attributes)
BEGIN
	UPDATE users SET rev = OLD.rev + 1 WHERE id = NEW.id;
END;
