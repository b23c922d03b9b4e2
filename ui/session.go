package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sessions are stateless signed cookies: the cookie holds the user id, the
// expiry and a random session id, and an HMAC-SHA256 of the three under the
// session key. Any replica that shares the key accepts it, nothing is stored
// per session, and a restart with the same key keeps people signed in. Every
// request still asks the engine who the user is (Whoami), so a user who is
// disabled loses the console at once.
//
// Signing out drops the cookie and remembers the session id until its expiry,
// so a copy of the cookie is refused too. That list lives in memory: it is
// per process, which is the trade-off of not keeping sessions in the store.
//
// The CSRF token of a session is an HMAC of its session id under the same
// key, so it needs no storage, changes with every sign-in and cannot be
// derived from the cookie without the key. The sign-in form, which has no
// session yet, is protected the same way by a short-lived pre-session cookie.

// Form field and cookie names.
const (
	csrfField     = "csrf"
	sessionCookie = "roster_session"
	signinCookie  = "roster_signin"
	flashCookie   = "roster_flash"
)

// session is a verified session cookie.
type session struct {
	user    string
	id      string
	expires time.Time
}

// flash is a message an action leaves for the page it redirects to.
type flash struct {
	Kind    string   `json:"k"` // "notice" or "error"
	Title   string   `json:"t"`
	Message string   `json:"m"`
	Details []string `json:"d,omitempty"`
}

// sessions signs and verifies the console's cookies.
type sessions struct {
	key    []byte
	secure bool
	now    func() time.Time

	mu     sync.Mutex
	ended  map[string]time.Time // signed-out session ids, until they expire
	pruned time.Time
}

func newSessions(key []byte, secure bool, now func() time.Time) *sessions {
	return &sessions{key: key, secure: secure, now: now, ended: map[string]time.Time{}}
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

// start signs user in: it sets a new session cookie and returns the session.
func (s *sessions) start(w http.ResponseWriter, user string) *session {
	sess := &session{user: user, id: randomID(), expires: s.now().Add(SessionLifetime).Truncate(time.Second)}
	payload := strings.Join([]string{sess.user, strconv.FormatInt(sess.expires.Unix(), 10), sess.id}, "|")
	http.SetCookie(w, s.cookie(sessionCookie, s.sign("session", payload), int(SessionLifetime/time.Second)))
	return sess
}

// read returns the request's valid session, or nil.
func (s *sessions) read(r *http.Request) *session {
	c, err := r.Cookie(s.cookieName(sessionCookie))
	if err != nil {
		return nil
	}
	payload, ok := s.verify("session", c.Value)
	if !ok {
		return nil
	}
	parts := strings.Split(payload, "|")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return nil
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return nil
	}
	sess := &session{user: parts[0], expires: time.Unix(exp, 0), id: parts[2]}
	if !s.now().Before(sess.expires) {
		return nil
	}
	s.mu.Lock()
	_, ended := s.ended[sess.id]
	s.mu.Unlock()
	if ended {
		return nil
	}
	return sess
}

// end signs a session out: the cookie is dropped and the session id refused
// until it would have expired anyway.
func (s *sessions) end(w http.ResponseWriter, sess *session) {
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	s.forget(sess)
}

// forget refuses a session from now on.
func (s *sessions) forget(sess *session) {
	if sess == nil {
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended[sess.id] = sess.expires
	if now.Sub(s.pruned) > time.Hour {
		for id, exp := range s.ended {
			if now.After(exp) {
				delete(s.ended, id)
			}
		}
		s.pruned = now
	}
}

// csrf returns the CSRF token of a session.
func (s *sessions) csrf(sess *session) string {
	if sess == nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(s.mac("csrf", sess.id))
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

// localPath returns next when it is a path on this site, and "/profiles"
// otherwise, so that the sign-in form cannot redirect elsewhere: next must
// start with one "/", and hold no control character (browsers drop a tab, so
// "/\t/evil.example" reads as "//evil.example"), no backslash (read as "/"),
// and no scheme or host.
func localPath(next string) string {
	const home = "/profiles"
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
