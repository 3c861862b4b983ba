package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// LogSink writes decision-log batches with one COPY each: one statement,
// one commit, one fsync for the whole batch.
type LogSink struct{ db *DB }

var _ decisionlog.Sink = (*LogSink)(nil)

// LogSink returns the decision log's sink.
func (db *DB) LogSink() *LogSink { return &LogSink{db: db} }

var logColumns = []string{
	"decision_id", "decided_at", "path", "input", "result", "allow", "reason_codes",
	"source", "purpose", "region", "subject", "revision", "client", "node", "eval_ns",
}

// Write commits every entry or none.
func (s *LogSink) Write(ctx context.Context, entries []decisionlog.Entry) error {
	_, err := s.db.Pool.CopyFrom(ctx, pgx.Identifier{"decision_logs"}, logColumns, &entryRows{entries: entries, i: -1})
	if err != nil {
		return fmt.Errorf("copy %d decision log rows: %w", len(entries), err)
	}
	return nil
}

type entryRows struct {
	entries []decisionlog.Entry
	i       int
	vals    [15]any
}

func (r *entryRows) Next() bool { r.i++; return r.i < len(r.entries) }
func (r *entryRows) Err() error { return nil }

func (r *entryRows) Values() ([]any, error) {
	e := &r.entries[r.i]
	codes := e.ReasonCodes
	if codes == nil {
		codes = []string{} // the column is NOT NULL: no reasons is an empty array
	}
	r.vals = [15]any{
		e.DecisionID, e.DecidedAt, e.Path, jsonOrNil(e.Input), jsonOrNil(e.Result), e.Allow, codes,
		textOrNil(e.Source), textOrNil(e.Purpose), textOrNil(e.Region), textOrNil(e.Subject),
		e.Revision, e.Client, e.Node, e.EvalNS,
	}
	return r.vals[:], nil
}

func jsonOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func textOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
