package engine

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// taskReads and memberReads are the store methods that read open tasks and
// members (countingStore).
var (
	taskReads   = []string{"OpenTasks", "OpenTaskRefs", "OpenTaskRefsOf", "UserOpenTasks", "Tasks"}
	memberReads = []string{"Members", "EachMemberOf", "MembersPage", "MembershipsAmong"}
)

// TestProfileListReadsOpenTasksOnce checks that the admin's list of
// profiles (the API's GET /api/v1/profiles, the console's profiles page)
// reads the open tasks of every profile in one query, not one per profile,
// and, listed with their members, the members of every profile in one
// query too: listing 50 profiles reads no more than listing 5. Each view
// still lists its profile's open enrollments and unenrollments, in the
// order of their ids, with their user, origin and state, counts its
// members and, with them, lists them by user with their source and since;
// closed tasks and the open tasks of other entitlements are left out.
func TestProfileListReadsOpenTasksOnce(t *testing.T) {
	for name, open := range openStores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
			store := &countingStore{Store: open(t)}
			e := New(Config{Store: store, Clock: roster.NewManualClock(now)})
			if _, err := e.Bootstrap(ctx, "t"); err != nil {
				t.Fatal(err)
			}
			admin := roster.NewContext(ctx, roster.AdminUser)
			want := map[string]roster.ProfileView{}
			added := 0
			for _, n := range []int{5, 50} {
				addListedProfiles(t, store, now, added, n, want)
				added = n
				for _, withoutMembers := range []bool{true, false} {
					store.reset()
					vs, err := e.Profiles(admin, roster.ProfileFilter{WithoutMembers: withoutMembers})
					if err != nil {
						t.Fatal(err)
					}
					if reads := store.count(taskReads...); reads > 1 {
						t.Errorf("listing %d profiles (without members: %t) read open tasks in %d queries, want 1", n, withoutMembers, reads)
					}
					if reads := store.count(memberReads...); reads > 1 {
						t.Errorf("listing %d profiles (without members: %t) read members in %d queries, want at most 1", n, withoutMembers, reads)
					}
					if len(vs) != n {
						t.Fatalf("listed %d profiles, want %d", len(vs), n)
					}
					for _, v := range vs {
						w := want[v.ID]
						if v.MemberCount != w.MemberCount || !reflect.DeepEqual(v.PendingEnrollments, w.PendingEnrollments) ||
							!reflect.DeepEqual(v.PendingUnenrollments, w.PendingUnenrollments) {
							t.Errorf("%d profiles (without members: %t): %s has %d members, enrollments %+v, unenrollments %+v; want %d, %+v, %+v",
								n, withoutMembers, v.ID, v.MemberCount, v.PendingEnrollments, v.PendingUnenrollments,
								w.MemberCount, w.PendingEnrollments, w.PendingUnenrollments)
						}
						if withoutMembers {
							if len(v.Members) != 0 {
								t.Errorf("%d profiles without members: %s lists members %+v", n, v.ID, v.Members)
							}
						} else if !sameMembers(v.Members, w.Members) {
							t.Errorf("%d profiles: %s lists members %+v, want %+v", n, v.ID, v.Members, w.Members)
						}
					}
				}
			}
		})
	}
}

// addListedProfiles adds profiles p<from> to p<to-1>, each with a few
// members, open enrollment and unenrollment tasks, a closed one, and an
// open task of another entitlement, and records in want what their views
// should list.
func addListedProfiles(t *testing.T, s roster.Store, now time.Time, from, to int, want map[string]roster.ProfileView) {
	t.Helper()
	err := s.Update(context.Background(), func(tx roster.Tx) error {
		ctx := context.Background()
		for i := from; i < to; i++ {
			p := &roster.Profile{ID: fmt.Sprintf("p%02d", i), Name: "p", Enrollment: roster.Enrollment{Policy: "auto"},
				Unenrollment: roster.Unenrollment{Policy: "auto"}, CreatedAt: now, UpdatedAt: now}
			if err := tx.PutProfile(ctx, p); err != nil {
				return err
			}
			v := roster.ProfileView{ID: p.ID, PendingEnrollments: []roster.PendingTask{}, PendingUnenrollments: []roster.PendingTask{}}
			// Members added last user first, of either source and since
			// different times, some of them members of other profiles too.
			sources := []roster.MemberSource{roster.MemberManual, roster.MemberAutomation}
			for j := i % 4; j > 0; j-- {
				m := &roster.Member{Profile: p.ID, User: fmt.Sprintf("m%d", j-1), Source: sources[(i+j)%2],
					Since: now.Add(-time.Duration(i*10+j) * time.Minute)}
				if err := tx.PutMember(ctx, m); err != nil {
					return err
				}
				v.Members = append(v.Members, roster.MemberView{User: m.User, Source: m.Source, Since: m.Since})
				v.MemberCount++
			}
			slices.Reverse(v.Members)
			task := func(kind roster.TaskKind, user, ent string, state roster.TaskState, origin roster.Origin) (*roster.Task, error) {
				tk := &roster.Task{Kind: kind, User: user, Entitlement: ent, State: state, Origin: origin, Profile: p.ID,
					Policy: "auto", Steps: []roster.Step{}, Approvers: []string{}, Provisioners: []string{}, RequestedBy: roster.AdminUser,
					History: []roster.TaskAction{}, CreatedAt: now, UpdatedAt: now}
				if !state.Open() {
					tk.ClosedAt = &now
				}
				return tk, tx.CreateTask(ctx, tk)
			}
			ent := roster.EnrollmentEntitlement(p.ID)
			states := []roster.TaskState{roster.StatePendingApproval, roster.StatePendingProvisioning}
			origins := []roster.Origin{roster.OriginEnrollment, roster.OriginAutomation}
			for j := range i % 3 {
				tk, err := task(roster.TaskGrant, fmt.Sprintf("g%d", j), ent, states[j%2], origins[(i+j)%2])
				if err != nil {
					return err
				}
				v.PendingEnrollments = append(v.PendingEnrollments, roster.PendingTask{User: tk.User, Task: tk.ID, Origin: tk.Origin, State: tk.State})
			}
			for j := range i % 2 {
				tk, err := task(roster.TaskRevoke, fmt.Sprintf("r%d", j), ent, states[(i+j)%2], roster.OriginUnenrollment)
				if err != nil {
					return err
				}
				v.PendingUnenrollments = append(v.PendingUnenrollments, roster.PendingTask{User: tk.User, Task: tk.ID, Origin: tk.Origin, State: tk.State})
			}
			if _, err := task(roster.TaskGrant, "done", ent, roster.StateDone, roster.OriginEnrollment); err != nil {
				return err
			}
			if _, err := task(roster.TaskGrant, "other", "a/"+p.ID, roster.StatePendingApproval, roster.OriginManual); err != nil {
				return err
			}
			byID := func(a, b roster.PendingTask) int { return int(a.Task - b.Task) }
			slices.SortFunc(v.PendingEnrollments, byID)
			slices.SortFunc(v.PendingUnenrollments, byID)
			want[p.ID] = v
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sameMembers reports whether got lists the users of want, in the same
// order, with the same sources and times.
func sameMembers(got, want []roster.MemberView) bool {
	return slices.EqualFunc(got, want, func(g, w roster.MemberView) bool {
		return g.User == w.User && g.Source == w.Source && g.Since.Equal(w.Since)
	})
}
