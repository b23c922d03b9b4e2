package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rosterhq/roster"
)

// rudeEndpoint answers every HTTP request with status and a reason phrase
// of its choosing, as a hostile or broken system would.
func rudeEndpoint(t *testing.T, status int, reason string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status, reason)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// safeError fails the test unless msg is an error from an outside system
// as Roster may keep and show it: at most 500 characters, no control
// characters (SPEC §5, "Secrets and bad input, continued").
func safeError(t *testing.T, what, msg string) {
	t.Helper()
	if msg == "" {
		t.Fatalf("%s: no error recorded", what)
	}
	if n := utf8.RuneCountInString(msg); n > 500 {
		t.Errorf("%s: an error of %d characters kept: %.120q…", what, n, msg)
	}
	if strings.ContainsAny(msg, "\x1b\a\r\n") {
		t.Errorf("%s: control characters kept: %.120q", what, msg)
	}
}

// TestWebhookErrorsAreCut checks that what a webhook endpoint answers — here
// a reason phrase of thousands of characters with terminal escapes — is cut
// before Roster keeps it as the delivery's last error.
func TestWebhookErrorsAreCut(t *testing.T) {
	t.Setenv("ROSTER_SECRET_HOOK", "whsec_"+base64.StdEncoding.EncodeToString(webhookKey))
	url := rudeEndpoint(t, http.StatusServiceUnavailable, strings.Repeat("\x1b[31mnot today \x07", 300))
	e := start(t)
	e.apply(org + emailProfile)
	e.apply(webhookFile(url+"/hook", `"task.*"`))
	e.ok("alice", "profile", "request", "eng")
	if n, _ := e.srv.Notifier.RunOnce(context.Background()); n != 0 {
		t.Fatalf("delivered %d to an endpoint answering 503", n)
	}
	var list []roster.WebhookStatus
	e.json(&list, adminUser, "webhook", "list")
	if len(list) != 1 || list[0].LastError == "" {
		t.Fatalf("webhook list: %+v", list)
	}
	safeError(t, "the webhook's last error", list[0].LastError)

	// roster webhook test: its answer and its event.
	e.fails("503", adminUser, "webhook", "test", "siem")
	tested := e.events("--action", "webhook.tested")
	if len(tested) != 1 {
		t.Fatalf("webhook.tested events: %+v", tested)
	}
	safeError(t, "the webhook.tested event's reason", tested[0].Reason)
}
