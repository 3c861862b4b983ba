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
}

// MinStalenessSeconds is the smallest maximum staleness: a few of the
// instances' confirmation periods.
const MinStalenessSeconds = 5

// DefaultRetentionDays is the retention of a deployment that never set one.
const DefaultRetentionDays = 90

// Defaults is the settings document of a deployment that never saved one;
// fields missing from a saved document keep these values.
func Defaults() Settings {
	return Settings{RetentionDays: DefaultRetentionDays, Masking: []masking.Rule{}}
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
