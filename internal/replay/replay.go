// Package replay keeps the re-evaluation of logged decisions: the logged
// input, under the revision that decided it, with time pinned to the
// logged decision time, must give the logged result.
package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/decision"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/masking"
	"github.com/signalgate/signalgate/internal/policy"
)

// Compiler compiles revisions and the draft.
type Compiler interface {
	// Compile compiles a revision identifier, or "draft".
	Compile(ctx context.Context, target string) (*engine.Policy, error)
	// ActiveID is the identifier of the active revision.
	ActiveID() string
}

// Service replays logged decisions.
type Service struct {
	log      decisionlog.Reader
	compiler Compiler
	timeout  time.Duration

	mu       sync.Mutex
	compiled map[string]*engine.Policy
}

// maxCompiled bounds the revisions kept compiled for replays.
const maxCompiled = 16

// NewService returns a Service reading the log and compiling with c.
func NewService(log decisionlog.Reader, c Compiler, timeout time.Duration) *Service {
	return &Service{log: log, compiler: c, timeout: timeout, compiled: map[string]*engine.Policy{}}
}

// Result is a replay's outcome.
type Result struct {
	Entry    decisionlog.Entry
	Replayed json.RawMessage // nil when the replayed document is undefined
	Match    bool
	// MaskedRead is true when the stored input has masked values and the
	// policy's answer depends on them: a mismatch may then come from the
	// masking, not from the log.
	MaskedRead bool
	// Also is the same input under another target, when one was asked for.
	Also *Other
}

// Other is a logged input decided under another target, or at another time.
type Other struct {
	Target   string // "active", "draft" or a revision identifier, as asked
	Revision string // the revision it named, or "draft"
	AsOf     *time.Time
	Result   json.RawMessage
	Same     bool // the same result as the logged one
}

// Replay re-evaluates decision id, and also under target when it is not
// empty ("active", "draft" or a revision identifier). It returns
// errs.NotFound for an unknown decision, errs.Unprocessable when its
// revision is not one this deployment published (e.g. an agent's bundle).
// With asOf, the other evaluation (under the deciding revision when also is
// empty) decides the input as if it arrived at asOf.
func (s *Service) Replay(ctx context.Context, id uuid.UUID, also string, asOf *time.Time) (Result, error) {
	e, err := s.log.Get(ctx, id)
	if err != nil {
		return Result{}, err
	}
	return s.ReplayEntry(ctx, e, also, asOf)
}

// ReplayEntry is Replay for an entry already read.
func (s *Service) ReplayEntry(ctx context.Context, e decisionlog.Entry, also string, asOf *time.Time) (Result, error) {
	p, err := s.policy(ctx, e.Revision)
	if err != nil {
		return Result{}, err
	}
	input, err := decision.ParseLogged(e.Input)
	if err != nil {
		return Result{}, fmt.Errorf("logged input of %s: %w", e.DecisionID, err)
	}
	replayed, err := s.eval(ctx, p, e, input)
	if err != nil {
		return Result{}, fmt.Errorf("replay %s: %w", e.DecisionID, err)
	}
	res := Result{Entry: e, Replayed: replayed, Match: sameJSON(e.Result, replayed)}
	if len(e.Masked) > 0 {
		res.MaskedRead = s.readsMasked(ctx, p, e, input, replayed)
	}
	if also == "" && asOf != nil {
		also = e.Revision
	}
	if also != "" {
		if res.Also, err = s.also(ctx, also, e, input, asOf); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// readsMasked tells whether the policy's answer may depend on the masked
// values of e: its code refers to a masked path, or a sentinel in their
// place changes the answer.
func (s *Service) readsMasked(ctx context.Context, p *engine.Policy, e decisionlog.Entry, input ast.Value, replayed []byte) bool {
	for _, path := range e.Masked {
		if keys := masking.Keys(path); keys != nil && p.Reads(keys) {
			return true
		}
	}
	if input == nil {
		return false
	}
	probed, err := s.eval(ctx, p, e, masking.Probe(input, e.Masked))
	return err != nil || !sameJSON(probed, replayed)
}

func (s *Service) also(ctx context.Context, target string, e decisionlog.Entry, input ast.Value, asOf *time.Time) (*Other, error) {
	rev := target
	if target == "active" {
		rev = s.compiler.ActiveID()
	}
	var p *engine.Policy
	var err error
	if rev == policy.DraftName {
		p, err = s.compiler.Compile(ctx, rev) // the draft changes: never cached
	} else {
		p, err = s.policy(ctx, rev)
	}
	if err != nil {
		return nil, err
	}
	at := e
	if asOf != nil {
		input, at.DecidedAt = decision.ArrivedAt(input, e.DecidedAt, *asOf)
	}
	out, err := s.eval(ctx, p, at, input)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s under %s: %w", e.DecisionID, rev, err)
	}
	return &Other{Target: target, Revision: rev, AsOf: asOf, Result: out, Same: sameJSON(e.Result, out)}, nil
}

// eval decides input at e's path with time pinned to e's decision time.
func (s *Service) eval(ctx context.Context, p *engine.Policy, e decisionlog.Entry, input ast.Value) ([]byte, error) {
	// Encoded as the log encoded them, so a replay equals its row by construction.
	if e.Path == engine.DecisionPath {
		return decision.ResultJSON(p.Decide(ctx, input, e.DecidedAt, s.timeout).Result), nil
	}
	qr, err := p.Query(ctx, splitPath(e.Path), input, e.DecidedAt, s.timeout)
	if err != nil || qr.Value == nil {
		return nil, err
	}
	return decision.ValueJSON(qr.Value)
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func (s *Service) policy(ctx context.Context, rev string) (*engine.Policy, error) {
	s.mu.Lock()
	p := s.compiled[rev]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	if _, err := policy.ParseID(rev); err != nil {
		return nil, errs.E(errs.Unprocessable, "revision %q was not published here, so it cannot be replayed", rev)
	}
	p, err := s.compiler.Compile(ctx, rev)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", rev, err)
	}
	s.mu.Lock()
	if len(s.compiled) >= maxCompiled {
		clear(s.compiled)
	}
	s.compiled[rev] = p
	s.mu.Unlock()
	return p, nil
}

// sameJSON compares two JSON documents by value (jsonb stores objects with
// its own key order and spacing); two absent documents are the same.
func sameJSON(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
