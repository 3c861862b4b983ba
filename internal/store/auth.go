package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
)

// AuthStore keeps users, roles and API tokens.
type AuthStore struct{ db *DB }

var _ auth.Store = (*AuthStore)(nil)

// Auth returns the identity store.
func (db *DB) Auth() *AuthStore { return &AuthStore{db: db} }

type userRow struct {
	ID           int64 `gorm:"primaryKey;->"`
	Name         string
	PasswordHash *string
	CreatedAt    time.Time
	DisabledAt   *time.Time
}

func (userRow) TableName() string { return "users" }

type userRoleRow struct {
	UserID    int64 `gorm:"primaryKey"`
	Role      string
	GrantedAt time.Time
}

func (userRoleRow) TableName() string { return "user_roles" }

type tokenRow struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	UserID     int64
	Name       string
	Role       string
	Digest     []byte
	Hint       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (tokenRow) TableName() string { return "api_tokens" }

const tokenByDigestSQL = `
SELECT t.id, t.user_id, u.name, t.name, t.role, t.hint, t.created_at, t.expires_at, t.revoked_at,
       u.disabled_at IS NOT NULL
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.digest = $1`

// TokenByDigest returns the token with this digest, or an errs.NotFound error.
func (s *AuthStore) TokenByDigest(ctx context.Context, digest []byte) (auth.Token, error) {
	var t auth.Token
	var id uuid.UUID
	var role string
	err := s.db.Pool.QueryRow(ctx, tokenByDigestSQL, digest).Scan(
		&id, &t.UserID, &t.User, &t.Name, &role, &t.Hint, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.Disabled)
	if isNoRows(err) {
		return auth.Token{}, errs.E(errs.NotFound, "no such token")
	}
	if err != nil {
		return auth.Token{}, fmt.Errorf("read token: %w", err)
	}
	t.ID = id.String()
	t.Role = auth.Role(role)
	return t, nil
}

// Bootstrap creates the first admin user and its token unless any user
// exists, and reports whether it did.
func (s *AuthStore) Bootstrap(ctx context.Context, name, passwordHash string, tokenDigest []byte, tokenHint string) (bool, error) {
	created := false
	now := s.db.now().UTC()
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('signalgate.auth_bootstrap'))`).Error; err != nil {
			return err
		}
		var n int64
		if err := tx.Model(&userRow{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		u := userRow{Name: name, PasswordHash: &passwordHash, CreatedAt: now}
		if err := tx.Create(&u).Error; err != nil {
			return err
		}
		if err := tx.Create(&userRoleRow{UserID: u.ID, Role: string(auth.Admin), GrantedAt: now}).Error; err != nil {
			return err
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		if err := tx.Create(&tokenRow{
			ID: id, UserID: u.ID, Name: "bootstrap", Role: string(auth.Admin),
			Digest: tokenDigest, Hint: tokenHint, CreatedAt: now,
		}).Error; err != nil {
			return err
		}
		created = true
		return nil
	})
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return false, errs.E(errs.Conflict, "the bootstrap token is already in use")
	}
	if err != nil {
		return false, fmt.Errorf("bootstrap admin: %w", err)
	}
	return created, nil
}
