-- 0010_notify: how each user is told what waits on them (users.notify:
-- email, slack or none), and a key that makes an outgoing notification
-- unique, so that one event tells each recipient once whichever replica or
-- retried transaction enqueues it (notifications.dedup_key; '' for the
-- messages that need none, such as the Slack alerts).
ALTER TABLE users ADD COLUMN notify TEXT NOT NULL DEFAULT 'email';
ALTER TABLE notifications ADD COLUMN dedup_key TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX notifications_dedup_key ON notifications (dedup_key) WHERE dedup_key <> '';
