package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/errs"
)

// SessionCookie names the web UI's session cookie.
const SessionCookie = "sg_session"

// Session lifetimes: idle, and absolute from sign-in.
const (
	SessionIdle     = 30 * time.Minute
	SessionAbsolute = 12 * time.Hour
)

// Login throttling: failures per account and per client address within a
// window, past which sign-in is refused until the window ends.
const (
	loginWindow      = 15 * time.Minute
	maxUserFailures  = 5
	maxAddrFailures  = 20
	maxSessionSecret = 128
)

// SessionStore is what sessions and sign-in need from storage.
type SessionStore interface {
	// UserByName returns the user and its password hash ("" for service
	// accounts), or errs.NotFound.
	UserByName(ctx context.Context, name string) (User, string, error)
	// CreateSession stores a session by the digest of its id and records e.
	CreateSession(ctx context.Context, digest []byte, userID int64, now, expires time.Time, e audit.Entry) error
	// SessionPrincipal returns the principal of a live session (not expired,
	// seen within idle), marking it seen; errs.NotFound otherwise.
	SessionPrincipal(ctx context.Context, digest []byte, now time.Time, idle time.Duration) (Principal, error)
	// DeleteSession ends a session and records e.
	DeleteSession(ctx context.Context, digest []byte, e audit.Entry) error
	// LoginFailures returns the failures of key within the window ending now.
	LoginFailures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error)
	// RecordLoginFailure counts a failure for each key and records e.
	RecordLoginFailure(ctx context.Context, keys []string, now time.Time, window time.Duration, e audit.Entry) error
	// ClearLoginFailures forgets key's failures.
	ClearLoginFailures(ctx context.Context, key string) error
	// UpsertExternalUser creates or updates a user signed in by an external
	// issuer, giving it exactly roles, and returns its id.
	UpsertExternalUser(ctx context.Context, name string, roles []Role, at time.Time) (int64, error)
}

// Sessions signs people in with a password and authenticates their cookie.
type Sessions struct {
	store  SessionStore
	hasher *Hasher
	now    func() time.Time

	dummyOnce sync.Once
	dummy     string
}

// NewSessions returns a Sessions over store.
func NewSessions(store SessionStore, hasher *Hasher, now func() time.Time) *Sessions {
	if now == nil {
		now = time.Now
	}
	return &Sessions{store: store, hasher: hasher, now: now}
}

var errBadLogin = errs.E(errs.Unauthenticated, "invalid user name or password")

// Login checks name and password and opens a session, returning its secret
// id (a fresh one at every sign-in) and the principal. An unknown user and a
// wrong password get the same error after the same work; too many failures
// for the account or the address get errs.TooManyRequests.
func (s *Sessions) Login(ctx context.Context, name, password, addr, requestID string) (string, Principal, error) {
	now := s.now().UTC()
	userKey, addrKey := "user:"+name, "addr:"+addr
	for key, limit := range map[string]int{userKey: maxUserFailures, addrKey: maxAddrFailures} {
		n, err := s.store.LoginFailures(ctx, key, now, loginWindow)
		if err != nil {
			return "", Principal{}, err
		}
		if n >= limit {
			return "", Principal{}, errs.E(errs.TooManyRequests, "too many failed sign-ins: try again in %s", loginWindow)
		}
	}
	u, hash, err := s.store.UserByName(ctx, name)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return "", Principal{}, err
	}
	if hash == "" || u.Disabled {
		hash = s.dummyHash(ctx) // the same work as a real check, so timing tells nothing
	}
	ok, verr := s.hasher.Verify(ctx, hash, password)
	if verr != nil || !ok || err != nil || u.Disabled || u.ID == 0 {
		e := audit.Entry{At: now, Actor: name, Action: "login.fail", Target: "user:" + name, RequestID: requestID,
			Detail: []byte(fmt.Sprintf(`{"addr":%q}`, addr))}
		if err := s.store.RecordLoginFailure(ctx, []string{userKey, addrKey}, now, loginWindow, e); err != nil {
			return "", Principal{}, err
		}
		return "", Principal{}, errBadLogin
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	e := audit.Entry{At: now, Actor: name, Action: "login", Target: "user:" + name, RequestID: requestID,
		Detail: []byte(fmt.Sprintf(`{"addr":%q}`, addr))}
	if err := s.store.CreateSession(ctx, Digest(secret), u.ID, now, now.Add(SessionAbsolute), e); err != nil {
		return "", Principal{}, err
	}
	if err := s.store.ClearLoginFailures(ctx, userKey); err != nil {
		return "", Principal{}, err
	}
	return secret, Principal{UserID: u.ID, User: u.Name, Roles: u.Roles}, nil
}

func (s *Sessions) dummyHash(ctx context.Context) string {
	s.dummyOnce.Do(func() {
		s.dummy, _ = s.hasher.Hash(ctx, "no user has this password")
	})
	return s.dummy
}

// Authenticate returns the principal of a session cookie's value, or an
// errs.Unauthenticated error.
func (s *Sessions) Authenticate(ctx context.Context, secret string) (Principal, error) {
	if secret == "" || len(secret) > maxSessionSecret {
		return Principal{}, errs.E(errs.Unauthenticated, "no valid session: sign in again")
	}
	p, err := s.store.SessionPrincipal(ctx, Digest(secret), s.now().UTC(), SessionIdle)
	if errs.CodeOf(err) == errs.NotFound {
		return Principal{}, errs.E(errs.Unauthenticated, "the session ended: sign in again")
	}
	return p, err
}

// Logout ends the session.
func (s *Sessions) Logout(ctx context.Context, secret string, p Principal, requestID string) error {
	e := audit.Entry{At: s.now().UTC(), Actor: p.User, Action: "logout", Target: "user:" + p.User, RequestID: requestID}
	return s.store.DeleteSession(ctx, Digest(secret), e)
}

// LoginExternal opens a session for a user an external issuer vouched for
// (single sign-on), with the roles its groups map to. It returns
// errs.Forbidden when they map to none.
func (s *Sessions) LoginExternal(ctx context.Context, name string, roles []Role, addr, requestID string) (string, Principal, error) {
	if len(roles) == 0 {
		return "", Principal{}, errs.E(errs.Forbidden, "signed in as %s, but none of your groups maps to a signalgate role: ask an admin", name)
	}
	now := s.now().UTC()
	id, err := s.store.UpsertExternalUser(ctx, name, roles, now)
	if err != nil {
		return "", Principal{}, err
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	e := audit.Entry{At: now, Actor: name, Action: "login.sso", Target: "user:" + name, RequestID: requestID,
		Detail: []byte(fmt.Sprintf(`{"addr":%q,"roles":%q}`, addr, fmt.Sprint(roles)))}
	if err := s.store.CreateSession(ctx, Digest(secret), id, now, now.Add(SessionAbsolute), e); err != nil {
		return "", Principal{}, err
	}
	return secret, Principal{UserID: id, User: name, Roles: roles}, nil
}
