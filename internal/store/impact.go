package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/impact"
)

// ImpactJobs keeps impact-analysis jobs.
type ImpactJobs struct{ db *DB }

var _ impact.Store = (*ImpactJobs)(nil)

// ImpactJobs returns the impact job store.
func (db *DB) ImpactJobs() *ImpactJobs { return &ImpactJobs{db: db} }

// CreateImpactJob inserts j.
func (s *ImpactJobs) CreateImpactJob(ctx context.Context, j impact.Job) error {
	params, err := json.Marshal(j.Params)
	if err != nil {
		return err
	}
	_, err = s.db.Pool.Exec(ctx, `INSERT INTO impact_jobs (id, created_at, created_by, node, draft_hash,
		active_revision, params, state, total, done, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $2)`,
		j.ID, j.CreatedAt, j.CreatedBy, j.Node, j.DraftHash, j.ActiveRevision, params, j.State, j.Total)
	if err != nil {
		return fmt.Errorf("create impact job: %w", err)
	}
	return nil
}

// ImpactProgress records how many decisions job id has compared.
func (s *ImpactJobs) ImpactProgress(ctx context.Context, id uuid.UUID, done int64, at time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE impact_jobs SET done = $2, updated_at = $3 WHERE id = $1 AND state = 'running'`, id, done, at)
	return err
}

// FinishImpactJob records job id's end.
func (s *ImpactJobs) FinishImpactJob(ctx context.Context, id uuid.UUID, state string, r *impact.Result, errText string, at time.Time) error {
	var result []byte
	if r != nil {
		var err error
		if result, err = json.Marshal(r); err != nil {
			return err
		}
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE impact_jobs SET state = $2, result = $3, error = nullif($4, ''),
		done = CASE WHEN $3::jsonb IS NULL THEN done ELSE ($3::jsonb ->> 'evaluated')::bigint END,
		updated_at = $5, finished_at = $5 WHERE id = $1`, id, state, result, errText, at)
	if err != nil {
		return fmt.Errorf("finish impact job: %w", err)
	}
	return nil
}

const selectImpactJob = `SELECT id, created_at, created_by, node, draft_hash, active_revision, params, state,
	total, done, result, coalesce(error, ''), updated_at, finished_at FROM impact_jobs`

// ImpactJob returns job id, or errs.NotFound.
func (s *ImpactJobs) ImpactJob(ctx context.Context, id uuid.UUID) (impact.Job, error) {
	rows, err := s.db.Pool.Query(ctx, selectImpactJob+` WHERE id = $1`, id)
	if err != nil {
		return impact.Job{}, fmt.Errorf("read impact job: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, scanImpactJob)
	if err != nil {
		return impact.Job{}, fmt.Errorf("read impact job: %w", err)
	}
	if len(jobs) == 0 {
		return impact.Job{}, errs.E(errs.NotFound, "no impact analysis %s", id)
	}
	return jobs[0], nil
}

// ImpactJobs returns up to limit jobs, newest first, only draftHash's when
// it is not empty.
func (s *ImpactJobs) ImpactJobs(ctx context.Context, draftHash string, limit int) ([]impact.Job, error) {
	rows, err := s.db.Pool.Query(ctx, selectImpactJob+` WHERE $1 = '' OR draft_hash = $1 ORDER BY created_at DESC LIMIT $2`, draftHash, limit)
	if err != nil {
		return nil, fmt.Errorf("list impact jobs: %w", err)
	}
	jobs, err := pgx.CollectRows(rows, scanImpactJob)
	if err != nil {
		return nil, fmt.Errorf("list impact jobs: %w", err)
	}
	return jobs, nil
}

func scanImpactJob(row pgx.CollectableRow) (impact.Job, error) {
	var j impact.Job
	var params, result []byte
	err := row.Scan(&j.ID, &j.CreatedAt, &j.CreatedBy, &j.Node, &j.DraftHash, &j.ActiveRevision, &params, &j.State,
		&j.Total, &j.Done, &result, &j.Error, &j.UpdatedAt, &j.FinishedAt)
	if err != nil {
		return j, err
	}
	if err := json.Unmarshal(params, &j.Params); err != nil {
		return j, err
	}
	if result != nil {
		j.Result = new(impact.Result)
		if err := json.Unmarshal(result, j.Result); err != nil {
			return j, err
		}
	}
	return j, nil
}
