package engine_test

import (
	"context"
	"testing"
	"time"
)

// The engine alone: CPU and allocations per decision for typical allow and
// deny inputs (make bench-engine).
func BenchmarkDecide(b *testing.B) {
	p := defaultPolicy(b)
	at := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	inputs := map[string]string{
		"allow": `{"signal":{"id":"sig-1","source":"ai_chat","topics":["hiking","running_shoes"],"categories":[],"observed_at":"2026-01-10T12:00:00Z"},"subject":{"id":"u-42","region":"US"},"purpose":"ads"}`,
		"deny":  `{"signal":{"id":"sig-2","source":"ai_chat","topics":["synagogue","hiking"],"categories":["Health"],"observed_at":"2026-01-10T12:00:00Z"},"subject":{"id":"u-43","region":"fr","minor":true},"purpose":"ads"}`,
	}
	for name, src := range inputs {
		in := mustInput(b, src)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				d := p.Decide(context.Background(), in, at, time.Second)
				if d.Failed {
					b.Fatal(d.Result)
				}
			}
		})
	}
}
