package declarative

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestGrantSet checks grantSet against the map of pairs it stands for, with
// users listed together and apart, and users past manyGrants.
func TestGrantSet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		var s grantSet
		want := map[[2]string]int{}
		users := 1 + r.IntN(50)
		ents := 1 + r.IntN(3*manyGrants)
		user := 0
		for line := 1; line <= 3000; line++ {
			if r.IntN(10) == 0 {
				user = r.IntN(users) // else the same user again, as files list them
			}
			u, e := fmt.Sprintf("u%d", user), fmt.Sprintf("app/e%d", r.IntN(ents))
			first, dup := s.add(u, e, line)
			wfirst, wdup := want[[2]string{u, e}]
			if !wdup {
				want[[2]string{u, e}] = line
			}
			if dup != wdup || first != wfirst {
				t.Fatalf("round %d, line %d: add(%s, %s) = %d, %v; want %d, %v", round, line, u, e, first, dup, wfirst, wdup)
			}
		}
	}
}
