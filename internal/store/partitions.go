package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnsurePartitions creates the decision log's daily partitions from yesterday
// through daysAhead days from now, and returns how many it created.
// Instances doing upkeep at once take turns on an advisory lock, so none
// trips over a partition another is creating.
func (db *DB) EnsurePartitions(ctx context.Context, daysAhead int) (int, error) {
	return db.EnsurePartitionsFrom(ctx, db.now().UTC().AddDate(0, 0, -1), daysAhead+2)
}

// EnsurePartitionsFrom creates the daily partitions of the days UTC from
// from's day on, days of them, and returns how many it created. It takes the
// upkeep's advisory lock too, so seeding a past range and the serving
// instances' upkeep never race on the same partition.
func (db *DB) EnsurePartitionsFrom(ctx context.Context, from time.Time, days int) (int, error) {
	var created int
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('signalgate.decision_log_partitions'))`); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT ensure_decision_log_partitions($1, $2)`, from.UTC(), days).Scan(&created)
	})
	if err != nil {
		return 0, fmt.Errorf("create decision log partitions: %w", err)
	}
	return created, nil
}

// AnalyzeDecisionLog refreshes the planner's statistics of the decision log
// and its partitions. Autovacuum analyzes partitions only some time after a
// bulk load, and never the partitioned table itself, so queries right after
// seeding millions of rows would otherwise be planned for an empty log.
func (db *DB) AnalyzeDecisionLog(ctx context.Context) error {
	if _, err := db.Pool.Exec(ctx, `ANALYZE decision_logs`); err != nil {
		return fmt.Errorf("analyze decision log: %w", err)
	}
	return nil
}
