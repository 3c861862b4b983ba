package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/signalgate/signalgate/internal/auth"
)

func (s *server) login(t *testing.T, user, password string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/admin/v1/login", strings.NewReader(`{"user":"`+user+`","password":"`+password+`"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == auth.SessionCookie {
			return resp, c.Value
		}
	}
	return resp, ""
}

func (s *server) withCookie(t *testing.T, method, path, session, site string) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(`{}`))
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: session})
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSessions: sign-in sets a hardened cookie with a fresh id each time;
// the cookie works for safe and same-site requests and is refused
// cross-site; failures look alike and are throttled; logout ends it.
func TestSessions(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"SIGNALGATE_BOOTSTRAP_PASSWORD": "a long enough password"})
	resp, first := s.login(t, "admin", "a long enough password")
	if resp.StatusCode != 200 || first == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %s", cookie, want)
		}
	}
	_, second := s.login(t, "admin", "a long enough password")
	if second == "" || second == first {
		t.Error("the session id did not change at sign-in")
	}
	if code := s.withCookie(t, "GET", "/admin/v1/draft", second, "cross-site"); code != 200 {
		t.Errorf("GET with the cookie: %d, want 200", code)
	}
	if code := s.withCookie(t, "POST", "/admin/v1/draft/validate", second, "cross-site"); code != 403 {
		t.Errorf("cross-site POST with a valid cookie: %d, want 403", code)
	}
	if code := s.withCookie(t, "POST", "/admin/v1/draft/validate", second, "same-origin"); code != 200 {
		t.Errorf("same-origin POST with the cookie: %d, want 200", code)
	}

	wrong, _ := s.login(t, "admin", "not the password")
	unknown, _ := s.login(t, "nobody", "not the password")
	if wrong.StatusCode != 401 || unknown.StatusCode != 401 {
		t.Errorf("wrong password %d, unknown user %d: want 401 both", wrong.StatusCode, unknown.StatusCode)
	}
	for range 4 {
		s.login(t, "admin", "not the password")
	}
	if resp, _ := s.login(t, "admin", "a long enough password"); resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after 5 failures: %d, want 429 with Retry-After", resp.StatusCode)
	}

	if code := s.withCookie(t, "POST", "/admin/v1/logout", second, "same-origin"); code != 204 {
		t.Errorf("logout: %d", code)
	}
	if code := s.withCookie(t, "GET", "/admin/v1/draft", second, ""); code != 401 {
		t.Errorf("after logout: %d, want 401", code)
	}
	if code := s.withCookie(t, "GET", "/admin/v1/draft", first, ""); code != 200 {
		t.Errorf("the other session: %d, want 200", code)
	}
	resp2, body := s.do(t, "GET", "/admin/v1/audit?action=login.fail", s.token, nil)
	if resp2.StatusCode != 200 || !strings.Contains(string(body), `"actor":"nobody"`) {
		t.Errorf("failed logins in the audit trail: %s", body)
	}
}
