package engine

// The declarative apply: a file validated whole (the parser asks known what
// exists already) and upserted in one transaction, each object that changes
// recorded as a change line and an audit event.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
	"github.com/rosterhq/roster/engine/internal/same"
)

// errDryRun rolls back the transaction of a dry run; errHeld one whose
// governed changes change approval holds.
var (
	errDryRun = errors.New("dry run")
	errHeld   = errors.New("held for change approval")
)

// Apply validates a declarative file whole and applies it in one transaction
// (admins). On a dry run it does everything, reports it, and rolls back. After
// the commit, profiles saved with their automation enabled are synced at once.
func (e *Engine) Apply(ctx context.Context, req roster.ApplyRequest) (*roster.ApplyResult, error) {
	res := &roster.ApplyResult{DryRun: req.DryRun, Changes: []string{}}
	var toSync, held, claimed []string
	defer func() { e.unclaim(claimed) }()
	err := e.update(ctx, func(o *op) error {
		res.Changes, res.Synced = []string{}, nil // the store may run this function again
		if req.ConfirmOver != nil {
			o.planned = &planRecorder{}
		}
		s, err := o.tenant()
		if err != nil {
			return err
		}
		approval := s.ChangeApproval // as it stands before this file
		a, err := o.applyFile(req, res)
		if err != nil {
			return err
		}
		toSync = a.toSync
		if err := o.claim(&claimed, toSync); err != nil { // before the commit: see claims
			return err
		}
		if req.DryRun {
			return errDryRun
		}
		if approval && len(a.governed) > 0 {
			held = a.governed
			return errHeld
		}
		if req.ConfirmOver != nil {
			return o.confirmOver(a, res, *req.ConfirmOver, &toSync)
		}
		return nil
	})
	if err != nil {
		// Rolled back, with the claims' leases: they end here alone.
		e.claims.release(claimed)
		claimed = nil
	}
	if errors.Is(err, errDryRun) {
		return res, nil
	} else if errors.Is(err, errHeld) {
		return e.holdChange(ctx, req, held)
	} else if err != nil {
		return nil, err
	}
	if len(toSync) == 0 {
		return res, nil // none, or synced in the apply's transaction (confirmOver)
	}
	synced, err := e.syncSaved(ctx, toSync)
	res.Synced = synced
	if err != nil {
		return res, fmt.Errorf("applied, but %w", err)
	}
	return res, nil
}

// syncSaved runs the first syncs of the profiles of ids, just saved with
// their automation enabled, in that (dependency) order, and returns their
// results in it. On SQLite several profiles share a transaction, as in a
// pass (syncGroups), so that turning on hundreds of profiles at once shares
// its commits, and when they have much to do they are synced a range of
// users at a time across all of them (sweep.go); each is planned in its
// transaction from its own input, not from a view of every profile, which
// enabling one profile of a large organisation would read whole. A profile whose sync fails is named in
// the error, and the others are synced all the same. With the kill switch
// on, nothing runs: the rules are saved.
func (e *Engine) syncSaved(ctx context.Context, ids []string) ([]roster.SyncResult, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	actor := roster.ActorFromContext(ctx)
	results, failed := map[string]roster.SyncResult{}, map[string]error{}
	// On SQLite, many profiles' syncs are swept a range of users at a
	// time (sweep.go). Should the sweep's read fail, the syncs below meet
	// the same failure, and report it per profile.
	if e.lockKeys == 0 {
		if sw, err := e.sweepable(ctx, ids); err == nil && sw != nil {
			e.sweep(ctx, actor, ids, sw, results, failed)
		} else {
			e.syncGroups(ctx, actor, ids, false, (*op).syncPart, nil, results, failed)
		}
	} else {
		// On a store whose writers lock keys (PostgreSQL), each profile
		// has transactions of its own, which lock it at their start and
		// the users its plan changes as it plans: a commit there writes
		// the log of what changed, not every page changed, so sharing
		// one saves little, and dense20k's enablement took 1.23x as
		// long grouped (docs/performance.md).
		for _, id := range ids {
			e.syncGroups(ctx, actor, []string{id}, false, (*op).syncPart, map[string][]string{}, results, failed)
		}
	}
	return inOrder(ids, results, failed, "the sync of profile %s failed: %w")
}

// confirmOver runs in the apply's transaction the syncs the apply sets off,
// as a plan does, and refuses the apply when they and the apply would take
// access from more than limit people. Otherwise the syncs commit with the
// apply, and none is left for after the commit.
func (o *op) confirmOver(a *applier, res *roster.ApplyResult, limit int, toSync *[]string) error {
	synced, err := o.settle(a.toSync)
	if err != nil {
		return err
	}
	plan, err := o.planned.result(o, nil)
	if err != nil {
		return err
	}
	if losing := plan.LosingAccess(); len(losing) > limit {
		return roster.ConfirmOverError(losing, limit)
	}
	o.planned = nil
	res.Synced, *toSync = synced, nil
	return nil
}

// applyFile checks that the caller is an admin, parses req's file and
// applies it in the op's transaction, recording its changes in res.
func (o *op) applyFile(req roster.ApplyRequest, res *roster.ApplyResult) (*applier, error) {
	if _, err := o.requireAdmin("apply declarative files"); err != nil {
		return nil, err
	}
	name := req.Filename
	if name == "" {
		name = "file"
	}
	k := &known{o: o}
	doc, err := declarative.Parse(name, req.Document, k)
	if k.err != nil {
		return nil, fmt.Errorf("look up what %s refers to: %w", name, k.err)
	} else if err != nil {
		return nil, err
	}
	a := &applier{op: o, res: res}
	if err := a.apply(doc); err != nil {
		return nil, err
	}
	a.orderSyncs(doc)
	return a, nil
}

// orderSyncs puts the profiles to sync after an apply of doc in dependency
// order: a profile whose rule reads another's members syncs after it.
func (a *applier) orderSyncs(doc *roster.Document) {
	byID := make(map[string]*roster.Profile, len(doc.Profiles))
	for i := range doc.Profiles {
		byID[doc.Profiles[i].ID] = &doc.Profiles[i]
	}
	a.toSync = dependencyOrder(a.toSync, byID)
}

// known answers the parser's questions about objects that already exist.
// The parser asks yes or no: a lookup that fails for another reason than
// not-found answers no, and known keeps the first such error in err, which
// Apply returns instead of what the parser concluded.
type known struct {
	o   *op
	err error
}

// exists reports whether a lookup found its object, keeping a failure.
func (k *known) exists(err error) bool {
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND && k.err == nil {
		k.err = err
	}
	return err == nil
}

// HasUser reports whether user id exists.
func (k *known) HasUser(id string) bool {
	_, err := k.o.tx.User(k.o.ctx, id)
	return k.exists(err)
}

// HasPolicy reports whether policy id exists.
func (k *known) HasPolicy(id string) bool {
	_, err := k.o.tx.Policy(k.o.ctx, id)
	return k.exists(err)
}

// HasApp reports whether app id exists.
func (k *known) HasApp(id string) bool {
	_, err := k.o.tx.App(k.o.ctx, id)
	return k.exists(err)
}

// HasEntitlement reports whether entitlement id exists.
func (k *known) HasEntitlement(id string) bool {
	_, err := k.o.tx.Entitlement(k.o.ctx, id)
	return k.exists(err)
}

// HasProfile reports whether profile id exists.
func (k *known) HasProfile(id string) bool {
	_, err := k.o.tx.Profile(k.o.ctx, id)
	return k.exists(err)
}

// ProfileDependencies returns the profiles whose membership the rule of
// profile id reads, for the parser's check of cycles between rules.
func (k *known) ProfileDependencies(id string) []string {
	p, err := k.o.tx.Profile(k.o.ctx, id)
	if !k.exists(err) {
		return nil
	}
	var out []string
	for _, e := range p.Automation.RuleEntitlements() {
		if app, local, ok := roster.SplitEntitlementID(e); ok && app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded") {
			out = append(out, local)
		}
	}
	return out
}

// applyWindow is how many of a document's grants are recorded after one read
// of what they look up.
const applyWindow = 2048

// applier upserts a document's objects, recording one change line for each
// object that actually changes.
type applier struct {
	*op
	res    *roster.ApplyResult
	toSync []string
	// oldUsers holds the stored users of the file's users being applied.
	oldUsers map[string]*roster.User
	// reason is the audit reason of the changes: "roster apply", or the
	// change request an approval applies.
	reason string
	// governed lists the change lines change approval holds: those of
	// settings, policies, profiles, connectors and webhooks.
	governed []string
}

// governedObjects are the kinds of object whose changes change approval
// holds for a second admin (spec section 5, "Change approval").
var governedObjects = map[string]bool{"settings": true, "policy": true, "profile": true, "connector": true, "webhook": true}

// line records a change line of an object of kind object.
func (a *applier) line(object, line string) {
	a.res.Changes = append(a.res.Changes, line)
	if governedObjects[object] {
		a.governed = append(a.governed, line)
	}
}

// why is the audit reason of the apply's changes.
func (a *applier) why() string {
	if a.reason == "" {
		return "roster apply"
	}
	return a.reason
}

// change records a change line ("created app github") and its audit event,
// whose data is d, the fields an update changed, when there is one.
func (a *applier) change(action roster.AuditAction, id string, d *same.Diff) error {
	a.line(action.Object(), fmt.Sprintf("%s %s %s", action.Verb(), action.Object(), id))
	if a.planned != nil {
		a.planned.change(action.Object(), id, d)
	}
	if d == nil {
		return a.audit(action, action.Object(), id, a.why(), nil)
	}
	return a.audit(action, action.Object(), id, a.why(), d)
}

// same counts, for a plan, an object the file declares as it is.
func (a *applier) same() {
	if a.planned != nil {
		a.planned.unchanged++
	}
}

// lifecycle is the pair of audit actions of a kind of object a file creates
// or updates.
type lifecycle struct{ created, updated roster.AuditAction }

var (
	policyLifecycle      = lifecycle{roster.ActionPolicyCreated, roster.ActionPolicyUpdated}
	appLifecycle         = lifecycle{roster.ActionAppCreated, roster.ActionAppUpdated}
	entitlementLifecycle = lifecycle{roster.ActionEntitlementCreated, roster.ActionEntitlementUpdated}
	userLifecycle        = lifecycle{roster.ActionUserCreated, roster.ActionUserUpdated}
	profileLifecycle     = lifecycle{roster.ActionProfileCreated, roster.ActionProfileUpdated}
	connectorLifecycle   = lifecycle{roster.ActionConnectorCreated, roster.ActionConnectorUpdated}
)

func (a *applier) apply(doc *roster.Document) error {
	if doc.Settings != nil {
		old, err := a.tenant()
		if err != nil {
			return err
		}
		s := doc.Settings.Apply(*old)
		if s.SlackWebhookURLEnv != "" && s.SlackWebhookURLEnv != old.SlackWebhookURLEnv {
			if err := a.e.access.CheckEnv("slack_webhook_url_env", s.SlackWebhookURLEnv); err != nil {
				return roster.Errorf(roster.EINVALID, "%v", err)
			}
		}
		if err := a.e.checkEmailSettings(s.Notifications.Email); err != nil {
			return err
		}
		if err := a.e.checkSlackSettings(s.Notifications.Slack); err != nil {
			return err
		}
		if same.Content(*old, s) {
			a.same()
		} else {
			if err := a.tx.PutSettings(a.ctx, &s); err != nil {
				return err
			}
			a.settings = &s
			d := same.Changes(*old, s)
			if _, ok := d.Before["slack_webhook_url"]; ok {
				// The webhook's URL is a secret, which auditors do not see.
				d.Before["slack_webhook_url"], d.After["slack_webhook_url"] = maskURL(old.SlackWebhookURL), maskURL(s.SlackWebhookURL)
			}
			if err := a.change(roster.ActionSettingsUpdated, "tenant", d); err != nil {
				return err
			}
		}
	}
	for i := range doc.Users {
		if i%applyWindow == 0 {
			// The users the next ones replace, read at once.
			if err := a.prefetchUsers(doc.Users[i:min(i+applyWindow, len(doc.Users))]); err != nil {
				return err
			}
		}
		if err := a.user(&doc.Users[i]); err != nil {
			return err
		}
	}
	for i := range doc.Policies {
		p := &doc.Policies[i]
		old, err := a.policy(p.ID)
		if err := upsert(a, policyLifecycle, p.ID, old, err, p, func() error { return a.putPolicy(p) }); err != nil {
			return err
		}
	}
	for i := range doc.Apps {
		p := &doc.Apps[i]
		old, err := a.tx.App(a.ctx, p.ID)
		if err := upsert(a, appLifecycle, p.ID, old, err, p, func() error { return a.tx.PutApp(a.ctx, p) }); err != nil {
			return err
		}
		if err == nil && !slices.Equal(old.Owners, p.Owners) {
			if err := a.reassign("", p.ID); err != nil {
				return err
			}
		}
	}
	for i := range doc.Entitlements {
		p := &doc.Entitlements[i]
		old, err := a.entitlement(p.ID)
		if err := upsert(a, entitlementLifecycle, p.ID, old, err, p, func() error { return a.putEntitlement(p) }); err != nil {
			return err
		}
	}
	for i := range doc.Connectors {
		if err := a.applyConnector(&doc.Connectors[i]); err != nil {
			return err
		}
	}
	for _, w := range doc.Webhooks {
		if err := a.applyWebhook(w); err != nil {
			return err
		}
	}
	endBulk, err := a.tx.BulkGrants(a.ctx, len(doc.Grants))
	if err != nil {
		return err
	}
	for i, g := range doc.Grants {
		if i%applyWindow == 0 {
			// What recording the next grants looks up, read at once.
			var users []string
			for _, g := range doc.Grants[i:min(i+applyWindow, len(doc.Grants))] {
				users = append(users, g.User)
			}
			if err := a.prefetchGrants(sortedUnique(users)); err != nil {
				return err
			}
		}
		old, found, err := a.findGrant(g.User, g.Entitlement)
		if err != nil {
			return err
		} else if found && old.HasSource(roster.SourceDirect) {
			a.same()
			continue
		}
		if err := a.addGrant(g.User, g.Entitlement, []string{roster.SourceDirect}, a.why()); err != nil {
			return err
		}
		a.res.Changes = append(a.res.Changes, "granted "+g.Entitlement+" to "+g.User+" (direct)")
		if a.planned != nil {
			a.planned.change("grant", g.User+" "+g.Entitlement, nil)
		}
	}
	if err := a.flushEvents(); err != nil {
		return err
	}
	if err := endBulk(); err != nil {
		return err
	}
	for i := range doc.Profiles {
		if err := a.applyProfile(&doc.Profiles[i]); err != nil {
			return err
		}
	}
	return nil
}

// upsert puts obj when it differs from old (or old does not exist), keeping
// old's creation time, and records the change. Both are structs with
// CreatedAt and UpdatedAt fields.
func upsert[T any](a *applier, actions lifecycle, id string, old *T, err error, obj *T, put func() error) error {
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	action, created := actions.created, a.now
	var d *same.Diff
	if err == nil {
		if same.Content(*old, *obj) {
			a.same()
			return nil
		}
		action, created = actions.updated, field(old, "CreatedAt").Interface().(time.Time)
		d = same.Changes(*old, *obj)
	}
	field(obj, "CreatedAt").Set(reflect.ValueOf(created))
	field(obj, "UpdatedAt").Set(reflect.ValueOf(a.now))
	if err := put(); err != nil {
		return err
	}
	return a.change(action, id, d)
}

func field(ptr any, name string) reflect.Value {
	return reflect.ValueOf(ptr).Elem().FieldByName(name)
}

// prefetchUsers reads which of users exist already, for user. A file
// declares each user once, so none of them is written before it is read.
func (a *applier) prefetchUsers(users []roster.User) error {
	ids := make([]string, len(users))
	for i := range users {
		ids[i] = users[i].ID
	}
	old, err := a.tx.UsersOf(a.ctx, ids)
	if err != nil {
		return err
	}
	a.oldUsers = make(map[string]*roster.User, len(old))
	for i := range old {
		a.oldUsers[old[i].ID] = &old[i]
	}
	return nil
}

// errNewUser is what user's upsert is told of a user the file adds.
var errNewUser = roster.Errorf(roster.ENOTFOUND, "new user")

// user upserts one of the file's users; prefetchUsers has read the one it
// replaces.
func (a *applier) user(u *roster.User) error {
	old, ok := a.oldUsers[u.ID]
	var err error
	if !ok {
		err = errNewUser
	}
	a.forgetUser(u.ID)
	if err := upsert(a, userLifecycle, u.ID, old, err, u, func() error { return a.tx.PutUser(a.ctx, u) }); err != nil {
		return err
	}
	a.fieldsChanged(old, u)
	if err == nil && old.Manager != u.Manager {
		if err := a.reassign(u.ID, ""); err != nil {
			return err
		}
	}
	if err == nil && old.Status != u.Status {
		a.userChanged(u.ID)
		if !u.Active() {
			if err := a.endSessions(u.ID); err != nil {
				return err
			}
		}
		return a.audit(roster.UserStatusAction(u.Status), "user", u.ID, a.why(), map[string]any{"from": old.Status})
	}
	return nil
}

// applyProfile upserts a profile with its built-in entitlements and sets off what
// its changes imply: tasks for added or removed contents, exclusion records,
// discarding a paused sync's plan, and a sync when its automation is saved
// enabled.
func (a *applier) applyProfile(p *roster.Profile) error {
	old, err := a.profile(p.ID)
	exists := err == nil
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return err
	}
	p.CreatedAt, p.UpdatedAt = a.now, a.now
	p.Sync = roster.SyncState{State: roster.AutomationActive}
	// excluded_users is a set: kept sorted, as unenroll --exclude keeps it,
	// so that the same users in another order are no edit of the automation.
	p.Automation.ExcludedUsers = sortedUnique(p.Automation.ExcludedUsers)
	automationChanged := true
	var d *same.Diff
	if exists {
		p.CreatedAt, p.Sync = old.CreatedAt, old.Sync
		automationChanged = !same.Content(old.Automation, p.Automation)
		cmp := *old
		cmp.Sync, cmp.CreatedAt, cmp.UpdatedAt = p.Sync, p.CreatedAt, p.UpdatedAt
		if same.Content(cmp, *p) {
			a.same()
			return nil
		}
		d = same.Changes(cmp, *p, "sync")
	}
	if automationChanged && p.Sync.State == roster.AutomationPaused {
		staged := p.Sync.Staged
		p.Sync.State, p.Sync.Staged, p.Sync.PausedAt = roster.AutomationActive, nil, nil
		if err := a.audit(roster.ActionSafeguardPlanDropped, "profile", p.ID, "the automation was edited", map[string]any{"staged": staged}); err != nil {
			return err
		}
	}
	if err := a.builtins(p); err != nil {
		return err
	}
	if err := a.putProfile(p); err != nil {
		return err
	}
	action := profileLifecycle.created
	if exists {
		action = profileLifecycle.updated
	}
	if err := a.change(action, p.ID, d); err != nil {
		return err
	}
	var oldEnts, oldExcluded []string
	if exists {
		oldEnts, oldExcluded = old.Entitlements, old.Automation.ExcludedUsers
	}
	added, removed := diff(oldEnts, p.Entitlements)
	if len(added)+len(removed) > 0 {
		members, err := a.tx.Members(a.ctx, p.ID)
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := a.requestContents(p, m.User, added, roster.OriginProfileContent, ""); err != nil {
				return err
			}
			if err := a.withdraw(p, m.User, removed, roster.OriginContentRemoved, ""); err != nil {
				return err
			}
		}
	}
	excluded, included := diff(oldExcluded, p.Automation.ExcludedUsers)
	for _, u := range excluded {
		if err := a.exclusionChanged(p, u, true); err != nil {
			return err
		}
	}
	for _, u := range included {
		if err := a.exclusionChanged(p, u, false); err != nil {
			return err
		}
	}
	if automationChanged && p.Automation.Enabled {
		a.toSync = append(a.toSync, p.ID)
	}
	return nil
}

// builtins upserts a profile's enrollment and excluded-from-rule entitlements.
func (a *applier) builtins(p *roster.Profile) error {
	for _, ent := range []roster.Entitlement{
		{ID: roster.EnrollmentEntitlement(p.ID), Name: "Member of " + p.Name, RequestPolicy: p.Enrollment.Policy, RevokePolicy: p.Unenrollment.Policy},
		{ID: roster.ExclusionEntitlement(p.ID), Name: "Excluded from the rule of " + p.Name},
	} {
		ent.App, ent.Profile = roster.BuiltinApp, p.ID
		ent.Provisioning, ent.Risk, ent.Provisioners = roster.ProvisionAuto, roster.RiskLow, []string{}
		old, err := a.entitlement(ent.ID)
		ent.CreatedAt, ent.UpdatedAt = a.now, a.now
		if err == nil {
			ent.CreatedAt = old.CreatedAt
			if same.Content(*old, ent) {
				continue
			}
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		if err := a.putEntitlement(&ent); err != nil {
			return err
		}
	}
	return nil
}

// diff returns what b adds to a and what it drops from it.
func diff(a, b []string) (added, removed []string) {
	for _, x := range b {
		if !slices.Contains(a, x) {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}
