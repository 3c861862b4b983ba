package decisionlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Mode says when a decision is answered relative to its log commit.
type Mode string

// The log modes.
const (
	// Durable answers a decision only after its row is committed.
	Durable Mode = "durable"
	// Async answers first and commits in the background; a crash loses the
	// entries not yet committed.
	Async Mode = "async"
)

// ErrUnavailable means the entries could not be recorded: the queue is full
// or the sink failed. Callers must not use the decision.
var ErrUnavailable = errors.New("decision log unavailable")

// ErrRefused marks a sink error that is the database's verdict on the rows
// (a constraint, a permission), not a failure to reach it: spooling such a
// batch would only postpone the refusal, so it fails at once.
var ErrRefused = errors.New("decision log refused the rows")

// ErrClosed means the writer is shut down.
var ErrClosed = errors.New("decision log closed")

// Options configure a Writer.
type Options struct {
	Mode Mode
	// MaxBatch is the most rows one commit carries.
	MaxBatch int
	// Flushers is how many commits may be in flight at once, so gathering the
	// next batch overlaps the current commit.
	Flushers int
	// QueueSize bounds the requests waiting for a flusher.
	QueueSize int
	// EnqueueTimeout is how long a request waits for room in a full queue
	// before it is refused.
	EnqueueTimeout time.Duration
	// CommitTimeout bounds one commit.
	CommitTimeout time.Duration
	// Fallback, when set, records the batches the sink could not take, or
	// not within FallbackAfter (the local spool): they are acknowledged once
	// it has them. Without one such batches fail.
	Fallback      Fallback
	FallbackAfter time.Duration
	Logger        *slog.Logger
	Registerer    prometheus.Registerer
}

// Fallback durably records a batch, returning nil only once it has.
type Fallback interface {
	Append(entries []Entry) error
	// Writable reports whether an Append could succeed now.
	Writable() bool
}

// sinkRestAfterFailure is how long batches go straight to the fallback after
// the sink failed, so an outage costs each batch a disk write rather than a
// connection timeout too.
const sinkRestAfterFailure = time.Second

func (o *Options) defaults() {
	if o.Mode == "" {
		o.Mode = Durable
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 5000
	}
	if o.Flushers <= 0 {
		o.Flushers = 2
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 20000
	}
	if o.EnqueueTimeout <= 0 {
		o.EnqueueTimeout = 100 * time.Millisecond
	}
	if o.CommitTimeout <= 0 {
		o.CommitTimeout = 10 * time.Second
	}
	if o.Fallback != nil && o.FallbackAfter <= 0 {
		o.FallbackAfter = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

type request struct {
	entries []Entry
	done    chan error // nil in async mode
}

// Writer group-commits entries: concurrent callers' entries share one COPY
// and one commit. While a commit is in flight the next batch gathers, so
// batches grow with load and latency stays low when idle.
type Writer struct {
	sink    Sink
	opts    Options
	queue   chan request
	wg      sync.WaitGroup
	closeMu sync.RWMutex
	closed  bool
	m       metrics
	// sinkResting holds the UnixNano until which batches skip the sink.
	sinkResting atomic.Int64
	sinkUp      atomic.Bool
}

type metrics struct {
	batchRows     prometheus.Histogram
	commitSeconds prometheus.Histogram
	failures      prometheus.Counter
	rejected      prometheus.Counter
	committed     prometheus.Counter
	fellBack      prometheus.Counter
}

// NewWriter starts a Writer over sink; Close stops it.
func NewWriter(sink Sink, opts Options) *Writer {
	opts.defaults()
	w := &Writer{sink: sink, opts: opts, queue: make(chan request, opts.QueueSize)}
	w.m = metrics{
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "signalgate_decisionlog_batch_rows", Help: "Rows per decision-log commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "signalgate_decisionlog_commit_seconds", Help: "Latency of one decision-log commit.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalgate_decisionlog_commit_failures_total", Help: "Decision-log commits that failed.",
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalgate_decisionlog_rejected_total", Help: "Log requests refused because the queue was full.",
		}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalgate_decisionlog_rows_total", Help: "Decision-log rows committed.",
		}),
		fellBack: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalgate_decisionlog_spooled_rows_total", Help: "Decision-log rows recorded in the local spool instead of the database.",
		}),
	}
	w.sinkUp.Store(true)
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.m.batchRows, w.m.commitSeconds, w.m.failures, w.m.rejected, w.m.committed, w.m.fellBack,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "signalgate_decisionlog_database_up", Help: "1 while the last decision-log commit reached the database.",
			}, func() float64 {
				if w.sinkUp.Load() {
					return 1
				}
				return 0
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "signalgate_decisionlog_queue_depth", Help: "Log requests waiting for a commit.",
			}, func() float64 { return float64(len(w.queue)) }))
	}
	for range opts.Flushers {
		w.wg.Add(1)
		go w.flusher()
	}
	return w
}

// Mode is the writer's mode.
func (w *Writer) Mode() Mode { return w.opts.Mode }

// Log records entries. In durable mode it returns once they are committed,
// or ErrUnavailable when they could not be; in async mode once they are
// queued. It returns ErrUnavailable without waiting long when the queue is
// full, and ErrClosed after Close.
func (w *Writer) Log(ctx context.Context, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	req := request{entries: entries}
	if w.opts.Mode == Durable {
		req.done = make(chan error, 1)
	}
	if err := w.enqueue(ctx, req); err != nil {
		return err
	}
	if req.done == nil {
		return nil
	}
	// Wait for the commit even if the caller goes away: the decision is
	// already on its way to the log and its outcome must be known.
	return <-req.done
}

func (w *Writer) enqueue(ctx context.Context, req request) error {
	w.closeMu.RLock()
	defer w.closeMu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- req:
		return nil
	default:
	}
	t := time.NewTimer(w.opts.EnqueueTimeout)
	defer t.Stop()
	select {
	case w.queue <- req:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	w.m.rejected.Inc()
	return ErrUnavailable
}

func (w *Writer) flusher() {
	defer w.wg.Done()
	var batch []request
	var rows []Entry
	for first := range w.queue {
		batch = append(batch[:0], first)
		n := len(first.entries)
	gather:
		for n < w.opts.MaxBatch {
			select {
			case r, ok := <-w.queue:
				if !ok {
					break gather
				}
				batch = append(batch, r)
				n += len(r.entries)
			default:
				break gather
			}
		}
		rows = rows[:0]
		for _, r := range batch {
			rows = append(rows, r.entries...)
		}
		err := w.commit(rows)
		for _, r := range batch {
			if r.done != nil {
				r.done <- err
			}
		}
		clear(batch)
	}
}

func (w *Writer) commit(rows []Entry) error {
	w.m.batchRows.Observe(float64(len(rows)))
	var err error
	if w.opts.Fallback == nil || time.Now().UnixNano() >= w.sinkResting.Load() {
		err = w.write(rows)
		if err == nil {
			w.sinkUp.Store(true)
			w.m.committed.Add(float64(len(rows)))
			return nil
		}
		w.sinkUp.Store(false)
		w.m.failures.Inc()
	} else {
		err = errors.New("the database failed a moment ago")
	}
	if w.opts.Fallback == nil || errors.Is(err, ErrRefused) {
		w.opts.Logger.Error("decision log commit failed", "rows", len(rows), "err", err)
		return errors.Join(ErrUnavailable, err)
	}
	w.sinkResting.Store(time.Now().Add(sinkRestAfterFailure).UnixNano())
	// A commit that timed out may still have committed: the spool's drain
	// ignores rows already in the log, so nothing is recorded twice.
	if ferr := w.opts.Fallback.Append(rows); ferr != nil {
		w.opts.Logger.Error("decision log: neither the database nor the spool took the batch", "rows", len(rows), "err", err, "spool_err", ferr)
		return errors.Join(ErrUnavailable, err, ferr)
	}
	w.m.fellBack.Add(float64(len(rows)))
	return nil
}

// write commits rows to the sink within the commit bound.
func (w *Writer) write(rows []Entry) error {
	timeout := w.opts.CommitTimeout
	if w.opts.Fallback != nil {
		timeout = w.opts.FallbackAfter
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := w.sink.Write(ctx, rows)
	w.m.commitSeconds.Observe(time.Since(start).Seconds())
	return err
}

// Ready reports whether entries logged now could be recorded, so callers
// can refuse work before doing it: false while the queue is full, or while
// the database is resting after a failure and the fallback has no room.
func (w *Writer) Ready() bool {
	if len(w.queue) >= cap(w.queue) {
		return false
	}
	return w.sinkUp.Load() || w.opts.Fallback == nil || time.Now().UnixNano() >= w.sinkResting.Load() ||
		w.opts.Fallback.Writable()
}

// DatabaseUp reports whether the last commit reached the database.
func (w *Writer) DatabaseUp() bool { return w.sinkUp.Load() }

// Close stops accepting entries, commits everything queued and waits for
// the flushers to finish.
func (w *Writer) Close() {
	w.closeMu.Lock()
	if w.closed {
		w.closeMu.Unlock()
		return
	}
	w.closed = true
	close(w.queue)
	w.closeMu.Unlock()
	w.wg.Wait()
}
