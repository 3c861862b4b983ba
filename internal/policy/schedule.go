package policy

import (
	"context"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
)

// Schedule is a revision due to become active at an instant.
type Schedule struct {
	ID         int64
	Revision   int64
	At         time.Time
	CreatedBy  string
	CreatedAt  time.Time
	State      string // pending, done or cancelled
	ResolvedAt *time.Time
	ResolvedBy string
}

// Schedule states.
const (
	SchedulePending   = "pending"
	ScheduleDone      = "done"
	ScheduleCancelled = "cancelled"
)

// ScheduleStore keeps schedules; changes record their audit entry in the
// same transaction and notify every instance.
type ScheduleStore interface {
	CreateSchedule(ctx context.Context, s Schedule, e audit.Entry) (Schedule, error)
	CancelSchedule(ctx context.Context, id int64, by string, at time.Time, e audit.Entry) (Schedule, error)
	Schedules(ctx context.Context, limit int) ([]Schedule, error)
	PendingSchedules(ctx context.Context) ([]Schedule, error)
	// ApplySchedule marks schedule id done and moves the active pointer to
	// its revision, unless another instance did it first (false).
	ApplySchedule(ctx context.Context, id int64, at time.Time, e audit.Entry) (bool, error)
}

// ScheduleActivation schedules revision id to become active at at, which
// must be in the future. It returns errs.NotFound for an unknown revision,
// errs.Invalid for an instant past, errs.Unprocessable when the revision no
// longer compiles.
func (s *Service) ScheduleActivation(ctx context.Context, store ScheduleStore, who Actor, id string, at time.Time) (Schedule, error) {
	n, err := ParseID(id)
	if err != nil {
		return Schedule{}, err
	}
	now := s.now().UTC()
	if !at.After(now) {
		return Schedule{}, errs.E(errs.Invalid, `"at" %s is not in the future: activate the revision now instead`, at.UTC().Format(time.RFC3339))
	}
	if _, err := s.Compile(ctx, FormatID(n)); err != nil {
		return Schedule{}, err
	}
	e := audit.Entry{At: now, Actor: who.Name, Action: "schedule.create", Target: FormatID(n), RequestID: who.RequestID,
		Detail: []byte(`{"at":"` + at.UTC().Format(time.RFC3339Nano) + `"}`)}
	return store.CreateSchedule(ctx, Schedule{Revision: n, At: at.UTC(), CreatedBy: who.Name, CreatedAt: now, State: SchedulePending}, e)
}

// CancelSchedule cancels a pending schedule. It returns errs.NotFound for an
// unknown one, errs.Conflict for one no longer pending.
func (s *Service) CancelSchedule(ctx context.Context, store ScheduleStore, who Actor, id int64) (Schedule, error) {
	now := s.now().UTC()
	e := audit.Entry{At: now, Actor: who.Name, Action: "schedule.cancel", Target: "schedule", RequestID: who.RequestID}
	return store.CancelSchedule(ctx, id, who.Name, now, e)
}

// RunSchedules makes this instance switch to a scheduled revision at its
// instant — compiled ahead, swapped in when the timer fires, not at the
// next poll — and then tries to apply the schedule (move the active
// pointer): one instance wins, the others find it done. The pending list is
// read again on every signal from changes and every minute. It returns when
// ctx is done.
func (s *Service) RunSchedules(ctx context.Context, store ScheduleStore, changes <-chan struct{}) {
	for {
		wait, next, compiled := time.Minute, (*Schedule)(nil), (*engine.Policy)(nil)
		pending, err := store.PendingSchedules(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("reading scheduled activations", "err", err)
			wait = time.Second
		} else if len(pending) > 0 {
			if compiled, err = s.Compile(ctx, FormatID(pending[0].Revision)); err != nil {
				s.log.Error("a scheduled revision does not compile; it will not be activated", "schedule", pending[0].ID, "err", err)
			} else {
				next, wait = &pending[0], max(time.Until(pending[0].At), 0)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-changes:
			t.Stop()
			continue
		case <-t.C:
		}
		if next == nil {
			continue
		}
		s.loading.Lock()
		if cur := s.engine.Policy(); cur == nil || cur.Revision() != compiled.Revision() {
			s.engine.Swap(compiled)
			s.log.Info("scheduled revision activated", "revision", compiled.Revision(), "schedule", next.ID, "at", next.At)
		}
		s.loading.Unlock()
		e := audit.Entry{At: s.now().UTC(), Actor: "schedule:" + FormatID(next.Revision), Action: "revision.activate"}
		if _, err := store.ApplySchedule(ctx, next.ID, next.At, e); err != nil && ctx.Err() == nil {
			s.log.Warn("recording a scheduled activation; another instance may have", "schedule", next.ID, "err", err)
		}
	}
}

// Scheduling is the schedule API of a Service over its store.
type Scheduling struct {
	Service *Service
	Store   ScheduleStore
}

// Schedule is Service.ScheduleActivation.
func (s Scheduling) Schedule(ctx context.Context, who Actor, id string, at time.Time) (Schedule, error) {
	return s.Service.ScheduleActivation(ctx, s.Store, who, id, at)
}

// Cancel is Service.CancelSchedule.
func (s Scheduling) Cancel(ctx context.Context, who Actor, id int64) (Schedule, error) {
	return s.Service.CancelSchedule(ctx, s.Store, who, id)
}

// List returns up to limit schedules, latest instant first.
func (s Scheduling) List(ctx context.Context, limit int) ([]Schedule, error) {
	return s.Store.Schedules(ctx, limit)
}
