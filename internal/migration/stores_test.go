package migration_test

import (
	"os"
	"slices"
	"testing"

	"github.com/rosterhq/roster/internal/migration"
)

// TestStoresNumberAlike checks that the sqlite and postgres stores carry the
// same migrations: the same numbered file names, so that a version means the
// same schema on both.
func TestStoresNumberAlike(t *testing.T) {
	root := os.DirFS("../..")
	names := func(dir string) []string {
		t.Helper()
		ms, err := migration.Load(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("%s holds no migration", dir)
		}
		var ns []string
		for _, m := range ms {
			ns = append(ns, m.Name)
		}
		return ns
	}
	lite, pg := names("sqlite/migrations"), names("postgres/migrations")
	if !slices.Equal(lite, pg) {
		t.Errorf("sqlite/migrations holds %q, postgres/migrations %q; they must hold the same versions", lite, pg)
	}
}
