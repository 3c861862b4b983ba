package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// maxCachedQueries bounds the prepared Data API queries kept per policy, so
// callers asking for arbitrary paths cannot grow memory without end.
const maxCachedQueries = 256

var noMetrics = metrics.NoOp()

// keepAST hands rule values back as AST terms: the caller reads them
// directly instead of paying for a conversion to Go maps and back.
func keepAST(t *ast.Term, _ *rego.EvalContext) (any, error) { return t, nil }

// evalOptions are the options every evaluation shares: parsed input, pinned
// time, our own cancel (a timer rather than OPA's per-eval goroutine), no
// metrics, the policy's long-lived read transaction.
func (p *Policy) evalOptions(input ast.Value, at time.Time, cancel topdown.Cancel) []rego.EvalOption {
	opts := []rego.EvalOption{
		rego.EvalTime(at),
		rego.EvalExternalCancel(cancel),
		rego.EvalMetrics(noMetrics),
		rego.EvalGenerateJSON(keepAST),
		rego.EvalTransaction(p.txn),
	}
	if input != nil {
		opts = append(opts, rego.EvalParsedInput(input))
	}
	return opts
}

func (p *Policy) eval(ctx context.Context, pq *rego.PreparedEvalQuery, input ast.Value, at time.Time, timeout time.Duration) (rego.ResultSet, error) {
	cancel := topdown.NewCancel()
	timer := time.AfterFunc(timeout, cancel.Cancel)
	rs, err := pq.Eval(ctx, p.evalOptions(input, at, cancel)...)
	timer.Stop()
	if err != nil && topdown.IsCancel(err) {
		return nil, errTimeout
	}
	return rs, err
}

type timeoutError struct{}

func (timeoutError) Error() string { return DetailTimeout }

var errTimeout error = timeoutError{}

// Decide evaluates the allow and reasons rules for input with time pinned to
// at. A failure or timeout yields a deny with reason evaluation_error.
func (p *Policy) Decide(ctx context.Context, input ast.Value, at time.Time, timeout time.Duration) Decision {
	start := time.Now()
	rs, err := p.eval(ctx, &p.decide, input, at, timeout)
	d := Decision{Revision: p.revision}
	if err == nil {
		d.Result, err = toResult(rs)
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

func toResult(rs rego.ResultSet) (Result, error) {
	if len(rs) == 0 {
		return Result{}, fmt.Errorf("%s.allow or .reasons is undefined", Entrypoint)
	}
	allow, ok := rs[0].Bindings["allow"].(*ast.Term)
	if !ok {
		return Result{}, fmt.Errorf("%s.allow is undefined", Entrypoint)
	}
	b, ok := allow.Value.(ast.Boolean)
	if !ok {
		return Result{}, fmt.Errorf("%s.allow is not a boolean", Entrypoint)
	}
	reasons, ok := rs[0].Bindings["reasons"].(*ast.Term)
	if !ok {
		return Result{}, fmt.Errorf("%s.reasons is undefined", Entrypoint)
	}
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
	pq, err := p.prepared(ctx, path)
	if err != nil {
		return QueryResult{}, err
	}
	start := time.Now()
	rs, err := p.eval(ctx, pq, input, at, timeout)
	res := QueryResult{Revision: p.revision, EvalNS: 0}
	if err != nil {
		res.Err = fmt.Errorf("%s", errorDetail(err))
	} else if len(rs) > 0 {
		if t, ok := rs[0].Bindings["x"].(*ast.Term); ok {
			res.Value = t.Value
		}
	}
	res.EvalNS = time.Since(start).Nanoseconds()
	return res, nil
}

func (p *Policy) prepared(ctx context.Context, path []string) (*rego.PreparedEvalQuery, error) {
	key := strings.Join(path, "/")
	p.mu.Lock()
	pq, ok := p.queries[key]
	p.mu.Unlock()
	if ok {
		return pq, nil
	}
	ref := ast.Ref{ast.DefaultRootDocument}
	for _, seg := range path {
		ref = append(ref, ast.StringTerm(seg))
	}
	body := ast.NewBody(ast.Equality.Expr(ast.VarTerm("x"), ast.NewTerm(ref)))
	q, err := rego.New(
		rego.ParsedQuery(body),
		rego.Compiler(p.compiler),
		rego.Store(p.store),
		rego.Transaction(p.txn),
		rego.StrictBuiltinErrors(false),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare query for data/%s: %w", key, err)
	}
	p.mu.Lock()
	if len(p.queries) >= maxCachedQueries {
		clear(p.queries)
	}
	p.queries[key] = &q
	p.mu.Unlock()
	return &q, nil
}
