-- connectors keeps each connector's configuration and runtime state (as JSON:
-- both are read and written whole). connector_users lists the users a
-- connector with users: true feeds, so a person it stops listing can be
-- disabled. connector_staged keeps the snapshot of a held sync for an admin to
-- resume. provision_attempts counts a connector's attempts at a task in
-- provisioning and when it tries again.
CREATE TABLE connectors (
    id         TEXT PRIMARY KEY,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE connector_users (
    connector_id TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    PRIMARY KEY (connector_id, user_id)
);
CREATE TABLE connector_staged (
    connector_id TEXT PRIMARY KEY,
    snapshot     BLOB NOT NULL
);
CREATE TABLE provision_attempts (
    task_id    INTEGER PRIMARY KEY,
    attempts   INTEGER NOT NULL,
    next_at    INTEGER NOT NULL,
    last_error TEXT NOT NULL
);
CREATE INDEX tasks_connector_provisioning ON tasks (id)
    WHERE state = 'pending_provisioning' AND provisioning = 'connector';
