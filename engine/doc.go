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
package engine
