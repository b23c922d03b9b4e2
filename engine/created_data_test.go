package engine

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/rosterhq/roster"
)

// createdData encodes by hand what json.Marshal made of the event's map.
func TestCreatedDataIsWhatJSONMarshalMakes(t *testing.T) {
	for _, task := range []roster.Task{
		{Kind: roster.TaskGrant, User: "alice", Entitlement: "github/org-member", Origin: roster.OriginEnrollment, Profile: "eng", Policy: "auto", Bypass: "covered by the approval of enrollment task 7"},
		{Kind: roster.TaskRevoke, User: "bob", Entitlement: "access-profiles/eng", Origin: roster.OriginAutomation, Profile: "eng"},
		{Kind: roster.TaskGrant, User: "zoë", Entitlement: "a/b", Origin: roster.OriginManual, Bypass: "\"quoted\" <b>&\\ \n\t\x01 é"},
	} {
		for _, done := range []bool{false, true} {
			m := map[string]any{"kind": task.Kind, "user": task.User, "entitlement": task.Entitlement, "origin": task.Origin,
				"profile": task.Profile, "policy": task.Policy, "bypass": task.Bypass}
			if done {
				m["state"] = roster.StateDone
			}
			want, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := createdData(&task, done, nil); string(got) != string(want) {
				t.Errorf("createdData = %s\njson.Marshal = %s", got, want)
			}
			if !done {
				continue
			}
			// With effects folded in, in json.Marshal's order of keys too,
			// so the chain hashes the data as it is (roster.CanonicalData).
			effects := []roster.Effect{
				{Action: roster.ActionMemberAdded, ObjectType: "profile", ObjectID: "eng", Reason: "enrollment task 7 done", Data: json.RawMessage(`{"source":"automation","user":"` + task.User + `"}`)},
				{Action: roster.ActionGrantRemoved, ObjectType: "grant", ObjectID: task.User + " " + task.Entitlement},
			}
			m["effects"] = []map[string]any{
				{"action": effects[0].Action, "object_type": "profile", "object_id": "eng", "reason": effects[0].Reason, "data": map[string]any{"source": "automation", "user": task.User}},
				{"action": effects[1].Action, "object_type": "grant", "object_id": effects[1].ObjectID},
			}
			if want, err = json.Marshal(m); err != nil {
				t.Fatal(err)
			}
			got := createdData(&task, done, effects)
			if string(got) != string(want) {
				t.Errorf("createdData with effects = %s\njson.Marshal = %s", got, want)
			}
			if roster.CanonicalData(createdData(&task, done, nil)) && !roster.CanonicalData(got) {
				t.Errorf("createdData with effects is not canonical: %s", got)
			}
		}
	}
}

// TestInstantTasksHaveTheInstantHistory: the tasks a sync creates done —
// the enrollment under an auto policy and the profile's access, approval
// bypassed — have exactly roster.InstantHistory, which the stores keep as a
// mark instead of the history's JSON (sqlstore.TaskArgs).
func TestInstantTasksHaveTheInstantHistory(t *testing.T) {
	w := newWorkerEngine(t)
	w.apply(t, `policies: [{id: auto, steps: []}]
users: [{id: u1}, {id: u2}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}, {id: e2, provisioning: auto}]}]
grants: [{user: u1, entitlement: a/e1}, {user: u2, entitlement: a/e1}]
profiles:
  - {id: p1, name: p1, entitlements: [a/e2], enrollment: {policy: auto, bypass_entitlement_policies: true}, automation: {enabled: true, mode: sync_and_act, any_entitlement: [a/e1]}}
`)
	page, err := w.e.Tasks(w.admin, roster.TaskFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	bypassed := 0
	for _, task := range page.Items {
		if task.State != roster.StateDone {
			t.Errorf("task %d on %s is %s, want done", task.ID, task.Entitlement, task.State)
		}
		if want := roster.InstantHistory(&task); !reflect.DeepEqual(task.History, want) {
			t.Errorf("task %d on %s: history %+v, want %+v", task.ID, task.Entitlement, task.History, want)
		}
		if task.Bypass != "" {
			bypassed++
		}
	}
	if len(page.Items) != 4 || bypassed != 2 {
		t.Errorf("%d tasks, %d with approval bypassed; want 4 (two enrollments, two grants of a/e2) and 2", len(page.Items), bypassed)
	}
}
