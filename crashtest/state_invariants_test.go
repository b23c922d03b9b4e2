package crashtest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// TestViolations checks the invariant checker itself on hand-made states, so
// that a crash test passing means the invariants were looked at.
func TestViolations(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	at := func(m int) *time.Time { x := t0.Add(time.Duration(m) * time.Minute); return &x }
	eng := roster.Profile{ID: "eng", Entitlements: []string{"github/org-member"}, Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncAndAct}}
	event := func(id int64, action, object string, data string) roster.Event {
		e := roster.Event{ID: id, Action: roster.AuditAction(action), ObjectID: object}
		if data != "" {
			e.Data = []byte(data)
		}
		return e
	}
	// good is alice, a member of eng through an approved enrollment whose
	// content task is done.
	good := func() *state {
		return &state{
			profiles: []roster.Profile{eng},
			members:  map[string][]roster.Member{"eng": {{Profile: "eng", User: "alice", Source: roster.MemberAutomation}}},
			grants: []roster.Grant{
				{User: "alice", Entitlement: "access-profiles/eng", Sources: []string{"profile:eng"}},
				{User: "alice", Entitlement: "github/org-member", Sources: []string{"profile:eng"}},
			},
			tasks: []roster.Task{
				{ID: 1, Kind: roster.TaskGrant, User: "alice", Entitlement: "access-profiles/eng", Profile: "eng", State: roster.StateDone, ClosedAt: at(1)},
				{ID: 2, Kind: roster.TaskGrant, User: "alice", Entitlement: "github/org-member", Profile: "eng", State: roster.StateDone, ClosedAt: at(1)},
			},
			events: []roster.Event{
				event(1, "task.created", "1", ""), event(2, "task.done", "1", ""),
				event(3, "profile.member_added", "eng", `{"user":"alice","source":"automation"}`),
				event(4, "grant.added", "alice access-profiles/eng", ""),
				event(5, "task.created", "2", ""), event(6, "task.done", "2", ""),
				event(7, "grant.added", "alice github/org-member", ""),
			},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(s *state)
		want   []string // substrings of the violations, one each
	}{
		{"consistent", func(*state) {}, nil},
		{"done at once: one task.created that says so", func(s *state) {
			s.events[4] = event(5, "task.created", "2", `{"entitlement":"github/org-member","kind":"grant","state":"done","user":"alice"}`)
			s.events = slices.Delete(s.events, 5, 6)
			for i := range s.events {
				s.events[i].ID = int64(i + 1) // the chain's ids follow one another
			}
		}, nil},
		{"done at once with its effects in its task.created", func(s *state) {
			s.events = []roster.Event{
				event(1, "task.created", "1", `{"effects":[{"action":"profile.member_added","data":{"source":"automation","user":"alice"},"object_id":"eng","object_type":"profile"},{"action":"grant.added","object_id":"alice access-profiles/eng","object_type":"grant"}],"state":"done"}`),
				event(2, "task.created", "2", `{"effects":[{"action":"grant.added","object_id":"alice github/org-member","object_type":"grant"}],"state":"done"}`),
			}
		}, nil},
		{"effects that name another grant", func(s *state) {
			s.events = []roster.Event{
				event(1, "task.created", "1", `{"effects":[{"action":"profile.member_added","data":{"source":"automation","user":"alice"},"object_id":"eng","object_type":"profile"},{"action":"grant.added","object_id":"alice access-profiles/eng","object_type":"grant"}],"state":"done"}`),
				event(2, "task.created", "2", `{"effects":[{"action":"grant.added","object_id":"bob github/org-member","object_type":"grant"}],"state":"done"}`),
			}
		}, []string{"alice holds github/org-member without a grant.added event"}},
		{"done without task.done", func(s *state) {
			s.events = slices.Delete(s.events, 5, 6)
			for i := range s.events {
				s.events[i].ID = int64(i + 1)
			}
		}, []string{"task 2 (grant github/org-member for alice, done, profile eng) is done without a task.done event"}},
		{"duplicate open task", func(s *state) {
			s.tasks = append(s.tasks,
				roster.Task{ID: 3, Kind: roster.TaskGrant, User: "bob", Entitlement: "github/org-member", State: roster.StatePendingApproval},
				roster.Task{ID: 4, Kind: roster.TaskGrant, User: "bob", Entitlement: "github/org-member", State: roster.StatePendingProvisioning})
			s.events = append(s.events, event(8, "task.created", "3", ""), event(9, "task.created", "4", ""))
		}, []string{"2 open grant tasks for bob on github/org-member"}},
		{"member without enrollment", func(s *state) {
			s.tasks[0].State = roster.StateCancelled
		}, []string{"alice is a member of eng without a done enrollment task"}},
		{"done grant without its grant", func(s *state) {
			s.grants = s.grants[:1]
		}, []string{"grant task 2 (grant github/org-member for alice, done, profile eng) is done but alice does not hold"}},
		{"done revoke with the grant left", func(s *state) {
			s.tasks = append(s.tasks, roster.Task{ID: 3, Kind: roster.TaskRevoke, User: "alice", Entitlement: "github/org-member", Profile: "eng", State: roster.StateDone, ClosedAt: at(2)})
			s.events = append(s.events, event(8, "task.created", "3", ""), event(9, "task.done", "3", ""))
		}, []string{"revoke task 3"}},
		{"member without content", func(s *state) {
			s.tasks = s.tasks[:1]
			s.grants = s.grants[:1]
		}, []string{"neither github/org-member"}},
		{"missing audit events", func(s *state) {
			s.events = nil
		}, []string{"task 1", "task 1", "task 2", "task 2", "without a profile.member_added event", "alice holds access-profiles/eng", "alice holds github/org-member"}},
		{"an event changed", func(s *state) {
			chain(s)
			s.events[3].Reason = "forged"
		}, []string{"the audit chain breaks at event 4"}},
		{"an event deleted", func(s *state) {
			chain(s)
			s.events = append(s.events[:2], s.events[3:]...)
		}, []string{"the audit chain breaks at event 4 (grant.added) after event 2", "without a profile.member_added event"}},
		{"the last event deleted", func(s *state) {
			chain(s)
			s.events = s.events[:6]
		}, []string{"the audit chain ends at event 6, its head is event 7", "alice holds github/org-member without a grant.added event"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.change(s)
			if s.headID == 0 {
				chain(s) // the audit log as the store keeps it
			}
			got := s.violations()
			if len(got) != len(tc.want) {
				t.Fatalf("violations:%s\nwant %d, containing %q", indent(got), len(tc.want), tc.want)
			}
			for _, w := range tc.want {
				found := false
				for _, g := range got {
					found = found || strings.Contains(g, w)
				}
				if !found {
					t.Errorf("no violation mentions %q:%s", w, indent(got))
				}
			}
		})
	}
}

// chain gives s's events their hashes, and s the chain's head, as a store
// appending them would.
func chain(s *state) {
	s.headHash = roster.GenesisHash
	for i := range s.events {
		h, err := roster.ChainHash(s.headHash, &s.events[i])
		if err != nil {
			panic(err)
		}
		s.events[i].Hash, s.headHash, s.headID = h, h, s.events[i].ID
	}
}

// TestDiffOutcome checks that the outcome comparison reports both sides.
func TestDiffOutcome(t *testing.T) {
	got := diffOutcome([]string{"a", "b", "c"}, []string{"b", "c", "d"})
	want := []string{"- a", "+ d"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("diffOutcome = %q, want %q", got, want)
	}
}
