-- Leases elect the one replica that runs periodic work (scheduled syncs,
-- notification delivery). A lease is held until expires_at unless renewed.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
