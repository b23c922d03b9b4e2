package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/postgres"
)

// TestBulkWritesCopy puts many users, grants (some twice), memberships and
// closed tasks, interleaved with open tasks, in one transaction: they are
// written with a few COPY statements instead of a statement each, the
// transaction reads what it wrote, a row put twice ends as put last, and
// task ids follow the order the tasks were created in.
func TestBulkWritesCopy(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	const users = 5000
	before := postgres.Copies()
	var ids []int64
	err := db.Update(ctx, func(tx roster.Tx) error {
		ids = ids[:0]
		for i := range users {
			id := fmt.Sprintf("u%05d", i)
			u := &roster.User{ID: id, Email: id + "@example.com", Name: "before", Status: roster.UserActive, Role: roster.RoleUser,
				Kind: roster.UserPerson, Notify: roster.NotifyEmail, CreatedAt: now, UpdatedAt: now}
			if err := tx.PutUser(ctx, u); err != nil {
				return err
			}
			u2 := *u
			u2.Name = "after"
			if err := tx.PutUser(ctx, &u2); err != nil {
				return err
			}
			for _, e := range []string{"a/x", "a/y"} {
				if err := tx.PutGrant(ctx, &roster.Grant{User: id, Entitlement: e, Sources: []string{"direct"}, CreatedAt: now, UpdatedAt: now}); err != nil {
					return err
				}
			}
			if err := tx.PutGrant(ctx, &roster.Grant{User: id, Entitlement: "a/x", Sources: []string{"profile:p", "direct"}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
			if err := tx.PutMember(ctx, &roster.Member{Profile: "p", User: id, Source: roster.MemberAutomation, Since: now}); err != nil {
				return err
			}
			task := roster.Task{Kind: roster.TaskGrant, User: id, Entitlement: "a/x", State: roster.StateDone, Origin: roster.OriginAutomation,
				Policy: "auto", Steps: []roster.Step{}, Approvers: []string{}, Provisioning: roster.ProvisionAuto, Provisioners: []string{},
				RequestedBy: "automation", CreatedAt: now, UpdatedAt: now, ClosedAt: &now}
			if i%1000 == 999 {
				task.State, task.ClosedAt = roster.StatePendingApproval, nil
			}
			if err := tx.CreateTask(ctx, &task); err != nil {
				return err
			}
			ids = append(ids, task.ID)
		}
		// Read back before commit.
		g, err := tx.Grant(ctx, "u04999", "a/x")
		if err != nil {
			return err
		}
		if fmt.Sprint(g.Sources) != "[direct profile:p]" {
			return fmt.Errorf("grant read in the transaction has sources %v", g.Sources)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := postgres.Copies() - before; n < 4 || n > 20 {
		t.Errorf("%d COPY statements wrote the rows, want a few", n)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("task %d took id %d after %d", i, ids[i], ids[i-1])
		}
	}
	err = db.View(ctx, func(tx roster.Tx) error {
		page, err := tx.Users(ctx, roster.UserFilter{Total: true, Limit: 1})
		if err != nil {
			return err
		}
		if *page.Total != users {
			t.Errorf("%d users, want %d", *page.Total, users)
		}
		u, err := tx.User(ctx, "u01234")
		if err != nil {
			return err
		}
		if u.Name != "after" {
			t.Errorf("user put twice has name %q, want the last put's", u.Name)
		}
		gs, err := tx.UserGrants(ctx, "u01234")
		if err != nil {
			return err
		}
		if len(gs) != 2 || fmt.Sprint(gs[0].Sources) != "[direct profile:p]" {
			t.Errorf("grants of u01234: %+v", gs)
		}
		ms, err := tx.Members(ctx, "p")
		if err != nil {
			return err
		}
		if len(ms) != users {
			t.Errorf("%d members, want %d", len(ms), users)
		}
		task, err := tx.Task(ctx, ids[1234])
		if err != nil {
			return err
		}
		if task.User != "u01234" || task.State != roster.StateDone {
			t.Errorf("task %d: %+v", ids[1234], task)
		}
		open, err := tx.Tasks(ctx, roster.TaskFilter{OpenOnly: true, Limit: 100})
		if err != nil {
			return err
		}
		if len(open.Items) != users/1000 {
			t.Errorf("%d open tasks, want %d", len(open.Items), users/1000)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
