package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/throttle"
)

// signInData is the sign-in form.
type signInData struct {
	Token string // the form's CSRF token
	Next  string
	// SSO offers "Sign in with SSO".
	SSO bool
}

// showSignIn shows the sign-in form; someone already signed in goes on.
func (u *UI) showSignIn(w http.ResponseWriter, r *http.Request, v *visit) {
	next := localPath(r.URL.Query().Get("next"))
	if v.me != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	u.renderSignIn(w, r, v, http.StatusOK, next, nil)
}

func (u *UI) renderSignIn(w http.ResponseWriter, r *http.Request, v *visit, status int, next string, e *errorView) {
	token := u.sessions.signinToken(w, r)
	u.render(w, r, &visit{ctx: v.ctx}, status, "signin", "Sign in", "", signInData{Token: token, Next: next, SSO: u.sso != nil}, e)
}

// signIn checks an API token and starts a session for its user.
func (u *UI) signIn(w http.ResponseWriter, r *http.Request, v *visit) {
	next := localPath(r.PostFormValue("next"))
	if !u.sessions.validSignin(r, r.PostFormValue(csrfField)) {
		u.renderSignIn(w, r, v, http.StatusForbidden, next, &errorView{Status: http.StatusForbidden, Title: "Form expired",
			Message: "The sign-in form was refused because it did not carry its security token. Your browser must accept cookies from this site; try again."})
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		u.renderSignIn(w, r, v, http.StatusUnprocessableEntity, next, &errorView{Title: "Sign-in failed", Message: "Enter your API token."})
		return
	}
	client := throttle.Client(r)
	if wait, blocked := u.failures.Blocked(client); blocked {
		secs := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		u.renderSignIn(w, r, v, http.StatusTooManyRequests, next, &errorView{Title: "Sign-in paused",
			Message: fmt.Sprintf("Too many sign-ins with an unknown token came from your address. Try again in %d seconds.", secs)})
		return
	}
	ns, err := u.sessions.store.SignInWithToken(r.Context(), token)
	if roster.ErrorCode(err) == roster.EUNAUTHORIZED {
		u.failures.Fail(client)
	}
	if err != nil {
		e := u.errorFor(r, err)
		if e.Status == http.StatusInternalServerError {
			u.renderSignIn(w, r, v, e.Status, next, e)
			return
		}
		u.renderSignIn(w, r, v, http.StatusUnauthorized, next, &errorView{Title: "Sign-in failed", Message: e.Message})
		return
	}
	u.sessions.drop(r.Context(), v.sess) // a new sign-in replaces any session
	u.sessions.start(w, ns)
	http.SetCookie(w, u.sessions.cookie(signinCookie, "", -1))
	http.Redirect(w, r, next, http.StatusSeeOther)
}
