package syncview

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/rosterhq/roster"
)

// A view kept from one pass of syncs to the next. Reading a view reads
// every user, every holder of the rules' entitlements and every member of
// the profiles: at a million users that is most of a steady pass, which
// then finds almost nothing changed. So the engine keeps the last pass's
// view, with the access log's mark taken before it was read
// (roster.AccessLogStore), and Refresh brings it up to date by reading
// again only what concerns the users the log names, besides the few rows
// that concern profiles as wholes (denials, the removals of the safeguard's
// hour) and the users whose fields changed (for expressions, as Read finds
// them).

// RuleKey is what of a profile a view depends on besides the store's rows:
// its rule. A view read under another rule is not used for the profile.
func RuleKey(p *roster.Profile) string {
	a := p.Automation
	return a.Expression + "\x00" + strings.Join(a.AnyEntitlement, "\x01") + "\x00" + strings.Join(a.ExcludedUsers, "\x01")
}

// refreshMax is how many changed users Refresh reads again, at most, in a
// view of n users: past it, reading them costs about what a new view does.
func refreshMax(n int) int { return max(4096, n/8) }

// refreshChunk is how many users Refresh reads in one query.
const refreshChunk = 2048

// Refresh brings v, read in an earlier transaction, up to date in tx for
// changed — the users whose grants, memberships, open tasks, denials or
// status changed since, as the access log tells (sorted) — and returns the
// view of ps under the settings s, as Read would give it now. It reports
// false, having read little, when v cannot give that view: a profile of ps
// v lacks or read under another rule, a user new to v, too many users
// changed. v is changed in place and belongs to the caller: after false or
// an error it must not be used again; otherwise the view returned shares
// parts with it and is to be used only until v is next refreshed. m and j
// are as for Read, and must be those v was read with.
func (v *View) Refresh(ctx context.Context, tx roster.Tx, s *roster.Settings, ps []*roster.Profile, now time.Time, m *Matches, j *Journal, changed []string) (*View, bool, error) {
	sel, ok := v.positions(ps)
	if !ok {
		return nil, false, nil
	}
	if len(changed) > refreshMax(len(v.users)) {
		return nil, false, nil
	}
	for _, id := range changed {
		if _, ok := v.user(id); !ok {
			return nil, false, nil
		}
	}

	// What concerns profiles as wholes is read again for every profile v
	// keeps; the users whose fields changed, for the expressions.
	ids := make([]string, len(v.profiles))
	for i, p := range v.profiles {
		ids[i] = p.ID
		v.denials[i] = v.denials[i][:0]
		v.removals[i] = 0
	}
	scan := roster.SyncScan{Profiles: ids, RemovalsSince: now.Add(-roster.SafeguardWindow)}
	scan.Denial = func(p int, d roster.Denial) error {
		v.denials[p] = append(v.denials[p], d)
		return nil
	}
	scan.Removals = func(p int, n int) error {
		v.removals[p] = n
		return nil
	}
	var fields []changedUser
	if len(v.xs) > 0 {
		_, scan.RevsAfter = m.since()
		scan.ChangedUser = func(id string, rev int64) error {
			fields = append(fields, changedUser{id: strings.Clone(id), rev: rev})
			return nil
		}
	}
	if err := tx.ScanSync(ctx, &scan); err != nil {
		return nil, false, fmt.Errorf("read the state of %d profiles: %w", len(ids), err)
	}
	for _, c := range fields {
		if _, ok := v.user(c.id); !ok {
			return nil, false, nil // a new user: everyone is read again
		}
	}
	sortDenials(v.denials)

	for part := range slices.Chunk(changed, refreshChunk) {
		if err := v.refreshUsers(ctx, tx, ids, part); err != nil {
			return nil, false, err
		}
	}

	for k, i := range sel {
		v.profiles[i] = ps[k]
	}
	v.settings = s
	if len(v.xs) > 0 {
		var xs []exprProfile
		for _, x := range v.xs {
			if slices.Contains(sel, x.i) {
				xs = append(xs, x)
			}
		}
		if err := v.evaluate(ctx, tx, m, j, fields, xs); err != nil {
			return nil, false, err
		}
	}

	return v.sub(s, ps, sel), true, nil
}

// Select returns the view of ps (all of them v's, under their rules) under
// the settings s, as v holds them, and whether v holds them all. The view
// returned shares parts with v, as Refresh's does.
func (v *View) Select(s *roster.Settings, ps []*roster.Profile) (*View, bool) {
	sel, ok := v.positions(ps)
	if !ok {
		return nil, false
	}
	return v.sub(s, ps, sel), true
}

// positions returns the position in v of each of ps, if v holds them all
// under their rules.
func (v *View) positions(ps []*roster.Profile) ([]int, bool) {
	at := make(map[string]int, len(v.profiles))
	for i, p := range v.profiles {
		at[p.ID] = i
	}
	sel := make([]int, len(ps))
	for k, p := range ps {
		i, ok := at[p.ID]
		if !ok || v.keys[i] != RuleKey(p) {
			return nil, false
		}
		sel[k] = i
	}
	return sel, true
}

// sub returns the view of ps, at the positions sel of v, under s.
func (v *View) sub(s *roster.Settings, ps []*roster.Profile, sel []int) *View {
	out := &View{settings: s, profiles: ps, users: v.users, disabled: v.disabled, disabledIDs: v.disabledIDs,
		holders: v.holders, sources: v.sources,
		rules: make([][]int, len(ps)), members: make([][]memberRef, len(ps)), open: make([][]roster.OpenTask, len(ps)),
		denials: make([][]roster.Denial, len(ps)), removals: make([]int, len(ps)),
		expr: make([]*roaring.Bitmap, len(ps)), exprErrs: make([]*roaring.Bitmap, len(ps))}
	for k, i := range sel {
		out.rules[k], out.members[k], out.open[k] = v.rules[i], v.members[i], v.open[i]
		out.denials[k], out.removals[k] = v.denials[i], v.removals[i]
		out.expr[k], out.exprErrs[k] = v.expr[i], v.exprErrs[i]
	}
	return out
}

// refreshUsers reads again, in tx, what v holds of users (sorted, all
// known to v) in the profiles ids (v's): their status, their holding of
// the rules' entitlements, their memberships and open enrollment and
// unenrollment tasks.
func (v *View) refreshUsers(ctx context.Context, tx roster.Tx, ids, users []string) error {
	disabled, err := tx.DisabledUsers(ctx, users)
	if err != nil {
		return err
	}
	grants, err := tx.GrantsAmong(ctx, users, v.ents)
	if err != nil {
		return err
	}
	members, err := tx.MembershipsAmong(ctx, users, ids)
	if err != nil {
		return err
	}
	enrollments := make([]string, len(ids))
	for i, id := range ids {
		enrollments[i] = roster.EnrollmentEntitlement(id)
	}
	open, err := tx.OpenTasksAmong(ctx, users, enrollments)
	if err != nil {
		return err
	}

	changed := make(map[string]bool, len(users))
	for _, u := range users {
		changed[u] = true
	}
	off := make(map[string]bool, len(disabled))
	for _, u := range disabled {
		off[u] = true
	}
	for _, u := range users {
		x, _ := v.user(u)
		if off[u] {
			v.disabled.Add(x)
			v.disabledIDs[u] = true
		} else {
			v.disabled.Remove(x)
			delete(v.disabledIDs, u)
		}
	}

	// Holders, compared as bitmaps: the changed users' holding of each
	// entitlement before and now. A bitmap another holds (Matches keeps
	// the holders it evaluated against) is replaced, not changed.
	these := roaring.New()
	for _, u := range users {
		x, _ := v.user(u)
		these.Add(x)
	}
	entAt := make(map[string]int, len(v.ents))
	for e, ent := range v.ents {
		entAt[ent] = e
	}
	now := make([]*roaring.Bitmap, len(v.ents))
	for _, g := range grants {
		e, ok := entAt[g.Entitlement]
		x, known := v.user(g.User)
		if !ok || !known {
			continue
		}
		if now[e] == nil {
			now[e] = roaring.New()
		}
		now[e].Add(x)
	}
	for e, h := range v.holders {
		after := now[e]
		if after == nil {
			after = roaring.New()
		}
		if roaring.And(h, these).Equals(after) {
			continue
		}
		h = h.Clone()
		h.AndNot(these)
		h.Or(after)
		v.holders[e] = h
	}

	profileAt := make(map[string]int, len(ids))
	enrollmentAt := make(map[string]int, len(ids))
	for i, id := range ids {
		profileAt[id], enrollmentAt[enrollments[i]] = i, i
	}
	joined := make(map[int][]memberRef)
	for _, mb := range members {
		if i, ok := profileAt[mb.Profile]; ok {
			joined[i] = append(joined[i], memberRef{user: mb.User, source: v.source(mb.Source), since: mb.Since.UnixMicro()})
		}
	}
	for i := range ids {
		v.members[i] = replaceMembers(v.members[i], users, joined[i])
	}
	started := make(map[int][]roster.OpenTask)
	for _, t := range open {
		if i, ok := enrollmentAt[t.Entitlement]; ok {
			started[i] = append(started[i], roster.OpenTask{ID: t.ID, Kind: t.Kind, User: t.User, Origin: t.Origin})
		}
	}
	for i := range ids {
		ts := v.open[i]
		if len(started[i]) == 0 && !slices.ContainsFunc(ts, func(t roster.OpenTask) bool { return changed[t.User] }) {
			continue
		}
		ts = slices.DeleteFunc(slices.Clone(ts), func(t roster.OpenTask) bool { return changed[t.User] })
		ts = append(ts, started[i]...)
		slices.SortFunc(ts, func(a, b roster.OpenTask) int { return cmp.Compare(a.ID, b.ID) })
		v.open[i] = ts
	}
	return nil
}

// replaceMembers returns ms (sorted by user) with the members among users
// (sorted) replaced by now: ms itself when nothing changes, else a new
// slice.
func replaceMembers(ms []memberRef, users []string, now []memberRef) []memberRef {
	byUser := func(a, b memberRef) int { return strings.Compare(a.user, b.user) }
	// Most profiles hold none of a few changed users: each is looked up.
	found := false
	if len(users) < len(ms)/16 {
		for _, u := range users {
			if _, ok := slices.BinarySearchFunc(ms, u, func(m memberRef, u string) int { return strings.Compare(m.user, u) }); ok {
				found = true
				break
			}
		}
	} else {
		found = true
	}
	if !found && len(now) == 0 {
		return ms
	}
	out := make([]memberRef, 0, len(ms)+len(now))
	k := 0
	for _, m := range ms {
		for k < len(users) && users[k] < m.user {
			k++
		}
		if k < len(users) && users[k] == m.user {
			continue
		}
		out = append(out, m)
	}
	return Merge(out, now, byUser)
}

// Merge returns xs, sorted by cmp, with ys merged in (sorted first, in
// place); xs itself when ys is empty.
func Merge[T any](xs, ys []T, cmp func(a, b T) int) []T {
	if len(ys) == 0 {
		return xs
	}
	slices.SortFunc(ys, cmp)
	out := make([]T, 0, len(xs)+len(ys))
	for len(xs) > 0 && len(ys) > 0 {
		if cmp(ys[0], xs[0]) < 0 {
			out, ys = append(out, ys[0]), ys[1:]
		} else {
			out, xs = append(out, xs[0]), xs[1:]
		}
	}
	return append(append(out, xs...), ys...)
}

// Input returns the planner's input for p as v holds it (as PlanInput
// does), if v holds p under its rule: what concerns p as a whole and the
// tenant (its mode and safeguard, the thresholds, its denials and
// removals, an expression's errors) is as of v's read, for the caller to
// read again.
func (v *View) Input(p *roster.Profile) (roster.PlanInput, bool) {
	sel, ok := v.positions([]*roster.Profile{p})
	if !ok {
		return roster.PlanInput{}, false
	}
	return v.PlanInput(sel[0]), true
}

// Has reports whether v holds the profile id.
func (v *View) Has(id string) bool {
	return slices.ContainsFunc(v.profiles, func(p *roster.Profile) bool { return p.ID == id })
}
