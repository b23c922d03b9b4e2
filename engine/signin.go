package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/rosterhq/roster"
)

// maxSignInEmail bounds the email a sign-in records: an address is at most
// 254 characters, and a provider's claim is not Roster's to store whole.
const maxSignInEmail = 320

// SignIn names the user a single sign-on provider vouched for: the one
// active user whose email is email (compared without regard to case), when
// the provider has verified that the person owns it. It records the outcome
// in the audit log, user.signed_in (with the session it starts) or
// user.sign_in_refused, and returns the new console session, or an
// EUNAUTHORIZED error whose message is the reason for the
// person signing in: no email, an unverified email, no user (or more than
// one) with it, or a disabled user.
//
// It is not part of roster.Service: the web console calls it after it has
// checked the provider's ID token, and no API client may vouch for an email.
// Users are found by reading them all, as the store has no lookup by email.
func (e *Engine) SignIn(ctx context.Context, email string, verified bool) (*roster.NewSession, error) {
	email = signInEmail(email)
	var s *roster.NewSession
	var refused error
	err := e.updateAs(ctx, ActorSystem, func(o *op) error {
		s, refused = nil, nil
		id, object, reason, err := o.signIn(email, verified)
		if err != nil {
			return err
		}
		data := map[string]any{"email": email, "email_verified": verified}
		if reason != "" {
			refused = roster.Errorf(roster.EUNAUTHORIZED, "%s", reason)
			data["method"] = roster.SignInSSO
			return o.audit(roster.ActionSignInRefused, "user", object, reason, data)
		}
		s, err = o.startSession(id, roster.SignInSSO, nil, data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if refused != nil {
		return nil, refused
	}
	return s, nil
}

// signInEmail returns the email as a sign-in records it: trimmed, cut to
// maxSignInEmail bytes, valid UTF-8 and without control characters, which
// no store keeps.
func signInEmail(email string) string {
	email = strings.TrimSpace(email)
	if len(email) > maxSignInEmail {
		email = email[:maxSignInEmail]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(email, "?"))
}

// signIn decides a sign-in: the user's id, or the reason it is refused and
// the id of the user it concerns, if any.
func (o *op) signIn(email string, verified bool) (id, object, reason string, err error) {
	if email == "" {
		return "", "", "the SSO provider sent no email address: it must release the email claim to Roster", nil
	}
	if !verified {
		return "", "", fmt.Sprintf("the SSO provider has not verified the email address %s", email), nil
	}
	users, err := o.tx.AllUsers(o.ctx)
	if err != nil {
		return "", "", "", fmt.Errorf("read users: %w", err)
	}
	var matches []roster.User
	for _, u := range users {
		if u.Email != "" && strings.EqualFold(u.Email, email) {
			matches = append(matches, u)
		}
	}
	switch {
	case len(matches) == 0:
		return "", "", fmt.Sprintf("no Roster user has the email address %s", email), nil
	case len(matches) > 1:
		return "", "", fmt.Sprintf("%d Roster users have the email address %s, so it names none of them", len(matches), email), nil
	}
	u := matches[0]
	if !u.Active() {
		return "", u.ID, fmt.Sprintf("user %s (%s) is disabled", u.ID, email), nil
	}
	return u.ID, u.ID, "", nil
}
