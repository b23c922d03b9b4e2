-- Leases elect the one replica that runs periodic work (scheduled syncs,
-- notification delivery). A lease is held until expires_at unless renewed.
CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT COLLATE "C" NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
