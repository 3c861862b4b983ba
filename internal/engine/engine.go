// Package engine keeps the compiled policy in memory and evaluates decisions
// against it: compile once per revision under a restricted capability set,
// prepare the queries once, evaluate with a deadline and pinned time, and
// swap the compiled policy atomically so the hot path takes no lock.
package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Entrypoint is the package every decision asks.
const Entrypoint = "signalgate.decision"

// DecisionPath is the data path of a native decision, as it is logged.
const DecisionPath = "signalgate/decision"

// Reason codes added by the engine rather than by the policy.
const (
	ReasonEvaluationError = "evaluation_error"
	DetailTimeout         = "timeout"
)

// ErrNoPolicy is returned when no policy has been loaded yet.
var ErrNoPolicy = errors.New("no policy loaded")

// Reason is one entry of a decision's reasons.
type Reason struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Result is the answer of the default entry point.
type Result struct {
	Allow   bool     `json:"allow"`
	Reasons []Reason `json:"reasons"`
}

// Codes returns the result's distinct reason codes, sorted.
func (r Result) Codes() []string {
	codes := make([]string, 0, len(r.Reasons))
	for _, reason := range r.Reasons {
		codes = append(codes, reason.Code)
	}
	slices.Sort(codes)
	return slices.Compact(codes)
}

// SameReasons reports whether r and o give the same reasons, whatever their
// order (reasons is a set).
func (r Result) SameReasons(o Result) bool {
	if len(r.Reasons) != len(o.Reasons) {
		return false
	}
	for _, reason := range r.Reasons {
		if !slices.Contains(o.Reasons, reason) {
			return false
		}
	}
	return true
}

// Decision is one evaluation: the result and what produced it.
type Decision struct {
	Revision string
	Result   Result
	Failed   bool // the policy failed or ran out of time; Result carries evaluation_error
	EvalNS   int64
}

// Engine holds the active compiled policy.
type Engine struct {
	current atomic.Pointer[Policy]
	timeout time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed at the next Swap
}

// New returns an Engine whose evaluations each run for at most timeout.
func New(timeout time.Duration) *Engine {
	if timeout <= 0 {
		timeout = 50 * time.Millisecond
	}
	return &Engine{timeout: timeout, changed: make(chan struct{})}
}

// Swap makes p the policy every following evaluation uses and returns the
// previous one (nil at first).
func (e *Engine) Swap(p *Policy) *Policy {
	old := e.current.Swap(p)
	e.mu.Lock()
	close(e.changed)
	e.changed = make(chan struct{})
	e.mu.Unlock()
	return old
}

// Changed returns a channel closed at the next Swap, for those who wait on a
// policy change (long-polling agents) instead of asking again and again.
func (e *Engine) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

// Policy returns the active policy, or nil before the first Swap.
func (e *Engine) Policy() *Policy { return e.current.Load() }

// Timeout is the evaluation deadline.
func (e *Engine) Timeout() time.Duration { return e.timeout }

// Query evaluates data.<path> under the active policy, as OPA's Data API
// does; see Policy.Query.
func (e *Engine) Query(ctx context.Context, path []string, input ast.Value, at time.Time) (QueryResult, error) {
	p := e.current.Load()
	if p == nil {
		return QueryResult{}, ErrNoPolicy
	}
	return p.Query(ctx, path, input, at, e.timeout)
}
