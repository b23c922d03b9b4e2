// Package rule compiles and evaluates a profile's attribute rule: a CEL
// expression over the user (SPEC section 5, "Rules on attributes"), such as
//
//	user.department == "Engineering" && user.employment_type != "contractor"
//
// Compile parses and type-checks an expression once, at apply: a syntax
// error, a type error or an unknown field is an error naming its line and
// column in the expression. A compiled Rule says what it reads (the user
// fields, and the entitlements and profiles its user.has and user.member_of
// calls name), so the engine re-evaluates it only for users whose read
// fields changed. Eval runs it for one user; an evaluation error (a missing
// attribute, say) is returned for the caller to count as "does not match".
package rule

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/ext"

	"github.com/rosterhq/roster"
)

// MaxLength is the longest expression Compile accepts, in bytes.
const MaxLength = 4096

// costLimit bounds the work of one evaluation (CEL's cost units): a rule is
// a few comparisons, so a comprehension over a huge attribute map is cut off
// rather than left to hold a sync.
const costLimit = 100_000

// User is what an expression sees as `user`. Its cel tags are the names the
// expression uses; dates are "YYYY-MM-DD" strings, so they compare in
// calendar order ("user.start_date >= '2025-01-01'").
type User struct {
	ID             string            `cel:"id"`
	Email          string            `cel:"email"`
	Name           string            `cel:"name"`
	Department     string            `cel:"department"`
	Title          string            `cel:"title"`
	Location       string            `cel:"location"`
	EmploymentType string            `cel:"employment_type"`
	Manager        string            `cel:"manager"`
	Status         string            `cel:"status"`
	StartDate      string            `cel:"start_date"`
	EndDate        string            `cel:"end_date"`
	Attributes     map[string]string `cel:"attributes"`

	// Has reports whether the user holds an entitlement (APP/ENT), for
	// user.has; nil holds nothing.
	Has func(entitlement string) bool `cel:"-"`
	// MemberOf reports whether the user is a member of a profile, for
	// user.member_of; nil is a member of nothing.
	MemberOf func(profile string) bool `cel:"-"`
}

// Fields are the user fields an expression can read, by their CEL names.
var Fields = []string{"id", "email", "name", "department", "title", "location", "employment_type",
	"manager", "status", "start_date", "end_date", "attributes"}

// NewUser returns the User an expression sees for u, with has and memberOf
// answering user.has and user.member_of.
func NewUser(u *roster.User, has, memberOf func(string) bool) *User {
	return &User{ID: u.ID, Email: u.Email, Name: u.Name, Department: u.Department, Title: u.Title,
		Location: u.Location, EmploymentType: u.EmploymentType, Manager: u.Manager, Status: u.Status,
		StartDate: u.StartDate, EndDate: u.EndDate, Attributes: u.Attributes, Has: has, MemberOf: memberOf}
}

// Changed returns the fields, by CEL name, whose values differ between old
// and u: every field when old is nil (a new user). Sorted.
func Changed(old, u *roster.User) []string {
	if old == nil {
		return sortedKeys(maps.Collect(func(yield func(string, bool) bool) {
			for _, f := range Fields {
				if !yield(f, true) {
					return
				}
			}
		}))
	}
	var out []string
	add := func(name string, a, b string) {
		if a != b {
			out = append(out, name)
		}
	}
	add("department", old.Department, u.Department)
	add("email", old.Email, u.Email)
	add("employment_type", old.EmploymentType, u.EmploymentType)
	add("end_date", old.EndDate, u.EndDate)
	add("id", old.ID, u.ID)
	add("location", old.Location, u.Location)
	add("manager", old.Manager, u.Manager)
	add("name", old.Name, u.Name)
	add("start_date", old.StartDate, u.StartDate)
	add("status", old.Status, u.Status)
	add("title", old.Title, u.Title)
	if !maps.Equal(old.Attributes, u.Attributes) {
		out = append(out, "attributes")
	}
	slices.Sort(out)
	return out
}

// Rule is a compiled expression. It is safe for concurrent use.
type Rule struct {
	source string
	prog   cel.Program
	reads  Reads
}

// Reads is what an expression depends on.
type Reads struct {
	// Fields are the user fields it reads, by CEL name, sorted.
	Fields []string
	// Entitlements are the entitlements named by user.has calls, sorted.
	// AnyEntitlement is true when some call's argument is not a literal,
	// so any grant may matter.
	Entitlements   []string
	AnyEntitlement bool
	// Profiles are the profiles named by user.member_of calls, sorted;
	// AnyProfile as for AnyEntitlement.
	Profiles   []string
	AnyProfile bool
}

// Error is a problem with an expression at a place in it.
type Error struct {
	// Line and Column are 1-based, within the expression; 0 when the
	// problem is with the whole expression.
	Line, Column int
	Message      string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Message
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
}

// Errors are the problems Compile found, in the order of the expression.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// env is the CEL environment every rule compiles in.
var env = mustEnv()

// userType is User's CEL type name.
var userType = func() string {
	t := reflect.TypeOf(User{})
	return t.PkgPath()[strings.LastIndex(t.PkgPath(), "/")+1:] + "." + t.Name()
}()

func mustEnv() *cel.Env {
	obj := cel.ObjectType(userType)
	e, err := cel.NewEnv(
		ext.NativeTypes(reflect.TypeOf(&User{}), ext.ParseStructTags(true)),
		cel.Variable("user", obj),
		cel.Function("has",
			cel.MemberOverload("user_has_string", []*cel.Type{obj, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(u, ent ref.Val) ref.Val {
					return call(u, ent, func(u *User) func(string) bool { return u.Has })
				}))),
		cel.Function("member_of",
			cel.MemberOverload("user_member_of_string", []*cel.Type{obj, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(u, p ref.Val) ref.Val {
					return call(u, p, func(u *User) func(string) bool { return u.MemberOf })
				}))),
		cel.ParserExpressionSizeLimit(MaxLength),
	)
	if err != nil {
		panic(fmt.Sprintf("rule: CEL environment: %v", err))
	}
	return e
}

// call answers user.has or user.member_of: which picks the function.
func call(u, arg ref.Val, which func(*User) func(string) bool) ref.Val {
	usr, ok := u.Value().(*User)
	s, ok2 := arg.(types.String)
	if !ok || !ok2 {
		return types.NewErr("rule: unexpected arguments %T, %T", u.Value(), arg)
	}
	f := which(usr)
	return types.Bool(f != nil && f(string(s)))
}

// Compile parses and type-checks expr, which must be a bool expression.
func Compile(expr string) (*Rule, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, Errors{{Message: "the expression is empty"}}
	}
	if len(expr) > MaxLength {
		return nil, Errors{{Message: fmt.Sprintf("the expression is %d bytes long; the limit is %d", len(expr), MaxLength)}}
	}
	checked, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, issues(iss.Errors())
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, Errors{{Message: fmt.Sprintf("the expression gives a %s, not true or false", checked.OutputType())}}
	}
	prog, err := env.Program(checked, cel.CostLimit(costLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, Errors{{Message: err.Error()}}
	}
	return &Rule{source: expr, prog: prog, reads: reads(checked.NativeRep())}, nil
}

// issues turns CEL's errors into Errors, with CEL's wording made plainer
// where it names Roster's own type.
func issues(errs []*common.Error) Errors {
	out := make(Errors, 0, len(errs))
	for _, e := range errs {
		msg := strings.ReplaceAll(e.Message, userType, "user")
		if f, ok := strings.CutPrefix(msg, "undefined field '"); ok {
			f, _, _ = strings.Cut(f, "'")
			msg = fmt.Sprintf("user has no field %q (fields: %s)", f, strings.Join(Fields, ", "))
		}
		out = append(out, &Error{Line: e.Location.Line(), Column: e.Location.Column() + 1, Message: msg})
	}
	return out
}

// Source returns the expression as written.
func (r *Rule) Source() string { return r.source }

// Reads returns what the expression depends on.
func (r *Rule) Reads() Reads { return r.reads }

// Eval reports whether u satisfies the rule. An error means it could not be
// evaluated for u (a missing attribute, the cost limit); the caller counts
// it as "does not match".
func (r *Rule) Eval(u *User) (bool, error) {
	out, _, err := r.prog.Eval(map[string]any{"user": u})
	if err != nil {
		return false, err
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("the expression gave %v, not true or false", out.Value())
	}
	return b, nil
}

// reads walks a checked expression for the user fields it selects and the
// arguments of its has and member_of calls.
func reads(a *ast.AST) Reads {
	var r Reads
	fields := map[string]bool{}
	ents := map[string]bool{}
	profiles := map[string]bool{}
	ast.PostOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		switch e.Kind() {
		case ast.SelectKind:
			s := e.AsSelect()
			if isUser(s.Operand()) {
				fields[s.FieldName()] = true
			}
		case ast.CallKind:
			c := e.AsCall()
			if !c.IsMemberFunction() || !isUser(c.Target()) || len(c.Args()) != 1 {
				return
			}
			lit, isLit := literal(c.Args()[0])
			switch c.FunctionName() {
			case "has":
				if isLit {
					ents[lit] = true
				} else {
					r.AnyEntitlement = true
				}
			case "member_of":
				if isLit {
					profiles[lit] = true
				} else {
					r.AnyProfile = true
				}
			}
		}
	}))
	if usesWholeUser(a.Expr()) {
		for _, f := range Fields {
			fields[f] = true
		}
	}
	r.Fields = sortedKeys(fields)
	r.Entitlements = sortedKeys(ents)
	r.Profiles = sortedKeys(profiles)
	return r
}

// usesWholeUser reports whether `user` appears other than as the operand of
// a field selection or the target of has / member_of.
func usesWholeUser(root ast.Expr) bool {
	whole := false
	var walk func(e ast.Expr, parentOK bool)
	walk = func(e ast.Expr, parentOK bool) {
		switch e.Kind() {
		case ast.IdentKind:
			if e.AsIdent() == "user" && !parentOK {
				whole = true
			}
		case ast.SelectKind:
			walk(e.AsSelect().Operand(), true)
		case ast.CallKind:
			c := e.AsCall()
			if c.IsMemberFunction() {
				name := c.FunctionName()
				walk(c.Target(), name == "has" || name == "member_of")
			}
			for _, arg := range c.Args() {
				walk(arg, false)
			}
		case ast.ListKind:
			for _, el := range e.AsList().Elements() {
				walk(el, false)
			}
		case ast.MapKind:
			for _, en := range e.AsMap().Entries() {
				walk(en.AsMapEntry().Key(), false)
				walk(en.AsMapEntry().Value(), false)
			}
		case ast.StructKind:
			for _, f := range e.AsStruct().Fields() {
				walk(f.AsStructField().Value(), false)
			}
		case ast.ComprehensionKind:
			c := e.AsComprehension()
			for _, x := range []ast.Expr{c.IterRange(), c.AccuInit(), c.LoopCondition(), c.LoopStep(), c.Result()} {
				walk(x, false)
			}
		}
	}
	walk(root, false)
	return whole
}

func isUser(e ast.Expr) bool { return e.Kind() == ast.IdentKind && e.AsIdent() == "user" }

// literal returns the value of a string literal.
func literal(e ast.Expr) (string, bool) {
	if e.Kind() != ast.LiteralKind {
		return "", false
	}
	s, ok := e.AsLiteral().(types.String)
	return string(s), ok
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
