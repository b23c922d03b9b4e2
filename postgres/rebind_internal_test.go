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

func TestHeldNamedIn(t *testing.T) {
	for query, want := range map[string]int{
		`SELECT id FROM users ORDER BY id`:                                       1 << 3,
		`SELECT 1 FROM connector_users WHERE x = $1`:                             0,
		`INSERT INTO events (id, at, actor) SELECT * FROM unnest($1)`:            0,
		`SELECT g.user_id FROM grants g JOIN members m ON m.user_id = g.user_id`: 1<<1 | 1<<2,
		`UPDATE tasks SET state = $1`:                                            1 << 0,
		`SELECT tasks_open FROM x`:                                               0,
	} {
		if got := heldNamedIn(query); got != want {
			t.Errorf("heldNamedIn(%q) = %b, want %b", query, got, want)
		}
	}
}
