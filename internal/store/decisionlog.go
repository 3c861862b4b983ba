package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// LogSink writes decision-log batches with one COPY each: one statement,
// one commit, one fsync for the whole batch.
type LogSink struct{ db *DB }

var _ decisionlog.Sink = (*LogSink)(nil)

// LogSink returns the decision log's sink.
func (db *DB) LogSink() *LogSink { return &LogSink{db: db} }

// logColumns are the columns in the order encodeCopy writes them.
const logColumns = `(decision_id, decided_at, path, input, result, allow, reason_codes,
	source, purpose, region, subject, revision, client, node, eval_ns, masked)`

const copyLogSQL = `COPY decision_logs ` + logColumns + ` FROM STDIN (FORMAT binary)`

var copyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Write commits every entry or none: one COPY is one statement.
func (s *LogSink) Write(ctx context.Context, entries []decisionlog.Entry) error {
	buf := encoded(entries)
	defer release(buf)
	conn, err := s.db.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire a connection for %d decision log rows: %w", len(entries), err)
	}
	defer conn.Release()
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf.Bytes()), copyLogSQL); err != nil {
		return fmt.Errorf("copy %d decision log rows: %w", len(entries), refusal(err))
	}
	return nil
}

// refusal marks the database's verdicts on the rows as decisionlog.ErrRefused.
// Connection, resource and shutdown errors (SQLSTATE classes 08, 53, 57, 58)
// are not verdicts: the same rows may succeed later, or from the spool.
func refusal(err error) error {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return err
	}
	switch pgErr.Code[:2] {
	case "08", "53", "57", "58":
		return err
	}
	return errors.Join(decisionlog.ErrRefused, err)
}

func encoded(entries []decisionlog.Entry) *bytes.Buffer {
	buf := copyBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	encodeCopy(buf, entries)
	return buf
}

func release(buf *bytes.Buffer) {
	if buf.Cap() <= 8<<20 {
		copyBuffers.Put(buf)
	}
}

// WriteIdempotent commits the entries that are not in the log yet, in one
// transaction: a spool drain or an upload retried after a lost answer never
// records a decision twice. COPY has no ON CONFLICT, so the rows go through
// a temporary table first.
func (s *LogSink) WriteIdempotent(ctx context.Context, entries []decisionlog.Entry) error {
	buf := encoded(entries)
	defer release(buf)
	return pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS decision_logs_incoming
			(LIKE decision_logs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`); err != nil {
			return fmt.Errorf("stage decision log rows: %w", err)
		}
		if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf.Bytes()),
			`COPY decision_logs_incoming `+logColumns+` FROM STDIN (FORMAT binary)`); err != nil {
			return fmt.Errorf("copy %d decision log rows: %w", len(entries), refusal(err))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO decision_logs `+logColumns+` SELECT `+strings.Trim(logColumns, "()")+
			` FROM decision_logs_incoming ON CONFLICT DO NOTHING`); err != nil {
			return fmt.Errorf("insert %d decision log rows: %w", len(entries), refusal(err))
		}
		return nil
	})
}
