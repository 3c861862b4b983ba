package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// EnsurePartitions creates the decision log's daily partitions from yesterday
// through daysAhead days from now, and returns how many it created.
// Instances doing upkeep at once take turns on an advisory lock, so none
// trips over a partition another is creating.
func (db *DB) EnsurePartitions(ctx context.Context, daysAhead int) (int, error) {
	var created int
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('signalgate.decision_log_partitions'))`); err != nil {
			return err
		}
		return tx.QueryRow(ctx,
			`SELECT ensure_decision_log_partitions($1::timestamptz - interval '1 day', $2)`,
			db.now().UTC(), daysAhead+2).Scan(&created)
	})
	if err != nil {
		return 0, fmt.Errorf("create decision log partitions: %w", err)
	}
	return created, nil
}
