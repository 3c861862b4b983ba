package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// StatsReader reads the counts kept beside the decision log.
type StatsReader struct{ db *DB }

var _ decisionlog.StatsReader = (*StatsReader)(nil)

// Stats returns the statistics reader.
func (db *DB) Stats() *StatsReader { return &StatsReader{db: db} }

// The folded counts, read in index order (each key once), and the counts
// still pending, summed: together exact at any moment.
const (
	foldedStatsSQL = `SELECT bucket, value, outcome, n FROM decision_stats
		WHERE grain = $1 AND dim = $2 AND bucket >= $3 AND bucket < $4
		ORDER BY grain, dim, bucket, value, outcome`
	pendingStatsSQL = `SELECT date_trunc($1, bucket, 'UTC'), value, outcome, sum(n)::bigint FROM decision_stats_pending
		WHERE dim = $2 AND bucket >= $3 AND bucket < $4 GROUP BY 1, 2, 3`
)

// Stats returns the non-zero counts of q, by bucket then value.
func (r *StatsReader) Stats(ctx context.Context, q decisionlog.StatsQuery) ([]decisionlog.StatsRow, error) {
	var out []decisionlog.StatsRow
	at := map[statsKey]int{}
	add := func(sql string) error {
		rows, err := r.db.Pool.Query(ctx, sql, q.Bucket, q.By, q.From, q.To)
		if err != nil {
			return err
		}
		var k statsKey
		var outcome string
		var n int64
		_, err = pgx.ForEachRow(rows, []any{&k.start, &k.value, &outcome, &n}, func() error {
			i, ok := at[k]
			if !ok {
				i = len(out)
				at[k] = i
				out = append(out, decisionlog.StatsRow{Start: k.start.UTC(), Value: k.value})
			}
			out[i].Add(outcome, n)
			return nil
		})
		return err
	}
	if err := add(foldedStatsSQL); err != nil {
		return nil, fmt.Errorf("read statistics: %w", err)
	}
	folded := len(out)
	if err := add(pendingStatsSQL); err != nil {
		return nil, fmt.Errorf("read pending statistics: %w", err)
	}
	if len(out) > folded { // new keys from the pending counts: restore the order
		slices.SortFunc(out, func(a, b decisionlog.StatsRow) int {
			return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Value, b.Value))
		})
	}
	return slices.DeleteFunc(out, func(r decisionlog.StatsRow) bool { return r.Allow == 0 && r.Deny == 0 && r.Undefined == 0 }), nil
}

type statsKey struct {
	start time.Time
	value string
}

// Topics counts the topics of the newest decisions in [from, to), at most
// limit of them, per topic (lowercase) and region, and returns how many
// decisions it read. Topics are read from the stored inputs rather than kept
// in the rollups: counting them on every write cost more than all the other
// statistics together, and a ranking of what traffic talks about needs no
// more than its recent past.
func (r *StatsReader) Topics(ctx context.Context, from, to time.Time, limit int) ([]decisionlog.TopicCount, int64, error) {
	rows, err := r.db.Pool.Query(ctx, `WITH recent AS (
			SELECT input, coalesce(region, '') AS region FROM decision_logs
			WHERE decided_at >= $1 AND decided_at < $2 ORDER BY decided_at DESC LIMIT $3
		), topics AS (
			SELECT left(lower(t), 100) AS topic, region
			FROM recent, jsonb_array_elements_text(CASE WHEN jsonb_typeof(input #> '{signal,topics}') = 'array'
				THEN input #> '{signal,topics}' END) AS t
		)
		SELECT topic, region, count(*), (SELECT count(*) FROM recent) FROM topics GROUP BY 1, 2`, from, to, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("count topics: %w", err)
	}
	var out []decisionlog.TopicCount
	var read int64
	var tc decisionlog.TopicCount
	_, err = pgx.ForEachRow(rows, []any{&tc.Topic, &tc.Region, &tc.N, &read}, func() error {
		out = append(out, tc)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("count topics: %w", err)
	}
	return out, read, nil
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
