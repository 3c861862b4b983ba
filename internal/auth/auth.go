// Package auth keeps identities: users, their roles, API tokens and the
// principal a request acts as.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// Role is a permission set. A user may hold several; a token holds one.
type Role string

// The roles DESIGN.md fixes.
const (
	Admin     Role = "admin"     // everything, decisions included
	Publisher Role = "publisher" // publish, approve, activate; includes editor
	Editor    Role = "editor"    // edit the draft, validate, impact; includes viewer
	Viewer    Role = "viewer"    // read policies, revisions, decisions, audit
	Decider   Role = "decider"   // the decision API only
	Agent     Role = "agent"     // the OPA management endpoints only
)

// Roles lists every role.
var Roles = []Role{Admin, Publisher, Editor, Viewer, Decider, Agent}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, k := range Roles {
		if r == k {
			return true
		}
	}
	return false
}

// Includes reports whether holding r grants want: admin grants everything;
// publisher ⊇ editor ⊇ viewer; machine roles grant only themselves.
func (r Role) Includes(want Role) bool {
	if r == want || r == Admin {
		return true
	}
	switch r {
	case Publisher:
		return want == Editor || want == Viewer
	case Editor:
		return want == Viewer
	}
	return false
}

// Principal is who a request acts as: a token's one role, or a signed-in
// user's roles.
type Principal struct {
	UserID    int64
	User      string
	TokenID   string // empty for a session
	TokenName string
	Roles     []Role
}

// Can reports whether the principal holds any role that includes one of want.
func (p Principal) Can(want ...Role) bool {
	for _, have := range p.Roles {
		for _, w := range want {
			if have.Includes(w) {
				return true
			}
		}
	}
	return false
}

// RoleNames lists the principal's roles, for messages.
func (p Principal) RoleNames() string {
	names := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// Client is how the decision log names the caller: the token's id.
func (p Principal) Client() string {
	if p.TokenID != "" {
		return "token:" + p.TokenID
	}
	return "user:" + p.User
}

// TokenPrefix starts every generated API token so a leaked one is
// recognisable by secret scanners.
const TokenPrefix = "sgt_"

// NewTokenSecret returns a fresh API token: the prefix and 256 random bits.
func NewTokenSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Digest is the SHA-256 of a token secret, the only form it is stored in.
func Digest(secret string) []byte {
	d := sha256.Sum256([]byte(secret))
	return d[:]
}

// Hint is the part of a token shown in listings: enough to tell tokens
// apart, far too little to guess the rest.
func Hint(secret string) string {
	s := strings.TrimPrefix(secret, TokenPrefix)
	if len(s) > 6 {
		s = s[:6]
	}
	return TokenPrefix + s + "…"
}

// Token is a stored API token (never its secret).
type Token struct {
	ID         string
	UserID     int64
	User       string
	Name       string
	Role       Role
	Hint       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
	Disabled   bool // the owning user is disabled
}

// User is a person or a service account.
type User struct {
	ID        int64
	Name      string
	Roles     []Role
	CreatedAt time.Time
	Disabled  bool
}

// Usable reports whether the token may authenticate at now.
func (t Token) Usable(now time.Time) bool {
	return t.RevokedAt == nil && !t.Disabled && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}
