package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

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

var settingsUpsert = upsert("settings", 1, "id, data")

// PutSettings saves the tenant settings.
func (t *Tx) PutSettings(ctx context.Context, s *roster.Settings) error {
	e := t.enc()
	data := e.json(s)
	if e.err != nil {
		return e.err
	}
	if _, err := t.Q.Exec(ctx, settingsUpsert, 1, data); err != nil {
		return fmt.Errorf("put settings: %w", err)
	}
	return nil
}

// --- users ---

// UserColumns are the columns of a user, in the order of UserArgs.
const UserColumns = `id, email, name, manager, department, title, location, employment_type, start_date, end_date, status, role, kind, attributes, notify, created_at, updated_at`

// scanUser scans a row of UserColumns.
// ScanUser scans a row of UserColumns.
func ScanUser(r Row) (roster.User, error) { return scanUser(r) }

func scanUser(r Row) (roster.User, error) {
	var v userRow
	if err := r.Scan(v.dest()...); err != nil {
		return v.u, err
	}
	return v.user()
}

// userRow receives a row of UserColumns.
type userRow struct {
	u            roster.User
	attrs        []byte
	created, upd timeDest
}

// dest returns where Scan puts UserColumns.
func (v *userRow) dest() []any {
	return []any{&v.u.ID, &v.u.Email, &v.u.Name, &v.u.Manager, &v.u.Department, &v.u.Title,
		&v.u.Location, &v.u.EmploymentType, &v.u.StartDate, &v.u.EndDate,
		&v.u.Status, &v.u.Role, &v.u.Kind, &v.attrs, &v.u.Notify, &v.created, &v.upd}
}

// user returns the user scanned.
func (v *userRow) user() (roster.User, error) {
	v.u.CreatedAt, v.u.UpdatedAt = v.created.T, v.upd.T
	return v.u, decJSON("user attributes", v.attrs, &v.u.Attributes)
}

// UserArgs returns the values of UserColumns for u.
func UserArgs(d Dialect, u *roster.User) ([]any, error) {
	e := encoder{d: d}
	args := []any{u.ID, u.Email, u.Name, u.Manager, u.Department, u.Title,
		u.Location, u.EmploymentType, u.StartDate, u.EndDate, u.Status, u.Role, u.Kind,
		e.json(u.Attributes), u.Notify, e.time(u.CreatedAt), e.time(u.UpdatedAt)}
	return args, e.err
}

var (
	userTable  = newByID("users", "user", "all users", UserColumns, scanUser)
	userUpsert = upsert("users", 1, UserColumns)
)

// User returns a user by id.
func (t *Tx) User(ctx context.Context, id string) (*roster.User, error) {
	return userTable.get(ctx, t, id)
}

// Users returns one page of users, ordered by id.
func (t *Tx) Users(ctx context.Context, f roster.UserFilter) (*roster.Page[roster.User], error) {
	var w where
	w.eq("status", f.Status)
	w.eq("department", f.Department)
	w.eq("manager", f.Manager)
	w.contains(f.Query, "id", "name", "email")
	var total *int
	if f.Total {
		n, err := count(ctx, t, `SELECT COUNT(*) FROM users`, &w)
		if err != nil {
			return nil, fmt.Errorf("users: %w", err)
		}
		total = &n
	}
	if err := t.after(&w, "id", f.Cursor); err != nil {
		return nil, err
	}
	p, err := page(ctx, t, scanUser, `SELECT `+UserColumns+` FROM users`, &w, "id", f.Limit,
		func(u *roster.User) any { return stringKey{ID: &u.ID} })
	if err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	p.Total = total
	return p, nil
}

// AllUsers returns every user, ordered by id.
func (t *Tx) AllUsers(ctx context.Context) ([]roster.User, error) { return userTable.list(ctx, t) }

// UsersOf returns those of ids that are users, in no particular order. The
// ids travel as one argument.
func (t *Tx) UsersOf(ctx context.Context, ids []string) ([]roster.User, error) {
	users, err := listIn(ctx, t, scanUser, `SELECT `+UserColumns+` FROM users WHERE `+t.D.In("id"), ids)
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
// Many ids (a sync's every holder and member) are found faster among the
// users who are not active, read through users_status, than looked up one
// by one: it reads those first, up to one more than there are ids, and
// looks the ids up only when there are more.
func (t *Tx) DisabledUsers(ctx context.Context, ids []string) ([]string, error) {
	if len(ids) >= disabledAmongMin {
		inactive, err := List(ctx, t.Q, ScanString,
			`SELECT id FROM users WHERE status < 'active' OR status > 'active' LIMIT ?`, len(ids)+1)
		if err != nil {
			return nil, fmt.Errorf("disabled users: %w", err)
		}
		if len(inactive) <= len(ids) {
			asked := make(map[string]bool, len(ids))
			for _, id := range ids {
				asked[id] = true
			}
			out := []string{}
			for _, id := range inactive {
				if asked[id] {
					out = append(out, id)
				}
			}
			slices.Sort(out)
			return out, nil
		}
	}
	out, err := listIn(ctx, t, ScanString, `
		SELECT id FROM users
		WHERE status <> 'active' AND `+t.D.In("id")+`
		ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("disabled users: %w", err)
	}
	return out, nil
}

// disabledAmongMin is the least number of ids for which DisabledUsers reads
// the users who are not active rather than look up the ids.
const disabledAmongMin = 512

// --- apps ---

const appColumns = `id, name, owners, created_at, updated_at`

// scanApp scans a row of appColumns.
func scanApp(r Row) (roster.App, error) {
	var v struct {
		a            roster.App
		owners       []byte
		created, upd timeDest
	}
	if err := r.Scan(&v.a.ID, &v.a.Name, &v.owners, &v.created, &v.upd); err != nil {
		return v.a, err
	}
	v.a.CreatedAt, v.a.UpdatedAt = v.created.T, v.upd.T
	return v.a, decJSON("app owners", v.owners, &v.a.Owners)
}

var (
	appTable  = newByID("apps", "app", "apps", appColumns, scanApp)
	appUpsert = upsert("apps", 1, appColumns)
)

// App returns an app by id.
func (t *Tx) App(ctx context.Context, id string) (*roster.App, error) {
	return appTable.get(ctx, t, id)
}

// Apps returns every app, ordered by id.
func (t *Tx) Apps(ctx context.Context) ([]roster.App, error) { return appTable.list(ctx, t) }

// PutApp inserts or replaces an app.
func (t *Tx) PutApp(ctx context.Context, a *roster.App) error {
	e := t.enc()
	args := []any{a.ID, a.Name, e.json(a.Owners), e.time(a.CreatedAt), e.time(a.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put app %q: %w", a.ID, e.err)
	}
	if _, err := t.Q.Exec(ctx, appUpsert, args...); err != nil {
		return fmt.Errorf("put app %q: %w", a.ID, err)
	}
	return nil
}

// --- entitlements ---

const entitlementColumns = `id, app, name, request_policy, revoke_policy, provisioning, provisioners, risk, profile_id, created_at, updated_at`

// scanEntitlement scans a row of entitlementColumns.
func scanEntitlement(r Row) (roster.Entitlement, error) {
	var v struct {
		en           roster.Entitlement
		provisioners []byte
		created, upd timeDest
	}
	if err := r.Scan(&v.en.ID, &v.en.App, &v.en.Name, &v.en.RequestPolicy, &v.en.RevokePolicy, &v.en.Provisioning,
		&v.provisioners, &v.en.Risk, &v.en.Profile, &v.created, &v.upd); err != nil {
		return v.en, err
	}
	v.en.CreatedAt, v.en.UpdatedAt = v.created.T, v.upd.T
	return v.en, decJSON("entitlement provisioners", v.provisioners, &v.en.Provisioners)
}

var (
	entitlementTable  = newByID("entitlements", "entitlement", "entitlements", entitlementColumns, scanEntitlement)
	entitlementUpsert = upsert("entitlements", 1, entitlementColumns)
)

// Entitlement returns an entitlement by its "APP/ENT" id.
func (t *Tx) Entitlement(ctx context.Context, id string) (*roster.Entitlement, error) {
	return entitlementTable.get(ctx, t, id)
}

// Entitlements returns one page of entitlements, ordered by id.
func (t *Tx) Entitlements(ctx context.Context, f roster.EntitlementFilter) (*roster.Page[roster.Entitlement], error) {
	var w where
	w.eq("app", f.App)
	if err := t.after(&w, "id", f.Cursor); err != nil {
		return nil, err
	}
	p, err := page(ctx, t, scanEntitlement, `SELECT `+entitlementColumns+` FROM entitlements`, &w, "id", f.Limit,
		func(en *roster.Entitlement) any { return stringKey{ID: &en.ID} })
	if err != nil {
		return nil, fmt.Errorf("entitlements: %w", err)
	}
	return p, nil
}

// PutEntitlement inserts or replaces an entitlement.
func (t *Tx) PutEntitlement(ctx context.Context, en *roster.Entitlement) error {
	e := t.enc()
	args := []any{en.ID, en.App, en.Name, en.RequestPolicy, en.RevokePolicy, en.Provisioning,
		e.json(en.Provisioners), en.Risk, en.Profile, e.time(en.CreatedAt), e.time(en.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put entitlement %q: %w", en.ID, e.err)
	}
	if _, err := t.Q.Exec(ctx, entitlementUpsert, args...); err != nil {
		return fmt.Errorf("put entitlement %q: %w", en.ID, err)
	}
	return nil
}

// --- policies ---

const policyColumns = `id, steps, created_at, updated_at`

// scanPolicy scans a row of policyColumns.
func scanPolicy(r Row) (roster.Policy, error) {
	var v struct {
		p            roster.Policy
		steps        []byte
		created, upd timeDest
	}
	if err := r.Scan(&v.p.ID, &v.steps, &v.created, &v.upd); err != nil {
		return v.p, err
	}
	v.p.CreatedAt, v.p.UpdatedAt = v.created.T, v.upd.T
	return v.p, decJSON("policy steps", v.steps, &v.p.Steps)
}

var (
	policyTable  = newByID("policies", "policy", "policies", policyColumns, scanPolicy)
	policyUpsert = upsert("policies", 1, policyColumns)
)

// Policy returns a policy by id.
func (t *Tx) Policy(ctx context.Context, id string) (*roster.Policy, error) {
	return policyTable.get(ctx, t, id)
}

// Policies returns every policy, ordered by id.
func (t *Tx) Policies(ctx context.Context) ([]roster.Policy, error) { return policyTable.list(ctx, t) }

// PutPolicy inserts or replaces a policy.
func (t *Tx) PutPolicy(ctx context.Context, p *roster.Policy) error {
	e := t.enc()
	args := []any{p.ID, e.json(p.Steps), e.time(p.CreatedAt), e.time(p.UpdatedAt)}
	if e.err != nil {
		return fmt.Errorf("put policy %q: %w", p.ID, e.err)
	}
	if _, err := t.Q.Exec(ctx, policyUpsert, args...); err != nil {
		return fmt.Errorf("put policy %q: %w", p.ID, err)
	}
	return nil
}

// PutUser inserts or replaces a user with an upsert. (SQLite writes users
// behind instead.)
func (t *Tx) PutUser(ctx context.Context, u *roster.User) error {
	args, err := UserArgs(t.D, u)
	if err == nil {
		_, err = t.Q.Exec(ctx, userUpsert, args...)
	}
	if err != nil {
		return fmt.Errorf("put user %q: %w", u.ID, err)
	}
	return nil
}
