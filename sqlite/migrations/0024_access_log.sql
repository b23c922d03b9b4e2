-- 0024_access_log: the users whose access changed, in commit order, so that
-- a sync can keep its profile's plan input from one sync to the next and
-- read again only what concerns them (roster.AccessLogStore). Every insert
-- or delete of a grant, membership, denial or open task, every change of a
-- membership or a denial, every change of a task that is or was open, and
-- every change of a user's status logs the user, from triggers: no write
-- path can miss it (a plan reads open tasks only: a task created closed,
-- as most of a bulk enablement's are, logs nothing). SQLite runs one
-- writer at a time, so ids are given in commit order; a mark is the
-- largest id, and the changes after it have larger ids. Pruning deletes
-- the rows up to a mark an hour old and notes it in below: an older mark is
-- too old to read changes from. It never deletes the row of the largest
-- id, so no id is given twice without AUTOINCREMENT, which would write
-- sqlite_sequence for every row logged.
CREATE TABLE access_log (
	id      INTEGER PRIMARY KEY,
	user_id TEXT NOT NULL
);
CREATE TABLE access_log_pruned (
	one   INTEGER PRIMARY KEY CHECK (one = 1),
	below INTEGER NOT NULL
);
INSERT INTO access_log_pruned (one, below) VALUES (1, 0);

CREATE TRIGGER grants_access_insert AFTER INSERT ON grants
BEGIN
	INSERT INTO access_log (user_id) VALUES (NEW.user_id);
END;
CREATE TRIGGER grants_access_delete AFTER DELETE ON grants
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
END;
CREATE TRIGGER grants_access_update AFTER UPDATE OF user_id, entitlement_id ON grants
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
	INSERT INTO access_log (user_id) SELECT NEW.user_id WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER members_access_insert AFTER INSERT ON members
BEGIN
	INSERT INTO access_log (user_id) VALUES (NEW.user_id);
END;
CREATE TRIGGER members_access_delete AFTER DELETE ON members
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
END;
CREATE TRIGGER members_access_update AFTER UPDATE ON members
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
	INSERT INTO access_log (user_id) SELECT NEW.user_id WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER tasks_access_insert AFTER INSERT ON tasks
WHEN NEW.state IN ('pending_approval', 'pending_provisioning')
BEGIN
	INSERT INTO access_log (user_id) VALUES (NEW.user_id);
END;
CREATE TRIGGER tasks_access_delete AFTER DELETE ON tasks
WHEN OLD.state IN ('pending_approval', 'pending_provisioning')
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
END;
CREATE TRIGGER tasks_access_update AFTER UPDATE ON tasks
WHEN (OLD.state IN ('pending_approval', 'pending_provisioning') OR NEW.state IN ('pending_approval', 'pending_provisioning'))
	AND (OLD.state IS NOT NEW.state OR OLD.kind IS NOT NEW.kind OR OLD.user_id IS NOT NEW.user_id
	OR OLD.entitlement_id IS NOT NEW.entitlement_id OR OLD.origin IS NOT NEW.origin)
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
	INSERT INTO access_log (user_id) SELECT NEW.user_id WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER denials_access_insert AFTER INSERT ON denials
BEGIN
	INSERT INTO access_log (user_id) VALUES (NEW.user_id);
END;
CREATE TRIGGER denials_access_delete AFTER DELETE ON denials
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
END;
CREATE TRIGGER denials_access_update AFTER UPDATE ON denials
BEGIN
	INSERT INTO access_log (user_id) VALUES (OLD.user_id);
	INSERT INTO access_log (user_id) SELECT NEW.user_id WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER users_access_status AFTER UPDATE OF status ON users
WHEN OLD.status IS NOT NEW.status
BEGIN
	INSERT INTO access_log (user_id) VALUES (NEW.id);
END;
