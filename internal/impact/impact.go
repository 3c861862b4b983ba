// Package impact keeps impact analyses: what a draft would change, measured
// by deciding recent logged inputs under the draft and under the active
// revision, each with time pinned to its original decision time.
package impact

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/engine"
)

// Params choose the logged decisions an analysis replays.
type Params struct {
	Last int        `json:"last,omitempty"` // the newest N decisions (default DefaultLast)
	From *time.Time `json:"from,omitempty"` // or those in [From, To)
	To   *time.Time `json:"to,omitempty"`
	// AsOf, when set, replays every input as if it arrived at that instant:
	// time pinned to it, signal.observed_at moved by the same offset. It
	// answers "what will these decisions be on the rollout date?".
	AsOf *time.Time `json:"as_of,omitempty"`
}

// DefaultLast and MaxLast bound Params.Last.
const (
	DefaultLast = 100_000
	MaxLast     = 1_000_000
)

// States of a job.
const (
	Running = "running"
	Done    = "done"
	Failed  = "failed"
)

// Job is one analysis, as any instance reads it.
type Job struct {
	ID             uuid.UUID
	CreatedAt      time.Time
	CreatedBy      string
	Node           string
	DraftHash      string
	ActiveRevision string
	Params         Params
	State          string
	Total, Done    int64
	Result         *Result
	Error          string
	UpdatedAt      time.Time
	FinishedAt     *time.Time
}

// Transitions between the active revision's answer and the draft's.
const (
	AllowToDeny    = "allow_to_deny"
	DenyToAllow    = "deny_to_allow"
	ReasonsChanged = "reasons_changed" // denied by both, for other reasons
)

// MaxSamples bounds the decision ids kept per bucket.
const MaxSamples = 10

// Result is what an analysis found.
type Result struct {
	Evaluated int64 `json:"evaluated"`
	Unchanged int64 `json:"unchanged"`
	Changed   int64 `json:"changed"`
	// Errors counts decisions either revision failed to evaluate.
	Errors int64 `json:"errors"`
	// MaskedInputs counts inputs stored with masked values: a policy that
	// reads those values saw the masked form.
	MaskedInputs int64         `json:"masked_inputs"`
	Transitions  []Transition  `json:"transitions"`
	ByReason     []ReasonDelta `json:"by_reason"`
	ByRegion     []RegionDelta `json:"by_region"`
}

// Transition counts one kind of change.
type Transition struct {
	Transition string   `json:"transition"`
	Count      int64    `json:"count"`
	Samples    []string `json:"samples"`
}

// ReasonDelta counts the decisions that gain (Added) or lose (Removed) a
// reason code under the draft.
type ReasonDelta struct {
	Code    string   `json:"code"`
	Added   int64    `json:"added"`
	Removed int64    `json:"removed"`
	Samples []string `json:"samples"`
}

// RegionDelta counts one region's changes by transition.
type RegionDelta struct {
	Region         string   `json:"region"`
	AllowToDeny    int64    `json:"allow_to_deny"`
	DenyToAllow    int64    `json:"deny_to_allow"`
	ReasonsChanged int64    `json:"reasons_changed"`
	Samples        []string `json:"samples"`
}

// tally accumulates one worker's comparisons; tallies merge at the end.
type tally struct {
	evaluated, unchanged, errors, masked int64
	transitions                          map[string]*Transition
	reasons                              map[string]*ReasonDelta
	regions                              map[string]*RegionDelta
}

func newTally() *tally {
	return &tally{transitions: map[string]*Transition{}, reasons: map[string]*ReasonDelta{}, regions: map[string]*RegionDelta{}}
}

func sample(samples []string, id string) []string {
	if len(samples) < MaxSamples {
		return append(samples, id)
	}
	return samples
}

// add compares one decision's answers under the active revision (was) and
// the draft (now).
func (t *tally) add(id, region string, masked bool, was, now engine.Decision) {
	t.evaluated++
	if masked {
		t.masked++
	}
	if was.Failed || now.Failed {
		t.errors++
	}
	var kind string
	switch {
	case was.Result.Allow && !now.Result.Allow:
		kind = AllowToDeny
	case !was.Result.Allow && now.Result.Allow:
		kind = DenyToAllow
	case !was.Result.SameReasons(now.Result):
		kind = ReasonsChanged
	default:
		t.unchanged++
		return
	}
	tr := t.transitions[kind]
	if tr == nil {
		tr = &Transition{Transition: kind}
		t.transitions[kind] = tr
	}
	tr.Count++
	tr.Samples = sample(tr.Samples, id)

	rg := t.regions[region]
	if rg == nil {
		rg = &RegionDelta{Region: region}
		t.regions[region] = rg
	}
	switch kind {
	case AllowToDeny:
		rg.AllowToDeny++
	case DenyToAllow:
		rg.DenyToAllow++
	default:
		rg.ReasonsChanged++
	}
	rg.Samples = sample(rg.Samples, id)

	before, after := was.Result.Codes(), now.Result.Codes()
	for _, c := range after {
		if !slices.Contains(before, c) {
			t.reason(c, id).Added++
		}
	}
	for _, c := range before {
		if !slices.Contains(after, c) {
			t.reason(c, id).Removed++
		}
	}
}

func (t *tally) reason(code, id string) *ReasonDelta {
	r := t.reasons[code]
	if r == nil {
		r = &ReasonDelta{Code: code}
		t.reasons[code] = r
	}
	r.Samples = sample(r.Samples, id)
	return r
}

// merge folds o into t.
func (t *tally) merge(o *tally) {
	t.evaluated += o.evaluated
	t.unchanged += o.unchanged
	t.errors += o.errors
	t.masked += o.masked
	for k, v := range o.transitions {
		if cur := t.transitions[k]; cur == nil {
			t.transitions[k] = v
		} else {
			cur.Count += v.Count
			cur.Samples = mergeSamples(cur.Samples, v.Samples)
		}
	}
	for k, v := range o.reasons {
		if cur := t.reasons[k]; cur == nil {
			t.reasons[k] = v
		} else {
			cur.Added += v.Added
			cur.Removed += v.Removed
			cur.Samples = mergeSamples(cur.Samples, v.Samples)
		}
	}
	for k, v := range o.regions {
		if cur := t.regions[k]; cur == nil {
			t.regions[k] = v
		} else {
			cur.AllowToDeny += v.AllowToDeny
			cur.DenyToAllow += v.DenyToAllow
			cur.ReasonsChanged += v.ReasonsChanged
			cur.Samples = mergeSamples(cur.Samples, v.Samples)
		}
	}
}

func mergeSamples(a, b []string) []string {
	for _, id := range b {
		a = sample(a, id)
	}
	return a
}

// result orders the tally for reading: largest buckets first.
func (t *tally) result() *Result {
	r := &Result{Evaluated: t.evaluated, Unchanged: t.unchanged, Changed: t.evaluated - t.unchanged,
		Errors: t.errors, MaskedInputs: t.masked,
		Transitions: []Transition{}, ByReason: []ReasonDelta{}, ByRegion: []RegionDelta{}}
	for _, v := range t.transitions {
		r.Transitions = append(r.Transitions, *v)
	}
	for _, v := range t.reasons {
		r.ByReason = append(r.ByReason, *v)
	}
	for _, v := range t.regions {
		r.ByRegion = append(r.ByRegion, *v)
	}
	slices.SortFunc(r.Transitions, func(a, b Transition) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Transition, b.Transition))
	})
	slices.SortFunc(r.ByReason, func(a, b ReasonDelta) int {
		return cmp.Or(cmp.Compare(b.Added+b.Removed, a.Added+a.Removed), cmp.Compare(a.Code, b.Code))
	})
	slices.SortFunc(r.ByRegion, func(a, b RegionDelta) int {
		na, nb := a.AllowToDeny+a.DenyToAllow+a.ReasonsChanged, b.AllowToDeny+b.DenyToAllow+b.ReasonsChanged
		return cmp.Or(cmp.Compare(nb, na), cmp.Compare(a.Region, b.Region))
	})
	return r
}

// loggedDecision reads a logged native result back as the engine's answer.
func loggedDecision(result []byte) (engine.Decision, bool) {
	var d engine.Decision
	if json.Unmarshal(result, &d.Result) != nil {
		return d, false
	}
	for _, r := range d.Result.Reasons {
		if r.Code == engine.ReasonEvaluationError {
			d.Failed = true
		}
	}
	return d, true
}
