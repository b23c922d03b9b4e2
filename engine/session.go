package engine

// Console sessions live in the database, so that signing out, revoking a
// session or disabling its user ends it on every replica and across
// restarts. The browser holds the session's secret; the store keeps its
// hash, its user, how they signed in (and with which token, whose issuer acts
// too), when it was last used (written at most once a minute) and when it
// ends however much it is used.

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
)

// Defaults of Config.SessionIdle and Config.SessionLifetime.
const (
	DefaultSessionIdle     = 8 * time.Hour
	DefaultSessionLifetime = 12 * time.Hour
)

// newSessionID returns a fresh public id for a session.
func newSessionID() string { return "ses_" + randomHex(8) }

// startSession starts a session for user, signed in by method with tok (nil
// for single sign-on), records user.signed_in and returns it with its secret.
// It also forgets the sessions that have ended unused.
func (o *op) startSession(user, method string, tok *roster.Token, data map[string]any) (*roster.NewSession, error) {
	if _, err := o.tx.DeleteStaleSessions(o.ctx, o.now.Add(-o.e.sessionIdle), o.now); err != nil {
		return nil, err
	}
	s := &roster.NewSession{Secret: "rss_" + randomHex(32), Session: roster.Session{
		ID: newSessionID(), User: user, Method: method, CreatedAt: o.now, LastUsedAt: o.now, ExpiresAt: o.now.Add(o.e.sessionLifetime)}}
	if tok != nil {
		s.Token, s.Issuer = tok.ID, otherIssuer(tok.User, tok.Issuer)
		if tok.ExpiresAt != nil && tok.ExpiresAt.Before(s.ExpiresAt) {
			s.ExpiresAt = *tok.ExpiresAt
		}
	}
	if err := o.tx.CreateSession(o.ctx, &s.Session, hashToken(s.Secret)); err != nil {
		return nil, err
	}
	o.actor, o.via = user, roster.Actor{User: user, Token: s.Token, Issuer: s.Issuer}
	data["session"], data["method"] = s.ID, method
	if err := o.audit(roster.ActionUserSignedIn, "user", user, "", data); err != nil {
		return nil, err
	}
	return s, nil
}

// SignInWithToken signs a person in to the console with an API token: it
// starts a session for the token's user and records user.signed_in, or
// records user.sign_in_refused with the reason (never the token) and
// returns EUNAUTHORIZED saying why. An unknown token's refusal has no actor
// and no user.
func (e *Engine) SignInWithToken(ctx context.Context, secret string) (*roster.NewSession, error) {
	var s *roster.NewSession
	var refused error
	err := e.updateAs(ctx, "", func(o *op) error {
		s, refused = nil, nil
		o.via = roster.Actor{}
		tok, reason, err := e.checkToken(o.ctx, o.tx, secret)
		if err != nil {
			return err
		}
		if reason != "" {
			refused = roster.Errorf(roster.EUNAUTHORIZED, "%s", reason)
			data := map[string]any{"method": roster.SignInToken}
			user := ""
			if tok != nil {
				user, data["token"] = tok.User, tok.ID
			}
			return o.audit(roster.ActionSignInRefused, "user", user, reason, data)
		}
		s, err = o.startSession(tok.User, roster.SignInToken, tok, map[string]any{"token": tok.ID})
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

// Session returns who acts in the console session whose secret this is, and
// the session. It refuses (EUNAUTHORIZED, saying why) a session that was
// signed out or revoked, has been unused for the idle time, has reached its
// end, or whose user is disabled, or is an admin and signed in with a token
// someone else issued. It records the session's use at most once a minute.
func (e *Engine) Session(ctx context.Context, secret string) (roster.Actor, *roster.Session, error) {
	var s *roster.Session
	var refused string
	err := e.store.View(ctx, func(tx roster.Tx) (err error) {
		s, err = tx.SessionByHash(ctx, hashToken(secret))
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			refused = "your session has ended: sign in again"
			return nil
		} else if err != nil {
			return err
		}
		now := e.clock.Now()
		switch {
		case !now.Before(s.ExpiresAt):
			refused = "your session has reached its end: sign in again"
		case now.Sub(s.LastUsedAt) >= e.sessionIdle:
			refused = fmt.Sprintf("your session ended after %s without use: sign in again", e.sessionIdle)
		default:
			refused, err = e.checkUser(ctx, tx, s.User, s.Issuer, "API token "+s.Token+" this session signed in with")
		}
		return err
	})
	if err != nil {
		return roster.Actor{}, nil, err
	}
	if refused != "" {
		return roster.Actor{}, nil, roster.Errorf(roster.EUNAUTHORIZED, "%s", refused)
	}
	if err := e.touch(ctx, "session:"+s.ID, &s.LastUsedAt, func(tx roster.Tx, now time.Time) error { return tx.TouchSession(ctx, s.ID, now) }); err != nil {
		return roster.Actor{}, nil, err
	}
	return roster.Actor{User: s.User, Token: s.Token, Issuer: s.Issuer}, s, nil
}

// SignOut ends the session whose secret this is and records
// user.signed_out. A session that already ended is not an error.
func (e *Engine) SignOut(ctx context.Context, secret string) error {
	return e.updateAs(ctx, "", func(o *op) error {
		s, err := o.tx.SessionByHash(o.ctx, hashToken(secret))
		if roster.ErrorCode(err) == roster.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if _, err := o.tx.DeleteSessions(o.ctx, s.ID, "", ""); err != nil {
			return err
		}
		o.actor, o.via = s.User, roster.Actor{User: s.User, Token: s.Token, Issuer: s.Issuer}
		return o.audit(roster.ActionUserSignedOut, "user", s.User, "", map[string]any{"session": s.ID})
	})
}

// Sessions lists the console sessions that have not ended: the caller's own,
// or, for admins and auditors, user's ("*": everyone's).
func (e *Engine) Sessions(ctx context.Context, user string) ([]roster.Session, error) {
	out := []roster.Session{}
	err := e.view(ctx, func(o *op) error {
		user, err := o.listScope(user, "sessions")
		if err != nil {
			return err
		}
		all, err := o.tx.Sessions(o.ctx, user)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, s := range all {
			if o.now.Before(s.ExpiresAt) && o.now.Sub(s.LastUsedAt) < e.sessionIdle {
				out = append(out, s)
			}
		}
		return nil
	})
	return out, err
}

// RevokeSession ends a console session: the caller's own, or, by an admin,
// anyone's.
func (e *Engine) RevokeSession(ctx context.Context, id string) (*roster.Session, error) {
	var s *roster.Session
	err := e.update(ctx, func(o *op) error {
		caller, err := o.caller()
		if err != nil {
			return err
		}
		s, err = o.tx.Session(o.ctx, id)
		if err != nil {
			return err
		}
		if s.User != caller.ID && caller.Role != roster.RoleAdmin {
			return roster.Errorf(roster.EFORBIDDEN, "session %s is not yours: only admins end others' sessions", id)
		}
		if _, err := o.tx.DeleteSessions(o.ctx, id, "", ""); err != nil {
			return err
		}
		return o.audit(roster.ActionSessionRevoked, "user", s.User, "", map[string]any{"session": id})
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// endSessions ends every session of a user who was just disabled.
func (o *op) endSessions(user string) error {
	ended, err := o.tx.DeleteSessions(o.ctx, "", user, "")
	if err != nil || len(ended) == 0 {
		return err
	}
	return o.audit(roster.ActionSessionRevoked, "user", user, "the user was disabled", map[string]any{"sessions": ended})
}
