package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/shadow"
	"github.com/signalgate/signalgate/internal/store"
	"github.com/signalgate/signalgate/policies"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, now func() time.Time) (*store.DB, *pgtest.Database) {
	t.Helper()
	db := pgtest.New(t)
	s, err := store.FromPool(db.Pool, store.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

// TestPartitionsAhead: upkeep creates a partition per day through a week
// ahead, is idempotent, and rows of days without one land in the default
// partition instead of failing.
func TestPartitionsAhead(t *testing.T) {
	t.Parallel()
	day := time.Date(2030, 3, 10, 15, 0, 0, 0, time.UTC)
	s, db := open(t, func() time.Time { return day })
	var wg sync.WaitGroup
	counts := make(chan int, 3)
	for range 3 { // instances starting together
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.EnsurePartitions(context.Background(), 7)
			if err != nil {
				t.Error(err)
			}
			counts <- n
		}()
	}
	wg.Wait()
	close(counts)
	created := 0
	for n := range counts {
		created += n
	}
	if created != 9 {
		t.Errorf("created %d partitions, want 9 (yesterday through 7 days ahead)", created)
	}
	again, err := s.EnsurePartitions(context.Background(), 7)
	if err != nil || again != 0 {
		t.Errorf("second upkeep created %d (%v), want 0", again, err)
	}
	for _, name := range []string{"decision_logs_p20300309", "decision_logs_p20300310", "decision_logs_p20300317"} {
		var exists bool
		if err := db.Pool.QueryRow(context.Background(), `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil || !exists {
			t.Errorf("partition %s missing (%v)", name, err)
		}
	}
	allow := true
	entry := func(at time.Time) decisionlog.Entry {
		return decisionlog.Entry{DecisionID: uuid.Must(uuid.NewV7()), DecidedAt: at, Path: "signalgate/decision",
			Allow: &allow, Revision: "r1", Client: "c", Node: "n"}
	}
	err = s.LogSink().Write(context.Background(), []decisionlog.Entry{entry(day), entry(day.AddDate(1, 0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	var inDay, inDefault int
	_ = db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM decision_logs_p20300310`).Scan(&inDay)
	_ = db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM decision_logs_default`).Scan(&inDefault)
	if inDay != 1 || inDefault != 1 {
		t.Errorf("rows in the day's partition %d, in the default %d; want 1 and 1", inDay, inDefault)
	}
}

// TestDuplicateDecisionRefused: (decision_id, decided_at) is unique, a
// batch holding a duplicate commits nothing, and the connection that was
// refused serves the next batch.
func TestDuplicateDecisionRefused(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	pool, err := pgxpool.New(context.Background(), db.URL+"&pool_max_conns=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := store.FromPool(pool, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	e := decisionlog.Entry{DecisionID: uuid.Must(uuid.NewV7()), DecidedAt: now, Path: "p", Revision: "r1", Client: "c", Node: "n"}
	if err := s.LogSink().Write(context.Background(), []decisionlog.Entry{e}); err != nil {
		t.Fatal(err)
	}
	other := e
	other.DecisionID = uuid.Must(uuid.NewV7())
	if err := s.LogSink().Write(context.Background(), []decisionlog.Entry{other, e}); err == nil {
		t.Fatal("a duplicate decision id was stored")
	}
	var n int
	_ = db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM decision_logs`).Scan(&n)
	if n != 1 {
		t.Errorf("%d rows, want 1: a failed batch must not commit in part", n)
	}
	if err := s.LogSink().Write(context.Background(), []decisionlog.Entry{other}); err != nil {
		t.Fatalf("the next batch on the same connection: %v", err)
	}
	_ = db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM decision_logs`).Scan(&n)
	if n != 2 {
		t.Errorf("%d rows, want 2", n)
	}
}

// defaultRevision is r1 as a first start publishes it: the default policy.
func defaultRevision(t *testing.T) policy.Revision {
	t.Helper()
	content, err := policy.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := policy.ContentHash(content)
	if err != nil {
		t.Fatal(err)
	}
	return policy.Revision{Number: 1, ContentHash: hash, Content: content, Author: "signalgate", Message: "default policy"}
}

// TestPolicyBootstrapOnce: instances starting together publish the default
// policy exactly once, as r1, active, with its content intact.
func TestPolicyBootstrapOnce(t *testing.T) {
	t.Parallel()
	s, db := open(t, nil)
	rev := defaultRevision(t)
	hash, content := rev.ContentHash, rev.Content
	if _, err := s.Policies().Active(context.Background()); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("active before bootstrap: %v, want not found", err)
	}
	var wg sync.WaitGroup
	created := make(chan bool, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Policies().Bootstrap(context.Background(), rev)
			if err != nil {
				t.Error(err)
			}
			created <- ok
		}()
	}
	wg.Wait()
	close(created)
	n := 0
	for ok := range created {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d bootstraps created r1, want exactly 1", n)
	}
	active, err := s.Policies().Active(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gotHash, err := policy.ContentHash(active.Content)
	if err != nil {
		t.Fatal(err)
	}
	if active.ID() != "r1" || active.ContentHash != hash || gotHash != hash {
		t.Errorf("active %s hash %s (recomputed %s), want r1 %s", active.ID(), active.ContentHash, gotHash, hash)
	}
	for path, src := range content.Modules {
		if active.Content.Modules[path] != src {
			t.Errorf("module %s changed on the way through the database", path)
		}
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE policy_revisions SET message = 'x'`); err == nil {
		t.Error("a revision was updated: revisions must be immutable")
	}
}

// TestSchemaCheck: a migrated database passes the schema check; one whose
// latest migration is rolled back is refused with a message saying what to do.
func TestSchemaCheck(t *testing.T) {
	t.Parallel()
	_, db := open(t, nil)
	if err := store.CheckSchema(context.Background(), db.Pool); err != nil {
		t.Fatalf("migrated database: %v", err)
	}
	st, err := store.Status(context.Background(), db.Pool)
	if err != nil || len(st) == 0 || !st[len(st)-1].Applied {
		t.Fatalf("status %+v, %v", st, err)
	}
	if _, err := db.Pool.Exec(context.Background(), `DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)`); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckSchema(context.Background(), db.Pool); err == nil {
		t.Error("an outdated schema passed the check")
	}
}

// TestPruneComparisons: retention deletes shadow and rollout comparisons
// older than the cutoff and keeps the newer ones.
func TestPruneComparisons(t *testing.T) {
	t.Parallel()
	s, db := open(t, nil)
	ctx := context.Background()
	if _, err := s.Policies().Bootstrap(ctx, defaultRevision(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `INSERT INTO rollouts (candidate, baseline, steps, state, created_by, created_at)
		VALUES (1, 1, '[]', 'rolled_back', 'test', now())`); err != nil {
		t.Fatal(err)
	}
	cutoff := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	var counts []shadow.Count
	var rollouts []shadow.RolloutCount
	var rows []shadow.Disagreement
	for _, at := range []time.Time{cutoff.Add(-time.Hour), cutoff.Add(time.Hour)} {
		counts = append(counts, shadow.Count{Bucket: at, Candidate: "r2", Evaluated: 3, Disagreed: 1})
		rollouts = append(rollouts, shadow.RolloutCount{Rollout: 1, Bucket: at, Tally: shadow.Tally{Decisions: 3}})
		rows = append(rows, shadow.Disagreement{DecisionID: uuid.New(), DecidedAt: at, Candidate: "r2", Active: "r1",
			ActiveReasons: []string{}, CandidateReasons: []string{"sensitive_category"}, ChangedCodes: []string{"sensitive_category"}})
	}
	rows[1].Rollout = 1
	if err := s.SaveShadow(ctx, counts, rollouts, rows); err != nil {
		t.Fatal(err)
	}
	n, err := s.PruneComparisons(ctx, cutoff)
	if err != nil || n != 3 {
		t.Fatalf("pruned %d rows (%v), want 3: one of each table", n, err)
	}
	for _, table := range []string{"shadow_counts", "rollout_counts", "shadow_disagreements"} {
		var left int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&left); err != nil || left != 1 {
			t.Errorf("%s keeps %d rows (%v), want the newer one", table, left, err)
		}
	}
}

// TestActiveNumberBeforeBootstrap: with no revision yet, the active number
// is not found, not an internal error.
func TestActiveNumberBeforeBootstrap(t *testing.T) {
	t.Parallel()
	s, _ := open(t, nil)
	if _, err := s.Policies().ActiveNumber(context.Background()); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("ActiveNumber before bootstrap: %v, want not found", err)
	}
}

// TestVerifyDecisionLogPages: verification reads checkpoints a page at a
// time and still checks every one, across pages, and finds an edited row
// on a later page.
func TestVerifyDecisionLogPages(t *testing.T) {
	t.Parallel()
	s, db := open(t, nil)
	ctx := context.Background()
	if _, err := s.EnsurePartitions(ctx, 1); err != nil {
		t.Fatal(err)
	}
	const batches = 501 // one more than a page
	var last uuid.UUID
	for range batches {
		last = uuid.Must(uuid.NewV7())
		e := decisionlog.Entry{DecisionID: last, DecidedAt: time.Now().UTC().Truncate(time.Microsecond), Path: "p", Revision: "r1", Client: "c", Node: "n"}
		if err := s.LogSink().Write(ctx, []decisionlog.Entry{e}); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.VerifyDecisionLog(ctx, nil, nil)
	if err != nil || rep.Checkpoints != batches || rep.Verified != batches || len(rep.Problems) != 0 {
		t.Fatalf("verify = %+v, %v; want %d checkpoints and rows, no problem", rep, err, batches)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE decision_logs SET revision = 'r2' WHERE decision_id = $1`, last); err != nil {
		t.Fatal(err)
	}
	rep, err = s.VerifyDecisionLog(ctx, nil, nil)
	if err != nil || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "altered") {
		t.Errorf("after editing the last row: %+v, %v", rep, err)
	}
}

// TestAuditTrailPages: the whole trail streams in sequence order across
// pages, and a verifier finds an edit on a later page.
func TestAuditTrailPages(t *testing.T) {
	t.Parallel()
	s, db := open(t, nil)
	ctx := context.Background()
	const n = 1001 // one more than a page
	for i := range n {
		e := audit.Entry{At: time.Now().UTC(), Actor: "test", Action: "test.event", Target: fmt.Sprint(i)}
		if err := s.Audit().Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	check := func() (int, *audit.Break) {
		v, seen := audit.NewVerifier(), 0
		var b *audit.Break
		if err := s.Audit().Each(ctx, func(e audit.Entry) error {
			if seen++; int64(seen) != e.Seq {
				t.Fatalf("entry %d read in place %d", e.Seq, seen)
			}
			if b == nil {
				b = v.Next(e)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return seen, b
	}
	if seen, b := check(); seen != n || b != nil {
		t.Fatalf("read %d entries, break %+v; want %d, none", seen, b, n)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE audit_log SET target = 'edited' WHERE seq = 1001`); err != nil {
		t.Fatal(err)
	}
	if _, b := check(); b == nil || b.Seq != 1001 {
		t.Errorf("after editing entry 1001: break %+v", b)
	}
}
