package declarative

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxAliases bounds how many YAML aliases one file may expand, and
// maxAliasNodes how many nodes those expansions may hold together, so that a
// "billion laughs" file — few aliases, each to a large or nested part —
// cannot make validation blow up.
const (
	maxAliases    = 1000
	maxAliasNodes = 20000
)

// deref follows aliases. A file that expands too many aliases, or aliases
// holding too many nodes, gets one problem, and the alias beyond the budget
// reads as null.
func (p *parser) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		p.aliases++
		p.aliasNodes += p.expandedSize(n.Alias)
		if p.aliases > maxAliases || p.aliasNodes > maxAliasNodes {
			if !p.aliasesReported {
				p.aliasesReported = true
				if p.aliases > maxAliases {
					p.addf(n.Line, "", "the file expands more than %d YAML aliases", maxAliases)
				} else {
					p.addf(n.Line, "", "the file's YAML aliases expand to more than %d nodes", maxAliasNodes)
				}
			}
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
		}
		n = n.Alias
	}
	return n
}

// expandedSize returns how many nodes n stands for once every alias in it
// is expanded, remembered per node. A cycle counts as over the budget.
func (p *parser) expandedSize(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	if size, ok := p.sizes[n]; ok {
		if size < 0 {
			return maxAliasNodes + 1 // n contains itself
		}
		return size
	}
	if p.sizes == nil {
		p.sizes = map[*yaml.Node]int{}
	}
	p.sizes[n] = -1
	size := 1
	if n.Kind == yaml.AliasNode {
		size = p.expandedSize(n.Alias)
	}
	for _, c := range n.Content {
		size += p.expandedSize(c)
		if size > maxAliasNodes {
			break
		}
	}
	p.sizes[n] = size
	return size
}

// isNull reports whether n is absent or an explicit YAML null (`key:` with
// nothing after it, `~`, `null`).
func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names what a node holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n == nil:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!null":
		return "nothing"
	case "!!bool":
		return fmt.Sprintf("the boolean %s", n.Value)
	case "!!int", "!!float":
		return fmt.Sprintf("the number %s", n.Value)
	case "!!str":
		return fmt.Sprintf("the string %q", n.Value)
	default:
		return fmt.Sprintf("a %s value", strings.TrimPrefix(n.ShortTag(), "!!"))
	}
}

// join extends a path such as "profiles[0]" with a key.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index extends a path with a list index.
func index(path string, i int) string {
	// One allocation: a large file indexes millions of items.
	var b [48]byte
	buf := append(b[:0], path...)
	buf = append(buf, '[')
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, ']')
	return string(buf)
}

// mapping is one YAML mapping whose keys were checked against the keys its
// place in the file allows.
type mapping struct {
	p    *parser
	node *yaml.Node
	path string
	// The keys in file order: in small while they fit, else in more. A few
	// keys scanned cost far less than maps, and a large file has millions
	// of small mappings; byKey indexes the keys of a mapping that holds many.
	small [4]field
	n     int
	more  []field
	byKey map[string]int
}

// field is one key of a mapping, the first time it is given.
type field struct {
	key  string
	line int
	val  *yaml.Node
	ok   bool // an allowed key, whose value is read
}

// manyFields is the number of keys from which a mapping indexes them in
// byKey: a mapping of any keys, such as attributes, may hold many.
const manyFields = 16

// fields returns the keys of the mapping in file order.
func (m *mapping) fields() []field {
	if m.more != nil {
		return m.more
	}
	return m.small[:m.n]
}

// add appends a key that is not yet in the mapping.
func (m *mapping) add(f field) {
	switch {
	case m.more != nil:
		m.more = append(m.more, f)
	case m.n < len(m.small):
		m.small[m.n] = f
		m.n++
		return
	default:
		// A new array, not one appended to from small: a mapping that
		// points into itself is always moved to the heap.
		m.more = make([]field, len(m.small), 2*len(m.small))
		copy(m.more, m.small[:])
		m.more = append(m.more, f)
	}
	if m.byKey != nil {
		m.byKey[f.key] = len(m.more) - 1
	} else if len(m.more) == manyFields {
		m.byKey = make(map[string]int, 2*manyFields)
		for i, f := range m.more {
			m.byKey[f.key] = i
		}
	}
}

// find returns the index in fields of key, -1 when absent.
func (m *mapping) find(key string) int {
	if m.byKey != nil {
		if i, ok := m.byKey[key]; ok {
			return i
		}
		return -1
	}
	for i, f := range m.fields() {
		if f.key == key {
			return i
		}
	}
	return -1
}

// mapping checks that n is a mapping that uses only the allowed keys (any
// key when none is given), each once, and returns it. A null node is an empty mapping. ok is false when n is
// something else, which is reported.
//
// It is small enough to be inlined, so that the mapping of a caller that
// keeps it no longer than the call can stay on the caller's stack.
func (p *parser) mapping(n *yaml.Node, path string, allowed ...string) (m *mapping, ok bool) {
	m = &mapping{p: p, path: path}
	return m, p.readMapping(m, n, allowed)
}

// readMapping does the work of mapping.
func (p *parser) readMapping(m *mapping, n *yaml.Node, allowed []string) bool {
	n = p.deref(n)
	m.node = n
	if isNull(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		p.addf(n.Line, m.path, "expected a mapping, got %s", describe(n))
		return false
	}
	path := m.path
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := p.deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.addf(k.Line, path, "a key must be a plain name, got %s", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			p.addf(k.Line, path, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		key := k.Value
		if j := m.find(key); j >= 0 {
			p.addf(k.Line, path, "key %q given twice (first at line %d)", key, m.fields()[j].line)
			continue
		}
		known := len(allowed) == 0 || contains(allowed, key)
		m.add(field{key: key, line: k.Line, val: v, ok: known})
		if !known {
			msg := fmt.Sprintf("unknown key %q", key)
			if s := closest(key, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += fmt.Sprintf(" (known keys: %s)", strings.Join(allowed, ", "))
			}
			p.add(k.Line, path, msg)
		}
	}
	return true
}

// raw returns the value of key as written (an alias is not followed), nil
// when it is absent.
func (m *mapping) raw(key string) *yaml.Node {
	if i := m.find(key); i >= 0 && m.fields()[i].ok {
		return m.fields()[i].val
	}
	return nil
}

// line is the line of the mapping itself, for problems about a missing key.
func (m *mapping) line() int {
	if m.node == nil {
		return 0
	}
	return m.node.Line
}

// get returns the value of key, nil when it is absent or null.
func (m *mapping) get(key string) *yaml.Node {
	v := m.p.deref(m.raw(key))
	if isNull(v) {
		return nil
	}
	return v
}

// str returns the string value of key and its line; "" and the mapping's
// line when absent. Numbers are read as the text they are written as; a
// boolean, list or mapping is a problem.
func (m *mapping) str(key string) (string, int) {
	return m.strOf(m.get(key), key)
}

// strOf is str for v, the value of key got already.
func (m *mapping) strOf(v *yaml.Node, key string) (string, int) {
	if v == nil {
		return "", m.line()
	}
	if isString(v) && !strings.Contains(v.Value, "\x00") {
		// The path is only for a problem.
		return v.Value, v.Line
	}
	s, _ := m.p.scalarString(v, join(m.path, key))
	return s, v.Line
}

// withNUL returns the first scalar under n that holds a NUL character, which
// no store keeps in text, or nil.
func withNUL(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "\x00") {
		return n
	}
	for _, c := range n.Content {
		if found := withNUL(c); found != nil {
			return found
		}
	}
	return nil
}

// isString reports whether v is a scalar scalarString reads as it is.
func isString(v *yaml.Node) bool {
	if v.Kind != yaml.ScalarNode {
		return false
	}
	switch v.ShortTag() {
	case "!!str", "!!int", "!!float":
		return true
	}
	return false
}

// scalarString reads a node that should hold a string.
func (p *parser) scalarString(v *yaml.Node, path string) (string, bool) {
	if v.Kind != yaml.ScalarNode {
		p.addf(v.Line, path, "expected a string, got %s", describe(v))
		return "", false
	}
	switch v.ShortTag() {
	case "!!str", "!!int", "!!float":
		if strings.Contains(v.Value, "\x00") {
			p.addf(v.Line, path, "a NUL character (\\0) is not allowed in text")
			return "", false
		}
		return v.Value, true
	case "!!bool":
		p.addf(v.Line, path, "expected a string, got %s (quote it if you mean the text)", describe(v))
	default:
		p.addf(v.Line, path, "expected a string, got %s", describe(v))
	}
	return "", false
}

// boolean returns the boolean value of key, def when absent.
func (m *mapping) boolean(key string, def bool) bool {
	v := m.get(key)
	if v == nil {
		return def
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" {
		m.p.addf(v.Line, join(m.path, key), "expected true or false, got %s", describe(v))
		return def
	}
	b, err := strconv.ParseBool(v.Value)
	if err != nil {
		m.p.addf(v.Line, join(m.path, key), "expected true or false, got %s", describe(v))
		return def
	}
	return b
}

// integer returns the integer value of key; ok is false when it is absent
// or not an integer (which is reported).
func (m *mapping) integer(key string) (n int, line int, ok bool) {
	v := m.get(key)
	if v == nil {
		return 0, m.line(), false
	}
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" {
		m.p.addf(v.Line, join(m.path, key), "expected a whole number, got %s", describe(v))
		return 0, v.Line, false
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
	if err != nil || int64(int(i)) != i {
		m.p.addf(v.Line, join(m.path, key), "%s is not a whole number Roster can hold", v.Value)
		return 0, v.Line, false
	}
	return int(i), v.Line, true
}

// seq returns the items of the list under key; nil when absent. A scalar or
// mapping is a problem.
func (m *mapping) seq(key string) []*yaml.Node {
	v := m.get(key)
	if v == nil {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		m.p.addf(v.Line, join(m.path, key), "expected a list, got %s", describe(v))
		return nil
	}
	items := make([]*yaml.Node, len(v.Content))
	for i, c := range v.Content {
		items[i] = m.p.deref(c)
	}
	return items
}

// item is one string of a list, with where it was written.
type item struct {
	val  string
	line int
	path string
}

// strList returns the strings of the list under key. Empty and repeated
// entries are problems and are left out.
func (m *mapping) strList(key string) []item {
	path := join(m.path, key)
	var out []item
	seen := map[string]int{}
	for i, v := range m.seq(key) {
		ip := index(path, i)
		if isNull(v) {
			m.p.addf(v.Line, ip, "empty entry")
			continue
		}
		s, ok := m.p.scalarString(v, ip)
		if !ok {
			continue
		}
		if s == "" {
			m.p.addf(v.Line, ip, "empty entry")
			continue
		}
		if line, dup := seen[s]; dup {
			m.p.addf(v.Line, ip, "%q is listed twice (also at line %d)", s, line)
			continue
		}
		seen[s] = v.Line
		out = append(out, item{val: s, line: v.Line, path: ip})
	}
	return out
}

// values returns the strings of items, never nil.
func values(items []item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, it.val)
	}
	return out
}

// enum returns the value of key, which must be one of allowed; def when
// absent.
func (m *mapping) enum(key, def string, allowed ...string) string {
	s, line := m.str(key)
	if m.get(key) == nil {
		return def
	}
	if !contains(allowed, s) {
		msg := fmt.Sprintf("%q is not one of %s", s, strings.Join(allowed, ", "))
		if c := closest(s, allowed); c != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", c)
		}
		m.p.add(line, join(m.path, key), msg)
		return def
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// closest returns the candidate nearest to s when one is obviously meant: one
// edit away, or two edits that keep about the same length, and no other
// candidate as near.
func closest(s string, candidates []string) string {
	limit := len(s) / 3
	limit = max(1, min(limit, 2))
	best, bestD, tie := "", limit+1, false
	for _, c := range candidates {
		d := distance(strings.ToLower(s), strings.ToLower(c))
		if d > 1 && abs(len(s)-len(c)) >= d {
			// Two letters added or dropped is another word ("inactive" is
			// not "active"); two swapped or mistyped is a typo.
			continue
		}
		switch {
		case d < bestD:
			best, bestD, tie = c, d, false
		case d == bestD:
			tie = true
		}
	}
	if best == "" || tie || best == s {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
