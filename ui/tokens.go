package ui

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// tokenLifetimes are the expiry choices of the "My tokens" form; "" never
// expires.
var tokenLifetimes = []struct{ Value, Label string }{
	{"30d", "30 days"}, {"90d", "90 days"}, {"365d", "1 year"}, {"", "Never"},
}

// tokensData is the "My tokens" page.
type tokensData struct {
	Tokens []roster.Token
	// Created is the token just created, with its secret, shown once.
	Created *roster.Token
	// Current is the id of the token this session signed in with.
	Current string
	// Name and Expires refill the form after a refusal.
	Name, Expires string
	Now           time.Time
}

// Lifetimes are the expiry choices.
func (tokensData) Lifetimes() []struct{ Value, Label string } { return tokenLifetimes }

// Status says whether a token works: "active", "revoked" or "expired".
func (d tokensData) Status(t roster.Token) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !d.Now.Before(*t.ExpiresAt):
		return "expired"
	}
	return "active"
}

// showTokens lists the signed-in person's API tokens, and those they
// issued, with a form to create one.
func (u *UI) showTokens(w http.ResponseWriter, r *http.Request, v *visit) {
	u.renderTokens(w, r, v, http.StatusOK, tokensData{Expires: "90d"}, nil)
}

func (u *UI) renderTokens(w http.ResponseWriter, r *http.Request, v *visit, status int, d tokensData, e *errorView) {
	toks, err := u.service.Tokens(v.ctx, "")
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	d.Tokens, d.Current, d.Now = toks, v.sess.actor.Token, u.now()
	u.render(w, r, v, status, "tokens", "My tokens", "tokens", d, e)
}

// createToken creates an API token for the signed-in person and shows its
// secret, once, on the page it answers with: it is never put in a cookie
// or a redirect.
func (u *UI) createToken(w http.ResponseWriter, r *http.Request, v *visit) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	expires := r.PostFormValue("expires")
	known := false
	for _, l := range tokenLifetimes {
		known = known || l.Value == expires
	}
	d := tokensData{Name: name, Expires: expires}
	if !known {
		u.renderTokens(w, r, v, http.StatusUnprocessableEntity, d, &errorView{Title: "Not valid",
			Message: fmt.Sprintf("%q is not one of the expiry choices. No token was created.", expires)})
		return
	}
	tok, err := u.service.CreateToken(v.ctx, roster.TokenRequest{Name: name, Expires: expires})
	if err != nil {
		e := u.errorFor(r, err)
		if e.Status == http.StatusForbidden || e.Status == http.StatusInternalServerError {
			u.renderError(w, r, v, e)
			return
		}
		u.renderTokens(w, r, v, e.Status, d, e)
		return
	}
	u.renderTokens(w, r, v, http.StatusOK, tokensData{Created: tok, Expires: "90d"}, nil)
}

// revokeToken revokes one of the signed-in person's tokens (or one they
// issued). Revoking the token this session signed in with ends the
// session.
func (u *UI) revokeToken(w http.ResponseWriter, r *http.Request, v *visit) {
	tok, err := u.service.RevokeToken(v.ctx, r.PathValue("id"))
	notice := ""
	if err == nil {
		notice = fmt.Sprintf("Revoked token %s%s: it no longer works.", tok.ID, quoted(tok.Name))
	}
	u.done(w, r, v, "/tokens", err, notice)
}

// quoted returns ` ("name")` for a token's name, or "".
func quoted(name string) string {
	if name == "" {
		return ""
	}
	return fmt.Sprintf(" (%q)", name)
}
