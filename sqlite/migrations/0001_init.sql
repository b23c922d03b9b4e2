-- 0001_init: Roster's initial schema.
--
-- Times are INTEGER unix nanoseconds, UTC (truncated to the microsecond by the
-- store). Lists and maps are JSON TEXT. The PostgreSQL driver's 0001 creates
-- the same tables with native types.

CREATE TABLE settings (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	data TEXT NOT NULL
);

CREATE TABLE users (
	id         TEXT PRIMARY KEY,
	email      TEXT NOT NULL,
	name       TEXT NOT NULL,
	manager    TEXT NOT NULL,
	department TEXT NOT NULL,
	title      TEXT NOT NULL,
	status     TEXT NOT NULL,
	role       TEXT NOT NULL,
	attributes TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX users_status ON users (status);
CREATE INDEX users_department ON users (department);
CREATE INDEX users_manager ON users (manager);
CREATE INDEX users_role ON users (role, status);

CREATE TABLE tokens (
	hash       TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE apps (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	owners     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE entitlements (
	id             TEXT PRIMARY KEY,
	app            TEXT NOT NULL,
	name           TEXT NOT NULL,
	request_policy TEXT NOT NULL,
	revoke_policy  TEXT NOT NULL,
	provisioning   TEXT NOT NULL,
	provisioners   TEXT NOT NULL,
	risk           TEXT NOT NULL,
	profile_id     TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);
CREATE INDEX entitlements_app ON entitlements (app, id);

CREATE TABLE policies (
	id         TEXT PRIMARY KEY,
	steps      TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE grants (
	user_id        TEXT NOT NULL,
	entitlement_id TEXT NOT NULL,
	app            TEXT NOT NULL,
	sources        TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	PRIMARY KEY (user_id, entitlement_id)
);
CREATE INDEX grants_entitlement ON grants (entitlement_id, user_id);
CREATE INDEX grants_app ON grants (app, user_id, entitlement_id);

CREATE TABLE profiles (
	id                        TEXT PRIMARY KEY,
	name                      TEXT NOT NULL,
	description               TEXT NOT NULL,
	entitlements              TEXT NOT NULL,
	allow_enrollment_requests INTEGER NOT NULL,
	enrollment                TEXT NOT NULL,
	unenrollment              TEXT NOT NULL,
	automation                TEXT NOT NULL,
	sync                      TEXT NOT NULL,
	created_at                INTEGER NOT NULL,
	updated_at                INTEGER NOT NULL
);

CREATE TABLE members (
	profile_id TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	source     TEXT NOT NULL,
	since      INTEGER NOT NULL,
	PRIMARY KEY (profile_id, user_id)
);
CREATE INDEX members_user ON members (user_id, profile_id);

CREATE TABLE tasks (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	kind           TEXT NOT NULL,
	user_id        TEXT NOT NULL,
	entitlement_id TEXT NOT NULL,
	state          TEXT NOT NULL,
	origin         TEXT NOT NULL,
	profile_id     TEXT NOT NULL,
	policy_id      TEXT NOT NULL,
	steps          TEXT NOT NULL,
	step           INTEGER NOT NULL,
	approvers      TEXT NOT NULL,
	provisioning   TEXT NOT NULL,
	provisioners   TEXT NOT NULL,
	bypass         TEXT NOT NULL,
	requested_by   TEXT NOT NULL,
	reason         TEXT NOT NULL,
	error          TEXT NOT NULL,
	history        TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	closed_at      INTEGER
);
-- At most one open task per (user, entitlement, kind).
CREATE UNIQUE INDEX tasks_open_unique ON tasks (user_id, entitlement_id, kind)
	WHERE state IN ('pending_approval', 'pending_provisioning');
CREATE INDEX tasks_state ON tasks (state, id);
CREATE INDEX tasks_user ON tasks (user_id, id);
CREATE INDEX tasks_entitlement ON tasks (entitlement_id, id);
CREATE INDEX tasks_profile ON tasks (profile_id, id);

CREATE TABLE denials (
	profile_id TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	kind       TEXT NOT NULL,
	at         INTEGER NOT NULL,
	PRIMARY KEY (profile_id, user_id, kind)
);

CREATE TABLE removals (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	profile_id TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	at         INTEGER NOT NULL
);
CREATE INDEX removals_profile_at ON removals (profile_id, at);

CREATE TABLE events (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	at          INTEGER NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	object_type TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	reason      TEXT NOT NULL,
	data        TEXT
);
CREATE INDEX events_object ON events (object_type, object_id, id);
CREATE INDEX events_action ON events (action, id);
CREATE INDEX events_actor ON events (actor, id);
CREATE INDEX events_at ON events (at);

CREATE TABLE notifications (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	at           INTEGER NOT NULL,
	channel      TEXT NOT NULL,
	target       TEXT NOT NULL,
	payload      TEXT NOT NULL,
	attempts     INTEGER NOT NULL,
	delivered_at INTEGER,
	last_error   TEXT NOT NULL,
	next_at      INTEGER NOT NULL
);
CREATE INDEX notifications_due ON notifications (next_at, id) WHERE delivered_at IS NULL;
