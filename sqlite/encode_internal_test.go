package sqlite

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// TestPlainStrings checks the encoder's shortcut for lists of strings
// against json.Marshal, on strings it takes and strings it leaves to it.
func TestPlainStrings(t *testing.T) {
	for _, ss := range [][]string{
		nil, {}, {""}, {"direct"}, {"direct", "profile:eng", "a b/c.d-e_f@g"},
		{"tab\t"}, {"quote\""}, {"back\\slash"}, {"<b>"}, {"a&b"}, {"émile"}, {"\u2028"}, {"del\x7f"}, {"ok", "nul\x00"},
	} {
		want, err := json.Marshal(ss)
		if err != nil {
			t.Fatal(err)
		}
		var e encoder
		if got := e.json(ss); got != string(want) || e.err != nil {
			t.Errorf("json(%q) = %s, %v; want %s", ss, got, e.err, want)
		}
	}
	if _, ok := plainStrings([]string{"a", "b\"c"}); ok {
		t.Error("plainStrings took a string with a quote")
	}
	if s, ok := plainStrings([]string{"a", "b"}); !ok || s != `["a","b"]` {
		t.Errorf(`plainStrings(a, b) = %s, %t`, s, ok)
	}
}

// FuzzPlainStrings checks that whatever the shortcut takes it encodes as
// json.Marshal does.
func FuzzPlainStrings(f *testing.F) {
	f.Add("direct", "profile:eng")
	f.Add("a\"b", "<")
	f.Fuzz(func(t *testing.T, a, b string) {
		ss := []string{a, b}
		want, _ := json.Marshal(ss)
		if got, ok := plainStrings(ss); ok && got != string(want) {
			t.Fatalf("plainStrings(%q) = %s, want %s", ss, got, want)
		}
	})
}

// TestInstantHistoryMark checks that a task done the moment it was created
// is written with the mark in place of its history (the history column is
// the 17th of sqlstore.TaskArgs), and a task whose history differs from
// roster.InstantHistory in a comment with its history as JSON.
func TestInstantHistoryMark(t *testing.T) {
	at := time.Date(2026, 12, 7, 13, 0, 0, 123456789, time.UTC)
	task := roster.Task{
		Kind: roster.TaskGrant, User: "u1", Entitlement: "github/admin", State: roster.StateDone,
		Origin: roster.OriginEnrollment, Profile: "eng", Policy: "auto", Provisioning: roster.ProvisionAuto,
		Bypass: "covered by the approval of enrollment task 7", RequestedBy: "automation",
		Reason: "access of profile eng", CreatedAt: at, UpdatedAt: at, ClosedAt: &at,
	}
	task.History = roster.InstantHistory(&task)
	args, err := sqlstore.TaskArgs(dialect{}, &task)
	if err != nil {
		t.Fatal(err)
	}
	if got := args[16]; got != "1" {
		t.Errorf("history of an instant task stored as %v, want the mark 1", got)
	}
	task.History[1].Comment = "by hand"
	args, err = sqlstore.TaskArgs(dialect{}, &task)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := args[16].(string); !strings.HasPrefix(got, `[{"at":`) || !strings.Contains(got, "by hand") {
		t.Errorf("history that is not instant stored as %v, want it as JSON", args[16])
	}
}
