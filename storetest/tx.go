package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/rosterhq/roster"
)

// writeAll writes one object of several kinds, for the transaction tests.
func writeAll(ctx context.Context, tx roster.Tx) error {
	u := roster.User{ID: "alice", Status: roster.UserActive, Role: roster.RoleAdmin}
	g := roster.Grant{User: "alice", Entitlement: "a/b", Sources: []string{"direct"}}
	tk := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "a/b", State: roster.StatePendingApproval}
	ev := roster.Event{Action: "user.create", ObjectType: "user", ObjectID: "alice"}
	m := roster.Member{Profile: "p", User: "alice", Source: roster.MemberManual}
	st := roster.DefaultSettings()
	st.DefaultRequestPolicy = "changed"
	return errors.Join(tx.PutUser(ctx, &u), tx.PutGrant(ctx, &g), tx.CreateTask(ctx, &tk),
		tx.AppendEvent(ctx, &ev), tx.PutMember(ctx, &m), tx.PutSettings(ctx, &st),
		tx.AddRemoval(ctx, "p", "alice", at(0)))
}

// wantNothingWritten fails the test if anything writeAll writes is stored.
func wantNothingWritten(t *testing.T, s roster.Store) {
	t.Helper()
	view(t, s, func(ctx context.Context, tx roster.Tx) error {
		if _, err := tx.User(ctx, "alice"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("user after rollback: err %v, want ENOTFOUND", err)
		}
		if _, err := tx.Grant(ctx, "alice", "a/b"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("grant after rollback: err %v, want ENOTFOUND", err)
		}
		if tasks, err := tx.Tasks(ctx, roster.TaskFilter{}); err != nil || len(tasks.Items) != 0 {
			t.Errorf("tasks after rollback: %v, %v", tasks, err)
		}
		if evs, err := tx.Events(ctx, roster.EventFilter{}); err != nil || len(evs.Items) != 0 {
			t.Errorf("events after rollback: %v, %v", evs, err)
		}
		if ms, err := tx.Members(ctx, "p"); err != nil || len(ms) != 0 {
			t.Errorf("members after rollback: %v, %v", ms, err)
		}
		if st, err := tx.Settings(ctx); err != nil || st.DefaultRequestPolicy != "" {
			t.Errorf("settings after rollback: %+v, %v", st, err)
		}
		if n, err := tx.CountRemovals(ctx, "p", at(-100)); err != nil || n != 0 {
			t.Errorf("removals after rollback: %d, %v", n, err)
		}
		return nil
	})
}

func testUpdateRollback(t *testing.T, s roster.Store) {
	ctx := context.Background()
	err := s.Update(ctx, func(tx roster.Tx) error {
		if err := writeAll(ctx, tx); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.User(ctx, "alice"); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	wantNothingWritten(t, s)

	// A roster.Error from fn comes back unchanged.
	want := roster.Errorf(roster.EINVALID, "nope")
	err = s.Update(ctx, func(tx roster.Tx) error {
		if err := writeAll(ctx, tx); err != nil {
			return err
		}
		return want
	})
	wantCode(t, "Update returning an EINVALID", err, roster.EINVALID)
	wantNothingWritten(t, s)

	// And a nil error commits.
	update(t, s, writeAll)
	view(t, s, func(ctx context.Context, tx roster.Tx) error {
		_, err := tx.User(ctx, "alice")
		return err
	})
}

func testUpdatePanic(t *testing.T, s roster.Store) {
	ctx := context.Background()
	func() {
		defer func() {
			if r := recover(); r != "storetest panic" {
				t.Fatalf("recovered %v, want the panic of fn", r)
			}
		}()
		_ = s.Update(ctx, func(tx roster.Tx) error {
			if err := writeAll(ctx, tx); err != nil {
				return err
			}
			panic("storetest panic")
		})
		t.Fatalf("Update returned after fn panicked")
	}()
	wantNothingWritten(t, s)
	// The store still works.
	update(t, s, writeAll)
}

func testViewReadOnly(t *testing.T, s roster.Store) {
	ctx := context.Background()
	err := s.View(ctx, func(tx roster.Tx) error { return writeAll(ctx, tx) })
	if err == nil {
		t.Fatalf("writing in View succeeded")
	}
	wantNothingWritten(t, s)

	// View sees what Update committed.
	update(t, s, writeAll)
	err = s.View(ctx, func(tx roster.Tx) error {
		if _, err := tx.User(ctx, "alice"); err != nil {
			return err
		}
		return errTest
	})
	if !errors.Is(err, errTest) {
		t.Fatalf("View returned %v, want fn's error", err)
	}
}
