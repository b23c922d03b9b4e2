package postgres

import (
	"context"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/internal/sqlstore"
)

// RaiseSerializationFailure runs a statement in tx that fails with SQLSTATE
// 40001, as a lost race would, and returns an unrelated error in its place.
func RaiseSerializationFailure(ctx context.Context, rtx roster.Tx) error {
	t := rtx.(*tx)
	_, err := t.exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'lost a race' USING ERRCODE = 'serialization_failure'; END $$`)
	if err == nil {
		return roster.Errorf(roster.EINTERNAL, "the statement did not fail")
	}
	return roster.Errorf(roster.EINVALID, "something else went wrong")
}

// WithoutWriterLock makes Update leave out the writer lock until the test
// ends, as finer locks will: what does not rely on it must still hold.
func WithoutWriterLock(t *testing.T) {
	takeWriterLock = false
	t.Cleanup(func() { takeWriterLock = true })
}

// Copies returns how many COPY statements have written held rows.
func Copies() int64 { return copies.Load() }

// Setting returns the value of a run-time parameter as tx sees it.
func Setting(ctx context.Context, rtx roster.Tx, name string) (string, error) {
	var v string
	err := rtx.(*tx).tx.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v)
	return v, err
}

// UserLockKey returns the key of user id's advisory lock, as Lock computes
// it in Go.
func UserLockKey(id string) int32 { return keyOf(classUser, id, false).key }

// QueryRowForTest runs a query in tx, as the store's own statements run.
func QueryRowForTest(ctx context.Context, rtx roster.Tx, sql string, args ...any) interface{ Scan(...any) error } {
	return rtx.(*tx).tx.QueryRow(ctx, sql, args...)
}

// QueueStatements are the statements that read the event queue when events
// are sealed: the probe, and the seal (with its limit as $1).
var QueueStatements = []string{queuedEvents, sealQueued}

// AroundStatements returns the statements of Around around k, numbered as
// the store sends them, with their arguments.
func AroundStatements(k sqlstore.AroundKey) ([]string, [][]any) {
	reads, _ := sqlstore.AroundReads(dialect{}, k)
	var stmts []string
	var args [][]any
	for _, r := range reads {
		stmts = append(stmts, rebind(r.Query))
		args = append(args, r.Args)
	}
	return stmts, args
}
