package engine

// API tokens: issuing, listing and revoking them, and authenticating a call
// by one. A token's issuer acts with it too (roster.Actor): the workflow's
// separation of duties checks both (workflow.go).

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/rosterhq/roster"
)

// touchEvery is how often the last use of a token or session is written:
// a busy one is not written on every request.
const touchEvery = time.Minute

// maxTokenName bounds a token's name.
const maxTokenName = 100

// hashToken returns the stored form of an API token or session secret.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// newToken returns a fresh random API token secret.
func newToken() string { return "rst_" + randomHex(24) }

// newTokenID returns a fresh public id for a token: random, so that it says
// nothing of the secret.
func newTokenID() string { return "tok_" + randomHex(8) }

// tokenData is what a token's audit events record of it: never the secret.
func tokenData(t *roster.Token) map[string]any {
	return map[string]any{"token": t.ID, "user": t.User, "issuer": t.Issuer, "name": t.Name, "expires_at": t.ExpiresAt}
}

// Authenticate returns who acts with an API token: its user, the token's
// id, and its issuer when another person issued it. It refuses (EUNAUTHORIZED,
// saying why) an unknown, expired or revoked token, a disabled user, and a
// token someone else issued for a user who is now an admin: an admin acts
// only with tokens they created themselves. It records the token's use at
// most once a minute.
func (e *Engine) Authenticate(ctx context.Context, secret string) (roster.Actor, error) {
	if secret == "" {
		return roster.Actor{}, roster.Errorf(roster.EUNAUTHORIZED, "an API token is required")
	}
	var tok *roster.Token
	var refused string
	err := e.readLoose(ctx, func(tx roster.Tx) (err error) {
		tok, refused, err = e.checkToken(ctx, tx, secret)
		return err
	})
	if err != nil {
		return roster.Actor{}, err
	}
	if refused != "" {
		return roster.Actor{}, roster.Errorf(roster.EUNAUTHORIZED, "%s", refused)
	}
	if err := e.touch(ctx, "token:"+tok.ID, tok.LastUsedAt, func(tx roster.Tx, now time.Time) error { return tx.TouchToken(ctx, tok.ID, now) }); err != nil {
		return roster.Actor{}, err
	}
	return roster.Actor{User: tok.User, Token: tok.ID, Issuer: otherIssuer(tok.User, tok.Issuer)}, nil
}

// readLoose runs fn's reads outside a transaction where the store can
// (roster.LooseReader), each statement reading what is committed then, and
// in View otherwise: for a token and its user, read by every API call,
// whose two answers need no common snapshot.
func (e *Engine) readLoose(ctx context.Context, fn func(roster.Tx) error) error {
	if r, ok := e.store.(roster.LooseReader); ok {
		return r.ReadLoose(ctx, fn)
	}
	return e.store.View(ctx, fn)
}

// otherIssuer returns issuer when it is not user, and "" otherwise.
func otherIssuer(user, issuer string) string {
	if issuer == user {
		return ""
	}
	return issuer
}

// checkToken returns the token of secret, or why it may not act: unknown
// (tok nil), revoked, expired, its user disabled or now an admin it was
// issued for by someone else.
func (e *Engine) checkToken(ctx context.Context, tx roster.Tx, secret string) (tok *roster.Token, refused string, err error) {
	tok, u, err := tx.TokenAndUser(ctx, hashToken(secret))
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		return nil, "the API token is not valid", nil
	} else if err != nil {
		return nil, "", err
	}
	if why := tok.Valid(e.clock.Now()); why != "" {
		return tok, why, nil
	}
	return tok, userRefused(u, tok.User, tok.Issuer, "API token "+tok.ID), nil
}

// checkUser says why user may not act with a credential issuer created
// ("" when they may): they are gone or disabled, or they are an admin and
// the credential is another person's.
func (e *Engine) checkUser(ctx context.Context, tx roster.Tx, user, issuer, what string) (string, error) {
	u, err := tx.User(ctx, user)
	if roster.ErrorCode(err) == roster.ENOTFOUND {
		u, err = nil, nil
	} else if err != nil {
		return "", err
	}
	return userRefused(u, user, issuer, what), nil
}

// userRefused says why user, read as u (nil when they do not exist), may
// not act with a credential issuer created ("" when they may).
func userRefused(u *roster.User, user, issuer, what string) string {
	switch {
	case u == nil:
		return fmt.Sprintf("user %q does not exist", user)
	case !u.Active():
		return fmt.Sprintf("user %q is disabled", user)
	case u.Role == roster.RoleAdmin && issuer != "" && issuer != user:
		return fmt.Sprintf("the %s was issued by %s for %s, who is now an admin: an admin acts only with tokens they created themselves", what, issuer, user)
	}
	return ""
}

// touch records, at most once a minute per key, that a token or session
// whose last recorded use is last was used now.
func (e *Engine) touch(ctx context.Context, key string, last *time.Time, write func(tx roster.Tx, now time.Time) error) error {
	now := e.clock.Now()
	if last != nil && now.Sub(*last) < touchEvery {
		return nil
	}
	if t, ok := e.touched.Load(key); ok && now.Sub(t.(time.Time)) < touchEvery {
		return nil
	}
	e.touched.Store(key, now)
	if e.touches.Add(1)%1024 == 0 {
		// Forget what no longer holds back a write, so that the map stays
		// as small as the tokens and sessions in use.
		e.touched.Range(func(k, t any) bool {
			if now.Sub(t.(time.Time)) >= touchEvery {
				e.touched.Delete(k)
			}
			return true
		})
	}
	if err := e.store.Update(ctx, func(tx roster.Tx) error { return write(tx, now) }); err != nil {
		return fmt.Errorf("record the use of %s: %w", key, err)
	}
	return nil
}

// Bootstrap prepares an empty database: it creates the built-in admin and, when
// token is set, makes it the admin's API token. On an empty database without a
// token it generates one and returns it, so the server can print it once. It
// returns "" when the database was not empty.
func (e *Engine) Bootstrap(ctx context.Context, token string) (string, error) {
	var issued string
	err := e.updateAs(ctx, ActorSystem, func(o *op) error {
		_, err := o.tx.User(o.ctx, roster.AdminUser)
		if err == nil {
			return nil
		} else if roster.ErrorCode(err) != roster.ENOTFOUND {
			return err
		}
		admin := &roster.User{ID: roster.AdminUser, Name: "Administrator", Status: roster.UserActive, Role: roster.RoleAdmin, Kind: roster.UserPerson, Notify: roster.NotifyEmail, CreatedAt: o.now, UpdatedAt: o.now}
		o.forgetUser(admin.ID)
		if err := o.tx.PutUser(o.ctx, admin); err != nil {
			return err
		}
		if err := o.tx.PutApp(o.ctx, &roster.App{ID: roster.BuiltinApp, Name: "Access profiles", Owners: []string{}, CreatedAt: o.now, UpdatedAt: o.now}); err != nil {
			return err
		}
		if token == "" {
			token = newToken()
		}
		issued = token
		tok := &roster.Token{ID: newTokenID(), User: roster.AdminUser, Issuer: roster.AdminUser, Name: "bootstrap", CreatedAt: o.now}
		if err := o.tx.CreateToken(o.ctx, tok, hashToken(token)); err != nil {
			return err
		}
		return o.audit(roster.ActionTenantBootstrapped, "user", roster.AdminUser, "empty database", tokenData(tok))
	})
	return issued, err
}

// IssueToken stores a given secret as a token of user, issued by the user
// themselves, without a permission check: the server uses it to load the
// demo organisation's well-known tokens, and tests to act as people.
func (e *Engine) IssueToken(ctx context.Context, user, secret, name string) error {
	return e.updateAs(ctx, ActorSystem, func(o *op) error {
		if _, err := o.tx.User(o.ctx, user); err != nil {
			return err
		}
		tok := &roster.Token{ID: newTokenID(), User: user, Issuer: user, Name: name, CreatedAt: o.now}
		if err := o.tx.CreateToken(o.ctx, tok, hashToken(secret)); err != nil {
			return err
		}
		return o.audit(roster.ActionTokenCreated, "user", user, name, tokenData(tok))
	})
}

// CreateToken issues a new API token: for the caller, or, by an admin, for
// a user who is not an admin. Its issuer is the caller — or, when the caller
// acts with a token someone else issued, that token's issuer, so that a
// token cannot launder whose action it is.
func (e *Engine) CreateToken(ctx context.Context, req roster.TokenRequest) (*roster.Token, error) {
	name, err := tokenName(req.Name)
	if err != nil {
		return nil, err
	}
	var lifetime time.Duration
	if req.Expires != "" {
		if lifetime, err = roster.ParseLifetime(req.Expires); err != nil {
			return nil, err
		}
	}
	var tok *roster.Token
	err = e.update(ctx, func(o *op) error {
		caller, err := o.caller()
		if err != nil {
			return err
		}
		user := req.User
		if user == "" {
			user = caller.ID
		}
		if user != caller.ID && caller.Role != roster.RoleAdmin {
			return roster.Errorf(roster.EFORBIDDEN, "only admins may issue tokens for others: create your own with roster token create")
		}
		u, err := o.tx.User(o.ctx, user)
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return roster.Errorf(roster.ENOTFOUND, "user %q not found", user)
		} else if err != nil {
			return err
		}
		if !u.Active() {
			return roster.Errorf(roster.EINVALID, "user %q is disabled: no token is issued for them", user)
		}
		issuer := caller.ID
		if o.via.User == caller.ID && o.via.Issuer != "" {
			issuer = o.via.Issuer
		}
		if u.Role == roster.RoleAdmin && issuer != u.ID {
			return roster.Errorf(roster.EFORBIDDEN, "%s is another admin: an admin never issues a token for another admin, whose actions it would take (%s must create their own)", u.ID, u.ID)
		}
		tok = &roster.Token{ID: newTokenID(), User: user, Issuer: issuer, Name: name, CreatedAt: o.now}
		if lifetime > 0 {
			at := o.now.Add(lifetime)
			tok.ExpiresAt = &at
		}
		secret := newToken()
		if err := o.tx.CreateToken(o.ctx, tok, hashToken(secret)); err != nil {
			return err
		}
		if err := o.audit(roster.ActionTokenCreated, "user", user, "", tokenData(tok)); err != nil {
			return err
		}
		out := *tok
		out.Token = secret
		tok = &out
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// tokenName checks a token's name: short, one line, printable.
func tokenName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if len(name) > maxTokenName {
		return "", roster.Errorf(roster.EINVALID, "a token's name is at most %d characters", maxTokenName)
	}
	if strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return "", roster.Errorf(roster.EINVALID, "a token's name must be printable text on one line")
	}
	return name, nil
}

// Tokens lists API tokens, never their secrets: the caller's own and those
// they issued, or, for admins and auditors, user's ("*": every token).
func (e *Engine) Tokens(ctx context.Context, user string) ([]roster.Token, error) {
	var out []roster.Token
	err := e.view(ctx, func(o *op) error {
		user, err := o.listScope(user, "tokens")
		if err != nil {
			return err
		}
		out, err = o.tx.Tokens(o.ctx, user)
		return err
	})
	return out, err
}

// RevokeToken revokes a token: the caller's own or one they issued, or, by an
// admin, anyone's. The console sessions signed in with it end too. Revoking
// a revoked token changes nothing.
func (e *Engine) RevokeToken(ctx context.Context, id string) (*roster.Token, error) {
	var tok *roster.Token
	err := e.update(ctx, func(o *op) error {
		caller, err := o.caller()
		if err != nil {
			return err
		}
		tok, err = o.tx.Token(o.ctx, id)
		if err != nil {
			return err
		}
		if tok.User != caller.ID && tok.Issuer != caller.ID && caller.Role != roster.RoleAdmin {
			return roster.Errorf(roster.EFORBIDDEN, "token %s is not yours: you revoke your own tokens and those you issued", id)
		}
		if tok.RevokedAt != nil {
			return nil
		}
		if err := o.tx.RevokeToken(o.ctx, id, o.now); err != nil {
			return err
		}
		now := o.now
		tok.RevokedAt = &now
		ended, err := o.tx.DeleteSessions(o.ctx, "", "", id)
		if err != nil {
			return err
		}
		data := tokenData(tok)
		if len(ended) > 0 {
			data["sessions"] = ended
		}
		return o.audit(roster.ActionTokenRevoked, "user", tok.User, "", data)
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// listScope returns whose tokens or sessions (what) the caller lists when
// asking for user's: their own for "" or themselves; anyone's, or everyone's
// ("*", returned as ""), for admins and auditors only.
func (o *op) listScope(user, what string) (string, error) {
	caller, err := o.caller()
	if err != nil {
		return "", err
	}
	switch {
	case user == "" || user == caller.ID:
		return caller.ID, nil
	case !readsAll(caller):
		return "", roster.Errorf(roster.EFORBIDDEN, "only admins and auditors may list others' %s", what)
	case user == "*":
		return "", nil
	}
	return user, nil
}
