package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/policies"
)

// FuzzCompile: any module text uploaded beside the default policy either
// compiles or is refused with errors, never a panic, and what compiles
// decides within the deadline. Its seed corpus is in testdata/fuzz.
func FuzzCompile(f *testing.F) {
	c, err := policy.LoadFS(policies.FS)
	if err != nil {
		f.Fatal(err)
	}
	for _, src := range c.Modules {
		f.Add([]byte(src))
	}
	f.Add([]byte("package x\nimport rego.v1\np if http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1\"})"))
	f.Add([]byte("package signalgate.decision\nallow := true"))
	f.Fuzz(func(t *testing.T, src []byte) {
		up := policy.Content{Modules: map[string]string{"upload.rego": string(src)}, Data: c.Data}
		for name, m := range c.Modules {
			up.Modules[name] = m
		}
		p, err := engine.Compile(context.Background(), "fuzz", up.EngineContent())
		if err != nil {
			return
		}
		p.Decide(context.Background(), nil, time.Now(), 200*time.Millisecond)
	})
}
