package engine

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine/internal/syncview"
)

// Sweeps. An apply that switches on hundreds of profiles at once used to
// sync them one after another, several to a transaction: each commit held
// the syncs of a few profiles, and each of those enrolled users from the
// whole width of the organisation. The indexes whose keys are users —
// grants by user, tasks by user, members by user, events by object (a
// grant's object is "user entitlement") — then took their inserts at
// random across their whole width, and every commit rewrote most of their
// pages, more of them than the writer's page cache holds.
//
// A sweep syncs the same profiles a range of users at a time instead: the
// first range for every profile, then the next, and so on. A transaction
// then touches those indexes in one narrow band. Each profile's plan input
// is read once, before the sweep (sweepInputs); the part of a profile's
// sync for a range plans from that input cut to the range, with the users
// in it that changed since read again (refreshPlanInput), so it acts on
// what is true when it runs:
//
//   - a user another writer changed between the sweep's transactions is
//     found by the access log (AccessChangedSince from the mark the last
//     transaction ended at);
//   - a user an earlier profile's part of the same range changed is read
//     again by each later profile whose rule reads an entitlement the
//     range's parts wrote;
//   - a part writes only the grants, tasks and memberships of its range's
//     users, so what a profile's earlier parts wrote is outside the range
//     of its later ones; a part carried into the next transaction (it had
//     more than a sync chunk to do) reads again the range's users changed
//     since the range began.
//
// The first part of each profile plans from the whole input, refreshed,
// and so judges the whole sync against the safeguard, as the first part of
// any sync does; it then acts on the first range only. It answers the
// profile's mark (ClearTrigger); the last part answers it again only when
// the sweep has seen everything the mark may stand for (sweptAll).
// Otherwise the mark stays, and the change-driven sync syncs the profile
// again, as it does after any change.
//
// Planning per user is what makes this the same as syncing the profiles
// one after another: whether a user matches a rule, and what enrolling
// them writes, concern that user alone. Each transaction records its
// parts as parts of their profiles' syncs (recordSweep), so a profile's
// last sync sums them. Should a sweep's transaction fail, the profiles
// whose syncs are not done are synced one after another, as they were
// before sweeps (syncGroups).

// A sweep's ranges hold about sweepChunks sync chunks of work each (a
// task, a user enrolled or unenrolled: Config.SyncChunk): a range's users'
// pages of the indexes above then fit the writer's page cache many times
// over, and a profile's sync is split into few parts, each of a chunk at
// most. A sweep runs only when the plans hold at least two ranges' work,
// and keeps the inputs it plans from only while they hold at most
// sweepEntries users (about 64 bytes each).
const (
	sweepChunks  = 8
	sweepEntries = 1 << 22
)

// errSweepLost is a sweep transaction's error when the access log no longer
// reaches back to the sweep's mark: the sweep ends, and what is left is
// synced afresh.
var errSweepLost = errors.New("the access log no longer reaches the sweep's last mark")

// userRange is a range of user ids: from lo (included) to hi (excluded),
// without an upper end when open.
type userRange struct {
	lo, hi string
	open   bool
}

func (r userRange) has(u string) bool {
	return u >= r.lo && (r.open || u < r.hi)
}

// sweepInputs are the plan inputs of the profiles of a sweep, read at mark,
// each under its profile's rule then (syncview.RuleKey).
type sweepInputs struct {
	mark   int64
	inputs map[string]*roster.PlanInput
	rules  map[string]string
	ranges []userRange
}

// sweepable reads, in a view, the plan inputs of the profiles ids and plans
// them, and returns them for a sweep when it pays: two ranges of work or
// more, and inputs small enough to keep. nil otherwise; with less work than
// that, the inputs are kept for the syncs' first parts (kept.go).
func (e *Engine) sweepable(ctx context.Context, ids []string) (*sweepInputs, error) {
	if len(ids) < 2 {
		return nil, nil
	}
	var sw *sweepInputs
	err := e.view(ctx, func(o *op) error {
		mark, err := o.tx.AccessMark(o.ctx)
		if err != nil {
			return err
		}
		inputs, rules := map[string]*roster.PlanInput{}, map[string]string{}
		var read []*roster.Profile
		work := map[string]int{}
		entries := 0
		for _, id := range ids {
			p, err := o.profile(id)
			if roster.ErrorCode(err) == roster.ENOTFOUND {
				continue // its own sync says so
			} else if err != nil {
				return err
			}
			if o.checkCanSync(p) != nil || p.Sync.State == roster.AutomationPaused {
				continue
			}
			in, err := o.planInput(p)
			if err != nil {
				return err
			}
			if entries += size(&in); entries > sweepEntries {
				return nil
			}
			inputs[id], rules[id] = &in, syncview.RuleKey(p)
			read = append(read, p)
			plan := roster.PlanSync(in)
			each := 1 + len(p.Entitlements)
			for _, u := range plan.Enroll {
				work[u] += each
			}
			for _, u := range plan.Unenroll {
				work[u] += each
			}
			for _, c := range plan.Cancel {
				work[c.User]++
			}
		}
		total := 0
		for _, w := range work {
			total += w
		}
		if total < 2*sweepChunks*e.syncChunk {
			// The syncs one after another start from the inputs read
			// here, reading again only the users changed since (kept.go).
			for _, p := range read {
				e.kept.keep(p, mark, *inputs[p.ID])
			}
			return nil
		}
		sw = &sweepInputs{mark: mark, inputs: inputs, rules: rules, ranges: cutRanges(work, sweepChunks*e.syncChunk)}
		return nil
	})
	if err != nil || sw == nil || len(sw.ranges) < 2 {
		return nil, err
	}
	return sw, nil
}

// cutRanges cuts the users of work into ranges of about size units each;
// the first starts at "" and the last is open, so every user is in one.
func cutRanges(work map[string]int, size int) []userRange {
	users := slices.Sorted(maps.Keys(work))
	var out []userRange
	lo, sum := "", 0
	for _, u := range users {
		if sum >= size {
			out = append(out, userRange{lo: lo, hi: u})
			lo, sum = u, 0
		}
		sum += work[u]
	}
	return append(out, userRange{lo: lo, open: true})
}

// within returns the entries of in concerning users of r, in new slices.
func within(in *roster.PlanInput, r userRange) roster.PlanInput {
	out := *in
	out.Matching = filter(in.Matching, r.has)
	out.Disabled = filter(in.Disabled, r.has)
	out.Members = filter(in.Members, func(m roster.Member) bool { return r.has(m.User) })
	out.OpenEnrollments = filter(in.OpenEnrollments, func(t roster.OpenTask) bool { return r.has(t.User) })
	out.OpenUnenrollments = filter(in.OpenUnenrollments, func(t roster.OpenTask) bool { return r.has(t.User) })
	out.Denials = filter(in.Denials, func(d roster.Denial) bool { return r.has(d.User) })
	return out
}

// withinPlan returns the actions of plan concerning users of r.
func withinPlan(plan roster.Plan, r userRange) roster.Plan {
	plan.Enroll = filter(plan.Enroll, r.has)
	plan.Unenroll = filter(plan.Unenroll, r.has)
	plan.Cancel = filter(plan.Cancel, func(c roster.Cancellation) bool { return r.has(c.User) })
	plan.ClearDenials = filter(plan.ClearDenials, func(d roster.Denial) bool { return r.has(d.User) })
	return plan
}

// filter returns, in a new slice, the elements of xs for which keep holds.
func filter[T any](xs []T, keep func(T) bool) []T {
	out := make([]T, 0, len(xs)/4)
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// sweepState is where a sweep stands: what its committed transactions did.
type sweepState struct {
	// k and j are the range and the profile (an index of the sweep's ids)
	// of the next part.
	k, j int
	// rangeMark is the access log's mark taken before the first part of
	// range k (-1 before it); rangeWrote the entitlements whose grants the
	// parts of range k wrote since.
	rangeMark  int64
	rangeWrote map[string]bool
	// wroteBy is, for each entitlement whose grants the sweep wrote, the
	// last of ids (an index) whose parts wrote them.
	wroteBy map[string]int
	// carried is set when the part at k, j was begun and has more to do:
	// it goes on from what the access log says changed in the range
	// since rangeMark.
	carried bool
	// seen is the access log's mark at the end of the last transaction:
	// what changed after it, another writer changed.
	seen int64
	// stale are the users another writer changed since the inputs were
	// read, which each part reads again.
	stale map[string]bool
	// started are the profiles whose first part is done; dropped those
	// the sweep no longer syncs (paused, switched off, or deleted since).
	started, dropped map[string]bool
	results          map[string]roster.SyncResult
}

func (st *sweepState) clone() *sweepState {
	c := *st
	c.rangeWrote, c.wroteBy, c.stale = maps.Clone(st.rangeWrote), maps.Clone(st.wroteBy), maps.Clone(st.stale)
	c.started, c.dropped, c.results = maps.Clone(st.started), maps.Clone(st.dropped), maps.Clone(st.results)
	return &c
}

// advance moves st to the next part.
func (st *sweepState) advance(profiles int) {
	st.carried = false
	if st.j++; st.j == profiles {
		st.k, st.j = st.k+1, 0
		st.rangeMark, st.rangeWrote = -1, map[string]bool{}
	}
}

// sweep syncs the profiles ids, whose inputs sw holds, range by range (see
// above), as actor, and puts their results in results and their errors in
// failed, as syncGroups does.
func (e *Engine) sweep(ctx context.Context, actor string, ids []string, sw *sweepInputs, results map[string]roster.SyncResult, failed map[string]error) {
	st := &sweepState{rangeMark: -1, rangeWrote: map[string]bool{}, wroteBy: map[string]int{}, seen: sw.mark, stale: map[string]bool{},
		started: map[string]bool{}, dropped: map[string]bool{}, results: map[string]roster.SyncResult{}}
	for _, id := range ids {
		if sw.inputs[id] == nil {
			st.dropped[id] = true
		}
	}
	var err error
	for st.k < len(sw.ranges) && err == nil {
		var next *sweepState
		err = e.updateAs(ctx, actor, func(o *op) error {
			next = st.clone()
			return o.sweepSome(ids, sw, next)
		})
		if err == nil {
			st = next
		}
	}
	maps.Copy(results, st.results)
	var rest []string
	for _, id := range ids {
		if err != nil && !st.dropped[id] || sw.inputs[id] == nil {
			rest = append(rest, id)
		}
	}
	if len(rest) == 0 {
		return
	}
	// What the sweep did not do (a profile it did not read, or all it
	// left when a transaction failed) is synced one profile after
	// another; a part done already is not done again, as plans are
	// level-based.
	more := map[string]roster.SyncResult{}
	e.syncGroups(ctx, actor, rest, false, (*op).syncPart, nil, more, failed)
	for id, r := range more {
		if prev, ok := results[id]; ok {
			r = *mergeSync(&prev, &r)
		}
		results[id] = r
	}
}

// sweepSome runs, in the op's transaction, the parts of a sweep from where
// st stands, until the transaction holds groupTasks tasks, has run
// groupTime or a part has more to do than a sync's chunk, and moves st on.
func (o *op) sweepSome(ids []string, sw *sweepInputs, st *sweepState) error {
	changed, ok, err := o.tx.AccessChangedSince(o.ctx, st.seen)
	if err != nil {
		return err
	}
	if !ok {
		return errSweepLost
	}
	for _, u := range changed {
		st.stale[u] = true
	}
	start := time.Now()
	before := maps.Clone(st.results)
	var parts []string // the profiles whose parts this transaction ran, in order
	for st.k < len(sw.ranges) {
		id := ids[st.j]
		if st.dropped[id] {
			st.advance(len(ids))
			continue
		}
		if st.rangeMark < 0 {
			if st.rangeMark, err = o.tx.AccessMark(o.ctx); err != nil {
				return err
			}
		}
		res, more, err := o.sweepPart(id, sw, sw.ranges[st.k], st)
		if err != nil {
			return err
		}
		for e := range o.changedEnts {
			st.rangeWrote[e] = true
			st.wroteBy[e] = max(st.wroteBy[e], st.j)
		}
		o.cache.forgetUsers()
		if res == nil || res.Paused {
			st.dropped[id] = true
		}
		if res != nil {
			if prev, ok := st.results[id]; ok {
				// As mergeSync, appending in place: a profile has a part
				// in each range, and copying its lists for each would
				// copy them some 30 times over. The state before this
				// transaction keeps its lists' lengths, so appending
				// past them changes nothing it holds.
				prev.Enrolled = append(prev.Enrolled, res.Enrolled...)
				prev.Unenrolled = append(prev.Unenrolled, res.Unenrolled...)
				prev.Cancelled = append(prev.Cancelled, res.Cancelled...)
				prev.TasksCreated += res.TasksCreated
				prev.Paused = prev.Paused || res.Paused
				res = &prev
			}
			st.results[id] = *res
			if !slices.Contains(parts, id) {
				parts = append(parts, id)
			}
		}
		if !more {
			st.advance(len(ids))
		}
		if more || o.created >= groupTasks || time.Since(start) >= groupTime {
			break
		}
	}
	if err := o.recordSweep(parts, before, st.results); err != nil {
		return err
	}
	st.seen, err = o.tx.AccessMark(o.ctx)
	return err
}

// recordSweep records, at the end of a sweep's transaction, what its parts
// did, as recordSync records a sync's part: each profile of ids (those
// whose parts the transaction ran) gets its last sync summed over its parts
// so far (after, against before the transaction) and one event listing
// what this transaction's parts did. The sync states are written together:
// a statement between two parts would wait for the rows the parts before
// it left to write behind (see sqlite's writeBehind). A profile a part
// paused is recorded already (pause).
func (o *op) recordSweep(ids []string, before, after map[string]roster.SyncResult) error {
	syncs := map[string]roster.SyncState{}
	for _, id := range ids {
		total := after[id]
		if total.Paused {
			continue
		}
		p, err := o.profile(id)
		if err != nil {
			return err
		}
		var prev *roster.SyncResult
		part := total
		if b, ok := before[id]; ok {
			prev = &b
			part.Enrolled, part.Unenrolled, part.Cancelled = total.Enrolled[len(b.Enrolled):], total.Unenrolled[len(b.Unenrolled):], total.Cancelled[len(b.Cancelled):]
			part.TasksCreated -= b.TasksCreated
		}
		o.noteSync(p, &part, prev)
		syncs[id] = p.Sync
		o.after = append(o.after, func() { o.e.metrics.syncs.WithLabelValues("applied").Inc() })
		if len(part.Enrolled)+len(part.Unenrolled)+len(part.Cancelled)+part.TasksCreated > 0 {
			if err := o.audit(roster.ActionProfileSynced, "profile", p.ID, "", map[string]any{
				"enrolled": part.Enrolled, "unenrolled": part.Unenrolled, "cancelled": part.Cancelled, "tasks_created": part.TasksCreated,
			}); err != nil {
				return err
			}
		}
	}
	if len(syncs) == 0 {
		return nil
	}
	if err := o.tx.PutProfileSyncs(o.ctx, syncs); err != nil {
		return err
	}
	for id, s := range syncs {
		if p, ok := o.cache.profiles[id]; ok {
			p.Sync = s
			o.cache.profiles[id] = p
		}
	}
	return nil
}

// sweepPart syncs, in the op's transaction, the users of r for profile id,
// from its plan input read at the sweep's start, as far as a sync's chunk
// of work goes, and reports whether more is left; nil when the profile is
// no longer to be synced, or its rule changed since (saving it synced it
// then). The first part of a profile plans from the whole input and
// judges the whole sync against the safeguard. Users changed since the
// input was read are read again: those another writer changed (st.stale);
// and, when the profile's rule reads an entitlement the parts of this
// range wrote grants of, or the part goes on from an earlier transaction,
// those changed since the range began. The part is recorded with the
// others of its transaction (recordSweep), unless it paused the profile.
func (o *op) sweepPart(id string, sw *sweepInputs, r userRange, st *sweepState) (*roster.SyncResult, bool, error) {
	p, err := o.syncableProfile(id, false)
	if err != nil || p == nil || syncview.RuleKey(p) != sw.rules[id] {
		return nil, false, err
	}
	snap := sw.inputs[id]
	first := !st.started[id]
	st.started[id] = true
	res := &roster.SyncResult{Profile: p.ID, Enrolled: []string{}, Unenrolled: []string{}, Cancelled: []int64{}, At: o.now}
	if r, ok := st.results[id]; ok {
		res.At = r.At
	}
	if paused, err := o.beginSync(p, res, first); err != nil {
		return nil, false, err
	} else if paused {
		return res, false, nil
	}
	var in roster.PlanInput
	var users []string
	if first {
		in = within(snap, userRange{open: true})
		if err := o.refreshProfileInput(p, &in); err != nil {
			return nil, false, err
		}
		users = slices.Collect(maps.Keys(st.stale))
	} else {
		in = within(snap, r)
		in.Safeguard = false
		for u := range st.stale {
			if r.has(u) {
				users = append(users, u)
			}
		}
	}
	if st.carried || slices.ContainsFunc(p.Automation.RuleEntitlements(), func(e string) bool { return st.rangeWrote[e] }) {
		ours, _, err := o.tx.AccessChangedSince(o.ctx, st.rangeMark)
		if err != nil {
			return nil, false, err
		}
		users = append(users, filter(ours, r.has)...)
	}
	scope := &r
	if first {
		scope = nil
	}
	if len(users) > 0 || p.Automation.Expression != "" {
		if err := o.refreshPlanInput(p, &in, users, scope); err != nil {
			return nil, false, err
		}
	}
	if !first {
		in = within(&in, r)
	}
	in.Mode = p.Automation.Mode
	res.Errors = in.Errors
	plan := roster.PlanSync(in)
	if plan.Pause {
		return res, false, o.pause(p, plan, res)
	}
	more, err := o.applyPlan(p, withinPlan(plan, r), res, o.e.syncChunk)
	if err != nil {
		return nil, false, err
	}
	st.carried = more
	if r.open && !more && o.sweptAll(p, r, st) {
		if err := o.tx.ClearTrigger(o.ctx, p.ID); err != nil {
			return nil, false, err
		}
	}
	return res, more, nil
}

// sweptAll reports, at the end of the last part of p's sync in a sweep
// (p is ids[st.j], last the open range), whether that sync has seen every
// change its rule may read, so that p's mark can be cleared, as a sync one
// after another would: no other writer changed a user outside the last
// range during the sweep (a change to a user of an earlier range may have
// come after p's part for it), and no profile after p in the sweep wrote
// grants p's rule reads so far (those after p in a range wrote them after
// p's part for it). Otherwise the mark stays, and the change-driven sync
// syncs p again.
func (o *op) sweptAll(p *roster.Profile, last userRange, st *sweepState) bool {
	for u := range st.stale {
		if !last.has(u) {
			return false
		}
	}
	for _, e := range p.Automation.RuleEntitlements() {
		if by, ok := st.wroteBy[e]; ok && by > st.j {
			return false
		}
	}
	return true
}
