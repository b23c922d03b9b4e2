package declarative

// A profile's rule on attributes: automation.expression, a CEL expression
// compiled and type-checked here, with its problems on the file's lines.

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/rule"
)

// expression reads automation.expression under m (path is the automation's
// path, profile the profile's id): it compiles it, reports each problem on
// the file's line, and queues the checks that the entitlements its
// user.has calls and the profiles its user.member_of calls name exist. It
// returns the expression and what it reads; "" and nil when there is none
// or it does not compile.
func (p *parser) expression(m *mapping, path, profile string) (string, *roster.ExpressionReads) {
	v := m.get("expression")
	if v == nil {
		return "", nil
	}
	src, _ := m.strOf(v, "expression")
	if v.Kind != yaml.ScalarNode {
		return "", nil // strOf reported it
	}
	epath := join(path, "expression")
	r, err := rule.Compile(src)
	if err != nil {
		var es rule.Errors
		if !asErrors(err, &es) {
			p.addf(v.Line, epath, "%v", err)
			return "", nil
		}
		for _, e := range es {
			line, col := exprPlace(v, e.Line, e.Column)
			if col > 0 {
				p.addf(line, epath, "column %d: %s", col, e.Message)
			} else {
				p.add(line, epath, e.Message)
			}
		}
		return "", nil
	}
	reads := r.Reads()
	ok := true
	if reads.AnyEntitlement {
		p.addf(v.Line, epath, `user.has takes an entitlement written out, such as user.has("okta/engineering"), not a value computed from other fields`)
		ok = false
	}
	if reads.AnyProfile {
		p.addf(v.Line, epath, `user.member_of takes a profile id written out, such as user.member_of("eng"), not a value computed from other fields`)
		ok = false
	}
	for _, e := range reads.Entitlements {
		switch {
		case profile != "" && e == roster.EnrollmentEntitlement(profile):
			p.addf(v.Line, epath, "a profile's rule cannot key on its own membership %q", e)
			ok = false
		case profile != "" && e == roster.ExclusionEntitlement(profile):
			p.addf(v.Line, epath, "a profile's rule cannot key on its own exclusion entitlement %q", e)
			ok = false
		default:
			p.entitlementRef(item{val: e, line: v.Line, path: epath + ": user.has"})
		}
	}
	for _, id := range reads.Profiles {
		if id == profile {
			p.addf(v.Line, epath, "a profile's rule cannot key on its own membership (user.member_of(%q))", id)
			ok = false
			continue
		}
		p.refer(refProfile, id, v.Line, epath+": user.member_of")
	}
	if !ok {
		return "", nil
	}
	p.exprLines[profile] = v.Line
	return src, &roster.ExpressionReads{Fields: reads.Fields, Entitlements: orNone(reads.Entitlements), Profiles: orNone(reads.Profiles)}
}

func orNone(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// asErrors reports whether err is a rule.Errors, and sets es to it.
func asErrors(err error, es *rule.Errors) bool {
	e, ok := err.(rule.Errors)
	if ok {
		*es = e
	}
	return ok
}

// exprPlace returns the file's line, and the column within that line where
// it can tell, of line and column of the expression held by the scalar v.
func exprPlace(v *yaml.Node, line, col int) (int, int) {
	if line == 0 {
		return v.Line, 0
	}
	switch v.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// A block scalar starts on the line after its indicator; its
		// columns are shifted by its indentation, which the node does not
		// keep exactly.
		return v.Line + line, col
	case yaml.SingleQuotedStyle, yaml.DoubleQuotedStyle:
		if line == 1 {
			return v.Line, v.Column + col
		}
		return v.Line + line - 1, 0
	default:
		if line == 1 {
			return v.Line, v.Column + col - 1
		}
		return v.Line + line - 1, 0
	}
}

// checkCycles reports each profile whose rule depends, through
// user.member_of (or the membership entitlements the rules name), on its
// own membership: a cycle would make the profiles' members chase each
// other. The rules are the file's, and for the profiles the file does not
// declare, those that exist already.
func (p *parser) checkCycles(doc *roster.Document) {
	deps := map[string][]string{}
	exprDeps := map[string][]string{}
	for i := range doc.Profiles {
		pr := &doc.Profiles[i]
		deps[pr.ID] = profileDeps(&pr.Automation)
		if pr.Automation.Reads != nil {
			exprDeps[pr.ID] = pr.Automation.Reads.Profiles
		}
	}
	rules, _ := p.known.(KnownRules)
	depsOf := func(id string) []string {
		if d, ok := deps[id]; ok {
			return d
		}
		if rules == nil {
			return nil
		}
		d := rules.ProfileDependencies(id)
		deps[id] = d
		return d
	}
	reported := map[string]bool{}
	for _, pr := range doc.Profiles {
		for _, to := range exprDeps[pr.ID] {
			path := reach(to, pr.ID, depsOf)
			if path == nil {
				continue
			}
			cycle := append([]string{pr.ID}, path...)
			key := canonicalCycle(cycle[:len(cycle)-1])
			if reported[key] {
				continue
			}
			reported[key] = true
			p.addf(p.exprLines[pr.ID], fmt.Sprintf("profiles[%d].automation.expression", slices.IndexFunc(doc.Profiles, func(x roster.Profile) bool { return x.ID == pr.ID })),
				"the rules of these profiles depend on each other's members in a cycle: %s", strings.Join(cycle, " → "))
		}
	}
}

// profileDeps returns the profiles whose membership a's rule reads.
func profileDeps(a *roster.Automation) []string {
	var out []string
	for _, e := range a.RuleEntitlements() {
		if app, local, ok := roster.SplitEntitlementID(e); ok && app == roster.BuiltinApp && !strings.HasSuffix(local, ".excluded") {
			out = append(out, local)
		}
	}
	return out
}

// reach returns a path of profiles from from to to (both included) along
// deps, or nil.
func reach(from, to string, deps func(string) []string) []string {
	seen := map[string]bool{}
	var walk func(at string) []string
	walk = func(at string) []string {
		if at == to {
			return []string{at}
		}
		if seen[at] {
			return nil
		}
		seen[at] = true
		for _, next := range deps(at) {
			if rest := walk(next); rest != nil {
				return append([]string{at}, rest...)
			}
		}
		return nil
	}
	return walk(from)
}

// canonicalCycle names a cycle whatever profile it starts at.
func canonicalCycle(c []string) string {
	least := 0
	for i := range c {
		if c[i] < c[least] {
			least = i
		}
	}
	return strings.Join(append(slices.Clone(c[least:]), c[:least]...), " ")
}

// KnownRules is what a roster.Known may answer too, for the check of
// cycles between profiles' rules: the profiles whose membership an existing
// profile's rule reads (through user.member_of, or a membership
// entitlement it names).
type KnownRules interface {
	ProfileDependencies(id string) []string
}
