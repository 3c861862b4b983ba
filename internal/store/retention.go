package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/audit"
)

var errAlreadyRemoved = errors.New("already removed")

// Removal is one set of decision-log rows removed on purpose: a day's
// partition past retention, late rows in the default partition, or one
// subject's ids erased.
type Removal struct {
	Target   string    `json:"target"` // partition name, or the subject's masked id
	From, To time.Time `json:"-"`
	Rows     int64     `json:"rows"`
}

// DropDecisionsBefore removes every daily partition that ends at or before
// cutoff, and older rows of the default partition, with their statistics.
// Each removal is one transaction that records it in the admin audit trail
// as actor, so an auditor can account for every row that left the log.
func (db *DB) DropDecisionsBefore(ctx context.Context, cutoff time.Time, actor string) ([]Removal, error) {
	var names []string
	err := db.gorm.WithContext(ctx).Raw(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'decision_logs'::regclass AND c.relname ~ '^decision_logs_p[0-9]{8}$'`).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("list decision log partitions: %w", err)
	}
	slices.Sort(names)
	var out []Removal
	for _, name := range names {
		day, err := time.Parse("20060102", name[len("decision_logs_p"):])
		if err != nil || day.AddDate(0, 0, 1).After(cutoff) {
			continue
		}
		r := Removal{Target: name, From: day, To: day.AddDate(0, 0, 1)}
		err = db.removeAudited(ctx, actor, "decisions.drop_partition", &r, func(tx *gorm.DB) error {
			var exists bool
			if err := tx.Raw(`SELECT to_regclass(?) IS NOT NULL`, name).Scan(&exists).Error; err != nil || !exists {
				return cmp.Or(err, errAlreadyRemoved) // another instance dropped it a moment ago
			}
			if err := tx.Raw(fmt.Sprintf(`SELECT count(*) FROM %q`, name)).Scan(&r.Rows).Error; err != nil {
				return err
			}
			if err := tx.Exec(fmt.Sprintf(`DROP TABLE %q`, name)).Error; err != nil {
				return err
			}
			// A dropped partition fires no delete trigger: its counts go by hand.
			// Its day's rows were all in it (a day is partitioned whole or not at all).
			for _, t := range []string{"decision_stats", "decision_stats_pending"} {
				if err := tx.Exec(`DELETE FROM `+t+` WHERE bucket >= ? AND bucket < ?`, r.From, r.To).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, errAlreadyRemoved) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("drop %s: %w", name, err)
		}
		out = append(out, r)
	}
	late := Removal{Target: "decision_logs_default", To: cutoff}
	err = db.removeAudited(ctx, actor, "decisions.delete_late", &late, func(tx *gorm.DB) error {
		// Through the parent table, whose delete trigger keeps the statistics:
		// the older partitions are gone, so what is left is in the default one.
		res := tx.Exec(`DELETE FROM decision_logs WHERE decided_at < ?`, cutoff)
		late.Rows = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return out, fmt.Errorf("delete late rows before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	if late.Rows > 0 {
		out = append(out, late)
	}
	return out, nil
}

// EraseSubject anonymises the rows of a subject stored under any of ids: the
// subject column and the input's subject.id go, the rest of each decision
// stays (statistics and replays of other fields keep working), and the
// erased path joins the row's masked paths so a replay can tell. The trail
// records target (the subject's masked id, never the raw one) and the count.
func (db *DB) EraseSubject(ctx context.Context, ids []string, target, actor string) (int64, error) {
	r := Removal{Target: target}
	err := db.removeAudited(ctx, actor, "subject.erase", &r, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE decision_logs SET subject = NULL, input = input #- '{subject,id}',
			masked = CASE WHEN '/input/subject/id' = ANY(masked) THEN masked ELSE masked || '{/input/subject/id}'::text[] END
			WHERE subject IN ?`, ids)
		r.Rows = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("erase subject: %w", err)
	}
	return r.Rows, nil
}

// removeAudited runs remove under the partition-maintenance lock and, when it
// removed anything, appends the removal to the audit trail in the same
// transaction.
func (db *DB) removeAudited(ctx context.Context, actor, action string, r *Removal, remove func(*gorm.DB) error) error {
	return db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('signalgate.decision_log_partitions'))`).Error; err != nil {
			return err
		}
		if err := remove(tx); err != nil {
			return err
		}
		if r.Rows == 0 && action != "decisions.drop_partition" {
			return nil
		}
		detail := map[string]any{"rows": r.Rows}
		if !r.From.IsZero() {
			detail["from"] = r.From
		}
		if !r.To.IsZero() {
			detail["to"] = r.To
		}
		b, _ := json.Marshal(detail)
		return appendAudit(tx, audit.Entry{At: db.now().UTC(), Actor: actor, Action: action, Target: r.Target, Detail: b})
	})
}

// MaskingKey returns the deployment's masking key, creating it on first use.
func (db *DB) MaskingKey(ctx context.Context) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	err := db.Pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO masking_key (key) VALUES ($1) ON CONFLICT (singleton) DO NOTHING RETURNING key
		) SELECT key FROM ins UNION ALL SELECT key FROM masking_key LIMIT 1`, key).Scan(&key)
	if err != nil {
		return nil, fmt.Errorf("read the masking key: %w", err)
	}
	return key, nil
}
