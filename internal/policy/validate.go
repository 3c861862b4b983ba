package policy

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/strictjson"
)

// DataSchema is the JSON Schema data.json is checked against. It lives
// outside policies/, which holds only what stock OPA loads.
//
//go:embed data.schema.json
var DataSchema []byte

// Limits on what a draft may hold, so that validation and compilation stay
// bounded whatever is submitted.
const (
	MaxModules     = 200
	MaxModuleBytes = 256 << 10
	MaxDataBytes   = 1 << 20
)

// Problem is one reason a policy does not validate; Row and Col are 0 when
// it has no place (data schema or budget problems).
type Problem struct {
	File    string
	Row     int
	Col     int
	Message string
}

// TestOutcome is the result of one *_test.rego rule.
type TestOutcome struct {
	Name    string
	Pass    bool
	Message string
}

// Report is the outcome of validating a policy.
type Report struct {
	OK     bool
	Errors []Problem
	Tests  []TestOutcome
}

// budgetSamples are inputs the entry point must decide within the
// evaluation time limit: one allowed, one with several reasons, one
// malformed.
var budgetSamples = []string{
	`{"signal":{"id":"s-1","source":"ai_chat","topics":["hiking"],"categories":[],"observed_at":"2026-01-10T12:00:00Z"},"subject":{"id":"u-1","region":"US"},"purpose":"ads"}`,
	`{"signal":{"source":"ai_chat","topics":["synagogue","Medication"],"categories":["Health"],"observed_at":"2025-12-01T00:00:00+01:00"},"subject":{"id":"u-2","region":"pl","minor":true},"purpose":"ads"}`,
	`{"signal":{"source":5,"topics":"x"},"subject":{"region":"Germany"},"purpose":"?"}`,
}

// Validate checks c as publishing would: file names and sizes, parsing and
// compiling under the restricted capabilities, reserved packages and
// forbidden builtins, the data against DataSchema, the entry point deciding
// sample inputs within timeout, and every *_test.rego test passing.
func Validate(ctx context.Context, c Content, timeout time.Duration) (Report, error) {
	var r Report
	r.Errors = checkShape(c)
	if len(r.Errors) > 0 {
		return r, nil
	}
	schemaErrs, err := engine.CheckSchema(ctx, c.Data, DataSchema)
	if err != nil {
		return Report{}, err
	}
	for _, e := range schemaErrs {
		r.Errors = append(r.Errors, Problem{File: DataFile, Message: strings.TrimPrefix(e.Path+": ", ": ") + shortSchemaMessage(e.Message)})
	}
	parsed, err := engine.ParseModules(c.Modules)
	if err != nil {
		r.Errors = append(r.Errors, problems(err)...)
		return r, nil
	}
	r.Errors = append(r.Errors, problems(engine.CheckModules(parsed))...)
	compiled, err := engine.Compile(ctx, "draft", c.EngineContent())
	if err != nil {
		r.Errors = append(r.Errors, problems(err)...)
		return r, nil
	}
	r.Errors = append(r.Errors, checkBudget(ctx, compiled, timeout)...)
	tests, err := engine.RunTests(ctx, c.EngineContent(), 10*timeout+time.Second)
	if err != nil {
		r.Errors = append(r.Errors, problems(err)...)
		return r, nil
	}
	failed := 0
	for _, t := range tests {
		r.Tests = append(r.Tests, TestOutcome{Name: t.Name, Pass: t.Pass, Message: t.Message})
		if !t.Pass {
			failed++
			r.Errors = append(r.Errors, Problem{File: t.Location.File, Row: t.Location.Row, Col: t.Location.Col,
				Message: fmt.Sprintf("test %s failed: %s", t.Name, t.Message)})
		}
	}
	r.OK = len(r.Errors) == 0
	return r, nil
}

// shortSchemaMessage keeps a schema error readable: an enum of every
// region code would otherwise be quoted in full.
func shortSchemaMessage(msg string) string {
	if i := strings.Index(msg, "must be one of the following"); i >= 0 && len(msg) > 200 {
		return msg[:i] + "must be one of the known values listed in the data schema"
	}
	return msg
}

func checkShape(c Content) []Problem {
	var out []Problem
	if len(c.Modules) == 0 {
		out = append(out, Problem{Message: "the policy has no module: add at least one .rego file"})
	}
	if len(c.Modules) > MaxModules {
		out = append(out, Problem{Message: fmt.Sprintf("%d modules: at most %d are allowed", len(c.Modules), MaxModules)})
	}
	for p, src := range c.Modules {
		switch {
		case !strings.HasSuffix(p, ".rego") || path.Clean(p) != p || strings.HasPrefix(p, "/") ||
			strings.HasPrefix(p, "../") || p == ".." || strings.ContainsAny(p, "\\\x00"):
			out = append(out, Problem{File: p, Message: "module paths are relative paths under policies/ ending in .rego, without .. or backslashes"})
		case len(src) > MaxModuleBytes:
			out = append(out, Problem{File: p, Message: fmt.Sprintf("%d bytes: a module may hold at most %d", len(src), MaxModuleBytes)})
		}
	}
	if data, err := CanonicalData(c.Data); err != nil || len(data) > MaxDataBytes {
		out = append(out, Problem{File: DataFile, Message: fmt.Sprintf("the data document may hold at most %d bytes", MaxDataBytes)})
	}
	return out
}

func checkBudget(ctx context.Context, p *engine.Policy, timeout time.Duration) []Problem {
	var out []Problem
	for i, s := range budgetSamples {
		in, err := strictjson.Parse([]byte(s), strictjson.DefaultLimits)
		if err != nil {
			continue // the samples are constants that parse
		}
		d := p.Decide(ctx, in, time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC), timeout)
		if d.Failed {
			out = append(out, Problem{Message: fmt.Sprintf("sample input %d: %s.allow and .reasons did not evaluate within %s: %s",
				i+1, engine.Entrypoint, timeout, d.Result.Reasons[0].Detail)})
		}
	}
	return out
}

func problems(err error) []Problem {
	var ce engine.CompileErrors
	if !errors.As(err, &ce) {
		return []Problem{{Message: err.Error()}}
	}
	out := make([]Problem, len(ce))
	for i, e := range ce {
		out[i] = Problem{File: e.File, Row: e.Row, Col: e.Col, Message: e.Message}
	}
	return out
}
