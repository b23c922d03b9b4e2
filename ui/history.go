package ui

// History: a profile's and a user's configuration changes, read from the
// audit log newest first, each update shown as the fields it changed with
// their values before and after.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// historyPageSize is how many events a history page shows.
const historyPageSize = 50

// profileHistoryActions are the events of a profile's History tab: its
// configuration and the safeguard's decisions, not every sync or member.
var profileHistoryActions = []roster.AuditAction{
	roster.ActionProfileCreated, roster.ActionProfileUpdated, roster.ActionExclusionDenied,
	roster.ActionSafeguardPaused, roster.ActionSafeguardResumed, roster.ActionSafeguardPlanDropped,
}

// userHistoryActions are the events of a user's History page.
var userHistoryActions = []roster.AuditAction{
	roster.ActionUserCreated, roster.ActionUserUpdated, roster.ActionUserActive, roster.ActionUserDisabled,
}

// historyEntry is one event as a history shows it.
type historyEntry struct {
	Event   roster.Event
	Title   string
	Changes []fieldChange
}

// fieldChange is one field an update changed.
type fieldChange struct {
	Field, Before, After string
}

// historyData is a History page: the entries of one page, and the link to
// the next (older) one.
type historyData struct {
	Entries []historyEntry
	NextURL string
}

// history reads one page of the events f selects, newest first, as entries.
func (u *UI) history(r *http.Request, v *visit, f roster.EventFilter) (*historyData, error) {
	f.Newest, f.Limit, f.Cursor = true, historyPageSize, r.URL.Query().Get("cursor")
	page, err := u.service.Events(v.ctx, f)
	if err != nil {
		return nil, err
	}
	d := &historyData{}
	for _, ev := range page.Items {
		d.Entries = append(d.Entries, historyEntry{Event: ev, Title: eventTitle(ev.Action), Changes: fieldChanges(ev.Data)})
	}
	if page.NextCursor != "" {
		d.NextURL = r.URL.Path + "?" + url.Values{"cursor": {page.NextCursor}}.Encode()
	}
	return d, nil
}

// showProfileHistory shows a profile's History tab (admins and auditors).
func (u *UI) showProfileHistory(w http.ResponseWriter, r *http.Request, v *visit) {
	tab, ok := u.loadProfileTab(w, r, v, "history")
	if !ok {
		return
	}
	d, err := u.history(r, v, roster.EventFilter{ObjectType: "profile", ObjectID: tab.P.ID, Actions: profileHistoryActions})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "profile_history", tab.P.Name+" · History", "profiles",
		struct {
			*profileTab
			History *historyData
		}{tab, d}, nil)
}

// showUserHistory shows a user's History page (admins and auditors).
func (u *UI) showUserHistory(w http.ResponseWriter, r *http.Request, v *visit) {
	user, err := u.service.User(v.ctx, r.PathValue("id"))
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d, err := u.history(r, v, roster.EventFilter{ObjectType: "user", ObjectID: user.ID, Actions: userHistoryActions})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "user_history", cmp.Or(user.Name, user.ID)+" · History", "users",
		struct {
			U       *roster.User
			History *historyData
		}{user, d}, nil)
}

// eventTitle says what an event records, in words: "Profile updated".
func eventTitle(a roster.AuditAction) string {
	obj, verb := a.Object(), a.Verb()
	s := human(obj) + " " + human(verb)
	return strings.ToUpper(s[:1]) + s[1:]
}

// fieldChanges reads an event's data.before and data.after into the
// fields that changed, nested fields flattened ("automation › any
// entitlement"), in order of their names; none when the event has no
// before and after.
func fieldChanges(data json.RawMessage) []fieldChange {
	var d struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	}
	if len(data) == 0 || json.Unmarshal(data, &d) != nil || (d.Before == nil && d.After == nil) {
		return nil
	}
	before, after := map[string]any{}, map[string]any{}
	flatten("", d.Before, before)
	flatten("", d.After, after)
	var keys []string
	for _, m := range []map[string]any{before, after} {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	var out []fieldChange
	for _, k := range keys {
		b, a := formatValue(before[k]), formatValue(after[k])
		if b == a {
			continue
		}
		out = append(out, fieldChange{Field: fieldLabel(k), Before: b, After: a})
	}
	return out
}

// flatten puts the leaves of v into out, keyed by their dotted paths.
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		if prefix != "" {
			out[prefix] = v
		}
		return
	}
	for k, x := range m {
		if k == "expression_reads" {
			continue // derived from the expression, whose change shows
		}
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		flatten(p, x, out)
	}
}

// fieldLabel turns a dotted field path into words: "automation ›
// any entitlement".
func fieldLabel(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		parts[i] = human(p)
	}
	return strings.Join(parts, " › ")
}

// formatValue shows one value of a field: lists joined, nothing as "—".
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		if v == "" {
			return "—"
		}
		return v
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case []any:
		if len(v) == 0 {
			return "—"
		}
		xs := make([]string, len(v))
		for i, x := range v {
			xs[i] = formatValue(x)
		}
		return strings.Join(xs, ", ")
	case map[string]any:
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}
