package engine

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rosterhq/roster"
)

// countingStore counts, by method, the calls its transactions make of the
// store methods countingTx wraps, and records the keys they lock. It is
// what its store is (MaxLockKeys, QueuesEvents), so the engine treats it
// the same.
type countingStore struct {
	roster.Store
	mu    sync.Mutex
	calls map[string]int
	locks [][]roster.LockKey
}

// wholeProfile are the reads of a whole profile a sync's plan makes: its
// members, the holders of its rule's entitlements, its open tasks.
var wholeProfile = []string{"Members", "Holders", "OpenTaskRefs"}

func (s *countingStore) MaxLockKeys() int {
	if k, ok := s.Store.(roster.KeyLockingStore); ok {
		return k.MaxLockKeys()
	}
	return 0
}

func (s *countingStore) QueuesEvents() bool {
	q, ok := s.Store.(interface{ QueuesEvents() bool })
	return ok && q.QueuesEvents()
}

func (s *countingStore) called(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[method]++
}

// count returns how many times methods were called since the last reset.
func (s *countingStore) count(methods ...string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range methods {
		n += s.calls[m]
	}
	return n
}

// reset forgets the calls and locks counted so far.
func (s *countingStore) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls, s.locks = nil, nil
}

// takeLocks returns the keys locked since it was last called, a list per
// call of Lock.
func (s *countingStore) takeLocks() [][]roster.LockKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	locks := s.locks
	s.locks = nil
	return locks
}

func (s *countingStore) View(ctx context.Context, fn func(roster.Tx) error) error {
	return s.Store.View(ctx, func(tx roster.Tx) error { return fn(countingTx{tx, s}) })
}

func (s *countingStore) Update(ctx context.Context, fn func(roster.Tx) error) error {
	return s.Store.Update(ctx, func(tx roster.Tx) error { return fn(countingTx{tx, s}) })
}

type countingTx struct {
	roster.Tx
	s *countingStore
}

func (t countingTx) Lock(ctx context.Context, keys ...roster.LockKey) error {
	t.s.mu.Lock()
	t.s.locks = append(t.s.locks, slices.Clone(keys))
	t.s.mu.Unlock()
	return t.Tx.Lock(ctx, keys...)
}

func (t countingTx) Holders(ctx context.Context, entitlements []string) ([]string, error) {
	t.s.called("Holders")
	return t.Tx.Holders(ctx, entitlements)
}

func (t countingTx) OpenTasks(ctx context.Context, entitlement string) ([]roster.Task, error) {
	t.s.called("OpenTasks")
	return t.Tx.OpenTasks(ctx, entitlement)
}

func (t countingTx) OpenTaskRefs(ctx context.Context, entitlement string) ([]roster.OpenTask, error) {
	t.s.called("OpenTaskRefs")
	return t.Tx.OpenTaskRefs(ctx, entitlement)
}

func (t countingTx) OpenTaskRefsOf(ctx context.Context, entitlements []string) ([]roster.OpenTask, error) {
	t.s.called("OpenTaskRefsOf")
	return t.Tx.OpenTaskRefsOf(ctx, entitlements)
}

func (t countingTx) UserOpenTasks(ctx context.Context, user string) ([]roster.Task, error) {
	t.s.called("UserOpenTasks")
	return t.Tx.UserOpenTasks(ctx, user)
}

func (t countingTx) Tasks(ctx context.Context, f roster.TaskFilter) (*roster.Page[roster.Task], error) {
	t.s.called("Tasks")
	return t.Tx.Tasks(ctx, f)
}

func (t countingTx) Members(ctx context.Context, profile string) ([]roster.Member, error) {
	t.s.called("Members")
	return t.Tx.Members(ctx, profile)
}

func (t countingTx) EachMemberOf(ctx context.Context, profiles []string, fn func(roster.Member) error) error {
	t.s.called("EachMemberOf")
	return t.Tx.EachMemberOf(ctx, profiles, fn)
}

func (t countingTx) MembersPage(ctx context.Context, profile string, f roster.MemberFilter) (*roster.Page[roster.Member], error) {
	t.s.called("MembersPage")
	return t.Tx.MembersPage(ctx, profile, f)
}

func (t countingTx) MembershipsAmong(ctx context.Context, users, profiles []string) ([]roster.Member, error) {
	t.s.called("MembershipsAmong")
	return t.Tx.MembershipsAmong(ctx, users, profiles)
}

// ScanSync counts a read of the whole organisation's holders or members
// as "ScanSync.whole", any other scan as "ScanSync".
func (t countingTx) ScanSync(ctx context.Context, s *roster.SyncScan) error {
	if s.User != nil || s.Holder != nil || s.Member != nil {
		t.s.called("ScanSync.whole")
	} else {
		t.s.called("ScanSync")
	}
	return t.Tx.ScanSync(ctx, s)
}

// The reads of a decision that Around makes at once.
func (t countingTx) Around(ctx context.Context, user, profile, entitlement string, now time.Time) (*roster.Around, error) {
	t.s.called("Around")
	return t.Tx.Around(ctx, user, profile, entitlement, now)
}

func (t countingTx) Profile(ctx context.Context, id string) (*roster.Profile, error) {
	t.s.called("Profile")
	return t.Tx.Profile(ctx, id)
}

func (t countingTx) Entitlement(ctx context.Context, id string) (*roster.Entitlement, error) {
	t.s.called("Entitlement")
	return t.Tx.Entitlement(ctx, id)
}

func (t countingTx) RuleProfiles(ctx context.Context, entitlements []string) ([]string, error) {
	t.s.called("RuleProfiles")
	return t.Tx.RuleProfiles(ctx, entitlements)
}

func (t countingTx) Memberships(ctx context.Context, user string) ([]roster.Member, error) {
	t.s.called("Memberships")
	return t.Tx.Memberships(ctx, user)
}

func (t countingTx) Grant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	t.s.called("Grant")
	return t.Tx.Grant(ctx, user, entitlement)
}

func (t countingTx) OpenTask(ctx context.Context, user, entitlement string, kind roster.TaskKind) (*roster.Task, error) {
	t.s.called("OpenTask")
	return t.Tx.OpenTask(ctx, user, entitlement, kind)
}

func (t countingTx) DelegationsInForce(ctx context.Context, now time.Time) ([]roster.Delegation, error) {
	t.s.called("DelegationsInForce")
	return t.Tx.DelegationsInForce(ctx, now)
}

// aroundReads are the reads one at a time that a decision's Around answers.
var aroundReads = []string{"Profile", "Entitlement", "RuleProfiles", "Memberships", "Grant", "OpenTask", "DelegationsInForce"}
