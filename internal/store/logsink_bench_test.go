package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/store"
)

// BenchmarkLogSinkWrite measures one group commit of 500 realistic rows,
// with the log's triggers (statistics, checkpoints) and without them, so
// their cost is known:
//
//	go test -run '^$' -bench LogSinkWrite -count 5 ./internal/store/
func BenchmarkLogSinkWrite(b *testing.B) {
	for _, triggers := range []bool{true, false} {
		b.Run(fmt.Sprintf("triggers=%v", triggers), func(b *testing.B) {
			db := pgtest.New(b)
			s, err := store.FromPool(db.Pool, store.Options{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if !triggers {
				if _, err := db.Pool.Exec(ctx, `ALTER TABLE decision_logs DISABLE TRIGGER USER`); err != nil {
					b.Fatal(err)
				}
			}
			batch := make([]decisionlog.Entry, 500)
			regions := []string{"US", "FR", "BR", "DE", "JP", "IN", "GB"}
			b.ReportAllocs()
			for b.Loop() {
				now := time.Now().UTC().Truncate(time.Microsecond)
				for i := range batch {
					allow := i%3 != 0
					codes := []string{}
					if !allow {
						codes = []string{"region_excluded"}
					}
					batch[i] = decisionlog.Entry{DecisionID: uuid.New(), DecidedAt: now, Path: "signalgate/decision",
						Input:  []byte(fmt.Sprintf(`{"signal":{"source":"ai_chat","topics":["hiking","topic-%d"]},"subject":{"id":"u-%d","region":%q},"purpose":"ads"}`, i%40, i, regions[i%len(regions)])),
						Result: []byte(`{"allow":true,"reasons":[]}`), Allow: &allow, ReasonCodes: codes, Source: "ai_chat", Purpose: "ads",
						Region: regions[i%len(regions)], Subject: fmt.Sprintf("u-%d", i), Revision: "r1", Client: "bench", Node: "bench", EvalNS: 30000}
				}
				if err := s.LogSink().Write(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
