package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/fleet"
	"github.com/signalgate/signalgate/internal/masking"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/rollout"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/shadow"
	"github.com/signalgate/signalgate/internal/store"
)

// statsFoldInterval is how often pending statistics are folded into the
// rollups; readers add what is pending, so this only bounds the pending table.
const statsFoldInterval = 5 * time.Second

// retentionActor is who the audit trail names for removals by retention.
const retentionActor = "system:retention"

// startUpkeep runs the decision log's background jobs under the owner role
// until ctx is done: partitions created ahead and dropped past retention
// (hourly), statistics folded (every few seconds). Instances take turns on
// advisory locks, so any number may run them.
func startUpkeep(ctx context.Context, owner *store.DB, cfg *settings.Service, log *slog.Logger) {
	go every(ctx, time.Hour, func(ctx context.Context) {
		if n, err := owner.EnsurePartitions(ctx, partitionDaysAhead); err != nil {
			log.Warn("partition upkeep failed", "err", err)
		} else if n > 0 {
			log.Info("decision log partitions created", "count", n)
		}
		if err := applyRetention(ctx, owner, cfg, log); err != nil {
			log.Warn("retention failed", "err", err)
		}
	})
	go every(ctx, statsFoldInterval, func(ctx context.Context) {
		if _, err := owner.FoldStats(ctx); err != nil && ctx.Err() == nil {
			log.Warn("folding decision statistics failed", "err", err)
		}
	})
}

// applyRetention drops the decisions older than the retention setting.
func applyRetention(ctx context.Context, owner *store.DB, cfg *settings.Service, log *slog.Logger) error {
	s, err := cfg.Get(ctx)
	if err != nil || s.RetentionDays == 0 {
		return err
	}
	cutoff := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -s.RetentionDays)
	removed, err := owner.DropDecisionsBefore(ctx, cutoff, retentionActor)
	for _, r := range removed {
		log.Info("retention removed decisions", "from", r.Target, "rows", r.Rows, "retention_days", s.RetentionDays)
	}
	if err != nil {
		return err
	}
	n, err := owner.PruneComparisons(ctx, cutoff)
	if n > 0 {
		log.Info("retention removed shadow and rollout comparisons", "rows", n, "retention_days", s.RetentionDays)
	}
	return err
}

// liveSettings are the settings that act on every decision, as in force on
// this instance.
type liveSettings struct {
	masks    *masking.Current
	maxStale atomic.Int64
	shadow   *shadow.Evaluator
	policies *policy.Service
}

// watchSettings puts the settings that act on every decision — masking
// rules, the maximum staleness, the revision in shadow — in force now and
// again after every settings change, until ctx is done. A change that cannot
// be loaded keeps what is in force (and is logged).
func watchSettings(ctx context.Context, db *store.DB, cfg *settings.Service, live *liveSettings, log *slog.Logger) error {
	load := func(ctx context.Context) error {
		s, err := cfg.Get(ctx)
		if err != nil {
			return err
		}
		key, err := db.MaskingKey(ctx)
		if err != nil {
			return err
		}
		m, err := masking.New(s.Masking, key)
		if err != nil {
			return err
		}
		live.masks.Store(m)
		live.maxStale.Store(int64(s.MaxStalenessSeconds))
		switch {
		case s.ShadowRevision == live.shadow.Candidate():
		case s.ShadowRevision == "":
			live.shadow.SetCandidate(nil)
		default:
			// Updates check that the revision compiles; a failure here (the
			// database gone) leaves the other settings in force all the same.
			p, err := live.policies.Compile(ctx, s.ShadowRevision)
			if err != nil {
				log.Warn("the revision in shadow could not be loaded; shadowing stays as it was", "revision", s.ShadowRevision, "err", err)
				return nil
			}
			live.shadow.SetCandidate(p)
		}
		return nil
	}
	if err := load(ctx); err != nil {
		return fmt.Errorf("load settings: %w", err)
	}
	go func() {
		err := db.ListenSettings(ctx, func(ctx context.Context) {
			if err := load(ctx); err != nil {
				log.Warn("reloading settings failed; the previous ones stay in force", "err", err)
			}
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("listening for settings changes stopped", "err", err)
		}
	}()
	return nil
}

// freshness returns the check that refuses decisions once this instance
// has not confirmed the revision in force for longer than the maximum
// staleness setting (in seconds; 0 is off).
func freshness(policies *policy.Service, maxStale *atomic.Int64) func() error {
	return func() error {
		limit := time.Duration(maxStale.Load()) * time.Second
		if limit == 0 {
			return nil
		}
		if age := time.Since(policies.ConfirmedAt()); age > limit {
			return fmt.Errorf("this instance has not confirmed the policy revision in force for %s (max_staleness_seconds %d), so it decides nothing; it recovers once the database answers",
				age.Round(time.Second), int64(limit/time.Second))
		}
		return nil
	}
}

// instanceReportEvery is how often an instance says it is alive.
const instanceReportEvery = 5 * time.Second

// reportInstance records this instance and the revision it serves, every few
// seconds and at once after every policy change, until ctx is done.
func reportInstance(ctx context.Context, db *store.DB, eng *engine.Engine, node string, log *slog.Logger) {
	started := time.Now().UTC()
	for {
		changed := eng.Changed()
		rev := ""
		if p := eng.Policy(); p != nil {
			rev = p.Revision()
		}
		err := db.SaveInstance(ctx, fleet.Instance{Node: node, Version: version(), Revision: rev, StartedAt: started, LastSeen: time.Now().UTC()})
		if err != nil && ctx.Err() == nil {
			log.Warn("reporting this instance failed", "err", err)
		}
		t := time.NewTimer(instanceReportEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// runSchedules switches this instance at each scheduled activation's
// instant, hearing of new and cancelled schedules through NOTIFY.
func runSchedules(ctx context.Context, policies *policy.Service, db *store.DB, log *slog.Logger) {
	changes := make(chan struct{}, 1)
	go func() {
		err := db.ListenSchedules(ctx, func(context.Context) {
			select {
			case changes <- struct{}{}:
			default: // a change is already waiting to be read
			}
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("listening for schedule changes stopped", "err", err)
		}
	}()
	policies.RunSchedules(ctx, db.Policies(), changes)
}

// rolloutGuardInterval is how often the guard rails look at the running
// rollout.
const rolloutGuardInterval = 2 * time.Second

// runRollouts keeps the running rollout in force on this instance, hearing
// of changes through NOTIFY (and re-reading every few seconds, as the
// active revision is confirmed), and runs the guard rails on one instance
// at a time, until ctx is done.
func runRollouts(ctx context.Context, db *store.DB, rollouts *rollout.Service, current *rollout.Current, cfg *settings.Service, log *slog.Logger) {
	// NOTIFY and the periodic read both load: one at a time, so an older
	// read never replaces a newer one.
	var loading sync.Mutex
	load := func(ctx context.Context) {
		loading.Lock()
		defer loading.Unlock()
		l, err := rollouts.Load(ctx, current.Load())
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("loading the running rollout failed; the one in force stays", "err", err)
			}
			return
		}
		if prev := current.Load(); (prev == nil) != (l == nil) || (l != nil && prev.ID != l.ID) {
			log.Info("rollout in force changed", "rollout", rolloutName(l))
		}
		current.Store(l)
	}
	go func() {
		if err := db.ListenRollouts(ctx, load); err != nil && ctx.Err() == nil {
			log.Warn("listening for rollout changes stopped", "err", err)
		}
	}()
	go every(ctx, activePollInterval, load)
	every(ctx, rolloutGuardInterval, func(ctx context.Context) {
		_, err := db.Exclusively(ctx, "signalgate.rollout_guard", func(ctx context.Context) error {
			s, err := cfg.Get(ctx)
			if err != nil {
				return err
			}
			ended, err := rollouts.Guard(ctx, s.RolloutGuardRails)
			if ended != nil && err == nil {
				log.Warn("rollout ended by the guard rails", "rollout", ended.ID, "state", ended.State, "reason", ended.EndReason)
			}
			return err
		})
		if err != nil && ctx.Err() == nil && errs.CodeOf(err) != errs.Conflict {
			log.Warn("checking the rollout's guard rails failed", "err", err)
		}
	})
}

func rolloutName(l *rollout.Live) string {
	if l == nil {
		return "none"
	}
	return fmt.Sprintf("%d (%s)", l.ID, l.Candidate.Revision())
}
