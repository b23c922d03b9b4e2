package sqlstore

import (
	"context"
	"fmt"
)

// AccessLogQueries are a store's queries of its access log (the table
// access_log, written by triggers; see roster.AccessLogStore), which differ
// in how a mark is made and compared.
type AccessLogQueries struct {
	// Mark returns the mark of the changes committed so far.
	Mark string
	// Since returns the users logged after its one placeholder's mark,
	// sorted and without duplicates.
	Since string
	// Reaches returns whether the log still holds every change after its
	// one placeholder's mark.
	Reaches string
	// Prune deletes the rows logged before its one placeholder's mark and
	// notes the mark: older ones no longer reach the log.
	Prune []string
}

// AccessMark implements roster.AccessLogStore.
func (t *Tx) AccessMark(ctx context.Context) (int64, error) {
	var mark int64
	if err := t.Q.QueryRow(ctx, t.D.AccessLog().Mark).Scan(&mark); err != nil {
		return 0, fmt.Errorf("access log mark: %w", err)
	}
	return mark, nil
}

// AccessChangedSince implements roster.AccessLogStore.
func (t *Tx) AccessChangedSince(ctx context.Context, mark int64) ([]string, bool, error) {
	q := t.D.AccessLog()
	var reaches bool
	if err := t.Q.QueryRow(ctx, q.Reaches, mark).Scan(&reaches); err != nil {
		return nil, false, fmt.Errorf("access log: %w", err)
	}
	if !reaches {
		return nil, false, nil
	}
	users, err := List(ctx, t.Q, func(r Row) (string, error) {
		var u string
		err := r.Scan(&u)
		return u, err
	}, q.Since, mark)
	if err != nil {
		return nil, false, fmt.Errorf("access log: %w", err)
	}
	return users, true, nil
}

// PruneAccessLog implements roster.AccessLogStore.
func (t *Tx) PruneAccessLog(ctx context.Context, mark int64) error {
	for _, q := range t.D.AccessLog().Prune {
		if _, err := t.Q.Exec(ctx, q, mark); err != nil {
			return fmt.Errorf("prune the access log: %w", err)
		}
	}
	return nil
}
