package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
)

// PolicyStore keeps policy revisions and the active pointer.
type PolicyStore struct{ db *DB }

var _ policy.Store = (*PolicyStore)(nil)

// Policies returns the policy store.
func (db *DB) Policies() *PolicyStore { return &PolicyStore{db: db} }

type revisionRow struct {
	Revision    int64 `gorm:"primaryKey"`
	ContentHash string
	Modules     []byte `gorm:"type:jsonb"`
	Data        []byte `gorm:"type:jsonb"`
	Parent      *int64
	AuthorID    *int64
	Author      string
	Message     string
	CreatedAt   time.Time
}

func (revisionRow) TableName() string { return "policy_revisions" }

type activeRow struct {
	Singleton   bool `gorm:"primaryKey"`
	Revision    int64
	ActivatedAt time.Time
	ActivatedBy string
}

func (activeRow) TableName() string { return "active_revision" }

func toRevisionRow(r policy.Revision) (revisionRow, error) {
	modules, err := json.Marshal(r.Content.Modules)
	if err != nil {
		return revisionRow{}, fmt.Errorf("encode modules: %w", err)
	}
	data, err := policy.CanonicalData(r.Content.Data)
	if err != nil {
		return revisionRow{}, err
	}
	row := revisionRow{
		Revision: r.Number, ContentHash: r.ContentHash, Modules: modules, Data: data,
		Author: r.Author, Message: r.Message, CreatedAt: r.CreatedAt,
	}
	if r.Parent > 0 {
		row.Parent = &r.Parent
	}
	if r.AuthorID > 0 {
		row.AuthorID = &r.AuthorID
	}
	return row, nil
}

func fromRevisionRow(row revisionRow) (policy.Revision, error) {
	var modules map[string]string
	if err := json.Unmarshal(row.Modules, &modules); err != nil {
		return policy.Revision{}, fmt.Errorf("decode modules of r%d: %w", row.Revision, err)
	}
	data, err := policy.DecodeData(row.Data)
	if err != nil {
		return policy.Revision{}, fmt.Errorf("decode data of r%d: %w", row.Revision, err)
	}
	r := policy.Revision{
		Number: row.Revision, ContentHash: row.ContentHash,
		Content: policy.Content{Modules: modules, Data: data},
		Author:  row.Author, Message: row.Message, CreatedAt: row.CreatedAt,
	}
	if row.Parent != nil {
		r.Parent = *row.Parent
	}
	if row.AuthorID != nil {
		r.AuthorID = *row.AuthorID
	}
	return r, nil
}

// Bootstrap inserts rev as revision 1 and activates it when no revision
// exists yet, and reports whether it did. Instances starting together
// serialise on a transaction-scoped advisory lock.
func (s *PolicyStore) Bootstrap(ctx context.Context, rev policy.Revision) (bool, error) {
	row, err := toRevisionRow(rev)
	if err != nil {
		return false, err
	}
	row.Revision = 1
	row.CreatedAt = s.db.now().UTC()
	created := false
	err = s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('signalgate.policy_bootstrap'))`).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&revisionRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&activeRow{
			Singleton: true, Revision: 1, ActivatedAt: row.CreatedAt, ActivatedBy: rev.Author,
		}).Error; err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("bootstrap policy revision: %w", err)
	}
	return created, nil
}

// Active returns the active revision, or an errs.NotFound error when none is.
func (s *PolicyStore) Active(ctx context.Context) (policy.Revision, error) {
	var row revisionRow
	err := s.db.gorm.WithContext(ctx).
		Joins("JOIN active_revision a ON a.revision = policy_revisions.revision").
		Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return policy.Revision{}, errs.E(errs.NotFound, "no active policy revision")
	}
	if err != nil {
		return policy.Revision{}, fmt.Errorf("read active revision: %w", err)
	}
	return fromRevisionRow(row)
}
