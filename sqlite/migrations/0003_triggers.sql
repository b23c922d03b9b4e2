-- profile_rules indexes which profiles' automation rules name an entitlement,
-- so a grant change finds the profiles it can affect. profile_triggers marks
-- profiles to sync because something their rule depends on changed.
CREATE TABLE profile_rules (
    entitlement_id TEXT NOT NULL,
    profile_id     TEXT NOT NULL,
    PRIMARY KEY (entitlement_id, profile_id)
);
CREATE INDEX profile_rules_profile ON profile_rules (profile_id);
INSERT OR IGNORE INTO profile_rules (entitlement_id, profile_id)
    SELECT j.value, p.id FROM profiles p, json_each(p.automation, '$.any_entitlement') j;

CREATE TABLE profile_triggers (
    profile_id TEXT PRIMARY KEY
);
