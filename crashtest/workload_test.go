package crashtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
)

// organisation is the declarative file the workload applies: 20 people, five
// apps, four policies (one of two steps) and three sync_and_act profiles.
//
// Seventeen people match two profiles: engineers and the security team are on
// call too (eng + oncall), the sales team as well (sales + oncall), and Dana
// is in engineering and sales. eng bypasses its entitlements' policies and
// revokes what no other profile justifies; sales enrolls through two steps
// and revokes all it gave; oncall asks each entitlement's own policy, which
// for pager/responder is two steps and manual provisioning. Ivan is excluded
// from eng's rule. The safeguard never pauses: min_members is far above the
// profiles' sizes.
const organisation = `
settings:
  default_request_policy: manager
  default_revoke_policy: auto
  sync_interval: 1h
  automations_enabled: true
  safeguard: {min_members: 1000, max_removal_percent: 20}
policies:
  - id: auto
    steps: []
  - id: manager
    steps:
      - approvers: manager
        fallback: [sam]
  - id: security
    steps:
      - approvers: users
        users: [sam]
      - approvers: entitlement_members
        entitlement: okta/security-team
  - id: owner
    steps:
      - approvers: app_owner
users:
  - {id: dana, email: dana@example.com, name: Dana, department: Management}
  - {id: carol, email: carol@example.com, name: Carol, manager: dana, department: Engineering}
  - {id: raj, email: raj@example.com, name: Raj, manager: dana, department: Sales}
  - {id: sam, email: sam@example.com, name: Sam, manager: dana, department: Security}
  - {id: tess, email: tess@example.com, name: Tess, manager: sam, department: Security}
  - {id: ivan, email: ivan@example.com, name: Ivan, manager: dana, department: IT}
  - {id: alice, email: alice@example.com, name: Alice, manager: carol, department: Engineering}
  - {id: bob, email: bob@example.com, name: Bob, manager: carol, department: Engineering}
  - {id: chen, email: chen@example.com, name: Chen, manager: carol, department: Engineering}
  - {id: dave, email: dave@example.com, name: Dave, manager: carol, department: Engineering}
  - {id: emma, email: emma@example.com, name: Emma, manager: carol, department: Engineering}
  - {id: farid, email: farid@example.com, name: Farid, manager: carol, department: Engineering}
  - {id: gita, email: gita@example.com, name: Gita, manager: carol, department: Engineering}
  - {id: hana, email: hana@example.com, name: Hana, manager: raj, department: Sales}
  - {id: igor, email: igor@example.com, name: Igor, manager: raj, department: Sales}
  - {id: jin, email: jin@example.com, name: Jin, manager: raj, department: Sales}
  - {id: kofi, email: kofi@example.com, name: Kofi, manager: raj, department: Sales}
  - {id: lena, email: lena@example.com, name: Lena, manager: raj, department: Sales}
  - {id: mona, email: mona@example.com, name: Mona, manager: dana, department: Operations}
  - {id: nils, email: nils@example.com, name: Nils, manager: mona, department: Operations}
apps:
  - id: okta
    name: Okta
    owners: [ivan]
    entitlements:
      - {id: engineering, request_policy: auto, revoke_policy: auto}
      - {id: sales, request_policy: auto, revoke_policy: auto}
      - {id: oncall, request_policy: auto, revoke_policy: auto}
      - {id: security-team, request_policy: auto, revoke_policy: auto}
  - id: github
    name: GitHub
    owners: [carol]
    entitlements:
      - {id: org-member, request_policy: owner, revoke_policy: auto}
  - id: slack
    name: Slack
    owners: [ivan]
    entitlements:
      - {id: eng, request_policy: manager, revoke_policy: auto}
      - {id: sales, request_policy: manager, revoke_policy: auto}
  - id: vpn
    name: VPN
    owners: [ivan]
    entitlements:
      - {id: access, request_policy: auto, revoke_policy: auto}
  - id: crm
    name: CRM
    owners: [raj]
    entitlements:
      - {id: user, request_policy: auto, revoke_policy: auto, provisioning: manual, provisioners: [ivan]}
  - id: pager
    name: Pager
    owners: [mona]
    entitlements:
      - {id: responder, request_policy: security, revoke_policy: auto, provisioning: manual, provisioners: [ivan, mona], risk: high}
grants:
  - {user: carol, entitlement: okta/engineering}
  - {user: alice, entitlement: okta/engineering}
  - {user: bob, entitlement: okta/engineering}
  - {user: chen, entitlement: okta/engineering}
  - {user: dave, entitlement: okta/engineering}
  - {user: emma, entitlement: okta/engineering}
  - {user: farid, entitlement: okta/engineering}
  - {user: gita, entitlement: okta/engineering}
  - {user: sam, entitlement: okta/engineering}
  - {user: tess, entitlement: okta/engineering}
  - {user: ivan, entitlement: okta/engineering}
  - {user: dana, entitlement: okta/engineering}
  - {user: raj, entitlement: okta/sales}
  - {user: hana, entitlement: okta/sales}
  - {user: igor, entitlement: okta/sales}
  - {user: jin, entitlement: okta/sales}
  - {user: kofi, entitlement: okta/sales}
  - {user: lena, entitlement: okta/sales}
  - {user: dana, entitlement: okta/sales}
  - {user: carol, entitlement: okta/oncall}
  - {user: alice, entitlement: okta/oncall}
  - {user: bob, entitlement: okta/oncall}
  - {user: chen, entitlement: okta/oncall}
  - {user: dave, entitlement: okta/oncall}
  - {user: emma, entitlement: okta/oncall}
  - {user: farid, entitlement: okta/oncall}
  - {user: gita, entitlement: okta/oncall}
  - {user: sam, entitlement: okta/oncall}
  - {user: tess, entitlement: okta/oncall}
  - {user: raj, entitlement: okta/oncall}
  - {user: hana, entitlement: okta/oncall}
  - {user: igor, entitlement: okta/oncall}
  - {user: jin, entitlement: okta/oncall}
  - {user: kofi, entitlement: okta/oncall}
  - {user: lena, entitlement: okta/oncall}
  - {user: mona, entitlement: okta/oncall}
  - {user: sam, entitlement: okta/security-team}
  - {user: tess, entitlement: okta/security-team}
  - {user: emma, entitlement: github/org-member}
  - {user: farid, entitlement: vpn/access}
profiles:
  - id: eng
    name: Engineering
    entitlements: [github/org-member, slack/eng, vpn/access]
    enrollment: {policy: manager, bypass_entitlement_policies: true}
    unenrollment: {policy: auto, access: revoke_unjustified, bypass_entitlement_policies: true}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [okta/engineering]
      excluded_users: [ivan]
  - id: sales
    name: Sales
    entitlements: [slack/sales, crm/user]
    enrollment: {policy: security}
    unenrollment: {policy: manager, access: revoke_all}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [okta/sales]
  - id: oncall
    name: On call
    entitlements: [vpn/access, github/org-member, pager/responder]
    enrollment: {policy: auto}
    unenrollment: {policy: auto, access: revoke_unjustified}
    automation:
      enabled: true
      mode: sync_and_act
      any_entitlement: [okta/oncall]
`

// profileIDs are the workload's profiles, in the order it syncs them.
var profileIDs = []string{"eng", "sales", "oncall"}

// removals are the grants the workload removes after the first round, so
// that their holders stop matching: Alice leaves on-call (keeping what eng
// still justifies), Bob and Dana leave one profile of two, Emma leaves both
// (keeping her direct GitHub membership), Hana and Dana leave sales (whose
// revoke_all takes everything it gave), Mona leaves her only profile.
var removals = []struct{ user, entitlement string }{
	{"alice", "okta/oncall"},
	{"bob", "okta/engineering"},
	{"emma", "okta/engineering"},
	{"emma", "okta/oncall"},
	{"hana", "okta/sales"},
	{"dana", "okta/sales"},
	{"mona", "okta/oncall"},
}

// Phases of the workload, for reporting where a crash landed.
const (
	phaseStartup = "startup"
	phaseApply   = "apply"
	phaseSync    = "sync"
	phaseTasks   = "tasks"
	phaseGrants  = "grant removal"
)

// phases lists the phases in the order the workload goes through them.
var phases = []string{phaseStartup, phaseApply, phaseSync, phaseTasks, phaseGrants}

// crashed is the error of a workload whose server died under it.
type crashed struct {
	// phase and step say what the workload was doing.
	phase, step string
	err         error
}

func (c *crashed) Error() string {
	return fmt.Sprintf("the server died during %s (%s): %v", c.phase, c.step, c.err)
}

// workload drives one server through the workload with the real HTTP client.
// Run runs it from the start; it converges from whatever state an earlier,
// interrupted run left: apply and sync are idempotent, tasks are read fresh
// before each is acted on, and a removed grant that the file re-adds is
// removed again.
type workload struct {
	proc  *process
	hc    *http.Client
	admin *rosterhttp.Client
	// tokens holds the API tokens created for users. They live in the
	// database, so they outlast a restart.
	tokens map[string]string
	// commits holds, in order, the step of every read-write commit the
	// workload's calls made (startup commits excluded).
	commits []string
	// racing says other replicas act on the same tasks at once: an
	// action another replica took first is not an error (lostRace).
	racing bool
}

// newWorkload returns a workload with no tokens yet.
func newWorkload() *workload {
	return &workload{tokens: map[string]string{roster.AdminUser: adminToken}}
}

// attach points the workload at a (new) server process.
func (w *workload) attach(p *process) {
	if w.hc != nil {
		w.hc.CloseIdleConnections()
	}
	w.proc = p
	w.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}, Timeout: time.Minute}
	w.admin = w.client(roster.AdminUser)
}

func (w *workload) client(user string) *rosterhttp.Client {
	c := rosterhttp.NewClient(w.proc.URL, w.tokens[user])
	c.HTTPClient = w.hc
	return c
}

// do runs one call. When it fails because the server died, do returns a
// *crashed error naming the phase and step; any other error is returned as
// it is. commits is how many read-write commits the call makes when it
// succeeds.
func (w *workload) do(phase, step string, commits func() int, fn func() error) error {
	err := fn()
	if err == nil {
		for range commits() {
			w.commits = append(w.commits, phase+": "+step)
		}
		return nil
	}
	var re *roster.Error
	if (!errors.As(err, &re) || re.Code == roster.EINTERNAL) && w.proc.diedWithin(3*time.Second) {
		return &crashed{phase: phase, step: step, err: err}
	}
	if w.proc.dead() {
		return &crashed{phase: phase, step: step, err: err}
	}
	return fmt.Errorf("%s: %s: %w", phase, step, err)
}

func one() int  { return 1 }
func none() int { return 0 }

// run runs the whole workload: apply, sync every profile, process every task,
// remove some grants, sync again and process the unenrollments.
func (w *workload) run(ctx context.Context) error {
	if err := w.apply(ctx); err != nil {
		return err
	}
	if err := w.syncAll(ctx); err != nil {
		return err
	}
	if err := w.processTasks(ctx); err != nil {
		return err
	}
	for _, r := range removals {
		err := w.do(phaseGrants, "remove "+r.user+" "+r.entitlement, one, func() error {
			return w.admin.RemoveGrant(ctx, r.user, r.entitlement)
		})
		// Already gone: an earlier run removed it after the file last
		// re-added it.
		if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
	}
	if err := w.syncAll(ctx); err != nil {
		return err
	}
	return w.processTasks(ctx)
}

// apply applies the organisation; the apply syncs the profiles it saved with
// automation enabled, each in a commit of its own.
func (w *workload) apply(ctx context.Context) error {
	var res *roster.ApplyResult
	return w.do(phaseApply, "apply", func() int { return 1 + len(res.Synced) }, func() (err error) {
		res, err = w.admin.Apply(ctx, roster.ApplyRequest{Filename: "organisation.yaml", Document: []byte(organisation)})
		return err
	})
}

// syncAll syncs every profile, one call each.
func (w *workload) syncAll(ctx context.Context) error {
	for _, p := range profileIDs {
		if err := w.do(phaseSync, "sync "+p, one, func() error {
			_, err := w.admin.Sync(ctx, p)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// processTasks acts on every open task until none is left: the first current
// approver approves, the first provisioner provisions. It reads the open tasks
// afresh for each round, so approvals that create tasks (an approved
// enrollment requests the profile's access) are taken up in the next round.
func (w *workload) processTasks(ctx context.Context) error {
	const rounds = 30
	for range rounds {
		open, err := w.openTasks(ctx)
		if err != nil || len(open) == 0 {
			return err
		}
		for _, t := range open {
			if err := w.act(ctx, t); err != nil {
				return err
			}
		}
	}
	open, err := w.openTasks(ctx)
	if err != nil {
		return err
	}
	return fmt.Errorf("%d tasks are still open after %d rounds of approvals: %s", len(open), rounds, describeTasks(open))
}

// openTasks lists every open task, as the admin.
func (w *workload) openTasks(ctx context.Context) ([]roster.Task, error) {
	var out []roster.Task
	f := roster.TaskFilter{OpenOnly: true, Limit: roster.MaxPageSize}
	for {
		var page *roster.Page[roster.Task]
		err := w.do(phaseTasks, "list open tasks", none, func() (err error) {
			page, err = w.admin.Tasks(ctx, f)
			return err
		})
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// act approves or provisions one task as the first user who may.
func (w *workload) act(ctx context.Context, t roster.Task) error {
	var who, verb string
	switch t.State {
	case roster.StatePendingApproval:
		if len(t.Approvers) == 0 {
			return fmt.Errorf("task %d (%s) waits for approval but has no approvers", t.ID, describeTask(t))
		}
		who, verb = t.Approvers[0], "approve"
	case roster.StatePendingProvisioning:
		who, verb = roster.AdminUser, "provision"
		if len(t.Provisioners) > 0 {
			who = t.Provisioners[0]
		}
	default:
		return nil
	}
	c, err := w.clientFor(ctx, who)
	if err != nil {
		return err
	}
	step := fmt.Sprintf("%s task %d (%s) as %s", verb, t.ID, describeTask(t), who)
	err = w.do(phaseTasks, step, one, func() error {
		if verb == "approve" {
			_, err := c.ApproveTask(ctx, t.ID, "crash test")
			return err
		}
		_, err := c.ProvisionTask(ctx, t.ID, "crash test")
		return err
	})
	if roster.ErrorCode(err) == roster.ECONFLICT || (w.racing && lostRace(err)) {
		// An earlier action of this round closed the task (a confirmed
		// unenrollment cancels the profile's open requests), or another
		// replica acted first; the next round reads it afresh.
		return nil
	}
	return err
}

// clientFor returns a client acting as user, creating the user's API token as
// the admin the first time.
func (w *workload) clientFor(ctx context.Context, user string) (*rosterhttp.Client, error) {
	if _, ok := w.tokens[user]; !ok {
		var tok *roster.Token
		err := w.do(phaseTasks, "create a token for "+user, one, func() (err error) {
			tok, err = w.admin.CreateToken(ctx, roster.TokenRequest{User: user})
			return err
		})
		if err != nil {
			return nil, err
		}
		w.tokens[user] = tok.Token
	}
	return w.client(user), nil
}

// quiet checks that the workload converged: one more sync of every profile
// starts nothing and no task is open.
func (w *workload) quiet(ctx context.Context) error {
	for _, p := range profileIDs {
		res, err := w.admin.Sync(ctx, p)
		if err != nil {
			return fmt.Errorf("final sync of %s: %w", p, err)
		}
		if len(res.Enrolled)+len(res.Unenrolled)+len(res.Cancelled)+res.TasksCreated > 0 || res.Paused {
			return fmt.Errorf("a sync of %s after the workload still acted: %+v", p, res)
		}
	}
	open, err := w.openTasks(ctx)
	if err != nil {
		return err
	}
	if len(open) > 0 {
		return fmt.Errorf("%d tasks are open after the workload: %s", len(open), describeTasks(open))
	}
	return nil
}

func describeTask(t roster.Task) string {
	s := fmt.Sprintf("%s %s for %s, %s", t.Kind, t.Entitlement, t.User, t.State)
	if t.Profile != "" {
		s += ", profile " + t.Profile
	}
	return s
}

func describeTasks(ts []roster.Task) string {
	var b strings.Builder
	for _, t := range ts {
		fmt.Fprintf(&b, "\n  task %d: %s, approvers %v", t.ID, describeTask(t), t.Approvers)
	}
	return b.String()
}
