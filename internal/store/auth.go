package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/audit"
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

// CreateToken stores a token for user userID and records e, in one
// transaction. The secret itself is never stored: only its digest.
func (s *AuthStore) CreateToken(ctx context.Context, t auth.Token, digest []byte, e audit.Entry) error {
	id, err := uuid.Parse(t.ID)
	if err != nil {
		return fmt.Errorf("token id: %w", err)
	}
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := tokenRow{ID: id, UserID: t.UserID, Name: t.Name, Role: string(t.Role), Digest: digest,
			Hint: t.Hint, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("store token: %w", err)
		}
		return appendAudit(tx, e)
	})
}

// Tokens lists tokens, newest first: those of userID, or all when userID is 0.
func (s *AuthStore) Tokens(ctx context.Context, userID int64) ([]auth.Token, error) {
	q := s.db.gorm.WithContext(ctx).Table("api_tokens t").
		Select("t.id, t.user_id, u.name AS user_name, t.name, t.role, t.hint, t.created_at, t.expires_at, t.last_used_at, t.revoked_at").
		Joins("JOIN users u ON u.id = t.user_id").Order("t.created_at DESC")
	if userID != 0 {
		q = q.Where("t.user_id = ?", userID)
	}
	var rows []struct {
		ID         uuid.UUID
		UserID     int64
		UserName   string
		Name       string
		Role       string
		Hint       string
		CreatedAt  time.Time
		ExpiresAt  *time.Time
		LastUsedAt *time.Time
		RevokedAt  *time.Time
	}
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	out := make([]auth.Token, len(rows))
	for i, r := range rows {
		out[i] = auth.Token{ID: r.ID.String(), UserID: r.UserID, User: r.UserName, Name: r.Name, Role: auth.Role(r.Role),
			Hint: r.Hint, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt}
	}
	return out, nil
}

// RevokeToken marks token id revoked, if it belongs to userID (any user when
// userID is 0), and records e. It returns an errs.NotFound error otherwise.
func (s *AuthStore) RevokeToken(ctx context.Context, id string, userID int64, at time.Time, e audit.Entry) error {
	uid, err := uuid.Parse(id)
	if err != nil {
		return errs.E(errs.NotFound, "no token %q", id)
	}
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&tokenRow{}).Where("id = ? AND revoked_at IS NULL", uid)
		if userID != 0 {
			q = q.Where("user_id = ?", userID)
		}
		res := q.Update("revoked_at", at)
		if res.Error != nil {
			return fmt.Errorf("revoke token: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errs.E(errs.NotFound, "no active token %s of yours", id)
		}
		return appendAudit(tx, e)
	})
}

// CreateUser stores a user with roles and records e. It returns an
// errs.Conflict error when the name is taken.
func (s *AuthStore) CreateUser(ctx context.Context, u auth.User, passwordHash string, e audit.Entry) (int64, error) {
	var id int64
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := userRow{Name: u.Name, CreatedAt: u.CreatedAt}
		if passwordHash != "" {
			row.PasswordHash = &passwordHash
		}
		if err := tx.Create(&row).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return errs.E(errs.Conflict, "a user named %q exists already", u.Name)
			}
			return fmt.Errorf("store user: %w", err)
		}
		for _, r := range u.Roles {
			if err := tx.Create(&userRoleRow{UserID: row.ID, Role: string(r), GrantedAt: u.CreatedAt}).Error; err != nil {
				return fmt.Errorf("grant role: %w", err)
			}
		}
		id = row.ID
		return appendAudit(tx, e)
	})
	return id, err
}

// Users lists users with their roles.
func (s *AuthStore) Users(ctx context.Context) ([]auth.User, error) {
	var rows []struct {
		ID         int64
		Name       string
		CreatedAt  time.Time
		DisabledAt *time.Time
		Roles      string
	}
	err := s.db.gorm.WithContext(ctx).Raw(`
		SELECT u.id, u.name, u.created_at, u.disabled_at, coalesce(string_agg(r.role, ',' ORDER BY r.role), '') AS roles
		FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
		GROUP BY u.id ORDER BY u.id`).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]auth.User, len(rows))
	for i, r := range rows {
		out[i] = auth.User{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt, Disabled: r.DisabledAt != nil, Roles: splitRoles(r.Roles)}
	}
	return out, nil
}

// TouchTokens sets the last use of each token, in one statement.
func (s *AuthStore) TouchTokens(ctx context.Context, lastUse map[string]time.Time) error {
	ids := make([]uuid.UUID, 0, len(lastUse))
	ats := make([]time.Time, 0, len(lastUse))
	for id, at := range lastUse {
		u, err := uuid.Parse(id)
		if err != nil {
			continue
		}
		ids = append(ids, u)
		ats = append(ats, at)
	}
	_, err := s.db.Pool.Exec(ctx, `UPDATE api_tokens t SET last_used_at = u.at
		FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at)
		WHERE t.id = u.id AND (t.last_used_at IS NULL OR t.last_used_at < u.at)`, ids, ats)
	if err != nil {
		return fmt.Errorf("touch tokens: %w", err)
	}
	return nil
}
