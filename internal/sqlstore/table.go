package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/rosterhq/roster"
)

// upsert returns the statement that inserts a row of columns (a
// comma-separated list) into table or, when a row with the same key (the
// first keys columns) exists, replaces its other columns: how the Put
// methods write the whole object.
func upsert(table string, keys int, list string) string {
	columns := strings.Split(list, ", ")
	set := make([]string, 0, len(columns)-keys)
	for _, c := range columns[keys:] {
		set = append(set, c+" = excluded."+c)
	}
	return `INSERT INTO ` + table + ` (` + strings.Join(columns, ", ") + `) VALUES (` +
		strings.Repeat("?, ", len(columns)-1) + `?) ON CONFLICT (` + strings.Join(columns[:keys], ", ") +
		`) DO UPDATE SET ` + strings.Join(set, ", ")
}

// byID reads the rows of a table keyed by a text id, each one T.
type byID[T any] struct {
	// noun and plural name a row in errors: "app", "apps".
	noun, plural string
	scan         func(Row) (T, error)
	// one and all select a row by id and every row ordered by id.
	one, all string
}

// newByID returns the reads of table, whose columns scan reads.
func newByID[T any](table, noun, plural, columns string, scan func(Row) (T, error)) byID[T] {
	return byID[T]{noun: noun, plural: plural, scan: scan,
		one: `SELECT ` + columns + ` FROM ` + table + ` WHERE id = ?`,
		all: `SELECT ` + columns + ` FROM ` + table + ` ORDER BY id`}
}

// get returns the row of id; ENOTFOUND when there is none.
func (b byID[T]) get(ctx context.Context, t *Tx, id string) (*T, error) {
	v, err := one(ctx, t, b.scan, roster.Errorf(roster.ENOTFOUND, "%s %q not found", b.noun, id), b.one, id)
	if failed(err) {
		return nil, fmt.Errorf("%s %q: %w", b.noun, id, err)
	}
	return v, err
}

// list returns every row, ordered by id.
func (b byID[T]) list(ctx context.Context, t *Tx) ([]T, error) {
	vs, err := List(ctx, t.Q, b.scan, b.all)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.plural, err)
	}
	return vs, nil
}
