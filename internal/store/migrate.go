package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/signalgate/signalgate/migrations"
)

// ErrSchemaOutdated means the database schema is older than this binary needs.
var ErrSchemaOutdated = errors.New("database schema is older than this binary needs: run `signalgate migrate up`")

// withProvider runs fn with a migration provider over pool.
func withProvider(pool *pgxpool.Pool, fn func(*goose.Provider) error) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := provider(db, migrations.FS)
	if err != nil {
		return err
	}
	return fn(p)
}

func provider(db *sql.DB, fsys fs.FS) (*goose.Provider, error) {
	// A session lock lets several instances start at once: one migrates,
	// the others wait and then find nothing to do.
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version int64
	Name    string
	Applied bool
}

// Migrate applies every pending migration of migrations.FS and returns the
// versions it applied.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]int64, error) {
	var applied []int64
	err := withProvider(pool, func(p *goose.Provider) error {
		res, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		for _, r := range res {
			applied = append(applied, r.Source.Version)
		}
		return nil
	})
	return applied, err
}

// Status lists every migration the binary knows and whether it is applied.
func Status(ctx context.Context, pool *pgxpool.Pool) ([]MigrationStatus, error) {
	var out []MigrationStatus
	err := withProvider(pool, func(p *goose.Provider) error {
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("read migration status: %w", err)
		}
		for _, s := range st {
			out = append(out, MigrationStatus{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
		}
		return nil
	})
	return out, err
}

// CheckSchema returns ErrSchemaOutdated when a migration this binary knows is
// not applied. A newer schema is fine: migrations only add, so the previous
// release keeps serving during a rolling upgrade.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	return withProvider(pool, func(p *goose.Provider) error {
		current, target, err := p.GetVersions(ctx)
		if err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if current < target {
			return fmt.Errorf("%w (database at %d, binary needs %d)", ErrSchemaOutdated, current, target)
		}
		return nil
	})
}
