package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/fleet"
)

// SaveAgent records an agent's latest status.
func (db *DB) SaveAgent(ctx context.Context, a fleet.Agent) error {
	plugins, _ := json.Marshal(a.Plugins)
	if a.Errors == nil {
		a.Errors = []string{}
	}
	_, err := db.Pool.Exec(ctx, `INSERT INTO agents (id, version, revision, plugins, errors, report, first_seen, last_seen)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, revision = excluded.revision, plugins = excluded.plugins,
			errors = excluded.errors, report = excluded.report, last_seen = excluded.last_seen`,
		a.ID, a.Version, a.Revision, plugins, a.Errors, a.Report, a.LastSeen)
	if err != nil {
		return fmt.Errorf("save agent %s: %w", a.ID, err)
	}
	return nil
}

// Agents returns every agent that reported, most recently seen first.
func (db *DB) Agents(ctx context.Context) ([]fleet.Agent, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, version, revision, plugins, errors, last_seen FROM agents ORDER BY last_seen DESC`)
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (fleet.Agent, error) {
		var a fleet.Agent
		var plugins []byte
		err := row.Scan(&a.ID, &a.Version, &a.Revision, &plugins, &a.Errors, &a.LastSeen)
		if err == nil {
			err = json.Unmarshal(plugins, &a.Plugins)
		}
		return a, err
	})
}

// Quarantine keeps the events an upload could not store.
func (db *DB) Quarantine(ctx context.Context, events []fleet.Rejected, at time.Time) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = []any{at, e.Agent, e.Reason, e.Event}
	}
	_, err := db.Pool.CopyFrom(ctx, pgx.Identifier{"decision_log_quarantine"}, []string{"received_at", "agent", "reason", "event"}, pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("quarantine %d events: %w", len(events), err)
	}
	return nil
}

// Quarantined returns how many events are in quarantine, and the newest few.
func (db *DB) Quarantined(ctx context.Context, newest int) (int64, []fleet.Rejected, error) {
	var n int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM decision_log_quarantine`).Scan(&n); err != nil {
		return 0, nil, fmt.Errorf("count quarantined events: %w", err)
	}
	rows, err := db.Pool.Query(ctx, `SELECT agent, reason, event FROM decision_log_quarantine ORDER BY id DESC LIMIT $1`, newest)
	if err != nil {
		return 0, nil, fmt.Errorf("read quarantined events: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[fleet.Rejected])
	return n, list, err
}

// SaveInstance records that an instance is alive and which revision it serves.
func (db *DB) SaveInstance(ctx context.Context, in fleet.Instance) error {
	_, err := db.Pool.Exec(ctx, `INSERT INTO instances (node, version, revision, started_at, last_seen) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (node) DO UPDATE SET version = excluded.version, revision = excluded.revision,
			started_at = excluded.started_at, last_seen = excluded.last_seen`,
		in.Node, in.Version, in.Revision, in.StartedAt, in.LastSeen)
	if err != nil {
		return fmt.Errorf("save instance %s: %w", in.Node, err)
	}
	return nil
}

// Instances returns the instances that reported since since, by name.
func (db *DB) Instances(ctx context.Context, since time.Time) ([]fleet.Instance, error) {
	rows, err := db.Pool.Query(ctx, `SELECT node, version, revision, started_at, last_seen FROM instances
		WHERE last_seen >= $1 ORDER BY node`, since)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[fleet.Instance])
}
