package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signalgate/signalgate/internal/localpg"
	"github.com/signalgate/signalgate/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestParallelTestsGetSeparateMigratedDatabases(t *testing.T) {
	var names [2]string
	t.Run("group", func(t *testing.T) {
		for i := range names {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				begin := time.Now()
				db := pgtest.New(t)
				t.Logf("pgtest.New took %v", time.Since(begin))
				names[i] = db.Name

				var who, current string
				if err := db.Pool.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&who, &current); err != nil {
					t.Fatal(err)
				}
				if who != localpg.OwnerRole || current != db.Name {
					t.Errorf("pool connects as %s to %s, want %s to %s", who, current, localpg.OwnerRole, db.Name)
				}
				var applied int
				if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied").Scan(&applied); err != nil {
					t.Fatalf("migrations not applied: %v", err)
				}
				if applied == 0 {
					t.Error("goose_db_version records no applied migration")
				}

				// Each test writes to its own database: the same table name
				// cannot collide, and the row counts stay one each.
				if _, err := db.Pool.Exec(ctx, "CREATE TABLE scratch (test int)"); err != nil {
					t.Fatal(err)
				}
				if _, err := db.Pool.Exec(ctx, "INSERT INTO scratch VALUES ($1)", i); err != nil {
					t.Fatal(err)
				}
				var rows int
				if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM scratch").Scan(&rows); err != nil {
					t.Fatal(err)
				}
				if rows != 1 {
					t.Errorf("scratch has %d rows, want 1", rows)
				}
			})
		}
	})
	if names[0] == "" || names[0] == names[1] {
		t.Fatalf("databases not distinct: %q", names)
	}

	su, err := pgx.Connect(context.Background(), pgtest.Cluster().SuperuserURL())
	if err != nil {
		t.Fatal(err)
	}
	defer su.Close(context.Background())
	var left int
	if err := su.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names[:]).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d test databases survived their tests", left)
	}
}

func TestAppRoleUsesMigratedTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	app, err := pgx.Connect(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(ctx)

	// As a migration would: the owner creates a table with a sequence.
	if _, err := db.Pool.Exec(ctx, "CREATE TABLE item (id bigserial PRIMARY KEY, name text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Exec(ctx, "INSERT INTO item (name) VALUES ('alice')"); err != nil {
		t.Fatalf("serving role cannot write the owner's table: %v", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM item").Scan(&n); err != nil || n != 1 {
		t.Fatalf("owner sees %d items (%v), want 1", n, err)
	}
	_, err = app.Exec(ctx, "DROP TABLE item")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("serving role dropping a table: got %v, want insufficient_privilege", err)
	}
}

func TestNewURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass('goose_db_version') IS NOT NULL").Scan(&exists); err != nil || !exists {
		t.Errorf("migrated table missing (%v)", err)
	}
}
