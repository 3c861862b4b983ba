package decisionlog_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/spool"
	"github.com/signalgate/signalgate/internal/store"
)

// TestSpoolTakesOverAndDrainsOnce: with the database gone, durable logs are
// acknowledged from the spool; once it is back the drain commits each
// decision exactly once, counted once in the statistics, even one that had
// reached the database before it was spooled too.
func TestSpoolTakesOverAndDrainsOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := store.FromPool(pool, store.Options{})
	sp, err := spool.Open(spool.Dir(t.TempDir()), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	w := decisionlog.NewWriter(s.LogSink(), decisionlog.Options{Fallback: sp, FallbackAfter: time.Second})
	defer w.Close()
	first := entry(0)
	if err := w.Log(ctx, first); err != nil || !w.DatabaseUp() {
		t.Fatalf("healthy log: %v", err)
	}
	pool.Close() // the database is gone for this instance
	for i := 1; i < 50; i++ {
		if err := w.Log(ctx, entry(i)); err != nil {
			t.Fatalf("log %d during the outage: %v", i, err)
		}
	}
	// A commit that timed out after it committed is spooled as well.
	if err := sp.Append([]decisionlog.Entry{first}); err != nil {
		t.Fatal(err)
	}
	if segs, _ := sp.Depth(); segs == 0 || w.DatabaseUp() || !w.Ready() {
		t.Fatalf("during the outage: %d segments, database up %v, ready %v", segs, w.DatabaseUp(), w.Ready())
	}
	back, _ := store.FromPool(db.Pool, store.Options{})
	n, err := sp.Drain(ctx, back.LogSink())
	if err != nil || n != 50 {
		t.Fatalf("drain: %d rows, %v", n, err)
	}
	rows, distinct := count(t, db.Pool)
	var counted int64
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(n), 0) FROM decision_stats_pending WHERE dim = 'outcome'`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	if rows != 50 || distinct != 50 || counted != 50 {
		t.Errorf("after the drain: %d rows, %d distinct, %d counted; want 50 each", rows, distinct, counted)
	}
	if segs, bytes := sp.Depth(); segs != 0 || bytes != 0 {
		t.Errorf("%d segments (%d bytes) left", segs, bytes)
	}
}

// TestFullSpoolRefusesBeforeWork: with the database gone and the spool
// full, the writer says it is not ready, so callers answer 503 at once.
func TestFullSpoolRefusesBeforeWork(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	pool, _ := pgxpool.New(ctx, db.URL)
	s, _ := store.FromPool(pool, store.Options{})
	sp, _ := spool.Open(spool.Dir(t.TempDir()), 2048)
	w := decisionlog.NewWriter(s.LogSink(), decisionlog.Options{Fallback: sp})
	defer w.Close()
	pool.Close()
	var err error
	for i := 0; i < 100 && err == nil; i++ {
		err = w.Log(ctx, entry(i))
	}
	if err == nil || w.Ready() {
		t.Fatalf("a full spool still takes decisions: %v, ready %v", err, w.Ready())
	}
}
