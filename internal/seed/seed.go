// Package seed keeps the synthetic decision log: realistic inputs spread
// over a time range, each decided under a compiled policy with time pinned
// to its decided_at and recorded exactly as a native decision is, so that
// demos and benchmarks search, count and replay a log that behaves like a
// real one.
package seed

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/signalgate/signalgate/internal/decision"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// Client and Node name the seeder in every row it writes, so seeded rows
// can be told apart from (and filtered out of) real traffic.
const (
	Client = "seed"
	Node   = "seed"
)

// chunkSize is how many items a worker evaluates at a time: large enough
// that channel hand-offs cost nothing, small enough to keep all workers busy.
const chunkSize = 500

// Options tune Run.
type Options struct {
	// N is how many decisions to write.
	N int
	// From and To bound decided_at: [From, To).
	From, To time.Time
	// Seed makes the inputs, times and ids reproducible.
	Seed uint64
	// Workers evaluate in parallel; 0 means one per CPU.
	Workers int
	// BatchSize is how many rows one sink write (one COPY) carries; 0 means 5,000.
	BatchSize int
	// Timeout bounds each evaluation.
	Timeout time.Duration
	// Progress, if set, is called with the size of each batch written.
	Progress func(rows int)
}

// Run writes opts.N decisions decided by p into sink. The taxonomy topics
// are those of data (the data document p was compiled with), so the mix
// exercises whatever the revision maps. Memory stays constant whatever N:
// a generator, the evaluation workers and one writer are joined by
// bounded queues, and rows are written in decided_at order. It returns the
// first error met (the sink's, mostly) or ctx's; the batches written before
// it stay written.
func Run(ctx context.Context, p *engine.Policy, data map[string]any, sink decisionlog.Sink, opts Options) error {
	from, to := opts.From.UTC().Truncate(time.Microsecond), opts.To.UTC().Truncate(time.Microsecond)
	if opts.N < 0 || !from.Before(to) {
		return fmt.Errorf("seed %d decisions in [%s, %s): need a non-negative count and a non-empty range", opts.N, from, to)
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	batchSize := opts.BatchSize
	if batchSize <= 0 {
		batchSize = 5000
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = time.Second
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	gen := newGenerator(opts.Seed, Taxonomy(data), from, to, opts.N)

	// Each chunk goes to the workers and, in the same order, to the writer,
	// which waits for the chunk's rows: rows come out in generation order
	// however the workers interleave, and the queues bound what is in flight.
	// The writer's queue holds a batch and a half, so the workers keep
	// evaluating the next batch while the previous one is being written.
	work := make(chan *chunk, workers)
	ordered := make(chan *chunk, workers+3*batchSize/(2*chunkSize))
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(work)
		defer close(ordered)
		for made := 0; made < opts.N; {
			c := &chunk{items: make([]Item, min(chunkSize, opts.N-made)), rows: make(chan []decisionlog.Entry, 1)}
			for i := range c.items {
				var err error
				if c.items[i], err = gen.next(); err != nil {
					cancel(err)
					return
				}
			}
			made += len(c.items)
			for _, q := range []chan *chunk{work, ordered} {
				select {
				case q <- c:
				case <-ctx.Done():
					return
				}
			}
		}
	})
	for range workers {
		wg.Go(func() {
			for c := range work {
				rows, err := decide(ctx, p, c.items, timeout)
				if err != nil {
					cancel(err)
					return
				}
				c.rows <- rows
			}
		})
	}
	err := write(ctx, sink, ordered, batchSize, opts.Progress)
	cancel(err) // a writer that gave up stops the others
	wg.Wait()
	if err != nil {
		return context.Cause(ctx) // the first failure: the writer's, a worker's, or ctx's
	}
	return nil
}

// chunk is a run of items on its way through the workers to the writer.
type chunk struct {
	items []Item
	rows  chan []decisionlog.Entry // the items' rows; one send, buffered
}

// decide evaluates items with time pinned to each one's decided_at and
// shapes their rows as the decision API does.
func decide(ctx context.Context, p *engine.Policy, items []Item, timeout time.Duration) ([]decisionlog.Entry, error) {
	rows := make([]decisionlog.Entry, len(items))
	for i, it := range items {
		v, err := strictjson.Parse(it.Raw, strictjson.DefaultLimits)
		if err != nil {
			return nil, fmt.Errorf("parse synthetic input %s: %w", it.Raw, err)
		}
		in := decision.Input{Value: v, Raw: it.Raw}
		rows[i], _ = decision.Record(it.ID, Client, Node, in, p.Decide(ctx, v, it.At, timeout), it.At)
	}
	return rows, nil
}

// write drains the chunks in order into batches of batchSize rows, one sink
// write each, until the chunks run out or ctx ends.
func write(ctx context.Context, sink decisionlog.Sink, chunks <-chan *chunk, batchSize int, progress func(int)) error {
	batch := make([]decisionlog.Entry, 0, batchSize+chunkSize)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := sink.Write(ctx, batch); err != nil {
			return err
		}
		if progress != nil {
			progress(len(batch))
		}
		batch = batch[:0]
		return nil
	}
	for c := range chunks {
		select {
		case rows := <-c.rows:
			batch = append(batch, rows...)
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(batch) >= batchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return flush()
}

// Taxonomy returns the topics the data's taxonomy (targeting.topic_categories)
// maps to a category, sorted so a seed draws the same ones every time.
func Taxonomy(data map[string]any) []string {
	targeting, _ := data["targeting"].(map[string]any)
	mapped, _ := targeting["topic_categories"].(map[string]any)
	topics := make([]string, 0, len(mapped))
	for t := range mapped {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	return topics
}
