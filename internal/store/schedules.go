package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
)

// ScheduleChannel is the NOTIFY channel of schedule changes.
const ScheduleChannel = "signalgate_schedules"

var _ policy.ScheduleStore = (*PolicyStore)(nil)

type scheduleRow struct {
	ID         int64 `gorm:"primaryKey;->"`
	Revision   int64
	At         time.Time
	CreatedBy  string
	CreatedAt  time.Time
	State      string
	ResolvedAt *time.Time
	ResolvedBy *string
}

func (scheduleRow) TableName() string { return "activation_schedules" }

func (r scheduleRow) schedule() policy.Schedule {
	s := policy.Schedule{ID: r.ID, Revision: r.Revision, At: r.At.UTC(), CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, State: r.State, ResolvedAt: r.ResolvedAt}
	if r.ResolvedBy != nil {
		s.ResolvedBy = *r.ResolvedBy
	}
	return s
}

// CreateSchedule inserts a pending schedule and records e.
func (s *PolicyStore) CreateSchedule(ctx context.Context, sc policy.Schedule, e audit.Entry) (policy.Schedule, error) {
	row := scheduleRow{Revision: sc.Revision, At: sc.At, CreatedBy: sc.CreatedBy, CreatedAt: sc.CreatedAt, State: policy.SchedulePending}
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := requireRevision(tx, sc.Revision); err != nil {
			return err
		}
		if err := tx.Raw(`INSERT INTO activation_schedules (revision, at, created_by, created_at, state) VALUES (?, ?, ?, ?, 'pending') RETURNING id`,
			row.Revision, row.At, row.CreatedBy, row.CreatedAt).Scan(&row.ID).Error; err != nil {
			return fmt.Errorf("create schedule: %w", err)
		}
		e.Detail = []byte(fmt.Sprintf(`{"schedule":%d,"at":%q}`, row.ID, row.At.Format(time.RFC3339Nano)))
		return notifyAndAudit(tx, ScheduleChannel, e)
	})
	return row.schedule(), err
}

// CancelSchedule marks a pending schedule cancelled and records e.
func (s *PolicyStore) CancelSchedule(ctx context.Context, id int64, by string, at time.Time, e audit.Entry) (policy.Schedule, error) {
	var row scheduleRow
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Take(&row, id).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errs.E(errs.NotFound, "no schedule %d", id)
		}
		if err != nil {
			return err
		}
		if row.State != policy.SchedulePending {
			return errs.E(errs.Conflict, "schedule %d is %s, not pending", id, row.State)
		}
		if err := tx.Exec(`UPDATE activation_schedules SET state = 'cancelled', resolved_at = ?, resolved_by = ? WHERE id = ?`, at, by, id).Error; err != nil {
			return err
		}
		row.State, row.ResolvedAt, row.ResolvedBy = policy.ScheduleCancelled, &at, &by
		e.Target = policy.FormatID(row.Revision)
		e.Detail = []byte(fmt.Sprintf(`{"schedule":%d,"at":%q}`, id, row.At.Format(time.RFC3339Nano)))
		return notifyAndAudit(tx, ScheduleChannel, e)
	})
	return row.schedule(), err
}

// Schedules lists up to limit schedules, newest instant first.
func (s *PolicyStore) Schedules(ctx context.Context, limit int) ([]policy.Schedule, error) {
	var rows []scheduleRow
	if err := s.db.gorm.WithContext(ctx).Order("at DESC, id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	out := make([]policy.Schedule, len(rows))
	for i, r := range rows {
		out[i] = r.schedule()
	}
	return out, nil
}

// PendingSchedules lists pending schedules, soonest first.
func (s *PolicyStore) PendingSchedules(ctx context.Context) ([]policy.Schedule, error) {
	var rows []scheduleRow
	if err := s.db.gorm.WithContext(ctx).Where("state = 'pending'").Order("at, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list pending schedules: %w", err)
	}
	out := make([]policy.Schedule, len(rows))
	for i, r := range rows {
		out[i] = r.schedule()
	}
	return out, nil
}

// ApplySchedule marks schedule id done and moves the active pointer to its
// revision, recording e; false when it was no longer pending.
func (s *PolicyStore) ApplySchedule(ctx context.Context, id int64, at time.Time, e audit.Entry) (bool, error) {
	applied := false
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockPublish(tx); err != nil {
			return err
		}
		var rev []int64
		if err := tx.Raw(`UPDATE activation_schedules SET state = 'done', resolved_at = ?, resolved_by = ?
			WHERE id = ? AND state = 'pending' RETURNING revision`, at, e.Actor, id).Scan(&rev).Error; err != nil {
			return err
		}
		if len(rev) == 0 {
			return nil
		}
		from, err := switchActive(tx, rev[0], e.Actor, at)
		if err != nil {
			return err
		}
		applied = true
		e.Target = policy.FormatID(rev[0])
		e.Detail = []byte(fmt.Sprintf(`{"from":%q,"to":%q,"schedule":%d}`, policy.FormatID(from), policy.FormatID(rev[0]), id))
		return appendAudit(tx, e)
	})
	return applied, err
}
