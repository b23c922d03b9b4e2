package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/rosterhq/roster"
)

// TestWriterPragmas checks the writer connection's own settings: its large
// page cache, and no automatic checkpoints (the checkpointer does them).
func TestWriterPragmas(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "roster.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string]int64{"cache_size": -524288, "wal_autocheckpoint": 0, "mmap_size": 1 << 30, "busy_timeout": 10000}
	err = db.Update(context.Background(), func(rt roster.Tx) error {
		for p, v := range want {
			var got int64
			if err := rt.(*tx).tx.QueryRowContext(context.Background(), "PRAGMA "+p).Scan(&got); err != nil {
				return err
			}
			if got != v {
				t.Errorf("writer: PRAGMA %s = %d, want %d", p, got, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(context.Background(), func(rt roster.Tx) error {
		var got int64
		if err := rt.(*tx).tx.QueryRowContext(context.Background(), "PRAGMA cache_size").Scan(&got); err != nil {
			return err
		}
		if got != -65536 {
			t.Errorf("reader: PRAGMA cache_size = %d, want -65536", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
