// Package shadow keeps shadow evaluation: a second revision decides an
// answered input again, off the response path, and the two answers are
// compared. A candidate in shadow decides every input beside the active
// revision before it is trusted with decisions; during a progressive
// rollout, the active revision decides again what the candidate answered,
// for the guard rails.
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

// Disagreement is one decision the candidate and the active revision
// answer differently.
type Disagreement struct {
	DecisionID                      uuid.UUID
	DecidedAt                       time.Time
	Candidate, Active               string
	Region, Source, Purpose         string
	ActiveAllow, CandidateAllow     bool
	ActiveReasons, CandidateReasons []string
	ChangedCodes                    []string
	Rollout                         int64 // the rollout whose candidate answered; 0 in shadow
}

// Tally compares a rollout's candidate with the baseline (the active
// revision it would replace) on the decisions the candidate made.
type Tally struct {
	Decisions                       int64
	CandidateDenied, BaselineDenied int64
	CandidateErrors, BaselineErrors int64
	Disagreed                       int64
}

// Add returns the sum of t and o.
func (t Tally) Add(o Tally) Tally {
	return Tally{Decisions: t.Decisions + o.Decisions, CandidateDenied: t.CandidateDenied + o.CandidateDenied,
		BaselineDenied: t.BaselineDenied + o.BaselineDenied, CandidateErrors: t.CandidateErrors + o.CandidateErrors,
		BaselineErrors: t.BaselineErrors + o.BaselineErrors, Disagreed: t.Disagreed + o.Disagreed}
}

// RolloutCount is a rollout's tally in a minute.
type RolloutCount struct {
	Rollout int64
	Bucket  time.Time
	Tally
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
	SaveShadow(ctx context.Context, counts []Count, rollouts []RolloutCount, rows []Disagreement) error
}

// Job is one answered decision to decide again.
type Job struct {
	Input                   ast.Value
	DecisionID              uuid.UUID
	DecidedAt               time.Time
	Region, Source, Purpose string
	Served                  engine.Decision // the answer given
	// Rollout, when not 0, is the rollout whose candidate gave Served;
	// Baseline, the active revision, then decides the input again. When 0,
	// the candidate in shadow does.
	Rollout  int64
	Baseline *engine.Policy
}

type rolloutKey struct {
	rollout int64
	bucket  time.Time
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

	mu       sync.Mutex
	counts   map[Count]int64 // keyed by bucket and candidate (counts zero)
	dis      map[Count]int64
	rollouts map[rolloutKey]Tally
	rows     []Disagreement
}

// New returns an Evaluator recording into store; Run starts it.
func New(store Store, timeout time.Duration, log *slog.Logger, reg prometheus.Registerer) *Evaluator {
	e := &Evaluator{jobs: make(chan Job, QueueSize), store: store, timeout: timeout, log: log,
		counts: map[Count]int64{}, dis: map[Count]int64{}, rollouts: map[rolloutKey]Tally{},
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

// Offer hands an answered decision over to be decided again, without
// waiting: a rollout's to its baseline, any other to the candidate in shadow
// (if any).
func (e *Evaluator) Offer(j Job) {
	if j.Rollout == 0 && e.candidate.Load() == nil {
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
	bucket := j.DecidedAt.UTC().Truncate(time.Minute)
	if j.Rollout != 0 {
		b := j.Baseline.Decide(ctx, j.Input, j.DecidedAt, e.timeout)
		row, agree := disagreement(j, j.Served, b)
		t := Tally{Decisions: 1, CandidateDenied: denied(j.Served), BaselineDenied: denied(b),
			CandidateErrors: failed(j.Served), BaselineErrors: failed(b)}
		e.mu.Lock()
		defer e.mu.Unlock()
		if !agree {
			t.Disagreed = 1
			e.rows = append(e.rows, row)
		}
		key := rolloutKey{rollout: j.Rollout, bucket: bucket}
		e.rollouts[key] = e.rollouts[key].Add(t)
		return
	}
	p := e.candidate.Load()
	if p == nil {
		return
	}
	d := p.Decide(ctx, j.Input, j.DecidedAt, e.timeout)
	row, agree := disagreement(j, d, j.Served)
	key := Count{Bucket: bucket, Candidate: p.Revision()}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[key]++
	if !agree {
		e.dis[key]++
		e.rows = append(e.rows, row)
	}
}

// disagreement compares the candidate's and the active revision's answers
// to j's input.
func disagreement(j Job, candidate, active engine.Decision) (Disagreement, bool) {
	if candidate.Result.Allow == active.Result.Allow && candidate.Result.SameReasons(active.Result) {
		return Disagreement{}, true
	}
	was, now := active.Result.Codes(), candidate.Result.Codes()
	return Disagreement{DecisionID: j.DecisionID, DecidedAt: j.DecidedAt, Candidate: candidate.Revision,
		Active: active.Revision, Region: j.Region, Source: j.Source, Purpose: j.Purpose,
		ActiveAllow: active.Result.Allow, CandidateAllow: candidate.Result.Allow, ActiveReasons: was, CandidateReasons: now,
		ChangedCodes: symmetricDifference(was, now), Rollout: j.Rollout}, false
}

func denied(d engine.Decision) int64 {
	if d.Result.Allow {
		return 0
	}
	return 1
}

func failed(d engine.Decision) int64 {
	if d.Failed {
		return 1
	}
	return 0
}

func (e *Evaluator) flush(ctx context.Context) {
	e.mu.Lock()
	counts := make([]Count, 0, len(e.counts))
	for k, n := range e.counts {
		counts = append(counts, Count{Bucket: k.Bucket, Candidate: k.Candidate, Evaluated: n, Disagreed: e.dis[k]})
	}
	rollouts := make([]RolloutCount, 0, len(e.rollouts))
	for k, t := range e.rollouts {
		rollouts = append(rollouts, RolloutCount{Rollout: k.rollout, Bucket: k.bucket, Tally: t})
	}
	rows := e.rows
	e.counts, e.dis, e.rollouts, e.rows = map[Count]int64{}, map[Count]int64{}, map[rolloutKey]Tally{}, nil
	e.mu.Unlock()
	if len(counts) == 0 && len(rollouts) == 0 {
		return
	}
	if err := e.store.SaveShadow(ctx, counts, rollouts, rows); err != nil {
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
