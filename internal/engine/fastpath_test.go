package engine_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/policies"
)

// absent marks a field left out of a generated input.
var absent = struct{}{}

var fieldValues = map[string][]any{
	"source":      {"ai_chat", "like", "follow", "voice_assistant", "", 5, absent},
	"purpose":     {"ads", "content_recommendation", "Ads", "x", 3, absent},
	"region":      {"US", "fr", "UK", "el", "GB", "Germany", "D", 12, "", absent},
	"observed_at": {"2026-01-10T12:00:00Z", "2025-12-15T23:59:59Z", "2025-12-16T00:00:00Z", "2025-12-16T05:00:00+06:00", "2026-02-01T12:04:00Z", "2026-02-01T12:06:00Z", "2026-02-01", "yesterday", 5, false, nil, absent},
	"topics":      {[]any{}, []any{"hiking"}, []any{"Medication", "hiking"}, []any{"hiking", 1}, "hiking", nil, absent},
	"categories":  {[]any{}, []any{"HEALTH"}, []any{"sports"}, []any{"religion", "Religion"}, []any{true}, map[string]any{}, absent},
	"minor":       {true, false, "yes", nil, absent},
}

func pick(r *rand.Rand, field string) any {
	vals := fieldValues[field]
	return vals[r.IntN(len(vals))]
}

func generatedInput(r *rand.Rand) map[string]any {
	signal, subject := map[string]any{}, map[string]any{}
	in := map[string]any{"signal": signal, "subject": subject}
	set := func(m map[string]any, k string, v any) {
		if v != absent {
			m[k] = v
		}
	}
	set(signal, "source", pick(r, "source"))
	set(signal, "observed_at", pick(r, "observed_at"))
	set(signal, "topics", pick(r, "topics"))
	set(signal, "categories", pick(r, "categories"))
	set(subject, "region", pick(r, "region"))
	set(subject, "minor", pick(r, "minor"))
	set(in, "purpose", pick(r, "purpose"))
	switch r.IntN(20) {
	case 0:
		delete(in, "signal")
	case 1:
		in["subject"] = "u-1"
	}
	return in
}

// TestQuickPathAgreesWithExactRules: whatever shortcut the default policy
// takes for well-formed inputs, its reasons are the ones the exact rules
// give, over thousands of generated inputs, well formed or not.
func TestQuickPathAgreesWithExactRules(t *testing.T) {
	t.Parallel()
	c, err := policy.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	compiled, err := engine.Compile(context.Background(), "r1", c.EngineContent())
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := engine.ParseModules(c.Modules)
	if err != nil {
		t.Fatal(err)
	}
	var opts []func(*rego.Rego)
	for _, m := range parsed {
		opts = append(opts, rego.ParsedModule(m))
	}
	exact, err := rego.New(append(opts,
		rego.Query("x := data.signalgate.decision.reasons with data.signalgate.admission.admissible as false"),
		rego.Store(inmem.NewFromObject(c.Data)),
	)...).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	quick := 0
	for i := range 3000 {
		in := generatedInput(r)
		raw, _ := json.Marshal(in)
		value, err := ast.InterfaceToValue(in)
		if err != nil {
			t.Fatal(err)
		}
		got := compiled.Decide(context.Background(), value, at, time.Second)
		rs, err := exact.Eval(context.Background(), rego.EvalParsedInput(value), rego.EvalTime(at))
		if err != nil || len(rs) != 1 {
			t.Fatalf("exact rules on %s: %v %v", raw, rs, err)
		}
		var want []engine.Reason
		b, _ := json.Marshal(rs[0].Bindings["x"])
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if len(want) != len(got.Result.Reasons) {
			t.Fatalf("input %d %s:\nquick path %v\nexact rules %v", i, raw, got.Result.Reasons, want)
		}
		for _, w := range want {
			found := false
			for _, g := range got.Result.Reasons {
				found = found || g == w
			}
			if !found {
				t.Fatalf("input %d %s:\nquick path %v\nexact rules %v", i, raw, got.Result.Reasons, want)
			}
		}
		if got.Result.Allow {
			quick++
		}
	}
	if quick == 0 {
		t.Error("no generated input was allowed: the generator no longer covers the common case")
	}
}
