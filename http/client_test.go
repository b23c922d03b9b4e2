package http_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
)

// TestClientCallsEveryMethod sends each roster.Service method through Client
// and Server, and checks that the service received the call with its
// arguments, acting as the token's user, and that the answer came back whole.
func TestClientCallsEveryMethod(t *testing.T) {
	ts := newTestServer(t)
	c := rosterhttp.NewClient(ts.URL+"/", "alice-token")
	ctx := context.Background()

	for _, tt := range []struct {
		method string
		args   []any
		run    func() (any, error)
		want   any
	}{
		{"Apply", []any{roster.ApplyRequest{Filename: "a.yaml", Document: []byte("users: []"), DryRun: true}},
			func() (any, error) {
				return c.Apply(ctx, roster.ApplyRequest{Filename: "a.yaml", Document: []byte("users: []"), DryRun: true})
			},
			&roster.ApplyResult{DryRun: true, Changes: []string{"read users: []"}}},
		{"Sync", []any{"eng"}, func() (any, error) { return c.Sync(ctx, "eng") },
			&roster.SyncResult{Profile: "eng", Enrolled: []string{"alice"}, TasksCreated: 1, At: at}},
		{"SyncAll", nil, func() (any, error) { return c.SyncAll(ctx) },
			[]roster.SyncResult{{Profile: "eng", At: at}, {Profile: "ops", Paused: true, At: at}}},
		{"Resume", []any{"ops"}, func() (any, error) { return c.Resume(ctx, "ops") },
			&roster.SyncResult{Profile: "ops", Unenrolled: []string{"bob"}, At: at}},
		// Profile reads the view without members, then follows the pages
		// of members to the last.
		{"ProfileMembers", []any{"eng", roster.MemberFilter{Cursor: "c1", Limit: roster.MaxPageSize}}, func() (any, error) { return c.Profile(ctx, "eng") },
			&roster.ProfileView{ID: "eng", Members: []roster.MemberView{{User: "alice", Source: roster.MemberManual, Since: at}, {User: "bob", Source: roster.MemberAutomation, Since: at}}}},
		{"Profiles", []any{roster.ProfileFilter{User: "bob", WithoutMembers: true}}, func() (any, error) {
			return c.Profiles(ctx, roster.ProfileFilter{User: "bob", WithoutMembers: true})
		},
			[]roster.ProfileView{{ID: "eng"}, {ID: "ops"}}},
		{"Enroll", []any{"eng", []string{"bob", "dan"}, "new hires"},
			func() (any, error) { return c.Enroll(ctx, "eng", []string{"bob", "dan"}, "new hires") },
			tasksFor("eng", []string{"bob", "dan"})},
		{"Unenroll", []any{"eng", []string{"bob"}, "left", false},
			func() (any, error) { return c.Unenroll(ctx, "eng", []string{"bob"}, "left", false) },
			tasksFor("eng", []string{"bob"})},
		{"RequestProfile", []any{"eng", "please"}, func() (any, error) { return c.RequestProfile(ctx, "eng", "please") },
			&roster.Task{ID: 7, Profile: "eng", User: "alice", Reason: "please"}},
		{"Task", []any{int64(42)}, func() (any, error) { return c.Task(ctx, 42) },
			&roster.Task{ID: 42, State: roster.StatePendingApproval, CreatedAt: at}},
		{"TaskView", []any{int64(43)}, func() (any, error) { return c.TaskView(ctx, 43) }, taskViewOf(43)},
		{"Tasks", []any{roster.TaskFilter{User: "bob", OpenOnly: true, Approver: "sam", Cursor: "c1", Limit: 50}},
			func() (any, error) {
				return c.Tasks(ctx, roster.TaskFilter{User: "bob", OpenOnly: true, Approver: "sam", Cursor: "c1", Limit: 50})
			},
			&roster.Page[roster.Task]{Items: []roster.Task{{ID: 1, User: "bob"}}, NextCursor: "next:c1"}},
		{"ApproveTask", []any{int64(5), "ok"}, func() (any, error) { return c.ApproveTask(ctx, 5, "ok") },
			actedTask(5, "ApproveTask", "ok")},
		{"DenyTask", []any{int64(6), "no"}, func() (any, error) { return c.DenyTask(ctx, 6, "no") },
			actedTask(6, "DenyTask", "no")},
		{"ProvisionTask", []any{int64(7), "done in console"}, func() (any, error) { return c.ProvisionTask(ctx, 7, "done in console") },
			actedTask(7, "ProvisionTask", "done in console")},
		{"CancelTask", []any{int64(8), ""}, func() (any, error) { return c.CancelTask(ctx, 8, "") },
			actedTask(8, "CancelTask", "")},
		{"Grants", []any{roster.GrantFilter{User: "bob", Entitlement: "github/admin", App: "github", Cursor: "g", Limit: 3}},
			func() (any, error) {
				return c.Grants(ctx, roster.GrantFilter{User: "bob", Entitlement: "github/admin", App: "github", Cursor: "g", Limit: 3})
			},
			&roster.Page[roster.Grant]{Items: []roster.Grant{{User: "bob", Entitlement: "github/admin", Sources: []string{"direct"}}}}},
		{"AddGrant", []any{"bob", "github/admin"}, func() (any, error) { return c.AddGrant(ctx, "bob", "github/admin") },
			&roster.Grant{User: "bob", Entitlement: "github/admin", Sources: []string{"direct"}, CreatedAt: at}},
		{"RemoveGrant", []any{"bob", "github/admin"}, func() (any, error) { return nil, c.RemoveGrant(ctx, "bob", "github/admin") },
			nil},
		{"User", []any{"bob"}, func() (any, error) { return c.User(ctx, "bob") },
			&roster.User{ID: "bob", Status: roster.UserActive, Attributes: map[string]string{"site": "berlin"}}},
		{"Users", []any{roster.UserFilter{Status: "active", Department: "Sales", Manager: "carol", Cursor: "u", Limit: 9}},
			func() (any, error) {
				return c.Users(ctx, roster.UserFilter{Status: "active", Department: "Sales", Manager: "carol", Cursor: "u", Limit: 9})
			},
			&roster.Page[roster.User]{Items: []roster.User{{ID: "alice", Department: "Sales"}}}},
		{"Apps", nil, func() (any, error) { return c.Apps(ctx) },
			[]roster.App{{ID: "github", Owners: []string{"carol"}}}},
		{"Entitlements", []any{roster.EntitlementFilter{App: "github", Cursor: "e", Limit: 1}},
			func() (any, error) {
				return c.Entitlements(ctx, roster.EntitlementFilter{App: "github", Cursor: "e", Limit: 1})
			},
			&roster.Page[roster.Entitlement]{Items: []roster.Entitlement{{ID: "github/org-member", App: "github"}}}},
		{"Policies", nil, func() (any, error) { return c.Policies(ctx) },
			[]roster.Policy{{ID: "manager", Steps: []roster.Step{{Approvers: "manager", Fallback: []string{"sam"}}}}}},
		{"Settings", nil, func() (any, error) { return c.Settings(ctx) },
			ptr(roster.DefaultSettings())},
		{"Events", []any{roster.EventFilter{Action: "task.approve", Actor: "sam", ObjectType: "task", ObjectID: "5", Since: at, Cursor: "x", Limit: 4}},
			func() (any, error) {
				return c.Events(ctx, roster.EventFilter{Action: "task.approve", Actor: "sam", ObjectType: "task", ObjectID: "5", Since: at, Cursor: "x", Limit: 4})
			},
			&roster.Page[roster.Event]{Items: []roster.Event{{ID: 3, At: at, Action: "task.approve", Data: []byte(`{"n":1}`)}}}},
		{"VerifyAudit", nil, func() (any, error) { return c.VerifyAudit(ctx) },
			&roster.AuditVerification{Events: 7, LastID: 6, LastHash: roster.GenesisHash,
				Broken: &roster.AuditBreak{ID: 7, Action: "task.approved", At: at, Problem: roster.AuditBrokenLink, Detail: "gone"}}},
		{"ExportEvents", []any{at.Add(time.Hour)}, func() (any, error) {
			var got []roster.Event
			err := c.ExportEvents(ctx, at.Add(time.Hour), func(ev *roster.Event) error { got = append(got, *ev); return nil })
			return got, err
		}, []roster.Event{
			{ID: 1, At: at, Action: "grant.added", Data: []byte(`{"n":1}`), Hash: roster.GenesisHash},
			{ID: 2, At: at, Action: "grant.added", Data: []byte(`{"n":1}`), Hash: roster.GenesisHash},
			{ID: 3, At: at.Add(time.Hour), Action: "grant.added", Data: []byte(`{"n":1}`), Hash: roster.GenesisHash}}},
		{"CreateToken", []any{roster.TokenRequest{User: "bob", Name: "ci", Expires: "90d"}},
			func() (any, error) {
				return c.CreateToken(ctx, roster.TokenRequest{User: "bob", Name: "ci", Expires: "90d"})
			},
			&roster.Token{ID: "tok_1", User: "bob", Name: "ci", Issuer: "alice", Token: "secret-for-bob"}},
		{"Tokens", []any{"bob"}, func() (any, error) { return c.Tokens(ctx, "bob") },
			[]roster.Token{{ID: "tok_1", User: "bob", Issuer: "bob", CreatedAt: at}}},
		{"RevokeToken", []any{"tok_1"}, func() (any, error) { return c.RevokeToken(ctx, "tok_1") },
			&roster.Token{ID: "tok_1", User: "bob", Issuer: "bob", CreatedAt: at, RevokedAt: &at}},
		{"Sessions", []any{""}, func() (any, error) { return c.Sessions(ctx, "") },
			[]roster.Session{{ID: "ses_1", User: "bob", Method: roster.SignInSSO, CreatedAt: at, LastUsedAt: at, ExpiresAt: at}}},
		{"RevokeSession", []any{"ses_1"}, func() (any, error) { return c.RevokeSession(ctx, "ses_1") },
			&roster.Session{ID: "ses_1", User: "bob", Method: roster.SignInSSO, CreatedAt: at, LastUsedAt: at, ExpiresAt: at}},
		{"Delegate", []any{"carol", roster.DelegationRequest{Delegate: "sam", Until: at}},
			func() (any, error) {
				return c.Delegate(ctx, "carol", roster.DelegationRequest{Delegate: "sam", Until: at})
			},
			&roster.Delegation{User: "carol", Delegate: "sam", Until: at, SetBy: "alice", SetAt: at}},
		{"EndDelegation", []any{"carol"}, func() (any, error) { return c.EndDelegation(ctx, "carol") },
			&roster.Delegation{User: "carol", Delegate: "sam", Until: at, SetBy: "carol", SetAt: at}},
		{"Delegations", []any{"carol"}, func() (any, error) { return c.Delegations(ctx, "carol") },
			&roster.UserDelegations{User: "carol", Delegate: &roster.Delegation{User: "carol", Delegate: "sam", Until: at, SetBy: "carol", SetAt: at},
				DecidesFor: []roster.Delegation{{User: "dana", Delegate: "carol", Until: at, SetBy: "dana", SetAt: at}}}},
		{"Whoami", nil, func() (any, error) { return c.Whoami(ctx) },
			&roster.User{ID: "alice", Role: roster.RoleAdmin}},
	} {
		t.Run(tt.method, func(t *testing.T) {
			got, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			if tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %#v\nwant %#v", got, tt.want)
			}
			want := call{Method: tt.method, Actor: "alice", Args: tt.args}
			if got := ts.service.last(); !reflect.DeepEqual(got, want) {
				t.Errorf("service received %#v\nwant %#v", got, want)
			}
		})
	}
}

func actedTask(id int64, action, comment string) *roster.Task {
	return &roster.Task{ID: id, History: []roster.TaskAction{{At: at, Actor: "alice", Action: roster.HistoryAction(action), Comment: comment}}}
}

func ptr[T any](v T) *T { return &v }

func TestClientErrorRoundTrip(t *testing.T) {
	for _, want := range []*roster.Error{
		{Code: roster.EINVALID, Message: "a.yaml is invalid", Details: []string{"line 3: unknown key \"nme\"", "line 9: no policy \"mgr\""}},
		{Code: roster.ENOTFOUND, Message: "no profile \"eng\""},
		{Code: roster.ECONFLICT, Message: "bob is already a member"},
		{Code: roster.EFORBIDDEN, Message: "only admins may sync"},
	} {
		t.Run(want.Code, func(t *testing.T) {
			ts := newTestServer(t)
			ts.service.err = want
			_, err := rosterhttp.NewClient(ts.URL, "alice-token").Sync(context.Background(), "eng")
			var got *roster.Error
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T) is not a *roster.Error", err, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("error = %#v, want %#v", got, want)
			}
		})
	}

	t.Run("bad token", func(t *testing.T) {
		ts := newTestServer(t)
		_, err := rosterhttp.NewClient(ts.URL, "wrong").Whoami(context.Background())
		if roster.ErrorCode(err) != roster.EUNAUTHORIZED {
			t.Errorf("error = %v, want code unauthorized", err)
		}
	})
	t.Run("internal", func(t *testing.T) {
		ts := newTestServer(t)
		ts.service.err = errors.New("secret stack trace")
		_, err := rosterhttp.NewClient(ts.URL, "alice-token").Apps(context.Background())
		if roster.ErrorCode(err) != roster.EINTERNAL || roster.ErrorMessage(err) != "internal error" {
			t.Errorf("error = %v, want internal error without its text", err)
		}
	})
}

func TestClientNonJSONError(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream timed out", http.StatusBadGateway)
	}))
	defer proxy.Close()

	_, err := rosterhttp.NewClient(proxy.URL, "t").Profiles(context.Background(), roster.ProfileFilter{})
	var e *roster.Error
	if !errors.As(err, &e) || e.Code != roster.EINTERNAL {
		t.Fatalf("error = %v, want an EINTERNAL *roster.Error", err)
	}
	if !strings.Contains(e.Message, "502") {
		t.Errorf("message %q does not mention the status", e.Message)
	}
}

func TestClientUnreachable(t *testing.T) {
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL
	gone.Close()

	_, err := rosterhttp.NewClient(url, "t").Whoami(context.Background())
	if err == nil || !strings.Contains(err.Error(), "could not reach") || !strings.Contains(err.Error(), url) {
		t.Errorf("error = %v, want one saying the server at %s could not be reached", err, url)
	}
}
