-- profile_rules indexes which profiles' automation rules name an entitlement,
-- so a grant change finds the profiles it can affect. profile_triggers marks
-- profiles to sync because something their rule depends on changed.
CREATE TABLE profile_rules (
    entitlement_id TEXT COLLATE "C" NOT NULL,
    profile_id     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (entitlement_id, profile_id)
);
CREATE INDEX profile_rules_profile ON profile_rules (profile_id);
INSERT INTO profile_rules (entitlement_id, profile_id)
    SELECT DISTINCT r.value, p.id FROM profiles p,
        jsonb_array_elements_text(COALESCE(p.automation -> 'any_entitlement', '[]'::jsonb)) AS r(value)
    ON CONFLICT DO NOTHING;

CREATE TABLE profile_triggers (
    profile_id TEXT COLLATE "C" PRIMARY KEY
);
