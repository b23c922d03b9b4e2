-- Rules on attributes (SPEC section 5). profile_fields indexes which
-- profiles' expressions read a user field, so a change of that field finds
-- the profiles it can affect (as profile_rules does for entitlements).
-- users.rev counts the changes of a user's fields that an expression can
-- read: a sync keeps each expression's matches and evaluates again only the
-- users whose rev moved.
CREATE TABLE profile_fields (
	field      TEXT COLLATE "C" NOT NULL,
	profile_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (field, profile_id)
);
CREATE INDEX profile_fields_profile ON profile_fields (profile_id);

ALTER TABLE users ADD COLUMN rev BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION users_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF (OLD.email, OLD.name, OLD.manager, OLD.department, OLD.title, OLD.location, OLD.employment_type,
		OLD.start_date, OLD.end_date, OLD.status, OLD.attributes)
		IS DISTINCT FROM (NEW.email, NEW.name, NEW.manager, NEW.department, NEW.title, NEW.location,
		NEW.employment_type, NEW.start_date, NEW.end_date, NEW.status, NEW.attributes) THEN
		NEW.rev := OLD.rev + 1;
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER users_rev BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION users_rev();
