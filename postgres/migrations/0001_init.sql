-- 0001_init: Roster's initial schema.
--
-- The same tables, columns and indexes as the SQLite driver's 0001, in
-- PostgreSQL types: text is COLLATE "C" so that it sorts by bytes, as Go does;
-- times are timestamptz, truncated to the microsecond by the store (the zero
-- time.Time is stored as 0001-01-01 UTC); lists and maps are JSONB.

CREATE TABLE settings (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	data JSONB NOT NULL
);

CREATE TABLE users (
	id         TEXT COLLATE "C" PRIMARY KEY,
	email      TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL,
	manager    TEXT COLLATE "C" NOT NULL,
	department TEXT COLLATE "C" NOT NULL,
	title      TEXT COLLATE "C" NOT NULL,
	status     TEXT COLLATE "C" NOT NULL,
	role       TEXT COLLATE "C" NOT NULL,
	attributes JSONB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX users_status ON users (status);
CREATE INDEX users_department ON users (department);
CREATE INDEX users_manager ON users (manager);
CREATE INDEX users_role ON users (role, status);

CREATE TABLE tokens (
	hash       TEXT COLLATE "C" PRIMARY KEY,
	user_id    TEXT COLLATE "C" NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE apps (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL,
	owners     JSONB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE entitlements (
	id             TEXT COLLATE "C" PRIMARY KEY,
	app            TEXT COLLATE "C" NOT NULL,
	name           TEXT COLLATE "C" NOT NULL,
	request_policy TEXT COLLATE "C" NOT NULL,
	revoke_policy  TEXT COLLATE "C" NOT NULL,
	provisioning   TEXT COLLATE "C" NOT NULL,
	provisioners   JSONB NOT NULL,
	risk           TEXT COLLATE "C" NOT NULL,
	profile_id     TEXT COLLATE "C" NOT NULL,
	created_at     TIMESTAMPTZ NOT NULL,
	updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX entitlements_app ON entitlements (app, id);

CREATE TABLE policies (
	id         TEXT COLLATE "C" PRIMARY KEY,
	steps      JSONB NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE grants (
	user_id        TEXT COLLATE "C" NOT NULL,
	entitlement_id TEXT COLLATE "C" NOT NULL,
	app            TEXT COLLATE "C" NOT NULL,
	sources        JSONB NOT NULL,
	created_at     TIMESTAMPTZ NOT NULL,
	updated_at     TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (user_id, entitlement_id)
);
CREATE INDEX grants_entitlement ON grants (entitlement_id, user_id);
CREATE INDEX grants_app ON grants (app, user_id, entitlement_id);

CREATE TABLE profiles (
	id                        TEXT COLLATE "C" PRIMARY KEY,
	name                      TEXT COLLATE "C" NOT NULL,
	description               TEXT COLLATE "C" NOT NULL,
	entitlements              JSONB NOT NULL,
	allow_enrollment_requests BOOLEAN NOT NULL,
	enrollment                JSONB NOT NULL,
	unenrollment              JSONB NOT NULL,
	automation                JSONB NOT NULL,
	sync                      JSONB NOT NULL,
	created_at                TIMESTAMPTZ NOT NULL,
	updated_at                TIMESTAMPTZ NOT NULL
);

CREATE TABLE members (
	profile_id TEXT COLLATE "C" NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	source     TEXT COLLATE "C" NOT NULL,
	since      TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (profile_id, user_id)
);
CREATE INDEX members_user ON members (user_id, profile_id);

CREATE TABLE tasks (
	id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	kind           TEXT COLLATE "C" NOT NULL,
	user_id        TEXT COLLATE "C" NOT NULL,
	entitlement_id TEXT COLLATE "C" NOT NULL,
	state          TEXT COLLATE "C" NOT NULL,
	origin         TEXT COLLATE "C" NOT NULL,
	profile_id     TEXT COLLATE "C" NOT NULL,
	policy_id      TEXT COLLATE "C" NOT NULL,
	steps          JSONB NOT NULL,
	step           INTEGER NOT NULL,
	approvers      JSONB NOT NULL,
	provisioning   TEXT COLLATE "C" NOT NULL,
	provisioners   JSONB NOT NULL,
	bypass         TEXT COLLATE "C" NOT NULL,
	requested_by   TEXT COLLATE "C" NOT NULL,
	reason         TEXT COLLATE "C" NOT NULL,
	error          TEXT COLLATE "C" NOT NULL,
	history        JSONB NOT NULL,
	created_at     TIMESTAMPTZ NOT NULL,
	updated_at     TIMESTAMPTZ NOT NULL,
	closed_at      TIMESTAMPTZ
);
-- At most one open task per (user, entitlement, kind).
CREATE UNIQUE INDEX tasks_open_unique ON tasks (user_id, entitlement_id, kind)
	WHERE state IN ('pending_approval', 'pending_provisioning');
CREATE INDEX tasks_state ON tasks (state, id);
CREATE INDEX tasks_user ON tasks (user_id, id);
CREATE INDEX tasks_entitlement ON tasks (entitlement_id, id);
CREATE INDEX tasks_profile ON tasks (profile_id, id);

CREATE TABLE denials (
	profile_id TEXT COLLATE "C" NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	kind       TEXT COLLATE "C" NOT NULL,
	at         TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (profile_id, user_id, kind)
);

CREATE TABLE removals (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	profile_id TEXT COLLATE "C" NOT NULL,
	user_id    TEXT COLLATE "C" NOT NULL,
	at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX removals_profile_at ON removals (profile_id, at);

CREATE TABLE events (
	id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at          TIMESTAMPTZ NOT NULL,
	actor       TEXT COLLATE "C" NOT NULL,
	action      TEXT COLLATE "C" NOT NULL,
	object_type TEXT COLLATE "C" NOT NULL,
	object_id   TEXT COLLATE "C" NOT NULL,
	reason      TEXT COLLATE "C" NOT NULL,
	data        JSONB
);
CREATE INDEX events_object ON events (object_type, object_id, id);
CREATE INDEX events_action ON events (action, id);
CREATE INDEX events_actor ON events (actor, id);
CREATE INDEX events_at ON events (at);

CREATE TABLE notifications (
	id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at           TIMESTAMPTZ NOT NULL,
	channel      TEXT COLLATE "C" NOT NULL,
	target       TEXT COLLATE "C" NOT NULL,
	payload      TEXT COLLATE "C" NOT NULL,
	attempts     INTEGER NOT NULL,
	delivered_at TIMESTAMPTZ,
	last_error   TEXT COLLATE "C" NOT NULL,
	next_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_due ON notifications (next_at, id) WHERE delivered_at IS NULL;
