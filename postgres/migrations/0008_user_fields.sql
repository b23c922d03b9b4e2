-- The user fields of SPEC section 1 that rules on attributes read: where a
-- person works, how they are employed, when they start and end (civil dates,
-- YYYY-MM-DD), and whether the account is a person or an integration's.
ALTER TABLE users ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN employment_type TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN start_date TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN end_date TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN kind TEXT NOT NULL DEFAULT 'person';
