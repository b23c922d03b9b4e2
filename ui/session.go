package ui

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// Sessions live in the database (see Sessions): the session cookie holds
// the session's secret, of which the store keeps only a hash, and every
// request asks the store whether the session still holds — so signing out,
// `roster session revoke`, disabling the user or the idle timeout end it on
// every replica and across restarts. The engine records its last use at most
// once a minute, and every request still asks who the user is (Whoami).
//
// The CSRF token of a session is an HMAC of its id keyed by its secret: it
// needs no storage and no shared key, changes with every sign-in and cannot
// be derived without the cookie. The sign-in form, which has no session yet,
// is protected by a short-lived pre-session cookie and an HMAC under the
// session key, which also signs flash messages and the SSO flow's cookie.

// Form field and cookie names.
const (
	csrfField     = "csrf"
	sessionCookie = "roster_session"
	signinCookie  = "roster_signin"
	flashCookie   = "roster_flash"
)

// session is a console session that holds.
type session struct {
	id     string
	secret string
	// actor is who acts in it: its user, and the token they signed in with.
	actor roster.Actor
}

// flash is a message an action leaves for the page it redirects to.
type flash struct {
	Kind    string   `json:"k"` // "notice" or "error"
	Title   string   `json:"t"`
	Message string   `json:"m"`
	Details []string `json:"d,omitempty"`
}

// sessions reads and writes the console's cookies, and keeps sessions in
// the store.
type sessions struct {
	key    []byte
	secure bool
	store  Sessions
	logger *slog.Logger
}

func newSessions(key []byte, secure bool, store Sessions, logger *slog.Logger) *sessions {
	return &sessions{key: key, secure: secure, store: store, logger: logger}
}

// mac returns the HMAC-SHA256 of purpose and msg.
func (s *sessions) mac(purpose, msg string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// sign returns payload and its MAC as one cookie-safe string.
func (s *sessions) sign(purpose, payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.mac(purpose, payload))
}

// verify returns the payload of a signed string, or false.
func (s *sessions) verify(purpose, value string) (string, bool) {
	enc := base64.RawURLEncoding
	p, m, ok := strings.Cut(value, ".")
	if !ok {
		return "", false
	}
	payload, err1 := enc.DecodeString(p)
	sum, err2 := enc.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(sum, s.mac(purpose, string(payload))) {
		return "", false
	}
	return string(payload), true
}

// cookieName returns the name of the session cookie: with the __Host- prefix
// over TLS, so that it cannot be set by a sibling domain or over plain HTTP.
func (s *sessions) cookieName(name string) string {
	if s.secure {
		return "__Host-" + name
	}
	return name
}

// cookie returns a cookie with the console's attributes.
func (s *sessions) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     s.cookieName(name),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secure,
		SameSite: http.SameSiteStrictMode,
	}
}

// start sets the cookie of a session just started and returns it.
func (s *sessions) start(w http.ResponseWriter, ns *roster.NewSession) *session {
	// The store decides when the session ends; the cookie only outlives it.
	http.SetCookie(w, s.cookie(sessionCookie, ns.Secret, int(SessionLifetime/time.Second)))
	return &session{id: ns.ID, secret: ns.Secret, actor: roster.Actor{User: ns.User, Token: ns.Token, Issuer: ns.Issuer}}
}

// read returns the request's session if it still holds, or nil.
func (s *sessions) read(r *http.Request) *session {
	c, err := r.Cookie(s.cookieName(sessionCookie))
	if err != nil || c.Value == "" || len(c.Value) > 200 {
		return nil
	}
	actor, stored, err := s.store.Session(r.Context(), c.Value)
	if err != nil {
		if roster.ErrorCode(err) != roster.EUNAUTHORIZED {
			s.logger.Error("read a console session", "err", err)
		}
		return nil
	}
	return &session{id: stored.ID, secret: c.Value, actor: actor}
}

// end signs a session out: it ends in the store, and the cookie is dropped.
func (s *sessions) end(ctx context.Context, w http.ResponseWriter, sess *session) {
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	s.drop(ctx, sess)
}

// drop ends a session in the store, when there is one: a new sign-in
// replaces it.
func (s *sessions) drop(ctx context.Context, sess *session) {
	if sess == nil {
		return
	}
	if err := s.store.SignOut(ctx, sess.secret); err != nil {
		s.logger.Error("sign out", "session", sess.id, "err", err)
	}
}

// csrf returns the CSRF token of a session: an HMAC of its id keyed by its
// secret.
func (s *sessions) csrf(sess *session) string {
	if sess == nil {
		return ""
	}
	m := hmac.New(sha256.New, []byte(sess.secret))
	m.Write([]byte("csrf\x00" + sess.id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether token is the session's CSRF token.
func (s *sessions) validCSRF(sess *session, token string) bool {
	want := s.csrf(sess)
	return token != "" && want != "" && hmac.Equal([]byte(token), []byte(want))
}

// signinToken sets (or keeps) the pre-session cookie of the sign-in form and
// returns the form's CSRF token.
func (s *sessions) signinToken(w http.ResponseWriter, r *http.Request) string {
	id := ""
	if c, err := r.Cookie(s.cookieName(signinCookie)); err == nil && len(c.Value) == 32 {
		id = c.Value
	} else {
		id = randomID()
		http.SetCookie(w, s.cookie(signinCookie, id, 3600))
	}
	return base64.RawURLEncoding.EncodeToString(s.mac("signin", id))
}

// validSignin reports whether the sign-in form's token matches its cookie.
func (s *sessions) validSignin(r *http.Request, token string) bool {
	c, err := r.Cookie(s.cookieName(signinCookie))
	if err != nil || c.Value == "" || token == "" {
		return false
	}
	want := base64.RawURLEncoding.EncodeToString(s.mac("signin", c.Value))
	return hmac.Equal([]byte(token), []byte(want))
}

// setFlash leaves a message for the next page.
func (s *sessions) setFlash(w http.ResponseWriter, f *flash) {
	const maxDetails = 12
	if len(f.Details) > maxDetails {
		more := len(f.Details) - maxDetails
		f.Details = append(f.Details[:maxDetails:maxDetails], "… and "+strconv.Itoa(more)+" more")
	}
	for i, d := range f.Details {
		if len(d) > 300 {
			f.Details[i] = d[:300] + "…"
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return
	}
	http.SetCookie(w, s.cookie(flashCookie, s.sign("flash", string(b)), 60))
}

// takeFlash returns the message the previous action left, and clears it.
func (s *sessions) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(s.cookieName(flashCookie))
	if err != nil {
		return nil
	}
	http.SetCookie(w, s.cookie(flashCookie, "", -1))
	payload, ok := s.verify("flash", c.Value)
	if !ok {
		return nil
	}
	var f flash
	if json.Unmarshal([]byte(payload), &f) != nil {
		return nil
	}
	return &f
}

// randomID returns 16 random bytes in hex.
func randomID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// signInURL is the sign-in page, returning to next afterwards.
func signInURL(next string) string {
	if next == "" || next == "/" {
		return "/signin"
	}
	return "/signin?next=" + url.QueryEscape(next)
}

// localPath returns next when it is a path on this site, and home ("/",
// which sends each person where their work is) otherwise, so that the sign-in form cannot redirect elsewhere: next must
// start with one "/", and hold no control character (browsers drop a tab, so
// "/\t/evil.example" reads as "//evil.example"), no backslash (read as "/"),
// and no scheme or host.
func localPath(next string) string {
	const home = "/"
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return home
	}
	for _, r := range next {
		if r < 0x20 || r == 0x7f {
			return home
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return home
	}
	return next
}
