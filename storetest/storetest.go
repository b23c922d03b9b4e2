// Package storetest is the conformance suite every roster.Store must pass.
//
// A driver's tests call Run with a function that opens a fresh, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) roster.Store {
//			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// The suite pins down what the roster.Store and roster.Tx documentation leaves
// to the driver, so that every driver behaves the same:
//
//   - Every time a store returns is in UTC and truncated to the microsecond
//     (the precision PostgreSQL keeps), including the times inside JSON fields
//     such as Task.History and Profile.Sync. The zero time stays zero.
//   - Text is ordered by bytes (PostgreSQL: COLLATE "C"), as Go's sort does.
//   - Grant.Sources are stored sorted and without duplicates.
//   - Pages never hold a nil Items slice; Limit 0 means DefaultPageSize and a
//     larger limit is capped at MaxPageSize; a cursor the store did not make
//     is EINVALID.
//   - A failed CreateTask (ECONFLICT) leaves the transaction usable: the
//     caller may go on and commit the rest of its work.
//   - Event.Data is compared as JSON, not byte for byte.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// Run runs the conformance suite. Each subtest calls open for a fresh, empty
// store, which open must close when the subtest ends (t.Cleanup). Subtests
// run in parallel.
func Run(t *testing.T, open func(t *testing.T) roster.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s roster.Store)
	}{
		{"Settings", testSettings},
		{"UserRoundTrip", testUserRoundTrip},
		{"UserFilters", testUserFilters},
		{"UserPagination", testUserPagination},
		{"Admins", testAdmins},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"Delegations", testDelegations},
		{"Apps", testApps},
		{"Entitlements", testEntitlements},
		{"Policies", testPolicies},
		{"GrantRoundTrip", testGrantRoundTrip},
		{"GrantFilters", testGrantFilters},
		{"GrantPagination", testGrantPagination},
		{"Holders", testHolders},
		{"Profiles", testProfiles},
		{"Members", testMembers},
		{"ManyUpserts", testManyUpserts},
		{"TaskRoundTrip", testTaskRoundTrip},
		{"TaskInstantHistory", testTaskInstantHistory},
		{"TaskOpenConflict", testTaskOpenConflict},
		{"TaskFilters", testTaskFilters},
		{"TaskApproverFilter", testTaskApproverFilter},
		{"TaskPagination", testTaskPagination},
		{"OpenTasks", testOpenTasks},
		{"Denials", testDenials},
		{"Removals", testRemovals},
		{"EventRoundTrip", testEventRoundTrip},
		{"EventBatch", testEventBatch},
		{"EventChain", testEventChain},
		{"NotificationBatches", testNotificationBatches},
		{"EventFilters", testEventFilters},
		{"EventPagination", testEventPagination},
		{"PageSizeLimits", testPageSizeLimits},
		{"InvalidCursor", testInvalidCursor},
		{"Notifications", testNotifications},
		{"Leases", testLeases},
		{"Triggers", testTriggers},
		{"ExpressionIndexes", testExpressionIndexes},
		{"DisabledUsers", testDisabledUsers},
		{"AccessLog", testAccessLog},
		{"Around", testAround},
		{"Connectors", testConnectors},
		{"ConnectorTasks", testConnectorTasks},
		{"ScanSync", testScanSync},
		{"UpdateRollback", testUpdateRollback},
		{"UpdatePanic", testUpdatePanic},
		{"ViewReadOnly", testViewReadOnly},
		{"ZeroTimes", testZeroTimes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// --- helpers ---

// update runs fn in s.Update and fails the test on error.
func update(t *testing.T, s roster.Store, fn func(ctx context.Context, tx roster.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx roster.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("update: %v", err)
	}
}

// view runs fn in s.View and fails the test on error.
func view(t *testing.T, s roster.Store, fn func(ctx context.Context, tx roster.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := s.View(ctx, func(tx roster.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("view: %v", err)
	}
}

// get runs fn in a View and returns its value, failing the test on error.
func get[T any](t *testing.T, s roster.Store, fn func(ctx context.Context, tx roster.Tx) (T, error)) T {
	t.Helper()
	var v T
	view(t, s, func(ctx context.Context, tx roster.Tx) error {
		var err error
		v, err = fn(ctx, tx)
		return err
	})
	return v
}

// getErr runs fn in a View and returns its error.
func getErr[T any](s roster.Store, fn func(ctx context.Context, tx roster.Tx) (T, error)) error {
	ctx := context.Background()
	return s.View(ctx, func(tx roster.Tx) error {
		_, err := fn(ctx, tx)
		return err
	})
}

// wantCode fails the test unless err carries the given roster error code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := roster.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

// equal fails the test when got differs from want. See diff.
func equal(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Fatalf("%s differs:\n%s", what, d)
	}
}

// diff compares want, the value given to the store, with got, the value it
// returned, and describes each difference, or returns "".
//
// Times in got must be in UTC and equal want truncated to the microsecond; nil
// and empty slices and maps are equal; json.RawMessage is compared as JSON.
func diff(want, got any) string {
	var out []string
	diffValue(&out, "", reflect.ValueOf(want), reflect.ValueOf(got))
	return strings.Join(out, "\n")
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

func diffValue(out *[]string, path string, w, g reflect.Value) {
	report := func(format string, args ...any) {
		p := path
		if p == "" {
			p = "value"
		}
		*out = append(*out, p+": "+fmt.Sprintf(format, args...))
	}
	if !w.IsValid() || !g.IsValid() {
		if w.IsValid() != g.IsValid() {
			report("want %v, got %v", w, g)
		}
		return
	}
	if w.Type() != g.Type() {
		report("type %s, want %s", g.Type(), w.Type())
		return
	}
	switch {
	case w.Type() == timeType:
		wt, gt := w.Interface().(time.Time), g.Interface().(time.Time)
		wt = wt.Truncate(time.Microsecond)
		if !gt.Equal(wt) || gt.IsZero() != wt.IsZero() {
			report("time %s, want %s", gt.Format(time.RFC3339Nano), wt.UTC().Format(time.RFC3339Nano))
		} else if gt.Location() != time.UTC {
			report("time %s is in %s, want UTC", gt, gt.Location())
		}
		return
	case w.Type() == rawType:
		wb, gb := w.Bytes(), g.Bytes()
		if len(wb) == 0 || len(gb) == 0 {
			if len(wb) != len(gb) {
				report("JSON %s, want %s", gb, wb)
			}
			return
		}
		var wv, gv any
		if err := json.Unmarshal(wb, &wv); err != nil {
			report("want is not JSON: %v", err)
			return
		}
		if err := json.Unmarshal(gb, &gv); err != nil {
			report("got %s, which is not JSON: %v", gb, err)
			return
		}
		if !reflect.DeepEqual(wv, gv) {
			report("JSON %s, want %s", gb, wb)
		}
		return
	}
	switch w.Kind() {
	case reflect.Pointer, reflect.Interface:
		if w.IsNil() || g.IsNil() {
			if w.IsNil() != g.IsNil() {
				report("nil is %v, want %v", g.IsNil(), w.IsNil())
			}
			return
		}
		diffValue(out, path, w.Elem(), g.Elem())
	case reflect.Struct:
		for i := 0; i < w.NumField(); i++ {
			f := w.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			diffValue(out, path+"."+f.Name, w.Field(i), g.Field(i))
		}
	case reflect.Slice, reflect.Array:
		if w.Len() != g.Len() {
			report("length %d, want %d (got %v, want %v)", g.Len(), w.Len(), g, w)
			return
		}
		for i := 0; i < w.Len(); i++ {
			diffValue(out, fmt.Sprintf("%s[%d]", path, i), w.Index(i), g.Index(i))
		}
	case reflect.Map:
		if w.Len() != g.Len() {
			report("length %d, want %d (got %v, want %v)", g.Len(), w.Len(), g, w)
			return
		}
		for _, k := range w.MapKeys() {
			gv := g.MapIndex(k)
			if !gv.IsValid() {
				report("key %v missing", k)
				continue
			}
			diffValue(out, fmt.Sprintf("%s[%v]", path, k), w.MapIndex(k), gv)
		}
	default:
		if !reflect.DeepEqual(w.Interface(), g.Interface()) {
			report("%#v, want %#v", g.Interface(), w.Interface())
		}
	}
}

// zone is a non-UTC zone for the times given to the store: it must return
// them in UTC.
var zone = time.FixedZone("UTC+5:30", 5*3600+1800)

// at returns a distinct time for fixture n, with nanoseconds the store must
// drop, in a non-UTC zone.
func at(n int) time.Time {
	return time.Date(2024, 3, 5, 10, 11, 12, 123456789, zone).Add(time.Duration(n) * time.Hour)
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// errTest is returned by functions that make Update roll back.
var errTest = errors.New("storetest: roll back")

// collect follows a list's pages from the first, with the given limit, and
// returns every item and the number of pages. It fails the test if the list
// does not end within maxPages pages.
func collect[T any](t *testing.T, s roster.Store, limit int, fetch func(ctx context.Context, tx roster.Tx, cursor string, limit int) (*roster.Page[T], error)) ([]T, int) {
	t.Helper()
	var (
		all    []T
		cursor string
		pages  int
	)
	for {
		p := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[T], error) {
			return fetch(ctx, tx, cursor, limit)
		})
		pages++
		if p.Items == nil {
			t.Fatalf("page %d: Items is nil, want a non-nil slice", pages)
		}
		if len(p.Items) > limit {
			t.Fatalf("page %d holds %d items, limit %d", pages, len(p.Items), limit)
		}
		if p.NextCursor != "" && len(p.Items) != limit {
			t.Fatalf("page %d holds %d items and has a next cursor, want a full page of %d", pages, len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.NextCursor == "" {
			return all, pages
		}
		if pages > 10000 {
			t.Fatalf("list did not end after %d pages", pages)
		}
		cursor = p.NextCursor
	}
}

// ids maps items to their keys.
func ids[T any, K any](items []T, key func(T) K) []K {
	out := make([]K, len(items))
	for i, v := range items {
		out[i] = key(v)
	}
	return out
}
