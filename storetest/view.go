package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// testScanSync checks Tx.ScanSync: each callback gets exactly the rows of
// the entitlements and profiles asked for, with their positions, users and
// open tasks in order, removals counted from RemovalsSince on (inclusive), and a
// callback's error stops the scan.
func testScanSync(t *testing.T, s roster.Store) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)
	since := at.Add(-time.Hour)
	var tasks []int64
	// A user id no store should mangle, wherever it packs ids together.
	const odd = "q\"uo\\te,d [é]\t"
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for _, u := range []roster.User{{ID: "a", Status: roster.UserActive}, {ID: "b", Status: roster.UserDisabled},
			{ID: "c", Status: roster.UserActive}, {ID: "d", Status: "suspended"}} {
			u.Role, u.CreatedAt, u.UpdatedAt = roster.RoleUser, at, at
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		for _, g := range []roster.Grant{{User: "a", Entitlement: "okta/eng"}, {User: "b", Entitlement: "okta/eng"},
			{User: "b", Entitlement: "okta/sales"}, {User: "c", Entitlement: "okta/sales"}, {User: "ghost", Entitlement: "okta/sales"},
			{User: "d", Entitlement: "okta/other"}, {User: odd, Entitlement: "okta/eng"}} {
			g.Sources, g.CreatedAt, g.UpdatedAt = []string{roster.SourceDirect}, at, at
			if err := tx.PutGrant(ctx, &g); err != nil {
				return err
			}
		}
		for _, m := range []roster.Member{{Profile: "eng", User: "a", Source: roster.MemberAutomation, Since: at},
			{Profile: "eng", User: "b", Source: roster.MemberManual, Since: at.Add(-time.Minute)},
			{Profile: "sales", User: "c", Source: roster.MemberAutomation, Since: at}, {Profile: "other", User: "d", Source: roster.MemberAutomation, Since: at},
			{Profile: "eng", User: odd, Source: roster.MemberAutomation, Since: at}} {
			if err := tx.PutMember(ctx, &m); err != nil {
				return err
			}
		}
		for _, tk := range []struct{ user, ent, kind, origin, state string }{
			{"c", "access-profiles/eng", string(roster.TaskRevoke), string(roster.OriginManual), string(roster.StatePendingProvisioning)},
			{"a", "access-profiles/eng", string(roster.TaskGrant), string(roster.OriginAutomation), string(roster.StatePendingApproval)},
			{"x", "access-profiles/sales", string(roster.TaskGrant), string(roster.OriginManual), string(roster.StatePendingApproval)},
			{"a", "access-profiles/eng", string(roster.TaskRevoke), string(roster.OriginAutomation), string(roster.StateDone)},
			{"d", "access-profiles/other", string(roster.TaskGrant), string(roster.OriginAutomation), string(roster.StatePendingApproval)},
			{"a", "okta/eng", string(roster.TaskGrant), string(roster.OriginManual), string(roster.StatePendingApproval)},
			{"b", "access-profiles/eng", string(roster.TaskRevoke), string(roster.OriginAutomation), string(roster.StatePendingApproval)},
		} {
			task := &roster.Task{Kind: roster.TaskKind(tk.kind), User: tk.user, Entitlement: tk.ent, State: roster.TaskState(tk.state), Origin: roster.Origin(tk.origin),
				Steps: []roster.Step{}, Approvers: []string{}, Provisioners: []string{}, History: []roster.TaskAction{}, CreatedAt: at, UpdatedAt: at}
			if err := tx.CreateTask(ctx, task); err != nil {
				return err
			}
			tasks = append(tasks, task.ID)
		}
		for _, d := range []roster.Denial{{Profile: "eng", User: "c", Kind: roster.TaskGrant, At: at},
			{Profile: "sales", User: "b", Kind: roster.TaskRevoke, At: at}, {Profile: "other", User: "a", Kind: roster.TaskGrant, At: at}} {
			if err := tx.PutDenial(ctx, &d); err != nil {
				return err
			}
		}
		for _, r := range []struct {
			profile string
			at      time.Time
		}{{"eng", since.Add(-time.Microsecond)}, {"eng", since}, {"eng", at}, {"sales", since.Add(-time.Minute)}, {"other", at}} {
			if err := tx.AddRemoval(ctx, r.profile, "r", r.at); err != nil {
				return err
			}
		}
		return nil
	})

	// Rows, as the callbacks received them: "position:what".
	var got, users []string
	add := func(format string, args ...any) error {
		got = append(got, fmt.Sprintf(format, args...))
		return nil
	}
	scan := roster.SyncScan{
		Entitlements:  []string{"okta/sales", "okta/eng", "okta/none"},
		Profiles:      []string{"sales", "eng", "none"},
		RemovalsSince: since,
		User:          func(u string) error { users = append(users, u); return nil },
		Disabled:      func(u string) error { return add("disabled %s", u) },
		Holder:        func(e int, u string) error { return add("holder %d %s", e, u) },
		Member: func(p int, m roster.Member) error {
			return add("member %d %s %s %s %s", p, m.Profile, m.User, m.Source, m.Since.Format(time.RFC3339Nano))
		},
		OpenTask: func(p int, o roster.OpenTask) error {
			return add("open %d %d %s %s %s", p, o.ID, o.Kind, o.User, o.Origin)
		},
		Denial: func(p int, d roster.Denial) error {
			return add("denial %d %s %s %s %s", p, d.Profile, d.User, d.Kind, d.At.Format(time.RFC3339Nano))
		},
		Removals: func(p, n int) error { return add("removals %d %d", p, n) },
	}
	view(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.ScanSync(ctx, &scan) })
	// Open tasks keep their order; the rest is compared sorted.
	var open, rest []string
	for _, r := range got {
		if strings.HasPrefix(r, "open ") {
			open = append(open, r)
		} else {
			rest = append(rest, r)
		}
	}
	slices.Sort(rest)
	micro := at.Truncate(time.Microsecond).Format(time.RFC3339Nano)
	wantRest := []string{
		"denial 0 sales b revoke " + micro,
		"denial 1 eng c grant " + micro,
		"disabled b",
		"disabled d",
		"holder 0 b", "holder 0 c", "holder 0 ghost",
		"holder 1 a", "holder 1 b", "holder 1 " + odd,
		"member 0 sales c automation " + micro,
		"member 1 eng a automation " + micro,
		"member 1 eng b manual " + at.Add(-time.Minute).Truncate(time.Microsecond).Format(time.RFC3339Nano),
		"member 1 eng " + odd + " automation " + micro,
		"removals 1 2",
	}
	if !reflect.DeepEqual(rest, wantRest) {
		t.Errorf("ScanSync rows (sorted):\n%s\nwant:\n%s", strings.Join(rest, "\n"), strings.Join(wantRest, "\n"))
	}
	wantOpen := []string{
		fmt.Sprintf("open 1 %d revoke c manual", tasks[0]),
		fmt.Sprintf("open 1 %d grant a automation", tasks[1]),
		fmt.Sprintf("open 0 %d grant x manual", tasks[2]),
		fmt.Sprintf("open 1 %d revoke b automation", tasks[6]),
	}
	if !reflect.DeepEqual(open, wantOpen) {
		t.Errorf("ScanSync open tasks:\n%s\nwant, in id order:\n%s", strings.Join(open, "\n"), strings.Join(wantOpen, "\n"))
	}

	if want := []string{"a", "b", "c", "d"}; !reflect.DeepEqual(users, want) {
		t.Errorf("ScanSync users = %q, want %q in order", users, want)
	}

	// Nothing asked, nothing received; nil callbacks are skipped.
	got = nil
	view(t, s, func(ctx context.Context, tx roster.Tx) error {
		return tx.ScanSync(ctx, &roster.SyncScan{Holder: scan.Holder, Member: scan.Member, OpenTask: scan.OpenTask, Denial: scan.Denial, Removals: scan.Removals})
	})
	if len(got) != 0 {
		t.Errorf("ScanSync of nothing received %v", got)
	}
	got = nil
	view(t, s, func(ctx context.Context, tx roster.Tx) error {
		return tx.ScanSync(ctx, &roster.SyncScan{Entitlements: []string{"okta/eng"}, Profiles: []string{"other"}, RemovalsSince: since, Removals: scan.Removals})
	})
	if !reflect.DeepEqual(got, []string{"removals 0 1"}) {
		t.Errorf("ScanSync with only Removals received %v, want [removals 0 1]", got)
	}

	// A callback's error stops the scan and comes back.
	stop := errors.New("stop")
	calls := 0
	err := s.View(context.Background(), func(tx roster.Tx) error {
		return tx.ScanSync(context.Background(), &roster.SyncScan{Entitlements: []string{"okta/sales"},
			Holder: func(int, string) error { calls++; return stop }})
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("ScanSync whose callback fails: %v after %d calls, want the callback's error after 1", err, calls)
	}
}
