package roster

import "time"

// SyncScan asks Tx.ScanSync for what planning the syncs of many profiles
// needs, and receives it row by row: the holders of the entitlements their
// rules name, their members, the open tasks of their enrollment
// entitlements, their denials and their recent removals, plus the users who
// are not active. Nothing is collected by the store, so a caller that keeps
// the rows compactly (user ids interned once) can plan a whole organisation
// from one read. The callbacks are called in the order of the fields below.
//
// Each callback receives the position of its entitlement or profile in
// Entitlements or Profiles. The strings it receives may be parts of a larger
// buffer of the store's (one row holding many ids), which keeping them keeps
// alive. A callback may be nil when its rows are not
// wanted; an error it returns stops the scan and is returned by ScanSync.
type SyncScan struct {
	// Entitlements lists the entitlements whose holders Holder receives.
	Entitlements []string
	// Profiles lists the profiles whose members, open enrollment and
	// unenrollment tasks, denials and removals are read.
	Profiles []string
	// RemovalsSince is the start of the safeguard's window: Removals counts
	// the removals at or after it.
	RemovalsSince time.Time

	// User receives the id of every user, in order.
	User func(id string) error
	// Disabled receives each user whose status is not active, in no
	// particular order.
	Disabled func(user string) error
	// Holder receives each user holding Entitlements[e], in no particular
	// order (runs in order of user are the cheapest to intern).
	Holder func(e int, user string) error
	// Member receives each member of Profiles[p], in no particular order.
	Member func(p int, m Member) error
	// OpenTask receives each open task (grant or revoke) of the enrollment
	// entitlement of Profiles[p], access-profiles/P, in the order of their
	// ids.
	OpenTask func(p int, t OpenTask) error
	// Denial receives each denial of Profiles[p], in no particular order.
	Denial func(p int, d Denial) error
	// Removals receives, for each of Profiles[p] with any, the number of
	// removals at or after RemovalsSince.
	Removals func(p int, n int) error
}
