package declarative_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/declarative"
)

// The webhooks example of SPEC §5 parses, with its defaults.
func TestParseWebhooks(t *testing.T) {
	const spec = `
webhooks:
  - {id: siem, url: https://hooks.example.com/roster, secret_env: ROSTER_SECRET_HOOK, events: ["task.*", "profile.*", "safeguard.*"]}
  - {id: tickets, url: http://10.0.0.5/hook, secret_env: ROSTER_SECRET_TICKETS, events: [task.approved], insecure: true, enabled: false}
`
	doc, err := declarative.Parse("roster.yaml", []byte(spec), newKnown())
	if err != nil {
		t.Fatalf("Parse: %v %v", err, roster.ErrorDetails(err))
	}
	want := []roster.Webhook{
		{ID: "siem", URL: "https://hooks.example.com/roster", SecretEnv: "ROSTER_SECRET_HOOK", Events: []string{"task.*", "profile.*", "safeguard.*"}, Enabled: true},
		{ID: "tickets", URL: "http://10.0.0.5/hook", SecretEnv: "ROSTER_SECRET_TICKETS", Events: []string{"task.approved"}, Insecure: true},
	}
	if !reflect.DeepEqual(doc.Webhooks, want) {
		t.Fatalf("webhooks %+v, want %+v", doc.Webhooks, want)
	}
}

func TestParseWebhookErrors(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{"webhooks:\n  - {id: a, url: https://x.example, secret_env: ROSTER_SECRET_A, events: [task.*, nope.*]}\n", `roster.yaml:2: webhooks[0].events[1]: "nope.*" matches no audit action`},
		{"webhooks:\n  - {id: a, url: https://x.example, secret_env: ROSTER_SECRET_A, events: [task.*]}\n  - {id: a, url: https://y.example, secret_env: ROSTER_SECRET_A, events: [task.*]}\n", `roster.yaml:3: webhooks[1].id: duplicate webhook id "a"`},
		{"webhooks:\n  - {id: a, url: https://u:p@x.example, secret_env: ROSTER_SECRET_A, events: [task.*]}\n", `webhooks[0].url: must not contain credentials`},
		{"webhooks:\n  - {id: A!, url: https://x.example, secret_env: ROSTER_SECRET_A, events: [task.*]}\n", `webhooks[0].id: invalid webhook id`},
	} {
		_, err := declarative.Parse("roster.yaml", []byte(tt.doc), newKnown())
		if err == nil {
			t.Fatalf("%s: parsed", tt.doc)
		}
		if got := strings.Join(roster.ErrorDetails(err), "\n"); !strings.Contains(got, tt.want) {
			t.Errorf("%s: problems\n%s\nwant %q", tt.doc, got, tt.want)
		}
	}
}
