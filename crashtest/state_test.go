package crashtest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// state is everything the invariants look at, read from the store in one
// read-only transaction.
type state struct {
	profiles []roster.Profile
	members  map[string][]roster.Member
	grants   []roster.Grant
	tasks    []roster.Task
	events   []roster.Event
	// headID and headHash are the audit chain's head.
	headID   int64
	headHash string
}

// readState opens the database through its store and reads the state.
func readState(ctx context.Context, b backend, db string) (*state, error) {
	store, err := b.open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open the database through the %s store: %w", b.name, err)
	}
	defer store.Close()
	// Seal what a killed server queued, as any reader of the audit log
	// does first.
	for {
		var n int
		if err := store.Update(ctx, func(tx roster.Tx) error {
			if err := tx.Lock(ctx, roster.LockEvents); err != nil {
				return err
			}
			evs, err := tx.SealEvents(ctx, 1000)
			n = len(evs)
			return err
		}); err != nil {
			return nil, fmt.Errorf("seal the queued audit events: %w", err)
		}
		if n == 0 {
			break
		}
	}
	var s *state
	err = store.View(ctx, func(tx roster.Tx) error {
		s = &state{members: map[string][]roster.Member{}}
		var err error
		if s.profiles, err = tx.Profiles(ctx); err != nil {
			return err
		}
		for _, p := range s.profiles {
			if s.members[p.ID], err = tx.Members(ctx, p.ID); err != nil {
				return err
			}
		}
		if s.grants, err = all(func(c string) (*roster.Page[roster.Grant], error) {
			return tx.Grants(ctx, roster.GrantFilter{Cursor: c, Limit: roster.MaxPageSize})
		}); err != nil {
			return err
		}
		if s.tasks, err = all(func(c string) (*roster.Page[roster.Task], error) {
			return tx.Tasks(ctx, roster.TaskFilter{Cursor: c, Limit: roster.MaxPageSize})
		}); err != nil {
			return err
		}
		if s.events, err = all(func(c string) (*roster.Page[roster.Event], error) {
			return tx.Events(ctx, roster.EventFilter{Cursor: c, Limit: roster.MaxPageSize})
		}); err != nil {
			return err
		}
		s.headID, s.headHash, err = tx.EventChainHead(ctx)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the state: %w", err)
	}
	return s, nil
}

// all follows a list's pages to the end.
func all[T any](page func(cursor string) (*roster.Page[T], error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		p, err := page(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.NextCursor == "" {
			return out, nil
		}
		if p.NextCursor == cursor {
			return nil, fmt.Errorf("the store returned the cursor %q twice", cursor)
		}
		cursor = p.NextCursor
	}
}

// violations checks the crash-safety invariants and returns one line per
// violation:
//
//   - no two open tasks share (user, entitlement, kind);
//   - every member of a sync_and_act profile P has a done grant task for
//     access-profiles/P (an approved enrollment);
//   - the latest done task of each (user, entitlement) has taken effect: after
//     a grant the grant exists, after a revoke it does not;
//   - every member of a sync_and_act profile P has, for each entitlement of
//     P, a grant with the source profile:P or a grant task of P for it;
//   - the audit log holds task.created for every task created and task.done
//     for every task done (a task done the moment it was created has one
//     event, task.created with "state": "done"), profile.member_added for
//     every member and grant.added for every grant (as an event of its own,
//     or among the effects of the task.created of the task that made it:
//     roster.Event.Effects);
//   - the audit log is one hash chain, ids one after the other, that ends at
//     the head the store recorded.
func (s *state) violations() []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	type key struct{ user, entitlement, kind string }
	open := map[key][]int64{}
	grantTasks := map[key]bool{} // (user, entitlement, profile) of every grant task
	latest := map[[2]string]roster.Task{}
	for _, t := range s.tasks {
		if t.Open() {
			k := key{t.User, t.Entitlement, string(t.Kind)}
			open[k] = append(open[k], t.ID)
		}
		if t.Kind == roster.TaskGrant {
			grantTasks[key{t.User, t.Entitlement, t.Profile}] = true
		}
		if t.State != roster.StateDone {
			continue
		}
		k := [2]string{t.User, t.Entitlement}
		if prev, ok := latest[k]; !ok || later(t, prev) {
			latest[k] = t
		}
	}
	for k, ids := range open {
		if len(ids) > 1 {
			add("%d open %s tasks for %s on %s: %v", len(ids), k.kind, k.user, k.entitlement, ids)
		}
	}

	grants := map[[2]string]roster.Grant{}
	for _, g := range s.grants {
		grants[[2]string{g.User, g.Entitlement}] = g
	}
	for k, t := range latest {
		_, held := grants[k]
		switch {
		case t.Kind == roster.TaskGrant && !held:
			add("grant task %d (%s) is done but %s does not hold %s", t.ID, describeTask(t), k[0], k[1])
		case t.Kind == roster.TaskRevoke && held:
			add("revoke task %d (%s) is the latest done task but %s still holds %s", t.ID, describeTask(t), k[0], k[1])
		}
	}

	enrolled := map[[2]string]bool{} // (profile, user) with a done enrollment
	for _, t := range s.tasks {
		if t.State == roster.StateDone && t.Kind == roster.TaskGrant && t.Profile != "" && t.Entitlement == roster.EnrollmentEntitlement(t.Profile) {
			enrolled[[2]string{t.Profile, t.User}] = true
		}
	}
	for _, p := range s.profiles {
		if p.Automation.Mode != roster.ModeSyncAndAct {
			continue
		}
		for _, m := range s.members[p.ID] {
			if !enrolled[[2]string{p.ID, m.User}] {
				add("%s is a member of %s without a done enrollment task", m.User, p.ID)
			}
			for _, e := range p.Entitlements {
				g, held := grants[[2]string{m.User, e}]
				if held && g.HasSource(roster.ProfileSource(p.ID)) {
					continue
				}
				if grantTasks[key{m.User, e, p.ID}] {
					continue
				}
				add("%s is a member of %s but has neither %s with the source %s nor a grant task of %s for it (grant: %v)",
					m.User, p.ID, e, roster.ProfileSource(p.ID), p.ID, g.Sources)
			}
		}
	}

	evs := map[string]bool{} // "action object_id"
	memberAdded := map[[2]string]bool{}
	var all []roster.Event // the events and those they stand for
	for _, e := range s.events {
		all = append(all, e)
		effects, err := e.Effects()
		if err != nil {
			add("event %d (%s): %v", e.ID, e.Action, err)
		}
		all = append(all, effects...)
	}
	for _, e := range all {
		evs[string(e.Action)+" "+e.ObjectID] = true
		if e.CreatedDone() {
			evs["task.done "+e.ObjectID] = true // done at once
		}
		if e.Action == "profile.member_added" {
			var d struct{ User string }
			if err := json.Unmarshal(e.Data, &d); err != nil {
				add("event %d (profile.member_added): unreadable data %s", e.ID, e.Data)
			}
			memberAdded[[2]string{e.ObjectID, d.User}] = true
		}
	}
	for _, t := range s.tasks {
		id := fmt.Sprint(t.ID)
		if !evs["task.created "+id] {
			add("task %d (%s) has no task.created event", t.ID, describeTask(t))
		}
		if t.State == roster.StateDone && !evs["task.done "+id] {
			add("task %d (%s) is done without a task.done event", t.ID, describeTask(t))
		}
	}
	for p, ms := range s.members {
		for _, m := range ms {
			if !memberAdded[[2]string{p, m.User}] {
				add("%s is a member of %s without a profile.member_added event", m.User, p)
			}
		}
	}
	for _, g := range s.grants {
		if !evs["grant.added "+g.User+" "+g.Entitlement] {
			add("%s holds %s without a grant.added event", g.User, g.Entitlement)
		}
	}
	if broken := s.brokenChain(); broken != "" {
		add("%s", broken)
	}
	slices.Sort(out)
	return out
}

// brokenChain says where the audit chain breaks, or "" when it holds.
func (s *state) brokenChain() string {
	prevID, prev := int64(0), roster.GenesisHash
	for _, e := range s.events {
		want, err := roster.ChainHash(prev, &e)
		if err != nil || e.Hash != want || e.ID != prevID+1 {
			return fmt.Sprintf("the audit chain breaks at event %d (%s) after event %d: hash %q, recomputed %q (%v)", e.ID, e.Action, prevID, e.Hash, want, err)
		}
		prevID, prev = e.ID, e.Hash
	}
	if prevID != s.headID || prev != s.headHash {
		return fmt.Sprintf("the audit chain ends at event %d, its head is event %d", prevID, s.headID)
	}
	return ""
}

// later reports whether done task a was completed after done task b.
func later(a, b roster.Task) bool {
	if a.ClosedAt != nil && b.ClosedAt != nil && !a.ClosedAt.Equal(*b.ClosedAt) {
		return a.ClosedAt.After(*b.ClosedAt)
	}
	return a.ID > b.ID
}

// outcome is the final state a crash must not change, one sorted line per
// fact: each profile's members with their source, each grant with its
// sources, each open task.
func (s *state) outcome() []string {
	var out []string
	for p, ms := range s.members {
		for _, m := range ms {
			out = append(out, fmt.Sprintf("member %s %s (%s)", p, m.User, m.Source))
		}
	}
	for _, g := range s.grants {
		out = append(out, fmt.Sprintf("grant %s %s %v", g.User, g.Entitlement, g.Sources))
	}
	for _, t := range s.tasks {
		if t.Open() {
			out = append(out, fmt.Sprintf("open %s task %s %s (profile %s)", t.Kind, t.User, t.Entitlement, t.Profile))
		}
	}
	slices.Sort(out)
	return out
}

// diffOutcome returns what want has and got lacks ("- "), and what got has and
// want lacks ("+ ").
func diffOutcome(want, got []string) []string {
	var out []string
	for _, x := range want {
		if _, ok := slices.BinarySearch(got, x); !ok {
			out = append(out, "- "+x)
		}
	}
	for _, x := range got {
		if _, ok := slices.BinarySearch(want, x); !ok {
			out = append(out, "+ "+x)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(a[2:], b[2:]) })
	return out
}

// indent joins lines, each indented on a line of its own.
func indent(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return "\n    " + strings.Join(lines, "\n    ")
}
