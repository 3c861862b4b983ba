// Package rollout keeps progressive rollouts: a published candidate revision
// decides for a stable share of subjects, stepped up (1, 5, 25, 50, 100 %)
// by hand or on a schedule, while guard rails compare it with the active
// revision on the same inputs and roll it back when it drifts too far.
package rollout

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/shadow"
)

// Rollout states.
const (
	Running    = "running"
	Completed  = "completed"   // the candidate became the active revision
	RolledBack = "rolled_back" // by an admin or by the guard rails
	Cancelled  = "cancelled"   // the active revision moved under it
)

// Percents are the shares a rollout steps through.
var Percents = []int{1, 5, 25, 50, 100}

// Step puts Percent % of subjects on the candidate from At.
type Step struct {
	Percent int       `json:"percent"`
	At      time.Time `json:"at"`
}

// Rollout is a candidate revision deciding for a share of subjects in
// place of the baseline, the revision active when it started.
type Rollout struct {
	ID                  int64
	Candidate, Baseline int64
	Steps               []Step // in time order
	State               string
	CreatedBy           string
	CreatedAt           time.Time
	EndedAt             *time.Time
	EndedBy, EndReason  string
}

// Percent is the share in force at at: that of the last step at or
// before it (0 before the first).
func (r Rollout) Percent(at time.Time) int {
	p := 0
	for _, s := range r.Steps {
		if s.At.After(at) {
			break
		}
		p = s.Percent
	}
	return p
}

// Next is the first step after at, or nil.
func (r Rollout) Next(at time.Time) *Step {
	for _, s := range r.Steps {
		if s.At.After(at) {
			return &s
		}
	}
	return nil
}

// Slot places subject in [0, 10000) for rollout id: stable, so a subject
// stays on the same side as long as the share does not shrink, and a
// share of p % holds the slots below 100·p, so stepping up keeps everyone
// already on the candidate there. Each rollout draws afresh.
func Slot(id int64, subject string) int {
	// FNV-1a over the id's 8 big-endian bytes, then the subject's: written
	// out, as it runs for every decision during a rollout and hash/fnv
	// would allocate.
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for shift := 56; shift >= 0; shift -= 8 {
		h = (h ^ uint64(byte(uint64(id)>>shift))) * prime
	}
	for i := range len(subject) {
		h = (h ^ uint64(subject[i])) * prime
	}
	return int(h % 10000)
}

// Picks says whether the candidate decides for subject at at. Inputs
// without a subject id stay with the active revision until the rollout is
// completed: there is nothing to keep them stable on.
func (r Rollout) Picks(subject string, at time.Time) bool {
	return subject != "" && Slot(r.ID, subject) < r.Percent(at)*100
}

// CheckSteps returns what is wrong with a plan, or "".
func CheckSteps(steps []Step) string {
	if len(steps) == 0 || len(steps) > len(Percents) {
		return fmt.Sprintf("steps: give 1 to %d steps", len(Percents))
	}
	for i, s := range steps {
		if !slices.Contains(Percents, s.Percent) {
			return fmt.Sprintf("steps[%d].percent %d: use one of %v", i, s.Percent, Percents)
		}
		if i > 0 && s.Percent <= steps[i-1].Percent {
			return fmt.Sprintf("steps[%d].percent %d: each step must give the candidate a larger share than the one before", i, s.Percent)
		}
		if i > 0 && !s.At.After(steps[i-1].At) {
			return fmt.Sprintf("steps[%d].at: each step must come after the one before", i)
		}
	}
	return ""
}

// Breach returns why t breaks the guard rails g, or "" while it does not
// (or holds fewer decisions than g trusts).
func Breach(t shadow.Tally, g settings.GuardRails, candidate, baseline string) string {
	if t.Decisions == 0 || t.Decisions < int64(g.MinDecisions) {
		return ""
	}
	n := float64(t.Decisions)
	for _, c := range []struct {
		what       string
		cand, base int64
		limit      float64
	}{
		{"deny rate", t.CandidateDenied, t.BaselineDenied, g.MaxDenyRateIncrease},
		{"error rate", t.CandidateErrors, t.BaselineErrors, g.MaxErrorRateIncrease},
	} {
		cr, br := float64(c.cand)/n, float64(c.base)/n
		if cr-br > c.limit {
			return fmt.Sprintf("guard rail broken: %s of %s %.1f%% against %.1f%% for %s on the same %d inputs, %+.1f points where at most %+.1f are allowed",
				c.what, candidate, 100*cr, 100*br, baseline, t.Decisions, 100*(cr-br), 100*c.limit)
		}
	}
	return ""
}

// Live is the rollout in force on an instance, its candidate compiled.
type Live struct {
	Rollout
	Candidate *engine.Policy
	Baseline  string // r<N>
}

// Current holds the rollout in force on an instance, nil when none.
type Current struct{ p atomic.Pointer[Live] }

// Load returns the rollout in force, or nil.
func (c *Current) Load() *Live { return c.p.Load() }

// Store puts l in force (nil for none).
func (c *Current) Store(l *Live) { c.p.Store(l) }

// For returns the policy that decides for subject at at: the candidate when
// the rollout picks the subject and still runs against the active policy,
// else active. The second result is the rollout's id, 0 for active.
func (l *Live) For(active *engine.Policy, subject string, at time.Time) (*engine.Policy, int64) {
	if active == nil || active.Revision() != l.Baseline || !l.Picks(subject, at) {
		return active, 0
	}
	return l.Candidate, l.ID
}
