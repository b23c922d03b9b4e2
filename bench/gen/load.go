package gen

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/rule"
)

// State says how far Load takes the organisation's profiles.
type State int

const (
	// Unsynced saves the profiles with their automation enabled and nothing
	// else: the first sync enrolls every matching user.
	Unsynced State = iota
	// Synced also writes what a completed sync leaves behind: every active
	// user who matches a profile's rule is an automation member holding
	// access-profiles/P (source profile:P), and holds each of the profile's
	// entitlements with profile:P among the grant's sources. A sync then has
	// nothing to change.
	Synced
	// Off saves the profiles as Unsynced does, but with their automation
	// disabled: applying WriteProfilesYAML's file then switches every one on
	// at once, as an admin would.
	Off
)

// LoadOptions tune Load.
type LoadOptions struct {
	State State
	// History, with Synced, also writes the done tasks the sync would have
	// left: one enrollment per membership and one grant per content grant
	// the profiles created, so task lists have realistic data.
	History bool
	// BatchSize is the number of objects written per transaction (default
	// 50,000).
	BatchSize int
	// Progress, when set, is called after each transaction with the number
	// of objects written so far.
	Progress func(objects int)
}

// Load writes the organisation, unsynced, directly into store. See LoadWith.
func (o *Org) Load(ctx context.Context, store roster.Store, clock roster.Clock) error {
	return o.LoadWith(ctx, store, clock, LoadOptions{})
}

// LoadWith writes the organisation directly into store through roster.Tx —
// settings, the auto policy, users, apps, entitlements, direct grants,
// profiles with their two built-in entitlements (as `roster apply` makes
// them) and, with State Synced, members and profile grants — in transactions
// of BatchSize objects, so memory stays bounded. It writes no events and,
// unless History, no tasks. It does not create the built-in admin: the
// server's bootstrap does that on start.
func (o *Org) LoadWith(ctx context.Context, store roster.Store, clock roster.Clock, opts LoadOptions) error {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 50000
	}
	now := clock.Now()
	l := &loader{o: o, ctx: ctx, store: store, opts: opts, now: now}
	l.add(func(tx roster.Tx) error {
		s := roster.DefaultSettings()
		s.DefaultRequestPolicy, s.DefaultRevokePolicy = PolicyAuto, PolicyAuto
		s.Safeguard.MinMembers = o.safeguardMinMembers()
		if err := tx.PutSettings(ctx, &s); err != nil {
			return err
		}
		if err := tx.PutPolicy(ctx, &roster.Policy{ID: PolicyAuto, Steps: []roster.Step{}, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return tx.PutApp(ctx, &roster.App{ID: roster.BuiltinApp, Name: "Access profiles", Owners: []string{}, CreatedAt: now, UpdatedAt: now})
	})
	for a := 0; a < o.Config.Apps; a++ {
		l.add(func(tx roster.Tx) error {
			return tx.PutApp(ctx, &roster.App{ID: AppID(a), Name: fmt.Sprintf("App %03d", a+1), Owners: []string{UserID(o.appOwner(a))}, CreatedAt: now, UpdatedAt: now})
		})
	}
	for e := 0; e < o.Config.Entitlements; e++ {
		l.add(func(tx roster.Tx) error {
			return tx.PutEntitlement(ctx, &roster.Entitlement{
				ID: o.EntitlementID(e), App: AppID(o.AppOf(e)), Name: o.EntitlementName(e),
				RequestPolicy: PolicyAuto, RevokePolicy: PolicyAuto, Provisioning: roster.ProvisionAuto,
				Provisioners: []string{}, Risk: roster.RiskLow, CreatedAt: now, UpdatedAt: now,
			})
		})
	}
	for i := range o.Users {
		l.add(func(tx roster.Tx) error { return tx.PutUser(ctx, o.User(i, now)) })
	}
	for i := range o.Profiles {
		l.add(func(tx roster.Tx) error {
			p := o.Profile(i, now)
			if opts.State == Synced {
				p.Sync.LastAt = &now
			}
			if opts.State == Off {
				p.Automation.Enabled = false
			}
			for _, ent := range Builtins(p, now) {
				if err := tx.PutEntitlement(ctx, &ent); err != nil {
					return err
				}
			}
			return tx.PutProfile(ctx, p)
		})
	}
	idx := o.ruleIndex()
	for u := range o.Users {
		var member []int32
		if opts.State == Synced {
			member = o.membershipsOf(idx, u)
		}
		for _, g := range o.userGrants(u, member, now) {
			l.add(func(tx roster.Tx) error { return tx.PutGrant(ctx, &g) })
		}
		for _, p := range member {
			l.add(func(tx roster.Tx) error {
				return tx.PutMember(ctx, &roster.Member{Profile: ProfileID(int(p)), User: UserID(u), Source: roster.MemberAutomation, Since: now})
			})
		}
		if opts.State == Synced && opts.History {
			for _, t := range o.history(u, member, now) {
				l.add(func(tx roster.Tx) error { return tx.CreateTask(ctx, &t) })
			}
		}
		if err := l.err; err != nil {
			return err
		}
	}
	return l.flush()
}

// loader batches writes into transactions of BatchSize objects.
type loader struct {
	o       *Org
	ctx     context.Context
	store   roster.Store
	opts    LoadOptions
	now     time.Time
	pending []func(roster.Tx) error
	written int
	err     error
}

func (l *loader) add(fn func(roster.Tx) error) {
	if l.err != nil {
		return
	}
	l.pending = append(l.pending, fn)
	if len(l.pending) >= l.opts.BatchSize {
		l.err = l.flush()
	}
}

func (l *loader) flush() error {
	if l.err != nil || len(l.pending) == 0 {
		return l.err
	}
	err := l.store.Update(l.ctx, func(tx roster.Tx) error {
		for _, fn := range l.pending {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load organisation: %w", err)
	}
	l.written += len(l.pending)
	l.pending = l.pending[:0]
	if l.opts.Progress != nil {
		l.opts.Progress(l.written)
	}
	return nil
}

// User returns user i as the store holds it, with timestamps now.
func (o *Org) User(i int, now time.Time) *roster.User {
	u := o.Users[i]
	id := UserID(i)
	ru := &roster.User{ID: id, Email: id + "@example.com", Name: "User " + id[1:], Department: o.Departments[u.Department],
		Title: Title(i), Location: Locations[i%len(Locations)], EmploymentType: EmploymentType(i),
		Status: roster.UserActive, Role: roster.RoleUser, Kind: roster.UserPerson, Notify: roster.NotifyEmail, CreatedAt: now, UpdatedAt: now}
	if u.Manager >= 0 {
		ru.Manager = UserID(int(u.Manager))
	}
	if u.Disabled {
		ru.Status = roster.UserDisabled
	}
	return ru
}

// Profile returns profile i as `roster apply` saves it from WriteYAML's file,
// with timestamps now.
func (o *Org) Profile(i int, now time.Time) *roster.Profile {
	pr := o.Profiles[i]
	id := ProfileID(i)
	auto := roster.Automation{Enabled: true, Mode: pr.mode(), AnyEntitlement: o.entIDs(pr.Rule),
		ExcludedUsers: []string{}, Safeguard: true}
	if pr.Expression != "" {
		r, err := rule.Compile(pr.Expression)
		if err != nil {
			panic(fmt.Sprintf("gen: profile %s: %v", id, err))
		}
		reads := r.Reads()
		auto.AnyEntitlement, auto.Expression = []string{}, pr.Expression
		auto.Reads = &roster.ExpressionReads{Fields: reads.Fields, Entitlements: []string{}, Profiles: []string{}}
	}
	return &roster.Profile{
		ID: id, Name: "Profile " + id[2:], Entitlements: o.entIDs(pr.Content),
		Enrollment:   roster.Enrollment{Policy: PolicyAuto, BypassEntitlementPolicies: true},
		Unenrollment: roster.Unenrollment{Policy: PolicyAuto, Access: roster.AccessRevokeUnjustified},
		Automation:   auto,
		Sync:         roster.SyncState{State: roster.AutomationActive},
		CreatedAt:    now, UpdatedAt: now,
	}
}

// Builtins returns a profile's enrollment and excluded-from-rule
// entitlements, as engine/apply.go's builtins makes them.
func Builtins(p *roster.Profile, now time.Time) []roster.Entitlement {
	ents := []roster.Entitlement{
		{ID: roster.EnrollmentEntitlement(p.ID), Name: "Member of " + p.Name, RequestPolicy: p.Enrollment.Policy, RevokePolicy: p.Unenrollment.Policy},
		{ID: roster.ExclusionEntitlement(p.ID), Name: "Excluded from the rule of " + p.Name},
	}
	for i := range ents {
		ents[i].App, ents[i].Profile = roster.BuiltinApp, p.ID
		ents[i].Provisioning, ents[i].Risk, ents[i].Provisioners = roster.ProvisionAuto, roster.RiskLow, []string{}
		ents[i].CreatedAt, ents[i].UpdatedAt = now, now
	}
	return ents
}

func (o *Org) entIDs(es []int32) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = o.EntitlementID(int(e))
	}
	return out
}

// userGrants returns user u's grants: the direct ones, and, for each profile
// in member, its enrollment grant and its contents (those of a members-only
// profile only where u holds them anyway), each with the sources of every
// member profile that contains it.
func (o *Org) userGrants(u int, member []int32, now time.Time) []roster.Grant {
	held := map[int32]bool{}
	for _, e := range o.Grants[u] {
		held[e] = true
	}
	for _, p := range member {
		if !o.Profiles[p].MembersOnly {
			for _, e := range o.Profiles[p].Content {
				held[e] = true
			}
		}
	}
	sources := map[int32][]string{}
	for _, e := range o.Grants[u] {
		sources[e] = []string{roster.SourceDirect}
	}
	for _, p := range member {
		for _, e := range o.Profiles[p].Content {
			if held[e] {
				sources[e] = append(sources[e], roster.ProfileSource(ProfileID(int(p))))
			}
		}
	}
	ents := make([]int32, 0, len(sources))
	for e := range sources {
		ents = append(ents, e)
	}
	slices.Sort(ents)
	id := UserID(u)
	out := make([]roster.Grant, 0, len(ents)+len(member))
	for _, e := range ents {
		s := sources[e]
		slices.Sort(s)
		out = append(out, roster.Grant{User: id, Entitlement: o.EntitlementID(int(e)), Sources: s, CreatedAt: now, UpdatedAt: now})
	}
	for _, p := range member {
		pid := ProfileID(int(p))
		out = append(out, roster.Grant{User: id, Entitlement: roster.EnrollmentEntitlement(pid), Sources: []string{roster.ProfileSource(pid)}, CreatedAt: now, UpdatedAt: now})
	}
	return out
}

// history returns the done tasks a sync would have left for user u: one
// automation enrollment per membership and, for each content entitlement u
// did not hold directly, the grant task of the first profile that gave it.
func (o *Org) history(u int, member []int32, now time.Time) []roster.Task {
	id := UserID(u)
	var out []roster.Task
	given := map[int32]bool{}
	for _, e := range o.Grants[u] {
		given[e] = true
	}
	for _, p := range member {
		if o.Profiles[p].MembersOnly {
			continue // members only: no tasks
		}
		pid := ProfileID(int(p))
		reason := "matches the rule of profile " + pid
		out = append(out, doneTask(id, roster.EnrollmentEntitlement(pid), roster.OriginAutomation, pid, "", reason, now))
		for _, e := range o.Profiles[p].Content {
			if given[e] {
				continue
			}
			given[e] = true
			out = append(out, doneTask(id, o.EntitlementID(int(e)), roster.OriginEnrollment, pid,
				"covered by the approval of the enrollment", "access of profile "+pid, now))
		}
	}
	return out
}

func doneTask(user, ent string, origin roster.Origin, profile, bypass, reason string, now time.Time) roster.Task {
	closed := now
	return roster.Task{
		Kind: roster.TaskGrant, User: user, Entitlement: ent, State: roster.StateDone, Origin: origin, Profile: profile,
		Policy: PolicyAuto, Steps: []roster.Step{}, Approvers: []string{}, Provisioning: roster.ProvisionAuto, Provisioners: []string{},
		Bypass: bypass, RequestedBy: "automation", Reason: reason,
		History: []roster.TaskAction{
			{At: now, Actor: "automation", Action: "created", Comment: reason},
			{At: now, Actor: "system", Action: "provisioned"},
		},
		CreatedAt: now, UpdatedAt: now, ClosedAt: &closed,
	}
}
