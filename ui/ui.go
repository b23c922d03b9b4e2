// Package ui serves Roster's web console: server-rendered HTML over a
// roster.Service, for admins who build access profiles and review paused
// syncs, approvers who decide on tasks, and everyone who wants to see or
// request their own access.
//
// The console is an adapter like the HTTP API: every screen and every action
// is one or a few calls of the Service, made as the signed-in user (see
// roster.NewContext), so the engine decides what each person may read and do.
// The console only hides controls a person could not use, and shows the
// engine's refusal when they try anyway.
//
// It follows the shape of a boring, long-lived web UI: one file per screen or
// action, one route table (routes), templates and the style sheet embedded
// and parsed once in New, plain HTML forms with POST-redirect-GET, and no
// JavaScript needed: one small script (static/tz.js) tells the console the
// browser's time zone, and without it times show in UTC. Sessions live in the database (Config.Sessions) and every form
// carries a CSRF token tied to the session (see session.go). People sign in with an API token or,
// when Config.SSO is set, through an OpenID Connect provider (see sso.go).
package ui

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/throttle"
)

// Config is what a UI needs.
type Config struct {
	// Service answers every screen and action. Required.
	Service roster.Service
	// Sessions starts, checks and ends console sessions, kept in the
	// database. Required; the engine implements it.
	Sessions Sessions
	// SessionKey signs the sign-in form's token, flash messages and the SSO
	// flow's cookie with HMAC-SHA256. Replicas behind one address should
	// share it. Nil generates a random key: a sign-in form or SSO flow begun
	// before a restart is then refused, though sessions go on.
	SessionKey []byte
	// Secure marks cookies Secure (and gives the session cookie the __Host-
	// prefix). Set it when the console is served over TLS.
	Secure bool
	// Logger receives internal errors. Nil discards.
	Logger *slog.Logger
	// Failures throttles clients that keep signing in with unknown tokens;
	// nil makes one with throttle's defaults. Share the API's.
	Failures *throttle.Failures
	// SSO puts "Sign in with SSO" on the sign-in page, through an OpenID
	// Connect provider (see sso.go). Nil: API tokens only.
	SSO *SSOConfig
	// DemoMail serves /demo/mail, what the demo's mail catcher caught
	// (roster serve --demo only). Nil: no such page.
	DemoMail DemoMailbox
}

// Sessions keeps the console's sessions in the database. The engine
// implements it.
type Sessions interface {
	// SignInWithToken checks an API token and starts a session for its
	// user, recording the sign-in or its refusal; EUNAUTHORIZED says why.
	SignInWithToken(ctx context.Context, token string) (*roster.NewSession, error)
	// Session returns who acts in the session whose secret this is;
	// EUNAUTHORIZED when it has ended, saying why.
	Session(ctx context.Context, secret string) (roster.Actor, *roster.Session, error)
	// SignOut ends the session whose secret this is.
	SignOut(ctx context.Context, secret string) error
}

// SessionLifetime is how long the session cookie lasts in the browser; the
// store ends the session sooner (roster serve --session-idle).
const SessionLifetime = 12 * time.Hour

// maxFormSize limits the body of a form post.
const maxFormSize = 1 << 20

// UI is the web console. It does not listen: mount Handler on "/" next to
// the API.
type UI struct {
	service  roster.Service
	logger   *slog.Logger
	secure   bool
	sessions *sessions
	views    *views
	handler  http.Handler
	failures *throttle.Failures
	// now tells the time of the SSO flow; tests replace it.
	now func() time.Time
	// sso is nil without single sign-on.
	sso *sso
	// demoMail is Config.DemoMail.
	demoMail DemoMailbox
}

// New returns the console for cfg. It parses every template once.
func New(cfg Config) (*UI, error) {
	if cfg.Service == nil {
		return nil, fmt.Errorf("ui: Config.Service is required")
	}
	if cfg.Sessions == nil {
		return nil, fmt.Errorf("ui: Config.Sessions is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	key := cfg.SessionKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("ui: generate a session key: %w", err)
		}
	}
	v, err := parseViews()
	if err != nil {
		return nil, err
	}
	u := &UI{
		service:  cfg.Service,
		logger:   cfg.Logger,
		secure:   cfg.Secure,
		views:    v,
		now:      time.Now,
		failures: cfg.Failures,
		demoMail: cfg.DemoMail,
	}
	if u.failures == nil {
		u.failures = throttle.New(0, 0, nil)
	}
	if cfg.SSO != nil {
		if u.sso, err = newSSO(*cfg.SSO); err != nil {
			return nil, err
		}
	}
	u.sessions = newSessions(key, cfg.Secure, cfg.Sessions, cfg.Logger)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", staticHandler())
	for _, rt := range u.routes() {
		mux.Handle(rt.pattern, u.endpoint(rt))
	}
	mux.Handle("/", u.endpoint(route{pattern: "/", handle: u.showNotFound, public: true}))
	u.handler = securityHeaders(mux)
	return u, nil
}

// Handler returns the handler that serves the console: everything under "/"
// except /api/, /healthz and /metrics, which the API serves.
func (u *UI) Handler() http.Handler { return u.handler }

// access says who may open a route. The zero value lets anyone signed in
// open it; the engine decides the rest.
type access int

const (
	// adminOnly routes are screens that only admins can use: the console
	// answers 403 before rendering them (their actions are refused by the
	// engine as well).
	adminOnly access = iota + 1
	// readersOnly routes are screens for admins and auditors: auditors see
	// them read-only, without the controls that would change anything.
	readersOnly
)

// route is one entry of the route table.
type route struct {
	pattern string
	handle  func(w http.ResponseWriter, r *http.Request, v *visit)
	// public routes need no session.
	public bool
	access access
	// what names what an adminOnly screen does, for its 403 page.
	what string
}

// routes is the route table: every screen and action of the console (and,
// outside it, GET /static/ for the style sheet). With single sign-on, GET
// /auth/oidc/login and /auth/oidc/callback are the flow's two ends.
func (u *UI) routes() []route {
	routes := []route{
		{pattern: "GET /{$}", handle: u.showHome},
		{pattern: "GET /signin", handle: u.showSignIn, public: true},
		{pattern: "POST /signin", handle: u.signIn, public: true},
		{pattern: "POST /signout", handle: u.signOut},

		{pattern: "GET /profiles", handle: u.showProfiles},
		{pattern: "GET /new-profile", handle: u.showNewProfile, access: adminOnly, what: "create access profiles"},
		{pattern: "POST /new-profile", handle: u.createProfile},
		{pattern: "GET /profiles/{id}", handle: u.showMembers},
		{pattern: "POST /profiles/{id}/enroll", handle: u.enroll},
		{pattern: "POST /profiles/{id}/unenroll", handle: u.unenroll},
		{pattern: "GET /profiles/{id}/entitlements", handle: u.showEntitlements},
		{pattern: "POST /profiles/{id}/entitlements", handle: u.saveEntitlements},
		{pattern: "GET /profiles/{id}/controls", handle: u.showControls, access: readersOnly, what: "see a profile's controls"},
		{pattern: "POST /profiles/{id}/controls", handle: u.saveControls},
		{pattern: "POST /profiles/{id}/controls/find", handle: u.findInControls, access: adminOnly, what: "change a profile's controls"},
		{pattern: "POST /profiles/{id}/controls/preview", handle: u.previewControls, access: adminOnly, what: "preview a profile's controls"},
		{pattern: "POST /profiles/{id}/sync", handle: u.syncNow},
		{pattern: "GET /profiles/{id}/review", handle: u.showReview, access: readersOnly, what: "review paused syncs"},
		{pattern: "POST /profiles/{id}/resume", handle: u.resume},
		{pattern: "GET /profiles/{id}/history", handle: u.showProfileHistory},

		{pattern: "GET /inbox", handle: u.showInbox},
		{pattern: "POST /inbox", handle: u.decideMany},
		{pattern: "GET /tokens", handle: u.showTokens},
		{pattern: "POST /tokens", handle: u.createToken},
		{pattern: "POST /tokens/{id}/revoke", handle: u.revokeToken},

		{pattern: "GET /tasks", handle: u.showTasks},
		{pattern: "GET /tasks/{id}", handle: u.showTask},
		{pattern: "POST /tasks/{id}/{action}", handle: u.actOnTask},

		{pattern: "GET /request", handle: u.showRequestAccess},
		{pattern: "POST /request/{id}", handle: u.requestProfile},

		{pattern: "GET /users", handle: u.showUsers},
		{pattern: "GET /users/{id}", handle: u.showUser},
		{pattern: "GET /users/{id}/history", handle: u.showUserHistory},
		{pattern: "GET /users/{id}/why", handle: u.showWhy},
		{pattern: "GET /apps", handle: u.showApps},
		{pattern: "GET /events", handle: u.showEvents},
		{pattern: "GET /events/export", handle: u.exportEvents},
		{pattern: "GET /changes", handle: u.showChanges},
		{pattern: "GET /changes/{id}", handle: u.showChange},
		{pattern: "POST /changes/{id}/{action}", handle: u.actOnChange},
	}
	if u.demoMail != nil {
		routes = append(routes,
			route{pattern: "GET /demo/mail", handle: u.showDemoMail},
			route{pattern: "GET /demo/mail/{id}", handle: u.showDemoMail},
			route{pattern: "GET /demo/mail/{id}/html", handle: u.showDemoMailHTML})
	}
	if u.sso != nil {
		routes = append(routes,
			route{pattern: "GET /auth/oidc/login", handle: u.startSSO, public: true},
			route{pattern: "GET /auth/oidc/callback", handle: u.finishSSO, public: true})
	}
	return routes
}

// visit is one request of a signed-in person.
type visit struct {
	// ctx acts as the signed-in user.
	ctx  context.Context
	me   *roster.User
	sess *session
	// flash is the message the previous action left for this page.
	flash *flash
}

// admin reports whether the signed-in user is an admin.
func (v *visit) admin() bool { return v.me != nil && v.me.Role == roster.RoleAdmin }

// reader reports whether the signed-in user reads everything.
func (v *visit) reader() bool {
	return v.me != nil && (v.me.Role == roster.RoleAdmin || v.me.Role == roster.RoleAuditor)
}

// endpoint wraps one route: it limits the body, checks the session and, on a
// POST, the CSRF token, reads who is signed in, and applies the route's
// access rule.
func (u *UI) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
		v := &visit{ctx: r.Context()}
		if problem := badText(r); problem != "" {
			u.renderError(w, r, v, &errorView{Status: http.StatusUnprocessableEntity, Title: "Not accepted",
				Message: problem + " Nothing was changed."})
			return
		}
		if rt.public {
			if s := u.sessions.read(r); s != nil {
				if me, err := u.service.Whoami(roster.WithActor(r.Context(), s.actor)); err == nil {
					v.ctx, v.me, v.sess = roster.WithActor(r.Context(), s.actor), me, s
				}
			}
			rt.handle(w, r, v)
			return
		}
		s := u.sessions.read(r)
		if s == nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				if r.Header.Get("Sec-Fetch-Site") == "cross-site" && r.Header.Get("Sec-Fetch-Mode") == "navigate" {
					// A link followed from another site, such as a task's
					// link in an email: the browser kept the SameSite=Strict
					// session cookie back. Opening the page again from this
					// site sends it; without a session that leads to the
					// sign-in page as usual.
					u.reopen(w, r, v)
					return
				}
				http.Redirect(w, r, signInURL(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			u.renderError(w, r, v, &errorView{Status: http.StatusForbidden, Title: "Signed out",
				Message: "Your session has ended, so the action was not carried out. Sign in and try again."})
			return
		}
		v.sess = s
		if r.Method == http.MethodPost && !u.sessions.validCSRF(s, r.PostFormValue(csrfField)) {
			u.renderError(w, r, v, &errorView{Status: http.StatusForbidden, Title: "Form expired",
				Message: "The form was refused because it did not carry this session's security token (CSRF). Go back, reload the page and try again."})
			return
		}
		v.ctx = roster.WithActor(r.Context(), s.actor)
		me, err := u.service.Whoami(v.ctx)
		if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
			u.sessions.end(r.Context(), w, s)
			http.Redirect(w, r, signInURL(""), http.StatusSeeOther)
			return
		} else if err != nil {
			u.fail(w, r, v, err)
			return
		}
		v.me = me
		if r.Method == http.MethodGet {
			v.flash = u.sessions.takeFlash(w, r)
		}
		if rt.access == adminOnly && !v.admin() {
			u.renderError(w, r, v, &errorView{Status: http.StatusForbidden, Title: "Admins only",
				Message: fmt.Sprintf("Only admins may %s. You are signed in as %s (%s).", rt.what, me.ID, me.Role)})
			return
		}
		if rt.access == readersOnly && !v.reader() {
			u.renderError(w, r, v, &errorView{Status: http.StatusForbidden, Title: "Admins and auditors only",
				Message: fmt.Sprintf("Only admins and auditors may %s. You are signed in as %s (%s).", rt.what, me.ID, me.Role)})
			return
		}
		rt.handle(w, r, v)
	})
}

// reopen answers a page that opens the requested address again at once,
// from this site.
func (u *UI) reopen(w http.ResponseWriter, r *http.Request, v *visit) {
	next := localPath(r.URL.RequestURI())
	w.Header().Set("Refresh", "0; url="+next)
	u.render(w, r, v, http.StatusOK, "reopen", "Opening", "", signedInData{Next: next}, nil)
}

// securityHeaders sets the headers every console response carries: only
// the console's own script and style sheet, no framing, no sniffing, no caching of pages.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// showHome sends the signed-in person where their work is: admins to the
// profiles, everyone else to what waits for them.
func (u *UI) showHome(w http.ResponseWriter, r *http.Request, v *visit) {
	if v.admin() {
		http.Redirect(w, r, "/profiles", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
}

// showNotFound answers a path no route matches.
func (u *UI) showNotFound(w http.ResponseWriter, r *http.Request, v *visit) {
	u.renderError(w, r, v, &errorView{Status: http.StatusNotFound, Title: "Not found",
		Message: fmt.Sprintf("There is no page at %s.", r.URL.Path)})
}

// badText says what is wrong when a request's address or form holds a NUL
// character or text that is not UTF-8, which no store keeps; "" when nothing
// is.
func badText(r *http.Request) string {
	if err := r.ParseForm(); err != nil {
		return "The form could not be read."
	}
	if strings.Contains(r.URL.RawQuery, "%00") || !utf8.ValidString(r.URL.Path) {
		return "The address holds a character that is not allowed."
	}
	for name, vs := range r.Form {
		for _, v := range append(vs, name) {
			if strings.ContainsRune(v, 0) || !utf8.ValidString(v) {
				return fmt.Sprintf("The field %q holds a character that is not allowed (a NUL character, or text that is not UTF-8).", strings.ToValidUTF8(strings.ReplaceAll(name, "\x00", ""), "?"))
			}
		}
	}
	return ""
}
