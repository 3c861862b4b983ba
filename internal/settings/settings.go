// Package settings keeps the deployment-wide settings that admins change at
// run time, such as four-eyes publishing.
package settings

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/masking"
)

// Settings is the whole settings document.
type Settings struct {
	// FourEyes requires a second publisher's approval of the exact draft
	// content before it can be published. Off by default; recommended in
	// production.
	FourEyes bool `json:"four_eyes"`
	// RetentionDays is how long decisions are kept: daily partitions wholly
	// older than this are dropped. 0 keeps them forever.
	RetentionDays int `json:"retention_days"`
	// Masking rules apply to every decision input before it is stored.
	Masking []masking.Rule `json:"masking"`
	// MaxStalenessSeconds, when not 0, makes an instance that could not
	// confirm the revision in force for that long refuse decisions (503)
	// rather than decide with a policy that may have been replaced. It
	// overrides serving from the spool during a database outage.
	MaxStalenessSeconds int `json:"max_staleness_seconds"`
	// ShadowRevision, when set (e.g. "r7"), runs that revision in shadow:
	// every decision is still made by the active revision, and the candidate
	// decides the same input off the response path for comparison.
	ShadowRevision string `json:"shadow_revision"`
	// RolloutGuardRails are the limits a progressive rollout's candidate is
	// held to against the active revision on the same inputs; past them it
	// is rolled back automatically.
	RolloutGuardRails GuardRails `json:"rollout_guard_rails"`
}

// GuardRails bound how much worse than the active revision a rollout's
// candidate may decide before it is rolled back. Rates are fractions of the
// decisions the candidate made in the window (0.05 is 5 points).
type GuardRails struct {
	// MaxDenyRateIncrease is how far the candidate's deny rate may exceed
	// the active revision's on the same inputs.
	MaxDenyRateIncrease float64 `json:"max_deny_rate_increase"`
	// MaxErrorRateIncrease is the same for evaluation errors.
	MaxErrorRateIncrease float64 `json:"max_error_rate_increase"`
	// MinDecisions is how many compared decisions the window must hold
	// before the rates are trusted.
	MinDecisions int `json:"min_decisions"`
	// WindowSeconds is how far back the comparison looks.
	WindowSeconds int `json:"window_seconds"`
}

// DefaultGuardRails are the guard rails of a deployment that never set them.
func DefaultGuardRails() GuardRails {
	return GuardRails{MaxDenyRateIncrease: 0.05, MaxErrorRateIncrease: 0.01, MinDecisions: 200, WindowSeconds: 600}
}

// Validate returns an errs.Invalid error for guard rails that cannot hold.
func (g GuardRails) Validate() error {
	for name, v := range map[string]float64{"max_deny_rate_increase": g.MaxDenyRateIncrease, "max_error_rate_increase": g.MaxErrorRateIncrease} {
		if v < 0 || v > 1 {
			return errs.E(errs.Invalid, "rollout_guard_rails.%s %g: use a fraction from 0 to 1 (0.05 is 5 points)", name, v)
		}
	}
	if g.MinDecisions < 1 || g.MinDecisions > 1_000_000 {
		return errs.E(errs.Invalid, "rollout_guard_rails.min_decisions %d: use 1 to 1000000", g.MinDecisions)
	}
	if g.WindowSeconds < 60 || g.WindowSeconds > 86400 {
		return errs.E(errs.Invalid, "rollout_guard_rails.window_seconds %d: use 60 to 86400", g.WindowSeconds)
	}
	return nil
}

// MinStalenessSeconds is the smallest maximum staleness: a few of the
// instances' confirmation periods.
const MinStalenessSeconds = 5

// DefaultRetentionDays is the retention of a deployment that never set one.
const DefaultRetentionDays = 90

// Defaults is the settings document of a deployment that never saved one;
// fields missing from a saved document keep these values.
func Defaults() Settings {
	return Settings{RetentionDays: DefaultRetentionDays, Masking: []masking.Rule{}, RolloutGuardRails: DefaultGuardRails()}
}

// Validate returns an errs.Invalid error for a document that cannot be saved.
func (s Settings) Validate() error {
	if s.RetentionDays < 0 || s.RetentionDays > 36500 {
		return errs.E(errs.Invalid, "retention_days %d: use 0 (keep forever) to 36500", s.RetentionDays)
	}
	// Instances confirm their revision every 2 s: a shorter bound would
	// refuse decisions between two healthy confirmations.
	if s.MaxStalenessSeconds != 0 && (s.MaxStalenessSeconds < MinStalenessSeconds || s.MaxStalenessSeconds > 86400) {
		return errs.E(errs.Invalid, "max_staleness_seconds %d: use 0 (off) or %d to 86400", s.MaxStalenessSeconds, MinStalenessSeconds)
	}
	if s.Masking == nil {
		return errs.E(errs.Invalid, "masking: use a list of rules, [] for none")
	}
	if err := s.RolloutGuardRails.Validate(); err != nil {
		return err
	}
	return masking.Validate(s.Masking)
}

// Store keeps the document.
type Store interface {
	// Settings returns the saved document, or the zero Settings when none was saved.
	Settings(ctx context.Context) (Settings, error)
	// SaveSettings replaces the document and records e, in one transaction.
	SaveSettings(ctx context.Context, s Settings, by string, at time.Time, e audit.Entry) error
}

// Service reads and changes settings.
type Service struct {
	store Store
	now   func() time.Time
	check func(context.Context, Settings) error
}

// CheckWith adds a check a new document must pass before it is saved, for
// what only other parts know (e.g. that a shadow revision exists and
// compiles): a document every instance would fail to load is refused here.
func (s *Service) CheckWith(check func(context.Context, Settings) error) { s.check = check }

// NewService returns a Service over store.
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Get returns the current settings.
func (s *Service) Get(ctx context.Context) (Settings, error) { return s.store.Settings(ctx) }

// Update applies patch, a JSON object of the fields to change, and records
// the change. It returns errs.Invalid for unknown fields or wrong types.
func (s *Service) Update(ctx context.Context, actor, requestID string, patch []byte) (Settings, error) {
	cur, err := s.store.Settings(ctx)
	if err != nil {
		return Settings{}, err
	}
	before, _ := json.Marshal(cur)
	next := cur
	if err := decodeStrict(patch, &next); err != nil {
		return Settings{}, errs.E(errs.Invalid, "settings: %v", err)
	}
	if err := next.Validate(); err != nil {
		return Settings{}, err
	}
	if s.check != nil {
		if err := s.check(ctx, next); err != nil {
			return Settings{}, err
		}
	}
	after, _ := json.Marshal(next)
	detail, _ := json.Marshal(map[string]json.RawMessage{"before": before, "after": after})
	now := s.now().UTC()
	e := audit.Entry{At: now, Actor: actor, Action: "settings.update", Target: "settings", RequestID: requestID, Detail: detail}
	if err := s.store.SaveSettings(ctx, next, actor, now, e); err != nil {
		return Settings{}, err
	}
	return next, nil
}

func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
