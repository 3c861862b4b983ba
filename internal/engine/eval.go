package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// maxCachedQueries bounds the prepared Data API queries kept per policy, so
// callers asking for arbitrary paths cannot grow memory without end.
const maxCachedQueries = 256

var noMetrics = metrics.NoOp()

var (
	varAllow   = ast.Var("allow")
	varReasons = ast.Var("reasons")
	varX       = ast.Var("x")
)

// eval runs q once with time pinned to at, bounded by timeout (a timer
// cancels it, where OPA's rego package would start a goroutine per call),
// and returns the first result's bindings, or nil when it is undefined.
func (p *Policy) eval(ctx context.Context, q query, input ast.Value, at time.Time, timeout time.Duration, tracer topdown.QueryTracer) (topdown.QueryResult, error) {
	cancel := topdown.NewCancel()
	timer := time.AfterFunc(timeout, cancel.Cancel)
	defer timer.Stop()
	tq := topdown.NewQuery(q.body).
		WithQueryCompiler(q.qc).
		WithCompiler(p.compiler).
		WithStore(p.store).
		WithTransaction(p.txn).
		WithTime(at).
		WithCancel(cancel).
		WithMetrics(noMetrics).
		WithStrictBuiltinErrors(false)
	if input != nil {
		tq = tq.WithInput(ast.NewTerm(input))
	}
	if tracer != nil {
		tq = tq.WithQueryTracer(tracer)
	}
	var first topdown.QueryResult
	err := tq.Iter(ctx, func(qr topdown.QueryResult) error {
		if first == nil {
			first = qr
		}
		return nil
	})
	if err != nil {
		if topdown.IsCancel(err) {
			return nil, errTimeout
		}
		return nil, err
	}
	return first, nil
}

type timeoutError struct{}

func (timeoutError) Error() string { return DetailTimeout }

var errTimeout error = timeoutError{}

// Decide evaluates the allow and reasons rules for input with time pinned to
// at. A failure or timeout yields a deny with reason evaluation_error.
func (p *Policy) Decide(ctx context.Context, input ast.Value, at time.Time, timeout time.Duration) Decision {
	return p.decideTraced(ctx, input, at, timeout, nil)
}

// decideTraced is Decide with tracer (nil for none) following the evaluation.
func (p *Policy) decideTraced(ctx context.Context, input ast.Value, at time.Time, timeout time.Duration, tracer topdown.QueryTracer) Decision {
	start := time.Now()
	qr, err := p.eval(ctx, p.decide, input, at, timeout, tracer)
	d := Decision{Revision: p.revision}
	if err == nil {
		d.Result, err = toResult(qr)
	}
	d.EvalNS = time.Since(start).Nanoseconds()
	if err != nil {
		d.Failed = true
		d.Result = Result{Reasons: []Reason{{Code: ReasonEvaluationError, Detail: errorDetail(err)}}}
	}
	return d
}

func errorDetail(err error) string {
	if err == errTimeout {
		return DetailTimeout
	}
	msg := err.Error()
	if len(msg) > 300 {
		msg = msg[:300]
	}
	return msg
}

func toResult(qr topdown.QueryResult) (Result, error) {
	if qr == nil {
		return Result{}, fmt.Errorf("%s.allow or .reasons is undefined", Entrypoint)
	}
	allow := qr[varAllow]
	b, ok := allow.Value.(ast.Boolean)
	if !ok {
		return Result{}, fmt.Errorf("%s.allow is not a boolean", Entrypoint)
	}
	reasons := qr[varReasons]
	r := Result{Allow: bool(b), Reasons: []Reason{}}
	var bad error
	add := func(t *ast.Term) {
		obj, ok := t.Value.(ast.Object)
		if !ok {
			bad = fmt.Errorf("%s.reasons holds a non-object", Entrypoint)
			return
		}
		code, ok := obj.Get(codeKey).Value.(ast.String)
		if !ok {
			bad = fmt.Errorf("%s.reasons holds an entry without a string code", Entrypoint)
			return
		}
		var detail string
		if dt := obj.Get(detailKey); dt != nil {
			if s, ok := dt.Value.(ast.String); ok {
				detail = string(s)
			} else {
				detail = dt.Value.String()
			}
		}
		r.Reasons = append(r.Reasons, Reason{Code: string(code), Detail: detail})
	}
	switch v := reasons.Value.(type) {
	case ast.Set:
		v.Sorted().Foreach(add)
	case *ast.Array:
		v.Foreach(add)
	default:
		return Result{}, fmt.Errorf("%s.reasons is not a set", Entrypoint)
	}
	return r, bad
}

var (
	codeKey   = ast.StringTerm("code")
	detailKey = ast.StringTerm("detail")
)

// QueryResult is the outcome of a Data API evaluation.
type QueryResult struct {
	Revision string
	Value    ast.Value // nil when the document is undefined
	Err      error     // the policy failed or timed out
	EvalNS   int64
}

// Query evaluates data.<path> (OPA's Data API) with optional input and time
// pinned to at. Prepared queries are cached per path.
func (p *Policy) Query(ctx context.Context, path []string, input ast.Value, at time.Time, timeout time.Duration) (QueryResult, error) {
	q, err := p.prepared(path)
	if err != nil {
		return QueryResult{}, err
	}
	start := time.Now()
	qr, err := p.eval(ctx, q, input, at, timeout, nil)
	res := QueryResult{Revision: p.revision}
	if err != nil {
		res.Err = errors.New(errorDetail(err))
	} else if t := qr[varX]; t != nil {
		res.Value = t.Value
	}
	res.EvalNS = time.Since(start).Nanoseconds()
	return res, nil
}

func (p *Policy) prepared(path []string) (query, error) {
	key := strings.Join(path, "/")
	p.mu.Lock()
	q, ok := p.queries[key]
	p.mu.Unlock()
	if ok {
		return q, nil
	}
	ref := ast.Ref{ast.DefaultRootDocument}
	for _, seg := range path {
		ref = append(ref, ast.StringTerm(seg))
	}
	q, err := compileQuery(p.compiler, ast.NewBody(ast.Equality.Expr(ast.VarTerm("x"), ast.NewTerm(ref))))
	if err != nil {
		return query{}, fmt.Errorf("compile query for data/%s: %w", key, err)
	}
	p.mu.Lock()
	if len(p.queries) >= maxCachedQueries {
		clear(p.queries)
	}
	p.queries[key] = q
	p.mu.Unlock()
	return q, nil
}
