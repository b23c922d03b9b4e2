package declarative

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// flowSame checks that flowItems, when it takes text (a chunk starting at
// line 7), builds the nodes yaml.v3 builds, and reports whether it took it.
func flowSame(t *testing.T, text string) bool {
	t.Helper()
	c := chunk{text: []byte(text), line: 7}
	got, ok := flowItems(c)
	if !ok {
		return false
	}
	want, wok := yamlChunk(c)
	if !wok {
		t.Fatalf("flowItems took a chunk yaml.v3 does not read as a list:\n%s", text)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("flowItems and yaml.v3 differ on\n%s\ngot:  %s\nwant: %s", text, dump(got), dump(want))
	}
	return true
}

func dump(ns []*yaml.Node) string {
	var b strings.Builder
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		b.WriteString(strings.Join([]string{n.Tag, n.Value}, ":"))
		b.WriteString("@")
		b.WriteString(strings.Repeat("|", n.Line%10))
		for _, c := range n.Content {
			b.WriteString(" (")
			walk(c)
			b.WriteString(")")
		}
		b.WriteString("; ")
	}
	for _, n := range ns {
		walk(n)
	}
	return b.String()
}

func TestFlowItems(t *testing.T) {
	for _, text := range []string{
		"  - {user: u0000001, entitlement: app-001/ent-0001}\n  - {user: u0000002, entitlement: app-002/ent-0017}\n",
		"- {user: alice, entitlement: okta/engineering}\n\n- {user: bob, entitlement: okta/sales}",
		"    - {id: u1, email: u1@example.com, name: User 0000001, department: Sales and Marketing, manager: u7}\n",
		"  - {id: x, status: disabled}\n  - {id: _y, name: A+B/c.d-e}\n",
		"  - {user: tom, entitlement: fred/off-site}\n", // words that start like booleans
		"  - {user: a, user: b}\n", // the parser reports the duplicate
	} {
		if !flowSame(t, text) {
			t.Errorf("flowItems refused\n%s", text)
		}
	}
	for _, text := range []string{
		"  - {user: 'quoted', entitlement: a/b}\n",
		"  - {user: alice, entitlement: a/b} # comment\n",
		"  - {user: alice,  entitlement: a/b}\n",
		"  - {user: alice , entitlement: a/b}\n",
		"  - {user: alice, entitlement: a/b }\n",
		"  - {user: on, entitlement: a/b}\n",
		"  - {user: yes, entitlement: a/b}\n",
		"  - {user: Null, entitlement: a/b}\n",
		"  - {user: TRUE, entitlement: a/b}\n",
		"  - {user: 123, entitlement: a/b}\n",
		"  - {user: 1e3, entitlement: a/b}\n",
		"  - {user: .inf, entitlement: a/b}\n",
		"  - {user: -a, entitlement: a/b}\n",
		"  - {user: a  b, entitlement: a/b}\n",
		"  - {user: a, entitlement: [a/b]}\n",
		"  - {user: &x a, entitlement: *x}\n",
		"  - {user: a:b, entitlement: a/b}\n",
		"  - {}\n",
		"  - {user: a}\n    - {user: b}\n",
		"  - {user: a}\r\n",
		"  - user: a\n    entitlement: a/b\n",
		"  # a comment\n  - {user: a, entitlement: a/b}\n",
		"  - {user: a, entitlement: a/b}\n\t- {user: b}\n",
		"  - {<<: a}\n",
		"",
	} {
		if flowSame(t, text) {
			t.Errorf("flowItems took\n%q", text)
		}
	}
}

// FuzzFlowItems checks that whatever flowItems takes, it reads as yaml.v3
// does.
func FuzzFlowItems(f *testing.F) {
	for _, s := range []string{
		"  - {user: u1, entitlement: app/e1}\n",
		"- {id: u1, name: User One, email: u@x.org}\n- {id: u2}\n",
		"  - {a: b c, d: e}\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flowSame(t, s)
	})
}
