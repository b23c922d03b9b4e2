package server

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// TestStartTunesTheCollector: a started server, GOGC unset, collects its
// few MB of live heap only after 128 MiB more are allocated — GOGC well
// above the default 100 once a collection has run.
func TestStartTunesTheCollector(t *testing.T) {
	if os.Getenv("GOGC") != "" {
		t.Skip("GOGC is set: the server leaves the collector as it says")
	}
	s, err := Start(context.Background(), Config{DB: filepath.Join(t.TempDir(), "roster.db"), Addr: "127.0.0.1:0",
		BootstrapToken: strings.Repeat("b", 32), SchedulerTick: -1, NotifierTick: -1, ChangeTick: -1, ConnectorTick: -1, ProvisionTick: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	sample := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		if metrics.Read(sample); sample[0].Value.Uint64() > 200 {
			return
		}
	}
	t.Fatalf("GOGC is %d after collections of a started server's heap, want the headroom's (over 200)", sample[0].Value.Uint64())
}
