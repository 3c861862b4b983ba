package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/strictjson"
	"github.com/signalgate/signalgate/policies"
)

func defaultPolicy(t testing.TB) *engine.Policy {
	t.Helper()
	c, err := policy.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Compile(context.Background(), "r1", c.EngineContent())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustInput(t testing.TB, s string) ast.Value {
	t.Helper()
	v, err := strictjson.Parse([]byte(s), strictjson.DefaultLimits)
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

type contractCase struct {
	Name           string          `json:"name"`
	Input          json.RawMessage `json:"input"`
	Result         *engine.Result  `json:"result"`
	ResultIncludes *engine.Result  `json:"result_includes"`
}

// TestContractExamples checks every worked example of the design document.
func TestContractExamples(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("testdata/contract-examples.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []contractCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no contract examples")
	}
	p := defaultPolicy(t)
	at := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			d := p.Decide(context.Background(), mustInput(t, string(tc.Input)), at, time.Second)
			if d.Failed {
				t.Fatalf("evaluation failed: %+v", d.Result)
			}
			if d.Revision != "r1" {
				t.Errorf("revision = %q", d.Revision)
			}
			switch {
			case tc.Result != nil:
				if diff := cmp.Diff(*tc.Result, d.Result); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
			case tc.ResultIncludes != nil:
				if d.Result.Allow != tc.ResultIncludes.Allow {
					t.Errorf("allow = %v, want %v", d.Result.Allow, tc.ResultIncludes.Allow)
				}
				for _, r := range tc.ResultIncludes.Reasons {
					if !slices.Contains(d.Result.Reasons, r) {
						t.Errorf("reasons %v lack %v", d.Result.Reasons, r)
					}
				}
			default:
				t.Fatal("example has neither result nor result_includes")
			}
			if d.Result.Allow != (len(d.Result.Reasons) == 0) {
				t.Errorf("allow %v with reasons %v", d.Result.Allow, d.Result.Reasons)
			}
		})
	}
}

// TestTimePinned: the default observed_at is the pinned decision time, so
// the rollout start decides by the time given, not the wall clock.
func TestTimePinned(t *testing.T) {
	t.Parallel()
	p := defaultPolicy(t)
	in := mustInput(t, `{"signal":{"source":"ai_chat"},"subject":{"region":"US"},"purpose":"ads"}`)
	before := p.Decide(context.Background(), in, time.Date(2025, 12, 15, 23, 59, 59, 0, time.UTC), time.Second)
	want := engine.Result{Reasons: []engine.Reason{{Code: "before_rollout", Detail: "2025-12-16T00:00:00Z"}}}
	if diff := cmp.Diff(want, before.Result); diff != "" {
		t.Errorf("before the rollout (-want +got):\n%s", diff)
	}
	at := p.Decide(context.Background(), in, time.Date(2025, 12, 16, 0, 0, 0, 0, time.UTC), time.Second)
	if !at.Result.Allow {
		t.Errorf("at the rollout start: %+v, want allow (the start is inclusive)", at.Result)
	}
}

const slowModule = `package signalgate.decision

import rego.v1

default allow := false

allow if count(reasons) == 0

reasons contains {"code": "slow", "detail": sprintf("%d", [n])} if {
	n := count([x | some x in numbers.range(1, 100000000); x % 7 == 3])
}
`

// TestTimeoutIsEvaluationError: a policy that runs out of time is a logged
// deny with reason evaluation_error/timeout, not a hung request.
func TestTimeoutIsEvaluationError(t *testing.T) {
	t.Parallel()
	p, err := engine.Compile(context.Background(), "r9", engine.Content{Modules: map[string]string{"slow.rego": slowModule}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	d := p.Decide(context.Background(), ast.NewObject(), time.Now(), 20*time.Millisecond)
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("evaluation took %s despite a 20ms limit", elapsed)
	}
	want := engine.Result{Reasons: []engine.Reason{{Code: "evaluation_error", Detail: "timeout"}}}
	if !d.Failed || !cmp.Equal(want, d.Result) {
		t.Errorf("got failed=%v %+v, want %+v", d.Failed, d.Result, want)
	}
}

// TestRestrictedCapabilities: network, runtime and random builtins do not
// compile, and neither does a policy without the entry point.
func TestRestrictedCapabilities(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, src, want string
	}{
		{"http.send", `package signalgate.decision
allow if http.send({"method": "get", "url": "http://127.0.0.1"})
reasons := set()`, "http.send"},
		{"net.lookup", `package signalgate.decision
allow if net.lookup_ip_addr("localhost")
reasons := set()`, "net.lookup_ip_addr"},
		{"opa.runtime", `package signalgate.decision
allow if opa.runtime()
reasons := set()`, "opa.runtime"},
		{"rand.intn", `package signalgate.decision
allow if rand.intn("x", 10) > 1
reasons := set()`, "rand.intn"},
		{"uuid.rfc4122", `package signalgate.decision
allow if uuid.rfc4122("x")
reasons := set()`, "uuid.rfc4122"},
		{"missing entry point", `package other
allow := true`, "must define the rules allow and reasons"},
		{"syntax error", `package signalgate.decision
allow if {`, "unexpected eof"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := engine.Compile(context.Background(), "r2", engine.Content{Modules: map[string]string{"p.rego": tc.src}})
			var ce engine.CompileErrors
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want CompileErrors", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestDataOverlappingPackageRefused: a data root under the policy's package
// path would make rules recursive; compiling refuses it.
func TestDataOverlappingPackageRefused(t *testing.T) {
	t.Parallel()
	_, err := engine.Compile(context.Background(), "r3", engine.Content{
		Modules: map[string]string{"p.rego": "package signalgate.decision\nallow := true\nreasons := set()\n"},
		Data:    map[string]any{"signalgate": map[string]any{"decision": map[string]any{"allow": false}}},
	})
	if err == nil {
		t.Fatal("compiled a policy whose data overlaps its package")
	}
}

// TestSwapUnderLoad: decisions running while policies are swapped each see
// one whole revision, and nothing races.
func TestSwapUnderLoad(t *testing.T) {
	t.Parallel()
	eng := engine.New(time.Second)
	if p := eng.Policy(); p != nil {
		t.Fatalf("policy %s before any swap, want none", p.Revision())
	}
	c, err := policy.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	revs := make([]*engine.Policy, 3)
	for i := range revs {
		revs[i], err = engine.Compile(context.Background(), policy.FormatID(int64(i+1)), c.EngineContent())
		if err != nil {
			t.Fatal(err)
		}
	}
	eng.Swap(revs[0])
	in := mustInput(t, `{"signal":{"source":"like","observed_at":"2026-01-01T00:00:00Z"},"subject":{"region":"US"},"purpose":"ads"}`)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := eng.Policy().Decide(context.Background(), in, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), eng.Timeout())
				if !d.Result.Allow || !strings.HasPrefix(d.Revision, "r") {
					t.Errorf("decision during swap: %+v", d)
					return
				}
			}
		}()
	}
	for i := range 200 {
		eng.Swap(revs[i%3])
	}
	close(stop)
	wg.Wait()
}

// TestQuery covers the Data API: defined, undefined and whole-package paths.
func TestQuery(t *testing.T) {
	t.Parallel()
	p := defaultPolicy(t)
	in := mustInput(t, `{"signal":{"source":"like"},"subject":{"region":"US"},"purpose":"ads"}`)
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	res, err := p.Query(context.Background(), []string{"signalgate", "decision", "allow"}, in, at, time.Second)
	if err != nil || res.Value == nil || res.Value.Compare(ast.Boolean(true)) != 0 {
		t.Fatalf("allow = %v, %v; want true", res.Value, err)
	}
	res, err = p.Query(context.Background(), []string{"no", "such", "doc"}, in, at, time.Second)
	if err != nil || res.Value != nil {
		t.Fatalf("undefined path = %v, %v; want no value", res.Value, err)
	}
	res, err = p.Query(context.Background(), []string{"signalgate", "decision", "reasons"}, nil, at, time.Second)
	if err != nil || res.Value == nil {
		t.Fatalf("reasons without input = %v, %v; want a set of invalid_input reasons", res.Value, err)
	}
}

// TestRunTests runs the default policy's own Rego tests under the
// restricted capabilities.
func TestRunTests(t *testing.T) {
	t.Parallel()
	c, err := policy.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	results, err := engine.RunTests(context.Background(), c.EngineContent(), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 20 {
		t.Fatalf("only %d Rego tests found", len(results))
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s: %s", r.Name, r.Message)
		}
	}
	failing := map[string]string{
		"p.rego":      "package signalgate.decision\nallow := true\nreasons := set()\n",
		"p_test.rego": "package signalgate.decision_test\ntest_denies if not data.signalgate.decision.allow\n",
	}
	results, err = engine.RunTests(context.Background(), engine.Content{Modules: failing}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || results[0].Pass || results[0].Location.File != "p_test.rego" {
		t.Errorf("a failing test was reported as %+v", results)
	}
}
