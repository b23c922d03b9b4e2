package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// TestReadLoose reads a token and its user outside a transaction, as every
// API call does: the answers are those a transaction reads, a missing one
// is ENOTFOUND, each statement sees what was committed before it ran, and a
// write fails without changing anything.
func TestReadLoose(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &roster.User{ID: "ann", Email: "ann@example.com", Name: "Ann", Status: roster.UserActive, Role: roster.RoleUser,
		Kind: roster.UserPerson, Notify: roster.NotifyEmail, CreatedAt: now, UpdatedAt: now}
	err := db.Update(ctx, func(tx roster.Tx) error {
		if err := tx.PutUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateToken(ctx, &roster.Token{ID: "tok_1", User: "ann", Issuer: "ann", Name: "cli", CreatedAt: now}, "hash-1")
	})
	if err != nil {
		t.Fatal(err)
	}
	r, ok := any(db).(roster.LooseReader)
	if !ok {
		t.Fatal("the PostgreSQL store is not a roster.LooseReader")
	}
	err = r.ReadLoose(ctx, func(tx roster.Tx) error {
		tok, err := tx.TokenByHash(ctx, "hash-1")
		if err != nil {
			return err
		}
		if tok.ID != "tok_1" || tok.User != "ann" {
			t.Errorf("token = %+v, want tok_1 of ann", tok)
		}
		if _, err := tx.TokenByHash(ctx, "hash-2"); roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("unknown hash: err = %v, want ENOTFOUND", err)
		}
		// A change committed between two statements is seen by the second.
		if err := db.Update(ctx, func(tx roster.Tx) error {
			v := *u
			v.Status = roster.UserDisabled
			return tx.PutUser(ctx, &v)
		}); err != nil {
			return err
		}
		got, err := tx.User(ctx, "ann")
		if err != nil {
			return err
		}
		if got.Status != roster.UserDisabled {
			t.Errorf("user's status = %q, want the committed %q", got.Status, roster.UserDisabled)
		}
		if err := tx.TouchToken(ctx, "tok_1", now.Add(time.Hour)); err == nil {
			t.Error("a write in a loose read succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.View(ctx, func(tx roster.Tx) error {
		tok, err := tx.Token(ctx, "tok_1")
		if err != nil {
			return err
		}
		if tok.LastUsedAt != nil {
			t.Errorf("the loose read's write was kept: last used %v", tok.LastUsedAt)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
