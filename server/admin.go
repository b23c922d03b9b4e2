package server

import (
	"context"
	"fmt"

	"github.com/rosterhq/roster/sqlite"
)

// Migrate brings a database's schema up to date and says where it stands.
func Migrate(ctx context.Context, db string) (string, error) {
	if isPostgres(db) {
		return migratePostgres(ctx, db)
	}
	store, err := sqlite.Open(ctx, db) // opening a SQLite database migrates it
	if err != nil {
		return "", fmt.Errorf("open SQLite database %s: %w", db, err)
	}
	defer store.Close()
	applied, latest, err := store.SchemaVersion(ctx)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s: schema at version %d of %d", db, applied, latest), nil
}

// Backup writes an online backup of a SQLite database to dest.
func Backup(ctx context.Context, db, dest string) error {
	if isPostgres(db) {
		return fmt.Errorf("back up PostgreSQL with pg_dump; roster backup is for SQLite")
	}
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		return fmt.Errorf("open SQLite database %s: %w", db, err)
	}
	defer store.Close()
	return store.Backup(ctx, dest)
}
