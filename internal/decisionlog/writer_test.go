package decisionlog_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newSink(t *testing.T) (*store.LogSink, *pgxpool.Pool) {
	t.Helper()
	db := pgtest.New(t)
	s, err := store.FromPool(db.Pool, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s.LogSink(), db.Pool
}

func entry(i int) decisionlog.Entry {
	allow := i%2 == 0
	return decisionlog.Entry{
		DecisionID: uuid.Must(uuid.NewV7()),
		DecidedAt:  time.Now().UTC().Truncate(time.Microsecond),
		Path:       "signalgate/decision",
		Input:      []byte(fmt.Sprintf(`{"i":%d,"subject":{"id":"u-%d","region":"DE"}}`, i, i)),
		Result:     []byte(`{"allow":false,"reasons":[{"code":"region_excluded","detail":"DE"}]}`),
		Allow:      &allow,
		Source:     "ai_chat", Purpose: "ads", Region: "DE", Subject: fmt.Sprintf("u-%d", i),
		ReasonCodes: []string{"region_excluded"},
		Revision:    "r1", Client: "token:test", Node: "test", EvalNS: 1234,
	}
}

func count(t *testing.T, pool *pgxpool.Pool) (rows, distinct int) {
	t.Helper()
	err := pool.QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT decision_id) FROM decision_logs`).Scan(&rows, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

func histogram(t *testing.T, reg *prometheus.Registry, name string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

// TestConcurrentDecisionsExactlyNRows: N concurrent durable log calls give
// exactly N rows, and they share commits (group commit).
func TestConcurrentDecisionsExactlyNRows(t *testing.T) {
	t.Parallel()
	sink, pool := newSink(t)
	reg := prometheus.NewRegistry()
	w := decisionlog.NewWriter(sink, decisionlog.Options{Registerer: reg})
	const callers, each = 64, 40
	var wg sync.WaitGroup
	errc := make(chan error, callers*each)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := w.Log(context.Background(), entry(c*each+i)); err != nil {
					errc <- err
				}
			}
		}()
	}
	wg.Wait()
	w.Close()
	close(errc)
	for err := range errc {
		t.Fatalf("log: %v", err)
	}
	rows, distinct := count(t, pool)
	if rows != callers*each || distinct != callers*each {
		t.Fatalf("rows = %d (distinct %d), want exactly %d", rows, distinct, callers*each)
	}
	h := histogram(t, reg, "signalgate_decisionlog_batch_rows")
	if h.GetSampleSum() != float64(callers*each) {
		t.Errorf("batch rows sum = %v, want %d", h.GetSampleSum(), callers*each)
	}
	if h.GetSampleCount() >= uint64(callers*each) {
		t.Errorf("%d commits for %d concurrent rows: no group commit", h.GetSampleCount(), callers*each)
	}
}

// TestRowRoundTrip: what goes in comes out, column by column.
func TestRowRoundTrip(t *testing.T) {
	t.Parallel()
	sink, pool := newSink(t)
	w := decisionlog.NewWriter(sink, decisionlog.Options{})
	defer w.Close()
	e := entry(7)
	e.Input = []byte(`{"subject":{"id":"ü-7 ✓","region":"FR"},"purpose":"ads"}`)
	e.Allow = nil
	e.ReasonCodes = nil
	e.Source = ""
	if err := w.Log(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	var (
		subject          string
		source           *string
		allow            *bool
		codes            []string
		decidedAt        time.Time
		revision, client string
		inputID          string
	)
	err := pool.QueryRow(context.Background(), `
		SELECT subject, source, allow, reason_codes, decided_at, revision, client, input->'subject'->>'id'
		FROM decision_logs WHERE decision_id = $1`, e.DecisionID).
		Scan(&subject, &source, &allow, &codes, &decidedAt, &revision, &client, &inputID)
	if err != nil {
		t.Fatal(err)
	}
	if subject != e.Subject || source != nil || allow != nil || len(codes) != 0 ||
		!decidedAt.Equal(e.DecidedAt) || revision != "r1" || client != "token:test" || inputID != "ü-7 ✓" {
		t.Errorf("row = %q %v %v %v %v %q %q %q", subject, source, allow, codes, decidedAt, revision, client, inputID)
	}
}

// TestSinkFailureFailsClosed: when the database cannot take the rows, a
// durable Log returns ErrUnavailable instead of pretending.
func TestSinkFailureFailsClosed(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	pool, err := pgxpool.New(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.FromPool(pool, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := decisionlog.NewWriter(s.LogSink(), decisionlog.Options{CommitTimeout: 2 * time.Second})
	defer w.Close()
	if err := w.Log(context.Background(), entry(1)); err != nil {
		t.Fatalf("healthy log: %v", err)
	}
	pool.Close()
	err = w.Log(context.Background(), entry(2))
	if !errors.Is(err, decisionlog.ErrUnavailable) {
		t.Fatalf("log with the database gone: %v, want ErrUnavailable", err)
	}
	rows, _ := count(t, db.Pool)
	if rows != 1 {
		t.Errorf("rows = %d, want 1", rows)
	}
}

// TestAsyncFlushesOnClose: async mode answers before the commit, and Close
// commits everything queued.
func TestAsyncFlushesOnClose(t *testing.T) {
	t.Parallel()
	sink, pool := newSink(t)
	w := decisionlog.NewWriter(sink, decisionlog.Options{Mode: decisionlog.Async})
	for i := range 500 {
		if err := w.Log(context.Background(), entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if rows, _ := count(t, pool); rows != 500 {
		t.Fatalf("rows = %d after Close, want 500", rows)
	}
	if err := w.Log(context.Background(), entry(501)); !errors.Is(err, decisionlog.ErrClosed) {
		t.Errorf("log after Close: %v, want ErrClosed", err)
	}
}

// TestBatchIsOneRequest: a batch of entries commits together.
func TestBatchIsOneRequest(t *testing.T) {
	t.Parallel()
	sink, pool := newSink(t)
	w := decisionlog.NewWriter(sink, decisionlog.Options{})
	defer w.Close()
	batch := make([]decisionlog.Entry, 1000)
	for i := range batch {
		batch[i] = entry(i)
	}
	if err := w.Log(context.Background(), batch...); err != nil {
		t.Fatal(err)
	}
	if rows, _ := count(t, pool); rows != 1000 {
		t.Fatalf("rows = %d, want 1000", rows)
	}
}
