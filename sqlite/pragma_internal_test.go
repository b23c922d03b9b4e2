package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestLogStartsOver checks that the write-ahead log does not grow without
// bound while writes follow one another: once it passes restartFrames the
// writer finishes a checkpoint and the log starts over, so the -wal file
// stays near the bound however much is written.
func TestLogStartsOver(t *testing.T) {
	defer func(i time.Duration, f int) { checkpointInterval, restartFrames = i, f }(checkpointInterval, restartFrames)
	checkpointInterval, restartFrames = 5*time.Millisecond, 256 // 1 MiB of log
	path := filepath.Join(t.TempDir(), "roster.db")
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data := json.RawMessage(`"` + strings.Repeat("x", 3000) + `"`)
	written := 0
	for i := range 400 {
		evs := make([]*roster.Event, 20)
		for j := range evs {
			evs[j] = &roster.Event{At: time.Unix(int64(i), 0), Actor: "t", Action: "bulk", ObjectType: "test", ObjectID: fmt.Sprint(i, j), Data: data}
		}
		if err := db.Update(context.Background(), func(tx roster.Tx) error { return tx.AppendEvents(context.Background(), evs) }); err != nil {
			t.Fatal(err)
		}
		written += 20 * 3000
		time.Sleep(time.Millisecond) // let the background checkpointer run
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	if limit := int64(8 << 20); st.Size() > limit {
		t.Fatalf("the log grew to %d bytes after %d bytes of events: over %d, it did not start over", st.Size(), written, limit)
	}
	t.Logf("log %d bytes after %d bytes of events", st.Size(), written)
}
