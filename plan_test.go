package roster_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

func members(source roster.MemberSource, users ...string) []roster.Member {
	var ms []roster.Member
	for _, u := range users {
		ms = append(ms, roster.Member{Profile: "eng", User: u, Source: source})
	}
	return ms
}

func TestPlanSync(t *testing.T) {
	thresholds := roster.Safeguard{MinMembers: 4, MaxRemovalPercent: 20}
	type want struct {
		enroll, unenroll []string
		cancel           []int64
		clear            []string
		pause            bool
	}
	tests := []struct {
		name string
		in   roster.PlanInput
		want want
	}{
		{
			name: "matching users who are not members are enrolled",
			in:   roster.PlanInput{Matching: []string{"alice", "bob"}},
			want: want{enroll: []string{"alice", "bob"}},
		},
		{
			name: "members and pending users are not enrolled again",
			in: roster.PlanInput{
				Matching:        []string{"alice", "bob", "carol"},
				Members:         members(roster.MemberAutomation, "alice"),
				OpenEnrollments: []roster.OpenTask{{ID: 7, User: "bob", Origin: roster.OriginAutomation}},
			},
			want: want{enroll: []string{"carol"}},
		},
		{
			name: "automation members who stop matching are unenrolled, manual members stay",
			in: roster.PlanInput{
				Members: append(members(roster.MemberAutomation, "alice"), members(roster.MemberManual, "bob")...),
			},
			want: want{unenroll: []string{"alice"}},
		},
		{
			name: "a disabled user is unenrolled however they joined",
			in: roster.PlanInput{
				Members:  append(members(roster.MemberAutomation, "alice"), members(roster.MemberManual, "bob")...),
				Disabled: []string{"alice", "bob"},
			},
			want: want{unenroll: []string{"alice", "bob"}},
		},
		{
			name: "an open unenrollment is not duplicated",
			in: roster.PlanInput{
				Members:           members(roster.MemberAutomation, "alice"),
				OpenUnenrollments: []roster.OpenTask{{ID: 3, User: "alice", Origin: roster.OriginAutomation}},
			},
			want: want{},
		},
		{
			name: "an open automation enrollment of a user who no longer matches is cancelled",
			in: roster.PlanInput{
				OpenEnrollments: []roster.OpenTask{{ID: 4, User: "alice", Origin: roster.OriginAutomation}, {ID: 5, User: "bob", Origin: roster.OriginManual}},
			},
			want: want{cancel: []int64{4}},
		},
		{
			name: "any open enrollment of a disabled user is cancelled",
			in: roster.PlanInput{
				OpenEnrollments: []roster.OpenTask{{ID: 5, User: "bob", Origin: roster.OriginManual}},
				Disabled:        []string{"bob"},
			},
			want: want{cancel: []int64{5}},
		},
		{
			name: "an open automation unenrollment of a user who matches again is cancelled",
			in: roster.PlanInput{
				Matching:          []string{"alice"},
				Members:           members(roster.MemberAutomation, "alice", "bob"),
				OpenUnenrollments: []roster.OpenTask{{ID: 9, User: "alice", Origin: roster.OriginAutomation}, {ID: 10, User: "bob", Origin: roster.OriginManual}},
			},
			want: want{cancel: []int64{9}},
		},
		{
			name: "a denied enrollment is not asked again while the user matches",
			in: roster.PlanInput{
				Matching: []string{"alice"},
				Denials:  []roster.Denial{{Profile: "eng", User: "alice", Kind: roster.TaskGrant}},
			},
			want: want{},
		},
		{
			name: "a denied enrollment is forgotten once the user stops matching",
			in: roster.PlanInput{
				Denials: []roster.Denial{{Profile: "eng", User: "alice", Kind: roster.TaskGrant}},
			},
			want: want{clear: []string{"alice/grant"}},
		},
		{
			name: "a denied unenrollment stands while the member does not match",
			in: roster.PlanInput{
				Members: members(roster.MemberAutomation, "alice"),
				Denials: []roster.Denial{{Profile: "eng", User: "alice", Kind: roster.TaskRevoke}},
			},
			want: want{},
		},
		{
			name: "a denied unenrollment is forgotten once the member matches again",
			in: roster.PlanInput{
				Matching: []string{"alice"},
				Members:  members(roster.MemberAutomation, "alice"),
				Denials:  []roster.Denial{{Profile: "eng", User: "alice", Kind: roster.TaskRevoke}},
			},
			want: want{clear: []string{"alice/revoke"}},
		},
		{
			name: "safeguard pauses a removal of more than the share of a large profile",
			in: roster.PlanInput{
				Matching:   []string{"a", "b", "c", "new"},
				Members:    members(roster.MemberAutomation, "a", "b", "c", "d", "e"),
				Safeguard:  true,
				Thresholds: thresholds,
			},
			want: want{enroll: []string{"new"}, unenroll: []string{"d", "e"}, pause: true},
		},
		{
			name: "safeguard lets exactly the allowed share through",
			in: roster.PlanInput{
				Matching:   []string{"a", "b", "c", "d"},
				Members:    members(roster.MemberAutomation, "a", "b", "c", "d", "e"),
				Safeguard:  true,
				Thresholds: thresholds,
			},
			want: want{unenroll: []string{"e"}},
		},
		{
			name: "safeguard counts removals over the rolling hour",
			in: roster.PlanInput{
				Matching:       []string{"a", "b", "c", "d"},
				Members:        members(roster.MemberAutomation, "a", "b", "c", "d", "e"),
				RecentRemovals: 1,
				Safeguard:      true,
				Thresholds:     thresholds,
			},
			want: want{unenroll: []string{"e"}, pause: true},
		},
		{
			name: "safeguard ignores profiles with no more than min_members members",
			in: roster.PlanInput{
				Members:    members(roster.MemberAutomation, "a", "b", "c", "d"),
				Safeguard:  true,
				Thresholds: thresholds,
			},
			want: want{unenroll: []string{"a", "b", "c", "d"}},
		},
		{
			name: "safeguard off on the profile",
			in: roster.PlanInput{
				Members:    members(roster.MemberAutomation, "a", "b", "c", "d", "e"),
				Safeguard:  false,
				Thresholds: thresholds,
			},
			want: want{unenroll: []string{"a", "b", "c", "d", "e"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Profile = "eng"
			got := roster.PlanSync(tt.in)
			var cancel []int64
			for _, c := range got.Cancel {
				cancel = append(cancel, c.Task)
				if c.Reason == "" {
					t.Errorf("cancellation of task %d has no reason", c.Task)
				}
			}
			var clear []string
			for _, d := range got.ClearDenials {
				clear = append(clear, d.User+"/"+string(d.Kind))
			}
			check := func(what string, got, want any) {
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("enroll", got.Enroll, tt.want.enroll)
			check("unenroll", got.Unenroll, tt.want.unenroll)
			check("cancel", cancel, tt.want.cancel)
			check("clear denials", clear, tt.want.clear)
			check("pause", got.Pause, tt.want.pause)
			if got.Pause && !strings.Contains(got.PauseReason, "members") {
				t.Errorf("pause reason %q does not give the figures", got.PauseReason)
			}
		})
	}
}

// TestPlanSyncIdempotent applies a plan to its input and checks that planning
// again yields nothing: a sync run twice creates nothing new.
func TestPlanSyncIdempotent(t *testing.T) {
	in := roster.PlanInput{
		Profile:         "eng",
		Matching:        []string{"a", "b", "c"},
		Members:         members(roster.MemberAutomation, "c", "d"),
		OpenEnrollments: []roster.OpenTask{{ID: 1, User: "z", Origin: roster.OriginAutomation}},
	}
	first := roster.PlanSync(in)
	if first.Empty() {
		t.Fatal("first plan is empty")
	}
	next := in
	next.OpenEnrollments = nil
	for i, u := range first.Enroll {
		next.OpenEnrollments = append(next.OpenEnrollments, roster.OpenTask{ID: int64(10 + i), User: u, Origin: roster.OriginAutomation})
	}
	for i, u := range first.Unenroll {
		next.OpenUnenrollments = append(next.OpenUnenrollments, roster.OpenTask{ID: int64(20 + i), User: u, Origin: roster.OriginAutomation})
	}
	if second := roster.PlanSync(next); !second.Empty() {
		t.Fatalf("second plan = %+v, want empty", second)
	}
}
