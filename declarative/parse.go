// Package declarative parses and validates the declarative file of
// `roster apply -f FILE` (SPEC §3) into a roster.Document.
//
// Validation is all or nothing: Parse reports every problem it finds, each
// with the file, the line and the path of the offending value, so that an
// admin can fix a file in one go. References to objects the file does not
// declare are resolved through a roster.Known; Parse does no other I/O.
package declarative

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/rosterhq/roster"
)

// Top-level keys of a declarative file.
var topKeys = []string{"settings", "policies", "users", "apps", "connectors", "grants", "profiles", "webhooks"}

// problem is one thing wrong with the file.
type problem struct {
	line int
	text string
}

// parser holds the state of one Parse call.
type parser struct {
	file     string
	known    roster.Known
	problems []problem

	aliases         int
	aliasNodes      int
	aliasesReported bool
	// sizes remembers expandedSize's answers.
	sizes map[*yaml.Node]int
	// unreported counts the problems found past maxProblems.
	unreported int

	// Objects the file declares, by id, with the line of their id.
	users      map[string]int
	policies   map[string]int
	apps       map[string]int
	ents       map[string]int
	profiles   map[string]int
	connectors map[string]int
	webhooks   map[string]int

	// refs are checked once every declaration has been read.
	refs []ref
	// exprLines holds the line of each profile's expression, by profile.
	exprLines map[string]int

	// split holds the sections read in chunks (see split.go), by key, with
	// the line of their key; splitFailed is set when one of them cannot be.
	split       map[string]splitSec
	splitFailed bool
}

type splitSec struct {
	keyLine int
	chunks  []chunk
	items   int // how many items the chunks hold
}

// Parse parses and validates a declarative file. filename is used in
// messages only. known answers for objects the file refers to but does not
// declare; it may be nil when nothing exists yet.
//
// On any problem Parse returns a *roster.Error with code roster.EINVALID whose
// Details list every problem as "FILE:LINE: path: what is wrong", in file
// order.
func Parse(filename string, data []byte, known roster.Known) (*roster.Document, error) {
	if filename == "" {
		filename = "document"
	}
	if len(data) >= splitMin {
		if doc, ok, err := parseSplit(filename, data, known); ok {
			return doc, err
		}
	}
	return parse(filename, data, known)
}

// parseSplit parses a large file with its long sections read in chunks. ok
// is false when the file does not lend itself to it.
func parseSplit(filename string, data []byte, known roster.Known) (doc *roster.Document, ok bool, err error) {
	split := map[string]splitSec{}
	for _, key := range splitKeys {
		rest, sec, found, ok := splitSection(data, key)
		if !found {
			continue
		}
		if !ok {
			return nil, false, nil
		}
		split[key] = sec
		data = rest
	}
	if len(split) == 0 {
		return nil, false, nil
	}
	return parseSplitDoc(filename, data, known, split)
}

func parseSplitDoc(filename string, rest []byte, known roster.Known, split map[string]splitSec) (*roster.Document, bool, error) {
	p := newParser(filename, known)
	p.split = split
	root, ok := p.decode(rest)
	if !ok || root == nil {
		return nil, false, nil
	}
	doc := p.document(root)
	if p.splitFailed {
		return nil, false, nil
	}
	p.checkRefs()
	p.checkCycles(doc)
	if len(p.problems) > 0 {
		return nil, true, p.err()
	}
	return doc, true, nil
}

// parse parses a file whole.
func parse(filename string, data []byte, known roster.Known) (*roster.Document, error) {
	p := newParser(filename, known)
	root, ok := p.decode(data)
	if !ok {
		return nil, p.err()
	}
	doc := p.document(root)
	p.checkRefs()
	p.checkCycles(doc)
	if len(p.problems) > 0 {
		return nil, p.err()
	}
	return doc, nil
}

func newParser(filename string, known roster.Known) *parser {
	return &parser{
		file:      filename,
		known:     known,
		users:     map[string]int{},
		policies:  map[string]int{},
		apps:      map[string]int{},
		ents:      map[string]int{},
		profiles:  map[string]int{},
		exprLines: map[string]int{},

		connectors: map[string]int{},
		webhooks:   map[string]int{},
	}
}

// add records a problem at line; path may be empty.
func (p *parser) add(line int, path, text string) {
	if path != "" {
		text = path + ": " + text
	}
	// A node that two checks read (a section counted, then walked) may be
	// found wrong twice: it is reported once.
	if slices.Contains(p.problems, problem{line: line, text: text}) {
		return
	}
	if len(p.problems) >= maxProblems {
		p.unreported++
		return
	}
	p.problems = append(p.problems, problem{line: line, text: text})
}

// maxProblems is how many problems one file reports; past it they are only
// counted, so that a file of a million mistakes gives an answer of a page.
const maxProblems = 200

// addf records a formatted problem at line.
func (p *parser) addf(line int, path, format string, args ...any) {
	p.add(line, path, fmt.Sprintf(format, args...))
}

// err returns the problems as a *roster.Error.
func (p *parser) err() *roster.Error {
	sort.SliceStable(p.problems, func(i, j int) bool { return p.problems[i].line < p.problems[j].line })
	details := make([]string, len(p.problems))
	for i, pr := range p.problems {
		if pr.line > 0 {
			details[i] = fmt.Sprintf("%s:%d: %s", p.file, pr.line, pr.text)
		} else {
			details[i] = fmt.Sprintf("%s: %s", p.file, pr.text)
		}
	}
	if p.unreported > 0 {
		details = append(details, fmt.Sprintf("%s: and %d more problems, not listed", p.file, p.unreported))
	}
	total := len(p.problems) + p.unreported
	noun := "problems"
	if total == 1 {
		noun = "problem"
	}
	e := roster.Errorf(roster.EINVALID, "%s: %d %s; nothing was applied", p.file, total, noun)
	e.Details = details
	return e
}

// yamlLine matches the position yaml puts in its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax records a YAML syntax error at the line yaml reports. yaml leaves
// the line out of an error on the first line, and out of its reader's
// errors (a control character, invalid UTF-8), which it finds before it
// counts lines: those are put at the line of the first character yaml
// refuses, or the first line.
func (p *parser) syntax(data []byte, err error) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		p.addf(line, "", "invalid YAML: %s", m[2])
		return
	}
	p.addf(unreadableLine(data), "", "invalid YAML: %s", trimYAML(msg))
}

// unreadableLine returns the line of the first character of data that YAML
// does not allow in a file (invalid UTF-8, or a control character other
// than tab, line feed and carriage return), or 1 when there is none.
func unreadableLine(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if (r == utf8.RuneError && size <= 1) || unprintable(r) {
			return bytes.Count(data[:i], []byte("\n")) + 1
		}
		i += size
	}
	return 1
}

// unprintable reports whether YAML refuses r in a file (YAML 1.2 §5.1).
func unprintable(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		return false
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
		return true
	case r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
		return true
	}
	return false
}

func trimYAML(msg string) string { return strings.TrimPrefix(msg, "yaml: ") }

// jsonSyntax reports the syntax error of a file that looks like JSON with
// the line encoding/json finds it at: yaml reads a JSON object as one flow
// mapping and so blames its first line for any mistake inside it. It
// reports false when data does not look like JSON or encoding/json finds no
// syntax error.
func (p *parser) jsonSyntax(data []byte) bool {
	t := bytes.TrimSpace(data)
	if len(t) < 2 || t[0] != '{' {
		return false
	}
	if t = bytes.TrimSpace(t[1:]); t[0] != '"' && t[0] != '}' {
		return false // YAML flow style, such as {users: [...]}
	}
	var v any
	var se *json.SyntaxError
	if err := json.Unmarshal(data, &v); !errors.As(err, &se) {
		return false
	}
	off := min(max(se.Offset, 1), int64(len(data)))
	line := bytes.Count(data[:off-1], []byte("\n")) + 1
	p.addf(line, "", "invalid JSON: %s", se.Error())
	return true
}

// decode reads the one YAML document of the file and returns its top-level
// node, nil for an empty file. ok is false on a syntax error.
func (p *parser) decode(data []byte) (root *yaml.Node, ok bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true
		}
		if !p.jsonSyntax(data) {
			p.syntax(data, err)
		}
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.addf(extra.Line, "", "the file holds more than one YAML document (---); put everything in one")
		return nil, false
	} else if !errors.Is(err, io.EOF) {
		p.syntax(data, err)
		return nil, false
	}
	if len(doc.Content) == 0 {
		return nil, true
	}
	return doc.Content[0], true
}

// items yields the items of the list under key, with their index: from the
// chunks when the section was read in chunks, where the key must then map
// to the empty list that stands in for them on its line (else the chunked
// read is off and fails).
// count returns how many items the list under key holds, read whole or cut
// in chunks.
func (p *parser) count(m *mapping, key string) int {
	if sec, ok := p.split[key]; ok {
		return sec.items
	}
	return len(m.seq(key))
}

func (p *parser) items(m *mapping, key string) iter.Seq2[int, *yaml.Node] {
	sec, ok := p.split[key]
	if !ok {
		return slices.All(m.seq(key))
	}
	v := m.get(key)
	if v == nil || v.Kind != yaml.SequenceNode || v.Style != yaml.FlowStyle || len(v.Content) != 0 || v.Line != sec.keyLine {
		p.splitFailed = true
		return func(func(int, *yaml.Node) bool) {}
	}
	return chunkItems(sec.chunks, &p.splitFailed)
}

// document reads the whole file.
func (p *parser) document(root *yaml.Node) *roster.Document {
	doc := &roster.Document{}
	if root = p.deref(root); !isNull(root) && root.Kind != yaml.MappingNode {
		p.addf(root.Line, "", "expected a mapping with the keys %s at the top of the file, got %s",
			strings.Join(topKeys, ", "), describe(root))
		return doc
	}
	m, ok := p.mapping(root, "", topKeys...)
	if !ok {
		return doc
	}
	if v := m.get("settings"); v != nil {
		doc.Settings = p.settings(v)
	}
	for i, n := range m.seq("policies") {
		if pol, ok := p.policy(n, index("policies", i)); ok {
			doc.Policies = append(doc.Policies, pol)
		}
	}
	// The long lists are sized at once: growing them item by item copied
	// them over and over (half the time of reading a 2M-grant file).
	if n := p.count(m, "users"); n > 0 {
		doc.Users = make([]roster.User, 0, n)
	}
	for i, n := range p.items(m, "users") {
		if u, ok := p.user(n, index("users", i)); ok {
			doc.Users = append(doc.Users, u)
		}
	}
	for i, n := range m.seq("apps") {
		if app, ents, ok := p.app(n, index("apps", i)); ok {
			doc.Apps = append(doc.Apps, app)
			doc.Entitlements = append(doc.Entitlements, ents...)
		}
	}
	fed := map[string]int{}
	for i, n := range m.seq("connectors") {
		if c, ok := p.connector(n, index("connectors", i), fed); ok {
			doc.Connectors = append(doc.Connectors, c)
		}
	}
	p.checkConnectorApps(doc, fed)
	if n := p.count(m, "grants"); n > 0 {
		doc.Grants = make([]roster.Grant, 0, n)
	}
	var grants grantSet
	for i, n := range p.items(m, "grants") {
		if g, line, ok := p.grant(n, index("grants", i)); ok {
			if first, dup := grants.add(g.User, g.Entitlement, line); dup {
				p.addf(line, index("grants", i), "grant of %q to %q given twice (first at line %d)", g.Entitlement, g.User, first)
				continue
			}
			doc.Grants = append(doc.Grants, g)
		}
	}
	for i, n := range m.seq("profiles") {
		if prof, ok := p.profile(n, index("profiles", i)); ok {
			doc.Profiles = append(doc.Profiles, prof)
		}
	}
	for i, n := range m.seq("webhooks") {
		if w, ok := p.webhook(n, index("webhooks", i)); ok {
			doc.Webhooks = append(doc.Webhooks, w)
		}
	}
	return doc
}

// grantSet finds repeated grants. A map of millions of (user, entitlement)
// pairs costs a cache miss on nearly every grant, and one more for every
// string compared; a user's grants kept together stay in cache while a file
// lists them together, as an export does.
type grantSet struct {
	users, ents numbering
	lastUser    string
	lastID      uint32
	byUser      []userGrants // by user number
	many        map[uint64]int
}

// userGrants are the entitlements granted to a user so far, with the line
// of each grant; once there are manyGrants, in grantSet.many instead.
type userGrants struct {
	seen []grantSeen
	many bool
}

type grantSeen struct {
	ent  uint32
	line int
}

// manyGrants is the number of grants from which a user's are looked up in
// a map rather than scanned.
const manyGrants = 32

// add records the grant of ent to user, at line. When it was recorded
// already, it returns the line it was first at instead.
func (s *grantSet) add(user, ent string, line int) (first int, dup bool) {
	u := s.lastID
	if len(s.byUser) == 0 || user != s.lastUser {
		u = s.users.number(user)
		s.lastUser, s.lastID = user, u
		if int(u) == len(s.byUser) {
			s.byUser = append(s.byUser, userGrants{})
		}
	}
	e := s.ents.number(ent)
	ug := &s.byUser[u]
	if ug.many {
		key := uint64(u)<<32 | uint64(e)
		if first, dup := s.many[key]; dup {
			return first, true
		}
		s.many[key] = line
		return 0, false
	}
	for _, g := range ug.seen {
		if g.ent == e {
			return g.line, true
		}
	}
	ug.seen = append(ug.seen, grantSeen{ent: e, line: line})
	if len(ug.seen) == manyGrants {
		if s.many == nil {
			s.many = map[uint64]int{}
		}
		for _, g := range ug.seen {
			s.many[uint64(u)<<32|uint64(g.ent)] = g.line
		}
		ug.seen, ug.many = nil, true
	}
	return 0, false
}

// numbering gives each string it is shown a number, the same one every time.
type numbering map[string]uint32

func (n *numbering) number(s string) uint32 {
	if *n == nil {
		*n = map[string]uint32{}
	}
	if i, ok := (*n)[s]; ok {
		return i
	}
	i := uint32(len(*n))
	(*n)[s] = i
	return i
}
