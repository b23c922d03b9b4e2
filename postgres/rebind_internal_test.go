package postgres

import "testing"

// TestRebind checks that the shared queries' placeholders are numbered in
// order, and that a query written with numbered ones is left alone.
func TestRebind(t *testing.T) {
	for q, want := range map[string]string{
		`SELECT 1`: `SELECT 1`,
		`SELECT a FROM t WHERE b = ? AND c = ANY(?::text[]) LIMIT ?`: `SELECT a FROM t WHERE b = $1 AND c = ANY($2::text[]) LIMIT $3`,
		`DELETE FROM t WHERE a = $1`:                                 `DELETE FROM t WHERE a = $1`,
	} {
		for range 2 { // the second time from the cache
			if got := rebind(q); got != want {
				t.Errorf("rebind(%q) = %q, want %q", q, got, want)
			}
		}
	}
}
