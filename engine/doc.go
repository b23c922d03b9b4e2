// Package engine implements roster.Service over a roster.Store: the task
// workflow, enrollment and unenrollment, membership sync with its safeguard,
// the declarative apply, and the reads with their permission rules.
//
// # Task workflow
//
// A task is created in pending_approval at step 0 of its policy snapshot. The
// engine resolves the current step's approvers (never the task's subject unless
// the step is self; the step's fallback when it resolves to nobody; the admins
// when the fallback is empty too) and records a notification event for them.
// Each approval moves to the next step; after the last step the task enters
// provisioning: auto completes it at once, manual and connector wait in
// pending_provisioning for a provisioner. A completed task sets off its effects
// in the same transaction:
//
//   - grant of access-profiles/P: the user becomes a member and a grant task is
//     created for each of the profile's entitlements the user lacks (origin
//     enrollment, bypassing approval when the profile says so); grants the user
//     already holds get the profile:P source.
//   - revoke of access-profiles/P: the user stops being a member and the
//     profile's unenrollment access setting is applied to its entitlements.
//   - any other grant or revoke: the grant is recorded with its sources, or
//     removed.
//
// A denial closes the task; a denied automation enrollment or unenrollment is
// remembered so that sync does not ask again until the user's match flips.
//
// Every transition runs in one store transaction together with its effects and
// audit events, so a crash leaves all or nothing.
//
// # Layout
//
// The workflow: workflow.go (tasks and their steps), membership.go
// (enrollment, unenrollment, exclusions), grants.go (grants and their
// sources), sync.go (membership sync), apply.go (the declarative apply),
// connector_*.go (declaring, syncing and scheduling connectors) and
// provision.go; queries.go holds the reads; engine.go and signin.go, the op
// every method runs in and who the caller is; worker.go, the shape of the
// background workers (the schedulers, the change-driven sync, the notifier,
// the provisioner). Pure decisions and mechanics sit
// apart: roster.PlanSync plans a profile's sync and internal/connsync plans a
// connector's; internal/syncview reads the state of many profiles at once for
// the planner; cache.go and memo.go keep an op from asking the store or
// encoding the same thing twice.
package engine
