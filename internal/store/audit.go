package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/audit"
)

// AuditStore reads the admin audit trail; entries are appended by the
// stores whose changes they record, in the same transaction.
type AuditStore struct{ db *DB }

var _ audit.Store = (*AuditStore)(nil)

// Audit returns the audit trail store.
func (db *DB) Audit() *AuditStore { return &AuditStore{db: db} }

type auditRow struct {
	Seq        int64 `gorm:"primaryKey;autoIncrement:false"`
	At         time.Time
	Actor      string
	Action     string
	Target     string
	BeforeHash string
	AfterHash  string
	RequestID  string
	Detail     []byte `gorm:"type:jsonb"`
	PrevHash   string
	Hash       string
}

func (auditRow) TableName() string { return "audit_log" }

func toAuditRow(e audit.Entry) auditRow {
	detail := e.Detail
	if len(detail) == 0 {
		detail = []byte("{}")
	}
	return auditRow{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target,
		BeforeHash: e.BeforeHash, AfterHash: e.AfterHash, RequestID: e.RequestID, Detail: detail,
		PrevHash: e.PrevHash, Hash: e.Hash}
}

func fromAuditRow(r auditRow) audit.Entry {
	return audit.Entry{Seq: r.Seq, At: r.At, Actor: r.Actor, Action: r.Action, Target: r.Target,
		BeforeHash: r.BeforeHash, AfterHash: r.AfterHash, RequestID: r.RequestID, Detail: r.Detail,
		PrevHash: r.PrevHash, Hash: r.Hash}
}

// appendAudit seals e after the current last entry and inserts it within tx.
// Appenders take turns on an advisory lock, so the chain never forks.
func appendAudit(tx *gorm.DB, e audit.Entry) error {
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('signalgate.audit'))`).Error; err != nil {
		return fmt.Errorf("lock the audit trail: %w", err)
	}
	var last []auditRow
	if err := tx.Order("seq DESC").Limit(1).Find(&last).Error; err != nil {
		return fmt.Errorf("read the audit trail's last entry: %w", err)
	}
	if len(e.Detail) == 0 {
		e.Detail = []byte("{}")
	}
	if len(last) == 0 {
		audit.Seal(&e, nil)
	} else {
		prev := fromAuditRow(last[0])
		audit.Seal(&e, &prev)
	}
	row := toAuditRow(e)
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("append to the audit trail: %w", err)
	}
	return nil
}

// List returns entries matching f, newest first.
func (s *AuditStore) List(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	q := s.db.gorm.WithContext(ctx).Order("seq DESC")
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Target != "" {
		q = q.Where("target = ?", f.Target)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To)
	}
	if f.BeforeSeq > 0 {
		q = q.Where("seq < ?", f.BeforeSeq)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	var rows []auditRow
	if err := q.Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	out := make([]audit.Entry, len(rows))
	for i, r := range rows {
		out[i] = fromAuditRow(r)
	}
	return out, nil
}

// auditPage bounds the entries held in memory while reading the whole trail.
const auditPage = 1000

// Each calls fn with every entry in sequence order, reading a page at a
// time, and stops at fn's first error.
func (s *AuditStore) Each(ctx context.Context, fn func(audit.Entry) error) error {
	var after int64
	for {
		var rows []auditRow
		if err := s.db.gorm.WithContext(ctx).Where("seq > ?", after).Order("seq").Limit(auditPage).Find(&rows).Error; err != nil {
			return fmt.Errorf("read the audit trail: %w", err)
		}
		for _, r := range rows {
			if err := fn(fromAuditRow(r)); err != nil {
				return err
			}
		}
		if len(rows) < auditPage {
			return nil
		}
		after = rows[len(rows)-1].Seq
	}
}

// Append records one entry on its own, for events that change nothing else
// (a refused request).
func (s *AuditStore) Append(ctx context.Context, e audit.Entry) error {
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return appendAudit(tx, e) })
}
