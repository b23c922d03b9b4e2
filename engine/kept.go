package engine

import (
	"fmt"
	"slices"
	"sync"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine/internal/syncview"
)

// Kept plan inputs. A change-driven sync of a profile of 100,000 users read
// its 33,000 holders and open tasks every time, to act on one user. So the
// engine keeps, per profile, the plan input of its last committed sync and
// the access log's mark taken before it was read (roster.AccessLogStore);
// the next sync takes a mark, asks the log which users changed since the
// kept one, and reads only theirs again (refreshPlanInput), besides what
// concerns the profile as a whole: its denials, its removals of the
// safeguard's hour, the tenant's thresholds. The store logs every write of
// a grant, membership, task, denial or user status, in the transaction
// that writes it, so the refreshed input is what a fresh read would give.
// What the log does not hold (the profile's rule and exclusions, fields an
// expression reads) is read otherwise: an input kept under another rule is
// not used, and an expression's matches come from syncview.Matching, which
// keeps up with users' fields itself.
//
// An input is kept only once its transaction has committed, and the kept
// one is never changed: a sync works on a copy. On several replicas each
// keeps its own; the marks are the store's, so any replica's writes are
// found.

// keptMax bounds the entries (users in the inputs' lists) the engine keeps
// in all, about 64 bytes each: 64 MiB at most.
const keptMax = 1 << 20

// keptInputs are the kept plan inputs, by profile.
type keptInputs struct {
	mu      sync.Mutex
	byID    map[string]*keptInput
	entries int
}

// keptInput is a profile's plan input, read after mark was taken, under
// the rule rule (syncview.RuleKey).
type keptInput struct {
	mark int64
	rule string
	in   roster.PlanInput
}

// size counts the entries of an input.
func size(in *roster.PlanInput) int {
	return len(in.Matching) + len(in.Disabled) + len(in.Members) + len(in.OpenEnrollments) + len(in.OpenUnenrollments) + len(in.Denials)
}

// take returns a copy of the input kept for p, if any, under p's rule.
func (k *keptInputs) take(p *roster.Profile) (roster.PlanInput, int64, bool) {
	k.mu.Lock()
	kept := k.byID[p.ID]
	k.mu.Unlock()
	if kept == nil || kept.rule != syncview.RuleKey(p) {
		return roster.PlanInput{}, 0, false
	}
	in := kept.in
	in.Matching = slices.Clone(in.Matching)
	in.Disabled = slices.Clone(in.Disabled)
	in.Members = slices.Clone(in.Members)
	in.OpenEnrollments = slices.Clone(in.OpenEnrollments)
	in.OpenUnenrollments = slices.Clone(in.OpenUnenrollments)
	in.Denials = slices.Clone(in.Denials)
	return in, kept.mark, true
}

// has reports whether an input is kept for the profile id.
func (k *keptInputs) has(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.byID[id] != nil
}

// keep keeps in, read after mark under p's rule, unless an input read after
// a later mark is kept already. Others are dropped while the kept entries
// pass keptMax.
func (k *keptInputs) keep(p *roster.Profile, mark int64, in roster.PlanInput) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.byID == nil {
		k.byID = map[string]*keptInput{}
	}
	old := k.byID[p.ID]
	if old != nil {
		if old.mark > mark {
			return
		}
		k.entries -= size(&old.in)
	}
	n := size(&in)
	for id, other := range k.byID {
		if k.entries+n <= keptMax {
			break
		}
		if id != p.ID {
			k.entries -= size(&other.in)
			delete(k.byID, id)
		}
	}
	if k.entries+n > keptMax {
		delete(k.byID, p.ID)
		return
	}
	k.byID[p.ID] = &keptInput{mark: mark, rule: syncview.RuleKey(p), in: in}
	k.entries += n
}

// keptPlanInput is planInput, from the input kept for p when there is one
// and few users changed since (see above). It returns the mark taken before
// it read, for keepInput.
func (o *op) keptPlanInput(p *roster.Profile) (roster.PlanInput, int64, error) {
	mark, err := o.tx.AccessMark(o.ctx)
	if err != nil {
		return roster.PlanInput{}, 0, err
	}
	in, since, ok := o.e.kept.take(p)
	if !ok {
		// The last pass's view holds every profile's input.
		in, since, ok = o.e.views.input(p)
	}
	if ok {
		var users []string
		users, ok, err = o.tx.AccessChangedSince(o.ctx, since)
		if err != nil {
			return roster.PlanInput{}, 0, err
		}
		// Reading many users one list at a time costs more than reading
		// the profile whole.
		if ok && len(users) <= max(512, size(&in)/8) {
			if err := o.refreshProfileInput(p, &in); err != nil {
				return roster.PlanInput{}, 0, err
			}
			return in, mark, o.refreshPlanInput(p, &in, users, nil)
		}
	}
	in, err = o.planInput(p)
	return in, mark, err
}

// refreshProfileInput brings up to date what a kept input holds of p as a
// whole and of the tenant, which the access log does not tell.
func (o *op) refreshProfileInput(p *roster.Profile, in *roster.PlanInput) error {
	s, err := o.tenant()
	if err != nil {
		return err
	}
	in.Mode, in.Safeguard, in.Thresholds = p.Automation.Mode, p.Automation.Safeguard, s.Safeguard
	in.RecentRemovals, err = o.tx.CountRemovals(o.ctx, p.ID, o.now.Add(-roster.SafeguardWindow))
	return err
}

// keepInput keeps in, the input p's sync planned from, read after mark,
// once the transaction has committed, if the op keeps inputs: the syncs of
// one profile (a change-driven sync, an admin's), which the next change
// will sync again, and not an apply's first syncs of hundreds of profiles
// that may never change, whose inputs would only hold memory.
func (o *op) keepInput(p *roster.Profile, mark int64, in roster.PlanInput) {
	if o.keep {
		o.after = append(o.after, func() { o.e.kept.keep(p, mark, in) })
	}
}

// keptView is the view of the last pass of many profiles' syncs
// (planMany), read after mark was taken, which the next pass brings up to
// date rather than read again (syncview.View.Refresh): at a million users,
// reading the view is most of a steady pass. A pass takes it, so that one
// pass at a time changes it, and keeps its own when done.
type keptView struct {
	mu   sync.Mutex
	v    *syncview.View
	mark int64
}

// input returns p's plan input from the kept view, if there is one that
// holds p under its rule and no pass has it now, and the view's mark.
func (k *keptView) input(p *roster.Profile) (roster.PlanInput, int64, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.v == nil {
		return roster.PlanInput{}, 0, false
	}
	in, ok := k.v.Input(p)
	return in, k.mark, ok
}

// has reports whether a view is kept that holds id.
func (k *keptView) has(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.v != nil && k.v.Has(id)
}

// syncView returns the view of ps under settings for planMany: the kept
// one brought up to date when it can be, else one read afresh — of every
// profile of every (all the profiles to sync, ps among them), so that the
// kept view serves the next pass whichever of them it syncs (the
// scheduler syncs those due). Once the view is no longer used, done keeps
// it for the next pass.
func (o *op) syncView(settings *roster.Settings, ps, every []*roster.Profile) (v *syncview.View, done func(), err error) {
	mark, err := o.tx.AccessMark(o.ctx)
	if err != nil {
		return nil, nil, err
	}
	k := &o.e.views
	k.mu.Lock()
	kept, since := k.v, k.mark
	k.v = nil
	k.mu.Unlock()
	keep := func(v *syncview.View) func() {
		return func() {
			k.mu.Lock()
			defer k.mu.Unlock()
			if k.v == nil || k.mark <= mark {
				k.v, k.mark = v, mark
			}
		}
	}
	if kept != nil {
		users, ok, err := o.tx.AccessChangedSince(o.ctx, since)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			v, ok, err := kept.Refresh(o.ctx, o.tx, settings, ps, o.now, o.e.matches, &o.journal, users)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				o.e.metrics.viewRefreshes.WithLabelValues("refreshed").Inc()
				return v, keep(kept), nil
			}
		}
		kept = nil // not held while another is read
	}
	o.e.metrics.viewRefreshes.WithLabelValues("read").Inc()
	whole, err := syncview.Read(o.ctx, o.tx, settings, every, o.now, o.e.matches, &o.journal)
	if err != nil {
		return nil, nil, err
	}
	v, ok := whole.Select(settings, ps)
	if !ok {
		return nil, nil, fmt.Errorf("a view of %d profiles does not hold the %d to sync", len(every), len(ps))
	}
	return v, keep(whole), nil
}
