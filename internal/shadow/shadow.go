// Package shadow keeps shadow evaluation: a candidate revision decides every
// input beside the active one, off the response path, and its disagreements
// are recorded for review before the candidate is trusted with decisions.
package shadow

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/engine"
)

// Disagreement is one decision the candidate would have answered otherwise.
type Disagreement struct {
	DecisionID                      uuid.UUID
	DecidedAt                       time.Time
	Candidate, Active               string
	Region, Source, Purpose         string
	ActiveAllow, CandidateAllow     bool
	ActiveReasons, CandidateReasons []string
	ChangedCodes                    []string
}

// Count is how many decisions the candidate saw, and disagreed on, in a
// minute.
type Count struct {
	Bucket               time.Time
	Candidate            string
	Evaluated, Disagreed int64
}

// Summary is what shadow evaluation of a candidate found since a time.
type Summary struct {
	Evaluated, Disagreed int64
	Series               []Count          // per minute
	ByRegion, BySource   map[string]int64 // disagreements
	ByReason             map[string]int64 // disagreements changing each code
	Samples              []Disagreement   // the newest
}

// Store keeps what shadow evaluation found.
type Store interface {
	SaveShadow(ctx context.Context, counts []Count, rows []Disagreement) error
}

// Job is one answered decision to shadow.
type Job struct {
	Input                   ast.Value
	DecisionID              uuid.UUID
	DecidedAt               time.Time
	Region, Source, Purpose string
	Active                  engine.Decision
}

// QueueSize bounds the decisions waiting for the candidate: when it is full
// new ones are not shadowed (and counted), so the response path never waits.
const QueueSize = 10000

// Evaluator runs the candidate beside the active revision.
type Evaluator struct {
	candidate atomic.Pointer[engine.Policy]
	jobs      chan Job
	store     Store
	timeout   time.Duration
	log       *slog.Logger
	dropped   prometheus.Counter

	mu     sync.Mutex
	counts map[Count]int64 // keyed by bucket and candidate (counts zero)
	dis    map[Count]int64
	rows   []Disagreement
}

// New returns an Evaluator recording into store; Run starts it.
func New(store Store, timeout time.Duration, log *slog.Logger, reg prometheus.Registerer) *Evaluator {
	e := &Evaluator{jobs: make(chan Job, QueueSize), store: store, timeout: timeout, log: log,
		counts: map[Count]int64{}, dis: map[Count]int64{},
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "signalgate_shadow_dropped_total", Help: "Decisions not shadowed because the shadow queue was full.",
		})}
	if reg != nil {
		reg.MustRegister(e.dropped)
	}
	return e
}

// SetCandidate puts p in shadow (nil stops shadowing).
func (e *Evaluator) SetCandidate(p *engine.Policy) { e.candidate.Store(p) }

// Candidate returns the revision in shadow, or "".
func (e *Evaluator) Candidate() string {
	if p := e.candidate.Load(); p != nil {
		return p.Revision()
	}
	return ""
}

// Offer hands an answered decision to the candidate without waiting.
func (e *Evaluator) Offer(j Job) {
	if e.candidate.Load() == nil {
		return
	}
	select {
	case e.jobs <- j:
	default:
		e.dropped.Inc()
	}
}

// Run evaluates offered decisions on workers and saves what it found every
// second, until ctx is done.
func (e *Evaluator) Run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-e.jobs:
					e.evaluate(ctx, j)
				}
			}
		})
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			e.flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			e.flush(ctx)
		}
	}
}

func (e *Evaluator) evaluate(ctx context.Context, j Job) {
	p := e.candidate.Load()
	if p == nil {
		return
	}
	d := p.Decide(ctx, j.Input, j.DecidedAt, e.timeout)
	was, now := j.Active.Result.Codes(), d.Result.Codes()
	agree := j.Active.Result.Allow == d.Result.Allow && j.Active.Result.SameReasons(d.Result)
	key := Count{Bucket: j.DecidedAt.UTC().Truncate(time.Minute), Candidate: p.Revision()}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[key]++
	if agree {
		return
	}
	e.dis[key]++
	e.rows = append(e.rows, Disagreement{DecisionID: j.DecisionID, DecidedAt: j.DecidedAt, Candidate: p.Revision(),
		Active: j.Active.Revision, Region: j.Region, Source: j.Source, Purpose: j.Purpose,
		ActiveAllow: j.Active.Result.Allow, CandidateAllow: d.Result.Allow, ActiveReasons: was, CandidateReasons: now,
		ChangedCodes: symmetricDifference(was, now)})
}

func (e *Evaluator) flush(ctx context.Context) {
	e.mu.Lock()
	counts := make([]Count, 0, len(e.counts))
	for k, n := range e.counts {
		counts = append(counts, Count{Bucket: k.Bucket, Candidate: k.Candidate, Evaluated: n, Disagreed: e.dis[k]})
	}
	rows := e.rows
	e.counts, e.dis, e.rows = map[Count]int64{}, map[Count]int64{}, nil
	e.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	if err := e.store.SaveShadow(ctx, counts, rows); err != nil {
		// Shadow results are advisory: losing a second of them is logged, not retried.
		e.log.Warn("saving shadow evaluation results failed", "decisions", len(rows), "err", err)
	}
}

func symmetricDifference(a, b []string) []string {
	out := []string{}
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}
