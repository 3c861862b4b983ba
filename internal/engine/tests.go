package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one *_test.rego rule.
type TestResult struct {
	Name     string // package-qualified, e.g. data.signalgate.decision_test.test_minor
	Pass     bool
	Message  string // why it failed, empty when it passed
	Location Location
	Duration time.Duration
}

// RunTests compiles c with the restricted capabilities and runs every test_
// rule with `opa test` semantics, each bounded by timeout. It returns
// CompileErrors when the policy does not compile.
func RunTests(ctx context.Context, c Content, timeout time.Duration) ([]TestResult, error) {
	parsed, err := ParseModules(c.Modules)
	if err != nil {
		return nil, err
	}
	runner := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithCapabilities(Capabilities())).
		SetStore(dataStore(c.Data)).
		SetModules(parsed).
		SetTimeout(timeout).
		SetDefaultRegoVersion(ast.RegoV1)
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, fromASTErrors("", err)
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{Name: r.Package + "." + r.Name, Pass: r.Pass(), Duration: r.Duration}
		if r.Location != nil {
			tr.Location = Location{File: r.Location.File, Row: r.Location.Row, Col: r.Location.Col}
		}
		switch {
		case r.Error != nil:
			tr.Message = r.Error.Error()
		case r.Fail && r.FailedAt != nil:
			tr.Message = fmt.Sprintf("failed at %s", strings.TrimSpace(r.FailedAt.String()))
		case r.Fail:
			tr.Message = "the test rule is not true"
		case r.Skip:
			tr.Message = "skipped"
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
