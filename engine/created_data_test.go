package engine

import (
	"encoding/json"
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
			if got := createdData(&task, done); string(got) != string(want) {
				t.Errorf("createdData = %s\njson.Marshal = %s", got, want)
			}
		}
	}
}
