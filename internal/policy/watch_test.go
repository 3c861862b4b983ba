package policy_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/store"
	"github.com/signalgate/signalgate/policies"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestWatchPropagates: two instances on one database follow a move of the
// active pointer within a second when it is notified, and through their
// periodic check when the notification is missing.
func TestWatchPropagates(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	var watching sync.WaitGroup
	t.Cleanup(func() { cancel(); watching.Wait() }) // before the database is dropped
	var engines []*engine.Engine
	for range 2 {
		s, err := store.FromPool(db.Pool, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		eng := engine.New(time.Second)
		svc := policy.NewService(s.Policies(), settings.NewService(s.Settings(), nil), eng, discardLog(), nil)
		if err := svc.Bootstrap(ctx, policies.FS); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.LoadActive(ctx); err != nil {
			t.Fatal(err)
		}
		watching.Go(func() { svc.Watch(ctx, s, 500*time.Millisecond) })
		engines = append(engines, eng)
	}
	time.Sleep(300 * time.Millisecond) // both listening
	copyRevision := func(n int) {
		t.Helper()
		_, err := db.Pool.Exec(ctx, `INSERT INTO policy_revisions (revision, content_hash, modules, data, parent, author, message)
			SELECT $1, content_hash, modules, data, 1, 'test', 'copy' FROM policy_revisions WHERE revision = 1`, n)
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(rev string, within time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < within {
			if engines[0].Policy().Revision() == rev && engines[1].Policy().Revision() == rev {
				return time.Since(start)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("instances on %s and %s, want %s within %s", engines[0].Policy().Revision(), engines[1].Policy().Revision(), rev, within)
		return 0
	}

	copyRevision(2)
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE active_revision SET revision = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, '2')`, store.ActiveChannel); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	took := waitFor("r2", time.Second)
	t.Logf("notified move reached both instances in %s", took)

	copyRevision(3)
	if _, err := db.Pool.Exec(ctx, `UPDATE active_revision SET revision = 3`); err != nil {
		t.Fatal(err)
	}
	waitFor("r3", 3*time.Second)
}
