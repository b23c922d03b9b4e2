-- 0024_access_log: the users whose access changed, in commit order, so that
-- a sync can keep its profile's plan input from one sync to the next and
-- read again only what concerns them (roster.AccessLogStore). Every insert
-- or delete of a grant, membership, task or denial, every change of a
-- membership, a denial or a task's state, and every change of a user's
-- status logs the user, from triggers: no write path can miss it. SQLite
-- runs one writer at a time, so ids are given in commit order; a mark is
-- the last id given (sqlite_sequence), and the changes after it have larger
-- ids. Rows older than the pruning cutoff are deleted; below is the largest
-- id deleted, and a mark below it is too old to read changes from.
CREATE TABLE access_log (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id TEXT NOT NULL,
	at      INTEGER NOT NULL
);
CREATE INDEX access_log_at ON access_log (at);
CREATE TABLE access_log_pruned (
	one   INTEGER PRIMARY KEY CHECK (one = 1),
	below INTEGER NOT NULL
);
INSERT INTO access_log_pruned (one, below) VALUES (1, 0);

CREATE TRIGGER grants_access_insert AFTER INSERT ON grants
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (NEW.user_id, unixepoch());
END;
CREATE TRIGGER grants_access_delete AFTER DELETE ON grants
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
END;
CREATE TRIGGER grants_access_update AFTER UPDATE OF user_id, entitlement_id ON grants
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
	INSERT INTO access_log (user_id, at) SELECT NEW.user_id, unixepoch() WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER members_access_insert AFTER INSERT ON members
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (NEW.user_id, unixepoch());
END;
CREATE TRIGGER members_access_delete AFTER DELETE ON members
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
END;
CREATE TRIGGER members_access_update AFTER UPDATE ON members
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
	INSERT INTO access_log (user_id, at) SELECT NEW.user_id, unixepoch() WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER tasks_access_insert AFTER INSERT ON tasks
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (NEW.user_id, unixepoch());
END;
CREATE TRIGGER tasks_access_delete AFTER DELETE ON tasks
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
END;
CREATE TRIGGER tasks_access_update AFTER UPDATE ON tasks
WHEN OLD.state IS NOT NEW.state OR OLD.kind IS NOT NEW.kind OR OLD.user_id IS NOT NEW.user_id
	OR OLD.entitlement_id IS NOT NEW.entitlement_id OR OLD.origin IS NOT NEW.origin
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
	INSERT INTO access_log (user_id, at) SELECT NEW.user_id, unixepoch() WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER denials_access_insert AFTER INSERT ON denials
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (NEW.user_id, unixepoch());
END;
CREATE TRIGGER denials_access_delete AFTER DELETE ON denials
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
END;
CREATE TRIGGER denials_access_update AFTER UPDATE ON denials
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (OLD.user_id, unixepoch());
	INSERT INTO access_log (user_id, at) SELECT NEW.user_id, unixepoch() WHERE NEW.user_id IS NOT OLD.user_id;
END;

CREATE TRIGGER users_access_status AFTER UPDATE OF status ON users
WHEN OLD.status IS NOT NEW.status
BEGIN
	INSERT INTO access_log (user_id, at) VALUES (NEW.id, unixepoch());
END;
