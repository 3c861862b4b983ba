package store

import (
	"context"
	"fmt"
)

// EnsurePartitions creates the decision log's daily partitions from yesterday
// through daysAhead days from now, and returns how many it created.
func (db *DB) EnsurePartitions(ctx context.Context, daysAhead int) (int, error) {
	var created int
	err := db.Pool.QueryRow(ctx,
		`SELECT ensure_decision_log_partitions($1::timestamptz - interval '1 day', $2)`,
		db.now().UTC(), daysAhead+2).Scan(&created)
	if err != nil {
		return 0, fmt.Errorf("create decision log partitions: %w", err)
	}
	return created, nil
}
