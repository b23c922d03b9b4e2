package syncview

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/sqlite"
)

// TestView reads a small organisation from SQLite and checks each profile's
// PlanInput, spelled out: holders unknown to the users table match, disabled
// and excluded holders do not, disabled members and task subjects are listed
// as disabled, members and open tasks come through, denials are ordered, and
// only the removals inside the safeguard's window count. A profile with an
// empty rule matches nobody.
func TestView(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rule := &roster.Profile{ID: "p", Name: "p", Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncAndAct, Safeguard: true,
		AnyEntitlement: []string{"a/e", "a/f"}, ExcludedUsers: []string{"u3", "nobody"}}}
	empty := &roster.Profile{ID: "q", Name: "q", Automation: roster.Automation{Enabled: true, Mode: roster.ModeSyncMembersOnly}}
	since := now.Add(-time.Hour).Truncate(time.Microsecond)
	var enroll roster.Task
	err = db.Update(ctx, func(tx roster.Tx) error {
		for _, u := range []roster.User{{ID: "u1", Status: roster.UserActive}, {ID: "u2", Status: roster.UserDisabled},
			{ID: "u3", Status: roster.UserActive}, {ID: "u4", Status: roster.UserDisabled}, {ID: "u5", Status: roster.UserActive}} {
			u.Role = roster.RoleUser
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		for _, g := range [][2]string{{"u1", "a/e"}, {"u2", "a/e"}, {"u3", "a/f"}, {"ghost", "a/f"}, {"u1", "a/f"}, {"u5", "a/other"}} {
			if err := tx.PutGrant(ctx, &roster.Grant{User: g[0], Entitlement: g[1], Sources: []string{roster.SourceDirect}, CreatedAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		for _, p := range []*roster.Profile{rule, empty} {
			if err := tx.PutProfile(ctx, p); err != nil {
				return err
			}
		}
		for _, m := range []roster.Member{{Profile: "p", User: "u2", Source: roster.MemberAutomation, Since: since}, {Profile: "p", User: "m-manual", Source: roster.MemberManual, Since: since}} {
			if err := tx.PutMember(ctx, &m); err != nil {
				return err
			}
		}
		enroll = roster.Task{Kind: roster.TaskGrant, User: "u4", Entitlement: roster.EnrollmentEntitlement("p"), State: roster.StatePendingApproval,
			Origin: roster.OriginManual, Profile: "p", Steps: []roster.Step{}, Approvers: []string{}, Provisioners: []string{}, History: []roster.TaskAction{}, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateTask(ctx, &enroll); err != nil {
			return err
		}
		for _, d := range []roster.Denial{{Profile: "p", User: "u5", Kind: roster.TaskRevoke, At: since}, {Profile: "p", User: "u5", Kind: roster.TaskGrant, At: since}} {
			if err := tx.PutDenial(ctx, &d); err != nil {
				return err
			}
		}
		for _, ago := range []time.Duration{time.Minute, 59 * time.Minute, 2 * time.Hour} {
			if err := tx.AddRemoval(ctx, "p", "r", now.Add(-ago)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	settings := roster.DefaultSettings()
	var v *View
	err = db.View(ctx, func(tx roster.Tx) (err error) {
		v, err = Read(ctx, tx, &settings, []*roster.Profile{rule, empty}, now, nil, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []roster.PlanInput{{
		Profile: "p", Mode: roster.ModeSyncAndAct, Safeguard: true, Thresholds: settings.Safeguard,
		Matching: []string{"ghost", "u1"},
		Disabled: []string{"u2", "u4"},
		Members: []roster.Member{{Profile: "p", User: "m-manual", Source: roster.MemberManual, Since: since},
			{Profile: "p", User: "u2", Source: roster.MemberAutomation, Since: since}},
		OpenEnrollments: []roster.OpenTask{{ID: enroll.ID, Kind: roster.TaskGrant, User: "u4", Origin: roster.OriginManual}},
		Denials:         []roster.Denial{{Profile: "p", User: "u5", Kind: roster.TaskGrant, At: since}, {Profile: "p", User: "u5", Kind: roster.TaskRevoke, At: since}},
		RecentRemovals:  2,
	}, {
		Profile: "q", Mode: roster.ModeSyncMembersOnly, Thresholds: settings.Safeguard,
		Disabled: []string{}, Members: []roster.Member{}, Denials: []roster.Denial{},
	}}
	for i := range want {
		if got := v.PlanInput(i); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("profile %s\n got %+v\nwant %+v", want[i].Profile, got, want[i])
		}
	}
}
