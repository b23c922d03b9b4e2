package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// appendEvents appends events in one transaction and sets their ids.
func appendEvents(t *testing.T, s roster.Store, evs []roster.Event) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range evs {
			if err := tx.AppendEvent(ctx, &evs[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// allEvents returns every event, following pages.
func allEvents(t *testing.T, s roster.Store, f roster.EventFilter, limit int) []roster.Event {
	t.Helper()
	evs, _ := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Event], error) {
		f := f
		f.Cursor, f.Limit = c, n
		return tx.Events(ctx, f)
	})
	return evs
}

func testEventRoundTrip(t *testing.T, s roster.Store) {
	evs := []roster.Event{
		{At: at(1), Actor: "admin", Action: "task.approve", ObjectType: "task", ObjectID: "12", Reason: "looks fine",
			Data: json.RawMessage(`{"step": 1, "approvers": ["sam", "alex"], "note": "ünï \"q\""}`)},
		{At: at(2), Actor: "system", Action: "profile.pause", ObjectType: "profile", ObjectID: "eng"},
		{At: at(2), Actor: "svc", Action: "task.approve", ObjectType: "task", ObjectID: "13", Token: "tok_1", Issuer: "admin"},
		{At: at(3), Actor: "alice", Action: "notify.slack", ObjectType: "profile", ObjectID: "eng", Data: json.RawMessage(`[1,2,3]`)},
	}
	appendEvents(t, s, evs)
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID || evs[0].ID <= 0 {
			t.Fatalf("event ids %d, %d: want positive and increasing", evs[i-1].ID, evs[i].ID)
		}
	}
	got := allEvents(t, s, roster.EventFilter{}, 100)
	equal(t, "events", evs, got)
	if len(got[1].Data) != 0 {
		t.Fatalf("event without data came back with %q", got[1].Data)
	}

	bad := roster.Event{At: at(4), Action: "x", Data: json.RawMessage(`{not json`)}
	err := s.Update(context.Background(), func(tx roster.Tx) error { return tx.AppendEvent(context.Background(), &bad) })
	if err == nil {
		t.Fatalf("AppendEvent with invalid JSON data succeeded")
	}
	if n := len(allEvents(t, s, roster.EventFilter{}, 100)); n != len(evs) {
		t.Fatalf("%d events after a failed append, want %d", n, len(evs))
	}
}

// testEventBatch appends a batch whose size is no power of two between two
// single events: every event comes back, in order, with the id it was given.
func testEventBatch(t *testing.T, s roster.Store) {
	first := roster.Event{At: at(1), Actor: "admin", Action: "first", ObjectType: "task", ObjectID: "0"}
	appendEvents(t, s, []roster.Event{first})
	batch := make([]roster.Event, 701)
	ptrs := make([]*roster.Event, len(batch))
	for i := range batch {
		batch[i] = roster.Event{At: at(2 + i%5), Actor: fmt.Sprintf("u%d", i%7), Action: "grant.added", ObjectType: "grant",
			ObjectID: fmt.Sprintf("u%d e%d", i, i), Reason: fmt.Sprintf("row %d", i)}
		if i%3 == 0 {
			batch[i].Data = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
		}
		ptrs[i] = &batch[i]
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.AppendEvents(ctx, ptrs) })
	last := roster.Event{At: at(9), Actor: "admin", Action: "last", ObjectType: "task", ObjectID: "1"}
	appendEvents(t, s, []roster.Event{last})
	got := allEvents(t, s, roster.EventFilter{}, 500)
	if len(got) != len(batch)+2 {
		t.Fatalf("%d events listed, want %d", len(got), len(batch)+2)
	}
	if got[0].Action != "first" || got[len(got)-1].Action != "last" {
		t.Fatalf("batch not between the single events: first %q, last %q", got[0].Action, got[len(got)-1].Action)
	}
	for i := range batch {
		if batch[i].ID != got[i+1].ID {
			t.Fatalf("event %d was given id %d but is listed with id %d", i, batch[i].ID, got[i+1].ID)
		}
	}
	equal(t, "batch", batch, got[1:len(got)-1])

	// A sync's events share some fields and differ in others, interleaved:
	// each comes back as written.
	shared := make([]roster.Event, 300)
	for i := range shared {
		ptrs[i] = &shared[i]
		shared[i] = roster.Event{At: at(3), Actor: fmt.Sprintf("u%d", i%2), Action: "task.created", ObjectType: []string{"task", "grant"}[i%2],
			ObjectID: fmt.Sprint(1000 + i), Reason: "access of profile p", Data: json.RawMessage(`{"state":"done"}`)}
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.AppendEvents(ctx, ptrs[:len(shared)]) })
	equal(t, "events sharing fields", shared, allEvents(t, s, roster.EventFilter{Action: "task.created"}, 500))

	bad := []*roster.Event{{At: at(10), Action: "ok"}, {At: at(10), Action: "bad", Data: json.RawMessage(`{`)}}
	err := s.Update(context.Background(), func(tx roster.Tx) error { return tx.AppendEvents(context.Background(), bad) })
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Fatalf("a batch with invalid JSON data: err %v, want EINVALID", err)
	}
	if n := len(allEvents(t, s, roster.EventFilter{}, 500)); n != len(batch)+2+len(shared) {
		t.Fatalf("the refused batch left %d events, want %d", n, len(batch)+2+len(shared))
	}
}

func testEventFilters(t *testing.T, s roster.Store) {
	base := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	mk := func(min int, actor string, action roster.AuditAction, typ, id string) roster.Event {
		return roster.Event{At: base.Add(time.Duration(min) * time.Minute), Actor: actor, Action: action, ObjectType: typ, ObjectID: id}
	}
	evs := []roster.Event{
		mk(0, "admin", "user.create", "user", "alice"),     // 0
		mk(1, "admin", "user.create", "user", "bob"),       // 1
		mk(2, "alice", "task.approve", "task", "1"),        // 2
		mk(3, "system", "profile.sync", "profile", "eng"),  // 3
		mk(4, "admin", "task.approve", "task", "2"),        // 4
		mk(5, "system", "profile.sync", "profile", "eng"),  // 5
		mk(6, "bob", "task.deny", "task", "1"),             // 6
		mk(7, "system", "profile.pause", "profile", "eng"), // 7
		mk(2, "admin", "user.update", "user", "alice"),     // 8: appended late with an earlier time
		mk(9, "admin", "user.update", "profile", "alice"),  // 9
	}
	appendEvents(t, s, evs)
	idx := func(is ...int) []int64 {
		out := []int64{}
		for _, i := range is {
			out = append(out, evs[i].ID)
		}
		return out
	}
	for _, tc := range []struct {
		f    roster.EventFilter
		want []int64
	}{
		{roster.EventFilter{}, idx(0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{roster.EventFilter{Action: "task.approve"}, idx(2, 4)},
		{roster.EventFilter{Actor: "system"}, idx(3, 5, 7)},
		{roster.EventFilter{ObjectType: "user"}, idx(0, 1, 8)},
		{roster.EventFilter{ObjectID: "alice"}, idx(0, 8, 9)},
		{roster.EventFilter{ObjectType: "user", ObjectID: "alice"}, idx(0, 8)},
		{roster.EventFilter{ObjectType: "task", ObjectID: "1", Actor: "bob"}, idx(6)},
		{roster.EventFilter{Since: base.Add(5 * time.Minute)}, idx(5, 6, 7, 9)},
		{roster.EventFilter{Since: base.Add(2 * time.Minute).In(zone)}, idx(2, 3, 4, 5, 6, 7, 8, 9)},
		{roster.EventFilter{Since: base.Add(2*time.Minute + time.Microsecond)}, idx(3, 4, 5, 6, 7, 9)},
		{roster.EventFilter{Since: base.Add(3 * time.Minute), Actor: "admin"}, idx(4, 9)},
		{roster.EventFilter{Since: base.Add(time.Hour)}, idx()},
		{roster.EventFilter{Action: "nothing"}, idx()},
	} {
		for _, limit := range []int{1, 3, 100} {
			got := allEvents(t, s, tc.f, limit)
			equal(t, fmt.Sprintf("events %+v, limit %d", tc.f, limit), tc.want, ids(got, func(e roster.Event) int64 { return e.ID }))
		}
	}
}

func testEventPagination(t *testing.T, s roster.Store) {
	evs := make([]roster.Event, 31)
	for i := range evs {
		evs[i] = roster.Event{At: at(-i), Action: "a", ObjectType: "user", ObjectID: fmt.Sprint(i)}
	}
	appendEvents(t, s, evs)
	want := ids(evs, func(e roster.Event) int64 { return e.ID })
	for _, limit := range []int{1, 10, 31, 32} {
		got, pages := collect(t, s, limit, func(ctx context.Context, tx roster.Tx, c string, n int) (*roster.Page[roster.Event], error) {
			return tx.Events(ctx, roster.EventFilter{Cursor: c, Limit: n})
		})
		equal(t, fmt.Sprintf("events with limit %d", limit), want, ids(got, func(e roster.Event) int64 { return e.ID }))
		if wantPages := (31 + limit - 1) / limit; pages != wantPages {
			t.Errorf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
}

func testPageSizeLimits(t *testing.T, s roster.Store) {
	n := roster.MaxPageSize + 1
	evs := make([]roster.Event, n)
	for i := range evs {
		evs[i] = roster.Event{At: at(0), Action: "bulk"}
	}
	appendEvents(t, s, evs)
	for _, tc := range []struct {
		limit, want int
	}{
		{0, roster.DefaultPageSize},
		{-1, roster.DefaultPageSize},
		{roster.MaxPageSize * 5, roster.MaxPageSize},
		{roster.MaxPageSize, roster.MaxPageSize},
	} {
		p := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.Event], error) {
			return tx.Events(ctx, roster.EventFilter{Limit: tc.limit})
		})
		if len(p.Items) != tc.want || p.NextCursor == "" {
			t.Fatalf("limit %d: %d items, cursor %q; want %d items and a cursor", tc.limit, len(p.Items), p.NextCursor, tc.want)
		}
		rest := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.Event], error) {
			return tx.Events(ctx, roster.EventFilter{Limit: tc.limit, Cursor: p.NextCursor})
		})
		if wantRest := min(tc.want, n-tc.want); len(rest.Items) != wantRest {
			t.Fatalf("limit %d, second page: %d items, want %d", tc.limit, len(rest.Items), wantRest)
		}
	}

	// Users follow the same limits.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range roster.DefaultPageSize + 5 {
			u := roster.User{ID: fmt.Sprintf("u%04d", i)}
			if err := tx.PutUser(ctx, &u); err != nil {
				return err
			}
		}
		return nil
	})
	p := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Page[roster.User], error) {
		return tx.Users(ctx, roster.UserFilter{})
	})
	if len(p.Items) != roster.DefaultPageSize || p.NextCursor == "" {
		t.Fatalf("users with no limit: %d items, cursor %q; want %d and a cursor", len(p.Items), p.NextCursor, roster.DefaultPageSize)
	}
}

func testInvalidCursor(t *testing.T, s roster.Store) {
	// Some data, so that a store that ignored the cursor would return items.
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		u := roster.User{ID: "alice"}
		e := roster.Entitlement{ID: "a/b", App: "a"}
		g := roster.Grant{User: "alice", Entitlement: "a/b", Sources: []string{"direct"}}
		tk := roster.Task{Kind: roster.TaskGrant, User: "alice", Entitlement: "a/b", State: roster.StateDone}
		ev := roster.Event{Action: "x"}
		return errors.Join(tx.PutUser(ctx, &u), tx.PutEntitlement(ctx, &e), tx.PutGrant(ctx, &g),
			tx.CreateTask(ctx, &tk), tx.AppendEvent(ctx, &ev))
	})
	// Cursors no store makes: not even base64.
	for _, c := range []string{"garbage!", "%%%", "not a cursor", "\x00"} {
		for name, fn := range map[string]func(ctx context.Context, tx roster.Tx) error{
			"Users": func(ctx context.Context, tx roster.Tx) error {
				_, err := tx.Users(ctx, roster.UserFilter{Cursor: c})
				return err
			},
			"Entitlements": func(ctx context.Context, tx roster.Tx) error {
				_, err := tx.Entitlements(ctx, roster.EntitlementFilter{Cursor: c})
				return err
			},
			"Grants": func(ctx context.Context, tx roster.Tx) error {
				_, err := tx.Grants(ctx, roster.GrantFilter{Cursor: c})
				return err
			},
			"Tasks": func(ctx context.Context, tx roster.Tx) error {
				_, err := tx.Tasks(ctx, roster.TaskFilter{Cursor: c})
				return err
			},
			"Events": func(ctx context.Context, tx roster.Tx) error {
				_, err := tx.Events(ctx, roster.EventFilter{Cursor: c})
				return err
			},
		} {
			err := s.View(context.Background(), func(tx roster.Tx) error { return fn(context.Background(), tx) })
			wantCode(t, fmt.Sprintf("%s with cursor %q", name, c), err, roster.EINVALID)
		}
	}
}

func testNotifications(t *testing.T, s roster.Store) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	ns := []roster.Notification{
		{At: at(1), Channel: "slack", Target: "http://hook/1", Payload: `{"text":"a"}`, NextAt: now.Add(-time.Minute)},                // 0 due
		{At: at(2), Channel: "slack", Target: "http://hook/2", Payload: "b", NextAt: now.Add(time.Minute)},                            // 1 future
		{At: at(3), Channel: "slack", Target: "http://hook/3", Payload: "c", NextAt: now.Add(-time.Hour), DeliveredAt: ptr(at(4))},    // 2 delivered
		{At: at(5), Channel: "slack", Target: "http://hook/4", Payload: "d", NextAt: now, Attempts: 2, LastError: "HTTP 500: oops"},   // 3 due (exactly now)
		{At: at(6), Channel: "slack", Target: "http://hook/5", Payload: "e", NextAt: now.Add(-2 * time.Hour)},                         // 4 due, earliest NextAt
		{At: at(7), Channel: "slack", Target: "http://hook/6", Payload: "f", NextAt: now.Add(time.Microsecond)},                       // 5 future
		{At: at(8), Channel: "email", Target: "alice@example.com", Payload: "g", NextAt: now.Add(-time.Second).In(zone), Attempts: 1}, // 6 due
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range ns {
			if err := tx.EnqueueNotification(ctx, &ns[i]); err != nil {
				return err
			}
		}
		return nil
	})
	for i := 1; i < len(ns); i++ {
		if ns[i].ID <= ns[i-1].ID || ns[0].ID <= 0 {
			t.Fatalf("notification ids %d, %d: want positive and increasing", ns[i-1].ID, ns[i].ID)
		}
	}
	due := func(now time.Time, limit int) []roster.Notification {
		return get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Notification, error) {
			return tx.DueNotifications(ctx, now, limit)
		})
	}
	equal(t, "due notifications", []roster.Notification{ns[0], ns[3], ns[4], ns[6]}, due(now, 10))
	equal(t, "due notifications, limit 2", []roster.Notification{ns[0], ns[3]}, due(now, 2))
	equal(t, "due notifications a day before", []roster.Notification{}, due(now.Add(-24*time.Hour), 10))
	equal(t, "due notifications later", []roster.Notification{ns[0], ns[1], ns[3], ns[4], ns[5], ns[6]}, due(now.Add(time.Hour), 10))

	// Delivering one takes it off the due list; a failed attempt moves NextAt.
	ns[0].DeliveredAt = ptr(at(9))
	ns[0].Attempts = 1
	ns[3].Attempts = 3
	ns[3].LastError = "HTTP 502"
	ns[3].NextAt = now.Add(time.Hour)
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		return errors.Join(tx.UpdateNotification(ctx, &ns[0]), tx.UpdateNotification(ctx, &ns[3]))
	})
	equal(t, "due notifications after updates", []roster.Notification{ns[4], ns[6]}, due(now, 10))
	equal(t, "due notifications later, after updates", []roster.Notification{ns[1], ns[3], ns[4], ns[5], ns[6]}, due(now.Add(2*time.Hour), 10))

	missing := roster.Notification{ID: 9999, Channel: "slack", NextAt: now}
	err := s.Update(context.Background(), func(tx roster.Tx) error { return tx.UpdateNotification(context.Background(), &missing) })
	wantCode(t, "UpdateNotification(9999)", err, roster.ENOTFOUND)

	// A key is enqueued once: the second enqueue of it, in the same or a
	// later transaction, stores nothing and leaves its ID 0; keyless
	// notifications are never merged.
	keyed := roster.Notification{At: at(10), Channel: "email", Target: "carol@example.com", Payload: "h", Key: "task 7 step 0 approver carol", NextAt: now.Add(-time.Second)}
	again := keyed
	again.Payload = "i"
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.EnqueueNotification(ctx, &keyed); err != nil {
			return err
		}
		return tx.EnqueueNotification(ctx, &again)
	})
	later := keyed
	later.ID = 0
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.EnqueueNotification(ctx, &later) })
	if keyed.ID <= ns[6].ID || again.ID != 0 || later.ID != 0 {
		t.Fatalf("keyed notification ids %d, %d, %d: want a new id, then 0 twice", keyed.ID, again.ID, later.ID)
	}
	equal(t, "due notifications with a keyed one", []roster.Notification{ns[4], ns[6], keyed}, due(now, 10))

	// The latest attempted notification to a target: the highest id with
	// an attempt, on that channel only.
	hooks := []roster.Notification{
		{At: at(11), Channel: roster.ChannelWebhook, Target: "siem", Payload: "1", Key: "webhook siem event 1", Attempts: 2, LastError: "answered 500", NextAt: now},
		{At: at(12), Channel: roster.ChannelWebhook, Target: "siem", Payload: "2", Key: "webhook siem event 2", Attempts: 1, DeliveredAt: ptr(at(13)), NextAt: now},
		{At: at(14), Channel: roster.ChannelWebhook, Target: "siem", Payload: "3", Key: "webhook siem event 3", NextAt: now},
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		for i := range hooks {
			if err := tx.EnqueueNotification(ctx, &hooks[i]); err != nil {
				return err
			}
		}
		return nil
	})
	latest := func(channel, target string) (*roster.Notification, error) {
		var n *roster.Notification
		err := s.View(context.Background(), func(tx roster.Tx) (err error) {
			n, err = tx.LatestNotification(context.Background(), channel, target)
			return err
		})
		return n, err
	}
	for _, tt := range []struct {
		channel, target string
		want            *roster.Notification
	}{
		{roster.ChannelWebhook, "siem", &hooks[1]},
		{"slack", "http://hook/4", &ns[3]},
		{"email", "alice@example.com", &ns[6]},
		{"slack", "http://hook/2", nil}, // never attempted
		{"slack", "siem", nil},          // another channel
	} {
		got, err := latest(tt.channel, tt.target)
		if tt.want == nil {
			wantCode(t, "LatestNotification("+tt.channel+", "+tt.target+")", err, roster.ENOTFOUND)
			continue
		}
		if err != nil {
			t.Fatalf("LatestNotification(%s, %s): %v", tt.channel, tt.target, err)
		}
		equal(t, "latest notification to "+tt.target, *tt.want, *got)
	}
}

// testNotificationBatches enqueues notifications many at a time, a key twice
// and one already stored among them, and marks several delivered at once.
func testNotificationBatches(t *testing.T, s roster.Store) {
	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	mk := func(i int, key string) *roster.Notification {
		return &roster.Notification{At: at(1), Channel: roster.ChannelEmail, Target: fmt.Sprintf("u%d@example.com", i),
			Payload: fmt.Sprintf(`{"n":%d}`, i), Key: key, NextAt: now.Add(time.Duration(i) * time.Microsecond)}
	}
	first := mk(0, "k0")
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.EnqueueNotification(ctx, first) })
	// 600 rows (more than one statement's worth): k0 again, k1 twice,
	// and keyless ones, never merged.
	var batch []*roster.Notification
	for i := 1; i <= 600; i++ {
		key := fmt.Sprintf("k%d", i)
		if i%100 == 0 {
			key = ""
		}
		batch = append(batch, mk(i, key))
	}
	batch = append(batch, mk(9999, "k0"), mk(9998, "k1"))
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.EnqueueNotifications(ctx, batch) })
	due := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Notification, error) {
		return tx.DueNotifications(ctx, now.Add(time.Hour), roster.MaxPageSize)
	})
	if len(due) != 601 {
		t.Fatalf("%d notifications due, want 601 (the first and 600 new)", len(due))
	}
	seen := map[string]bool{}
	for i, n := range due {
		if i > 0 && n.ID <= due[i-1].ID {
			t.Fatalf("due notifications not ordered by id: %d after %d", n.ID, due[i-1].ID)
		}
		if n.Key != "" && seen[n.Key] {
			t.Fatalf("key %q stored twice", n.Key)
		}
		seen[n.Key] = true
		if n.Key == "k0" && n.Payload != `{"n":0}` || n.Key == "k1" && n.Payload != `{"n":1}` {
			t.Fatalf("a second enqueue of key %q replaced the first: %+v", n.Key, n)
		}
	}
	equal(t, "a stored row", roster.Notification{ID: due[5].ID, At: at(1).UTC().Truncate(time.Microsecond), Channel: roster.ChannelEmail,
		Target: "u5@example.com", Payload: `{"n":5}`, Key: "k5", NextAt: now.Add(5 * time.Microsecond)}, due[5])

	// Delivered at once: an attempt more each, off the due list.
	var ids []int64
	for _, n := range due[:550] {
		ids = append(ids, n.ID)
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error { return tx.MarkNotificationsDelivered(ctx, ids, at(2)) })
	left := get(t, s, func(ctx context.Context, tx roster.Tx) ([]roster.Notification, error) {
		return tx.DueNotifications(ctx, now.Add(time.Hour), roster.MaxPageSize)
	})
	equal(t, "due after marking 550 delivered", due[550:], left)
	got := get(t, s, func(ctx context.Context, tx roster.Tx) (*roster.Notification, error) {
		return tx.LatestNotification(ctx, roster.ChannelEmail, "u5@example.com")
	})
	want := due[5]
	want.Attempts, want.DeliveredAt = 1, ptr(at(2).UTC().Truncate(time.Microsecond))
	equal(t, "a delivered row", want, *got)
}

// testEventChain appends events in several transactions, one of them rolled
// back, and recomputes the audit chain from what the store gives back: every
// hash matches, ids follow one another, and the head is the last event.
// Data in a form a JSONB column rewrites (key order, spaces, escapes,
// numbers) hashes alike once read back.
func testEventChain(t *testing.T, s roster.Store) {
	ctx := context.Background()
	id, hash := chainHead(t, s)
	if id != 0 || hash != roster.GenesisHash {
		t.Fatalf("empty store's chain head is %d %s, want 0 and the genesis hash", id, hash)
	}
	local := time.FixedZone("CEST", 2*3600)
	appendEvents(t, s, []roster.Event{
		{At: time.Date(2024, 6, 1, 14, 0, 0, 123456789, local), Actor: "admin", Action: "settings.updated", ObjectType: "settings", ObjectID: "tenant",
			Data: json.RawMessage(`{ "z": 1.0, "a": [1e2, -0.5, 12345678901234567890], "\u00e9t\u00e9": "<b>&\u2028</b>", "n": null }`)},
		{At: at(2), Actor: "system", Action: "profile.synced", ObjectType: "profile", ObjectID: "eng", Reason: "hourly"},
	})
	err := s.Update(ctx, func(tx roster.Tx) error {
		if err := tx.AppendEvent(ctx, &roster.Event{At: at(3), Action: "rolled.back"}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the rolled-back update succeeded")
	}
	batch := make([]*roster.Event, 3)
	for i := range batch {
		batch[i] = &roster.Event{At: at(4), Actor: "alice", Action: "grant.added", ObjectType: "grant", ObjectID: fmt.Sprint(i),
			Data: json.RawMessage(`{"b":2,"a":1}`)}
	}
	update(t, s, func(ctx context.Context, tx roster.Tx) error {
		if err := tx.AppendEvents(ctx, batch[:1]); err != nil {
			return err
		}
		return tx.AppendEvents(ctx, batch[1:])
	})

	got := allEvents(t, s, roster.EventFilter{}, 2)
	if len(got) != 5 {
		t.Fatalf("%d events, want 5", len(got))
	}
	prev := roster.GenesisHash
	for i, ev := range got {
		if ev.ID != int64(i+1) {
			t.Fatalf("event %d has id %d: want ids 1, 2, ... in chain order", i, ev.ID)
		}
		want, err := roster.ChainHash(prev, &ev)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Hash != want {
			t.Fatalf("event %d (%s) read back has hash %s, recomputed %s", ev.ID, ev.Action, ev.Hash, want)
		}
		prev = ev.Hash
	}
	if batch[2].ID != 5 || batch[2].Hash != got[4].Hash {
		t.Fatalf("AppendEvents set id %d hash %s, listed as %d %s", batch[2].ID, batch[2].Hash, got[4].ID, got[4].Hash)
	}
	id, hash = chainHead(t, s)
	if id != 5 || hash != got[4].Hash {
		t.Fatalf("chain head %d %s, want the last event %d %s", id, hash, got[4].ID, got[4].Hash)
	}
}

// chainHead returns the audit chain's head.
func chainHead(t *testing.T, s roster.Store) (id int64, hash string) {
	t.Helper()
	err := s.View(context.Background(), func(tx roster.Tx) (err error) {
		id, hash, err = tx.EventChainHead(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id, hash
}
