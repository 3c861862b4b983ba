package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/errs"
)

// LogReader searches the decision log.
type LogReader struct{ db *DB }

var _ decisionlog.Reader = (*LogReader)(nil)

// LogReader returns the decision log's reader.
func (db *DB) LogReader() *LogReader { return &LogReader{db: db} }

const selectEntry = `SELECT decision_id, decided_at, path, input, result, allow, reason_codes,
	coalesce(source, ''), coalesce(purpose, ''), coalesce(region, ''), coalesce(subject, ''),
	revision, client, node, eval_ns, masked FROM decision_logs`

const newestFirst = ` ORDER BY decided_at DESC, decision_id DESC`

// filterSQL turns f, but for its limit, into a WHERE clause and its arguments.
func filterSQL(f decisionlog.Filter) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if !f.From.IsZero() {
		add("decided_at >= $?", f.From)
	}
	if !f.To.IsZero() {
		add("decided_at < $?", f.To)
	}
	if f.Allow != nil {
		add("allow = $?", *f.Allow)
	}
	for _, c := range []struct{ col, v string }{{"source", f.Source}, {"purpose", f.Purpose}, {"region", f.Region},
		{"revision", f.Revision}, {"client", f.Client}, {"path", f.Path}} {
		if c.v != "" {
			add(c.col+" = $?", c.v)
		}
	}
	switch len(f.Subjects) {
	case 0:
	case 1: // an equality keeps the subject index's order: no sort of a busy subject's rows
		add("subject = $?", f.Subjects[0])
	default:
		add("subject = ANY($?::text[])", f.Subjects)
	}
	if f.Reason != "" {
		add("reason_codes @> ARRAY[$?::text]", f.Reason)
	}
	if f.DecisionID != nil {
		add("decision_id = $?", *f.DecisionID)
	}
	if f.After != nil {
		args = append(args, f.After.DecidedAt, f.After.DecisionID)
		where = append(where, fmt.Sprintf("(decided_at, decision_id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	if len(where) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// Search returns entries matching f, newest first (decided_at, then id).
func (r *LogReader) Search(ctx context.Context, f decisionlog.Filter) ([]decisionlog.Entry, error) {
	where, args := filterSQL(f)
	rows, err := r.db.Pool.Query(ctx, selectEntry+where+newestFirst+limitSQL(f, &args), args...)
	if err != nil {
		return nil, fmt.Errorf("query decisions: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (decisionlog.Entry, error) {
		var e decisionlog.Entry
		return e, scanEntry(row, &e)
	})
}

// Each streams the entries matching f, newest first. One statement reads
// them all, so the scan sees one snapshot of the log: no row twice, none
// committed before it began left out.
func (r *LogReader) Each(ctx context.Context, f decisionlog.Filter, fn func(*decisionlog.Entry) error) error {
	where, args := filterSQL(f)
	rows, err := r.db.Pool.Query(ctx, selectEntry+where+newestFirst+limitSQL(f, &args), args...)
	if err != nil {
		return fmt.Errorf("query decisions: %w", err)
	}
	defer rows.Close()
	var e decisionlog.Entry
	for rows.Next() {
		if err := scanEntry(rows, &e); err != nil {
			return fmt.Errorf("read decision: %w", err)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read decisions: %w", err)
	}
	return nil
}

// Count returns how many entries match f, at most f.Limit when positive.
func (r *LogReader) Count(ctx context.Context, f decisionlog.Filter) (int64, error) {
	where, args := filterSQL(f)
	var n int64
	err := r.db.Pool.QueryRow(ctx, "SELECT count(*) FROM (SELECT 1 FROM decision_logs"+where+limitSQL(f, &args)+") AS m", args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count decisions: %w", err)
	}
	return n, nil
}

// limitSQL returns the LIMIT clause of f, adding its argument, or "".
func limitSQL(f decisionlog.Filter, args *[]any) string {
	if f.Limit <= 0 {
		return ""
	}
	*args = append(*args, f.Limit)
	return fmt.Sprintf(" LIMIT $%d", len(*args))
}

// Get returns the entry with id, or errs.NotFound.
func (r *LogReader) Get(ctx context.Context, id uuid.UUID) (decisionlog.Entry, error) {
	var e decisionlog.Entry
	err := scanEntry(r.db.Pool.QueryRow(ctx, selectEntry+" WHERE decision_id = $1 LIMIT 1", id), &e)
	if isNoRows(err) {
		return e, errs.E(errs.NotFound, "no decision %s", id)
	}
	if err != nil {
		return e, fmt.Errorf("read decision: %w", err)
	}
	return e, nil
}

func scanEntry(row pgx.Row, e *decisionlog.Entry) error {
	return row.Scan(&e.DecisionID, &e.DecidedAt, &e.Path, &e.Input, &e.Result, &e.Allow, &e.ReasonCodes,
		&e.Source, &e.Purpose, &e.Region, &e.Subject, &e.Revision, &e.Client, &e.Node, &e.EvalNS, &e.Masked)
}
