// Package smtptest runs a real SMTP server for tests (internal/mailcatch,
// on github.com/emersion/go-smtp): it accepts mail on a free local port,
// optionally asks for AUTH PLAIN, and keeps every message it received,
// parsed, for the test to read. It can be stopped and started again on the
// same address, or told to refuse mail, to test what a sender does while its
// server is away.
package smtptest

import (
	"testing"

	"github.com/rosterhq/roster/internal/mailcatch"
)

// Message is one message the server received.
type Message = mailcatch.Message

// Option configures a Server.
type Option = mailcatch.Option

// WithAuth makes the server require AUTH PLAIN with this user and password.
func WithAuth(user, password string) Option { return mailcatch.WithAuth(user, password) }

// Server is a running SMTP server.
type Server struct {
	*mailcatch.Server
	t testing.TB
}

// Start runs a server on a free port of 127.0.0.1 until the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := mailcatch.Start("127.0.0.1:0", opts...)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.Stop)
	return &Server{Server: s, t: t}
}

// Restart serves again on the address the server had.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.Server.Restart(); err != nil {
		s.t.Fatalf("smtptest: %v", err)
	}
}
