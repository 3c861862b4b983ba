package decisionlog

import (
	"context"
	"slices"
	"time"

	"github.com/signalgate/signalgate/internal/errs"
)

// Buckets are the time buckets statistics are kept in.
var Buckets = map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}

// Dimensions are what statistics may be split by; outcome alone gives the
// totals.
var Dimensions = []string{"outcome", "reason", "region", "source", "purpose", "revision"}

// MaxBuckets bounds one statistics answer.
const MaxBuckets = 10_000

// StatsQuery asks for counts per bucket in [From, To), split by one
// dimension and by outcome.
type StatsQuery struct {
	From, To time.Time
	Bucket   string
	By       string
}

// Normalize checks q and widens its range to whole buckets (UTC).
func (q *StatsQuery) Normalize() error {
	step, ok := Buckets[q.Bucket]
	if !ok {
		return errs.E(errs.Invalid, "bucket %q: use minute, hour or day", q.Bucket)
	}
	if !slices.Contains(Dimensions, q.By) {
		return errs.E(errs.Invalid, "by %q: use one of %v", q.By, Dimensions)
	}
	if !q.From.Before(q.To) {
		return errs.E(errs.Invalid, "from must be before to")
	}
	q.From = q.From.UTC().Truncate(step)
	if t := q.To.UTC().Truncate(step); !t.Equal(q.To) {
		q.To = t.Add(step)
	}
	if n := q.To.Sub(q.From) / step; n > MaxBuckets {
		return errs.E(errs.Invalid, "%d %s buckets: at most %d; use a coarser bucket or a shorter range", n, q.Bucket, MaxBuckets)
	}
	return nil
}

// Counts splits a count by outcome.
type Counts struct {
	Allow     int64 `json:"allow"`
	Deny      int64 `json:"deny"`
	Undefined int64 `json:"undefined"`
}

// Add adds n decisions of outcome (allow, deny or undefined).
func (c *Counts) Add(outcome string, n int64) {
	switch outcome {
	case "allow":
		c.Allow += n
	case "deny":
		c.Deny += n
	default:
		c.Undefined += n
	}
}

// StatsRow is one bucket's counts for one value of the dimension.
type StatsRow struct {
	Start time.Time
	Value string
	Counts
}

// TopicCount is how often a topic was seen in one region.
type TopicCount struct {
	Topic, Region string
	N             int64
}

// StatsReader reads the statistics kept beside the log.
type StatsReader interface {
	// Stats returns the non-zero counts of q, by bucket then value.
	Stats(ctx context.Context, q StatsQuery) ([]StatsRow, error)
	// Topics returns how often each topic was seen per region in the newest
	// limit decisions of [from, to), and how many decisions that was.
	Topics(ctx context.Context, from, to time.Time, limit int) ([]TopicCount, int64, error)
}
