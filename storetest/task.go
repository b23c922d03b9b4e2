package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// fullTask returns an open task with every field set.
func fullTask(user, ent string, n int) roster.Task {
	return roster.Task{
		Kind:        roster.TaskGrant,
		User:        user,
		Entitlement: ent,
		State:       roster.StatePendingApproval,
		Origin:      roster.OriginEnrollment,
		Profile:     "eng",
		Policy:      "security",
		Steps: []roster.Step{
			{Approvers: roster.ApproverUsers, Users: []string{"sam"}, Fallback: []string{"secadmin"}},
			{Approvers: roster.ApproverEntitlementMembers, Entitlement: "okta/security-team"},
		},
		Step:         1,
		Approvers:    []string{"sam", "alex"},
		Provisioning: roster.ProvisionManual,
		Provisioners: []string{"ivan"},
		Bypass:       "enrollment approval covers it",
		RequestedBy:  "admin",
		Reason:       "joined engineering",
		Error:        "previous attempt: timeout",
		History: []roster.TaskAction{
			{At: at(n), Actor: "admin", Action: "create", Step: 0, Comment: "please"},
			{At: at(n + 1), Actor: "sam", Action: "approve", Step: 0},
		},
		CreatedAt: at(n),
		UpdatedAt: at(n + 2),
	}
}

// createTasks creates tasks in one transaction and sets their ids.
func createTasks(t *testing.T, s roster.Store, ts []roster.Task) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range ts {
			if err := tx.CreateTask(ctx, &ts[i]); err != nil {
				return fmt.Errorf("task %d: %w", i, err)
			}
		}
		return nil
	})
}

func testTaskRoundTrip(t *testing.T, s roster.Store) {
	ts := []roster.Task{fullTask("alice", "github/admin", 0), fullTask("bob", "github/admin", 10)}
	createTasks(t, s, ts)
	if ts[0].ID <= 0 || ts[1].ID <= ts[0].ID {
		t.Fatalf("CreateTask ids %d, %d: want positive and increasing", ts[0].ID, ts[1].ID)
	}
	for _, w := range ts {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, w.ID) })
		equal(t, fmt.Sprintf("task %d", w.ID), w, *got)
	}

	// UpdateTask replaces every field.
	upd := roster.Task{
		ID: ts[0].ID, Kind: roster.TaskRevoke, User: "alice2", Entitlement: "slack/eng",
		State: roster.StateFailed, Origin: roster.OriginContentRemoved, Profile: "sales", Policy: "auto",
		Steps: []roster.Step{}, Step: 0, Approvers: []string{}, Provisioning: roster.ProvisionConnector,
		Provisioners: []string{"x", "y"}, RequestedBy: "carol", Error: "connector said no",
		History:   []roster.TaskAction{{At: at(40), Actor: "system", Action: "fail", Step: 2, Comment: "boom"}},
		CreatedAt: at(41), UpdatedAt: at(42), ClosedAt: ptr(at(43)),
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.UpdateTask(ctx, &upd) })
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, upd.ID) })
	equal(t, "updated task", upd, *got)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, ts[1].ID) })
	equal(t, "the other task after an update", ts[1], *got)

	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, 9999) })
	wantCode(t, "Task(9999)", err, roster.ENOTFOUND)
	if !strings.Contains(roster.ErrorMessage(err), "9999") {
		t.Errorf("not-found message %q does not name the task", roster.ErrorMessage(err))
	}
	missing := fullTask("x", "y/z", 0)
	missing.ID = 9999
	err = s.Update(context.Background(), func(tx roster.Tx) error { return tx.UpdateTask(context.Background(), &missing) })
	wantCode(t, "UpdateTask(9999)", err, roster.ENOTFOUND)

	// A new task gets a larger id.
	next := []roster.Task{fullTask("carol", "github/admin", 0)}
	createTasks(t, s, next)
	if next[0].ID <= ts[1].ID {
		t.Fatalf("new task id %d, want more than %d", next[0].ID, ts[1].ID)
	}
}

// instantTasks returns tasks done the moment they were created, whose
// histories the stores keep as a mark (roster.InstantHistory), and others
// whose histories differ from that in one field each, which they must keep
// as they are.
func instantTasks() []roster.Task {
	done := func(bypass string) roster.Task {
		t := roster.Task{
			Kind: roster.TaskGrant, User: "u1", Entitlement: "github/admin", State: roster.StateDone,
			Origin: roster.OriginEnrollment, Profile: "eng", Policy: "auto", Steps: []roster.Step{},
			Approvers: []string{}, Provisioning: roster.ProvisionAuto, Provisioners: []string{},
			Bypass: bypass, RequestedBy: "automation", Reason: "access of profile eng",
			CreatedAt: at(50), UpdatedAt: at(50), ClosedAt: ptr(at(50)),
		}
		t.History = roster.InstantHistory(&t)
		return t
	}
	ts := []roster.Task{done(""), done("covered by the approval of enrollment task 7")}
	for _, change := range []func(t *roster.Task){
		func(t *roster.Task) { t.History[0].Comment = "another reason" },
		func(t *roster.Task) { t.History[0].Actor = "admin" },
		func(t *roster.Task) { t.History[1].At = at(51) },
		func(t *roster.Task) { t.History[1].Step = 1 },
		func(t *roster.Task) { t.History[1].For = "sam" },
		func(t *roster.Task) { t.History[1].Comment = "by hand" },
		func(t *roster.Task) { t.History[1].Action = roster.HistoryApprovalBypassed },
		func(t *roster.Task) { t.History = t.History[:1] },
		func(t *roster.Task) { t.History = append(t.History, t.History[0]) },
		func(t *roster.Task) { t.History = nil },
		func(t *roster.Task) { t.ClosedAt = ptr(at(52)) },
		func(t *roster.Task) { t.ClosedAt = nil },
		func(t *roster.Task) { t.Reason = "" },
		func(t *roster.Task) { t.State = roster.StatePendingProvisioning; t.ClosedAt = nil },
	} {
		t := done("")
		t.History = slices.Clone(t.History)
		change(&t)
		ts = append(ts, t)
	}
	return ts
}

func testTaskInstantHistory(t *testing.T, s roster.Store) {
	ts := instantTasks()
	createTasks(t, s, ts)
	for i, w := range ts {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, w.ID) })
		equal(t, fmt.Sprintf("task %d of instantTasks", i), w, *got)
	}
	// An update keeps the mark right both ways: to a history that is no
	// longer instant, and back.
	upd := ts[0]
	upd.History = append(slices.Clone(upd.History), roster.TaskAction{At: at(60), Actor: "admin", Action: "note"})
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.UpdateTask(ctx, &upd) })
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, upd.ID) })
	equal(t, "task updated off its instant history", upd, *got)
	upd.History = roster.InstantHistory(&upd)
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.UpdateTask(ctx, &upd) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, upd.ID) })
	equal(t, "task updated back to its instant history", upd, *got)
}

func testTaskOpenConflict(t *testing.T, s roster.Store) {
	ctx := context.Background()
	open := fullTask("alice", "github/admin", 0)
	createTasks(t, s, []roster.Task{open})
	open = get(t, s, func(ctx context.Context, tx roster.Tx) (roster.Task, error) {
		tk, err := tx.OpenTask(ctx, "alice", "github/admin", roster.TaskGrant)
		if err != nil {
			return roster.Task{}, err
		}
		return *tk, nil
	})

	for _, state := range []roster.TaskState{roster.StatePendingApproval, roster.StatePendingProvisioning} {
		dup := fullTask("alice", "github/admin", 5)
		dup.State = state
		err := s.Update(ctx, func(tx roster.Tx) error { return tx.CreateTask(ctx, &dup) })
		wantCode(t, "second open task in "+string(state), err, roster.ECONFLICT)
		msg := roster.ErrorMessage(err)
		for _, w := range []roster.TaskKind{"alice", "github/admin", roster.TaskGrant} {
			if !strings.Contains(msg, string(w)) {
				t.Errorf("conflict message %q does not name %q", msg, w)
			}
		}
	}

	// Closed tasks, another kind, another user or another entitlement do not
	// conflict.
	var others []roster.Task
	for _, state := range []roster.TaskState{roster.StateDone, roster.StateDenied, roster.StateCancelled, roster.StateFailed} {
		tk := fullTask("alice", "github/admin", 0)
		tk.State = roster.TaskState(state)
		others = append(others, tk, tk)
	}
	revoke := fullTask("alice", "github/admin", 0)
	revoke.Kind = roster.TaskRevoke
	others = append(others, revoke, fullTask("bob", "github/admin", 0), fullTask("alice", "github/member", 0))
	createTasks(t, s, others)

	// After a conflict the transaction goes on: the rest of its work commits.
	var after roster.Task
	err := s.Update(ctx, func(tx roster.Tx) error {
		dup := fullTask("alice", "github/admin", 0)
		if err := tx.CreateTask(ctx, &dup); roster.ErrorCode(err) != roster.ECONFLICT {
			return fmt.Errorf("duplicate inside a transaction: %v, want ECONFLICT", err)
		}
		after = fullTask("carol", "github/admin", 0)
		return tx.CreateTask(ctx, &after)
	})
	if err != nil {
		t.Fatalf("transaction after a conflict: %v", err)
	}
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, after.ID) })
	equal(t, "task created after a conflict", after, *got)

	// Closing the open task allows a new open one; reopening the closed one
	// then conflicts.
	open.State = roster.StateDone
	open.ClosedAt = ptr(at(9))
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.UpdateTask(ctx, &open) })
	fresh := fullTask("alice", "github/admin", 20)
	fresh.State = roster.StatePendingProvisioning
	createTasks(t, s, []roster.Task{fresh})
	fresh = get(t, s, func(ctx context.Context, tx roster.Tx) (roster.Task, error) {
		tk, err := tx.OpenTask(ctx, "alice", "github/admin", roster.TaskGrant)
		if err != nil {
			return roster.Task{}, err
		}
		return *tk, nil
	})
	if fresh.ID == open.ID || fresh.State != roster.StatePendingProvisioning {
		t.Fatalf("OpenTask after closing: task %d in %s, want the new task", fresh.ID, fresh.State)
	}
	open.State = roster.StatePendingApproval
	open.ClosedAt = nil
	err = s.Update(ctx, func(tx roster.Tx) error { return tx.UpdateTask(ctx, &open) })
	wantCode(t, "reopening a task that has an open twin", err, roster.ECONFLICT)

	// Moving the open task between the two open states is no conflict with
	// itself.
	fresh.State = roster.StatePendingApproval
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.UpdateTask(ctx, &fresh) })
}

// filterTasks are the tasks the filter tests use, in creation order.
func filterTasks() []roster.Task {
	mk := func(kind, user, ent, state, origin, profile string) roster.Task {
		return roster.Task{Kind: roster.TaskKind(kind), User: user, Entitlement: ent, State: roster.TaskState(state), Origin: roster.Origin(origin), Profile: profile}
	}
	return []roster.Task{
		mk(string(roster.TaskGrant), "alice", "github/admin", string(roster.StatePendingApproval), string(roster.OriginManual), ""),               // 0
		mk(string(roster.TaskGrant), "bob", "github/admin", string(roster.StateDone), string(roster.OriginEnrollment), "eng"),                     // 1
		mk(string(roster.TaskRevoke), "alice", "slack/eng", string(roster.StatePendingProvisioning), string(roster.OriginUnenrollment), "eng"),    // 2
		mk(string(roster.TaskGrant), "carol", "access-profiles/eng", string(roster.StatePendingApproval), string(roster.OriginAutomation), "eng"), // 3
		mk(string(roster.TaskRevoke), "bob", "access-profiles/eng", string(roster.StateDenied), string(roster.OriginAutomation), "eng"),           // 4
		mk(string(roster.TaskGrant), "alice", "access-profiles/sales", string(roster.StateCancelled), string(roster.OriginManual), "sales"),       // 5
		mk(string(roster.TaskGrant), "dave", "slack/eng", string(roster.StateFailed), string(roster.OriginProfileContent), "sales"),               // 6
		mk(string(roster.TaskGrant), "bob", "slack/eng", string(roster.StatePendingApproval), string(roster.OriginProfileContent), "sales"),       // 7
		mk(string(roster.TaskGrant), "alice", "access-profiles/eng.excluded", string(roster.StateDone), string(roster.OriginExclusion), "eng"),    // 8
		mk(string(roster.TaskRevoke), "carol", "github/admin", string(roster.StatePendingApproval), string(roster.OriginContentRemoved), "eng"),   // 9
		mk(string(roster.TaskGrant), "alice2", "github/admin", string(roster.StatePendingProvisioning), string(roster.OriginManual), ""),          // 10
		mk(string(roster.TaskGrant), "bob", "github/admin", string(roster.StatePendingApproval), string(roster.OriginEnrollment), "eng"),          // 11
		mk(string(roster.TaskRevoke), "dave", "access-profiles/eng", string(roster.StatePendingProvisioning), string(roster.OriginManual), "eng"), // 12
		mk(string(roster.TaskGrant), "erin", "github/admin", string(roster.StateDone), string(roster.OriginManual), ""),                           // 13
		mk(string(roster.TaskGrant), "erin", "github/admin-x", string(roster.StatePendingApproval), string(roster.OriginManual), "eng2"),          // 14
		mk(string(roster.TaskGrant), "frank", "github/admin", string(roster.StateDenied), string(roster.OriginEnrollment), "eng"),                 // 15
		mk(string(roster.TaskGrant), "gina", "github/admin", string(roster.StatePendingApproval), string(roster.OriginEnrollment), "en"),          // 16
		mk(string(roster.TaskRevoke), "alice", "github/admin", string(roster.StateDone), string(roster.OriginUnenrollment), "eng"),                // 17
		mk(string(roster.TaskGrant), "harry", "okta/eng", string(roster.StateCancelled), string(roster.OriginAutomation), "eng"),                  // 18
		mk(string(roster.TaskGrant), "ivy", "okta/eng", string(roster.StatePendingProvisioning), string(roster.OriginAutomation), "eng"),          // 19
	}
}

func testTaskFilters(t *testing.T, s roster.Store) {
	ts := filterTasks()
	createTasks(t, s, ts)
	idx := func(is ...int) []int64 {
		out := []int64{}
		for _, i := range is {
			out = append(out, ts[i].ID)
		}
		return out
	}
	for _, tc := range []struct {
		f    roster.TaskFilter
		want []int64
	}{
		{roster.TaskFilter{}, idx(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)},
		{roster.TaskFilter{State: roster.StatePendingApproval}, idx(0, 3, 7, 9, 11, 14, 16)},
		{roster.TaskFilter{State: roster.StateDone}, idx(1, 8, 13, 17)},
		{roster.TaskFilter{Kind: roster.TaskRevoke}, idx(2, 4, 9, 12, 17)},
		{roster.TaskFilter{User: "alice"}, idx(0, 2, 5, 8, 17)},
		{roster.TaskFilter{Entitlement: "github/admin"}, idx(0, 1, 9, 10, 11, 13, 15, 16, 17)},
		{roster.TaskFilter{Entitlement: "access-profiles/eng"}, idx(3, 4, 12)},
		{roster.TaskFilter{Profile: "eng"}, idx(1, 2, 3, 4, 8, 9, 11, 12, 15, 17, 18, 19)},
		{roster.TaskFilter{Profile: "sales"}, idx(5, 6, 7)},
		{roster.TaskFilter{Origin: roster.OriginAutomation}, idx(3, 4, 18, 19)},
		{roster.TaskFilter{OpenOnly: true}, idx(0, 2, 3, 7, 9, 10, 11, 12, 14, 16, 19)},
		{roster.TaskFilter{OpenOnly: true, User: "bob"}, idx(7, 11)},
		{roster.TaskFilter{OpenOnly: true, Profile: "eng", Kind: roster.TaskRevoke}, idx(2, 9, 12)},
		{roster.TaskFilter{OpenOnly: true, State: roster.StateDone}, idx()},
		{roster.TaskFilter{User: "bob", Entitlement: "github/admin", Kind: roster.TaskGrant}, idx(1, 11)},
		// A user with each other filter, which the stores compare in their
		// own way when a user is given (see sqlstore's TasksQuery).
		{roster.TaskFilter{User: "alice", Entitlement: "github/admin"}, idx(0, 17)},
		{roster.TaskFilter{User: "alice", Entitlement: "access-profiles/eng"}, idx()},
		{roster.TaskFilter{User: "erin", Entitlement: "github/admin"}, idx(13)},
		{roster.TaskFilter{User: "alice", State: roster.StateDone}, idx(8, 17)},
		{roster.TaskFilter{User: "alice", Profile: "eng"}, idx(2, 8, 17)},
		{roster.TaskFilter{User: "gina", Profile: "eng"}, idx()},
		{roster.TaskFilter{User: "alice", Entitlement: "github/admin", OpenOnly: true}, idx(0)},
		{roster.TaskFilter{User: "alice", OpenOnly: true, State: roster.StateDone}, idx()},
		{roster.TaskFilter{User: "alice", Kind: roster.TaskRevoke}, idx(2, 17)},
		{roster.TaskFilter{User: "alice", Origin: roster.OriginManual}, idx(0, 5)},
		{roster.TaskFilter{User: "bob", Entitlement: "github/admin", State: roster.StatePendingApproval, Profile: "eng",
			Origin: roster.OriginEnrollment, Kind: roster.TaskGrant}, idx(11)},
		{roster.TaskFilter{Profile: "eng", Origin: roster.OriginAutomation, State: roster.StateDenied}, idx(4)},
		{roster.TaskFilter{User: "nobody"}, idx()},
	} {
		for _, limit := range []int{1, 3, 100} {
			got, _ := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Task], error) {
				f := tc.f
				f.Cursor, f.Limit = c, n
				return tx.Tasks(ctx, f)
			})
			equal(t, fmt.Sprintf("tasks %+v, limit %d", tc.f, limit), tc.want, ids(got, func(t roster.Task) int64 { return t.ID }))
		}
	}
}

func testTaskApproverFilter(t *testing.T, s roster.Store) {
	mk := func(user, state string, approvers, provisioners []string) roster.Task {
		return roster.Task{Kind: roster.TaskGrant, User: user, Entitlement: "app/" + user, State: roster.TaskState(state),
			Approvers: approvers, Provisioners: provisioners}
	}
	ts := []roster.Task{
		mk("u0", string(roster.StatePendingApproval), []string{"sam", "alice"}, []string{"ivan"}),         // sam, alice
		mk("u1", string(roster.StatePendingProvisioning), []string{"sam"}, []string{"ivan", "alice"}),     // ivan, alice
		mk("u2", string(roster.StateDone), []string{"sam"}, []string{"ivan"}),                             // nobody
		mk("u3", string(roster.StatePendingApproval), []string{"alice2", "xalice"}, nil),                  // alice2, xalice
		mk("u4", string(roster.StatePendingApproval), nil, []string{"alice"}),                             // nobody (alice only provisions)
		mk("u5", string(roster.StatePendingProvisioning), []string{"alice"}, []string{}),                  // nobody (alice only approved)
		mk("u6", string(roster.StateDenied), []string{"alice"}, []string{"alice"}),                        // nobody
		mk("u7", string(roster.StatePendingApproval), []string{`al"ice`, "a,b", "sam"}, nil),              // al"ice, a,b, sam
		mk("u8", string(roster.StatePendingApproval), []string{"ALICE"}, nil),                             // ALICE
		mk("u9", string(roster.StatePendingProvisioning), nil, []string{"ivan"}),                          // ivan
		mk("u10", string(roster.StateCancelled), []string{"sam"}, []string{"ivan"}),                       // nobody
		mk("u11", string(roster.StatePendingApproval), []string{"alice"}, nil),                            // alice
		mk("u12", string(roster.StateFailed), []string{"alice"}, nil),                                     // nobody
		mk("u13", string(roster.StatePendingProvisioning), []string{}, []string{"sam", "ivan", "alice2"}), // sam, ivan, alice2
	}
	createTasks(t, s, ts)
	users := func(tasks []roster.Task) []string { return ids(tasks, func(t roster.Task) string { return t.User }) }
	for _, tc := range []struct {
		f    roster.TaskFilter
		want []string
	}{
		{roster.TaskFilter{Approver: "alice"}, []string{"u0", "u1", "u11"}},
		{roster.TaskFilter{Approver: "sam"}, []string{"u0", "u7", "u13"}},
		{roster.TaskFilter{Approver: "ivan"}, []string{"u1", "u9", "u13"}},
		{roster.TaskFilter{Approver: "alice2"}, []string{"u3", "u13"}},
		{roster.TaskFilter{Approver: `al"ice`}, []string{"u7"}},
		{roster.TaskFilter{Approver: "a,b"}, []string{"u7"}},
		{roster.TaskFilter{Approver: "a"}, []string{}},
		{roster.TaskFilter{Approver: "lic"}, []string{}},
		{roster.TaskFilter{Approver: "Alice"}, []string{}},
		{roster.TaskFilter{Approver: "alice", State: roster.StatePendingProvisioning}, []string{"u1"}},
		{roster.TaskFilter{Approver: "alice", User: "u11"}, []string{"u11"}},
		{roster.TaskFilter{Approver: "alice", OpenOnly: true}, []string{"u0", "u1", "u11"}},
		{roster.TaskFilter{Approver: "alice", State: roster.StateDenied}, []string{}},
	} {
		for _, limit := range []int{1, 2, 100} {
			got, _ := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Task], error) {
				f := tc.f
				f.Cursor, f.Limit = c, n
				return tx.Tasks(ctx, f)
			})
			equal(t, fmt.Sprintf("tasks %+v, limit %d", tc.f, limit), tc.want, users(got))
		}
	}
}

func testTaskPagination(t *testing.T, s roster.Store) {
	var ts []roster.Task
	for i := range 23 {
		ts = append(ts, roster.Task{Kind: roster.TaskGrant, User: fmt.Sprintf("u%d", 23-i), Entitlement: "a/b", State: roster.StateDone})
	}
	createTasks(t, s, ts)
	want := ids(ts, func(t roster.Task) int64 { return t.ID })
	for _, limit := range []int{1, 4, 23, 24} {
		got, pages := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Task], error) {
			return tx.Tasks(ctx, roster.TaskFilter{Cursor: c, Limit: n})
		})
		equal(t, fmt.Sprintf("tasks with limit %d", limit), want, ids(got, func(t roster.Task) int64 { return t.ID }))
		if wantPages := (23 + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
}

func testOpenTasks(t *testing.T, s roster.Store) {
	ts := filterTasks()
	createTasks(t, s, ts)
	taskIDs := func(tasks []roster.Task) []int64 { return ids(tasks, func(t roster.Task) int64 { return t.ID }) }
	idx := func(is ...int) []int64 {
		out := []int64{}
		for _, i := range is {
			out = append(out, ts[i].ID)
		}
		return out
	}
	got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) {
		return tx.OpenTasks(ctx, "github/admin")
	})
	equal(t, "OpenTasks(github/admin)", idx(0, 9, 10, 11, 16), taskIDs(got))
	equal(t, "first open task of github/admin", ts[0], got[0])
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) {
		return tx.OpenTasks(ctx, "access-profiles/eng")
	})
	equal(t, "OpenTasks(access-profiles/eng)", idx(3, 12), taskIDs(got))
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) { return tx.OpenTasks(ctx, "none/none") })
	equal(t, "OpenTasks(none/none)", idx(), taskIDs(got))
	// OpenTaskRefs lists the same tasks, each with its kind, user and origin.
	for _, ent := range []string{"github/admin", "access-profiles/eng", "none/none"} {
		full := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) { return tx.OpenTasks(ctx, ent) })
		want := []roster.OpenTask{}
		for _, task := range full {
			want = append(want, roster.OpenTask{ID: task.ID, Kind: task.Kind, User: task.User, Origin: task.Origin})
		}
		refs := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.OpenTask, error) { return tx.OpenTaskRefs(ctx, ent) })
		equal(t, "OpenTaskRefs("+ent+")", want, refs)
	}

	// OpenTasksAmong: the open tasks of any of the users on any of the
	// entitlements, as references with their entitlement.
	users, ents := []string{"alice", "bob", "nobody"}, []string{"github/admin", "access-profiles/eng", "none/none"}
	want := []roster.OpenTask{}
	for _, task := range ts {
		if task.Open() && slices.Contains(users, task.User) && slices.Contains(ents, task.Entitlement) {
			want = append(want, roster.OpenTask{ID: task.ID, Kind: task.Kind, User: task.User, Origin: task.Origin, Entitlement: task.Entitlement})
		}
	}
	if len(want) < 2 {
		t.Fatalf("the fixture has %d open tasks of %v on %v: too few to test OpenTasksAmong", len(want), users, ents)
	}
	amongRefs := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.OpenTask, error) {
		return tx.OpenTasksAmong(ctx, users, ents)
	})
	slices.SortFunc(amongRefs, func(a, b roster.OpenTask) int { return int(a.ID - b.ID) })
	equal(t, "OpenTasksAmong", want, amongRefs)

	// OpenTaskRefsOf: the open tasks of any of the entitlements, as
	// references with their state and entitlement, ordered by
	// (entitlement, id) — bytewise, whatever the order asked in.
	ents = []string{"github/admin-x", "none/none", "github/admin", "access-profiles/eng"}
	sorted := slices.Sorted(slices.Values(ents))
	want = []roster.OpenTask{}
	for _, ent := range sorted {
		full := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) { return tx.OpenTasks(ctx, ent) })
		for _, task := range full {
			want = append(want, roster.OpenTask{ID: task.ID, Kind: task.Kind, User: task.User, Origin: task.Origin,
				Entitlement: task.Entitlement, State: task.State})
		}
	}
	if len(want) < 8 {
		t.Fatalf("the fixture has %d open tasks of %v: too few to test OpenTaskRefsOf", len(want), ents)
	}
	refsOf := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.OpenTask, error) {
		return tx.OpenTaskRefsOf(ctx, ents)
	})
	equal(t, fmt.Sprintf("OpenTaskRefsOf(%v)", ents), want, refsOf)
	refsOf = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.OpenTask, error) { return tx.OpenTaskRefsOf(ctx, nil) })
	equal(t, "OpenTaskRefsOf(nil)", []roster.OpenTask{}, refsOf)

	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) { return tx.UserOpenTasks(ctx, "alice") })
	equal(t, "UserOpenTasks(alice)", idx(0, 2), taskIDs(got))
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) { return tx.UserOpenTasks(ctx, "bob") })
	equal(t, "UserOpenTasks(bob)", idx(7, 11), taskIDs(got))
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Task, error) { return tx.UserOpenTasks(ctx, "erin") })
	equal(t, "UserOpenTasks(erin)", idx(14), taskIDs(got))

	one := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) {
		return tx.OpenTask(ctx, "dave", "access-profiles/eng", roster.TaskRevoke)
	})
	equal(t, "OpenTask(dave, access-profiles/eng, revoke)", ts[12], *one)
	one = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) {
		return tx.OpenTask(ctx, "alice", "slack/eng", roster.TaskRevoke)
	})
	equal(t, "OpenTask(alice, slack/eng, revoke)", ts[2], *one)
	for _, k := range []struct {
		user, entitlement string
		kind              roster.TaskKind
	}{
		{"bob", "access-profiles/eng", roster.TaskRevoke}, // denied
		{"erin", "github/admin", roster.TaskGrant},        // done
		{"alice", "slack/eng", roster.TaskGrant},          // other kind
		{"nobody", "github/admin", roster.TaskGrant},
	} {
		err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) {
			return tx.OpenTask(ctx, k.user, k.entitlement, k.kind)
		})
		wantCode(t, fmt.Sprintf("OpenTask%v", k), err, roster.ENOTFOUND)
	}
}
