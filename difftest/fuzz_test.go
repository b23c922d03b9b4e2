package difftest

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/engine"
	"github.com/rosterhq/roster/sqlite"
)

// FuzzApplyTwice applies any declarative file to an engine on SQLite that
// already holds an organisation, as the admin, and checks that an apply is
// idempotent: a file applied once more right after changes nothing and
// starts no sync. A file the engine refuses must be refused for what it
// says (never an internal error). The engine's state carries over from one
// input to the next, as a real tenant's does.
//
// Its seed corpus is the organisations the differential test generates and
// single-profile files such as its steps apply.
func FuzzApplyTwice(f *testing.F) {
	var base *org
	for seed := range uint64(6) {
		o := genOrg(rand.New(rand.NewPCG(seed+1, (seed+1)^0x5eed)))
		if base == nil {
			base = o
		}
		f.Add([]byte(o.document()))
		for _, p := range o.profiles {
			f.Add([]byte("profiles:\n" + p.doc()))
		}
		f.Add([]byte("users:\n  - " + o.userDoc(o.workers[0], false) + "\n"))
	}
	ctx := roster.NewContext(context.Background(), roster.AdminUser)
	store, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "roster.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	e := engine.New(engine.Config{Store: store, Clock: roster.NewManualClock(start)})
	if _, err := e.Bootstrap(context.Background(), "t"); err != nil {
		f.Fatal(err)
	}
	if _, err := e.Apply(ctx, roster.ApplyRequest{Filename: "org.yaml", Document: []byte(base.document())}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		first, err := e.Apply(ctx, roster.ApplyRequest{Filename: "f.yaml", Document: doc})
		if err != nil {
			if roster.ErrorCode(err) == roster.EINTERNAL {
				t.Fatalf("apply failed with an internal error: %v\nfile:\n%s", err, doc)
			}
			return
		}
		again, err := e.Apply(ctx, roster.ApplyRequest{Filename: "f.yaml", Document: doc})
		if err != nil {
			t.Fatalf("the second apply failed: %v\nfile:\n%s", err, doc)
		}
		if len(again.Changes) > 0 || len(again.Synced) > 0 {
			t.Fatalf("the second apply changed %q and synced %+v (the first: %q)\nfile:\n%s", again.Changes, again.Synced, first.Changes, doc)
		}
	})
}
