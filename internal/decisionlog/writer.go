package decisionlog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
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
	Logger        *slog.Logger
	Registerer    prometheus.Registerer
}

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
}

type metrics struct {
	batchRows     prometheus.Histogram
	commitSeconds prometheus.Histogram
	failures      prometheus.Counter
	rejected      prometheus.Counter
	committed     prometheus.Counter
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
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(w.m.batchRows, w.m.commitSeconds, w.m.failures, w.m.rejected, w.m.committed,
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
	ctx, cancel := context.WithTimeout(context.Background(), w.opts.CommitTimeout)
	defer cancel()
	start := time.Now()
	err := w.sink.Write(ctx, rows)
	w.m.commitSeconds.Observe(time.Since(start).Seconds())
	w.m.batchRows.Observe(float64(len(rows)))
	if err != nil {
		w.m.failures.Inc()
		w.opts.Logger.Error("decision log commit failed", "rows", len(rows), "err", err)
		return errors.Join(ErrUnavailable, err)
	}
	w.m.committed.Add(float64(len(rows)))
	return nil
}

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
