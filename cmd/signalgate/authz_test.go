package main

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/oidc"

	"github.com/signalgate/signalgate/internal/auth"
)

// open routes need no credentials (DESIGN.md).
const open = "open"

// access lists, for every route, the roles that may use it; a role not
// listed gets 403, no token 401. A route missing here fails the test.
var access = map[string][]string{
	"GET /healthz":      {open},
	"GET /readyz":       {open},
	"GET /openapi.json": {open},
	"GET /metrics":      {"admin", "publisher", "editor", "viewer", "decider", "agent"},

	"POST /admin/v1/login":              {open},
	"GET /admin/v1/login/oidc":          {open},
	"GET /admin/v1/login/oidc/callback": {open},
	"POST /admin/v1/logout":             {"admin", "publisher", "editor", "viewer", "decider", "agent"},
	"GET /admin/v1/session":             {"admin", "publisher", "editor", "viewer", "decider", "agent"},

	"POST /v1/decisions":       {"admin", "decider"},
	"POST /v1/decisions/batch": {"admin", "decider"},
	"POST /v1/data/*path":      {"admin", "decider"},

	"GET /admin/v1/draft":                      {"admin", "publisher", "editor", "viewer"},
	"PUT /admin/v1/draft":                      {"admin", "publisher", "editor"},
	"POST /admin/v1/draft/validate":            {"admin", "publisher", "editor"},
	"POST /admin/v1/draft/publish":             {"admin", "publisher"},
	"POST /admin/v1/draft/approve":             {"admin", "publisher"},
	"GET /admin/v1/settings":                   {"admin", "publisher", "editor", "viewer"},
	"PUT /admin/v1/settings":                   {"admin"},
	"GET /admin/v1/revisions":                  {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/revisions/:rev":             {"admin", "publisher", "editor", "viewer"},
	"POST /admin/v1/revisions/:rev/activate":   {"admin", "publisher"},
	"GET /admin/v1/revisions/:rev/diff/:other": {"admin", "publisher", "editor", "viewer"},
	"POST /admin/v1/evaluate":                  {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/audit":                      {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/decisions":                  {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/decisions/:id":              {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/audit/verify":               {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/agents":                     {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/schedules":                  {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/shadow":                     {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/rollouts":                   {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/rollouts/:id":               {"admin", "publisher", "editor", "viewer"},
	"POST /admin/v1/rollouts":                  {"admin", "publisher"},
	"POST /admin/v1/rollouts/:id/step":         {"admin", "publisher"},
	"POST /admin/v1/rollouts/:id/rollback":     {"admin", "publisher"},
	"POST /admin/v1/rollouts/:id/complete":     {"admin", "publisher"},
	"POST /admin/v1/schedules":                 {"admin", "publisher"},
	"DELETE /admin/v1/schedules/:id":           {"admin", "publisher"},
	"GET /bundles/:name":                       {"admin", "agent"},
	"POST /logs":                               {"admin", "agent"},
	"POST /logs/:partition":                    {"admin", "agent"},
	"POST /status":                             {"admin", "agent"},
	"GET /admin/v1/decisions/export":           {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/decisions/stats":            {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/taxonomy/coverage":          {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/impact":                     {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/impact/:job":                {"admin", "publisher", "editor", "viewer"},
	"POST /admin/v1/draft/impact":              {"admin", "publisher", "editor"},
	"POST /admin/v1/decisions/:id/replay":      {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/tokens":                     {"admin", "publisher", "editor", "viewer"},
	"POST /admin/v1/tokens":                    {"admin", "publisher", "editor", "viewer"},
	"DELETE /admin/v1/tokens/:id":              {"admin", "publisher", "editor", "viewer"},
	"GET /admin/v1/users":                      {"admin"},
	"POST /admin/v1/users":                     {"admin"},
}

var concrete = strings.NewReplacer(":rev", "r1", ":other", "r1", ":id", "no-such-id", "*path", "signalgate/decision")

// TestAuthorizationMatrix walks every registered route with no token and
// with a token of each role.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	tokens := map[string]string{}
	for _, r := range auth.Roles {
		tokens[string(r)] = addToken(t, s.db.Pool, r)
	}
	registered := routes(routeDeps{reg: prometheus.NewRegistry(), sso: oidc.New(oidc.Config{})}).Routes()
	seen := map[string]bool{}
	for _, r := range registered {
		key := r.Method + " " + r.Path
		seen[key] = true
		allowed, ok := access[key]
		if !ok {
			t.Errorf("route %s is not in the access table: say who may use it", key)
			continue
		}
		path := concrete.Replace(r.Path)
		body := []byte(`{}`)
		resp, out := s.do(t, r.Method, path, "", body)
		if allowed[0] == open {
			// Login answers 401 to wrong credentials; what an open route must
			// never do is ask for a token.
			if resp.StatusCode == 403 || (resp.StatusCode == 401 && strings.Contains(string(out), "missing Authorization header")) {
				t.Errorf("%s is open but answered %d %.200s without a token", key, resp.StatusCode, out)
			}
			continue
		}
		if resp.StatusCode != 401 {
			t.Errorf("%s without a token: %d %.100s, want 401", key, resp.StatusCode, out)
		}
		for _, role := range auth.Roles {
			resp, out := s.do(t, r.Method, path, tokens[string(role)], body)
			may := strings.Contains(" "+strings.Join(allowed, " ")+" ", " "+string(role)+" ")
			switch {
			case may && (resp.StatusCode == 401 || resp.StatusCode == 403):
				t.Errorf("%s as %s: %d %.100s, want it allowed", key, role, resp.StatusCode, out)
			case !may && resp.StatusCode != 403:
				t.Errorf("%s as %s: %d %.100s, want 403", key, role, resp.StatusCode, out)
			}
		}
	}
	for key := range access {
		if !seen[key] {
			t.Errorf("the access table lists %s, which is not registered", key)
		}
	}

	// Refused admin requests are in the audit trail; every refusal is counted.
	resp, body := s.do(t, "GET", "/admin/v1/audit?action=request.refused&limit=1000", s.token, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"actor":"anonymous"`) || !strings.Contains(string(body), `"action":"request.refused","target":"`) {
		t.Errorf("refused requests in the audit trail: %d %.300s", resp.StatusCode, body)
	}
	_, metrics := s.do(t, "GET", "/metrics", s.token, nil)
	for _, want := range []string{`signalgate_auth_refusals_total{api="decision",status="401"}`, `signalgate_auth_refusals_total{api="admin",status="403"}`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
