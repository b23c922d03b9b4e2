package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// testAccessLog: the users of every change of a grant, membership, task,
// denial or user status committed after a mark are found from it, a
// transaction's own changes too, and only those (a user's other fields,
// a rolled-back write); a change committed after a mark was taken in a
// transaction that was running when it was taken is found too; pruning
// makes an older mark unreadable.
func testAccessLog(t *testing.T, s roster.Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mark := func() int64 {
		return get(t, s, func(ctx context.Context, tx roster.Tx) (int64, error) { return tx.AccessMark(ctx) })
	}
	// changed checks that the users changed since m include want and none
	// of not: a store may find more (PostgreSQL: the changes of every
	// transaction running when the mark was taken, in any database).
	changed := func(name string, m int64, want []string, not ...string) {
		t.Helper()
		var got []string
		var ok bool
		view(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
			got, ok, err = tx.AccessChangedSince(ctx, m)
			return err
		})
		if !ok {
			t.Fatalf("%s: the log no longer reaches the mark", name)
		}
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("%s: %v, not sorted and unique", name, got)
		}
		for _, u := range want {
			if !slices.Contains(got, u) {
				t.Errorf("%s: %v, without %s", name, got, u)
			}
		}
		for _, u := range not {
			if slices.Contains(got, u) {
				t.Errorf("%s: %v, with %s", name, got, u)
			}
		}
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			u := roster.User{ID: id, Status: roster.UserActive, Role: roster.RoleUser, CreatedAt: now, UpdatedAt: now}
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	task := filterTasks()[0]
	task.ID, task.User, task.Entitlement, task.State = 0, "c", "access-profiles/eng", roster.StatePendingApproval

	m0 := mark()
	changed("nothing yet", m0, nil, "a", "b", "c", "d", "e")
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		g := roster.Grant{User: "a", Entitlement: "github/admin", Sources: []string{"direct"}, CreatedAt: now, UpdatedAt: now}
		if err := tx.PutGrant(ctx, &g); err != nil {
			return err
		}
		if err := tx.PutMember(ctx, &roster.Member{Profile: "eng", User: "b", Source: roster.MemberAutomation, Since: now}); err != nil {
			return err
		}
		if err := tx.CreateTask(ctx, &task); err != nil {
			return err
		}
		return tx.PutDenial(ctx, &roster.Denial{Profile: "eng", User: "d", Kind: roster.TaskGrant, At: now})
	})
	changed("a grant, a member, a task and a denial put", m0, []string{"a", "b", "c", "d"}, "e")

	// What changes nothing a plan reads: another field of a user; a write
	// rolled back.
	m1 := mark()
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		u, err := tx.User(ctx, "e")
		if err != nil {
			return err
		}
		u.Title = "Engineer"
		return tx.PutUser(ctx, u)
	})
	rollback := roster.Errorf(roster.ECONFLICT, "rolled back")
	err := s.Update(ctx, func(tx roster.Tx) error {
		if err := tx.PutMember(ctx, &roster.Member{Profile: "eng", User: "e", Source: roster.MemberAutomation, Since: now}); err != nil {
			return err
		}
		return rollback
	})
	if err != rollback {
		t.Fatalf("rolled-back update: %v", err)
	}
	changed("a title changed, a member rolled back", m1, nil, "e")

	// Deletes, a task's state, a user's status; the transaction's own
	// changes are found in it.
	m2 := mark()
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.DeleteGrant(ctx, "a", "github/admin"); err != nil {
			return err
		}
		if err := tx.DeleteMember(ctx, "eng", "b"); err != nil {
			return err
		}
		task.State, task.UpdatedAt = roster.StateDenied, now.Add(time.Minute)
		if err := tx.UpdateTask(ctx, &task); err != nil {
			return err
		}
		u, err := tx.User(ctx, "e")
		if err != nil {
			return err
		}
		u.Status = roster.UserDisabled
		if err := tx.PutUser(ctx, u); err != nil {
			return err
		}
		own, ok, err := tx.AccessChangedSince(ctx, m2)
		for _, u := range []string{"a", "b", "c", "e"} {
			if err != nil || !ok || !slices.Contains(own, u) {
				t.Errorf("a transaction's own changes: %v, %v, %v; want %s among them", own, ok, err, u)
			}
		}
		return nil
	})
	changed("a grant and a member deleted, a task denied, a user disabled", m2, []string{"a", "b", "c", "e"})
	m3 := mark()
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		return tx.DeleteDenial(ctx, "eng", "d", roster.TaskGrant)
	})
	changed("a denial deleted", m3, []string{"d"})

	// A transaction that wrote before a mark was taken elsewhere and
	// commits after it: its change is found from that mark.
	wrote, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx roster.Tx) error {
			err := tx.PutMember(ctx, &roster.Member{Profile: "eng", User: "a", Source: roster.MemberAutomation, Since: now})
			if err == nil {
				// A read, so that the held row is written now.
				_, err = tx.Members(ctx, "eng")
			}
			close(wrote)
			<-release
			return err
		})
	}()
	<-wrote
	m4 := mark()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	changed("a member put by a transaction running when the mark was taken", m4, []string{"a"})

	// Pruning up to a mark: an older mark is refused, that one is not.
	pm := mark()
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PruneAccessLog(ctx, pm) })
	view(t, s, func(ctx context.Context, tx roster.Tx) error {
		// (On PostgreSQL a transaction running in another database may
		// hold a mark back.)
		if _, ok, err := tx.AccessChangedSince(ctx, m4); err != nil || ok != (m4 >= pm) {
			t.Errorf("a mark from before the pruning: ok %v, %v; want %v", ok, err, m4 >= pm)
		}
		return nil
	})
	changed("after the pruning", pm, nil, "f")
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		return tx.PutDenial(ctx, &roster.Denial{Profile: "eng", User: "f", Kind: roster.TaskRevoke, At: now})
	})
	changed("a denial put after the pruning", pm, []string{"f"})
}
