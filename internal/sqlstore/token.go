package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
)

// --- tokens ---

const tokenColumns = `id, user_id, issuer, name, created_at, expires_at, last_used_at, revoked_at`

// tokenRow receives a row of tokenColumns.
type tokenRow struct {
	t                          roster.Token
	created                    timeDest
	expires, lastUsed, revoked nullTime
}

// dest returns where Scan puts tokenColumns.
func (v *tokenRow) dest() []any {
	return []any{&v.t.ID, &v.t.User, &v.t.Issuer, &v.t.Name, &v.created, &v.expires, &v.lastUsed, &v.revoked}
}

// token returns the token scanned.
func (v *tokenRow) token() roster.Token {
	v.t.CreatedAt, v.t.ExpiresAt, v.t.LastUsedAt, v.t.RevokedAt = v.created.T, v.expires.T, v.lastUsed.T, v.revoked.T
	return v.t
}

// scanToken scans a row of tokenColumns.
func scanToken(r Row) (roster.Token, error) {
	var v tokenRow
	err := r.Scan(v.dest()...)
	return v.token(), err
}

// CreateToken stores a new API token with the hash of its secret.
func (t *Tx) CreateToken(ctx context.Context, tok *roster.Token, hash string) error {
	e := t.enc()
	args := []any{tok.ID, hash, tok.User, tok.Issuer, tok.Name, e.time(tok.CreatedAt), e.timePtr(tok.ExpiresAt), e.timePtr(tok.LastUsedAt), e.timePtr(tok.RevokedAt)}
	if e.err != nil {
		return fmt.Errorf("create token: %w", e.err)
	}
	_, err := t.Q.ExecUnique(ctx, `INSERT INTO tokens (id, hash, user_id, issuer, name, created_at, expires_at, last_used_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if t.D.UniqueViolation(err) {
		return roster.Errorf(roster.ECONFLICT, "token %s exists", tok.ID)
	} else if err != nil {
		return fmt.Errorf("create token for %q: %w", tok.User, err)
	}
	return nil
}

// Token returns the token with this id.
func (t *Tx) Token(ctx context.Context, id string) (*roster.Token, error) {
	tok, err := one(ctx, t, scanToken, roster.Errorf(roster.ENOTFOUND, "token %q not found", id),
		`SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id)
	if failed(err) {
		return nil, fmt.Errorf("token %q: %w", id, err)
	}
	return tok, err
}

// TokenByHash returns the token whose secret has this hash.
func (t *Tx) TokenByHash(ctx context.Context, hash string) (*roster.Token, error) {
	// The hash is a credential: it is not repeated in the message.
	tok, err := one(ctx, t, scanToken, roster.Errorf(roster.ENOTFOUND, "token not found"),
		`SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash)
	if failed(err) {
		return nil, fmt.Errorf("token by hash: %w", err)
	}
	return tok, err
}

// tokenUser is a token with its user, both read by one statement.
type tokenUser struct {
	tok  roster.Token
	user roster.User
}

var tokenAndUserQuery = `SELECT ` + prefixed("t.", tokenColumns) + `, ` + prefixed("u.", UserColumns) + `
	FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ?`

// TokenAndUser returns the token whose secret has this hash and its user, nil
// when that user does not exist: in one statement unless the user is
// missing.
func (t *Tx) TokenAndUser(ctx context.Context, hash string) (*roster.Token, *roster.User, error) {
	scan := func(r Row) (tokenUser, error) {
		var tv tokenRow
		var uv userRow
		if err := r.Scan(append(tv.dest(), uv.dest()...)...); err != nil {
			return tokenUser{}, err
		}
		u, err := uv.user()
		return tokenUser{tv.token(), u}, err
	}
	tu, err := one(ctx, t, scan, roster.Errorf(roster.ENOTFOUND, "token not found"), tokenAndUserQuery, hash)
	if err == nil {
		return &tu.tok, &tu.user, nil
	}
	if failed(err) {
		return nil, nil, fmt.Errorf("token and user by hash: %w", err)
	}
	// No token, or a token whose user is gone.
	tok, err := t.TokenByHash(ctx, hash)
	return tok, nil, err
}

// Tokens lists the tokens whose user or issuer is user (all when "").
func (t *Tx) Tokens(ctx context.Context, user string) ([]roster.Token, error) {
	q, args := `SELECT `+tokenColumns+` FROM tokens`, []any{}
	if user != "" {
		q, args = q+` WHERE user_id = ? OR issuer = ?`, []any{user, user}
	}
	out, err := List(ctx, t.Q, scanToken, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// TouchToken records that a token was used at at.
func (t *Tx) TouchToken(ctx context.Context, id string, at time.Time) error {
	e := t.enc()
	ts := e.time(at)
	if e.err != nil {
		return fmt.Errorf("touch token: %w", e.err)
	}
	if _, err := t.Q.Exec(ctx, `UPDATE tokens SET last_used_at = ? WHERE id = ?`, ts, id); err != nil {
		return fmt.Errorf("touch token %s: %w", id, err)
	}
	return nil
}

// RevokeToken marks a token revoked at at, unless it already is.
func (t *Tx) RevokeToken(ctx context.Context, id string, at time.Time) error {
	e := t.enc()
	ts := e.time(at)
	if e.err != nil {
		return fmt.Errorf("revoke token: %w", e.err)
	}
	if _, err := t.Q.Exec(ctx, `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`, ts, id); err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}

// --- sessions ---

const sessionColumns = `id, user_id, method, token_id, issuer, created_at, last_used_at, expires_at`

// scanSession scans a row of sessionColumns.
func scanSession(r Row) (roster.Session, error) {
	var v struct {
		s                      roster.Session
		created, used, expires timeDest
	}
	if err := r.Scan(&v.s.ID, &v.s.User, &v.s.Method, &v.s.Token, &v.s.Issuer, &v.created, &v.used, &v.expires); err != nil {
		return v.s, err
	}
	v.s.CreatedAt, v.s.LastUsedAt, v.s.ExpiresAt = v.created.T, v.used.T, v.expires.T
	return v.s, nil
}

// CreateSession stores a new console session with the hash of its secret.
func (t *Tx) CreateSession(ctx context.Context, s *roster.Session, hash string) error {
	e := t.enc()
	args := []any{s.ID, hash, s.User, s.Method, s.Token, s.Issuer, e.time(s.CreatedAt), e.time(s.LastUsedAt), e.time(s.ExpiresAt)}
	if e.err != nil {
		return fmt.Errorf("create session: %w", e.err)
	}
	_, err := t.Q.ExecUnique(ctx, `INSERT INTO sessions (id, hash, user_id, method, token_id, issuer, created_at, last_used_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if t.D.UniqueViolation(err) {
		return roster.Errorf(roster.ECONFLICT, "session %s exists", s.ID)
	} else if err != nil {
		return fmt.Errorf("create session for %q: %w", s.User, err)
	}
	return nil
}

// Session returns the session with this id.
func (t *Tx) Session(ctx context.Context, id string) (*roster.Session, error) {
	s, err := one(ctx, t, scanSession, roster.Errorf(roster.ENOTFOUND, "session %q not found", id),
		`SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
	if failed(err) {
		return nil, fmt.Errorf("session %q: %w", id, err)
	}
	return s, err
}

// SessionByHash returns the session whose secret has this hash.
func (t *Tx) SessionByHash(ctx context.Context, hash string) (*roster.Session, error) {
	s, err := one(ctx, t, scanSession, roster.Errorf(roster.ENOTFOUND, "session not found"),
		`SELECT `+sessionColumns+` FROM sessions WHERE hash = ?`, hash)
	if failed(err) {
		return nil, fmt.Errorf("session by hash: %w", err)
	}
	return s, err
}

// Sessions lists the sessions of user (all when "").
func (t *Tx) Sessions(ctx context.Context, user string) ([]roster.Session, error) {
	q, args := `SELECT `+sessionColumns+` FROM sessions`, []any{}
	if user != "" {
		q, args = q+` WHERE user_id = ?`, []any{user}
	}
	out, err := List(ctx, t.Q, scanSession, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sessions: %w", err)
	}
	return out, nil
}

// TouchSession records that a session was used at at.
func (t *Tx) TouchSession(ctx context.Context, id string, at time.Time) error {
	e := t.enc()
	ts := e.time(at)
	if e.err != nil {
		return fmt.Errorf("touch session: %w", e.err)
	}
	if _, err := t.Q.Exec(ctx, `UPDATE sessions SET last_used_at = ? WHERE id = ?`, ts, id); err != nil {
		return fmt.Errorf("touch session %s: %w", id, err)
	}
	return nil
}

// DeleteSessions ends the session id, or user's, or those signed in with
// token, and returns their ids.
func (t *Tx) DeleteSessions(ctx context.Context, id, user, token string) ([]string, error) {
	var col, val string
	switch {
	case id != "":
		col, val = "id", id
	case user != "":
		col, val = "user_id", user
	case token != "":
		col, val = "token_id", token
	default:
		return nil, fmt.Errorf("delete sessions: no session, user or token named")
	}
	ids, err := List(ctx, t.Q, ScanString, `SELECT id FROM sessions WHERE `+col+` = ? ORDER BY id`, val)
	if err != nil {
		return nil, fmt.Errorf("delete sessions: %w", err)
	}
	if len(ids) == 0 {
		return ids, nil
	}
	if _, err := t.Q.Exec(ctx, `DELETE FROM sessions WHERE `+col+` = ?`, val); err != nil {
		return nil, fmt.Errorf("delete sessions: %w", err)
	}
	return ids, nil
}

// DeleteStaleSessions removes the sessions last used before usedBefore or
// expired at now.
func (t *Tx) DeleteStaleSessions(ctx context.Context, usedBefore, now time.Time) (int, error) {
	e := t.enc()
	before, at := e.time(usedBefore), e.time(now)
	if e.err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", e.err)
	}
	n, err := t.Q.Exec(ctx, `DELETE FROM sessions WHERE last_used_at < ? OR expires_at <= ?`, before, at)
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	return int(n), nil
}
