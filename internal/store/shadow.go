package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/shadow"
)

var _ shadow.Store = (*DB)(nil)

// SaveShadow adds a second's shadow and rollout counts and disagreements,
// in one transaction.
func (db *DB) SaveShadow(ctx context.Context, counts []shadow.Count, rollouts []shadow.RolloutCount, rows []shadow.Disagreement) error {
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		for _, c := range counts {
			if _, err := tx.Exec(ctx, `INSERT INTO shadow_counts AS s (bucket, candidate, evaluated, disagreed) VALUES ($1, $2, $3, $4)
				ON CONFLICT (bucket, candidate) DO UPDATE SET evaluated = s.evaluated + excluded.evaluated, disagreed = s.disagreed + excluded.disagreed`,
				c.Bucket, c.Candidate, c.Evaluated, c.Disagreed); err != nil {
				return fmt.Errorf("save shadow counts: %w", err)
			}
		}
		for _, c := range rollouts {
			if _, err := tx.Exec(ctx, `INSERT INTO rollout_counts AS r (rollout, bucket, decisions, candidate_denied, baseline_denied,
				candidate_errors, baseline_errors, disagreed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (rollout, bucket) DO UPDATE SET decisions = r.decisions + excluded.decisions,
				candidate_denied = r.candidate_denied + excluded.candidate_denied, baseline_denied = r.baseline_denied + excluded.baseline_denied,
				candidate_errors = r.candidate_errors + excluded.candidate_errors, baseline_errors = r.baseline_errors + excluded.baseline_errors,
				disagreed = r.disagreed + excluded.disagreed`,
				c.Rollout, c.Bucket, c.Decisions, c.CandidateDenied, c.BaselineDenied, c.CandidateErrors, c.BaselineErrors, c.Disagreed); err != nil {
				return fmt.Errorf("save rollout counts: %w", err)
			}
		}
		if len(rows) == 0 {
			return nil
		}
		src := make([][]any, len(rows))
		for i, r := range rows {
			var rollout *int64
			if r.Rollout != 0 {
				rollout = &r.Rollout
			}
			src[i] = []any{r.DecisionID, r.DecidedAt, r.Candidate, r.Active, r.Region, r.Source, r.Purpose,
				r.ActiveAllow, r.CandidateAllow, r.ActiveReasons, r.CandidateReasons, r.ChangedCodes, rollout}
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"shadow_disagreements"}, disagreementColumns, pgx.CopyFromRows(src))
		if err != nil {
			return fmt.Errorf("save shadow disagreements: %w", err)
		}
		return nil
	})
}

var disagreementColumns = []string{"decision_id", "decided_at", "candidate", "active", "region", "source", "purpose",
	"active_allow", "candidate_allow", "active_reasons", "candidate_reasons", "changed_codes", "rollout"}

// disagreementSelect reads disagreements in the order of shadow.Disagreement's fields.
const disagreementSelect = `SELECT decision_id, decided_at, candidate, active, region, source, purpose, active_allow,
	candidate_allow, active_reasons, candidate_reasons, changed_codes, coalesce(rollout, 0) FROM shadow_disagreements `

// ShadowSummary summarises candidate's shadow results since since.
func (db *DB) ShadowSummary(ctx context.Context, candidate string, since time.Time) (shadow.Summary, error) {
	out := shadow.Summary{ByRegion: map[string]int64{}, BySource: map[string]int64{}, ByReason: map[string]int64{}}
	rows, err := db.Pool.Query(ctx, `SELECT bucket, candidate, evaluated, disagreed FROM shadow_counts
		WHERE candidate = $1 AND bucket >= $2 ORDER BY bucket`, candidate, since)
	if err != nil {
		return out, fmt.Errorf("read shadow counts: %w", err)
	}
	if out.Series, err = pgx.CollectRows(rows, pgx.RowToStructByPos[shadow.Count]); err != nil {
		return out, fmt.Errorf("read shadow counts: %w", err)
	}
	for _, c := range out.Series {
		out.Evaluated += c.Evaluated
		out.Disagreed += c.Disagreed
	}
	for dim, dst := range map[string]map[string]int64{"region": out.ByRegion, "source": out.BySource, "reason": out.ByReason} {
		expr := dim
		if dim == "reason" {
			expr = "unnest(changed_codes)"
		}
		rows, err := db.Pool.Query(ctx, `SELECT v, count(*) FROM (SELECT `+expr+` AS v FROM shadow_disagreements
			WHERE candidate = $1 AND decided_at >= $2 AND rollout IS NULL) AS d GROUP BY v`, candidate, since)
		if err != nil {
			return out, fmt.Errorf("read shadow disagreements: %w", err)
		}
		var v string
		var n int64
		if _, err := pgx.ForEachRow(rows, []any{&v, &n}, func() error { dst[v] = n; return nil }); err != nil {
			return out, fmt.Errorf("read shadow disagreements: %w", err)
		}
	}
	rows, err = db.Pool.Query(ctx, disagreementSelect+`WHERE candidate = $1 AND decided_at >= $2 AND rollout IS NULL
		ORDER BY decided_at DESC LIMIT 20`, candidate, since)
	if err != nil {
		return out, fmt.Errorf("read shadow samples: %w", err)
	}
	out.Samples, err = pgx.CollectRows(rows, pgx.RowToStructByPos[shadow.Disagreement])
	return out, err
}

// PruneComparisons deletes shadow and rollout comparisons older than
// cutoff, with the decisions retention drops, and returns how many rows
// went. Rollouts themselves stay: they are part of the policy's history.
func (db *DB) PruneComparisons(ctx context.Context, cutoff time.Time) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM shadow_disagreements WHERE decided_at < $1`,
			`DELETE FROM shadow_counts WHERE bucket < $1`,
			`DELETE FROM rollout_counts WHERE bucket < $1`,
		} {
			tag, err := tx.Exec(ctx, q, cutoff)
			if err != nil {
				return fmt.Errorf("prune comparisons: %w", err)
			}
			n += tag.RowsAffected()
		}
		return nil
	})
	return n, err
}
