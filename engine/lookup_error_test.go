package engine

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// errBroken is what a lookup of a breaking store returns.
var errBroken = errors.New("the database went away")

// breakingStore is a real store whose transactions fail the lookups that
// broken picks with errBroken, as a database that breaks in the middle of a
// transaction would; everything else reaches the store.
type breakingStore struct {
	roster.Store
	broken func(method string, args ...string) bool
}

func (s *breakingStore) Update(ctx context.Context, fn func(roster.Tx) error) error {
	return s.Store.Update(ctx, func(tx roster.Tx) error { return fn(&breakingTx{Tx: tx, broken: s.broken}) })
}

func (s *breakingStore) View(ctx context.Context, fn func(roster.Tx) error) error {
	return s.Store.View(ctx, func(tx roster.Tx) error { return fn(&breakingTx{Tx: tx, broken: s.broken}) })
}

type breakingTx struct {
	roster.Tx
	broken func(method string, args ...string) bool
}

func (tx *breakingTx) User(ctx context.Context, id string) (*roster.User, error) {
	if tx.broken("User", id) {
		return nil, errBroken
	}
	return tx.Tx.User(ctx, id)
}

func (tx *breakingTx) Policy(ctx context.Context, id string) (*roster.Policy, error) {
	if tx.broken("Policy", id) {
		return nil, errBroken
	}
	return tx.Tx.Policy(ctx, id)
}

func (tx *breakingTx) Entitlement(ctx context.Context, id string) (*roster.Entitlement, error) {
	if tx.broken("Entitlement", id) {
		return nil, errBroken
	}
	return tx.Tx.Entitlement(ctx, id)
}

func (tx *breakingTx) Profile(ctx context.Context, id string) (*roster.Profile, error) {
	if tx.broken("Profile", id) {
		return nil, errBroken
	}
	return tx.Tx.Profile(ctx, id)
}

func (tx *breakingTx) Connectors(ctx context.Context) ([]roster.Connector, error) {
	if tx.broken("Connectors") {
		return nil, errBroken
	}
	return tx.Tx.Connectors(ctx)
}

func (tx *breakingTx) Grant(ctx context.Context, user, entitlement string) (*roster.Grant, error) {
	if tx.broken("Grant", user, entitlement) {
		return nil, errBroken
	}
	return tx.Tx.Grant(ctx, user, entitlement)
}

func (tx *breakingTx) OpenTask(ctx context.Context, user, entitlement string, kind roster.TaskKind) (*roster.Task, error) {
	if tx.broken("OpenTask", user, entitlement, string(kind)) {
		return nil, errBroken
	}
	return tx.Tx.OpenTask(ctx, user, entitlement, kind)
}

// breaking returns an engine over a bootstrapped SQLite database holding
// what doc declares, and a switch: once set to a predicate, the lookups it
// picks fail.
func breaking(t *testing.T, doc string) (*Engine, *func(method string, args ...string) bool) {
	t.Helper()
	_, db := bootstrapped(t)
	broken := func(string, ...string) bool { return false }
	store := &breakingStore{Store: db}
	store.broken = func(method string, args ...string) bool { return broken(method, args...) }
	e := New(Config{Store: store, Clock: roster.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if doc != "" {
		if _, err := e.Apply(roster.NewContext(context.Background(), roster.AdminUser), roster.ApplyRequest{Filename: "t.yaml", Document: []byte(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	return e, &broken
}

// lookupOrg is what the lookup error tests start from: amy is excluded from
// p's rule (recorded at once: p has no exclusion policy).
const lookupOrg = `policies: [{id: auto, steps: []}]
users: [{id: zoe}, {id: amy}]
apps: [{id: a, entitlements: [{id: e1, request_policy: auto, revoke_policy: auto}]}]
profiles:
  - {id: p, name: p, entitlements: [], enrollment: {policy: auto}, unenrollment: {policy: auto}, automation: {enabled: false, mode: sync_and_act, any_entitlement: [a/e1], excluded_users: [amy]}}
`

// TestApplyLookupError checks that when the store fails to look up an object
// a file refers to but does not declare, apply reports the store's error,
// not that the object does not exist.
func TestApplyLookupError(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		method    string
		arg       string
	}{
		{"user", "users: [{id: bob, manager: zoe}]\n", "User", "zoe"},
		{"policy", "apps: [{id: b, entitlements: [{id: e2, request_policy: auto}]}]\n", "Policy", "auto"},
		{"entitlement", "grants: [{user: zoe, entitlement: a/e1}]\n", "Entitlement", "a/e1"},
		{"profile", "policies: [{id: q, steps: [{approvers: entitlement_members, entitlement: access-profiles/p}]}]\n", "Profile", "p"},
		{"connector app", "apps: [{id: a, entitlements: [{id: e3, provisioning: connector}]}]\n", "Connectors", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, broken := breaking(t, lookupOrg)
			*broken = func(method string, args ...string) bool {
				return method == tc.method && (tc.arg == "" || args[0] == tc.arg)
			}
			_, err := e.Apply(roster.NewContext(context.Background(), roster.AdminUser), roster.ApplyRequest{Filename: "t.yaml", Document: []byte(tc.doc)})
			if !errors.Is(err, errBroken) {
				t.Fatalf("apply with a failing %s lookup: %v, want %v", tc.method, err, errBroken)
			}
		})
	}
}

// TestExclusionLookupError checks that a change of a profile's exclusions
// stops at a failing lookup of the exclusion's tasks or grant instead of
// taking it for "none".
func TestExclusionLookupError(t *testing.T) {
	excluded := roster.ExclusionEntitlement("p")
	for _, tc := range []struct {
		name     string
		excluded string
		broken   func(method string, args ...string) bool
	}{
		{"excluding: the open revoke task", "[amy, zoe]", func(method string, args ...string) bool {
			return method == "OpenTask" && args[0] == "zoe" && args[1] == excluded && args[2] == string(roster.TaskRevoke)
		}},
		{"including again: the open grant task", "[]", func(method string, args ...string) bool {
			return method == "OpenTask" && args[0] == "amy" && args[1] == excluded && args[2] == string(roster.TaskGrant)
		}},
		{"including again: the grant", "[]", func(method string, args ...string) bool {
			return method == "Grant" && args[0] == "amy" && args[1] == excluded
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, broken := breaking(t, lookupOrg)
			*broken = tc.broken
			doc := strings.Replace(lookupOrg, "excluded_users: [amy]", "excluded_users: "+tc.excluded, 1)
			_, err := e.Apply(roster.NewContext(context.Background(), roster.AdminUser), roster.ApplyRequest{Filename: "t.yaml", Document: []byte(doc)})
			if !errors.Is(err, errBroken) {
				t.Fatalf("apply: %v, want %v", err, errBroken)
			}
		})
	}
}
