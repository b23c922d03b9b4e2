package sqlstore

import (
	"testing"
	"time"
)

// TestUpsert checks the statement the Put methods write with.
func TestUpsert(t *testing.T) {
	got := upsert("members", 2, "profile_id, user_id, source, since")
	want := `INSERT INTO members (profile_id, user_id, source, since) VALUES (?, ?, ?, ?)` +
		` ON CONFLICT (profile_id, user_id) DO UPDATE SET source = excluded.source, since = excluded.since`
	if got != want {
		t.Errorf("upsert:\n got %s\nwant %s", got, want)
	}
}

// TestTimeScan checks that a time column reads the same from either
// store's encoding.
func TestTimeScan(t *testing.T) {
	at := time.Date(2026, 12, 6, 1, 2, 3, 456789000, time.FixedZone("CET", 3600))
	n, ok := UnixNano(at)
	if !ok {
		t.Fatal("UnixNano refused", at)
	}
	zero, _ := UnixNano(time.Time{})
	for _, c := range []struct {
		src  any
		want time.Time
	}{
		{n, at.UTC()},
		{at, at.UTC()},
		{zero, time.Time{}},
		{time.Time{}, time.Time{}},
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.Local), time.Time{}},
	} {
		var v timeDest
		if err := v.Scan(c.src); err != nil {
			t.Fatalf("Scan(%v): %v", c.src, err)
		}
		if !v.T.Equal(c.want) || v.T.Location() != time.UTC {
			t.Errorf("Scan(%v) = %v, want %v in UTC", c.src, v.T, c.want)
		}
	}
	var nt nullTime
	if err := nt.Scan(nil); err != nil || nt.T != nil {
		t.Errorf("nullTime.Scan(nil) = %v, %v", nt.T, err)
	}
	if err := nt.Scan(n); err != nil || nt.T == nil || !nt.T.Equal(at) {
		t.Errorf("nullTime.Scan(%d) = %v, %v", n, nt.T, err)
	}
	if _, ok := UnixNano(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("UnixNano took the year 3000")
	}
}
