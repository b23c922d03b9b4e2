package declarative

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rosterhq/roster"
)

// refKind is the kind of object a reference names.
type refKind int

const (
	refUser refKind = iota
	refPolicy
	refEntitlement
	refProfile
)

// ref is a reference to an object, checked once the whole file is read.
type ref struct {
	kind refKind
	id   string
	line int
	path string
}

// refer queues the check that the object id of kind exists.
func (p *parser) refer(kind refKind, id string, line int, path string) {
	if p.declared(kind, id) {
		return
	}
	p.refs = append(p.refs, ref{kind: kind, id: id, line: line, path: path})
}

// referKey is refer for the value of key under path. The joined path is
// built only when the check is queued, which a large file that names its own
// objects seldom needs.
func (p *parser) referKey(kind refKind, id string, line int, path, key string) {
	if p.declared(kind, id) {
		return
	}
	p.refs = append(p.refs, ref{kind: kind, id: id, line: line, path: join(path, key)})
}

// declared reports whether the file has already declared the object id of
// kind. What it has needs no later check: a large file names its own users
// and entitlements millions of times.
func (p *parser) declared(kind refKind, id string) bool {
	var declared map[string]int
	switch kind {
	case refUser:
		declared = p.users
	case refPolicy:
		declared = p.policies
	case refEntitlement:
		declared = p.ents
	case refProfile:
		declared = p.profiles
	}
	_, ok := declared[id]
	return ok
}

// checkRefs reports every reference that names neither an object of the
// file nor one that already exists.
func (p *parser) checkRefs() {
	for _, r := range p.refs {
		var (
			noun     string
			declared map[string]int
			exists   bool
		)
		switch r.kind {
		case refUser:
			noun, declared = "user", p.users
			exists = p.hasUser(r.id)
		case refPolicy:
			noun, declared = "policy", p.policies
			exists = p.hasPolicy(r.id)
		case refEntitlement:
			noun, declared = "entitlement", p.ents
			exists = p.hasEntitlement(r.id)
		case refProfile:
			noun, declared = "profile", p.profiles
			_, exists = p.profiles[r.id]
			exists = exists || p.known != nil && p.known.HasProfile(r.id)
		}
		if exists {
			continue
		}
		msg := fmt.Sprintf("unknown %s %q", noun, r.id)
		if s := closest(r.id, keys(declared)); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.add(r.line, r.path, msg)
	}
}

func (p *parser) hasUser(id string) bool {
	if _, ok := p.users[id]; ok || id == roster.AdminUser {
		return true
	}
	return p.known != nil && p.known.HasUser(id)
}

func (p *parser) hasPolicy(id string) bool {
	if _, ok := p.policies[id]; ok {
		return true
	}
	return p.known != nil && p.known.HasPolicy(id)
}

// hasEntitlement reports whether "APP/ENT" is declared in the file, is a
// built-in entitlement of a profile declared in the file or known, or is
// known.
func (p *parser) hasEntitlement(id string) bool {
	if _, ok := p.ents[id]; ok {
		return true
	}
	if app, local, ok := roster.SplitEntitlementID(id); ok && app == roster.BuiltinApp {
		profile := strings.TrimSuffix(local, ".excluded")
		if _, ok := p.profiles[profile]; ok {
			return true
		}
		if p.known != nil && p.known.HasProfile(profile) {
			return true
		}
	}
	return p.known != nil && p.known.HasEntitlement(id)
}

// keys returns the keys of m, sorted.
func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
