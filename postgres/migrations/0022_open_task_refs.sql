-- 0022_open_task_refs: a sync reads the open tasks of its profile's
-- enrollment entitlement (OpenTaskRefs: id, kind, user, origin) every time
-- it plans. tasks_entitlement found them among every task the entitlement
-- ever had, done ones too, and read each row from the table; this index
-- holds the open ones alone, with what the sync reads of them.
CREATE INDEX tasks_open_entitlement ON tasks (entitlement_id, id) INCLUDE (kind, user_id, origin)
	WHERE state IN ('pending_approval', 'pending_provisioning');
