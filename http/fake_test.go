package http_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rosterhq/roster"
)

// call is one call the fake service received.
type call struct {
	Method string
	Actor  string
	Args   []any
}

// fakeService records each call with the acting user and answers with values
// built from its arguments, so a test can tell that arguments and results
// crossed the wire intact. When err is set, every method returns it.
type fakeService struct {
	mu    sync.Mutex
	calls []call
	err   error
	// work is how long Apply and Plan take, as a large file's would.
	work time.Duration
}

var _ roster.Service = (*fakeService)(nil)

func (f *fakeService) record(ctx context.Context, method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Method: method, Actor: roster.ActorFromContext(ctx), Args: args})
	return f.err
}

// count returns how many calls the service received.
func (f *fakeService) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// changes counts the calls received other than Whoami, which the server
// makes to check the caller's role before reading a large body.
func (f *fakeService) changes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c.Method != "Whoami" {
			n++
		}
	}
	return n
}

// last returns the last call received, or a zero call.
func (f *fakeService) last() call {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return call{}
	}
	return f.calls[len(f.calls)-1]
}

var at = time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)

func (f *fakeService) Apply(ctx context.Context, req roster.ApplyRequest) (*roster.ApplyResult, error) {
	if err := f.record(ctx, "Apply", req); err != nil {
		return nil, err
	}
	time.Sleep(f.work)
	return &roster.ApplyResult{DryRun: req.DryRun, Changes: []string{"read " + string(req.Document)}}, nil
}

func (f *fakeService) Plan(ctx context.Context, req roster.ApplyRequest) (*roster.ChangePlan, error) {
	if err := f.record(ctx, "Plan", req); err != nil {
		return nil, err
	}
	time.Sleep(f.work)
	return &roster.ChangePlan{Changes: []roster.ObjectChange{{Kind: "user", ID: string(req.Document), Op: roster.ChangeAdd}}}, nil
}

func (f *fakeService) Sync(ctx context.Context, profile string) (*roster.SyncResult, error) {
	if err := f.record(ctx, "Sync", profile); err != nil {
		return nil, err
	}
	return &roster.SyncResult{Profile: profile, Enrolled: []string{"alice"}, TasksCreated: 1, At: at}, nil
}

func (f *fakeService) SyncAll(ctx context.Context) ([]roster.SyncResult, error) {
	if err := f.record(ctx, "SyncAll"); err != nil {
		return nil, err
	}
	return []roster.SyncResult{{Profile: "eng", At: at}, {Profile: "ops", Paused: true, At: at}}, nil
}

func (f *fakeService) Resume(ctx context.Context, profile string) (*roster.SyncResult, error) {
	if err := f.record(ctx, "Resume", profile); err != nil {
		return nil, err
	}
	return &roster.SyncResult{Profile: profile, Unenrolled: []string{"bob"}, At: at}, nil
}

func (f *fakeService) Profile(ctx context.Context, id string) (*roster.ProfileView, error) {
	if err := f.record(ctx, "Profile", id); err != nil {
		return nil, err
	}
	return &roster.ProfileView{ID: id, Members: []roster.MemberView{{User: "alice", Source: roster.MemberManual, Since: at}}}, nil
}

func (f *fakeService) Profiles(ctx context.Context, filter roster.ProfileFilter) ([]roster.ProfileView, error) {
	if err := f.record(ctx, "Profiles", filter); err != nil {
		return nil, err
	}
	if filter.ID != "" {
		return []roster.ProfileView{{ID: filter.ID}}, nil
	}
	return []roster.ProfileView{{ID: "eng"}, {ID: "ops"}}, nil
}

func (f *fakeService) ProfileMembers(ctx context.Context, profile string, filter roster.MemberFilter) (*roster.Page[roster.MemberView], error) {
	if err := f.record(ctx, "ProfileMembers", profile, filter); err != nil {
		return nil, err
	}
	if filter.Cursor == "" {
		return &roster.Page[roster.MemberView]{Items: []roster.MemberView{{User: "alice", Source: roster.MemberManual, Since: at}}, NextCursor: "c1"}, nil
	}
	return &roster.Page[roster.MemberView]{Items: []roster.MemberView{{User: "bob", Source: roster.MemberAutomation, Since: at}}}, nil
}

func (f *fakeService) Enroll(ctx context.Context, profile string, users []string, comment string) ([]roster.Task, error) {
	if err := f.record(ctx, "Enroll", profile, users, comment); err != nil {
		return nil, err
	}
	return tasksFor(profile, users), nil
}

func (f *fakeService) Unenroll(ctx context.Context, profile string, users []string, comment string, exclude bool) ([]roster.Task, error) {
	if err := f.record(ctx, "Unenroll", profile, users, comment, exclude); err != nil {
		return nil, err
	}
	return tasksFor(profile, users), nil
}

func tasksFor(profile string, users []string) []roster.Task {
	var tasks []roster.Task
	for i, u := range users {
		tasks = append(tasks, roster.Task{ID: int64(i + 1), User: u, Profile: profile, Entitlement: roster.EnrollmentEntitlement(profile)})
	}
	return tasks
}

func (f *fakeService) RequestProfile(ctx context.Context, profile string, comment string) (*roster.Task, error) {
	if err := f.record(ctx, "RequestProfile", profile, comment); err != nil {
		return nil, err
	}
	return &roster.Task{ID: 7, Profile: profile, User: roster.ActorFromContext(ctx), Reason: comment}, nil
}

func (f *fakeService) Task(ctx context.Context, id int64) (*roster.Task, error) {
	if err := f.record(ctx, "Task", id); err != nil {
		return nil, err
	}
	return &roster.Task{ID: id, State: roster.StatePendingApproval, CreatedAt: at}, nil
}

func (f *fakeService) TaskView(ctx context.Context, id int64) (*roster.TaskView, error) {
	if err := f.record(ctx, "TaskView", id); err != nil {
		return nil, err
	}
	return taskViewOf(id), nil
}

// taskViewOf is the view the fake service answers for task id.
func taskViewOf(id int64) *roster.TaskView {
	return &roster.TaskView{Task: roster.Task{ID: id, User: "bob", CreatedAt: at}, Subject: roster.Person{ID: "bob", Name: "Bob", Title: "Engineer"},
		Manager: &roster.Person{ID: "carol", Name: "Carol"}, Asked: roster.EntitlementName{ID: "github/admin", AppName: "GitHub", Name: "Owner", Risk: "high"},
		Contents: []roster.ProfileContent{{EntitlementName: roster.EntitlementName{ID: "slack/eng"}, Held: true}},
		Why:      "asked", Access: []roster.GrantName{{Grant: roster.Grant{User: "bob", Entitlement: "slack/eng", Sources: []string{"direct"}}}},
		AccessShown: true, People: map[string]string{"bob": "Bob"}}
}

func (f *fakeService) Tasks(ctx context.Context, fl roster.TaskFilter) (*roster.Page[roster.Task], error) {
	if err := f.record(ctx, "Tasks", fl); err != nil {
		return nil, err
	}
	return &roster.Page[roster.Task]{Items: []roster.Task{{ID: 1, User: fl.User}}, NextCursor: "next:" + fl.Cursor}, nil
}

func (f *fakeService) taskAction(ctx context.Context, method string, id int64, comment string) (*roster.Task, error) {
	if err := f.record(ctx, method, id, comment); err != nil {
		return nil, err
	}
	return &roster.Task{ID: id, History: []roster.TaskAction{{At: at, Actor: roster.ActorFromContext(ctx), Action: roster.HistoryAction(method), Comment: comment}}}, nil
}

func (f *fakeService) ApproveTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return f.taskAction(ctx, "ApproveTask", id, comment)
}

func (f *fakeService) DenyTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return f.taskAction(ctx, "DenyTask", id, comment)
}

func (f *fakeService) ProvisionTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return f.taskAction(ctx, "ProvisionTask", id, comment)
}

func (f *fakeService) CancelTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return f.taskAction(ctx, "CancelTask", id, comment)
}

func (f *fakeService) RetryTask(ctx context.Context, id int64, comment string) (*roster.Task, error) {
	return f.taskAction(ctx, "RetryTask", id, comment)
}

func (f *fakeService) Connectors(ctx context.Context) ([]roster.Connector, error) {
	if err := f.record(ctx, "Connectors"); err != nil {
		return nil, err
	}
	return []roster.Connector{{ID: "corp-ldap", Type: "ldap", App: "ldap", Status: roster.ConnectorStatus{State: roster.ConnectorActive}}}, nil
}

func (f *fakeService) Connector(ctx context.Context, id string) (*roster.Connector, error) {
	if err := f.record(ctx, "Connector", id); err != nil {
		return nil, err
	}
	return &roster.Connector{ID: id, Type: "ldap", App: "ldap", Status: roster.ConnectorStatus{State: roster.ConnectorActive}}, nil
}

func (f *fakeService) SyncConnector(ctx context.Context, id string) (*roster.ConnectorSyncResult, error) {
	if err := f.record(ctx, "SyncConnector", id); err != nil {
		return nil, err
	}
	return &roster.ConnectorSyncResult{Connector: id, Users: roster.ConnectorUserCounts{Added: 1}}, nil
}

func (f *fakeService) Webhooks(ctx context.Context) ([]roster.WebhookStatus, error) {
	return nil, nil
}

func (f *fakeService) TestWebhook(ctx context.Context, id string) (*roster.WebhookTestResult, error) {
	return nil, roster.Errorf(roster.ENOTFOUND, "webhook %q is not declared", id)
}

func (f *fakeService) ResumeConnector(ctx context.Context, id string) (*roster.ConnectorSyncResult, error) {
	if err := f.record(ctx, "ResumeConnector", id); err != nil {
		return nil, err
	}
	return &roster.ConnectorSyncResult{Connector: id, Grants: roster.ConnectorChangeCounts{Removed: 2}}, nil
}

func (f *fakeService) Grants(ctx context.Context, fl roster.GrantFilter) (*roster.Page[roster.Grant], error) {
	if err := f.record(ctx, "Grants", fl); err != nil {
		return nil, err
	}
	return &roster.Page[roster.Grant]{Items: []roster.Grant{{User: fl.User, Entitlement: fl.Entitlement, Sources: []string{roster.SourceDirect}}}}, nil
}

func (f *fakeService) AddGrant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	if err := f.record(ctx, "AddGrant", user, entitlement); err != nil {
		return nil, err
	}
	return &roster.Grant{User: user, Entitlement: entitlement, Sources: []string{roster.SourceDirect}, CreatedAt: at}, nil
}

func (f *fakeService) RemoveGrant(ctx context.Context, user, entitlement string) error {
	return f.record(ctx, "RemoveGrant", user, entitlement)
}

func (f *fakeService) Changes(ctx context.Context, fl roster.ChangeFilter) ([]roster.ChangeRequest, error) {
	return nil, f.record(ctx, "Changes", fl)
}

func (f *fakeService) Change(ctx context.Context, id int64) (*roster.ChangeRequest, error) {
	return &roster.ChangeRequest{ID: id}, f.record(ctx, "Change", id)
}

func (f *fakeService) ApproveChange(ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error) {
	return &roster.ChangeRequest{ID: id}, f.record(ctx, "ApproveChange", id, comment)
}

func (f *fakeService) DenyChange(ctx context.Context, id int64, comment string) (*roster.ChangeRequest, error) {
	return &roster.ChangeRequest{ID: id}, f.record(ctx, "DenyChange", id, comment)
}

func (f *fakeService) Why(ctx context.Context, user, entitlement string) (*roster.Explanation, error) {
	if err := f.record(ctx, "Why", user, entitlement); err != nil {
		return nil, err
	}
	return &roster.Explanation{User: user, Entitlement: entitlement}, nil
}

func (f *fakeService) User(ctx context.Context, id string) (*roster.User, error) {
	if err := f.record(ctx, "User", id); err != nil {
		return nil, err
	}
	return &roster.User{ID: id, Status: roster.UserActive, Attributes: map[string]string{"site": "berlin"}}, nil
}

func (f *fakeService) Users(ctx context.Context, fl roster.UserFilter) (*roster.Page[roster.User], error) {
	if err := f.record(ctx, "Users", fl); err != nil {
		return nil, err
	}
	return &roster.Page[roster.User]{Items: []roster.User{{ID: "alice", Department: fl.Department}}}, nil
}

func (f *fakeService) Apps(ctx context.Context) ([]roster.App, error) {
	if err := f.record(ctx, "Apps"); err != nil {
		return nil, err
	}
	return []roster.App{{ID: "github", Owners: []string{"carol"}}}, nil
}

func (f *fakeService) Entitlements(ctx context.Context, fl roster.EntitlementFilter) (*roster.Page[roster.Entitlement], error) {
	if err := f.record(ctx, "Entitlements", fl); err != nil {
		return nil, err
	}
	return &roster.Page[roster.Entitlement]{Items: []roster.Entitlement{{ID: fl.App + "/org-member", App: fl.App}}}, nil
}

func (f *fakeService) Policies(ctx context.Context) ([]roster.Policy, error) {
	if err := f.record(ctx, "Policies"); err != nil {
		return nil, err
	}
	return []roster.Policy{{ID: "manager", Steps: []roster.Step{{Approvers: roster.ApproverManager, Fallback: []string{"sam"}}}}}, nil
}

func (f *fakeService) Settings(ctx context.Context) (*roster.Settings, error) {
	if err := f.record(ctx, "Settings"); err != nil {
		return nil, err
	}
	s := roster.DefaultSettings()
	return &s, nil
}

func (f *fakeService) Events(ctx context.Context, fl roster.EventFilter) (*roster.Page[roster.Event], error) {
	if err := f.record(ctx, "Events", fl); err != nil {
		return nil, err
	}
	return &roster.Page[roster.Event]{Items: []roster.Event{{ID: 3, At: at, Action: fl.Action, Data: []byte(`{"n":1}`)}}}, nil
}

func (f *fakeService) VerifyAudit(ctx context.Context) (*roster.AuditVerification, error) {
	if err := f.record(ctx, "VerifyAudit"); err != nil {
		return nil, err
	}
	return &roster.AuditVerification{Events: 7, LastID: 6, LastHash: roster.GenesisHash,
		Broken: &roster.AuditBreak{ID: 7, Action: "task.approved", At: at, Problem: roster.AuditBrokenLink, Detail: "gone"}}, nil
}

// ExportEvents sends three events, the last with since as its time.
func (f *fakeService) ExportEvents(ctx context.Context, since time.Time, fn func(*roster.Event) error) error {
	if err := f.record(ctx, "ExportEvents", since); err != nil {
		return err
	}
	for i := range int64(3) {
		ev := roster.Event{ID: i + 1, At: at, Action: "grant.added", Data: []byte(`{"n":1}`), Hash: roster.GenesisHash}
		if i == 2 {
			ev.At = since
		}
		if err := fn(&ev); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeService) CreateToken(ctx context.Context, req roster.TokenRequest) (*roster.Token, error) {
	if err := f.record(ctx, "CreateToken", req); err != nil {
		return nil, err
	}
	return &roster.Token{ID: "tok_1", User: req.User, Name: req.Name, Issuer: roster.ActorFromContext(ctx), Token: fmt.Sprintf("secret-for-%s", req.User)}, nil
}

func (f *fakeService) Tokens(ctx context.Context, user string) ([]roster.Token, error) {
	if err := f.record(ctx, "Tokens", user); err != nil {
		return nil, err
	}
	return []roster.Token{{ID: "tok_1", User: "bob", Issuer: "bob", CreatedAt: at}}, nil
}

func (f *fakeService) RevokeToken(ctx context.Context, id string) (*roster.Token, error) {
	if err := f.record(ctx, "RevokeToken", id); err != nil {
		return nil, err
	}
	return &roster.Token{ID: id, User: "bob", Issuer: "bob", CreatedAt: at, RevokedAt: &at}, nil
}

func (f *fakeService) Sessions(ctx context.Context, user string) ([]roster.Session, error) {
	if err := f.record(ctx, "Sessions", user); err != nil {
		return nil, err
	}
	return []roster.Session{{ID: "ses_1", User: "bob", Method: roster.SignInSSO, CreatedAt: at, LastUsedAt: at, ExpiresAt: at}}, nil
}

func (f *fakeService) RevokeSession(ctx context.Context, id string) (*roster.Session, error) {
	if err := f.record(ctx, "RevokeSession", id); err != nil {
		return nil, err
	}
	return &roster.Session{ID: id, User: "bob", Method: roster.SignInSSO, CreatedAt: at, LastUsedAt: at, ExpiresAt: at}, nil
}

func (f *fakeService) Delegate(ctx context.Context, user string, req roster.DelegationRequest) (*roster.Delegation, error) {
	if err := f.record(ctx, "Delegate", user, req); err != nil {
		return nil, err
	}
	return &roster.Delegation{User: user, Delegate: req.Delegate, Until: req.Until, SetBy: "alice", SetAt: at}, nil
}

func (f *fakeService) EndDelegation(ctx context.Context, user string) (*roster.Delegation, error) {
	if err := f.record(ctx, "EndDelegation", user); err != nil {
		return nil, err
	}
	return &roster.Delegation{User: user, Delegate: "sam", Until: at, SetBy: user, SetAt: at}, nil
}

func (f *fakeService) Delegations(ctx context.Context, user string) (*roster.UserDelegations, error) {
	if err := f.record(ctx, "Delegations", user); err != nil {
		return nil, err
	}
	return &roster.UserDelegations{User: user, Delegate: &roster.Delegation{User: user, Delegate: "sam", Until: at, SetBy: user, SetAt: at},
		DecidesFor: []roster.Delegation{{User: "dana", Delegate: user, Until: at, SetBy: "dana", SetAt: at}}}, nil
}

func (f *fakeService) Whoami(ctx context.Context) (*roster.User, error) {
	if err := f.record(ctx, "Whoami"); err != nil {
		return nil, err
	}
	return &roster.User{ID: roster.ActorFromContext(ctx), Role: roster.RoleAdmin}, nil
}
