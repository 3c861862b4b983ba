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
	revision, client, node, eval_ns FROM decision_logs`

// Search returns entries matching f, newest first (decided_at, then id).
func (r *LogReader) Search(ctx context.Context, f decisionlog.Filter) ([]decisionlog.Entry, error) {
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
	for col, v := range map[string]string{"source": f.Source, "purpose": f.Purpose, "region": f.Region,
		"revision": f.Revision, "subject": f.Subject, "client": f.Client} {
		if v != "" {
			add(col+" = $?", v)
		}
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
	q := selectEntry
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY decided_at DESC, decision_id DESC LIMIT $%d", len(args))
	rows, err := r.db.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("query decisions: %w", err)
	}
	return pgx.CollectRows(rows, scanEntry)
}

// Get returns the entry with id, or errs.NotFound.
func (r *LogReader) Get(ctx context.Context, id uuid.UUID) (decisionlog.Entry, error) {
	rows, err := r.db.Pool.Query(ctx, selectEntry+" WHERE decision_id = $1 LIMIT 1", id)
	if err != nil {
		return decisionlog.Entry{}, fmt.Errorf("read decision: %w", err)
	}
	entries, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return decisionlog.Entry{}, err
	}
	if len(entries) == 0 {
		return decisionlog.Entry{}, errs.E(errs.NotFound, "no decision %s", id)
	}
	return entries[0], nil
}

func scanEntry(row pgx.CollectableRow) (decisionlog.Entry, error) {
	var e decisionlog.Entry
	var id uuid.UUID
	err := row.Scan(&id, &e.DecidedAt, &e.Path, &e.Input, &e.Result, &e.Allow, &e.ReasonCodes,
		&e.Source, &e.Purpose, &e.Region, &e.Subject, &e.Revision, &e.Client, &e.Node, &e.EvalNS)
	e.DecisionID = id
	return e, err
}
