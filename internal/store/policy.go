package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/signalgate/signalgate/internal/audit"
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
	modules, data, err := encodeContent(r.Content)
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
	content, err := decodeContent(row.Modules, row.Data)
	if err != nil {
		return policy.Revision{}, fmt.Errorf("revision r%d: %w", row.Revision, err)
	}
	r := policy.Revision{
		Number: row.Revision, ContentHash: row.ContentHash,
		Content: content,
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

type draftRow struct {
	Singleton   bool `gorm:"primaryKey"`
	ContentHash string
	Modules     []byte `gorm:"type:jsonb"`
	Data        []byte `gorm:"type:jsonb"`
	UpdatedAt   time.Time
	UpdatedBy   string
}

func (draftRow) TableName() string { return "policy_draft" }

// Draft returns the saved draft, or an errs.NotFound error when none was
// ever saved.
func (s *PolicyStore) Draft(ctx context.Context) (policy.Draft, error) {
	var row draftRow
	err := s.db.gorm.WithContext(ctx).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return policy.Draft{}, errs.E(errs.NotFound, "no draft saved")
	}
	if err != nil {
		return policy.Draft{}, fmt.Errorf("read draft: %w", err)
	}
	c, err := decodeContent(row.Modules, row.Data)
	if err != nil {
		return policy.Draft{}, err
	}
	return policy.Draft{Content: c, ContentHash: row.ContentHash, UpdatedAt: row.UpdatedAt, UpdatedBy: row.UpdatedBy}, nil
}

// SaveDraft replaces the draft with d if the current content hash (the
// saved draft's, else the active revision's) is ifMatch, and records e.
// It returns an errs.PreconditionFailed error otherwise, changing nothing.
func (s *PolicyStore) SaveDraft(ctx context.Context, d policy.Draft, ifMatch string, e audit.Entry) error {
	modules, data, err := encodeContent(d.Content)
	if err != nil {
		return err
	}
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		current, err := lockDraft(tx)
		if err != nil {
			return err
		}
		if current != ifMatch {
			return errs.E(errs.PreconditionFailed, "the draft changed since you read it (it is now %s): reload it and apply your change again", current)
		}
		row := draftRow{Singleton: true, ContentHash: d.ContentHash, Modules: modules, Data: data, UpdatedAt: d.UpdatedAt, UpdatedBy: d.UpdatedBy}
		if err := tx.Save(&row).Error; err != nil {
			return fmt.Errorf("save draft: %w", err)
		}
		e.BeforeHash, e.AfterHash = current, d.ContentHash
		return appendAudit(tx, e)
	})
}

// lockDraft takes the draft's lock for the transaction and returns its
// content hash: the saved draft's, else the active revision's.
func lockDraft(tx *gorm.DB) (string, error) {
	if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('signalgate.policy_draft'))`).Error; err != nil {
		return "", err
	}
	var current string
	err := tx.Raw(`SELECT coalesce((SELECT content_hash FROM policy_draft),
		(SELECT r.content_hash FROM policy_revisions r JOIN active_revision a ON a.revision = r.revision), '')`).Scan(&current).Error
	if err != nil {
		return "", fmt.Errorf("read the draft's hash: %w", err)
	}
	return current, nil
}

// Publish stores rev as the next revision, moves the active pointer to it
// when activate is set, records e and notifies every instance, in one
// transaction. It returns the new revision's number.
func (s *PolicyStore) Publish(ctx context.Context, rev policy.Revision, activate, needApproval bool, e audit.Entry) (int64, error) {
	row, err := toRevisionRow(rev)
	if err != nil {
		return 0, err
	}
	err = s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockPublish(tx); err != nil {
			return err
		}
		active, err := activeRevision(tx)
		if err != nil {
			return err
		}
		if needApproval {
			var approvals int64
			if err := tx.Model(&approvalRow{}).Where("content_hash = ?", rev.ContentHash).Count(&approvals).Error; err != nil {
				return err
			}
			if approvals == 0 {
				return errs.E(errs.Conflict, "awaiting approval: four-eyes publishing is on and nobody approved %s yet", rev.ContentHash)
			}
		}
		// Approvals hold until the next publish.
		if err := tx.Where("true").Delete(&approvalRow{}).Error; err != nil {
			return err
		}
		if err := tx.Raw(`SELECT coalesce(max(revision), 0) + 1 FROM policy_revisions`).Scan(&row.Revision).Error; err != nil {
			return err
		}
		row.Parent = &active
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("store revision: %w", err)
		}
		e.Target = policy.FormatID(row.Revision)
		e.AfterHash = row.ContentHash
		if activate {
			if err := moveActive(tx, row.Revision, rev.Author, row.CreatedAt); err != nil {
				return err
			}
		}
		return appendAudit(tx, e)
	})
	if err != nil {
		return 0, err
	}
	return row.Revision, nil
}

// Activate moves the active pointer to revision n, records e and notifies
// every instance. It returns an errs.NotFound error for an unknown revision.
func (s *PolicyStore) Activate(ctx context.Context, n int64, actor string, e audit.Entry) error {
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockPublish(tx); err != nil {
			return err
		}
		if err := requireRevision(tx, n); err != nil {
			return err
		}
		from, err := switchActive(tx, n, actor, s.db.now().UTC())
		if err != nil {
			return err
		}
		e.Detail = []byte(fmt.Sprintf(`{"from":%q,"to":%q}`, policy.FormatID(from), policy.FormatID(n)))
		return appendAudit(tx, e)
	})
}

// lockPublish serialises, for the transaction, every change of revisions
// and of what is active: publishes, activations, schedules and rollouts.
func lockPublish(tx *gorm.DB) error {
	return tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('signalgate.policy_publish'))`).Error
}

// requireRevision returns an errs.NotFound error unless revision n exists.
func requireRevision(tx *gorm.DB, n int64) error {
	var count int64
	if err := tx.Model(&revisionRow{}).Where("revision = ?", n).Count(&count).Error; err != nil {
		return err
	}
	if count == 0 {
		return errs.E(errs.NotFound, "no revision %s", policy.FormatID(n))
	}
	return nil
}

// activeRevision reads the active pointer's revision.
func activeRevision(tx *gorm.DB) (int64, error) {
	var active activeRow
	if err := tx.Take(&active).Error; err != nil {
		return 0, fmt.Errorf("read the active revision: %w", err)
	}
	return active.Revision, nil
}

// switchActive moves the active pointer to n and returns the revision it
// left, for the audit entry.
func switchActive(tx *gorm.DB, n int64, by string, at time.Time) (int64, error) {
	from, err := activeRevision(tx)
	if err != nil {
		return 0, err
	}
	return from, moveActive(tx, n, by, at)
}

// notifyAndAudit tells every instance listening on channel that something
// changed and records e, in the caller's transaction.
func notifyAndAudit(tx *gorm.DB, channel string, e audit.Entry) error {
	if err := tx.Exec(`SELECT pg_notify(?, '')`, channel).Error; err != nil {
		return fmt.Errorf("notify instances: %w", err)
	}
	return appendAudit(tx, e)
}

func moveActive(tx *gorm.DB, n int64, by string, at time.Time) error {
	if err := tx.Model(&activeRow{}).Where("singleton").
		Updates(map[string]any{"revision": n, "activated_at": at, "activated_by": by}).Error; err != nil {
		return fmt.Errorf("move the active pointer: %w", err)
	}
	if err := tx.Exec(`SELECT pg_notify(?, ?)`, ActiveChannel, policy.FormatID(n)).Error; err != nil {
		return fmt.Errorf("notify instances: %w", err)
	}
	return nil
}

// Revisions lists revisions newest first, without their content.
func (s *PolicyStore) Revisions(ctx context.Context, limit int) ([]policy.Revision, error) {
	var rows []revisionRow
	err := s.db.gorm.WithContext(ctx).
		Select("revision", "content_hash", "parent", "author_id", "author", "message", "created_at").
		Order("revision DESC").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list revisions: %w", err)
	}
	out := make([]policy.Revision, len(rows))
	for i, r := range rows {
		out[i] = policy.Revision{Number: r.Revision, ContentHash: r.ContentHash, Author: r.Author, Message: r.Message, CreatedAt: r.CreatedAt}
		if r.Parent != nil {
			out[i].Parent = *r.Parent
		}
	}
	return out, nil
}

// Revision returns revision n with its content, or an errs.NotFound error.
func (s *PolicyStore) Revision(ctx context.Context, n int64) (policy.Revision, error) {
	var row revisionRow
	err := s.db.gorm.WithContext(ctx).Where("revision = ?", n).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return policy.Revision{}, errs.E(errs.NotFound, "no revision %s", policy.FormatID(n))
	}
	if err != nil {
		return policy.Revision{}, fmt.Errorf("read revision %s: %w", policy.FormatID(n), err)
	}
	return fromRevisionRow(row)
}

func encodeContent(c policy.Content) (modules, data []byte, err error) {
	if modules, err = json.Marshal(c.Modules); err != nil {
		return nil, nil, fmt.Errorf("encode modules: %w", err)
	}
	if data, err = policy.CanonicalData(c.Data); err != nil {
		return nil, nil, err
	}
	return modules, data, nil
}

func decodeContent(modulesJSON, dataJSON []byte) (policy.Content, error) {
	var modules map[string]string
	if err := json.Unmarshal(modulesJSON, &modules); err != nil {
		return policy.Content{}, fmt.Errorf("decode modules: %w", err)
	}
	data, err := policy.DecodeData(dataJSON)
	if err != nil {
		return policy.Content{}, fmt.Errorf("decode data: %w", err)
	}
	return policy.Content{Modules: modules, Data: data}, nil
}

type approvalRow struct {
	ContentHash string `gorm:"primaryKey"`
	Approver    string `gorm:"primaryKey"`
	ApprovedAt  time.Time
}

func (approvalRow) TableName() string { return "policy_approvals" }

// Approve records approver's approval of the draft content hash and e. It
// returns errs.Conflict when hash is not the draft's current content, and
// errs.Forbidden when approver saved the draft since the last publish.
func (s *PolicyStore) Approve(ctx context.Context, hash, approver string, at time.Time, e audit.Entry) error {
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		current, err := lockDraft(tx)
		if err != nil {
			return err
		}
		if current != hash {
			return errs.E(errs.Conflict, "the draft is now %s, not %s: review the current draft and approve its hash", current, hash)
		}
		var saved int64
		err = tx.Raw(`SELECT count(*) FROM audit_log WHERE action = 'draft.save' AND actor = ?
			AND seq > (SELECT coalesce(max(seq), 0) FROM audit_log WHERE action = 'policy.publish')`, approver).Scan(&saved).Error
		if err != nil {
			return fmt.Errorf("read who edited the draft: %w", err)
		}
		if saved > 0 {
			return errs.E(errs.Forbidden, "you edited this draft since the last publish: another publisher must approve it")
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&approvalRow{ContentHash: hash, Approver: approver, ApprovedAt: at}).Error; err != nil {
			return fmt.Errorf("record approval: %w", err)
		}
		e.AfterHash = hash
		return appendAudit(tx, e)
	})
}
