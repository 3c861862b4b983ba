package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/errs"
)

// Store is what the auth service needs from storage.
type Store interface {
	// TokenByDigest returns the token with this digest, or an errs.NotFound error.
	TokenByDigest(ctx context.Context, digest []byte) (Token, error)
	// Bootstrap creates user name with role admin, the given password hash and
	// an admin token with this digest and hint, unless a user exists already.
	// It reports whether it created them.
	Bootstrap(ctx context.Context, name, passwordHash string, tokenDigest []byte, tokenHint string) (bool, error)
	// CreateToken stores t with its digest and records e.
	CreateToken(ctx context.Context, t Token, digest []byte, e audit.Entry) error
	// Tokens lists tokens of userID, or of everyone when userID is 0.
	Tokens(ctx context.Context, userID int64) ([]Token, error)
	// RevokeToken revokes token id of userID (anyone's when 0) and records
	// e; errs.NotFound when there is no such active token.
	RevokeToken(ctx context.Context, id string, userID int64, at time.Time, e audit.Entry) error
	// CreateUser stores u and records e; errs.Conflict when the name is taken.
	CreateUser(ctx context.Context, u User, passwordHash string, e audit.Entry) (int64, error)
	// Users lists every user with their roles.
	Users(ctx context.Context) ([]User, error)
	// TouchTokens sets the last use of each token to the given time.
	TouchTokens(ctx context.Context, lastUse map[string]time.Time) error
}

// cacheTTL bounds how long a token lookup is trusted: a revoked token stops
// working within this time on every instance, and a busy instance asks the
// database about each token at most once per period.
const cacheTTL = 500 * time.Millisecond

const maxCached = 10000

// outageGrace is how long a token the database confirmed stays usable while
// the database cannot be asked.
const outageGrace = 15 * time.Minute

type cached struct {
	p        Principal
	err      error
	expires  time.Time
	verified time.Time  // when the database last confirmed the verdict
	tokenEnd *time.Time // the token's own expiry, if any
}

// Service authenticates requests and bootstraps the first admin.
type Service struct {
	store  Store
	hasher *Hasher
	now    func() time.Time
	cache  sync.Map // string(digest) → cached
	size   atomic.Int64
	// used holds each token's last use not yet written: the decision path
	// never writes to the database, FlushLastUse does, once a minute.
	used sync.Map // token id → time.Time
}

// lastUseEvery is how precisely a token's last use is kept.
const lastUseEvery = time.Minute

// NewService returns a Service over store; now is the clock.
func NewService(store Store, hasher *Hasher, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, hasher: hasher, now: now}
}

var errBadToken = errs.E(errs.Unauthenticated, "invalid, expired or revoked token")

// AuthenticateToken returns the principal of a bearer token, or an
// errs.Unauthenticated error.
func (s *Service) AuthenticateToken(ctx context.Context, secret string) (Principal, error) {
	if secret == "" || len(secret) > 512 {
		return Principal{}, errBadToken
	}
	digest := Digest(secret)
	now := s.now()
	if v, ok := s.cache.Load(string(digest)); ok {
		c := v.(cached)
		if now.Before(c.expires) {
			s.noteUse(c.p.TokenID, now)
			return c.p, c.err
		}
	}
	p, tokenEnd, err := s.lookup(ctx, digest, now)
	if err != nil && errs.CodeOf(err) != errs.Unauthenticated {
		// A database failure is not a verdict. A token verified shortly
		// before keeps working through the outage, so decisions can still
		// be made (and spooled); it cannot have been revoked meanwhile,
		// since revoking writes to the same database, but it may expire.
		if v, ok := s.cache.Load(string(digest)); ok {
			if c := v.(cached); c.err == nil && now.Before(c.verified.Add(outageGrace)) && (c.tokenEnd == nil || now.Before(*c.tokenEnd)) {
				c.expires = now.Add(cacheTTL) // ask the database again one period later
				s.cache.Store(string(digest), c)
				s.noteUse(c.p.TokenID, now)
				return c.p, nil
			}
		}
		return Principal{}, err
	}
	if s.size.Add(1) > maxCached {
		s.cache.Clear()
		s.size.Store(1)
	}
	s.cache.Store(string(digest), cached{p: p, err: err, expires: now.Add(cacheTTL), verified: now, tokenEnd: tokenEnd})
	s.noteUse(p.TokenID, now)
	return p, err
}

func (s *Service) noteUse(tokenID string, now time.Time) {
	if tokenID == "" {
		return
	}
	if v, ok := s.used.Load(tokenID); ok && now.Sub(v.(time.Time)) < lastUseEvery {
		return
	}
	s.used.Store(tokenID, now)
}

// FlushLastUse writes the tokens' last uses noted since the previous flush.
func (s *Service) FlushLastUse(ctx context.Context) error {
	pending := map[string]time.Time{}
	s.used.Range(func(k, v any) bool {
		pending[k.(string)] = v.(time.Time)
		return true
	})
	if len(pending) == 0 {
		return nil
	}
	if err := s.store.TouchTokens(ctx, pending); err != nil {
		return fmt.Errorf("write tokens' last use: %w", err)
	}
	for id, at := range pending {
		s.used.CompareAndDelete(id, at)
	}
	return nil
}

// lookup returns the principal of the token with digest, and the token's
// expiry (nil: none).
func (s *Service) lookup(ctx context.Context, digest []byte, now time.Time) (Principal, *time.Time, error) {
	t, err := s.store.TokenByDigest(ctx, digest)
	if errs.CodeOf(err) == errs.NotFound {
		return Principal{}, nil, errBadToken
	}
	if err != nil {
		return Principal{}, nil, fmt.Errorf("look up token: %w", err)
	}
	if !t.Usable(now) {
		return Principal{}, nil, errBadToken
	}
	return Principal{UserID: t.UserID, User: t.User, TokenID: t.ID, TokenName: t.Name, Roles: []Role{t.Role}}, t.ExpiresAt, nil
}

// Bootstrapped is what Bootstrap created.
type Bootstrapped struct {
	Created  bool
	User     string
	Token    string // the secret, shown once
	Password string
}

// BootstrapUser is the first admin's name.
const BootstrapUser = "admin"

// Bootstrap creates the user admin with role admin, token and password when
// no user exists yet. Empty token or password are generated. It returns
// errs.Invalid for a token too short to be a secret.
func (s *Service) Bootstrap(ctx context.Context, token, password string) (Bootstrapped, error) {
	if token == "" {
		token = NewTokenSecret()
	}
	if len(token) < 16 {
		return Bootstrapped{}, errs.E(errs.Invalid, "the bootstrap token must be at least 16 characters")
	}
	if password == "" {
		password = NewTokenSecret()[len(TokenPrefix):][:20]
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return Bootstrapped{}, fmt.Errorf("hash bootstrap password: %w", err)
	}
	created, err := s.store.Bootstrap(ctx, BootstrapUser, hash, Digest(token), Hint(token))
	if err != nil {
		return Bootstrapped{}, fmt.Errorf("bootstrap admin: %w", err)
	}
	if !created {
		return Bootstrapped{}, nil
	}
	return Bootstrapped{Created: true, User: BootstrapUser, Token: token, Password: password}, nil
}

// IsUnauthenticated reports whether err means the credentials were refused.
func IsUnauthenticated(err error) bool {
	var e *errs.Error
	return errors.As(err, &e) && e.Code == errs.Unauthenticated
}
