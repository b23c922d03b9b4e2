package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// createToken runs `roster token create` as user with args and returns the
// token, remembering its secret under the name as for e.run.
func (e *env) createToken(as, name string, args ...string) roster.Token {
	e.t.Helper()
	var tok roster.Token
	e.json(&tok, as, append([]string{"token", "create"}, args...)...)
	if tok.ID == "" || tok.Token == "" {
		e.t.Fatalf("token create %v returned %+v: want an id and the secret", args, tok)
	}
	e.tokens[name] = tok.Token
	return tok
}

// TestTokensHaveIDsExpiryAndRevocation checks section 4's token commands:
// anyone creates, lists and revokes their own tokens, which have ids, names,
// an expiry and their last use; a list never shows a secret; an expired or
// revoked token is refused with 401 saying why.
func TestTokensHaveIDsExpiryAndRevocation(t *testing.T) {
	e := start(t)
	e.apply(org)
	laptop := e.createToken("bob", "bob-laptop", "--name", "laptop", "--expires", "24h")
	if !strings.HasPrefix(laptop.ID, "tok_") || laptop.User != "bob" || laptop.Issuer != "bob" || laptop.Name != "laptop" {
		t.Fatalf("created %+v", laptop)
	}
	if laptop.ExpiresAt == nil || !laptop.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("expires_at = %v, want %v", laptop.ExpiresAt, e.clock.Now().Add(24*time.Hour))
	}
	if strings.Contains(laptop.ID, laptop.Token) || strings.Contains(laptop.Token, strings.TrimPrefix(laptop.ID, "tok_")) {
		t.Fatalf("the id %s is part of the secret", laptop.ID)
	}
	var me roster.User
	e.json(&me, "bob-laptop", "whoami")
	equal(t, "whoami with the new token", me.ID, "bob")

	// The list names it, with its last use, and never a secret.
	out := e.ok("bob", "token", "list", "-o", "json")
	if strings.Contains(out, laptop.Token) || strings.Contains(out, `"token"`) {
		t.Fatalf("token list shows a secret:\n%s", out)
	}
	var list []roster.Token
	e.json(&list, "bob", "token", "list")
	var found *roster.Token
	for i := range list {
		if list[i].ID == laptop.ID {
			found = &list[i]
		}
	}
	if found == nil || found.LastUsedAt == nil || found.Name != "laptop" {
		t.Fatalf("bob's tokens %+v: want %s, named, with its last use", list, laptop.ID)
	}
	if text := e.ok("bob", "token", "list"); !strings.Contains(text, laptop.ID) || !strings.Contains(text, "laptop") {
		t.Fatalf("token list:\n%s", text)
	}
	// Its last use is written at most once a minute.
	lastUsed := func() time.Time {
		var ts []roster.Token
		e.json(&ts, "bob", "token", "list")
		for _, tk := range ts {
			if tk.ID == laptop.ID && tk.LastUsedAt != nil {
				return *tk.LastUsedAt
			}
		}
		t.Fatalf("no last use of %s", laptop.ID)
		return time.Time{}
	}
	first := lastUsed()
	e.clock.Advance(30 * time.Second)
	e.ok("bob-laptop", "whoami")
	equal(t, "last use 30 s later", lastUsed(), first)
	e.clock.Advance(31 * time.Second)
	e.ok("bob-laptop", "whoami")
	equal(t, "last use 61 s later", lastUsed(), first.Add(61*time.Second))
	// The table shows it too, in its LAST USED column.
	text := e.ok("bob", "token", "list")
	if !strings.Contains(text, "LAST USED") || !strings.Contains(text, first.Add(61*time.Second).UTC().Format(time.RFC3339)) {
		t.Fatalf("token list does not show the last use %s:\n%s", first.Add(61*time.Second).UTC().Format(time.RFC3339), text)
	}

	// Others' tokens: a user neither lists nor revokes them nor issues one
	// for someone else; an auditor lists them.
	e.fails("only admins and auditors", "alice", "token", "list", "--user", "bob")
	e.fails("not yours", "alice", "token", "revoke", laptop.ID)
	e.fails("only admins may issue", "alice", "token", "create", "bob")
	e.json(&list, "audrey", "token", "list", "--user", "bob")
	if len(list) == 0 {
		t.Fatal("the auditor sees none of bob's tokens")
	}
	// Nor for a user who does not exist or is disabled.
	e.fails("not found", adminUser, "token", "create", "nobody")
	e.apply(strings.Replace(org, "{id: erin, email: erin@example.com, name: Erin, department: Sales}",
		"{id: erin, email: erin@example.com, name: Erin, department: Sales, status: disabled}", 1))
	e.fails("disabled", adminUser, "token", "create", "erin")

	// Expired: 401, saying so.
	e.clock.Advance(24 * time.Hour)
	res, body := e.request(http.MethodGet, "/api/v1/me", e.tokens["bob-laptop"], "", nil)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "expired") {
		t.Fatalf("expired token: %d %s", res.StatusCode, body)
	}

	// Revoked: 401, saying so; revoking again changes nothing.
	ci := e.createToken("bob", "bob-ci", "--name", "ci")
	e.ok("bob", "whoami")
	e.ok("bob", "token", "revoke", ci.ID)
	e.ok("bob", "token", "revoke", ci.ID)
	res, body = e.request(http.MethodGet, "/api/v1/me", e.tokens["bob-ci"], "", nil)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Fatalf("revoked token: %d %s", res.StatusCode, body)
	}

	// The audit log names the token, its user, issuer, name and expiry, and
	// never the secret.
	var created *roster.Event
	for _, ev := range e.events("--action", "token.created", "--object-id", "bob") {
		if strings.Contains(string(ev.Data), laptop.ID) {
			created = &ev
		}
	}
	if created == nil || created.Actor != "bob" || !strings.Contains(string(created.Data), `"laptop"`) ||
		!strings.Contains(string(created.Data), `"expires_at": "2026-01-06T09:00:00Z"`) || !strings.Contains(string(created.Data), `"issuer": "bob"`) {
		t.Fatalf("token.created event of %s: %+v", laptop.ID, created)
	}
	revoked := e.events("--action", "token.revoked")
	if len(revoked) != 1 || !strings.Contains(string(revoked[0].Data), ci.ID) || revoked[0].Actor != "bob" {
		t.Fatalf("token.revoked events: %+v", revoked)
	}
	all := e.ok(adminUser, "event", "list", "-o", "json")
	for _, secret := range []string{laptop.Token, ci.Token} {
		if strings.Contains(all, secret) {
			t.Fatal("the audit log holds a token's secret")
		}
	}
}

// TestTokenIssuerCountsForSeparationOfDuties checks issue 14 #4 and section
// 5: an action taken with a token counts as its user's and its issuer's, so
// an admin who issues a token for their approver cannot approve their own
// request with it; an admin never issues a token for another admin; a token
// another person issued stops working when its user becomes an admin; and
// events name the token and its issuer.
func TestTokenIssuerCountsForSeparationOfDuties(t *testing.T) {
	e := start(t)
	e.apply(strings.Replace(org, "  - {id: audrey", "  - {id: ada, email: ada@example.com, name: Ada, role: admin}\n  - {id: audrey", 1))
	e.apply(`
profiles:
  - id: mgr
    name: Managers
    entitlements: [github/org-member]
    allow_enrollment_requests: true
    enrollment: {policy: manager}
`)
	// The admin has no manager: the manager policy's fallback, sam, decides.
	var task roster.Task
	e.json(&task, adminUser, "profile", "request", "mgr")
	equal(t, "approvers", task.Approvers, []string{"sam"})

	// The admin issues a token for sam and approves their own request with
	// it: refused, whoever the token's user is.
	borrowed := e.createToken(adminUser, "sam-by-admin", "sam", "--name", "borrowed")
	equal(t, "issuer", borrowed.Issuer, adminUser)
	e.fails("your own access", "sam-by-admin", "task", "approve", id(task))
	e.fails("your own access", "sam-by-admin", "task", "deny", id(task))
	// Nor by laundering it: a token created with it is the admin's too.
	var second roster.Token
	e.json(&second, "sam-by-admin", "token", "create", "--name", "second")
	equal(t, "issuer of a token made with an issued one", second.Issuer, adminUser)
	e.tokens["sam-second"] = second.Token
	e.fails("your own access", "sam-second", "task", "approve", id(task))
	// sam, with his own token, may.
	e.ok("sam", "task", "approve", id(task))

	// With the issued token sam approves someone else's request, and the
	// event names the token and its issuer.
	e.json(&task, "carol", "profile", "request", "mgr")
	equal(t, "approvers", task.Approvers, []string{"sam"})
	e.ok("sam-by-admin", "task", "approve", id(task))
	approved := e.events("--action", "task.approved", "--object-id", id(task))
	if len(approved) != 1 || approved[0].Actor != "sam" || approved[0].Token != borrowed.ID || approved[0].Issuer != adminUser {
		t.Fatalf("task.approved events: %+v, want actor sam, token %s, issuer admin", approved, borrowed.ID)
	}
	if out := e.ok(adminUser, "event", "list", "--action", "task.approved", "--object-id", id(task)); !strings.Contains(out, borrowed.ID) || !strings.Contains(out, "issuer admin") {
		t.Fatalf("event list does not name the token and its issuer:\n%s", out)
	}

	// An admin never issues a token for another admin.
	e.fails("another admin", adminUser, "token", "create", "ada")
	// A token the admin issued for erin stops working when she becomes an
	// admin, and works again... never: it is refused at authentication.
	e.createToken(adminUser, "erin-by-admin", "erin")
	e.ok("erin-by-admin", "whoami")
	e.apply(strings.Replace(org, "{id: erin, email: erin@example.com, name: Erin, department: Sales}",
		"{id: erin, email: erin@example.com, name: Erin, department: Sales, role: admin}", 1))
	res, body := e.request(http.MethodGet, "/api/v1/me", e.tokens["erin-by-admin"], "", nil)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "issued by admin") {
		t.Fatalf("a token the admin issued for erin, now an admin: %d %s", res.StatusCode, body)
	}
}
