package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// oddIDs are ids whose byte order differs from a natural-language collation's.
var oddIDs = []string{"ab", "a_b", "Zed", "a.b", "émile", "a-b", "alice", "a b"}

func testSettings(t *testing.T, s roster.Store) {
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Settings, error) { return tx.Settings(ctx) })
	equal(t, "settings never saved", roster.DefaultSettings(), *got)

	want := roster.Settings{
		DefaultRequestPolicy: "manager",
		DefaultRevokePolicy:  "auto",
		SyncInterval:         roster.Duration(15 * time.Minute),
		AutomationsEnabled:   false,
		Safeguard:            roster.Safeguard{MinMembers: 7, MaxRemovalPercent: 35},
		SlackWebhookURL:      "http://127.0.0.1:9999/hook",
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutSettings(ctx, &want) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Settings, error) { return tx.Settings(ctx) })
	equal(t, "settings", want, *got)

	want2 := roster.Settings{DefaultRequestPolicy: "security", SyncInterval: roster.Duration(time.Hour), AutomationsEnabled: true}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutSettings(ctx, &want2) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Settings, error) { return tx.Settings(ctx) })
	equal(t, "replaced settings", want2, *got)
}

// fullUser returns a user with every field set.
func fullUser(id string, n int) roster.User {
	return roster.User{
		ID:             id,
		Email:          id + "@example.com",
		Name:           "Name " + id,
		Manager:        "mgr-" + id,
		Department:     "Dept " + id,
		Title:          "Title " + id,
		Location:       "Lisbon " + id,
		EmploymentType: "contractor",
		StartDate:      "2024-02-29",
		EndDate:        "2030-01-01",
		Status:         roster.UserActive,
		Role:           roster.RoleAuditor,
		Kind:           roster.UserService,
		Notify:         roster.NotifySlack,
		Attributes:     map[string]string{"cost_center": fmt.Sprint(n), "location": "Paris, \"FR\""},
		CreatedAt:      at(n),
		UpdatedAt:      at(n + 1),
	}
}

func testUserRoundTrip(t *testing.T, s roster.Store) {
	var want []roster.User
	for i, id := range oddIDs {
		want = append(want, fullUser(id, i))
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range want {
			if err := tx.PutUser(ctx, &want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for _, w := range want {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.User, error) { return tx.User(ctx, w.ID) })
		equal(t, "user "+w.ID, w, *got)
	}

	// AllUsers is ordered by id, byte-wise.
	all := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.User, error) { return tx.AllUsers(ctx) })
	slices.SortFunc(want, func(a, b roster.User) int { return strings.Compare(a.ID, b.ID) })
	equal(t, "AllUsers", want, all)

	// Put replaces the whole user.
	repl := roster.User{ID: "alice", Email: "new@example.com", Name: "New", Status: roster.UserDisabled,
		Role: roster.RoleUser, CreatedAt: at(50), UpdatedAt: at(51)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutUser(ctx, &repl) })
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.User, error) { return tx.User(ctx, "alice") })
	equal(t, "replaced user", repl, *got)
	all = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.User, error) { return tx.AllUsers(ctx) })
	if len(all) != len(oddIDs) {
		t.Fatalf("AllUsers after an upsert: %d users, want %d", len(all), len(oddIDs))
	}

	// Query finds users by id, name or email, ignoring case, with % and _
	// taken as themselves; Total counts every page.
	found := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.User], error) {
		return tx.Users(ctx, roster.UserFilter{Query: "NEW@EXAMPLE", Total: true, Limit: 1})
	})
	if len(found.Items) != 1 || found.Items[0].ID != "alice" || found.Total == nil || *found.Total != 1 {
		t.Errorf("Users q=NEW@EXAMPLE: %+v, want alice alone with a total of 1", found)
	}
	none := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.User], error) {
		return tx.Users(ctx, roster.UserFilter{Query: "%", Total: true})
	})
	if n := *none.Total; n != 0 {
		t.Errorf("Users q=%%: %d users; a %% in the query must match only itself", n)
	}
	all2 := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.User], error) {
		return tx.Users(ctx, roster.UserFilter{Total: true, Limit: 2})
	})
	if len(all2.Items) != 2 || all2.Total == nil || *all2.Total != len(oddIDs) {
		t.Errorf("Users total with a page of 2: %v, want %d", all2.Total, len(oddIDs))
	}

	// UsersOf finds the users among ids, missing ones skipped.
	of := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.User, error) {
		return tx.UsersOf(ctx, []string{"nobody", oddIDs[1], "alice", oddIDs[2]})
	})
	slices.SortFunc(of, func(a, b roster.User) int { return strings.Compare(a.ID, b.ID) })
	wantOf := []roster.User{repl, fullUser(oddIDs[1], 1), fullUser(oddIDs[2], 2)}
	slices.SortFunc(wantOf, func(a, b roster.User) int { return strings.Compare(a.ID, b.ID) })
	equal(t, "UsersOf", wantOf, of)
	equal(t, "UsersOf of none", []roster.User{}, get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.User, error) {
		return tx.UsersOf(ctx, nil)
	}))

	// A user put in a transaction is read back in it, as put last.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		u := fullUser("zed", 60)
		for _, name := range []string{"Zed", "Zed Again"} {
			u.Name = name
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		got, err := tx.User(ctx, "zed")
		if err != nil {
			return err
		}
		equal(t, "user read in its transaction", u, *got)
		of, err := tx.UsersOf(ctx, []string{"zed"})
		if err != nil {
			return err
		}
		equal(t, "UsersOf in its transaction", []roster.User{u}, of)
		return nil
	})

	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.User, error) { return tx.User(ctx, "nobody") })
	wantCode(t, "User(nobody)", err, roster.ENOTFOUND)
	if !strings.Contains(roster.ErrorMessage(err), "nobody") {
		t.Errorf("not-found message %q does not name the user", roster.ErrorMessage(err))
	}

	empty := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.User], error) {
		return tx.Users(ctx, roster.UserFilter{Status: "no-such-status"})
	})
	if empty.Items == nil || len(empty.Items) != 0 || empty.NextCursor != "" {
		t.Fatalf("empty page: %+v, want non-nil empty items and no cursor", empty)
	}
}

func testUserFilters(t *testing.T, s roster.Store) {
	users := []roster.User{
		{ID: "u1", Status: roster.UserActive, Department: "Eng", Manager: "m1"},
		{ID: "u2", Status: roster.UserDisabled, Department: "Eng", Manager: "m1"},
		{ID: "u3", Status: roster.UserActive, Department: "Sales", Manager: "m2"},
		{ID: "u4", Status: roster.UserActive, Department: "Eng", Manager: "m2"},
		{ID: "u5", Status: roster.UserDisabled, Department: "Sales", Manager: "m1"},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range users {
			users[i].Role = roster.RoleUser
			if err := tx.PutUser(ctx, &users[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		f    roster.UserFilter
		want []string
	}{
		{roster.UserFilter{}, []string{"u1", "u2", "u3", "u4", "u5"}},
		{roster.UserFilter{Status: roster.UserActive}, []string{"u1", "u3", "u4"}},
		{roster.UserFilter{Status: roster.UserDisabled}, []string{"u2", "u5"}},
		{roster.UserFilter{Department: "Eng"}, []string{"u1", "u2", "u4"}},
		{roster.UserFilter{Manager: "m2"}, []string{"u3", "u4"}},
		{roster.UserFilter{Status: roster.UserActive, Department: "Eng"}, []string{"u1", "u4"}},
		{roster.UserFilter{Status: roster.UserDisabled, Manager: "m1", Department: "Sales"}, []string{"u5"}},
		{roster.UserFilter{Department: "eng"}, []string{}},
	} {
		got, _ := collect(t, s, 2, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.User], error) {
			f := tc.f
			f.Cursor, f.Limit = c, n
			return tx.Users(ctx, f)
		})
		equal(t, fmt.Sprintf("users %+v", tc.f), tc.want, ids(got, func(u roster.User) string { return u.ID }))
	}
}

func testUserPagination(t *testing.T, s roster.Store) {
	var want []string
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range 21 {
			u := roster.User{ID: fmt.Sprintf("user-%02d", (i*8)%21), Status: roster.UserActive, Role: roster.RoleUser}
			want = append(want, u.ID)
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	slices.Sort(want)
	for _, limit := range []int{1, 5, 7, 20, 21, 22} {
		got, pages := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.User], error) {
			return tx.Users(ctx, roster.UserFilter{Cursor: c, Limit: n})
		})
		equal(t, fmt.Sprintf("users with limit %d", limit), want, ids(got, func(u roster.User) string { return u.ID }))
		if wantPages := (21 + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d (the last page has no cursor)", limit, pages, wantPages)
		}
	}
	// A filter applies on every page.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for _, id := range []string{"user-03", "user-10", "user-17"} {
			u := roster.User{ID: id, Status: roster.UserDisabled, Role: roster.RoleUser}
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	got, _ := collect(t, s, 2, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.User], error) {
		return tx.Users(ctx, roster.UserFilter{Status: roster.UserDisabled, Cursor: c, Limit: n})
	})
	equal(t, "disabled users by pages", []string{"user-03", "user-10", "user-17"}, ids(got, func(u roster.User) string { return u.ID }))
}

func testAdmins(t *testing.T, s roster.Store) {
	got := get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) { return tx.Admins(ctx) })
	if len(got) != 0 {
		t.Fatalf("Admins of an empty store: %v", got)
	}
	users := []roster.User{
		{ID: "zoe", Role: roster.RoleAdmin, Status: roster.UserActive},
		{ID: "admin", Role: roster.RoleAdmin, Status: roster.UserActive},
		{ID: "bob", Role: roster.RoleAdmin, Status: roster.UserDisabled},
		{ID: "carol", Role: roster.RoleAuditor, Status: roster.UserActive},
		{ID: "dave", Role: roster.RoleUser, Status: roster.UserActive},
		{ID: "Mia", Role: roster.RoleAdmin, Status: roster.UserActive},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range users {
			if err := tx.PutUser(ctx, &users[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got = get(t, s, func(ctx context.Context, tx roster.Tx) ([]string, error) { return tx.Admins(ctx) })
	equal(t, "admins", []string{"Mia", "admin", "zoe"}, got)
}

func testTokens(t *testing.T, s roster.Store) {
	utc := func(n int) *time.Time { v := at(n).UTC().Truncate(time.Microsecond); return &v }
	a := roster.Token{ID: "tok_a", User: "alice", Issuer: "alice", Name: "laptop", CreatedAt: at(1), ExpiresAt: utc(9)}
	b := roster.Token{ID: "tok_b", User: "bob", Issuer: "admin", CreatedAt: at(2)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.CreateToken(ctx, &a, "hash-a"); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &b, "hash-b")
	})
	a.CreatedAt, b.CreatedAt = *utc(1), *utc(2)
	for hash, want := range map[string]roster.Token{"hash-a": a, "hash-b": b} {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Token, error) { return tx.TokenByHash(ctx, hash) })
		equal(t, "TokenByHash("+hash+")", want, *got)
	}
	// TokenAndUser: the token with its user, nil while that user does not
	// exist; the user's status as it is now.
	type tokenAndUser struct {
		tok  *roster.Token
		user *roster.User
	}
	readTokenAndUser := func(hash string) (tokenAndUser, error) {
		var got tokenAndUser
		err := s.View(context.Background(), func(tx roster.Tx) (err error) {
			got.tok, got.user, err = tx.TokenAndUser(context.Background(), hash)
			return err
		})
		return got, err
	}
	pair, err := readTokenAndUser("hash-a")
	if err != nil || pair.tok == nil || pair.user != nil {
		t.Fatalf("TokenAndUser(hash-a) before alice exists = %+v, %v; want the token and no user", pair, err)
	}
	equal(t, "TokenAndUser(hash-a).token", a, *pair.tok)
	alice := roster.User{ID: "alice", Name: "Alice", Role: roster.RoleUser, Status: roster.UserActive, Attributes: map[string]string{"site": "Lyon"}, CreatedAt: at(1).UTC(), UpdatedAt: at(1).UTC()}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutUser(ctx, &alice) })
	wantAlice := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.User, error) { return tx.User(ctx, "alice") })
	for _, status := range []string{roster.UserActive, roster.UserDisabled} {
		if status != wantAlice.Status {
			wantAlice.Status = status
			update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutUser(ctx, wantAlice) })
		}
		pair, err = readTokenAndUser("hash-a")
		if err != nil || pair.tok == nil || pair.user == nil {
			t.Fatalf("TokenAndUser(hash-a) with alice %s = %+v, %v; want the token and alice", status, pair, err)
		}
		equal(t, "TokenAndUser(hash-a).token with alice "+status, a, *pair.tok)
		equal(t, "TokenAndUser(hash-a).user with alice "+status, *wantAlice, *pair.user)
	}
	_, err = readTokenAndUser("hash-c")
	wantCode(t, "TokenAndUser(unknown)", err, roster.ENOTFOUND)
	err = getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Token, error) { return tx.TokenByHash(ctx, "hash-c") })
	wantCode(t, "TokenByHash(unknown)", err, roster.ENOTFOUND)
	err = getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Token, error) { return tx.TokenByHash(ctx, "HASH-A") })
	wantCode(t, "TokenByHash is case-sensitive", err, roster.ENOTFOUND)
	err = getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Token, error) { return tx.Token(ctx, "tok_c") })
	wantCode(t, "Token(unknown)", err, roster.ENOTFOUND)
	err = s.Update(context.Background(), func(tx roster.Tx) error {
		return tx.CreateToken(context.Background(), &roster.Token{ID: "tok_c", User: "carol", Issuer: "carol", CreatedAt: at(3)}, "hash-a")
	})
	wantCode(t, "CreateToken with a hash taken", err, roster.ECONFLICT)

	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.TouchToken(ctx, "tok_b", at(4)); err != nil {
			return err
		}
		if err := tx.RevokeToken(ctx, "tok_b", at(5)); err != nil {
			return err
		}
		return tx.RevokeToken(ctx, "tok_b", at(6)) // already revoked: kept
	})
	b.LastUsedAt, b.RevokedAt = utc(4), utc(5)
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Token, error) { return tx.Token(ctx, "tok_b") })
	equal(t, "touched and revoked", b, *got)
	all := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Token, error) { return tx.Tokens(ctx, "") })
	equal(t, "all tokens", []roster.Token{a, b}, all)
	issued := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Token, error) { return tx.Tokens(ctx, "admin") })
	equal(t, "tokens admin issued", []roster.Token{b}, issued)
}

func testSessions(t *testing.T, s roster.Store) {
	utc := func(n int) time.Time { return at(n).UTC().Truncate(time.Microsecond) }
	one := roster.Session{ID: "ses_1", User: "alice", Method: roster.SignInSSO, CreatedAt: at(1), LastUsedAt: at(1), ExpiresAt: at(13)}
	two := roster.Session{ID: "ses_2", User: "alice", Method: roster.SignInToken, Token: "tok_b", Issuer: "admin", CreatedAt: at(2), LastUsedAt: at(2), ExpiresAt: at(14)}
	three := roster.Session{ID: "ses_3", User: "bob", Method: roster.SignInToken, Token: "tok_c", CreatedAt: at(3), LastUsedAt: at(3), ExpiresAt: at(4)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i, x := range []*roster.Session{&one, &two, &three} {
			if err := tx.CreateSession(ctx, x, fmt.Sprintf("hash-%d", i+1)); err != nil {
				return err
			}
		}
		return nil
	})
	for _, x := range []*roster.Session{&one, &two, &three} {
		x.CreatedAt, x.LastUsedAt, x.ExpiresAt = x.CreatedAt.UTC().Truncate(time.Microsecond), x.LastUsedAt.UTC().Truncate(time.Microsecond), x.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Session, error) {
		return tx.SessionByHash(ctx, "hash-2")
	})
	equal(t, "SessionByHash", two, *got)
	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Session, error) {
		return tx.SessionByHash(ctx, "hash-9")
	})
	wantCode(t, "SessionByHash(unknown)", err, roster.ENOTFOUND)
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.TouchSession(ctx, "ses_1", at(5)) })
	one.LastUsedAt = utc(5)
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Session, error) { return tx.Session(ctx, "ses_1") })
	equal(t, "touched", one, *got)
	list := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Session, error) { return tx.Sessions(ctx, "alice") })
	equal(t, "alice's sessions", []roster.Session{one, two}, list)

	// Stale: ses_2 unused since at(2), ses_3 expired at at(4).
	var n int
	update(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
		n, err = tx.DeleteStaleSessions(ctx, at(3), at(4))
		return err
	})
	equal(t, "stale sessions deleted", 2, n)
	list = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Session, error) { return tx.Sessions(ctx, "") })
	equal(t, "sessions left", []roster.Session{one}, list)

	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		return tx.CreateSession(ctx, &roster.Session{ID: "ses_4", User: "bob", Method: roster.SignInToken, Token: "tok_b", CreatedAt: at(6), LastUsedAt: at(6), ExpiresAt: at(7)}, "hash-4")
	})
	deleted := func(id, user, token string) (ended []string) {
		update(t, s, func(ctx context.Context, tx roster.Tx) (err error) {
			ended, err = tx.DeleteSessions(ctx, id, user, token)
			return err
		})
		return ended
	}
	equal(t, "sessions of a token", []string{"ses_4"}, deleted("", "", "tok_b"))
	equal(t, "sessions of a user", []string{"ses_1"}, deleted("", "alice", ""))
	equal(t, "a session already ended", []string{}, deleted("ses_1", "", ""))
}

func testApps(t *testing.T, s roster.Store) {
	want := []roster.App{
		{ID: "slack", Name: "Slack", Owners: []string{"carol", "alice"}, CreatedAt: at(1), UpdatedAt: at(2)},
		{ID: "github", Name: "GitHub", Owners: []string{"bob"}, CreatedAt: at(3), UpdatedAt: at(4)},
		{ID: "git", Name: "Git", Owners: []string{}, CreatedAt: at(5), UpdatedAt: at(6)},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range want {
			if err := tx.PutApp(ctx, &want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.App, error) { return tx.App(ctx, "slack") })
	equal(t, "app slack", want[0], *got)
	all := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.App, error) { return tx.Apps(ctx) })
	equal(t, "apps", []roster.App{want[2], want[1], want[0]}, all)

	repl := roster.App{ID: "slack", Name: "Slack Enterprise", Owners: []string{"dave"}, CreatedAt: at(7), UpdatedAt: at(8)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutApp(ctx, &repl) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.App, error) { return tx.App(ctx, "slack") })
	equal(t, "replaced app", repl, *got)

	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.App, error) { return tx.App(ctx, "jira") })
	wantCode(t, "App(jira)", err, roster.ENOTFOUND)
	if !strings.Contains(roster.ErrorMessage(err), "jira") {
		t.Errorf("not-found message %q does not name the app", roster.ErrorMessage(err))
	}
}

func fullEntitlement(app, ent string, n int) roster.Entitlement {
	return roster.Entitlement{
		ID:            roster.EntitlementID(app, ent),
		App:           app,
		Name:          "Name of " + ent,
		RequestPolicy: "req-" + ent,
		RevokePolicy:  "rev-" + ent,
		Provisioning:  roster.ProvisionManual,
		Provisioners:  []string{"ivan", "alice"},
		Risk:          roster.RiskHigh,
		Profile:       "profile-" + ent,
		CreatedAt:     at(n),
		UpdatedAt:     at(n + 1),
	}
}

func testEntitlements(t *testing.T, s roster.Store) {
	var want []roster.Entitlement
	for i, id := range []string{"github/org-member", "github/admin", "git/push", "slack/eng", "github/a_b", "github/a%b"} {
		app, ent, _ := roster.SplitEntitlementID(id)
		want = append(want, fullEntitlement(app, ent, i))
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range want {
			if err := tx.PutEntitlement(ctx, &want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for _, w := range want {
		got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Entitlement, error) { return tx.Entitlement(ctx, w.ID) })
		equal(t, "entitlement "+w.ID, w, *got)
	}
	repl := roster.Entitlement{ID: "github/admin", App: "github", Name: "Admin", RequestPolicy: "security",
		RevokePolicy: "auto", Provisioning: roster.ProvisionAuto, Risk: roster.RiskLow, CreatedAt: at(20), UpdatedAt: at(21)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutEntitlement(ctx, &repl) })
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Entitlement, error) {
		return tx.Entitlement(ctx, "github/admin")
	})
	equal(t, "replaced entitlement", repl, *got)

	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Entitlement, error) {
		return tx.Entitlement(ctx, "github/nope")
	})
	wantCode(t, "Entitlement(github/nope)", err, roster.ENOTFOUND)
	if !strings.Contains(roster.ErrorMessage(err), "github/nope") {
		t.Errorf("not-found message %q does not name the entitlement", roster.ErrorMessage(err))
	}

	for _, tc := range []struct {
		app  string
		want []string
	}{
		{"", []string{"git/push", "github/a%b", "github/a_b", "github/admin", "github/org-member", "slack/eng"}},
		{"github", []string{"github/a%b", "github/a_b", "github/admin", "github/org-member"}},
		{"git", []string{"git/push"}},
		{"slack", []string{"slack/eng"}},
		{"git%", []string{}},
	} {
		for _, limit := range []int{1, 3, 100} {
			got, _ := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Entitlement], error) {
				return tx.Entitlements(ctx, roster.EntitlementFilter{App: tc.app, Cursor: c, Limit: n})
			})
			equal(t, fmt.Sprintf("entitlements of app %q, limit %d", tc.app, limit), tc.want,
				ids(got, func(e roster.Entitlement) string { return e.ID }))
		}
	}
}

func testPolicies(t *testing.T, s roster.Store) {
	want := []roster.Policy{
		{ID: "security", Steps: []roster.Step{
			{Approvers: roster.ApproverUsers, Users: []string{"sam", "alex"}, Fallback: []string{"secadmin"}},
			{Approvers: roster.ApproverEntitlementMembers, Entitlement: "okta/security-team"},
			{Approvers: roster.ApproverManager, Fallback: []string{"carol"}},
		}, CreatedAt: at(1), UpdatedAt: at(2)},
		{ID: "auto", Steps: []roster.Step{}, CreatedAt: at(3), UpdatedAt: at(4)},
		{ID: "manager", Steps: []roster.Step{{Approvers: roster.ApproverManager}}, CreatedAt: at(5), UpdatedAt: at(6)},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range want {
			if err := tx.PutPolicy(ctx, &want[i]); err != nil {
				return err
			}
		}
		return nil
	})
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Policy, error) { return tx.Policy(ctx, "security") })
	equal(t, "policy security", want[0], *got)
	all := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Policy, error) { return tx.Policies(ctx) })
	equal(t, "policies", []roster.Policy{want[1], want[2], want[0]}, all)

	repl := roster.Policy{ID: "security", Steps: []roster.Step{{Approvers: roster.ApproverSelf}}, CreatedAt: at(7), UpdatedAt: at(8)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutPolicy(ctx, &repl) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Policy, error) { return tx.Policy(ctx, "security") })
	equal(t, "replaced policy", repl, *got)

	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Policy, error) { return tx.Policy(ctx, "nope") })
	wantCode(t, "Policy(nope)", err, roster.ENOTFOUND)
}

func testZeroTimes(t *testing.T, s roster.Store) {
	u := roster.User{ID: "zero", Status: roster.UserActive, Role: roster.RoleUser}
	task := roster.Task{Kind: roster.TaskGrant, User: "zero", Entitlement: "a/b", State: roster.StateDone}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.PutUser(ctx, &u); err != nil {
			return err
		}
		return tx.CreateTask(ctx, &task)
	})
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.User, error) { return tx.User(ctx, "zero") })
	if !got.CreatedAt.IsZero() || !got.UpdatedAt.IsZero() {
		t.Fatalf("zero times came back as %v and %v", got.CreatedAt, got.UpdatedAt)
	}
	gotTask := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Task, error) { return tx.Task(ctx, task.ID) })
	if !gotTask.CreatedAt.IsZero() || gotTask.ClosedAt != nil {
		t.Fatalf("task times came back as %v and %v", gotTask.CreatedAt, gotTask.ClosedAt)
	}

	// A time at the epoch is not the zero time.
	epoch := roster.User{ID: "epoch", CreatedAt: time.Unix(0, 0).UTC(), UpdatedAt: time.Unix(1, 0).UTC()}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.PutUser(ctx, &epoch) })
	got = get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.User, error) { return tx.User(ctx, "epoch") })
	equal(t, "user at the epoch", epoch, *got)
}

func testDelegations(t *testing.T, s roster.Store) {
	utc := func(n int) time.Time { return at(n).UTC().Truncate(time.Microsecond) }
	a := roster.Delegation{User: "carol", Delegate: "sam", Until: at(10), SetBy: "carol", SetAt: at(1)}
	b := roster.Delegation{User: "ivan", Delegate: "tess", Until: at(5), SetBy: "admin", SetAt: at(2)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.PutDelegation(ctx, &a); err != nil {
			return err
		}
		return tx.PutDelegation(ctx, &b)
	})
	a.Until, a.SetAt, b.Until, b.SetAt = utc(10), utc(1), utc(5), utc(2)
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Delegation, error) {
		return tx.Delegation(ctx, "carol")
	})
	equal(t, "Delegation(carol)", a, *got)
	err := getErr(s, func(ctx context.Context, tx roster.Tx) (*roster.Delegation, error) { return tx.Delegation(ctx, "sam") })
	wantCode(t, "Delegation(nobody's)", err, roster.ENOTFOUND)
	inForce := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Delegation, error) {
		return tx.DelegationsInForce(ctx, at(3))
	})
	equal(t, "in force at 3", []roster.Delegation{a, b}, inForce)
	// Until is when it ends: not in force at that instant.
	inForce = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Delegation, error) {
		return tx.DelegationsInForce(ctx, at(5))
	})
	equal(t, "in force at 5", []roster.Delegation{a}, inForce)
	ended := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Delegation, error) {
		return tx.DelegationsEnded(ctx, at(4))
	})
	equal(t, "ended at 4", []roster.Delegation(nil), ended)
	ended = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Delegation, error) {
		return tx.DelegationsEnded(ctx, at(5))
	})
	equal(t, "ended at 5", []roster.Delegation{b}, ended)
	ended = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Delegation, error) {
		return tx.DelegationsEnded(ctx, at(11))
	})
	equal(t, "ended at 11", []roster.Delegation{a, b}, ended)

	// Set again: replaced. Deleted: gone, and deleting again is no error.
	a2 := roster.Delegation{User: "carol", Delegate: "dave", Until: at(20), SetBy: "admin", SetAt: at(4)}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.PutDelegation(ctx, &a2); err != nil {
			return err
		}
		if err := tx.DeleteDelegation(ctx, "ivan"); err != nil {
			return err
		}
		return tx.DeleteDelegation(ctx, "ivan")
	})
	a2.Until, a2.SetAt = utc(20), utc(4)
	inForce = get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Delegation, error) {
		return tx.DelegationsInForce(ctx, at(3))
	})
	equal(t, "in force after replacing and deleting", []roster.Delegation{a2}, inForce)
}
