package declarative

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// Generated files write each user and grant on a line of its own, as a flow
// mapping of plain words:
//
//	  - {user: u0000001, entitlement: app-001/ent-0001}
//
// yaml.v3 spends microseconds on each such line (scanner, parser, events,
// nodes), which for a 2M-grant file is most of its read. flowItems builds the
// very nodes yaml.v3 builds for a chunk made only of such lines, and says no
// to anything else — a quote, a comment, a nested list, a word YAML reads as
// something other than text, a second space — which then goes to yaml.v3. It
// does not parse YAML; it recognises one layout whose meaning is plain, and
// the tests check that it builds what yaml.v3 builds.

// flowItems returns the item nodes of c when every line of it is blank or a
// one-line flow mapping of plain words at the chunk's indentation; ok is
// false otherwise.
func flowItems(c chunk) (items []*yaml.Node, ok bool) {
	text := string(c.text) // the nodes' values share it
	lines := strings.Count(text, "\n")
	if !strings.HasSuffix(text, "\n") {
		lines++
	}
	// Every node of the chunk comes from one array, every Content from one
	// slice: a line holds at most as many pairs as it has ": ".
	nodes := make([]yaml.Node, 0, lines+2*strings.Count(text, ": "))
	content := make([]*yaml.Node, 0, cap(nodes)-lines)
	items = make([]*yaml.Node, 0, lines)
	indent := -1
	for i, line := 0, c.line; len(text) > 0; i, line = i+1, line+1 {
		end := strings.IndexByte(text, '\n')
		if end < 0 {
			end = len(text)
		}
		l := text[:end]
		text = text[min(end+1, len(text)):]
		if l == "" {
			continue
		}
		n := 0
		for n < len(l) && l[n] == ' ' {
			n++
		}
		if indent < 0 {
			indent = n
		}
		if n != indent || !strings.HasPrefix(l[n:], "- {") || !strings.HasSuffix(l, "}") {
			return nil, false
		}
		col := n + 3 // of "{", from 1
		nodes = append(nodes, yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle, Tag: "!!map", Line: line, Column: col})
		m := &nodes[len(nodes)-1]
		start := len(content)
		rest, at := l[n+3:len(l)-1], col+1
		for {
			k := wordEnd(rest, false)
			if k == 0 || !strings.HasPrefix(rest[k:], ": ") {
				return nil, false
			}
			v := wordEnd(rest[k+2:], true)
			if v == 0 || !plainText(rest[k+2:k+2+v]) || !plainText(rest[:k]) {
				return nil, false
			}
			nodes = append(nodes,
				yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: rest[:k], Line: line, Column: at},
				yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: rest[k+2 : k+2+v], Line: line, Column: at + k + 2})
			content = append(content, &nodes[len(nodes)-2], &nodes[len(nodes)-1])
			rest, at = rest[k+2+v:], at+k+2+v
			if rest == "" {
				break
			}
			if !strings.HasPrefix(rest, ", ") {
				return nil, false
			}
			rest, at = rest[2:], at+2
		}
		m.Content = content[start:len(content):len(content)]
		items = append(items, m)
	}
	return items, len(items) > 0
}

// wordEnd returns the length of the plain word that s starts with: letters,
// digits and _ . @ / + -, and with spaces, single ones between such words. 0
// when s starts otherwise.
func wordEnd(s string, spaces bool) int {
	n := 0
	for n < len(s) {
		switch c := s[n]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == '@', c == '/', c == '+', c == '-':
			n++
		case c == ' ' && spaces && n > 0 && n+1 < len(s) && s[n-1] != ' ' && wordEnd(s[n+1:n+2], false) == 1:
			n++
		default:
			return n
		}
	}
	return n
}

// plainText reports whether YAML reads the plain word w as text: it starts
// with a letter or _ and is none of the words YAML 1.1 or 1.2 reads as a
// boolean or null (yaml.v3 reads fewer; the others are left to it anyway).
func plainText(w string) bool {
	c := w[0]
	if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_') {
		return false
	}
	switch strings.ToLower(w) {
	case "y", "yes", "n", "no", "true", "false", "on", "off", "null":
		return false
	}
	return true
}
