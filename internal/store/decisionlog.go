package store

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// LogSink writes decision-log batches with one COPY each: one statement,
// one commit, one fsync for the whole batch.
type LogSink struct{ db *DB }

var _ decisionlog.Sink = (*LogSink)(nil)

// LogSink returns the decision log's sink.
func (db *DB) LogSink() *LogSink { return &LogSink{db: db} }

// copyLogSQL names the columns in the order encodeCopy writes them.
const copyLogSQL = `COPY decision_logs (decision_id, decided_at, path, input, result, allow, reason_codes,
	source, purpose, region, subject, revision, client, node, eval_ns, masked) FROM STDIN (FORMAT binary)`

var copyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Write commits every entry or none: one COPY is one statement.
func (s *LogSink) Write(ctx context.Context, entries []decisionlog.Entry) error {
	buf := copyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 8<<20 {
			copyBuffers.Put(buf)
		}
	}()
	encodeCopy(buf, entries)
	conn, err := s.db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire a connection for %d decision log rows: %w", len(entries), err)
	}
	defer conn.Release()
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf.Bytes()), copyLogSQL); err != nil {
		return fmt.Errorf("copy %d decision log rows: %w", len(entries), err)
	}
	return nil
}
