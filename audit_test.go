package roster_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// TestAuditActionsListed checks that every AuditAction constant declared in
// audit.go is in AuditActions, once, with an object and a meaning.
func TestAuditActionsListed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var declared []roster.AuditAction
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || types(vs.Type) != "AuditAction" {
			return true
		}
		for _, v := range vs.Values {
			s, err := strconv.Unquote(v.(*ast.BasicLit).Value)
			if err != nil {
				t.Fatal(err)
			}
			declared = append(declared, roster.AuditAction(s))
		}
		return true
	})
	if len(declared) < 40 {
		t.Fatalf("found %d AuditAction constants in audit.go, want the whole vocabulary", len(declared))
	}
	var listed []roster.AuditAction
	for _, i := range roster.AuditActions {
		if i.Object == "" || i.Means == "" {
			t.Errorf("%s: object %q, meaning %q: both must be said", i.Action, i.Object, i.Means)
		}
		if slices.Contains(listed, i.Action) {
			t.Errorf("%s is listed twice", i.Action)
		}
		listed = append(listed, i.Action)
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Errorf("AuditActions lists\n%v\nbut audit.go declares\n%v", listed, declared)
	}
	if roster.KnownAuditAction("task.approve") || !roster.KnownAuditAction(roster.ActionTaskApproved) {
		t.Error("KnownAuditAction does not follow the list")
	}
}

func types(e ast.Expr) string {
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestReferenceListsAuditActions checks that docs/reference.md's table of audit
// actions is the list, in its order.
func TestReferenceListsAuditActions(t *testing.T) {
	b, err := os.ReadFile("docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []roster.AuditAction
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+\\.[a-z_]+)` \\|").FindAllStringSubmatch(string(b), -1) {
		documented = append(documented, roster.AuditAction(m[1]))
	}
	var listed []roster.AuditAction
	for _, i := range roster.AuditActions {
		listed = append(listed, i.Action)
	}
	if !slices.Equal(documented, listed) {
		t.Errorf("docs/reference.md's audit actions\n%v\ndiffer from roster.AuditActions\n%v", documented, listed)
	}
}

func TestAuditActionParts(t *testing.T) {
	a := roster.ActionMemberAdded
	if a.Object() != "profile" || a.Verb() != "member_added" {
		t.Errorf("%s: object %q verb %q", a, a.Object(), a.Verb())
	}
	if roster.UserStatusAction(roster.UserDisabled) != roster.ActionUserDisabled || roster.UserStatusAction(roster.UserActive) != roster.ActionUserActive {
		t.Error("UserStatusAction")
	}
}

func TestActionsMatching(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		has     []roster.AuditAction
		n       int // -1: at least len(has)
	}{
		{"task.created", []roster.AuditAction{roster.ActionTaskCreated}, 1},
		{"task.*", []roster.AuditAction{roster.ActionTaskCreated, roster.ActionTaskApproved, roster.ActionTaskDenied}, -1},
		{"webhook.*", []roster.AuditAction{roster.ActionWebhookCreated, roster.ActionWebhookUpdated, roster.ActionWebhookTested}, 3},
		{"task", nil, 0},
		{"task*", nil, 0},
		{"*", nil, 0},
		{".*", nil, 0},
		{"task.nope", nil, 0},
		{"nothing.*", nil, 0},
	} {
		got := roster.ActionsMatching(tt.pattern)
		if tt.n >= 0 && len(got) != tt.n || len(got) < len(tt.has) {
			t.Errorf("ActionsMatching(%q) = %v", tt.pattern, got)
		}
		for _, a := range tt.has {
			if !slices.Contains(got, a) {
				t.Errorf("ActionsMatching(%q) = %v, missing %s", tt.pattern, got, a)
			}
		}
		for _, a := range got {
			if tt.pattern != string(a) && !strings.HasPrefix(string(a), strings.TrimSuffix(tt.pattern, "*")) {
				t.Errorf("ActionsMatching(%q) holds %s", tt.pattern, a)
			}
		}
	}
}
