package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/rosterhq/roster"
)

// auditPage is how many events VerifyAudit and ExportEvents read at a time,
// each page in a read transaction of its own: memory stays bounded however
// long the log, and no transaction stays open for the whole read.
const auditPage = roster.MaxPageSize

// VerifyAudit recomputes the audit chain from the first event and names the
// first that does not match: its hash is not that of its contents chained
// to the hash of the event before it (it, or that event, was changed), or
// its id does not follow that event's (events between were deleted), or the
// chain ends before the head the store recorded (the last were deleted).
// Admins and auditors.
func (e *Engine) VerifyAudit(ctx context.Context) (*roster.AuditVerification, error) {
	if err := e.sealed(ctx); err != nil {
		return nil, err
	}
	v := &roster.AuditVerification{LastHash: roster.GenesisHash}
	var headID int64
	var headHash string
	cursor := ""
	for first := true; ; first = false {
		var page *roster.Page[roster.Event]
		err := e.view(ctx, func(o *op) (err error) {
			if _, err := o.requireReader("verify the audit log"); err != nil {
				return err
			}
			if first {
				// The head is read with the first page, in one snapshot: the
				// events after it are appended while the check runs.
				if headID, headHash, err = o.tx.EventChainHead(o.ctx); err != nil {
					return err
				}
			}
			page, err = o.tx.Events(o.ctx, roster.EventFilter{Cursor: cursor, Limit: auditPage})
			return err
		})
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			ev := &page.Items[i]
			if b, err := checkLink(v, ev); err != nil {
				return nil, err
			} else if b != nil {
				v.Broken = b
				return v, nil
			}
			v.Events++
			v.LastID, v.LastHash = ev.ID, ev.Hash
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if v.LastID < headID || (v.LastID == headID && v.LastHash != headHash) {
		v.Broken = &roster.AuditBreak{ID: headID, Problem: roster.AuditBrokenEnd,
			Detail: fmt.Sprintf("the chain ends at event %d, but its recorded head is event %d with hash %s: the events after %d were deleted, or the head was changed", v.LastID, headID, headHash, v.LastID)}
		return v, nil
	}
	v.OK = true
	return v, nil
}

// checkLink returns what is wrong with ev as the event after v's last, or
// nil when it matches.
func checkLink(v *roster.AuditVerification, ev *roster.Event) (*roster.AuditBreak, error) {
	want, err := roster.ChainHash(v.LastHash, ev)
	if err != nil {
		return nil, fmt.Errorf("verify the audit log: %w", err)
	}
	if ev.Hash == want {
		return nil, nil
	}
	b := &roster.AuditBreak{ID: ev.ID, Action: ev.Action, At: ev.At}
	switch {
	case ev.Hash == "":
		b.Problem, b.Detail = roster.AuditBrokenHash, "the event has no hash"
	case ev.ID != v.LastID+1:
		// Ids follow the chain one by one; those of events written before
		// the chain (version 0.x) may skip, and then match their hash.
		b.Problem = roster.AuditBrokenLink
		if v.LastID == 0 {
			b.Detail = fmt.Sprintf("it does not follow the start of the chain: the events before id %d were deleted", ev.ID)
		} else {
			b.Detail = fmt.Sprintf("it does not follow event %d, the one before it: the events between were deleted", v.LastID)
		}
	default:
		b.Problem = roster.AuditBrokenHash
		b.Detail = fmt.Sprintf("its hash %s is not that of its contents after event %d's hash (%s): this event was changed, or the one before it was changed and its hash recomputed", ev.Hash, v.LastID, want)
	}
	return b, nil
}

// ExportEvents calls fn with every event at or after since, in chain order,
// reading a page at a time. Admins and auditors.
func (e *Engine) ExportEvents(ctx context.Context, since time.Time, fn func(*roster.Event) error) error {
	if err := e.sealed(ctx); err != nil {
		return err
	}
	cursor := ""
	for {
		var page *roster.Page[roster.Event]
		err := e.view(ctx, func(o *op) (err error) {
			if _, err := o.requireReader("export the audit log"); err != nil {
				return err
			}
			page, err = o.tx.Events(o.ctx, roster.EventFilter{Since: since, Cursor: cursor, Limit: auditPage})
			return err
		})
		if err != nil {
			return err
		}
		for i := range page.Items {
			if err := fn(&page.Items[i]); err != nil {
				return err
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		cursor = page.NextCursor
	}
}
