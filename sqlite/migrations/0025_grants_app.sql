-- 0025_grants_app: grants lose their index by (app, user, entitlement).
-- An app's grants are read as a range of the entitlement index instead
-- (sqlstore Grants), and every grant written moved an entry at random in
-- it: an eighth of the index writes of a sync that creates many tasks.
DROP INDEX grants_app;
