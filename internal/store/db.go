// Package store keeps signalgate's state in PostgreSQL: it implements the
// domain packages' Store and Sink interfaces, runs the migrations and maintains
// the decision log's partitions. It is the only package that speaks SQL.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is one connection pool, shared by gorm (ordinary tables) and pgx (the
// decision log's COPY path).
type DB struct {
	Pool *pgxpool.Pool
	gorm *gorm.DB
	now  func() time.Time
}

// Options tune Open.
type Options struct {
	MaxConns int32
	Logger   *slog.Logger
	Now      func() time.Time
}

// Open connects to url and checks the connection. It returns an error that
// says what could not be reached.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else if cfg.MaxConns < 10 {
		cfg.MaxConns = 10
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "signalgate"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database %s@%s:%d/%s: %w",
			cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	return wrap(pool, opts)
}

func wrap(pool *pgxpool.Pool, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	gdb, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDBFromPool(pool)}), &gorm.Config{
		Logger: logger.NewSlogLogger(log, logger.Config{
			SlowThreshold:             500 * time.Millisecond,
			LogLevel:                  logger.Warn,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true,
		}),
		SkipDefaultTransaction: true,
		TranslateError:         true,
	})
	if err != nil {
		return nil, fmt.Errorf("open gorm: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &DB{Pool: pool, gorm: gdb, now: now}, nil
}

// FromPool wraps an existing pool (tests).
func FromPool(pool *pgxpool.Pool, opts Options) (*DB, error) { return wrap(pool, opts) }

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that the database answers within the context's deadline.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// Exclusively runs fn unless another instance holds the advisory lock
// named name, for jobs that one instance at a time must do. It reports
// whether fn ran. The lock is the session's, held on one connection for fn's
// duration.
func (db *DB) Exclusively(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("acquire a connection for %s: %w", name, err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext($1))`, name).Scan(&locked); err != nil || !locked {
		return false, err
	}
	defer func() {
		// The connection goes back to the pool: the lock must not go with it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, name); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return true, fn(ctx)
}
