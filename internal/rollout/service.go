package rollout

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/shadow"
)

// GuardActor is who the audit trail names for the guard rails' rollbacks.
const GuardActor = "system:guard-rails"

// Store keeps rollouts. Changes record their audit entry in the same
// transaction and notify every instance.
type Store interface {
	// StartRollout inserts a running rollout against the active revision
	// (its Baseline is filled in). errs.Conflict when one already runs or
	// the candidate is the active revision; errs.NotFound for an unknown
	// candidate.
	StartRollout(ctx context.Context, r Rollout, e audit.Entry) (Rollout, error)
	// SetSteps replaces a running rollout's steps; errs.Conflict when it no
	// longer runs.
	SetSteps(ctx context.Context, id int64, steps []Step, e audit.Entry) (Rollout, error)
	// EndRollout moves a running rollout to state; errs.Conflict when it no
	// longer runs.
	EndRollout(ctx context.Context, id int64, state, by, reason string, at time.Time, e audit.Entry) (Rollout, error)
	// CompleteRollout activates a running rollout's candidate and marks it
	// completed; errs.Conflict when it no longer runs.
	CompleteRollout(ctx context.Context, id int64, by string, at time.Time, e audit.Entry) (Rollout, error)
	Rollouts(ctx context.Context, limit int) ([]Rollout, error)
	Rollout(ctx context.Context, id int64) (Rollout, error)
	// RunningRollout returns the running rollout, or nil.
	RunningRollout(ctx context.Context) (*Rollout, error)
	// RolloutCounts returns rollout id's tally per minute from since.
	RolloutCounts(ctx context.Context, id int64, since time.Time) ([]shadow.RolloutCount, error)
	// RolloutSamples returns rollout id's newest disagreements.
	RolloutSamples(ctx context.Context, id int64, limit int) ([]shadow.Disagreement, error)
	ActiveNumber(ctx context.Context) (int64, error)
}

// Compiler compiles a stored revision.
type Compiler interface {
	Compile(ctx context.Context, id string) (*engine.Policy, error)
}

// Service starts, steps, ends and guards rollouts.
type Service struct {
	store    Store
	compiler Compiler
	now      func() time.Time
}

// NewService returns a Service over store.
func NewService(store Store, compiler Compiler, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, compiler: compiler, now: now}
}

// Start rolls candidate out along steps; a first step without an instant
// starts now, later ones need theirs. It returns errs.Invalid for a bad
// plan, errs.Unprocessable when the candidate does not compile, and the
// store's errors.
func (s *Service) Start(ctx context.Context, who policy.Actor, candidate string, steps []Step) (Rollout, error) {
	n, err := policy.ParseID(candidate)
	if err != nil {
		return Rollout{}, err
	}
	now := s.now().UTC()
	steps = slices.Clone(steps)
	if len(steps) > 0 && steps[0].At.IsZero() {
		steps[0].At = now
	}
	for i := range steps {
		if steps[i].At.IsZero() {
			return Rollout{}, errs.E(errs.Invalid, "steps[%d].at: only the first step may leave out its instant (it starts now); step by hand with POST .../step", i)
		}
		steps[i].At = steps[i].At.UTC()
	}
	if msg := CheckSteps(steps); msg != "" {
		return Rollout{}, errs.E(errs.Invalid, "%s", msg)
	}
	if _, err := s.compiler.Compile(ctx, policy.FormatID(n)); err != nil {
		return Rollout{}, err
	}
	detail, _ := json.Marshal(map[string]any{"steps": steps})
	e := audit.Entry{At: now, Actor: who.Name, Action: "rollout.start", Target: policy.FormatID(n), RequestID: who.RequestID, Detail: detail}
	return s.store.StartRollout(ctx, Rollout{Candidate: n, Steps: steps, State: Running, CreatedBy: who.Name, CreatedAt: now}, e)
}

// Step sets rollout id's share to percent now, by hand; the steps still
// scheduled are dropped, since the admin has taken over.
func (s *Service) Step(ctx context.Context, who policy.Actor, id int64, percent int) (Rollout, error) {
	now := s.now().UTC()
	r, err := s.running(ctx, id)
	if err != nil {
		return Rollout{}, err
	}
	if msg := CheckSteps([]Step{{Percent: percent, At: now}}); msg != "" {
		return Rollout{}, errs.E(errs.Invalid, "%s", msg)
	}
	steps := []Step{}
	for _, st := range r.Steps {
		if !st.At.After(now) {
			steps = append(steps, st)
		}
	}
	steps = append(steps, Step{Percent: percent, At: now})
	detail, _ := json.Marshal(map[string]any{"rollout": id, "from": r.Percent(now), "to": percent})
	e := audit.Entry{At: now, Actor: who.Name, Action: "rollout.step", Target: policy.FormatID(r.Candidate), RequestID: who.RequestID, Detail: detail}
	return s.store.SetSteps(ctx, id, steps, e)
}

// Rollback ends rollout id: the active revision decides for everyone again.
func (s *Service) Rollback(ctx context.Context, who policy.Actor, id int64, reason string) (Rollout, error) {
	if reason == "" {
		reason = "rolled back by " + who.Name
	}
	return s.end(ctx, who, id, RolledBack, "rollout.rollback", reason)
}

// Complete makes rollout id's candidate the active revision.
func (s *Service) Complete(ctx context.Context, who policy.Actor, id int64) (Rollout, error) {
	now := s.now().UTC()
	r, err := s.running(ctx, id)
	if err != nil {
		return Rollout{}, err
	}
	detail, _ := json.Marshal(map[string]any{"rollout": id, "from": policy.FormatID(r.Baseline), "to": policy.FormatID(r.Candidate), "percent": r.Percent(now)})
	e := audit.Entry{At: now, Actor: who.Name, Action: "rollout.complete", Target: policy.FormatID(r.Candidate), RequestID: who.RequestID, Detail: detail}
	return s.store.CompleteRollout(ctx, id, who.Name, now, e)
}

func (s *Service) end(ctx context.Context, who policy.Actor, id int64, state, action, reason string) (Rollout, error) {
	now := s.now().UTC()
	r, err := s.running(ctx, id)
	if err != nil {
		return Rollout{}, err
	}
	detail, _ := json.Marshal(map[string]any{"rollout": id, "reason": reason, "percent": r.Percent(now)})
	e := audit.Entry{At: now, Actor: who.Name, Action: action, Target: policy.FormatID(r.Candidate), RequestID: who.RequestID, Detail: detail}
	return s.store.EndRollout(ctx, id, state, who.Name, reason, now, e)
}

func (s *Service) running(ctx context.Context, id int64) (Rollout, error) {
	r, err := s.store.Rollout(ctx, id)
	if err != nil {
		return Rollout{}, err
	}
	if r.State != Running {
		return Rollout{}, errs.E(errs.Conflict, "rollout %d is %s, no longer running", id, r.State)
	}
	return r, nil
}

// Guard checks the running rollout, if any, against the guard rails g: it
// is rolled back when its candidate drifts past them, and cancelled when
// the active revision moved under it (it would compare against a revision
// no longer in force). It returns the rollout it ended, or nil.
func (s *Service) Guard(ctx context.Context, g settings.GuardRails) (*Rollout, error) {
	r, err := s.store.RunningRollout(ctx)
	if err != nil || r == nil {
		return nil, err
	}
	active, err := s.store.ActiveNumber(ctx)
	if err != nil {
		return nil, err
	}
	who := policy.Actor{Name: GuardActor}
	if active != r.Baseline {
		reason := "the active revision moved from " + policy.FormatID(r.Baseline) + " to " + policy.FormatID(active) + " during the rollout"
		ended, err := s.end(ctx, who, r.ID, Cancelled, "rollout.cancel", reason)
		return &ended, err
	}
	t, err := s.Window(ctx, r.ID, g)
	if err != nil {
		return nil, err
	}
	reason := Breach(t, g, policy.FormatID(r.Candidate), policy.FormatID(r.Baseline))
	if reason == "" {
		return nil, nil
	}
	ended, err := s.end(ctx, who, r.ID, RolledBack, "rollout.rollback", reason)
	return &ended, err
}

// Window is rollout id's tally over the guard rails' window.
func (s *Service) Window(ctx context.Context, id int64, g settings.GuardRails) (shadow.Tally, error) {
	since := s.now().Add(-time.Duration(g.WindowSeconds) * time.Second).Truncate(time.Minute)
	counts, err := s.store.RolloutCounts(ctx, id, since)
	var t shadow.Tally
	for _, c := range counts {
		t = t.Add(c.Tally)
	}
	return t, err
}

// List returns up to limit rollouts, newest first.
func (s *Service) List(ctx context.Context, limit int) ([]Rollout, error) {
	return s.store.Rollouts(ctx, limit)
}

// Report is a rollout with what its comparison found.
type Report struct {
	Rollout
	Window  shadow.Tally          // over the guard rails' window
	Series  []shadow.RolloutCount // per minute since it started
	Samples []shadow.Disagreement // the newest
}

// Get returns rollout id and its comparison, its window that of g.
func (s *Service) Get(ctx context.Context, id int64, g settings.GuardRails) (Report, error) {
	r, err := s.store.Rollout(ctx, id)
	if err != nil {
		return Report{}, err
	}
	out := Report{Rollout: r}
	if out.Series, err = s.store.RolloutCounts(ctx, id, r.CreatedAt.Truncate(time.Minute)); err != nil {
		return Report{}, err
	}
	if out.Window, err = s.Window(ctx, id, g); err != nil {
		return Report{}, err
	}
	out.Samples, err = s.store.RolloutSamples(ctx, id, 20)
	return out, err
}

// Load returns the running rollout with its candidate compiled, or nil; cur
// is the one in force, whose compiled candidate is kept when unchanged.
func (s *Service) Load(ctx context.Context, cur *Live) (*Live, error) {
	r, err := s.store.RunningRollout(ctx)
	if err != nil || r == nil {
		return nil, err
	}
	l := &Live{Rollout: *r, Baseline: policy.FormatID(r.Baseline)}
	if cur != nil && cur.Candidate.Revision() == policy.FormatID(r.Candidate) {
		l.Candidate = cur.Candidate
		return l, nil
	}
	if l.Candidate, err = s.compiler.Compile(ctx, policy.FormatID(r.Candidate)); err != nil {
		return nil, err
	}
	return l, nil
}
