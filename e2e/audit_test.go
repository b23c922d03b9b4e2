package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rosterhq/roster"
	rosterhttp "github.com/rosterhq/roster/http"
	"github.com/rosterhq/roster/postgres/pgtest"
	"github.com/rosterhq/roster/server"
)

// sqlExec runs statements on e's database directly, as someone who gets past
// Roster to its database would.
func (e *env) sqlExec(stmts ...string) {
	e.t.Helper()
	ctx := context.Background()
	if strings.HasPrefix(e.db, "postgres") {
		conn, err := pgx.Connect(ctx, e.db)
		if err != nil {
			e.t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, s := range stmts {
			if _, err := conn.Exec(ctx, s); err != nil {
				e.t.Fatalf("%s: %v", s, err)
			}
		}
		return
	}
	db, err := sql.Open("sqlite", e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
}

// sqlCount runs a query that answers one number on e's database directly.
func (e *env) sqlCount(query string) int {
	e.t.Helper()
	ctx := context.Background()
	var n int
	if strings.HasPrefix(e.db, "postgres") {
		conn, err := pgx.Connect(ctx, e.db)
		if err != nil {
			e.t.Fatal(err)
		}
		defer conn.Close(ctx)
		if err := conn.QueryRow(ctx, query).Scan(&n); err != nil {
			e.t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	db, err := sql.Open("sqlite", e.db)
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// verify runs roster audit verify -o json as the auditor and returns what it
// found and whether it exited 0.
func (e *env) verify() (roster.AuditVerification, result) {
	e.t.Helper()
	r := e.run("audrey", "audit", "verify", "-o", "json")
	var v roster.AuditVerification
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		e.t.Fatalf("roster audit verify -o json: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	if v.OK != (r.code == 0) {
		e.t.Fatalf("roster audit verify says ok=%v but exits %d", v.OK, r.code)
	}
	return v, r
}

// someHistory applies the organisation and makes a few changes, so the
// audit log holds events of several kinds.
func someHistory(e *env) {
	e.apply(org + engProfile)
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	e.sync("eng")
	e.ok(adminUser, "grant", "remove", "bob", "okta/engineering")
	e.token("audrey") // issuing a token is an event too
	e.token("bob")
}

// The audit chain verifies; a row changed in the database breaks it at that
// event, and putting it back mends it; deleting the last events breaks its
// end; deleting an event breaks the link of the next.
func TestAuditVerifyNamesTheAlteredEvent(t *testing.T) {
	testAuditVerify(t, start(t))
}

// The same on PostgreSQL, whose JSONB column gives data back in another
// form than it was written.
func TestAuditVerifyNamesTheAlteredEventPostgres(t *testing.T) {
	testAuditVerify(t, startWith(t, server.Config{BootstrapToken: adminToken, DB: pgtest.NewDatabase(t)}))
}

func testAuditVerify(t *testing.T, e *env) {
	someHistory(e)
	all := e.events()
	if len(all) < 10 {
		t.Fatalf("only %d events", len(all))
	}
	for _, ev := range all {
		if len(ev.Hash) != 64 {
			t.Fatalf("event %d (%s) listed with hash %q", ev.ID, ev.Action, ev.Hash)
		}
	}
	v, r := e.verify()
	if !v.OK || v.Events != int64(len(all)) || v.LastID != all[len(all)-1].ID || v.LastHash != all[len(all)-1].Hash {
		t.Fatalf("verify of an untouched log: %+v (%d events, last %d %s)", v, len(all), all[len(all)-1].ID, all[len(all)-1].Hash)
	}
	if out := e.ok("audrey", "audit", "verify"); !strings.Contains(out, "intact") {
		t.Fatalf("roster audit verify printed %q", out)
	}
	e.fails("only admins and auditors", "bob", "audit", "verify")

	// A reason rewritten in the database.
	victim := all[len(all)/2]
	e.sqlExec(fmt.Sprintf(`UPDATE events SET reason = 'nothing to see' WHERE id = %d`, victim.ID))
	v, r = e.verify()
	if v.OK || v.Broken == nil || v.Broken.ID != victim.ID || v.Broken.Problem != roster.AuditBrokenHash ||
		v.Broken.Action != victim.Action || !v.Broken.At.Equal(victim.At) || v.Events != int64(len(all)/2) {
		t.Fatalf("after changing event %d: %+v %+v", victim.ID, v, v.Broken)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("broken at event %d", victim.ID)) {
		t.Fatalf("stderr %q does not name event %d", r.stderr, victim.ID)
	}
	out := e.run("audrey", "audit", "verify")
	if out.code == 0 || !strings.Contains(out.stdout, fmt.Sprintf("event %d %s", victim.ID, victim.Action)) {
		t.Fatalf("roster audit verify (table) exit %d:\n%s", out.code, out.stdout)
	}
	e.sqlExec(fmt.Sprintf(`UPDATE events SET reason = '%s' WHERE id = %d`, strings.ReplaceAll(victim.Reason, "'", "''"), victim.ID))
	if v, _ := e.verify(); !v.OK {
		t.Fatalf("with the reason put back: %+v %+v", v, v.Broken)
	}

	// The last event deleted: the chain ends before its head.
	last := all[len(all)-1]
	e.sqlExec(fmt.Sprintf(`DELETE FROM events WHERE id = %d`, last.ID))
	v, _ = e.verify()
	if v.OK || v.Broken == nil || v.Broken.Problem != roster.AuditBrokenEnd || v.Broken.ID != last.ID || v.LastID != all[len(all)-2].ID {
		t.Fatalf("after deleting the last event %d: %+v %+v", last.ID, v, v.Broken)
	}

	// An event in the middle deleted: the next one's link is broken.
	gone := all[3]
	e.sqlExec(fmt.Sprintf(`DELETE FROM events WHERE id = %d`, gone.ID))
	v, _ = e.verify()
	if v.OK || v.Broken == nil || v.Broken.Problem != roster.AuditBrokenLink || v.Broken.ID != all[4].ID || v.LastID != all[2].ID {
		t.Fatalf("after deleting event %d: %+v %+v", gone.ID, v, v.Broken)
	}
}

// roster audit export writes every event, with its hash, one JSON object a
// line in chain order; an auditor recomputes the chain from it alone.
// --since keeps the events from a time on.
func TestAuditExport(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile)
	e.clock.Advance(time.Hour)
	cut := e.clock.Now()
	e.ok(adminUser, "grant", "add", "dave", "okta/engineering")
	e.sync("eng")
	e.token("audrey")
	all := e.events()

	out := e.ok("audrey", "audit", "export", "-o", "ndjson")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(all) {
		t.Fatalf("%d lines exported, %d events listed", len(lines), len(all))
	}
	prev := roster.GenesisHash
	for i, line := range lines {
		var ev roster.Event
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		if ev.ID != all[i].ID || ev.Hash != all[i].Hash {
			t.Fatalf("line %d is event %d %s, want %d %s", i+1, ev.ID, ev.Hash, all[i].ID, all[i].Hash)
		}
		want, err := roster.ChainHash(prev, &ev)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Hash != want {
			t.Fatalf("line %d: hash %s, recomputed from the export %s", i+1, ev.Hash, want)
		}
		prev = ev.Hash
	}

	since := e.ok("audrey", "audit", "export", "--since", cut.Format(time.RFC3339), "-o", "ndjson")
	n := 0
	for sc := bufio.NewScanner(strings.NewReader(since)); sc.Scan(); n++ {
		var ev roster.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.At.Before(cut) {
			t.Fatalf("--since %s exported event %d at %s", cut, ev.ID, ev.At)
		}
	}
	if n == 0 || n >= len(all) {
		t.Fatalf("--since exported %d of %d events", n, len(all))
	}

	e.fails("only admins and auditors", "bob", "audit", "export", "-o", "ndjson")
	e.fails("-o ndjson only", "audrey", "audit", "export", "-o", "json")
	e.fails("unknown output format", "audrey", "event", "list", "-o", "ndjson")
}

// A database of the version before the chain: its events are chained when
// the server opens it, and the log verifies.
func TestAuditChainAfterUpgrade(t *testing.T) {
	e := start(t)
	someHistory(e)
	before := e.events()
	ctx := context.Background()
	e.srv.Close(ctx)
	e.sqlExec(`DROP TABLE event_chain`, `ALTER TABLE events DROP COLUMN hash`, `DELETE FROM schema_migrations WHERE version = 9`)

	e.srv = e.replica(t)
	after := e.events()
	if len(after) != len(before) {
		t.Fatalf("%d events after the upgrade, %d before", len(after), len(before))
	}
	for i := range after {
		if after[i].Hash != before[i].Hash {
			t.Fatalf("event %d hashed %s on upgrade, %s when written", after[i].ID, after[i].Hash, before[i].Hash)
		}
	}
	if v, _ := e.verify(); !v.OK || v.Events != int64(len(before)) {
		t.Fatalf("after the upgrade: %+v %+v", v, v.Broken)
	}
	// New events go on from the last.
	e.ok(adminUser, "grant", "add", "erin", "okta/sales")
	if v, _ := e.verify(); !v.OK || v.Events <= int64(len(before)) {
		t.Fatalf("after a change: %+v %+v", v, v.Broken)
	}
}

// Replicas on one database write at once: their events form one chain.
func TestAuditChainWithRacingReplicas(t *testing.T) {
	testAuditRace(t, start(t))
}

func TestAuditChainWithRacingReplicasPostgres(t *testing.T) {
	testAuditRace(t, startWith(t, server.Config{BootstrapToken: adminToken, DB: pgtest.NewDatabase(t)}))
}

func testAuditRace(t *testing.T, e *env) {
	e.apply(org)
	urls := []string{e.srv.URL, e.replica(t).URL, e.replica(t).URL}
	users := []string{"alice", "bob", "carol", "dave", "sam", "tess", "ivan", "erin"}
	var wg sync.WaitGroup
	errs := make(chan error, len(urls)*len(users))
	for i, u := range urls {
		c := rosterhttp.NewClient(u, adminToken)
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for round := range 3 {
				for _, user := range users {
					ent := []string{"slack/general", "okta/sales", "github/org-member"}[i]
					var err error
					if round%2 == 0 {
						_, err = c.AddGrant(ctx, user, ent)
					} else {
						err = c.RemoveGrant(ctx, user, ent)
					}
					if err != nil && roster.ErrorCode(err) != roster.ECONFLICT && roster.ErrorCode(err) != roster.ENOTFOUND {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	e.token("audrey")
	for err := range errs {
		t.Fatal(err)
	}
	all := e.events()
	v, _ := e.verify()
	if !v.OK || v.Events != int64(len(all)) {
		t.Fatalf("after racing replicas: %+v %+v", v, v.Broken)
	}
	for i, ev := range all {
		if ev.ID != all[0].ID+int64(i) {
			t.Fatalf("event ids skip: %d at position %d", ev.ID, i)
		}
	}
	if n := len(e.events("--action", "grant.added")); n < 3*len(users) {
		t.Fatalf("%d grant.added events, want at least %d", n, 3*len(users))
	}
}

// An update's event carries the fields it changed, before and after; the
// Slack webhook's URL, a secret, is masked.
func TestChangeEventsCarryBeforeAndAfter(t *testing.T) {
	e := start(t)
	e.apply(org + engProfile + csvConnector("people.csv"))
	changed := strings.NewReplacer(
		"{id: ivan, email: ivan@example.com, name: Ivan, department: IT}",
		"{id: ivan, email: ivan@example.com, name: Ivan, department: IT, kind: service}",
		"sync_interval: 1h", "sync_interval: 2h\n  slack_webhook_url: https://hooks.example.com/services/T0/B0/secret",
		"{id: bob, email: bob@example.com, name: Bob, manager: carol, department: Engineering}",
		"{id: bob, email: bob@example.com, name: Bob, manager: dave, department: Engineering, role: admin, status: disabled}",
		"        fallback: [sam]", "        fallback: [tess]",
		"name: Engineering onboarding", "name: Engineering",
	).Replace(org + engProfile)
	e.apply(changed + csvConnector("staff.csv"))

	type diff struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	}
	data := func(action roster.AuditAction, id string) diff {
		t.Helper()
		evs := e.events("--action", string(action), "--object-id", id)
		if len(evs) == 0 {
			t.Fatalf("no %s event for %s", action, id)
		}
		var d diff
		if err := json.Unmarshal(evs[len(evs)-1].Data, &d); err != nil {
			t.Fatalf("%s %s: data %s: %v", action, id, evs[len(evs)-1].Data, err)
		}
		return d
	}
	check := func(what string, got diff, before, after string) {
		t.Helper()
		b, _ := json.Marshal(got.Before)
		a, _ := json.Marshal(got.After)
		if string(b) != before || string(a) != after {
			t.Errorf("%s: before %s after %s\nwant before %s after %s", what, b, a, before, after)
		}
	}
	check("settings", data(roster.ActionSettingsUpdated, "tenant"),
		`{"slack_webhook_url":"","sync_interval":"1h0m0s"}`, `{"slack_webhook_url":"https://hooks.example.com/…(hidden)","sync_interval":"2h0m0s"}`)
	check("user", data(roster.ActionUserUpdated, "bob"),
		`{"manager":"carol","role":"user","status":"active"}`, `{"manager":"dave","role":"admin","status":"disabled"}`)
	check("policy", data(roster.ActionPolicyUpdated, "manager"),
		`{"steps":[{"approvers":"manager","fallback":["sam"]}]}`, `{"steps":[{"approvers":"manager","fallback":["tess"]}]}`)
	check("profile", data(roster.ActionProfileUpdated, "eng"), `{"name":"Engineering onboarding"}`, `{"name":"Engineering"}`)
	check("user kind", data(roster.ActionUserUpdated, "ivan"), `{"kind":"person"}`, `{"kind":"service"}`)
	check("connector", data(roster.ActionConnectorUpdated, "hr"), `{"settings":{"path":"people.csv"}}`, `{"settings":{"path":"staff.csv"}}`)
	if v, _ := e.verify(); !v.OK {
		t.Fatalf("chain: %+v", v.Broken)
	}
}
