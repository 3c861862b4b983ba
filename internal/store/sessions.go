package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/errs"
)

var _ auth.SessionStore = (*AuthStore)(nil)

// Digests travel as hex and are decoded in SQL: gorm would expand a []byte
// argument of raw SQL into a list of values.

// UserByName returns the user with its roles and password hash, or
// errs.NotFound.
func (s *AuthStore) UserByName(ctx context.Context, name string) (auth.User, string, error) {
	var row struct {
		ID           int64
		Name         string
		PasswordHash *string
		CreatedAt    time.Time
		DisabledAt   *time.Time
		Roles        string
	}
	err := s.db.gorm.WithContext(ctx).Raw(`
		SELECT u.id, u.name, u.password_hash, u.created_at, u.disabled_at,
		       coalesce(string_agg(r.role, ',' ORDER BY r.role), '') AS roles
		FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
		WHERE u.name = ? GROUP BY u.id`, name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return auth.User{}, "", errs.E(errs.NotFound, "no such user")
	}
	if err != nil {
		return auth.User{}, "", fmt.Errorf("read user: %w", err)
	}
	u := auth.User{ID: row.ID, Name: row.Name, CreatedAt: row.CreatedAt, Disabled: row.DisabledAt != nil, Roles: splitRoles(row.Roles)}
	hash := ""
	if row.PasswordHash != nil {
		hash = *row.PasswordHash
	}
	return u, hash, nil
}

func splitRoles(s string) []auth.Role {
	var out []auth.Role
	for _, r := range strings.Split(s, ",") {
		if r != "" {
			out = append(out, auth.Role(r))
		}
	}
	return out
}

// CreateSession stores a session and records e.
func (s *AuthStore) CreateSession(ctx context.Context, digest []byte, userID int64, now, expires time.Time, e audit.Entry) error {
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO sessions (id_digest, user_id, created_at, last_seen_at, expires_at) VALUES (decode(?, 'hex'), ?, ?, ?, ?)`,
			hex.EncodeToString(digest), userID, now, now, expires).Error
		if err != nil {
			return fmt.Errorf("store session: %w", err)
		}
		return appendAudit(tx, e)
	})
}

// seenEvery is how often a session's last use is written: idle expiry is
// counted in minutes, so a write per request would buy nothing.
const seenEvery = time.Minute

// SessionPrincipal returns the principal of a live session and marks it seen.
func (s *AuthStore) SessionPrincipal(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (auth.Principal, error) {
	var row struct {
		UserID     int64
		Name       string
		LastSeenAt time.Time
		Roles      string
	}
	err := s.db.gorm.WithContext(ctx).Raw(`
		SELECT s.user_id, u.name, s.last_seen_at, coalesce(string_agg(r.role, ',' ORDER BY r.role), '') AS roles
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN user_roles r ON r.user_id = u.id
		WHERE s.id_digest = decode(?, 'hex') AND s.expires_at > ? AND s.last_seen_at > ? AND u.disabled_at IS NULL
		GROUP BY s.user_id, u.name, s.last_seen_at`, hex.EncodeToString(digest), now, now.Add(-idle)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return auth.Principal{}, errs.E(errs.NotFound, "no live session")
	}
	if err != nil {
		return auth.Principal{}, fmt.Errorf("read session: %w", err)
	}
	if now.Sub(row.LastSeenAt) > seenEvery {
		if err := s.db.gorm.WithContext(ctx).Exec(`UPDATE sessions SET last_seen_at = ? WHERE id_digest = decode(?, 'hex')`, now, hex.EncodeToString(digest)).Error; err != nil {
			return auth.Principal{}, fmt.Errorf("mark session seen: %w", err)
		}
	}
	return auth.Principal{UserID: row.UserID, User: row.Name, Roles: splitRoles(row.Roles)}, nil
}

// DeleteSession ends a session and records e.
func (s *AuthStore) DeleteSession(ctx context.Context, digest []byte, e audit.Entry) error {
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM sessions WHERE id_digest = decode(?, 'hex')`, hex.EncodeToString(digest)).Error; err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return appendAudit(tx, e)
	})
}

// LoginFailures returns key's failures in the window ending at now.
func (s *AuthStore) LoginFailures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var n int
	err := s.db.gorm.WithContext(ctx).Raw(`SELECT coalesce((SELECT failures FROM login_failures WHERE key = ? AND window_start > ?), 0)`,
		key, now.Add(-window)).Scan(&n).Error
	if err != nil {
		return 0, fmt.Errorf("read login failures: %w", err)
	}
	return n, nil
}

// RecordLoginFailure counts a failure for each key, starting a new window
// where the old one ended, and records e.
func (s *AuthStore) RecordLoginFailure(ctx context.Context, keys []string, now time.Time, window time.Duration, e audit.Entry) error {
	return s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range keys {
			err := tx.Exec(`INSERT INTO login_failures (key, failures, window_start) VALUES (?, 1, ?)
				ON CONFLICT (key) DO UPDATE SET
				  failures = CASE WHEN login_failures.window_start > ? THEN login_failures.failures + 1 ELSE 1 END,
				  window_start = CASE WHEN login_failures.window_start > ? THEN login_failures.window_start ELSE EXCLUDED.window_start END`,
				k, now, now.Add(-window), now.Add(-window)).Error
			if err != nil {
				return fmt.Errorf("count login failure: %w", err)
			}
		}
		return appendAudit(tx, e)
	})
}

// ClearLoginFailures forgets key's failures.
func (s *AuthStore) ClearLoginFailures(ctx context.Context, key string) error {
	if err := s.db.gorm.WithContext(ctx).Exec(`DELETE FROM login_failures WHERE key = ?`, key).Error; err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// UpsertExternalUser creates the user if needed and gives it exactly roles:
// the issuer's groups are the truth for single sign-on users.
func (s *AuthStore) UpsertExternalUser(ctx context.Context, name string, roles []auth.Role, at time.Time) (int64, error) {
	var id int64
	err := s.db.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Raw(`INSERT INTO users (name, created_at) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`, name, at).Scan(&id).Error
		if err != nil {
			return fmt.Errorf("store user: %w", err)
		}
		if err := tx.Exec(`DELETE FROM user_roles WHERE user_id = ?`, id).Error; err != nil {
			return err
		}
		for _, r := range roles {
			if err := tx.Create(&userRoleRow{UserID: id, Role: string(r), GrantedAt: at}).Error; err != nil {
				return fmt.Errorf("grant role: %w", err)
			}
		}
		return nil
	})
	return id, err
}
