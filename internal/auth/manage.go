package auth

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/errs"
)

// MaxTokenLifetime bounds a token's expiry; a token without one lives until
// revoked.
const MaxTokenLifetime = 366 * 24 * time.Hour

// CreateToken issues a token of role for p's user and returns it with its
// secret, which is shown once and stored only as a digest. A token never
// holds more than its creator: errs.Forbidden otherwise; errs.Invalid for a
// bad name, role or lifetime.
func (s *Service) CreateToken(ctx context.Context, p Principal, name string, role Role, ttl time.Duration, requestID string) (Token, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "" || len(name) > 100:
		return Token{}, "", errs.E(errs.Invalid, "a token needs a name of 1 to 100 characters saying what uses it")
	case !role.Valid():
		return Token{}, "", errs.E(errs.Invalid, "role %q: use one of admin, publisher, editor, viewer, decider, agent", role)
	case ttl < 0 || ttl > MaxTokenLifetime:
		return Token{}, "", errs.E(errs.Invalid, "a token's lifetime is at most %s", MaxTokenLifetime)
	case !p.Can(role):
		return Token{}, "", errs.E(errs.Forbidden, "%s may not issue a %s token: a token never holds more than its creator", p.RoleNames(), role)
	}
	secret := NewTokenSecret()
	id, err := uuid.NewV7()
	if err != nil {
		return Token{}, "", err
	}
	now := s.now().UTC()
	t := Token{ID: id.String(), UserID: p.UserID, User: p.User, Name: name, Role: role, Hint: Hint(secret), CreatedAt: now}
	if ttl > 0 {
		exp := now.Add(ttl)
		t.ExpiresAt = &exp
	}
	detail, _ := json.Marshal(map[string]any{"name": name, "role": role, "expires_at": t.ExpiresAt})
	e := audit.Entry{At: now, Actor: p.User, Action: "token.create", Target: "token:" + t.ID, RequestID: requestID, Detail: detail}
	if err := s.store.CreateToken(ctx, t, Digest(secret), e); err != nil {
		return Token{}, "", err
	}
	return t, secret, nil
}

// Tokens lists p's tokens, or everyone's for an admin.
func (s *Service) Tokens(ctx context.Context, p Principal) ([]Token, error) {
	return s.store.Tokens(ctx, s.scope(p))
}

// RevokeToken revokes token id: p's own, or anyone's for an admin. Every
// instance stops accepting it within a second. It returns errs.NotFound
// when p has no such active token.
func (s *Service) RevokeToken(ctx context.Context, p Principal, id, requestID string) error {
	now := s.now().UTC()
	e := audit.Entry{At: now, Actor: p.User, Action: "token.revoke", Target: "token:" + id, RequestID: requestID}
	return s.store.RevokeToken(ctx, id, s.scope(p), now, e)
}

func (s *Service) scope(p Principal) int64 {
	if p.Can(Admin) {
		return 0
	}
	return p.UserID
}

// CreateUser creates a user with roles and, for people, a password (service
// accounts have none and use tokens). It returns errs.Invalid for a bad
// name, role or password, errs.Conflict for a taken name.
func (s *Service) CreateUser(ctx context.Context, p Principal, name, password string, roles []Role, requestID string) (User, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return User{}, errs.E(errs.Invalid, "a user needs a name of 1 to 100 characters")
	}
	if len(roles) == 0 {
		return User{}, errs.E(errs.Invalid, "a user needs at least one role")
	}
	for _, r := range roles {
		if !r.Valid() {
			return User{}, errs.E(errs.Invalid, "role %q: use one of admin, publisher, editor, viewer, decider, agent", r)
		}
	}
	var hash string
	if password != "" {
		if len(password) < 12 || len(password) > MaxPasswordBytes {
			return User{}, errs.E(errs.Invalid, "a password has 12 to %d bytes", MaxPasswordBytes)
		}
		var err error
		if hash, err = s.hasher.Hash(ctx, password); err != nil {
			return User{}, err
		}
	}
	u := User{Name: name, Roles: roles, CreatedAt: s.now().UTC()}
	detail, _ := json.Marshal(map[string]any{"roles": roles, "password": password != ""})
	e := audit.Entry{At: u.CreatedAt, Actor: p.User, Action: "user.create", Target: "user:" + name, RequestID: requestID, Detail: detail}
	id, err := s.store.CreateUser(ctx, u, hash, e)
	if err != nil {
		return User{}, err
	}
	u.ID = id
	return u, nil
}

// Users lists every user.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.Users(ctx) }
