// Package gen builds realistic, deterministic organisations for Roster's
// benchmarks: users with a manager tree and departments, apps whose
// entitlements follow a Zipf-like popularity, direct grants drawn from that
// popularity, and access profiles whose rules key on moderately popular
// entitlements or, optionally, on the users' department, location,
// employment type and title.
//
// An Org is compact (indices, not strings) so that the Large preset of a
// million users fits in memory; it is written out either as a declarative
// file (WriteYAML, streamed) or directly into a store (Load, in bounded
// batches).
package gen

import (
	"fmt"

	"github.com/rosterhq/roster"
	"math/rand/v2"
	"slices"
	"strings"
)

// Config says what to generate. The zero value of an optional field takes
// the default noted beside it.
type Config struct {
	// Users is the number of users, the CEO included.
	Users int
	// Apps and Entitlements are the number of apps and of entitlements across
	// them; Entitlements must exceed Departments+1.
	Apps, Entitlements int
	// Profiles is the number of access profiles.
	Profiles int
	// GrantsPerUser is the mean number of direct grants of a user.
	GrantsPerUser float64
	// Seed makes the organisation; the same Config builds the same Org.
	Seed int64

	// Departments is the number of departments (default 12, at most 12).
	Departments int
	// DisabledPercent is the share of disabled users, in percent (default 1).
	DisabledPercent float64
	// ZipfS is the Zipf exponent of entitlement popularity (default 1.1; must
	// be > 1).
	ZipfS float64
	// RuleRanks bounds, as fractions of the entitlements, the popularity
	// ranks from which profile rules are drawn (default 0.2 to 0.8).
	RuleRanks [2]float64
	// DepartmentRulePercent is the share of profiles whose rule is a
	// department group (default 1).
	DepartmentRulePercent float64
	// ExpressionEvery, when above 0, writes every ExpressionEvery-th
	// profile's rule as a CEL expression on the user's attributes instead of
	// any_entitlement (3: a third of the profiles), as an HR rule would be:
	// a department, and some of its locations, employment types and titles
	// (see AttrRule). Of the expressions the profile's department allows,
	// it takes the one that matches as many active users as the
	// profile's entitlement rule would have, so the organisation keeps
	// about the memberships and tasks of the same Config without
	// expressions.
	ExpressionEvery int
	// ContentRanks bounds, as fractions of the entitlements, the popularity
	// ranks from which profile contents are drawn, always past the rules'
	// band (default: from the later of RuleRanks[1] and 0.5, to 1: the less
	// popular half).
	ContentRanks [2]float64
	// MaxContent is the most entitlements a profile contains; each has 1 to
	// MaxContent (default 4).
	MaxContent int
	// MembersOnlyPercent is the share of profiles whose automation is
	// sync_members_only (default 0: every profile is sync_and_act).
	MembersOnlyPercent float64
}

// Presets. Small is for tests, Medium and Large are the scale targets of the
// sync benchmarks, EnableAtOnce is the "20k users, 300 profiles switched on at
// once" scenario, and Dense20k the denser one of issue 18: 20k users, 1,000
// entitlements, 300 profiles whose rules name popular entitlements (two
// thirds sync_and_act, one third members-only), switched on by one apply —
// about 753k memberships and 2.05M tasks.
var (
	Small        = Config{Users: 2_000, Apps: 20, Entitlements: 200, Profiles: 50, GrantsPerUser: 20, Seed: 1}
	Medium       = Config{Users: 100_000, Apps: 100, Entitlements: 2_000, Profiles: 1_000, GrantsPerUser: 20, Seed: 1}
	Large        = Config{Users: 1_000_000, Apps: 400, Entitlements: 10_000, Profiles: 2_000, GrantsPerUser: 20, Seed: 1}
	EnableAtOnce = Config{Users: 20_000, Apps: 40, Entitlements: 600, Profiles: 300, GrantsPerUser: 20, Seed: 1}
	Dense20k     = Config{Users: 20_000, Apps: 50, Entitlements: 1_000, Profiles: 300, GrantsPerUser: 16.5, Seed: 1,
		RuleRanks: [2]float64{0.011, 0.09}, ContentRanks: [2]float64{0.1, 1}, MaxContent: 6, MembersOnlyPercent: 100.0 / 3}
)

// Preset returns the preset of that name: small, medium, large, small20k
// (EnableAtOnce) or dense20k; small-expr, medium-expr and large-expr are
// small, medium and large with a third of the profiles' rules written as
// attribute expressions (ExpressionEvery 3), each matching about as many
// users as the rule it replaces, so the organisation keeps its memberships
// and tasks (medium-expr: 588,319 and 2,002,692 against medium's 588,475
// and 2,001,008).
func Preset(name string) (Config, error) {
	switch name {
	case "small":
		return Small, nil
	case "medium":
		return Medium, nil
	case "large":
		return Large, nil
	case "small20k", "enable":
		return EnableAtOnce, nil
	case "dense20k":
		return Dense20k, nil
	case "small-expr":
		c := Small
		c.ExpressionEvery = 3
		return c, nil
	case "medium-expr":
		c := Medium
		c.ExpressionEvery = 3
		return c, nil
	case "large-expr":
		c := Large
		c.ExpressionEvery = 3
		return c, nil
	}
	return Config{}, fmt.Errorf("unknown preset %q (small, medium, large, small20k, dense20k, small-expr, medium-expr, large-expr)", name)
}

func (c Config) withDefaults() Config {
	if c.Departments <= 0 || c.Departments > len(departmentNames) {
		c.Departments = len(departmentNames)
	}
	if c.DisabledPercent == 0 {
		c.DisabledPercent = 1
	}
	if c.ZipfS <= 1 {
		c.ZipfS = 1.1
	}
	if c.RuleRanks == [2]float64{} {
		c.RuleRanks = [2]float64{0.2, 0.8}
	}
	if c.DepartmentRulePercent == 0 {
		c.DepartmentRulePercent = 1
	}
	if c.Apps < 1 {
		c.Apps = 1
	}
	if c.MaxContent < 1 {
		c.MaxContent = 4
	}
	return c
}

var departmentNames = []string{
	"Engineering", "Sales", "Marketing", "Finance", "Legal", "People",
	"Support", "Operations", "Product", "Design", "Security", "IT",
}

// User is a generated user. Its id is UserID(index).
type User struct {
	// Manager is the index of the user's manager, -1 for the CEO.
	Manager int32
	// Department indexes Org.Departments.
	Department uint8
	Disabled   bool
}

// Profile is a generated access profile. Its id is ProfileID(index).
type Profile struct {
	// Rule lists the entitlements (indices) of automation.any_entitlement;
	// it is empty when the rule is an expression.
	Rule []int32
	// Expression is the rule's CEL expression, if it has one: Attr written
	// out.
	Expression string
	// Attr is the attribute rule Expression says, when there is one.
	Attr *AttrRule
	// Content lists the profile's entitlements (indices).
	Content []int32
	// MembersOnly says the profile's automation is sync_members_only.
	MembersOnly bool
}

// Org is a generated organisation. Entitlement e belongs to app AppOf(e);
// entitlements 0..Departments-1 are the department groups and entitlement
// Departments is the all-employees group.
type Org struct {
	Config      Config
	Departments []string
	Users       []User
	// Grants holds each user's direct grants as sorted entitlement indices.
	Grants   [][]int32
	Profiles []Profile
	// Popularity lists the entitlements drawn by popularity, most popular
	// first (the department and all-employees groups are not among them).
	Popularity []int32
}

// Generate builds the organisation cfg describes. It is deterministic: the
// same cfg gives the same Org.
func Generate(cfg Config) *Org {
	cfg = cfg.withDefaults()
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15))
	o := &Org{Config: cfg, Departments: departmentNames[:cfg.Departments]}
	o.users(r)
	o.grants(r)
	o.profiles(r)
	return o
}

// users builds the manager tree (each manager gets 6 to 8 reports, in order,
// so a manager's index is always below their reports') and the departments:
// the heads two levels below the CEO each lead one department, which their
// whole subtree shares.
func (o *Org) users(r *rand.Rand) {
	n := o.Config.Users
	o.Users = make([]User, n)
	depth := make([]uint8, n)
	if n == 0 {
		return
	}
	o.Users[0].Manager = -1
	next, heads := 1, 0
	for m := 0; next < n; m++ {
		k := 6 + r.IntN(3)
		for j := 0; j < k && next < n; j++ {
			u := &o.Users[next]
			u.Manager = int32(m)
			depth[next] = depth[m] + 1
			switch {
			case depth[next] < 2:
				u.Department = uint8(r.IntN(o.Config.Departments))
			case depth[next] == 2:
				u.Department = uint8(heads % o.Config.Departments)
				heads++
			default:
				u.Department = o.Users[m].Department
			}
			u.Disabled = r.Float64()*100 < o.Config.DisabledPercent
			next++
		}
	}
	o.Users[0].Department = 0
}

// grants gives every user their department group, the all-employees group
// and a number of entitlements around the mean drawn by Zipf popularity,
// without duplicates.
func (o *Org) grants(r *rand.Rand) {
	cfg := o.Config
	fixed := cfg.Departments + 1
	pool := cfg.Entitlements - fixed
	o.Popularity = make([]int32, pool)
	for i := range o.Popularity {
		o.Popularity[i] = int32(fixed + i)
	}
	r.Shuffle(pool, func(i, j int) { o.Popularity[i], o.Popularity[j] = o.Popularity[j], o.Popularity[i] })
	zipf := rand.NewZipf(r, cfg.ZipfS, 1, uint64(pool-1))
	mean := max(cfg.GrantsPerUser-2, 0)
	o.Grants = make([][]int32, len(o.Users))
	for i, u := range o.Users {
		k := int(mean + (r.Float64()-0.5)*mean + 0.5)
		k = min(max(k, 0), pool)
		g := make([]int32, 0, k+2)
		g = append(g, int32(u.Department), int32(cfg.Departments))
		for tries := 0; len(g) < k+2 && tries < 20*k+20; tries++ {
			e := o.Popularity[zipf.Uint64()]
			if !slices.Contains(g, e) {
				g = append(g, e)
			}
		}
		slices.Sort(g)
		o.Grants[i] = g
	}
}

// profiles gives each profile 1 to 3 rule entitlements from the moderately
// popular band (a few profiles key on a department group instead), 1 to
// MaxContent content entitlements from the less popular ones, and, for
// MembersOnlyPercent of them, members-only automation.
func (o *Org) profiles(r *rand.Rand) {
	cfg := o.Config
	pool := len(o.Popularity)
	lo := max(1, int(cfg.RuleRanks[0]*float64(pool)))
	hi := max(lo+1, min(pool, int(cfg.RuleRanks[1]*float64(pool))))
	o.Profiles = make([]Profile, cfg.Profiles)
	pick := func(xs []int32, from, to int) []int32 {
		for {
			e := o.Popularity[from+r.IntN(to-from)]
			if !slices.Contains(xs, e) {
				return append(xs, e)
			}
		}
	}
	for i := range o.Profiles {
		p := &o.Profiles[i]
		if r.Float64()*100 < cfg.DepartmentRulePercent {
			p.Rule = []int32{int32(r.IntN(cfg.Departments))}
		} else {
			for n := 1 + r.IntN(3); len(p.Rule) < n && len(p.Rule) < hi-lo; {
				p.Rule = pick(p.Rule, lo, hi)
			}
		}
		tail, end := max(hi, pool/2), pool
		if cfg.ContentRanks != [2]float64{} {
			// Never a rule's band: a profile's content in another's rule
			// would make a sync set others off, which Members does not model.
			tail = max(hi, min(pool-1, int(cfg.ContentRanks[0]*float64(pool))))
			end = max(tail+1, min(pool, int(cfg.ContentRanks[1]*float64(pool))))
		}
		for n := 1 + r.IntN(cfg.MaxContent); len(p.Content) < n && len(p.Content) < end-tail; {
			p.Content = pick(p.Content, tail, end)
		}
		if cfg.MembersOnlyPercent > 0 {
			p.MembersOnly = r.Float64()*100 < cfg.MembersOnlyPercent
		}
		slices.Sort(p.Rule)
		slices.Sort(p.Content)
	}
	// Chosen after the random draws, so that the rest of the organisation
	// is the one the same Config without expressions gives.
	if cfg.ExpressionEvery > 0 {
		o.expressions()
	}
}

// Employment types of an AttrRule.
const (
	AnyEmployment   = iota // no clause on employment_type
	EmployeesOnly          // user.employment_type != "contractor"
	ContractorsOnly        // user.employment_type == "contractor"
)

// AttrRule is a rule on the user's attributes, as HR rules are: the members
// of one department, in some of its locations, of some employment types and
// with some titles. A user matches when active and every clause holds.
type AttrRule struct {
	// Department indexes Org.Departments.
	Department uint8
	// Locations and Titles are bit sets over Locations and Titles; all bits
	// set means no clause on that field.
	Locations, Titles uint8
	// Employment is AnyEmployment, EmployeesOnly or ContractorsOnly.
	Employment uint8
}

// Matches says whether user u of o matches the rule (disabled users match
// no rule).
func (a AttrRule) Matches(o *Org, u int) bool {
	us := o.Users[u]
	if us.Disabled || us.Department != a.Department ||
		a.Locations&(1<<(u%len(Locations))) == 0 || a.Titles&(1<<titleOf(u)) == 0 {
		return false
	}
	switch a.Employment {
	case EmployeesOnly:
		return !contractor(u)
	case ContractorsOnly:
		return contractor(u)
	}
	return true
}

// Expression writes the rule in CEL, e.g. `user.department == "Sales" &&
// user.location == "Berlin" && user.employment_type != "contractor"`.
func (a AttrRule) Expression(o *Org) string {
	var b strings.Builder
	fmt.Fprintf(&b, "user.department == %q", o.Departments[a.Department])
	set := func(field string, bits uint8, names []string) {
		var in []string
		for i, n := range names {
			if bits&(1<<i) != 0 {
				in = append(in, fmt.Sprintf("%q", n))
			}
		}
		switch {
		case len(in) == len(names):
		case len(in) == 1:
			fmt.Fprintf(&b, " && user.%s == %s", field, in[0])
		default:
			fmt.Fprintf(&b, " && user.%s in [%s]", field, strings.Join(in, ", "))
		}
	}
	set("location", a.Locations, Locations)
	switch a.Employment {
	case EmployeesOnly:
		b.WriteString(` && user.employment_type != "contractor"`)
	case ContractorsOnly:
		b.WriteString(` && user.employment_type == "contractor"`)
	}
	set("title", a.Titles, Titles)
	return b.String()
}

// expressions writes every ExpressionEvery-th profile's rule as an
// attribute rule: profile i keys on department k mod Departments, where k
// is i/ExpressionEvery; its locations and titles are runs of 1 to 8
// consecutive ones (wrapping) from offsets that k gives. Of the 3×8×8 rules
// so shaped, it takes the one that lists the fewest values among those whose
// number of active matching users is within a tenth of that of the
// profile's entitlement rule, or else the closest (the first on a tie);
// the numbers are counted from a table of active users by department,
// location, employment type and title.
func (o *Org) expressions() {
	cfg := o.Config
	nl, nt := len(Locations), len(Titles)
	cell := func(d, l, c, t int) int { return ((d*nl+l)*2+c)*nt + t }
	cells := make([]int, cfg.Departments*nl*2*nt)
	for u, us := range o.Users {
		if !us.Disabled {
			c := 0
			if contractor(u) {
				c = 1
			}
			cells[cell(int(us.Department), u%nl, c, titleOf(u))]++
		}
	}
	want := make([]int, len(o.Profiles))
	idx := o.ruleIndex()
	for u := range o.Users {
		for _, p := range o.membershipsOf(idx, u) {
			want[p]++
		}
	}
	run := func(from, n, of int) uint8 {
		var bits uint8
		for j := 0; j < n; j++ {
			bits |= 1 << ((from + j) % of)
		}
		return bits
	}
	for i := range o.Profiles {
		if i%cfg.ExpressionEvery != 0 {
			continue
		}
		k := i / cfg.ExpressionEvery
		d := k % cfg.Departments
		lo, to := k/cfg.Departments%nl, (k*3+1)%nt
		var best AttrRule
		bestDiff, bestScore := -1, 0
		for _, emp := range []uint8{EmployeesOnly, AnyEmployment, ContractorsOnly} {
			for ln := 1; ln <= nl; ln++ {
				for tn := 1; tn <= nt; tn++ {
					a := AttrRule{Department: uint8(d), Locations: run(lo, ln, nl), Titles: run(to, tn, nt), Employment: emp}
					n := 0
					for l := 0; l < nl; l++ {
						for t := 0; t < nt; t++ {
							if a.Locations&(1<<l) == 0 || a.Titles&(1<<t) == 0 {
								continue
							}
							if emp != ContractorsOnly {
								n += cells[cell(d, l, 0, t)]
							}
							if emp != EmployeesOnly {
								n += cells[cell(d, l, 1, t)]
							}
						}
					}
					// Within a tenth of the target, the rule with the fewest
					// values wins, as an admin would write it; else the
					// closest.
					diff, score := abs(n-want[i]), a.values()
					if diff*10 <= want[i] {
						diff = 0
					} else {
						score = 0
					}
					if bestDiff < 0 || diff < bestDiff || diff == bestDiff && score < bestScore {
						best, bestDiff, bestScore = a, diff, score
					}
				}
			}
		}
		p := &o.Profiles[i]
		p.Rule, p.Attr, p.Expression = nil, &best, best.Expression(o)
	}
}

// values counts the values the rule's clauses list.
func (a AttrRule) values() int {
	n := 0
	for _, bits := range []uint8{a.Locations, a.Titles} {
		if c := popcount(bits); c < 8 {
			n += c
		}
	}
	if a.Employment != AnyEmployment {
		n++
	}
	return n
}

func popcount(b uint8) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Locations are the users' locations, by index modulo their number.
var Locations = []string{"Berlin", "Lisbon", "London", "Paris", "Boston", "Austin", "Singapore", "Sydney"}

// EmploymentType is user i's employment type: every tenth a contractor.
func EmploymentType(i int) string {
	if contractor(i) {
		return "contractor"
	}
	return "employee"
}

func contractor(i int) bool { return i%10 == 9 }

// Titles are the users' titles; Title gives each user one.
var Titles = []string{"Associate", "Analyst", "Specialist", "Senior Specialist", "Lead", "Manager", "Senior Manager", "Director"}

// Title is user i's title: drawn from Titles by a hash of i, so that it is
// about independent of the location and the employment type, which i's
// residues give.
func Title(i int) string { return Titles[titleOf(i)] }

func titleOf(i int) int { return int(uint32(i) * 2654435761 >> 29) }

// mode is the profile's automation mode.
func (p Profile) mode() string {
	if p.MembersOnly {
		return roster.ModeSyncMembersOnly
	}
	return roster.ModeSyncAndAct
}

// UserID is the id of user i: u0000001 for the CEO.
func UserID(i int) string { return fmt.Sprintf("u%07d", i+1) }

// AppID is the id of app a.
func AppID(a int) string { return fmt.Sprintf("app-%03d", a+1) }

// ProfileID is the id of profile p.
func ProfileID(p int) string { return fmt.Sprintf("p-%04d", p+1) }

// AppOf returns the app that entitlement e belongs to: apps hold contiguous
// blocks of entitlements.
func (o *Org) AppOf(e int) int { return e * o.Config.Apps / o.Config.Entitlements }

// EntitlementID is the "APP/ENT" id of entitlement e.
func (o *Org) EntitlementID(e int) string {
	return AppID(o.AppOf(e)) + "/" + entLocalID(e)
}

func entLocalID(e int) string { return fmt.Sprintf("ent-%04d", e+1) }

// EntitlementName is the display name of entitlement e.
func (o *Org) EntitlementName(e int) string {
	switch {
	case e < len(o.Departments):
		return "Department " + o.Departments[e]
	case e == len(o.Departments):
		return "All employees"
	}
	return fmt.Sprintf("Role %04d", e+1)
}

// NumGrants returns the number of direct grants.
func (o *Org) NumGrants() int {
	n := 0
	for _, g := range o.Grants {
		n += len(g)
	}
	return n
}

// Holders returns, for each entitlement, how many users hold it directly.
func (o *Org) Holders() []int {
	h := make([]int, o.Config.Entitlements)
	for _, g := range o.Grants {
		for _, e := range g {
			h[e]++
		}
	}
	return h
}

// ruleIndex maps each rule entitlement to the profiles whose rule lists it,
// and each department to the profiles whose attribute rule names it.
type ruleIndex struct {
	ents  map[int32][]int32
	attrs [][]int32
}

func (o *Org) ruleIndex() ruleIndex {
	idx := ruleIndex{ents: map[int32][]int32{}, attrs: make([][]int32, len(o.Departments))}
	for p, pr := range o.Profiles {
		for _, e := range pr.Rule {
			idx.ents[e] = append(idx.ents[e], int32(p))
		}
		if pr.Attr != nil {
			idx.attrs[pr.Attr.Department] = append(idx.attrs[pr.Attr.Department], int32(p))
		}
	}
	return idx
}

// membershipsOf returns the profiles (sorted) whose rule user u matches:
// active and holding any of the rule's entitlements, or matching its
// attribute rule.
func (o *Org) membershipsOf(idx ruleIndex, u int) []int32 {
	if o.Users[u].Disabled {
		return nil
	}
	var ps []int32
	for _, e := range o.Grants[u] {
		ps = append(ps, idx.ents[e]...)
	}
	for _, p := range idx.attrs[o.Users[u].Department] {
		if o.Profiles[p].Attr.Matches(o, u) {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// Members returns, for each profile, the users (sorted indices) who match its
// rule — its members once synced.
func (o *Org) Members() [][]int32 {
	idx := o.ruleIndex()
	out := make([][]int32, len(o.Profiles))
	for u := range o.Users {
		for _, p := range o.membershipsOf(idx, u) {
			out[p] = append(out[p], int32(u))
		}
	}
	return out
}

// Stats summarises an Org for logs and reports.
type Stats struct {
	Users, Disabled, Entitlements, Profiles, Grants int
	// Members is the number of memberships once synced; ContentGrants the
	// grants of profile contents those members hold once synced (new ones
	// and direct ones that gain the profile as a source).
	Members, ContentGrants int
	// Tasks is the number of tasks the first sync of every profile creates:
	// an enrollment per membership of a sync_and_act profile, and a grant
	// task per entitlement such profiles give a member who lacks it.
	Tasks int
	// MaxDepth is the depth of the manager tree (the CEO is at 0).
	MaxDepth int
}

// Stats counts what the Org holds.
func (o *Org) Stats() Stats {
	s := Stats{Users: len(o.Users), Entitlements: o.Config.Entitlements, Profiles: len(o.Profiles), Grants: o.NumGrants()}
	depth := make([]int, len(o.Users))
	for i, u := range o.Users {
		if u.Disabled {
			s.Disabled++
		}
		if u.Manager >= 0 {
			depth[i] = depth[u.Manager] + 1
			s.MaxDepth = max(s.MaxDepth, depth[i])
		}
	}
	idx := o.ruleIndex()
	for u := range o.Users {
		ps := o.membershipsOf(idx, u)
		s.Members += len(ps)
		content, tasked := map[int32]bool{}, map[int32]bool{}
		for _, e := range o.Grants[u] {
			tasked[e] = true // held directly: no task
		}
		for _, p := range ps {
			pr := o.Profiles[p]
			if !pr.MembersOnly {
				s.Tasks++
			}
			for _, e := range pr.Content {
				content[e] = true
				if !pr.MembersOnly && !tasked[e] {
					tasked[e] = true
					s.Tasks++
				}
			}
		}
		s.ContentGrants += len(content)
	}
	return s
}

// String prints the stats on one line.
func (s Stats) String() string {
	return fmt.Sprintf("%d users (%d disabled, tree depth %d), %d entitlements, %d direct grants, %d profiles, %d memberships, %d content grants and %d tasks once synced",
		s.Users, s.Disabled, s.MaxDepth, s.Entitlements, s.Grants, s.Profiles, s.Members, s.ContentGrants, s.Tasks)
}
