package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/localpg"
	"github.com/signalgate/signalgate/internal/pgtest"
)

// TestTokensAndUsers: tokens are issued once, never above their creator,
// revoked everywhere within a second, refused when expired; nothing secret
// is stored in clear.
func TestTokensAndUsers(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	a := startServerOn(t, db, nil)
	b := startServerOn(t, db, nil)
	decide := func(s *server, token string) int {
		resp, _ := s.do(t, "POST", "/v1/decisions", token, []byte(`{"input":`+benignInput+`}`))
		return resp.StatusCode
	}

	resp, body := a.do(t, "POST", "/admin/v1/tokens", a.token, []byte(`{"name":"ads ranking","role":"decider","expires_in_days":30}`))
	var created struct {
		ID, Token, Hint, Role string
		ExpiresAt             *time.Time `json:"expires_at"`
	}
	if resp.StatusCode != 201 || json.Unmarshal(body, &created) != nil || !strings.HasPrefix(created.Token, auth.TokenPrefix) || created.ExpiresAt == nil {
		t.Fatalf("create token: %d %s", resp.StatusCode, body)
	}
	if decide(b, created.Token) != 200 {
		t.Fatal("the new token does not decide on the other instance")
	}
	resp, body = a.do(t, "GET", "/admin/v1/tokens", a.token, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), created.ID) || strings.Contains(string(body), created.Token) {
		t.Errorf("list: %d %s", resp.StatusCode, body)
	}

	editor := addToken(t, db.Pool, auth.Editor)
	if resp, body := a.do(t, "POST", "/admin/v1/tokens", editor, []byte(`{"name":"x","role":"publisher"}`)); resp.StatusCode != 403 {
		t.Errorf("editor issuing a publisher token: %d %s, want 403", resp.StatusCode, body)
	}
	if resp, body := a.do(t, "POST", "/admin/v1/tokens", editor, []byte(`{"name":"ci","role":"viewer"}`)); resp.StatusCode != 201 {
		t.Errorf("editor issuing a viewer token: %d %s", resp.StatusCode, body)
	}
	if resp, _ := a.do(t, "DELETE", "/admin/v1/tokens/"+created.ID, editor, nil); resp.StatusCode != 404 {
		t.Errorf("editor revoking someone else's token: %d, want 404", resp.StatusCode)
	}
	for _, bad := range []string{`{"name":"","role":"viewer"}`, `{"name":"x","role":"root"}`, `{"name":"x","role":"viewer","expires_in_days":9999}`, `{"name":"x","role":"viewer","expires_in_days":202163959358895}`, `{"name":"x","role":"viewer","extra":1}`} {
		if resp, body := a.do(t, "POST", "/admin/v1/tokens", a.token, []byte(bad)); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}

	if resp, body := a.do(t, "DELETE", "/admin/v1/tokens/"+created.ID, a.token, nil); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	revoked := time.Now()
	for decide(b, created.Token) != 401 {
		if time.Since(revoked) > promiseWithRoom {
			t.Fatalf("the other instance still accepts a revoked token after %s", promiseWithRoom)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revocation took effect on the other instance after %s", time.Since(revoked))

	expired := addToken(t, db.Pool, auth.Decider)
	if _, err := db.Pool.Exec(context.Background(), `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE digest = $1`, auth.Digest(expired)); err != nil {
		t.Fatal(err)
	}
	if code := decide(a, expired); code != 401 {
		t.Errorf("expired token: %d, want 401", code)
	}

	password := "correct horse battery staple"
	resp, body = a.do(t, "POST", "/admin/v1/users", a.token, []byte(`{"name":"priya","password":"`+password+`","roles":["publisher","viewer"]}`))
	if resp.StatusCode != 201 {
		t.Fatalf("create user: %d %s", resp.StatusCode, body)
	}
	if resp, _ := a.do(t, "POST", "/admin/v1/users", a.token, []byte(`{"name":"priya","roles":["viewer"]}`)); resp.StatusCode != 409 {
		t.Errorf("duplicate user: %d, want 409", resp.StatusCode)
	}
	resp, body = a.do(t, "GET", "/admin/v1/users", a.token, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"priya","roles":["publisher","viewer"]`) {
		t.Errorf("users: %d %s", resp.StatusCode, body)
	}
	resp, body = a.do(t, "GET", "/admin/v1/audit?action=token.revoke", a.token, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "token:"+created.ID) {
		t.Errorf("audit of the revocation: %d %s", resp.StatusCode, body)
	}

	dump, err := exec.Command(localpgBin(t, "pg_dump"), "--data-only", db.URL).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	for _, secret := range []string{created.Token, testToken, password, editor} {
		if strings.Contains(string(dump), secret) {
			t.Errorf("the database holds a secret in clear: %.12s…", secret)
		}
	}
}

func localpgBin(t *testing.T, name string) string {
	t.Helper()
	dir, err := localpg.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir + "/" + name
}
