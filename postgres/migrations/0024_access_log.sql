-- 0024_access_log: the users whose access changed, so that a sync can keep
-- its profile's plan input from one sync to the next and read again only
-- what concerns them (roster.AccessLogStore). Every insert or delete of a
-- grant, membership, denial or open task, every change of a membership or
-- a denial, every change of a task that is or was open, and every change
-- of a user's status logs the user, from statement triggers: no write path
-- can miss it (a plan reads open tasks only: a task created closed, as
-- most of a bulk enablement's are, logs nothing).
--
-- Commit order without a lock: a row holds its transaction's id (xid).
-- A mark is the oldest transaction still running at a snapshot (its xmin):
-- every transaction that commits after that snapshot was running then or
-- began after it, so its xid is at least the mark, and the rows with
-- xid >= mark hold every change a read after the snapshot may have missed
-- (and some it saw). Pruning deletes the rows below a mark an hour old and
-- notes it in below: an older mark is too old to read changes from.
CREATE TABLE access_log (
	xid     xid8 NOT NULL DEFAULT pg_current_xact_id(),
	user_id TEXT COLLATE "C" NOT NULL
);
CREATE INDEX access_log_xid ON access_log (xid);
CREATE TABLE access_log_pruned (
	one   INTEGER PRIMARY KEY CHECK (one = 1),
	below xid8 NOT NULL
);
INSERT INTO access_log_pruned (one, below) VALUES (1, '0');

CREATE FUNCTION access_log_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO access_log (user_id) SELECT DISTINCT user_id FROM new_rows;
	RETURN NULL;
END $$;
CREATE FUNCTION access_log_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO access_log (user_id) SELECT DISTINCT user_id FROM old_rows;
	RETURN NULL;
END $$;
CREATE FUNCTION access_log_both() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO access_log (user_id) SELECT user_id FROM old_rows UNION SELECT user_id FROM new_rows;
	RETURN NULL;
END $$;
-- A plan reads open tasks only.
CREATE FUNCTION access_log_open_tasks_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO access_log (user_id) SELECT DISTINCT user_id FROM new_rows WHERE state IN ('pending_approval', 'pending_provisioning');
	RETURN NULL;
END $$;
CREATE FUNCTION access_log_open_tasks_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO access_log (user_id) SELECT DISTINCT user_id FROM old_rows WHERE state IN ('pending_approval', 'pending_provisioning');
	RETURN NULL;
END $$;
-- A task's update counts when it is or was open and what a plan reads of
-- it changes.
CREATE FUNCTION access_log_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO access_log (user_id)
	SELECT u FROM old_rows o JOIN new_rows n ON n.id = o.id, LATERAL (VALUES (o.user_id), (n.user_id)) AS users (u)
	WHERE (o.state IN ('pending_approval', 'pending_provisioning') OR n.state IN ('pending_approval', 'pending_provisioning'))
		AND (o.state, o.kind, o.user_id, o.entitlement_id, o.origin) IS DISTINCT FROM (n.state, n.kind, n.user_id, n.entitlement_id, n.origin)
	GROUP BY u;
	RETURN NULL;
END $$;
CREATE FUNCTION access_log_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO access_log (user_id)
	SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE o.status IS DISTINCT FROM n.status;
	RETURN NULL;
END $$;

-- A grant's update changes its sources alone: whom it holds stays.
CREATE TRIGGER grants_access_insert AFTER INSERT ON grants REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_new();
CREATE TRIGGER grants_access_delete AFTER DELETE ON grants REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_old();
CREATE TRIGGER members_access_insert AFTER INSERT ON members REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_new();
CREATE TRIGGER members_access_delete AFTER DELETE ON members REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_old();
CREATE TRIGGER members_access_update AFTER UPDATE ON members REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_both();
CREATE TRIGGER tasks_access_insert AFTER INSERT ON tasks REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_open_tasks_new();
CREATE TRIGGER tasks_access_delete AFTER DELETE ON tasks REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_open_tasks_old();
CREATE TRIGGER tasks_access_update AFTER UPDATE ON tasks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_tasks();
CREATE TRIGGER denials_access_insert AFTER INSERT ON denials REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_new();
CREATE TRIGGER denials_access_delete AFTER DELETE ON denials REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_old();
CREATE TRIGGER denials_access_update AFTER UPDATE ON denials REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_both();
CREATE TRIGGER users_access_status AFTER UPDATE ON users REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION access_log_users();
