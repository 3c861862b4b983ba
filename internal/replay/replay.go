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

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// Revisions reads published revisions.
type Revisions interface {
	Revision(ctx context.Context, id string) (policy.Revision, error)
}

// Service replays logged decisions.
type Service struct {
	log     decisionlog.Reader
	revs    Revisions
	timeout time.Duration

	mu       sync.Mutex
	compiled map[string]*engine.Policy
}

// maxCompiled bounds the revisions kept compiled for replays.
const maxCompiled = 16

// NewService returns a Service reading the log and revisions.
func NewService(log decisionlog.Reader, revs Revisions, timeout time.Duration) *Service {
	return &Service{log: log, revs: revs, timeout: timeout, compiled: map[string]*engine.Policy{}}
}

// Result is a replay's outcome.
type Result struct {
	Entry    decisionlog.Entry
	Replayed json.RawMessage // nil when the replayed document is undefined
	Match    bool
}

// Replay re-evaluates decision id. It returns errs.NotFound for an unknown
// decision, errs.Unprocessable when its revision is not one this deployment
// published (e.g. an agent's bundle).
func (s *Service) Replay(ctx context.Context, id uuid.UUID) (Result, error) {
	e, err := s.log.Get(ctx, id)
	if err != nil {
		return Result{}, err
	}
	p, err := s.policy(ctx, e.Revision)
	if err != nil {
		return Result{}, err
	}
	var input ast.Value
	if e.Input != nil {
		input, err = strictjson.Parse(e.Input, strictjson.Limits{MaxDepth: 64, MaxWidth: 1 << 20})
		if err != nil {
			return Result{}, fmt.Errorf("logged input of %s: %w", id, err)
		}
	}
	var replayed []byte
	if e.Path == engine.DecisionPath {
		d := p.Decide(ctx, input, e.DecidedAt, s.timeout)
		replayed, err = json.Marshal(d.Result)
	} else {
		var qr engine.QueryResult
		qr, err = p.Query(ctx, splitPath(e.Path), input, e.DecidedAt, s.timeout)
		if err == nil && qr.Value != nil {
			var v any
			if v, err = ast.JSON(qr.Value); err == nil {
				replayed, err = json.Marshal(v)
			}
		}
	}
	if err != nil {
		return Result{}, fmt.Errorf("replay %s: %w", id, err)
	}
	return Result{Entry: e, Replayed: replayed, Match: sameJSON(e.Result, replayed)}, nil
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
	r, err := s.revs.Revision(ctx, rev)
	if err != nil {
		return nil, err
	}
	p, err = engine.Compile(ctx, rev, r.Content.EngineContent())
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
