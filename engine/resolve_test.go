package engine

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/sqlite"
)

// TestResolveStep checks who may act on each kind of approval step: never the
// subject (unless the step is self), never an inactive user; the fallback when
// the step resolves to nobody; the admins, with a note, when the fallback is
// empty too.
func TestResolveStep(t *testing.T) {
	ctx := context.Background()
	e, store := bootstrapped(t)
	err := store.Update(ctx, func(tx roster.Tx) error {
		users := []roster.User{
			{ID: "alice", Manager: "carol"}, {ID: "bob", Manager: "gone"}, {ID: "carol"}, {ID: "dan", Manager: "zed"},
			{ID: "sam"}, {ID: "tess"}, {ID: "zed", Status: roster.UserDisabled}, {ID: "gina", Role: roster.RoleAdmin},
		}
		for _, u := range users {
			if u.Status == "" {
				u.Status = roster.UserActive
			}
			if u.Role == "" {
				u.Role = roster.RoleUser
			}
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		if err := tx.PutApp(ctx, &roster.App{ID: "github", Owners: []string{"carol", "alice", "zed"}}); err != nil {
			return err
		}
		if err := tx.PutApp(ctx, &roster.App{ID: "vpn", Owners: []string{}}); err != nil {
			return err
		}
		for _, g := range []roster.Grant{{User: "sam", Entitlement: "okta/sec"}, {User: "alice", Entitlement: "okta/sec"}, {User: "zed", Entitlement: "okta/sec"}} {
			g.Sources = []string{roster.SourceDirect}
			if err := tx.PutGrant(ctx, &g); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		subject  string
		ent      string
		step     roster.Step
		want     []string
		toAdmins bool
		prior    string // approved step 1 of the task
	}{
		{name: "manager", subject: "alice", step: roster.Step{Approvers: "manager"}, want: []string{"carol"}},
		{name: "manager missing, fallback", subject: "carol", step: roster.Step{Approvers: "manager", Fallback: []string{"sam"}}, want: []string{"sam"}},
		{name: "manager unknown, no fallback: admins", subject: "bob", step: roster.Step{Approvers: "manager"}, want: []string{"admin", "gina"}, toAdmins: true},
		{name: "manager disabled: fallback", subject: "dan", step: roster.Step{Approvers: "manager", Fallback: []string{"tess"}}, want: []string{"tess"}},
		{name: "app owners without the subject or inactive owners", subject: "alice", ent: "github/admin", step: roster.Step{Approvers: "app_owner"}, want: []string{"carol"}},
		{name: "app without owners: admins", subject: "alice", ent: "vpn/user", step: roster.Step{Approvers: "app_owner"}, want: []string{"admin", "gina"}, toAdmins: true},
		{name: "listed users without the subject", subject: "sam", step: roster.Step{Approvers: "users", Users: []string{"sam", "tess"}}, want: []string{"tess"}},
		{name: "only the subject listed: fallback", subject: "sam", step: roster.Step{Approvers: "users", Users: []string{"sam"}, Fallback: []string{"sam", "carol"}}, want: []string{"carol"}},
		{name: "entitlement members, active, not the subject", subject: "alice", step: roster.Step{Approvers: "entitlement_members", Entitlement: "okta/sec"}, want: []string{"sam"}},
		{name: "self", subject: "alice", step: roster.Step{Approvers: "self"}, want: []string{"alice"}},
		{name: "who approved an earlier step is left out", subject: "alice", prior: "sam", step: roster.Step{Approvers: "users", Users: []string{"sam", "tess"}}, want: []string{"tess"}},
		{name: "an admin subject never approves their own", subject: "gina", step: roster.Step{Approvers: "users", Users: []string{"gina"}}, want: []string{"admin"}, toAdmins: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ent := tt.ent
			if ent == "" {
				ent = "github/org-member"
			}
			task := &roster.Task{ID: 1, User: tt.subject, Entitlement: ent, Steps: []roster.Step{tt.step}}
			if tt.prior != "" {
				task.Steps = []roster.Step{{Approvers: "users", Users: []string{tt.prior}}, tt.step}
				task.Step = 1
				task.History = []roster.TaskAction{{Actor: tt.prior, Action: "approved", Step: 0}}
			}
			err := store.View(ctx, func(tx roster.Tx) error {
				o := &op{ctx: ctx, tx: tx, e: e, now: time.Now()}
				got, note, err := o.resolveStep(task, tt.step)
				if err != nil {
					return err
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("approvers = %v, want %v", got, tt.want)
				}
				if tt.toAdmins != (note != "") || (note != "" && !strings.Contains(note, "admins")) {
					t.Errorf("note = %q, want a note about the admins: %v", note, tt.toAdmins)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// bootstrapped returns an engine on a new SQLite database whose admin has
// its token, and the store under it for tests to set up directly.
func bootstrapped(t *testing.T) (*Engine, *sqlite.DB) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := New(Config{Store: store, Clock: roster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if _, err := e.Bootstrap(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	return e, store
}
