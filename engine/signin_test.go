package engine

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/sqlite"
)

// TestSignIn checks who an SSO sign-in names, the reasons it is refused for,
// and the audit event each outcome leaves.
func TestSignIn(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := New(Config{Store: store, Clock: roster.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))})
	if _, err := e.Bootstrap(ctx, "signin-test-admin-token"); err != nil {
		t.Fatal(err)
	}
	admin := roster.NewContext(ctx, roster.AdminUser)
	doc := `
users:
  - {id: alice, email: Alice@Example.com, name: Alice}
  - {id: george, email: george@example.com, name: George, status: disabled}
  - {id: twin1, email: twin@example.com, name: Twin One}
  - {id: twin2, email: twin@example.com, name: Twin Two}
`
	if _, err := e.Apply(admin, roster.ApplyRequest{Filename: "test", Document: []byte(doc)}); err != nil {
		t.Fatalf("apply: %v %v", err, roster.ErrorDetails(err))
	}

	for _, tc := range []struct {
		name     string
		email    string
		verified bool
		user     string // "" when refused
		object   string
		reason   string
	}{
		{name: "case-insensitive match", email: "alice@example.COM", verified: true, user: "alice", object: "alice"},
		{name: "unverified", email: "alice@example.com", verified: false, reason: "has not verified the email address alice@example.com"},
		{name: "no email", email: "", verified: true, reason: "sent no email address"},
		{name: "unknown", email: "mallory@example.com", verified: true, reason: "no Roster user has the email address mallory@example.com"},
		{name: "disabled", email: "george@example.com", verified: true, object: "george", reason: "user george (george@example.com) is disabled"},
		{name: "ambiguous", email: "twin@example.com", verified: true, reason: "2 Roster users have the email address twin@example.com"},
		{name: "control characters", email: "a\x00b@example.com", verified: true, reason: "no Roster user has the email address a?b@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := e.SignIn(ctx, tc.email, tc.verified)
			if tc.user != "" {
				if err != nil || s.User != tc.user || s.Secret == "" || s.Method != roster.SignInSSO {
					t.Fatalf("SignIn(%q) = %+v, %v; want a session of %q", tc.email, s, err, tc.user)
				}
			} else {
				if err == nil || roster.ErrorCode(err) != roster.EUNAUTHORIZED || !strings.Contains(roster.ErrorMessage(err), tc.reason) {
					t.Fatalf("SignIn(%q) = %+v, %v; want EUNAUTHORIZED with %q", tc.email, s, err, tc.reason)
				}
			}
			evs, err := e.Events(admin, roster.EventFilter{Limit: roster.MaxPageSize})
			if err != nil {
				t.Fatal(err)
			}
			last := evs.Items[len(evs.Items)-1]
			want := roster.ActionUserSignedIn
			actor := tc.user
			if tc.user == "" {
				want, actor = roster.ActionSignInRefused, ActorSystem
			}
			if last.Action != want || last.Actor != actor || last.ObjectType != "user" || last.ObjectID != tc.object || !strings.Contains(last.Reason, tc.reason) {
				t.Errorf("last event = %+v, want %s by %s about user %q with reason %q", last, want, actor, tc.object, tc.reason)
			}
			var data struct {
				Email    string `json:"email"`
				Verified bool   `json:"email_verified"`
			}
			if err := json.Unmarshal(last.Data, &data); err != nil || !strings.EqualFold(data.Email, strings.ReplaceAll(tc.email, "\x00", "?")) || data.Verified != tc.verified {
				t.Errorf("event data %s (%v), want the email %q and email_verified %v", last.Data, err, tc.email, tc.verified)
			}
		})
	}
}
