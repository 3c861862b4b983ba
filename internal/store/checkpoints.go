package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TimeRange is [From, To) of decision times.
type TimeRange struct{ From, To time.Time }

// LogReport is what verifying the decision log against its checkpoints found.
type LogReport struct {
	Checkpoints  int64
	Verified     int64 // rows whose checkpoint hash matched
	Removed      int64 // rows gone, within a recorded removal (retention)
	Predating    int64 // rows logged before checkpoints existed
	Problems     []string
	MoreProblems int64 // problems beyond those listed
	named        int64 // rows present that some checkpoint names
}

const maxProblems = 50

func (r *LogReport) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	} else {
		r.MoreProblems++
	}
}

// VerifyDecisionLog checks every checkpoint: its chain links, and the hash of
// its rows as they are now. A row missing from a checkpoint is accounted for
// when its time lies in one of removed (the ranges retention recorded
// dropping); any other missing, altered or added row is a problem. progress
// is called after each checkpoint with the rows checked so far.
func (db *DB) VerifyDecisionLog(ctx context.Context, removed []TimeRange, progress func(rows int64)) (LogReport, error) {
	var rep LogReport
	inRemoved := func(t time.Time) bool {
		for _, r := range removed {
			if !t.Before(r.From) && t.Before(r.To) {
				return true
			}
		}
		return false
	}
	var lastChain uuid.UUID
	var lastSeq int64
	var lastHash string
	// Checkpoints are read a page at a time: a large log has millions.
	for {
		cps, err := db.checkpointPage(ctx, lastChain, lastSeq)
		if err != nil {
			return rep, err
		}
		if len(cps) == 0 {
			break
		}
		for _, c := range cps {
			if err := db.verifyCheckpoint(ctx, c, &rep, inRemoved, lastChain, lastSeq, lastHash); err != nil {
				return rep, err
			}
			lastChain, lastSeq, lastHash = c.chain, c.seq, c.hash
			if progress != nil {
				progress(rep.Verified + rep.Removed)
			}
		}
	}
	return rep, db.uncovered(ctx, &rep)
}

type checkpoint struct {
	chain      uuid.UUID
	seq        int64
	prev, hash string
	ids        []uuid.UUID
	ats        []time.Time
}

// checkpointPageSize bounds the checkpoints (each naming up to a batch of
// decisions) held in memory while verifying.
const checkpointPageSize = 500

// checkpointPage reads the checkpoints after (chain, seq), in order.
func (db *DB) checkpointPage(ctx context.Context, chain uuid.UUID, seq int64) ([]checkpoint, error) {
	rows, err := db.Pool.Query(ctx, `SELECT chain, seq, prev_hash, batch_hash, ids, decided_ats FROM decision_log_checkpoints
		WHERE (chain, seq) > ($1, $2) ORDER BY chain, seq LIMIT $3`, chain, seq, checkpointPageSize)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkpoint, error) {
		var c checkpoint
		err := r.Scan(&c.chain, &c.seq, &c.prev, &c.hash, &c.ids, &c.ats)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return cps, nil
}

// verifyCheckpoint checks c's link to the checkpoint before it in its chain
// (lastChain/lastSeq/lastHash) and its rows as they are now.
func (db *DB) verifyCheckpoint(ctx context.Context, c checkpoint, rep *LogReport, inRemoved func(time.Time) bool,
	lastChain uuid.UUID, lastSeq int64, lastHash string) error {
	rep.Checkpoints++
	switch {
	case c.chain != lastChain && (c.seq != 1 || c.prev != "genesis"):
		rep.problem("chain %s starts at checkpoint %d: earlier checkpoints were deleted", c.chain, c.seq)
	case c.chain == lastChain && c.seq != lastSeq+1:
		rep.problem("chain %s jumps from checkpoint %d to %d: checkpoints were deleted", c.chain, lastSeq, c.seq)
	case c.chain == lastChain && c.prev != lastHash:
		rep.problem("chain %s checkpoint %d does not follow checkpoint %d: it was altered", c.chain, c.seq, lastSeq)
	}
	var found int64
	var hash *string
	var missingIDs []uuid.UUID
	var missingAts []time.Time
	err := db.Pool.QueryRow(ctx, `SELECT count(d.decision_id),
			encode(sha256(convert_to($1 || E'\n' || string_agg(decision_log_canon(d.decision_id, d.decided_at, d.path, d.input, d.result, d.allow,
				d.reason_codes, d.source, d.purpose, d.region, d.revision, d.client, d.node, d.eval_ns, d.masked), E'\n' ORDER BY d.decision_id)
				FILTER (WHERE d.decision_id IS NOT NULL), 'UTF8')), 'hex'),
			coalesce(array_agg(k.id) FILTER (WHERE d.decision_id IS NULL), '{}'),
			coalesce(array_agg(k.at) FILTER (WHERE d.decision_id IS NULL), '{}')
		FROM unnest($2::uuid[], $3::timestamptz[]) AS k (id, at)
		LEFT JOIN decision_logs d ON d.decision_id = k.id AND d.decided_at = k.at`,
		c.prev, c.ids, c.ats).Scan(&found, &hash, &missingIDs, &missingAts)
	if err != nil {
		return fmt.Errorf("verify checkpoint %s/%d: %w", c.chain, c.seq, err)
	}
	rep.named += found
	for i, id := range missingIDs {
		if inRemoved(missingAts[i]) {
			rep.Removed++
			continue
		}
		rep.problem("decision %s (%s) was deleted", id, missingAts[i].UTC().Format(time.RFC3339Nano))
	}
	switch {
	case len(missingIDs) > 0:
		// The hash covers the whole batch: with rows gone it cannot be checked.
	case hash == nil || *hash != c.hash:
		rep.problem("rows of checkpoint %s/%d were altered (decisions %s … %s)", c.chain, c.seq, c.ids[0], c.ids[len(c.ids)-1])
	default:
		rep.Verified += found
	}
	return nil
}

// uncovered reports rows no checkpoint names: inserted behind the log's
// back, or logged before checkpoints existed (counted apart).
func (db *DB) uncovered(ctx context.Context, rep *LogReport) error {
	var since time.Time
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(min(tstamp), now()) FROM goose_db_version WHERE version_id = 6 AND is_applied`).Scan(&since); err != nil {
		return fmt.Errorf("read when checkpoints began: %w", err)
	}
	var total int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE decided_at < $1) FROM decision_logs`, since).Scan(&total, &rep.Predating); err != nil {
		return fmt.Errorf("count decisions: %w", err)
	}
	if total-rep.Predating <= rep.named {
		return nil
	}
	// Some rows are in no checkpoint: find them (a scan, only on this path).
	rows, err := db.Pool.Query(ctx, `SELECT d.decision_id, d.decided_at FROM decision_logs d
		WHERE d.decided_at >= $1
		  AND NOT EXISTS (SELECT 1 FROM decision_log_checkpoints c WHERE c.ids @> ARRAY[d.decision_id])
		ORDER BY d.decided_at`, since)
	if err != nil {
		return fmt.Errorf("find decisions without a checkpoint: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return err
		}
		rep.problem("decision %s (%s) is in no checkpoint: it was inserted behind the log's back", id, at.UTC().Format(time.RFC3339Nano))
	}
	return rows.Err()
}
