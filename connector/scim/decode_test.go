package scim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rosterhq/roster/connector"
)

// Providers differ from the RFC in small ways the decoding accepts.
func TestDecodeUserVariants(t *testing.T) {
	for _, tc := range []struct {
		name, json    string
		disabled      bool
		email, manage string
	}{
		{name: "active as a string", json: `{"id":"1","active":"False"}`, disabled: true},
		{name: "active absent", json: `{"id":"1"}`, disabled: false},
		{name: "active null", json: `{"id":"1","active":null}`, disabled: false},
		{name: "primary as a string", json: `{"id":"1","emails":[{"value":"a@x"},{"value":"b@x","primary":"true"}]}`, email: "b@x"},
		{name: "no primary", json: `{"id":"1","emails":[{"value":"a@x","primary":false},{"value":"b@x"}]}`, email: "a@x"},
		{name: "manager as a string", json: `{"id":"1","` + enterpriseUserSchema + `":{"manager":"7"}}`, manage: "7"},
		{name: "manager as an object", json: `{"id":"1","` + enterpriseUserSchema + `":{"manager":{"value":"7","displayName":"M"}}}`, manage: "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var u user
			if err := json.Unmarshal([]byte(tc.json), &u); err != nil {
				t.Fatal(err)
			}
			if got := u.Active.set && !u.Active.val; got != tc.disabled {
				t.Errorf("disabled %v, want %v", got, tc.disabled)
			}
			if got := u.email(); got != tc.email {
				t.Errorf("email %q, want %q", got, tc.email)
			}
			var m string
			if u.Enterprise != nil {
				m = u.Enterprise.Manager.Value
			}
			if m != tc.manage {
				t.Errorf("manager %q, want %q", m, tc.manage)
			}
		})
	}
	var u user
	if err := json.Unmarshal([]byte(`{"id":"1","active":"maybe"}`), &u); err == nil {
		t.Error(`active "maybe" was accepted`)
	}
}

// A provider that ignores startIndex would make paging loop forever or
// report every user many times; Sync fails instead.
func TestProviderIgnoringStartIndex(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/scim+json")
		w.Write([]byte(`{"totalResults":3,"Resources":[{"id":"1","userName":"a"}]}`))
	}))
	defer srv.Close()
	t.Setenv("ROSTER_SECRET_SCIM_DECODE_TEST_TOKEN", "t")
	c, err := Open(connector.Config{Settings: connector.Settings{"url": srv.URL, "token_env": "ROSTER_SECRET_SCIM_DECODE_TEST_TOKEN", "insecure": true}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Sync(context.Background())
	if err == nil || !strings.Contains(err.Error(), "startIndex") {
		t.Errorf("Sync: %v, want an error about startIndex", err)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		`bob`:        `"bob"`,
		`o"neil`:     `"o\"neil"`,
		`a\b`:        `"a\\b"`,
		`<x&y>`:      `"<x&y>"`,
		"tab\there":  `"tab\there"`,
		`émile@x.fr`: `"émile@x.fr"`,
	} {
		if got := quote(in); got != want {
			t.Errorf("quote(%q) = %s, want %s", in, got, want)
		}
	}
}
