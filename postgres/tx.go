package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/paging"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/rosterhq/roster"
)

// tx implements roster.Tx on one PostgreSQL transaction.
type tx struct {
	tx pgx.Tx
	// conflict is the first serialization failure or deadlock a statement
	// met. The transaction is then aborted and must be run again, whatever
	// fn makes of the error.
	conflict error
}

var _ roster.Tx = (*tx)(nil)

// note remembers a serialization failure or deadlock and returns err.
func (t *tx) note(err error) error {
	if t.conflict == nil && err != nil && isRetryable(err) {
		t.conflict = err
	}
	return err
}

// exec runs a statement.
func (t *tx) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.tx.Exec(ctx, query, args...)
	return tag, t.note(err)
}

// queryRow runs a query that returns at most one row.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	return notedRow{t: t, row: t.tx.QueryRow(ctx, query, args...)}
}

// notedRow is a pgx.Row whose error is noted by its transaction.
type notedRow struct {
	t   *tx
	row pgx.Row
}

// Scan implements rowScanner.
func (r notedRow) Scan(dest ...any) error { return r.t.note(r.row.Scan(dest...)) }

// where collects the conditions and arguments of a WHERE clause, numbering
// the placeholders.
type where struct {
	conds []string
	args  []any
}

// arg adds an argument and returns its placeholder ("$1", "$2", ...).
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// add adds a condition whose placeholders come from arg.
func (w *where) add(cond string) {
	w.conds = append(w.conds, cond)
}

// eq adds "col = v" when v is not empty.
func (w *where) eq(col, v string) {
	if v != "" {
		w.add(col + " = " + w.arg(v))
	}
}

// String returns the clause, with its leading " WHERE", or "".
func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// list runs a query and scans every row with scan. It never returns a nil
// slice on success.
func list[T any](ctx context.Context, t *tx, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return nil, t.note(err)
	}
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.note(err)
		}
		items = append(items, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.note(err)
	}
	return items, nil
}

// one runs a query that returns at most one row. When there is none it
// returns notFound.
func one[T any](ctx context.Context, t *tx, scan func(rowScanner) (T, error), notFound *roster.Error, query string, args ...any) (*T, error) {
	v, err := scan(t.queryRow(ctx, query, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	return &v, nil
}

// paginate turns the up to n+1 items of a keyset query into a page of at most
// n items, with the cursor of the last one when more follow.
func paginate[T any](items []T, n int, key func(*T) any) *roster.Page[T] {
	p := &roster.Page[T]{Items: items}
	if len(items) > n {
		p.Items = items[:n]
		p.NextCursor = paging.Encode(key(&p.Items[n-1]))
	}
	return p
}

// --- settings ---

// Settings returns the tenant settings, DefaultSettings when never saved.
func (t *tx) Settings(ctx context.Context) (*roster.Settings, error) {
	var data []byte
	err := t.queryRow(ctx, `SELECT data FROM settings WHERE id = 1`).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		s := roster.DefaultSettings()
		return &s, nil
	} else if err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	var s roster.Settings
	if err := decJSON("settings", data, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// PutSettings saves the tenant settings.
func (t *tx) PutSettings(ctx context.Context, s *roster.Settings) error {
	var e encoder
	data := e.json(s)
	if e.err != nil {
		return e.err
	}
	if _, err := t.exec(ctx, `
		INSERT INTO settings (id, data) VALUES (1, $1)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`, data); err != nil {
		return fmt.Errorf("put settings: %w", err)
	}
	return nil
}

// --- users ---

const userColumns = `id, email, name, manager, department, title, status, role, attributes, created_at, updated_at`

// scanUser scans a row of userColumns.
func scanUser(r rowScanner) (roster.User, error) {
	var (
		u     roster.User
		attrs []byte
	)
	if err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Manager, &u.Department, &u.Title,
		&u.Status, &u.Role, &attrs, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return u, err
	}
	u.CreatedAt, u.UpdatedAt = decTime(u.CreatedAt), decTime(u.UpdatedAt)
	return u, decJSON("user attributes", attrs, &u.Attributes)
}

// User returns a user by id.
func (t *tx) User(ctx context.Context, id string) (*roster.User, error) {
	u, err := one(ctx, t, scanUser, roster.Errorf(roster.ENOTFOUND, "user %q not found", id),
		`SELECT `+userColumns+` FROM users WHERE id = $1`, id)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("user %q: %w", id, err)
	}
	return u, err
}

// Users returns one page of users, ordered by id.
func (t *tx) Users(ctx context.Context, f roster.UserFilter) (*roster.Page[roster.User], error) {
	var w where
	w.eq("status", f.Status)
	w.eq("department", f.Department)
	w.eq("manager", f.Manager)
	if f.Cursor != "" {
		var k stringKey
		if err := decodeCursor(f.Cursor, &k); err != nil || k.ID == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("id > " + w.arg(*k.ID))
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t, scanUser,
		`SELECT `+userColumns+` FROM users`+w.String()+` ORDER BY id LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return paginate(items, n, func(u *roster.User) any { return stringKey{ID: &u.ID} }), nil
}

// AllUsers returns every user, ordered by id.
func (t *tx) AllUsers(ctx context.Context) ([]roster.User, error) {
	users, err := list(ctx, t, scanUser, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("all users: %w", err)
	}
	return users, nil
}

// UsersOf returns those of ids that are users, in no particular order.
func (t *tx) UsersOf(ctx context.Context, ids []string) ([]roster.User, error) {
	if len(ids) == 0 {
		return []roster.User{}, nil
	}
	users, err := list(ctx, t, scanUser, `SELECT `+userColumns+` FROM users WHERE id = ANY($1::text[])`, ids)
	if err != nil {
		return nil, fmt.Errorf("users of %d ids: %w", len(ids), err)
	}
	return users, nil
}

// PutUser inserts or replaces a user.
func (t *tx) PutUser(ctx context.Context, u *roster.User) error {
	var e encoder
	args := []any{u.ID, u.Email, u.Name, u.Manager, u.Department, u.Title, u.Status, u.Role,
		e.json(u.Attributes), e.time(u.CreatedAt), e.time(u.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put user %q: %w", u.ID, e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET
			email = excluded.email, name = excluded.name, manager = excluded.manager,
			department = excluded.department, title = excluded.title, status = excluded.status,
			role = excluded.role, attributes = excluded.attributes,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...); err != nil {
		return fmt.Errorf("put user %q: %w", u.ID, err)
	}
	return nil
}

// Admins returns the ids of the active admins, ordered.
func (t *tx) Admins(ctx context.Context) ([]string, error) {
	ids, err := list(ctx, t, scanString,
		`SELECT id FROM users WHERE role = $1 AND status = $2 ORDER BY id`, roster.RoleAdmin, roster.UserActive)
	if err != nil {
		return nil, fmt.Errorf("admins: %w", err)
	}
	return ids, nil
}

// scanString scans a row of one text column.
func scanString(r rowScanner) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}

// --- tokens ---

// PutToken stores an API token by the hash of its secret.
func (t *tx) PutToken(ctx context.Context, hash, user string, at time.Time) error {
	var e encoder
	ts := e.time(at)
	if e.err != nil {
		return fmt.Errorf("put token: %w", e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO tokens (hash, user_id, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at`,
		hash, user, ts); err != nil {
		return fmt.Errorf("put token for %q: %w", user, err)
	}
	return nil
}

// TokenUser returns the user a token hash belongs to.
func (t *tx) TokenUser(ctx context.Context, hash string) (string, error) {
	var user string
	err := t.queryRow(ctx, `SELECT user_id FROM tokens WHERE hash = $1`, hash).Scan(&user)
	if errors.Is(err, pgx.ErrNoRows) {
		// The hash is a credential: it is not repeated in the message.
		return "", roster.Errorf(roster.ENOTFOUND, "token not found")
	} else if err != nil {
		return "", fmt.Errorf("token user: %w", err)
	}
	return user, nil
}

// --- apps ---

const appColumns = `id, name, owners, created_at, updated_at`

// scanApp scans a row of appColumns.
func scanApp(r rowScanner) (roster.App, error) {
	var (
		a      roster.App
		owners []byte
	)
	if err := r.Scan(&a.ID, &a.Name, &owners, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = decTime(a.CreatedAt), decTime(a.UpdatedAt)
	return a, decJSON("app owners", owners, &a.Owners)
}

// App returns an app by id.
func (t *tx) App(ctx context.Context, id string) (*roster.App, error) {
	a, err := one(ctx, t, scanApp, roster.Errorf(roster.ENOTFOUND, "app %q not found", id),
		`SELECT `+appColumns+` FROM apps WHERE id = $1`, id)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("app %q: %w", id, err)
	}
	return a, err
}

// Apps returns every app, ordered by id.
func (t *tx) Apps(ctx context.Context) ([]roster.App, error) {
	apps, err := list(ctx, t, scanApp, `SELECT `+appColumns+` FROM apps ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	return apps, nil
}

// PutApp inserts or replaces an app.
func (t *tx) PutApp(ctx context.Context, a *roster.App) error {
	var e encoder
	args := []any{a.ID, a.Name, e.json(a.Owners), e.time(a.CreatedAt), e.time(a.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put app %q: %w", a.ID, e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO apps (`+appColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET
			name = excluded.name, owners = excluded.owners,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...); err != nil {
		return fmt.Errorf("put app %q: %w", a.ID, err)
	}
	return nil
}

// --- entitlements ---

const entitlementColumns = `id, app, name, request_policy, revoke_policy, provisioning, provisioners, risk, profile_id, created_at, updated_at`

// scanEntitlement scans a row of entitlementColumns.
func scanEntitlement(r rowScanner) (roster.Entitlement, error) {
	var (
		en           roster.Entitlement
		provisioners []byte
	)
	if err := r.Scan(&en.ID, &en.App, &en.Name, &en.RequestPolicy, &en.RevokePolicy, &en.Provisioning,
		&provisioners, &en.Risk, &en.Profile, &en.CreatedAt, &en.UpdatedAt); err != nil {
		return en, err
	}
	en.CreatedAt, en.UpdatedAt = decTime(en.CreatedAt), decTime(en.UpdatedAt)
	return en, decJSON("entitlement provisioners", provisioners, &en.Provisioners)
}

// Entitlement returns an entitlement by its "APP/ENT" id.
func (t *tx) Entitlement(ctx context.Context, id string) (*roster.Entitlement, error) {
	en, err := one(ctx, t, scanEntitlement, roster.Errorf(roster.ENOTFOUND, "entitlement %q not found", id),
		`SELECT `+entitlementColumns+` FROM entitlements WHERE id = $1`, id)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("entitlement %q: %w", id, err)
	}
	return en, err
}

// Entitlements returns one page of entitlements, ordered by id.
func (t *tx) Entitlements(ctx context.Context, f roster.EntitlementFilter) (*roster.Page[roster.Entitlement], error) {
	var w where
	w.eq("app", f.App)
	if f.Cursor != "" {
		var k stringKey
		if err := decodeCursor(f.Cursor, &k); err != nil || k.ID == nil {
			return nil, roster.Errorf(roster.EINVALID, "invalid cursor %q", f.Cursor)
		}
		w.add("id > " + w.arg(*k.ID))
	}
	n := paging.Size(f.Limit)
	items, err := list(ctx, t, scanEntitlement,
		`SELECT `+entitlementColumns+` FROM entitlements`+w.String()+` ORDER BY id LIMIT `+w.arg(n+1), w.args...)
	if err != nil {
		return nil, fmt.Errorf("entitlements: %w", err)
	}
	return paginate(items, n, func(en *roster.Entitlement) any { return stringKey{ID: &en.ID} }), nil
}

// PutEntitlement inserts or replaces an entitlement.
func (t *tx) PutEntitlement(ctx context.Context, en *roster.Entitlement) error {
	var e encoder
	args := []any{en.ID, en.App, en.Name, en.RequestPolicy, en.RevokePolicy, en.Provisioning,
		e.json(en.Provisioners), en.Risk, en.Profile, e.time(en.CreatedAt), e.time(en.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put entitlement %q: %w", en.ID, e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO entitlements (`+entitlementColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET
			app = excluded.app, name = excluded.name, request_policy = excluded.request_policy,
			revoke_policy = excluded.revoke_policy, provisioning = excluded.provisioning,
			provisioners = excluded.provisioners, risk = excluded.risk, profile_id = excluded.profile_id,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...); err != nil {
		return fmt.Errorf("put entitlement %q: %w", en.ID, err)
	}
	return nil
}

// --- policies ---

const policyColumns = `id, steps, created_at, updated_at`

// scanPolicy scans a row of policyColumns.
func scanPolicy(r rowScanner) (roster.Policy, error) {
	var (
		p     roster.Policy
		steps []byte
	)
	if err := r.Scan(&p.ID, &steps, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = decTime(p.CreatedAt), decTime(p.UpdatedAt)
	return p, decJSON("policy steps", steps, &p.Steps)
}

// Policy returns a policy by id.
func (t *tx) Policy(ctx context.Context, id string) (*roster.Policy, error) {
	p, err := one(ctx, t, scanPolicy, roster.Errorf(roster.ENOTFOUND, "policy %q not found", id),
		`SELECT `+policyColumns+` FROM policies WHERE id = $1`, id)
	if err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		return nil, fmt.Errorf("policy %q: %w", id, err)
	}
	return p, err
}

// Policies returns every policy, ordered by id.
func (t *tx) Policies(ctx context.Context) ([]roster.Policy, error) {
	ps, err := list(ctx, t, scanPolicy, `SELECT `+policyColumns+` FROM policies ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return ps, nil
}

// PutPolicy inserts or replaces a policy.
func (t *tx) PutPolicy(ctx context.Context, p *roster.Policy) error {
	var e encoder
	args := []any{p.ID, e.json(p.Steps), e.time(p.CreatedAt), e.time(p.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put policy %q: %w", p.ID, e.err)
	}
	if _, err := t.exec(ctx, `
		INSERT INTO policies (`+policyColumns+`) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET
			steps = excluded.steps, created_at = excluded.created_at, updated_at = excluded.updated_at`,
		args...); err != nil {
		return fmt.Errorf("put policy %q: %w", p.ID, err)
	}
	return nil
}
