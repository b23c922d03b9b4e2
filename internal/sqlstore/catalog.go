package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
)

// decJSON decodes the JSON b of column col into v.
func decJSON(col string, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", col, err)
	}
	return nil
}

// --- settings ---

// Settings returns the tenant settings, DefaultSettings when never saved.
func (t *Tx) Settings(ctx context.Context) (*roster.Settings, error) {
	var data []byte
	err := t.Q.QueryRow(ctx, `SELECT data FROM settings WHERE id = 1`).Scan(&data)
	if t.D.NoRows(err) {
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
func (t *Tx) PutSettings(ctx context.Context, s *roster.Settings) error {
	e := t.enc()
	data := e.JSON(s)
	if e.Err != nil {
		return e.Err
	}
	if _, err := t.Q.Exec(ctx, `
		INSERT INTO settings (id, data) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET data = excluded.data`, data); err != nil {
		return fmt.Errorf("put settings: %w", err)
	}
	return nil
}

// --- users ---

// UserColumns are the columns of a user, in the order of UserArgs.
const UserColumns = `id, email, name, manager, department, title, status, role, attributes, created_at, updated_at`

// scanUser scans a row of UserColumns.
func scanUser(r Row) (roster.User, error) {
	var (
		u            roster.User
		attrs        []byte
		created, upd Time
	)
	if err := r.Scan(&u.ID, &u.Email, &u.Name, &u.Manager, &u.Department, &u.Title,
		&u.Status, &u.Role, &attrs, &created, &upd); err != nil {
		return u, err
	}
	u.CreatedAt, u.UpdatedAt = created.T, upd.T
	return u, decJSON("user attributes", attrs, &u.Attributes)
}

// UserArgs returns the values of UserColumns for u.
func UserArgs(d Dialect, u *roster.User) ([]any, error) {
	e := Encoder{D: d}
	args := []any{u.ID, u.Email, u.Name, u.Manager, u.Department, u.Title, u.Status, u.Role,
		e.JSON(u.Attributes), e.Time(u.CreatedAt), e.Time(u.UpdatedAt)}
	return args, e.Err
}

// User returns a user by id.
func (t *Tx) User(ctx context.Context, id string) (*roster.User, error) {
	u, err := One(ctx, t, scanUser, roster.Errorf(roster.ENOTFOUND, "user %q not found", id),
		`SELECT `+UserColumns+` FROM users WHERE id = ?`, id)
	return got(u, err, "user %q", id)
}

// Users returns one page of users, ordered by id.
func (t *Tx) Users(ctx context.Context, f roster.UserFilter) (*roster.Page[roster.User], error) {
	var w Where
	w.Eq("status", f.Status)
	w.Eq("department", f.Department)
	w.Eq("manager", f.Manager)
	if err := t.after(&w, "id", f.Cursor); err != nil {
		return nil, err
	}
	p, err := page(ctx, t, scanUser, `SELECT `+UserColumns+` FROM users`, &w, "id", f.Limit,
		func(u *roster.User) any { return StringKey{ID: &u.ID} })
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	return p, nil
}

// AllUsers returns every user, ordered by id.
func (t *Tx) AllUsers(ctx context.Context) ([]roster.User, error) {
	users, err := List(ctx, t.Q, scanUser, `SELECT `+UserColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("all users: %w", err)
	}
	return users, nil
}

// UsersOf returns those of ids that are users, in no particular order. The
// ids travel as one argument.
func (t *Tx) UsersOf(ctx context.Context, ids []string) ([]roster.User, error) {
	if len(ids) == 0 {
		return []roster.User{}, nil
	}
	e := t.enc()
	arg := e.IDs(ids)
	if e.Err != nil {
		return nil, e.Err
	}
	users, err := List(ctx, t.Q, scanUser, `SELECT `+UserColumns+` FROM users WHERE `+t.D.In("id"), arg)
	if err != nil {
		return nil, fmt.Errorf("users of %d ids: %w", len(ids), err)
	}
	return users, nil
}

// Admins returns the ids of the active admins, ordered.
func (t *Tx) Admins(ctx context.Context) ([]string, error) {
	ids, err := List(ctx, t.Q, ScanString,
		`SELECT id FROM users WHERE role = ? AND status = ? ORDER BY id`, roster.RoleAdmin, roster.UserActive)
	if err != nil {
		return nil, fmt.Errorf("admins: %w", err)
	}
	return ids, nil
}

// DisabledUsers returns those of ids whose status is not active, ordered.
func (t *Tx) DisabledUsers(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return []string{}, nil
	}
	e := t.enc()
	arg := e.IDs(ids)
	if e.Err != nil {
		return nil, e.Err
	}
	out, err := List(ctx, t.Q, ScanString, `
		SELECT id FROM users
		WHERE status <> 'active' AND `+t.D.In("id")+`
		ORDER BY id`, arg)
	if err != nil {
		return nil, fmt.Errorf("disabled users: %w", err)
	}
	return out, nil
}

// --- tokens ---

// PutToken stores an API token by the hash of its secret.
func (t *Tx) PutToken(ctx context.Context, hash, user string, at time.Time) error {
	e := t.enc()
	ts := e.Time(at)
	if e.Err != nil {
		return fmt.Errorf("put token: %w", e.Err)
	}
	if _, err := t.Q.Exec(ctx, `
		INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)
		ON CONFLICT (hash) DO UPDATE SET user_id = excluded.user_id, created_at = excluded.created_at`,
		hash, user, ts); err != nil {
		return fmt.Errorf("put token for %q: %w", user, err)
	}
	return nil
}

// TokenUser returns the user a token hash belongs to.
func (t *Tx) TokenUser(ctx context.Context, hash string) (string, error) {
	var user string
	err := t.Q.QueryRow(ctx, `SELECT user_id FROM tokens WHERE hash = ?`, hash).Scan(&user)
	if t.D.NoRows(err) {
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
func scanApp(r Row) (roster.App, error) {
	var (
		a            roster.App
		owners       []byte
		created, upd Time
	)
	if err := r.Scan(&a.ID, &a.Name, &owners, &created, &upd); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = created.T, upd.T
	return a, decJSON("app owners", owners, &a.Owners)
}

// App returns an app by id.
func (t *Tx) App(ctx context.Context, id string) (*roster.App, error) {
	a, err := One(ctx, t, scanApp, roster.Errorf(roster.ENOTFOUND, "app %q not found", id),
		`SELECT `+appColumns+` FROM apps WHERE id = ?`, id)
	return got(a, err, "app %q", id)
}

// Apps returns every app, ordered by id.
func (t *Tx) Apps(ctx context.Context) ([]roster.App, error) {
	apps, err := List(ctx, t.Q, scanApp, `SELECT `+appColumns+` FROM apps ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("apps: %w", err)
	}
	return apps, nil
}

// PutApp inserts or replaces an app.
func (t *Tx) PutApp(ctx context.Context, a *roster.App) error {
	e := t.enc()
	args := []any{a.ID, a.Name, e.JSON(a.Owners), e.Time(a.CreatedAt), e.Time(a.UpdatedAt)}
	if e.Err != nil {
		return fmt.Errorf("put app %q: %w", a.ID, e.Err)
	}
	if _, err := t.Q.Exec(ctx, `
		INSERT INTO apps (`+appColumns+`) VALUES (?, ?, ?, ?, ?)
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
func scanEntitlement(r Row) (roster.Entitlement, error) {
	var (
		en           roster.Entitlement
		provisioners []byte
		created, upd Time
	)
	if err := r.Scan(&en.ID, &en.App, &en.Name, &en.RequestPolicy, &en.RevokePolicy, &en.Provisioning,
		&provisioners, &en.Risk, &en.Profile, &created, &upd); err != nil {
		return en, err
	}
	en.CreatedAt, en.UpdatedAt = created.T, upd.T
	return en, decJSON("entitlement provisioners", provisioners, &en.Provisioners)
}

// Entitlement returns an entitlement by its "APP/ENT" id.
func (t *Tx) Entitlement(ctx context.Context, id string) (*roster.Entitlement, error) {
	en, err := One(ctx, t, scanEntitlement, roster.Errorf(roster.ENOTFOUND, "entitlement %q not found", id),
		`SELECT `+entitlementColumns+` FROM entitlements WHERE id = ?`, id)
	return got(en, err, "entitlement %q", id)
}

// Entitlements returns one page of entitlements, ordered by id.
func (t *Tx) Entitlements(ctx context.Context, f roster.EntitlementFilter) (*roster.Page[roster.Entitlement], error) {
	var w Where
	w.Eq("app", f.App)
	if err := t.after(&w, "id", f.Cursor); err != nil {
		return nil, err
	}
	p, err := page(ctx, t, scanEntitlement, `SELECT `+entitlementColumns+` FROM entitlements`, &w, "id", f.Limit,
		func(en *roster.Entitlement) any { return StringKey{ID: &en.ID} })
	if err != nil {
		return nil, fmt.Errorf("entitlements: %w", err)
	}
	return p, nil
}

// PutEntitlement inserts or replaces an entitlement.
func (t *Tx) PutEntitlement(ctx context.Context, en *roster.Entitlement) error {
	e := t.enc()
	args := []any{en.ID, en.App, en.Name, en.RequestPolicy, en.RevokePolicy, en.Provisioning,
		e.JSON(en.Provisioners), en.Risk, en.Profile, e.Time(en.CreatedAt), e.Time(en.UpdatedAt)}
	if e.Err != nil {
		return fmt.Errorf("put entitlement %q: %w", en.ID, e.Err)
	}
	if _, err := t.Q.Exec(ctx, `
		INSERT INTO entitlements (`+entitlementColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
func scanPolicy(r Row) (roster.Policy, error) {
	var (
		p            roster.Policy
		steps        []byte
		created, upd Time
	)
	if err := r.Scan(&p.ID, &steps, &created, &upd); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = created.T, upd.T
	return p, decJSON("policy steps", steps, &p.Steps)
}

// Policy returns a policy by id.
func (t *Tx) Policy(ctx context.Context, id string) (*roster.Policy, error) {
	p, err := One(ctx, t, scanPolicy, roster.Errorf(roster.ENOTFOUND, "policy %q not found", id),
		`SELECT `+policyColumns+` FROM policies WHERE id = ?`, id)
	return got(p, err, "policy %q", id)
}

// Policies returns every policy, ordered by id.
func (t *Tx) Policies(ctx context.Context) ([]roster.Policy, error) {
	ps, err := List(ctx, t.Q, scanPolicy, `SELECT `+policyColumns+` FROM policies ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	return ps, nil
}

// PutPolicy inserts or replaces a policy.
func (t *Tx) PutPolicy(ctx context.Context, p *roster.Policy) error {
	e := t.enc()
	args := []any{p.ID, e.JSON(p.Steps), e.Time(p.CreatedAt), e.Time(p.UpdatedAt)}
	if e.Err != nil {
		return fmt.Errorf("put policy %q: %w", p.ID, e.Err)
	}
	if _, err := t.Q.Exec(ctx, `
		INSERT INTO policies (`+policyColumns+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			steps = excluded.steps, created_at = excluded.created_at, updated_at = excluded.updated_at`,
		args...); err != nil {
		return fmt.Errorf("put policy %q: %w", p.ID, err)
	}
	return nil
}

// PutUser inserts or replaces a user with an upsert. (SQLite writes users
// behind instead.)
func (t *Tx) PutUser(ctx context.Context, u *roster.User) error {
	args, err := UserArgs(t.D, u)
	if err == nil {
		_, err = t.Q.Exec(ctx, `
		INSERT INTO users (`+UserColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			email = excluded.email, name = excluded.name, manager = excluded.manager,
			department = excluded.department, title = excluded.title, status = excluded.status,
			role = excluded.role, attributes = excluded.attributes,
			created_at = excluded.created_at, updated_at = excluded.updated_at`, args...)
	}
	if err != nil {
		return fmt.Errorf("put user %q: %w", u.ID, err)
	}
	return nil
}
