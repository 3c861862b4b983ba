// Package decision keeps the decision path: evaluate an input under the
// active policy, record it in the decision log, and only then hand it out.
package decision

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/masking"
	"github.com/signalgate/signalgate/internal/rollout"
	"github.com/signalgate/signalgate/internal/shadow"
)

// MaxBatch is the most inputs one batch may carry.
const MaxBatch = 1000

// Input is one decision input: its parsed value and its exact JSON bytes.
// Raw may point into a request buffer that is reused once the request ends;
// the service copies what it keeps.
type Input struct {
	Value ast.Value
	Raw   []byte
}

// Outcome is one answered decision.
type Outcome struct {
	DecisionID string
	Revision   string
	Result     json.RawMessage // {"allow": ..., "reasons": [...]}
}

// QueryOutcome is one answered Data API evaluation.
type QueryOutcome struct {
	DecisionID string
	Revision   string
	Result     json.RawMessage // nil when the document is undefined
	Error      string          // set when the policy failed or timed out
}

// Service makes and records decisions.
type Service struct {
	engine *engine.Engine
	log    *decisionlog.Writer
	node   string
	now    func() time.Time
	masks  *masking.Current
	fresh  func() error // nil, or an error while the policy may be stale
	shadow *shadow.Evaluator
	// rollout, when set, holds the progressive rollout in force: its
	// candidate decides for its share of subjects.
	rollout *rollout.Current

	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
}

// NewService returns a Service deciding with eng and recording through log,
// naming this instance node in every row.
func NewService(eng *engine.Engine, log *decisionlog.Writer, node string, now func() time.Time, reg prometheus.Registerer) *Service {
	if now == nil {
		now = time.Now
	}
	s := &Service{
		engine: eng, log: log, node: node, now: now,
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signalgate_decisions_total", Help: "Decisions answered, by API and outcome.",
		}, []string{"api", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "signalgate_decision_seconds", Help: "Time to decide and record, per request, by API.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}, []string{"api"}),
	}
	if reg != nil {
		reg.MustRegister(s.decisions, s.latency)
	}
	return s
}

// decidedAt is the decision time at the precision the log keeps, so a
// replay from the logged time pins exactly the instant the policy saw.
func (s *Service) decidedAt() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func newID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New() // v7 only fails when the random source does; keep deciding
	}
	return id
}

// Decide evaluates one input and returns once it is recorded. It returns an
// errs.Unavailable error when no policy is loaded or the decision cannot be
// recorded; the caller must then not use any decision.
func (s *Service) Decide(ctx context.Context, client string, in Input) (Outcome, error) {
	if err := s.refuse(); err != nil {
		return Outcome{}, err
	}
	start := time.Now()
	active := s.engine.Policy()
	if active == nil {
		return Outcome{}, unavailable(engine.ErrNoPolicy)
	}
	at := s.decidedAt()
	p, rolloutID := s.policyFor(active, in.Value, at)
	d := p.Decide(ctx, in.Value, at, s.engine.Timeout())
	e, out := s.entry(client, in, d, at)
	if err := s.log.Log(ctx, e); err != nil {
		return Outcome{}, unavailable(err)
	}
	s.compare(in.Value, &e, d, rolloutID, active)
	s.count("single", d)
	s.latency.WithLabelValues("single").Observe(time.Since(start).Seconds())
	return out, nil
}

// DecideBatch evaluates every input under one policy revision and returns
// once all are recorded (one log request). Errors as Decide.
func (s *Service) DecideBatch(ctx context.Context, client string, ins []Input) ([]Outcome, error) {
	if len(ins) == 0 || len(ins) > MaxBatch {
		return nil, errs.E(errs.Invalid, "inputs must hold 1 to %d inputs", MaxBatch)
	}
	if err := s.refuse(); err != nil {
		return nil, err
	}
	start := time.Now()
	active := s.engine.Policy()
	if active == nil {
		return nil, unavailable(engine.ErrNoPolicy)
	}
	entries := make([]decisionlog.Entry, len(ins))
	outs := make([]Outcome, len(ins))
	decided := make([]engine.Decision, len(ins))
	rollouts := make([]int64, len(ins))
	for i, in := range ins {
		at := s.decidedAt()
		var p *engine.Policy
		p, rollouts[i] = s.policyFor(active, in.Value, at)
		decided[i] = p.Decide(ctx, in.Value, at, s.engine.Timeout())
		entries[i], outs[i] = s.entry(client, in, decided[i], at)
	}
	if err := s.log.Log(ctx, entries...); err != nil {
		return nil, unavailable(err)
	}
	for i, d := range decided {
		s.count("batch", d)
		s.compare(ins[i].Value, &entries[i], d, rollouts[i], active)
	}
	s.latency.WithLabelValues("batch").Observe(time.Since(start).Seconds())
	return outs, nil
}

// ShadowWith hands every answered native decision to e, which decides it
// again off the response path: under the candidate in shadow, or, for a
// rollout's candidate, under the active revision.
func (s *Service) ShadowWith(e *shadow.Evaluator) { s.shadow = e }

// RolloutWith makes the rollout in force in c decide for its share of
// subjects (c holds none: the active revision decides for everyone).
func (s *Service) RolloutWith(c *rollout.Current) { s.rollout = c }

// policyFor returns the policy deciding input at at, and the rollout that
// chose it (0 for the active policy).
func (s *Service) policyFor(active *engine.Policy, input ast.Value, at time.Time) (*engine.Policy, int64) {
	if s.rollout == nil {
		return active, 0
	}
	l := s.rollout.Load()
	if l == nil {
		return active, 0
	}
	return l.For(active, subjectID(input), at)
}

// compare offers answered decision d to be decided again off the response
// path: by active when a rollout's candidate made it, else by the candidate
// in shadow, if any.
func (s *Service) compare(input ast.Value, e *decisionlog.Entry, d engine.Decision, rolloutID int64, active *engine.Policy) {
	if s.shadow == nil {
		return
	}
	j := shadow.Job{Input: input, DecisionID: e.DecisionID, DecidedAt: e.DecidedAt,
		Region: e.Region, Source: e.Source, Purpose: e.Purpose, Served: d}
	if rolloutID != 0 {
		j.Rollout, j.Baseline = rolloutID, active
	}
	s.shadow.Offer(j)
}

// GuardFreshness makes every decision first ask fresh, and refuse (503)
// while it returns an error: the instance cannot vouch for its policy.
func (s *Service) GuardFreshness(fresh func() error) { s.fresh = fresh }

// refuse returns why no decision can be made now, or nil.
func (s *Service) refuse() error {
	if !s.log.Ready() {
		return unavailable(decisionlog.ErrUnavailable)
	}
	if s.fresh != nil {
		if err := s.fresh(); err != nil {
			return errs.Wrap(errs.Unavailable, err, err.Error())
		}
	}
	return nil
}

// MaskWith makes every following entry pass through the masker in force in
// c before it is logged.
func (s *Service) MaskWith(c *masking.Current) { s.masks = c }

func (s *Service) entry(client string, in Input, d engine.Decision, at time.Time) (decisionlog.Entry, Outcome) {
	stored, masked := s.mask(in)
	e, out := Record(newID(), client, s.node, stored, d, at)
	e.Masked = masked
	return e, out
}

// mask returns the input as it is to be stored — with the masking rules
// applied — and the paths it masked. It runs after the evaluation: masking
// never changes what was decided. Without a rule that applies, it returns in.
func (s *Service) mask(in Input) (Input, []string) {
	m := s.masks.Load()
	if m == nil || in.Value == nil {
		return in, nil
	}
	masked, paths := m.Mask(in.Value)
	if len(paths) == 0 {
		return in, nil
	}
	b, err := ValueJSON(masked)
	if err != nil {
		// The input was JSON a moment ago; never store it unmasked.
		return Input{Value: ast.NewObject(), Raw: []byte(`{}`)}, []string{"/input"}
	}
	return Input{Value: masked, Raw: b}, paths
}

// Record builds the log entry and the answer of decision d about input in,
// made on node for client: the one place a native decision's row is shaped.
func Record(id uuid.UUID, client, node string, in Input, d engine.Decision, at time.Time) (decisionlog.Entry, Outcome) {
	result := ResultJSON(d.Result)
	allow := d.Result.Allow
	e := decisionlog.Entry{
		DecisionID: id, DecidedAt: at, Path: engine.DecisionPath,
		Input: bytes.Clone(in.Raw), Result: result, Allow: &allow, ReasonCodes: d.Result.Codes(),
		Revision: d.Revision, Client: client, Node: node, EvalNS: d.EvalNS,
	}
	fillColumns(&e, in.Value)
	return e, Outcome{DecisionID: id.String(), Revision: d.Revision, Result: result}
}

func (s *Service) count(api string, d engine.Decision) {
	outcome := "deny"
	switch {
	case d.Failed:
		outcome = "error"
	case d.Result.Allow:
		outcome = "allow"
	}
	s.decisions.WithLabelValues(api, outcome).Inc()
}

// Query evaluates data.<path> as OPA's Data API does and records it. input
// may be nil (no input). Errors as Decide.
func (s *Service) Query(ctx context.Context, client string, path []string, in *Input) (QueryOutcome, error) {
	if err := s.refuse(); err != nil {
		return QueryOutcome{}, err
	}
	start := time.Now()
	at := s.decidedAt()
	var value ast.Value
	if in != nil {
		value = in.Value
	}
	qr, err := s.engine.Query(ctx, path, value, at)
	if err != nil {
		if errors.Is(err, engine.ErrNoPolicy) {
			return QueryOutcome{}, unavailable(err)
		}
		return QueryOutcome{}, errs.Wrap(errs.Invalid, err, "cannot evaluate data/"+strings.Join(path, "/"))
	}
	id := newID()
	e := decisionlog.Entry{
		DecisionID: id, DecidedAt: at, Path: strings.Join(path, "/"),
		Revision: qr.Revision, Client: client, Node: s.node, EvalNS: qr.EvalNS,
	}
	out := QueryOutcome{DecisionID: id.String(), Revision: qr.Revision}
	if in != nil {
		stored, masked := s.mask(*in)
		e.Input, e.Masked = bytes.Clone(stored.Raw), masked
		fillColumns(&e, stored.Value)
	}
	outcome := "deny"
	switch {
	case qr.Err != nil:
		out.Error = qr.Err.Error()
		e.ReasonCodes = []string{engine.ReasonEvaluationError}
		outcome = "error"
	case qr.Value != nil:
		result, err := ValueJSON(qr.Value)
		if err != nil {
			return QueryOutcome{}, fmt.Errorf("encode result of data/%s: %w", e.Path, err)
		}
		out.Result, e.Result = result, result
		e.Allow, e.ReasonCodes = summarize(qr.Value)
		if e.Allow != nil && *e.Allow {
			outcome = "allow"
		}
	default:
		outcome = "undefined"
	}
	if err := s.log.Log(ctx, e); err != nil {
		return QueryOutcome{}, unavailable(err)
	}
	s.decisions.WithLabelValues("data", outcome).Inc()
	s.latency.WithLabelValues("data").Observe(time.Since(start).Seconds())
	return out, nil
}

func unavailable(err error) error {
	if errors.Is(err, engine.ErrNoPolicy) {
		return errs.Wrap(errs.Unavailable, err, "no policy is loaded yet; retry shortly")
	}
	return errs.Wrap(errs.Unavailable, err, "the decision could not be recorded, so it was not made; retry shortly")
}
