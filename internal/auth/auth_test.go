package auth_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestRoleInclusions(t *testing.T) {
	t.Parallel()
	grants := map[auth.Role][]auth.Role{
		auth.Admin:     {auth.Admin, auth.Publisher, auth.Editor, auth.Viewer, auth.Decider, auth.Agent},
		auth.Publisher: {auth.Publisher, auth.Editor, auth.Viewer},
		auth.Editor:    {auth.Editor, auth.Viewer},
		auth.Viewer:    {auth.Viewer},
		auth.Decider:   {auth.Decider},
		auth.Agent:     {auth.Agent},
	}
	for holder, granted := range grants {
		for _, want := range auth.Roles {
			expect := false
			for _, g := range granted {
				expect = expect || g == want
			}
			if got := holder.Includes(want); got != expect {
				t.Errorf("%s includes %s = %v, want %v", holder, want, got, expect)
			}
		}
	}
	if auth.Role("root").Valid() || !auth.Decider.Valid() {
		t.Error("role validity is wrong")
	}
}

func TestTokenSecrets(t *testing.T) {
	t.Parallel()
	a, b := auth.NewTokenSecret(), auth.NewTokenSecret()
	if a == b || !strings.HasPrefix(a, auth.TokenPrefix) || len(a) != len(auth.TokenPrefix)+43 {
		t.Errorf("tokens %q %q: want distinct, prefixed, 256 bits", a, b)
	}
	if len(auth.Digest(a)) != 32 || string(auth.Digest(a)) == string(auth.Digest(b)) {
		t.Error("digests must be 32 distinct bytes")
	}
	if h := auth.Hint(a); strings.Contains(h, a[10:]) {
		t.Errorf("hint %q reveals the secret", h)
	}
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	h := auth.NewHasher(1)
	hash, err := h.Hash(context.Background(), "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q: want argon2id with m=19 MiB, t=2, p=1", hash)
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		ok, err := h.Verify(context.Background(), hash, pw)
		if err != nil || ok != want {
			t.Errorf("verify %q = %v, %v; want %v", pw, ok, err, want)
		}
	}
	if _, err := h.Hash(context.Background(), strings.Repeat("x", auth.MaxPasswordBytes+1)); err == nil {
		t.Error("an over-long password was hashed")
	}
}

// newService returns a Service over a fresh database, and the clock it
// reads, which the test moves.
func newService(t *testing.T) (*auth.Service, *pgtest.Database, *atomic.Int64) {
	t.Helper()
	db := pgtest.New(t)
	s, err := store.FromPool(db.Pool, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := new(atomic.Int64)
	now.Store(time.Now().UnixNano())
	return auth.NewService(s.Auth(), auth.NewHasher(1), func() time.Time { return time.Unix(0, now.Load()) }), db, now
}

// TestBootstrapAndRevocation: the bootstrap token authenticates as admin;
// a second bootstrap does nothing; a revoked token stops working within the
// cache period.
func TestBootstrapAndRevocation(t *testing.T) {
	t.Parallel()
	svc, db, now := newService(t)
	ctx := context.Background()
	b, err := svc.Bootstrap(ctx, "", "")
	if err != nil || !b.Created || !strings.HasPrefix(b.Token, auth.TokenPrefix) || b.Password == "" {
		t.Fatalf("bootstrap = %+v, %v", b, err)
	}
	if again, err := svc.Bootstrap(ctx, "", ""); err != nil || again.Created {
		t.Fatalf("second bootstrap = %+v, %v; want nothing created", again, err)
	}
	p, err := svc.AuthenticateToken(ctx, b.Token)
	if err != nil || !p.Can(auth.Admin) || p.User != "admin" || p.TokenID == "" {
		t.Fatalf("principal = %+v, %v", p, err)
	}
	var lastUse *time.Time
	_ = db.Pool.QueryRow(ctx, `SELECT last_used_at FROM api_tokens`).Scan(&lastUse)
	if lastUse != nil {
		t.Error("authentication wrote the last use on the request path")
	}
	if err := svc.FlushLastUse(ctx); err != nil {
		t.Fatal(err)
	}
	_ = db.Pool.QueryRow(ctx, `SELECT last_used_at FROM api_tokens`).Scan(&lastUse)
	if lastUse == nil {
		t.Error("FlushLastUse did not record the token's use")
	}
	var stored int
	_ = db.Pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE digest = $1`, auth.Digest(b.Token)).Scan(&stored)
	var plain int
	_ = db.Pool.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE hint = $1 OR encode(digest, 'escape') = $1`, b.Token).Scan(&plain)
	if stored != 1 || plain != 0 {
		t.Errorf("token stored by digest %d times, in clear %d times", stored, plain)
	}
	if _, err := svc.AuthenticateToken(ctx, b.Token+"x"); !auth.IsUnauthenticated(err) {
		t.Errorf("a wrong token: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = now()`); err != nil {
		t.Fatal(err)
	}
	now.Add(int64(1100 * time.Millisecond))
	if _, err := svc.AuthenticateToken(ctx, b.Token); !auth.IsUnauthenticated(err) {
		t.Errorf("a revoked token still authenticates after the cache period: %v", err)
	}
}

// TestOutageGraceEndsWithTheToken: while the database cannot be asked, a
// token it confirmed keeps working for the grace period, but not past its
// own expiry.
func TestOutageGraceEndsWithTheToken(t *testing.T) {
	t.Parallel()
	svc, db, now := newService(t)
	ctx := context.Background()
	b, err := svc.Bootstrap(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svc.AuthenticateToken(ctx, b.Token)
	if err != nil {
		t.Fatal(err)
	}
	_, short, err := svc.CreateToken(ctx, admin, "short-lived", auth.Decider, 5*time.Minute, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateToken(ctx, short); err != nil {
		t.Fatalf("a fresh token: %v", err)
	}
	db.Pool.Close() // the database is gone
	now.Add(int64(4 * time.Minute))
	if _, err := svc.AuthenticateToken(ctx, short); err != nil {
		t.Errorf("within the grace period and the token's life: %v", err)
	}
	now.Add(int64(2 * time.Minute))
	if _, err := svc.AuthenticateToken(ctx, short); err == nil {
		t.Error("the token outlived its expiry through the outage")
	}
}
