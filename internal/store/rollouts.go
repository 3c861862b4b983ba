package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/rollout"
	"github.com/signalgate/signalgate/internal/shadow"
)

// RolloutChannel is the NOTIFY channel of rollout changes.
const RolloutChannel = "signalgate_rollouts"

var _ rollout.Store = (*PolicyStore)(nil)

// ListenRollouts is ListenActive for rollout changes.
func (db *DB) ListenRollouts(ctx context.Context, onChange func(context.Context)) error {
	return db.listen(ctx, RolloutChannel, "rollout changes", onChange)
}

type rolloutRow struct {
	ID        int64 `gorm:"primaryKey;->"`
	Candidate int64
	Baseline  int64
	Steps     []byte
	State     string
	CreatedBy string
	CreatedAt time.Time
	EndedAt   *time.Time
	EndedBy   *string
	EndReason *string
}

func (rolloutRow) TableName() string { return "rollouts" }

func (r rolloutRow) rollout() (rollout.Rollout, error) {
	out := rollout.Rollout{ID: r.ID, Candidate: r.Candidate, Baseline: r.Baseline, State: r.State,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), EndedAt: r.EndedAt}
	if r.EndedBy != nil {
		out.EndedBy = *r.EndedBy
	}
	if r.EndReason != nil {
		out.EndReason = *r.EndReason
	}
	if err := json.Unmarshal(r.Steps, &out.Steps); err != nil {
		return out, fmt.Errorf("decode rollout %d's steps: %w", r.ID, err)
	}
	return out, nil
}

// StartRollout inserts a running rollout of r.Candidate against the active
// revision, and records e.
func (s *PolicyStore) StartRollout(ctx context.Context, r rollout.Rollout, e audit.Entry) (rollout.Rollout, error) {
	steps, err := json.Marshal(r.Steps)
	if err != nil {
		return r, err
	}
	err = s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The publish lock keeps the active pointer still until we commit.
		if err := lockPublish(tx); err != nil {
			return err
		}
		if err := requireRevision(tx, r.Candidate); err != nil {
			return err
		}
		active, err := activeRevision(tx)
		if err != nil {
			return err
		}
		if active == r.Candidate {
			return errs.E(errs.Conflict, "%s is already the active revision: roll out a revision published with \"activate\": false", policy.FormatID(r.Candidate))
		}
		var running []int64
		if err := tx.Raw(`SELECT id FROM rollouts WHERE state = 'running'`).Scan(&running).Error; err != nil {
			return err
		}
		if len(running) > 0 {
			return errs.E(errs.Conflict, "rollout %d is running: complete it or roll it back first", running[0])
		}
		r.Baseline = active
		if err := tx.Raw(`INSERT INTO rollouts (candidate, baseline, steps, state, created_by, created_at) VALUES (?, ?, ?, 'running', ?, ?) RETURNING id`,
			r.Candidate, r.Baseline, steps, r.CreatedBy, r.CreatedAt).Scan(&r.ID).Error; err != nil {
			return fmt.Errorf("start rollout: %w", err)
		}
		e.Detail = []byte(fmt.Sprintf(`{"rollout":%d,"baseline":%q,"steps":%s}`, r.ID, policy.FormatID(r.Baseline), steps))
		return notifyAndAudit(tx, RolloutChannel, e)
	})
	return r, err
}

// SetSteps replaces running rollout id's steps and records e.
func (s *PolicyStore) SetSteps(ctx context.Context, id int64, steps []rollout.Step, e audit.Entry) (rollout.Rollout, error) {
	b, err := json.Marshal(steps)
	if err != nil {
		return rollout.Rollout{}, err
	}
	return s.changeRunning(ctx, id, e, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE rollouts SET steps = ? WHERE id = ?`, b, id).Error
	})
}

// EndRollout moves running rollout id to state, recording e.
func (s *PolicyStore) EndRollout(ctx context.Context, id int64, state, by, reason string, at time.Time, e audit.Entry) (rollout.Rollout, error) {
	return s.changeRunning(ctx, id, e, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE rollouts SET state = ?, ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ?`, state, at, by, reason, id).Error
	})
}

// CompleteRollout makes running rollout id's candidate the active revision
// and records e and the activation.
func (s *PolicyStore) CompleteRollout(ctx context.Context, id int64, by string, at time.Time, e audit.Entry) (rollout.Rollout, error) {
	return s.changeRunning(ctx, id, e, func(tx *gorm.DB) error {
		var r rolloutRow
		if err := tx.Take(&r, id).Error; err != nil {
			return err
		}
		if err := tx.Exec(`UPDATE rollouts SET state = 'completed', ended_at = ?, ended_by = ?, end_reason = ? WHERE id = ?`,
			at, by, "completed: "+policy.FormatID(r.Candidate)+" is the active revision", id).Error; err != nil {
			return err
		}
		from, err := switchActive(tx, r.Candidate, by, at)
		if err != nil {
			return err
		}
		if from != r.Baseline {
			return errs.E(errs.Conflict, "the active revision moved from %s to %s during the rollout: roll it back and start again",
				policy.FormatID(r.Baseline), policy.FormatID(from))
		}
		return appendAudit(tx, audit.Entry{At: at, Actor: by, Action: "revision.activate", Target: policy.FormatID(r.Candidate), RequestID: e.RequestID,
			Detail: []byte(fmt.Sprintf(`{"from":%q,"to":%q,"rollout":%d}`, policy.FormatID(from), policy.FormatID(r.Candidate), id))})
	})
}

// changeRunning applies change to rollout id, which must be running, under
// the publish lock, then records e and notifies every instance.
func (s *PolicyStore) changeRunning(ctx context.Context, id int64, e audit.Entry, change func(tx *gorm.DB) error) (rollout.Rollout, error) {
	var out rollout.Rollout
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockPublish(tx); err != nil {
			return err
		}
		var state []string
		if err := tx.Raw(`SELECT state FROM rollouts WHERE id = ? FOR UPDATE`, id).Scan(&state).Error; err != nil {
			return err
		}
		if len(state) == 0 {
			return errs.E(errs.NotFound, "no rollout %d", id)
		}
		if state[0] != rollout.Running {
			return errs.E(errs.Conflict, "rollout %d is %s, no longer running", id, state[0])
		}
		if err := change(tx); err != nil {
			return err
		}
		var row rolloutRow
		if err := tx.Take(&row, id).Error; err != nil {
			return err
		}
		var err error
		if out, err = row.rollout(); err != nil {
			return err
		}
		return notifyAndAudit(tx, RolloutChannel, e)
	})
	return out, err
}

// Rollouts lists up to limit rollouts, newest first.
func (s *PolicyStore) Rollouts(ctx context.Context, limit int) ([]rollout.Rollout, error) {
	var rows []rolloutRow
	if err := s.db.gorm.WithContext(ctx).Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list rollouts: %w", err)
	}
	out := make([]rollout.Rollout, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.rollout(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rollout returns rollout id; errs.NotFound when there is none.
func (s *PolicyStore) Rollout(ctx context.Context, id int64) (rollout.Rollout, error) {
	var row rolloutRow
	err := s.db.gorm.WithContext(ctx).Take(&row, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return rollout.Rollout{}, errs.E(errs.NotFound, "no rollout %d", id)
	}
	if err != nil {
		return rollout.Rollout{}, fmt.Errorf("read rollout %d: %w", id, err)
	}
	return row.rollout()
}

// RunningRollout returns the running rollout, or nil.
func (s *PolicyStore) RunningRollout(ctx context.Context) (*rollout.Rollout, error) {
	var rows []rolloutRow
	if err := s.db.gorm.WithContext(ctx).Where("state = 'running'").Limit(1).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read the running rollout: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	r, err := rows[0].rollout()
	return &r, err
}

// RolloutCounts returns rollout id's tally per minute from since, oldest first.
func (s *PolicyStore) RolloutCounts(ctx context.Context, id int64, since time.Time) ([]shadow.RolloutCount, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT rollout, bucket, decisions, candidate_denied, baseline_denied, candidate_errors,
		baseline_errors, disagreed FROM rollout_counts WHERE rollout = $1 AND bucket >= $2 ORDER BY bucket`, id, since)
	if err != nil {
		return nil, fmt.Errorf("read rollout counts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (shadow.RolloutCount, error) {
		var c shadow.RolloutCount
		err := row.Scan(&c.Rollout, &c.Bucket, &c.Decisions, &c.CandidateDenied, &c.BaselineDenied, &c.CandidateErrors, &c.BaselineErrors, &c.Disagreed)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read rollout counts: %w", err)
	}
	return out, nil
}

// RolloutSamples returns rollout id's newest limit disagreements.
func (s *PolicyStore) RolloutSamples(ctx context.Context, id int64, limit int) ([]shadow.Disagreement, error) {
	rows, err := s.db.Pool.Query(ctx, disagreementSelect+`WHERE rollout = $1 ORDER BY decided_at DESC LIMIT $2`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("read rollout disagreements: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[shadow.Disagreement])
	if err != nil {
		return nil, fmt.Errorf("read rollout disagreements: %w", err)
	}
	return out, nil
}
