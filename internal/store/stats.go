package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// StatsReader reads the counts kept beside the decision log.
type StatsReader struct{ db *DB }

var _ decisionlog.StatsReader = (*StatsReader)(nil)

// Stats returns the statistics reader.
func (db *DB) Stats() *StatsReader { return &StatsReader{db: db} }

// Folded counts plus those still pending: exact at any moment.
const statsSQL = `SELECT bucket, value, outcome, sum(n)::bigint FROM (
	SELECT bucket, value, outcome, n FROM decision_stats
	WHERE grain = $1 AND dim = $2 AND bucket >= $3 AND bucket < $4
	UNION ALL
	SELECT date_trunc($1, bucket, 'UTC'), value, outcome, n FROM decision_stats_pending
	WHERE dim = $2 AND bucket >= $3 AND bucket < $4
) AS s GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2`

// Stats returns the non-zero counts of q, by bucket then value.
func (r *StatsReader) Stats(ctx context.Context, q decisionlog.StatsQuery) ([]decisionlog.StatsRow, error) {
	rows, err := r.db.Pool.Query(ctx, statsSQL, q.Bucket, q.By, q.From, q.To)
	if err != nil {
		return nil, fmt.Errorf("query statistics: %w", err)
	}
	var out []decisionlog.StatsRow
	var start time.Time
	var value, outcome string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&start, &value, &outcome, &n}, func() error {
		if k := len(out) - 1; k < 0 || !out[k].Start.Equal(start) || out[k].Value != value {
			out = append(out, decisionlog.StatsRow{Start: start.UTC(), Value: value})
		}
		out[len(out)-1].Add(outcome, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read statistics: %w", err)
	}
	return out, nil
}

// Topics returns topic counts per region over the days [from, to) touches.
func (r *StatsReader) Topics(ctx context.Context, from, to time.Time) ([]decisionlog.TopicCount, error) {
	rows, err := r.db.Pool.Query(ctx, `SELECT value, region, sum(n)::bigint FROM (
		SELECT value, region, n FROM decision_stats WHERE grain = 'day' AND dim = 'topic' AND bucket >= $1 AND bucket < $2
		UNION ALL
		SELECT value, region, n FROM decision_stats_pending WHERE dim = 'topic' AND bucket >= $1
			AND date_trunc('day', bucket, 'UTC') < $2
	) AS s GROUP BY 1, 2 HAVING sum(n) > 0`, from.UTC().Truncate(24*time.Hour), to)
	if err != nil {
		return nil, fmt.Errorf("query topic counts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[decisionlog.TopicCount])
	if err != nil {
		return nil, fmt.Errorf("read topic counts: %w", err)
	}
	return out, nil
}

// FoldStats moves pending counts into the per-minute, hour and day rollups,
// and returns how many pending rows it folded. One instance folds at a time.
func (db *DB) FoldStats(ctx context.Context) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(hashtext('signalgate.decision_stats'))`).Scan(&locked); err != nil || !locked {
			return err
		}
		return tx.QueryRow(ctx, `SELECT fold_decision_stats()`).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("fold decision statistics: %w", err)
	}
	return n, nil
}
