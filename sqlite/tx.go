package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// tx is one transaction; it implements roster.Tx. The queries both stores
// share come from sqlstore.Tx; tx writes the rows of the busiest tables
// behind (see writeBehind), numbers held tasks itself, appends events in
// multi-row statements and scans syncs with SQLite's JSON functions.
type tx struct {
	sqlstore.Tx
	tx cachedTx
}

var _ roster.Tx = (*tx)(nil)

// newTx returns the store's transaction on ct.
func newTx(ct cachedTx) *tx {
	return &tx{Tx: sqlstore.Tx{Q: ct, D: dialect{}}, tx: ct}
}

// querier is what view.go's helpers need of a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// PutUser inserts or replaces a user. It is written behind (see
// writeBehind): a file or a connector puts users by the thousand.
func (t *tx) PutUser(ctx context.Context, u *roster.User) error {
	args, err := sqlstore.UserArgs(dialect{}, u)
	if err == nil {
		err = t.tx.held.add(ctx, t.tx, t.tx.held.tables[3], args...)
	}
	if err != nil {
		return fmt.Errorf("put user %q: %w", u.ID, err)
	}
	return nil
}

// userInsert upserts users, keyed by id. A user put twice ends as put last.
var userInsert = newUpsert("users", strings.Split(sqlstore.UserColumns, ", "), 1)
