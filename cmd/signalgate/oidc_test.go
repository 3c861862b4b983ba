package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
)

// mockIssuer is a minimal OpenID Connect issuer: discovery, keys, and a
// token endpoint that signs an ID token for whoever the test says.
type mockIssuer struct {
	srv    *httptest.Server
	key    *rsa.PrivateKey
	mu     sync.Mutex
	nonce  string
	groups []string
	badSig bool
}

func newMockIssuer(t *testing.T) *mockIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	m := &mockIssuer{key: key}
	mux := http.NewServeMux()
	m.srv = httptest.NewServer(mux)
	t.Cleanup(m.srv.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{
			"issuer": m.srv.URL, "authorization_endpoint": m.srv.URL + "/authorize",
			"token_endpoint": m.srv.URL + "/token", "jwks_uri": m.srv.URL + "/jwks",
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("code") != "good-code" || r.FormValue("client_secret") != "s3cret" || r.FormValue("code_verifier") == "" {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]string{"id_token": m.sign(map[string]any{
			"iss": m.srv.URL, "aud": "signalgate", "sub": "u-123", "preferred_username": "dana",
			"groups": m.groups, "nonce": m.nonce, "exp": time.Now().Add(time.Minute).Unix(), "iat": time.Now().Unix(),
		})})
	})
	return m
}

func (m *mockIssuer) sign(claims map[string]any) string {
	seg := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	signing := seg(map[string]string{"alg": "RS256", "kid": "k1", "typ": "JWT"}) + "." + seg(claims)
	digest := sha256.Sum256([]byte(signing))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, m.key, crypto.SHA256, digest[:])
	if m.badSig {
		sig[0] ^= 0xff
	}
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// TestSingleSignOn walks the authorization-code flow against a mock issuer:
// groups map to roles, a forged signature or a foreign state is refused,
// and a user without a mapped group gets no session.
func TestSingleSignOn(t *testing.T) {
	t.Parallel()
	idp := newMockIssuer(t)
	s := startServer(t, map[string]string{
		"SIGNALGATE_OIDC_ISSUER": idp.srv.URL, "SIGNALGATE_OIDC_CLIENT_ID": "signalgate",
		"SIGNALGATE_OIDC_CLIENT_SECRET": "s3cret", "SIGNALGATE_OIDC_REDIRECT_URL": "http://127.0.0.1/admin/v1/login/oidc/callback",
		"SIGNALGATE_OIDC_ROLES": "policy-team=publisher,auditors=viewer",
	})
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	signIn := func(groups []string, badSig bool, state string) (*http.Response, string) {
		t.Helper()
		resp, err := noRedirect.Get(s.url + "/admin/v1/login/oidc")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != 302 || !strings.HasPrefix(loc.String(), idp.srv.URL+"/authorize") || loc.Query().Get("code_challenge_method") != "S256" {
			t.Fatalf("start: %d %s", resp.StatusCode, loc)
		}
		idp.mu.Lock()
		idp.nonce, idp.groups, idp.badSig = loc.Query().Get("nonce"), groups, badSig
		idp.mu.Unlock()
		if state == "" {
			state = loc.Query().Get("state")
		}
		req, _ := http.NewRequest("GET", s.url+"/admin/v1/login/oidc/callback?code=good-code&state="+url.QueryEscape(state), nil)
		for _, c := range resp.Cookies() {
			req.AddCookie(c)
		}
		cb, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		cb.Body.Close()
		for _, c := range cb.Cookies() {
			if c.Name == auth.SessionCookie && c.Value != "" {
				return cb, c.Value
			}
		}
		return cb, ""
	}

	resp, session := signIn([]string{"policy-team", "other"}, false, "")
	if resp.StatusCode != 302 || session == "" {
		t.Fatalf("sign-in: %d, session %q", resp.StatusCode, session)
	}
	if code := s.withCookie(t, "GET", "/admin/v1/draft", session, ""); code != 200 {
		t.Errorf("draft as the signed-in publisher: %d", code)
	}
	if code := s.withCookie(t, "GET", "/admin/v1/users", session, ""); code != 403 {
		t.Errorf("users as a publisher: %d, want 403", code)
	}
	if resp, session := signIn([]string{"policy-team"}, true, ""); resp.StatusCode != 401 || session != "" {
		t.Errorf("forged signature: %d, session %q", resp.StatusCode, session)
	}
	if resp, session := signIn([]string{"policy-team"}, false, "not-the-state"); resp.StatusCode != 401 || session != "" {
		t.Errorf("foreign state: %d, session %q", resp.StatusCode, session)
	}
	if resp, session := signIn([]string{"marketing"}, false, ""); resp.StatusCode != 403 || session != "" {
		t.Errorf("no mapped group: %d, session %q", resp.StatusCode, session)
	}
	_, body := s.do(t, "GET", "/admin/v1/users", s.token, nil)
	if !strings.Contains(string(body), `"name":"sso:dana","roles":["publisher"]`) {
		t.Errorf("the single sign-on user: %s", body)
	}
}
