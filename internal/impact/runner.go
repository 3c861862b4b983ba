package impact

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/decision"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
)

// Store keeps jobs where every instance reads them.
type Store interface {
	CreateImpactJob(ctx context.Context, j Job) error
	ImpactProgress(ctx context.Context, id uuid.UUID, done int64, at time.Time) error
	FinishImpactJob(ctx context.Context, id uuid.UUID, state string, r *Result, errText string, at time.Time) error
	ImpactJob(ctx context.Context, id uuid.UUID) (Job, error)
	ImpactJobs(ctx context.Context, draftHash string, limit int) ([]Job, error)
}

// Drafts reads the draft.
type Drafts interface {
	Draft(ctx context.Context) (policy.Draft, error)
}

// StaleAfter is how long a running job may go without progress before
// readers call it failed: its instance stopped.
const StaleAfter = 30 * time.Second

// progressEvery is how often a running job's progress is saved.
const progressEvery = 500 * time.Millisecond

// Runner runs analyses on this instance, one at a time, on every core.
type Runner struct {
	store   Store
	log     decisionlog.Reader
	drafts  Drafts
	engine  *engine.Engine
	node    string
	base    context.Context
	logger  *slog.Logger
	now     func() time.Time
	running atomic.Pointer[uuid.UUID]
	wg      sync.WaitGroup
}

// NewRunner returns a Runner whose jobs live until base is done.
func NewRunner(base context.Context, store Store, log decisionlog.Reader, drafts Drafts, eng *engine.Engine, node string, logger *slog.Logger) *Runner {
	return &Runner{store: store, log: log, drafts: drafts, engine: eng, node: node, base: base, logger: logger, now: time.Now}
}

// Wait returns once every job this runner started has ended.
func (r *Runner) Wait() { r.wg.Wait() }

// Start begins an analysis of the current draft and returns its job. It
// returns errs.Invalid for bad params, errs.Unprocessable when the draft does
// not compile and errs.Conflict while another analysis runs here.
func (r *Runner) Start(ctx context.Context, actor string, p Params) (Job, error) {
	f, err := p.filter()
	if err != nil {
		return Job{}, err
	}
	d, err := r.drafts.Draft(ctx)
	if err != nil {
		return Job{}, err
	}
	draft, err := engine.Compile(ctx, policy.DraftName, d.Content.EngineContent())
	if err != nil {
		return Job{}, errs.Wrap(errs.Unprocessable, err, "the draft does not compile: validate it and fix the errors first")
	}
	active := r.engine.Policy()
	if active == nil {
		return Job{}, errs.E(errs.Unavailable, "no policy is active yet; retry shortly")
	}
	id := uuid.New()
	if !r.running.CompareAndSwap(nil, &id) {
		return Job{}, errs.E(errs.Conflict, "an impact analysis (job %s) is already running on this instance; wait for it to finish", *r.running.Load())
	}
	total, err := r.log.Count(ctx, f)
	if err != nil {
		r.running.Store(nil)
		return Job{}, err
	}
	now := r.now().UTC()
	j := Job{ID: id, CreatedAt: now, CreatedBy: actor, Node: r.node, DraftHash: d.ContentHash,
		ActiveRevision: active.Revision(), Params: p, State: Running, Total: total, UpdatedAt: now}
	if err := r.store.CreateImpactJob(ctx, j); err != nil {
		r.running.Store(nil)
		return Job{}, err
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.running.Store(nil)
		r.run(j, f, draft, active)
	}()
	return j, nil
}

func (p Params) filter() (decisionlog.Filter, error) {
	f := decisionlog.Filter{Path: engine.DecisionPath}
	switch {
	case p.From != nil || p.To != nil:
		if p.Last != 0 {
			return f, errs.E(errs.Invalid, `give "last" or "from"/"to", not both`)
		}
		if p.From == nil || p.To == nil || !p.From.Before(*p.To) {
			return f, errs.E(errs.Invalid, `"from" and "to" must both be given, from before to`)
		}
		f.From, f.To, f.Limit = *p.From, *p.To, MaxLast
	case p.Last < 0 || p.Last > MaxLast:
		return f, errs.E(errs.Invalid, `"last" %d: use 1 to %d`, p.Last, MaxLast)
	case p.Last == 0:
		f.Limit = DefaultLast
	default:
		f.Limit = p.Last
	}
	return f, nil
}

// item is one logged decision to compare, copied out of the scan.
type item struct {
	id       string
	at       time.Time
	region   string
	revision string
	input    []byte
	result   []byte
	masked   bool
}

func (r *Runner) run(j Job, f decisionlog.Filter, draft, active *engine.Policy) {
	ctx := r.base
	workers := runtime.GOMAXPROCS(0)
	items := make(chan item, 4*workers)
	tallies := make([]*tally, workers)
	var done atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		t := newTally()
		tallies[w] = t
		wg.Go(func() {
			for it := range items {
				r.compare(ctx, t, it, draft, active, j.Params.AsOf)
				done.Add(1)
			}
		})
	}
	stopProgress := r.reportProgress(j.ID, &done)
	scanErr := r.log.Each(ctx, f, func(e *decisionlog.Entry) error {
		select {
		case items <- item{id: e.DecisionID.String(), at: e.DecidedAt, region: e.Region, revision: e.Revision,
			input: e.Input, result: e.Result, masked: len(e.Masked) > 0}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	close(items)
	wg.Wait()
	stopProgress()

	total := newTally()
	for _, t := range tallies {
		total.merge(t)
	}
	state, res, msg := Done, total.result(), ""
	if scanErr != nil {
		state, res, msg = Failed, nil, scanErr.Error()
		if errors.Is(scanErr, context.Canceled) {
			msg = "the instance running the analysis stopped; start it again"
		}
	}
	fin, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.store.FinishImpactJob(fin, j.ID, state, res, msg, r.now().UTC()); err != nil {
		r.logger.Warn("impact analysis: saving the result failed", "job", j.ID, "err", err)
	}
}

// compare decides one logged input under the draft and, unless the active
// revision is the one that decided it (whose answer the log already holds,
// as replays confirm), under the active revision. With asOf, both decide
// the input as if it arrived then.
func (r *Runner) compare(ctx context.Context, t *tally, it item, draft, active *engine.Policy, asOf *time.Time) {
	input, err := decision.ParseLogged(it.input)
	if err != nil {
		// Only an edited row can fail here: count it, decide nothing.
		t.evaluated++
		t.errors++
		return
	}
	at := it.at
	if asOf != nil {
		input, at = decision.ArrivedAt(input, it.at, *asOf)
	}
	timeout := r.engine.Timeout()
	now := draft.Decide(ctx, input, at, timeout)
	was, ok := engine.Decision{}, false
	// The logged answer stands for the active revision's only where it was
	// given on this very input: not as of another time, nor when masking
	// changed what was stored.
	if it.revision == active.Revision() && asOf == nil && !it.masked {
		was, ok = loggedDecision(it.result)
	}
	if !ok {
		was = active.Decide(ctx, input, at, timeout)
	}
	t.add(it.id, it.region, it.masked, was, now)
}

// reportProgress saves done every progressEvery until the returned stop.
func (r *Runner) reportProgress(id uuid.UUID, done *atomic.Int64) (stop func()) {
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(r.base, 5*time.Second)
				if err := r.store.ImpactProgress(ctx, id, done.Load(), r.now().UTC()); err != nil && r.base.Err() == nil {
					r.logger.Warn("impact analysis: saving progress failed", "job", id, "err", err)
				}
				cancel()
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// Read returns job id as stored; a running job without progress for
// StaleAfter is reported failed.
func Read(ctx context.Context, s Store, id uuid.UUID, now time.Time) (Job, error) {
	j, err := s.ImpactJob(ctx, id)
	if err != nil {
		return j, err
	}
	return stale(j, now), nil
}

// List returns recent jobs, newest first, optionally only for one draft.
func List(ctx context.Context, s Store, draftHash string, limit int, now time.Time) ([]Job, error) {
	jobs, err := s.ImpactJobs(ctx, draftHash, limit)
	for i := range jobs {
		jobs[i] = stale(jobs[i], now)
	}
	return jobs, err
}

func stale(j Job, now time.Time) Job {
	if j.State == Running && now.Sub(j.UpdatedAt) > StaleAfter {
		j.State = Failed
		j.Error = fmt.Sprintf("no progress since %s: the instance running it (%s) stopped; start it again", j.UpdatedAt.Format(time.RFC3339), j.Node)
	}
	return j
}
