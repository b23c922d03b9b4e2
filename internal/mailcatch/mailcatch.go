// Package mailcatch runs an SMTP server (github.com/emersion/go-smtp's) that
// keeps the messages it receives, parsed, instead of passing them on: the
// demo's mail catcher (roster serve --demo, read at /demo/mail) and, through
// internal/smtptest, the tests' SMTP server. It accepts mail on a local
// port, optionally asks for AUTH PLAIN, and can be stopped and started again
// on the same address, or told to refuse mail.
package mailcatch

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server received.
type Message struct {
	// From and To are the envelope's sender and recipients.
	From string
	To   []string
	// Header is the message's header; Subject its decoded subject.
	Header  mail.Header
	Subject string
	// ContentType is the top-level media type ("multipart/alternative").
	ContentType string
	// Text and HTML are the decoded text/plain and text/html parts.
	Text, HTML string
	// Raw is the message as received.
	Raw []byte
	// User is who authenticated, when the server asked for AUTH.
	User string
	// ID numbers the messages a server received from 1; At is when it
	// received this one.
	ID int
	At time.Time
}

// Server is a running SMTP server.
type Server struct {
	// Addr is the host:port it listens on; Host and Port split it.
	Addr string
	Host string
	Port int

	mu       sync.Mutex
	messages []Message
	next     int
	keep     int
	refuse   error
	user     string
	password string
	srv      *smtp.Server
}

// Option configures a Server.
type Option func(*Server)

// WithAuth makes the server require AUTH PLAIN with this user and password.
func WithAuth(user, password string) Option {
	return func(s *Server) { s.user, s.password = user, password }
}

// Keep makes the server keep only the last n messages it received.
func Keep(n int) Option {
	return func(s *Server) { s.keep = n }
}

// Start runs a server on addr ("127.0.0.1:0" picks a free port) until Stop.
func Start(addr string, opts ...Option) (*Server, error) {
	s := &Server{}
	for _, o := range opts {
		o(s)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailcatch: listen: %w", err)
	}
	s.Addr = l.Addr().String()
	a := l.Addr().(*net.TCPAddr)
	s.Host, s.Port = a.IP.String(), a.Port
	s.serve(l)
	return s, nil
}

// serve serves on l.
func (s *Server) serve(l net.Listener) {
	srv := smtp.NewServer(backend{s})
	srv.Domain = "mailcatch.local"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	// Roster's messages are a few KiB: a catcher that keeps them in memory
	// takes no more than that.
	srv.MaxMessageBytes, srv.MaxRecipients = 1<<20, 50
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go srv.Serve(l) //nolint:errcheck // Serve ends when Stop closes it.
}

// Stop stops the server: connections to its address are refused until
// Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Restart serves again on the address the server had.
func (s *Server) Restart() error {
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may take a moment to go
		if l, err = net.Listen("tcp", s.Addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("mailcatch: listen again on %s: %w", s.Addr, err)
	}
	s.serve(l)
	return nil
}

// Refuse makes the server answer every message with a temporary failure
// (451) while err is not nil.
func (s *Server) Refuse(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = err
}

// Messages returns the messages received so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// To returns the messages received for the address to.
func (s *Server) To(to string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, r := range m.To {
			if strings.EqualFold(r, to) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
	user string
}

func (se *session) AuthMechanisms() []string {
	if se.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, password string) error {
		if user != se.s.user || password != se.s.password {
			return errors.New("invalid credentials")
		}
		se.user = user
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.user != "" && se.user == "" {
		return smtp.ErrAuthRequired
	}
	se.s.mu.Lock()
	refuse := se.s.refuse
	se.s.mu.Unlock()
	if refuse != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: refuse.Error()}
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "mailcatch: " + err.Error()}
	}
	m.From, m.To, m.User, m.At = se.from, se.to, se.user, time.Now()
	se.s.mu.Lock()
	se.s.next++
	m.ID = se.s.next
	se.s.messages = append(se.s.messages, *m)
	if se.s.keep > 0 && len(se.s.messages) > se.s.keep {
		se.s.messages = slices.Delete(se.s.messages, 0, len(se.s.messages)-se.s.keep)
	}
	se.s.mu.Unlock()
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

// parse reads a message's header and its text and HTML parts.
func parse(raw []byte) (*Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	m := &Message{Header: msg.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return nil, fmt.Errorf("subject: %w", err)
	}
	if err := m.part(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, true); err != nil {
		return nil, err
	}
	return m, nil
}

// part reads one MIME part (top is the message itself) into m.
func (m *Message) part(contentType, encoding string, body io.Reader, top bool) error {
	media, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if top {
		m.ContentType = media
	}
	if strings.HasPrefix(media, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := m.part(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, false); err != nil {
				return err
			}
		}
	}
	b, err := decode(encoding, body)
	if err != nil {
		return err
	}
	switch media {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}

// decode undoes a part's transfer encoding.
func decode(encoding string, body io.Reader) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		return io.ReadAll(base64.NewDecoder(base64.StdEncoding, newlineStripper{body}))
	}
	return io.ReadAll(body)
}

// newlineStripper drops the line breaks base64 bodies are wrapped with.
type newlineStripper struct{ r io.Reader }

func (n newlineStripper) Read(p []byte) (int, error) {
	k, err := n.r.Read(p)
	j := 0
	for _, c := range p[:k] {
		if c != '\r' && c != '\n' {
			p[j] = c
			j++
		}
	}
	return j, err
}
