package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/pgtest"
)

type draftBody struct {
	Modules     map[string]string `json:"modules"`
	Data        map[string]any    `json:"data"`
	ETag        string            `json:"etag"`
	ContentHash string            `json:"content_hash"`
}

type report struct {
	OK     bool `json:"ok"`
	Errors []struct {
		File    string `json:"file"`
		Row     int    `json:"row"`
		Col     int    `json:"col"`
		Message string `json:"message"`
	} `json:"errors"`
	Tests []struct {
		Name string `json:"name"`
		Pass bool   `json:"pass"`
	} `json:"tests"`
}

func (s *server) draft(t *testing.T) draftBody {
	t.Helper()
	resp, body := s.do(t, "GET", "/admin/v1/draft", s.token, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET draft: %d %s", resp.StatusCode, body)
	}
	var d draftBody
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("ETag") != d.ETag {
		t.Fatalf("ETag header %q, body %q", resp.Header.Get("ETag"), d.ETag)
	}
	return d
}

// publishCandidate publishes, without activating it, the draft with topic
// mapped to category: a candidate for schedules, shadow and rollouts.
func (s *server) publishCandidate(t *testing.T, topic, category string) {
	t.Helper()
	d := s.draft(t)
	d.Data["targeting"].(map[string]any)["topic_categories"].(map[string]any)[topic] = category
	if resp, out := s.putDraft(t, d, d.ETag); resp.StatusCode != 200 {
		t.Fatalf("save draft: %d %s", resp.StatusCode, out)
	}
	msg := fmt.Sprintf(`{"message":"%s is %s","activate":false}`, topic, category)
	if resp, out := s.do(t, "POST", "/admin/v1/draft/publish", s.token, []byte(msg)); resp.StatusCode != 201 {
		t.Fatalf("publish: %d %s", resp.StatusCode, out)
	}
}

func (s *server) putDraft(t *testing.T, d draftBody, ifMatch string) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"modules": d.Modules, "data": d.Data})
	req, _ := http.NewRequest("PUT", s.url+"/admin/v1/draft", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+s.token)
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func (s *server) revisionCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM policy_revisions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func withModule(d draftBody, path, src string) draftBody {
	m := map[string]string{}
	for k, v := range d.Modules {
		m[k] = v
	}
	if src == "" {
		delete(m, path)
	} else {
		m[path] = src
	}
	return draftBody{Modules: m, Data: d.Data}
}

// TestDraftETag: a save with a stale or missing If-Match gets 412 and
// changes nothing; roles are enforced.
func TestDraftETag(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	d := s.draft(t)
	if d.ETag != `"`+d.ContentHash+`"` || !strings.HasPrefix(d.ContentHash, "sha256:") || len(d.Modules) < 5 {
		t.Fatalf("draft %q %q with %d modules", d.ETag, d.ContentHash, len(d.Modules))
	}
	edited := withModule(d, "extra.rego", "package signalgate.extra\n\nanswer := 42\n")
	for _, ifMatch := range []string{"", `"sha256:0000"`} {
		if resp, body := s.putDraft(t, edited, ifMatch); resp.StatusCode != http.StatusPreconditionFailed {
			t.Errorf("If-Match %q: %d %s, want 412", ifMatch, resp.StatusCode, body)
		}
	}
	if s.draft(t).ContentHash != d.ContentHash {
		t.Fatal("a refused save changed the draft")
	}
	resp, body := s.putDraft(t, edited, d.ETag)
	if resp.StatusCode != 200 {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	after := s.draft(t)
	if after.ContentHash == d.ContentHash || after.Modules["extra.rego"] == "" {
		t.Fatal("the save did not take")
	}
	if resp, _ := s.putDraft(t, withModule(d, "other.rego", "package signalgate.other\n"), d.ETag); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("a second save from the same stale read: %d, want 412", resp.StatusCode)
	}
	viewer := addToken(t, s.db.Pool, auth.Viewer)
	if resp, _ := s.do(t, "POST", "/admin/v1/draft/publish", viewer, []byte(`{"message":"x"}`)); resp.StatusCode != 403 {
		t.Errorf("viewer publish: %d, want 403", resp.StatusCode)
	}
	if resp, _ := s.do(t, "GET", "/admin/v1/draft", viewer, nil); resp.StatusCode != 200 {
		t.Errorf("viewer read: %d, want 200", resp.StatusCode)
	}
	decider := addToken(t, s.db.Pool, auth.Decider)
	if resp, _ := s.do(t, "GET", "/admin/v1/draft", decider, nil); resp.StatusCode != 403 {
		t.Errorf("decider read: %d, want 403", resp.StatusCode)
	}
	if resp, body := s.do(t, "PUT", "/admin/v1/draft", s.token, []byte(`{"modules":{"a.rego":"x"},"data":{"a":"\u0000"}}`)); resp.StatusCode != 400 {
		t.Errorf("NUL in data: %d %s, want 400", resp.StatusCode, body)
	}
}

// TestInvalidPoliciesRefused: each class of invalid policy is a 422 naming
// the place, and nothing is published.
func TestInvalidPoliciesRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	base := s.draft(t)
	badData := func() draftBody {
		b, _ := json.Marshal(base.Data)
		var data map[string]any
		_ = json.Unmarshal([]byte(strings.Replace(strings.Replace(string(b), `"2025-12-16T00:00:00Z"`, `"2025-12-6"`, 1), `"FR":`, `"Fr":`, 1)), &data)
		return draftBody{Modules: base.Modules, Data: data}
	}
	cases := []struct {
		name       string
		draft      draftBody
		file, want string
		placed     bool
	}{
		{"syntax error", withModule(base, "broken.rego", "package signalgate.extra\n\nallow if {\n"), "broken.rego", "", true},
		{"type error", withModule(base, "typed.rego", "package signalgate.extra\n\nx if {\n\tcount(5) == 1\n}\n"), "typed.rego", "count", true},
		{"unsafe builtin", withModule(base, "net.rego", "package signalgate.extra\n\nx := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1\"})\n"), "net.rego", "http.send", true},
		{"with trick", withModule(base, "trick.rego", "package signalgate.extra\n\nx if {\n\tdata.signalgate.decision.allow with time.now_ns as http.send\n}\n"), "trick.rego", "http.send", true},
		{"system package", withModule(base, "sys.rego", "package system.authz\n\nallow := true\n"), "sys.rego", "system", true},
		{"failing test", withModule(base, "extra_test.rego", "package signalgate.extra_test\n\ntest_fails if {\n\tfalse\n}\n"), "extra_test.rego", "test_fails", true},
		{"missing entry point", withModule(base, "decision.rego", ""), "", "allow and reasons", false},
		{"over budget", withModule(base, "slow.rego", "package signalgate.decision\n\nreasons contains {\"code\": \"slow\", \"detail\": \"x\"} if {\n\tinput.purpose == \"?\"\n\tcount([x | some x in numbers.range(1, 100000000)]) > 0\n}\n"), "", "within", false},
		{"data schema", badData(), "data.json", "targeting.rollouts.ai_chat.ads", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := s.draft(t)
			if resp, body := s.putDraft(t, tc.draft, d.ETag); resp.StatusCode != 200 {
				t.Fatalf("save: %d %s", resp.StatusCode, body)
			}
			resp, body := s.do(t, "POST", "/admin/v1/draft/publish", s.token, []byte(`{"message":"should not publish"}`))
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("publish: %d %.300s, want 422", resp.StatusCode, body)
			}
			var r report
			if err := json.Unmarshal(body, &r); err != nil || r.OK {
				t.Fatalf("report %s (%v)", body, err)
			}
			found := false
			for _, e := range r.Errors {
				if e.File == tc.file && strings.Contains(e.Message, tc.want) && (!tc.placed || e.Row > 0) {
					found = true
				}
			}
			if !found {
				t.Errorf("no error in %q mentioning %q (placed=%v): %s", tc.file, tc.want, tc.placed, body)
			}
			if n := s.revisionCount(t); n != 1 {
				t.Errorf("%d revisions after a refused publish, want 1", n)
			}
		})
	}
}

// TestPublishAndRollback: a publish changes decisions on this instance and
// on another within a second; a rollback brings the old behaviour back; the
// audit trail records it all and `audit verify` notices an edited entry.
func TestPublishAndRollback(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	a := startServerOn(t, db, nil)
	b := startServerOn(t, db, nil)
	usInput := []byte(`{"input":{"signal":{"source":"ai_chat","topics":["astrology"],"observed_at":"2026-01-10T12:00:00Z"},"subject":{"region":"US"},"purpose":"ads"}}`)
	decide := func(s *server) decisionResponse {
		t.Helper()
		resp, body := s.do(t, "POST", "/v1/decisions", s.token, usInput)
		var d decisionResponse
		if resp.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
			t.Fatalf("decision: %d %s", resp.StatusCode, body)
		}
		return d
	}
	if d := decide(b); !d.Result.Allow || d.Revision != "r1" {
		t.Fatalf("before: %+v", d)
	}

	d := a.draft(t)
	raw, _ := json.Marshal(d.Data)
	var data map[string]any
	_ = json.Unmarshal([]byte(strings.Replace(string(raw), `"topic_categories":{`, `"topic_categories":{"astrology":"religion",`, 1)), &data)
	if resp, body := a.putDraft(t, draftBody{Modules: d.Modules, Data: data}, d.ETag); resp.StatusCode != 200 {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	resp, body := a.do(t, "POST", "/admin/v1/draft/validate", a.token, nil)
	var r report
	if resp.StatusCode != 200 || json.Unmarshal(body, &r) != nil || !r.OK || len(r.Tests) < 20 {
		t.Fatalf("validate: %d %.300s", resp.StatusCode, body)
	}
	resp, body = a.do(t, "POST", "/admin/v1/draft/publish", a.token, []byte(`{"message":"astrology is a belief"}`))
	if resp.StatusCode != 201 || !strings.Contains(string(body), `"revision":"r2"`) {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	published := time.Now()
	if d := decide(a); d.Result.Allow || d.Revision != "r2" {
		t.Fatalf("publishing instance after publish: %+v", d)
	}
	for {
		d := decide(b)
		if d.Revision == "r2" {
			if d.Result.Allow {
				t.Fatalf("other instance on r2 allowed: %+v", d)
			}
			t.Logf("the other instance served r2 %s after the publish", time.Since(published))
			break
		}
		if time.Since(published) > promiseWithRoom {
			t.Fatalf("the other instance still decides with %s %s after the publish", d.Revision, promiseWithRoom)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var logged string
	_ = db.Pool.QueryRow(context.Background(), `SELECT revision FROM decision_logs ORDER BY decided_at DESC LIMIT 1`).Scan(&logged)
	if logged != "r2" {
		t.Errorf("latest logged revision %q, want r2", logged)
	}

	if resp, body := a.do(t, "POST", "/admin/v1/revisions/r1/activate", a.token, nil); resp.StatusCode != 200 {
		t.Fatalf("rollback: %d %s", resp.StatusCode, body)
	}
	if d := decide(a); !d.Result.Allow || d.Revision != "r1" {
		t.Fatalf("after rollback: %+v", d)
	}
	if resp, _ := a.do(t, "POST", "/admin/v1/revisions/r9/activate", a.token, nil); resp.StatusCode != 404 {
		t.Errorf("activate an unknown revision: %d, want 404", resp.StatusCode)
	}
	resp, body = a.do(t, "GET", "/admin/v1/revisions", a.token, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"active":"r1"`) || !strings.Contains(string(body), "astrology is a belief") {
		t.Errorf("revisions: %d %s", resp.StatusCode, body)
	}
	resp, body = a.do(t, "GET", "/admin/v1/revisions/r1/diff/r2", a.token, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"path":"targeting.topic_categories.astrology","op":"added","after":"religion"`) {
		t.Errorf("diff r1 r2: %d %s", resp.StatusCode, body)
	}
	resp, body = a.do(t, "GET", "/admin/v1/audit", a.token, nil)
	for _, action := range []string{"draft.save", "policy.publish", "revision.activate"} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), action) {
			t.Errorf("audit lacks %s: %s", action, body)
		}
	}

	env := map[string]string{"SIGNALGATE_DATABASE_URL": db.URL, "SIGNALGATE_DATA_DIR": t.TempDir(), "SIGNALGATE_LOG_LEVEL": "error"}
	out, _, err := runCLI(t, env, "audit", "verify")
	if err != nil || !strings.Contains(out, "intact: 3 entries") {
		t.Fatalf("verify: %v %s", err, out)
	}
	if _, err := db.Pool.Exec(context.Background(), `UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, env, "audit", "verify")
	if !errors.Is(err, errExit1) || !strings.Contains(out, "BROKEN at entry 2") {
		t.Errorf("verify after an edit: %v %s", err, out)
	}
}

// TestPlayground: the playground explains which rules produced each reason,
// pins time to as_of, and refuses malformed requests.
func TestPlayground(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	viewer := addToken(t, s.db.Pool, auth.Viewer)
	in := `{"signal":{"source":"ai_chat","topics":["synagogue"]},"subject":{"region":"pl"},"purpose":"ads"}`
	resp, body := s.do(t, "POST", "/admin/v1/evaluate", viewer, []byte(`{"input":`+in+`,"revision":"r1","as_of":"2026-03-01T00:00:00Z"}`))
	var out struct {
		Revision    string `json:"revision"`
		Result      struct{ Allow bool }
		Explanation struct {
			Reasons []struct {
				Code  string
				Rules []struct {
					File string
					Row  int
				}
			}
			Fails []string
		}
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
		t.Fatalf("evaluate: %d %s", resp.StatusCode, body)
	}
	if out.Revision != "r1" || out.Result.Allow || len(out.Explanation.Reasons) != 2 {
		t.Fatalf("evaluate: %s", body)
	}
	files := map[string]string{"region_excluded": "regions.rego", "sensitive_category": "sensitive.rego"}
	for _, r := range out.Explanation.Reasons {
		if len(r.Rules) == 0 || r.Rules[0].File != files[r.Code] || r.Rules[0].Row == 0 {
			t.Errorf("reason %s explained by %+v, want a rule in %s\n%s", r.Code, r.Rules, files[r.Code], body)
		}
	}
	if len(out.Explanation.Fails) == 0 {
		t.Error("no failed expressions reported: the quick admission check fails for this input")
	}
	resp, body = s.do(t, "POST", "/admin/v1/evaluate", viewer, []byte(`{"input":{"signal":{"source":"ai_chat"},"subject":{"region":"US"},"purpose":"ads"},"as_of":"2025-12-15T12:00:00Z"}`))
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"code":"before_rollout"`) || !strings.Contains(string(body), `"revision":"draft"`) {
		t.Errorf("as_of before the rollout: %d %.300s", resp.StatusCode, body)
	}
	for _, bad := range []string{`{}`, `{"input":{},"revision":"x"}`, `{"input":{},"as_of":"yesterday"}`, `{"input":{},"extra":1}`} {
		if resp, body := s.do(t, "POST", "/admin/v1/evaluate", viewer, []byte(bad)); resp.StatusCode != 400 {
			t.Errorf("%s: %d %s, want 400", bad, resp.StatusCode, body)
		}
	}
	if resp, _ := s.do(t, "POST", "/admin/v1/evaluate", viewer, []byte(`{"input":{},"revision":"r7"}`)); resp.StatusCode != 404 {
		t.Errorf("unknown revision: %d, want 404", resp.StatusCode)
	}
}

// TestFourEyes: with four-eyes on, publishing needs an approval of the exact
// content by a publisher who did not edit it; a change voids it, identical
// content does not; push stops at "awaiting approval" with status 3.
func TestFourEyes(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if resp, body := s.do(t, "PUT", "/admin/v1/settings", s.token, []byte(`{"four_eyes":true}`)); resp.StatusCode != 200 || !strings.Contains(string(body), `"four_eyes":true`) {
		t.Fatalf("settings: %d %s", resp.StatusCode, body)
	}
	alice := addToken(t, s.db.Pool, auth.Publisher)
	bob := addToken(t, s.db.Pool, auth.Publisher)
	asAlice := &server{url: s.url, token: alice, db: s.db}

	base := asAlice.draft(t)
	edited := withModule(base, "extra.rego", "package signalgate.extra\n\nanswer := 42\n")
	if resp, body := asAlice.putDraft(t, edited, base.ETag); resp.StatusCode != 200 {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	hash := asAlice.draft(t).ContentHash
	approve := func(token, h string) int {
		resp, _ := s.do(t, "POST", "/admin/v1/draft/approve", token, []byte(`{"content_hash":"`+h+`"}`))
		return resp.StatusCode
	}
	publish := func(token string) (int, string) {
		resp, body := s.do(t, "POST", "/admin/v1/draft/publish", token, []byte(`{"message":"four eyes"}`))
		return resp.StatusCode, string(body)
	}
	if code, body := publish(alice); code != 409 || !strings.Contains(body, "awaiting approval") {
		t.Errorf("publish without approval: %d %s, want 409", code, body)
	}
	if code := approve(alice, hash); code != 403 {
		t.Errorf("self-approval: %d, want 403", code)
	}
	if code := approve(bob, base.ContentHash); code != 409 {
		t.Errorf("approval of a stale hash: %d, want 409", code)
	}
	if code := approve(bob, hash); code != 200 {
		t.Fatalf("approval: %d", code)
	}
	// Saving identical content keeps the approval.
	if resp, body := asAlice.putDraft(t, edited, `"`+hash+`"`); resp.StatusCode != 200 {
		t.Fatalf("identical save: %d %s", resp.StatusCode, body)
	}
	if code, body := publish(alice); code != 201 {
		t.Fatalf("approved publish: %d %s", code, body)
	}

	// A change voids the approval; push stops at awaiting approval (3), and
	// goes through once approved.
	dir := t.TempDir()
	env := map[string]string{"SIGNALGATE_SERVER": s.url, "SIGNALGATE_TOKEN": alice}
	if _, _, err := runCLI(t, env, "policy", "pull", dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.rego"), []byte("package signalgate.extra\n\nanswer := 43\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := runCLI(t, env, "policy", "push", dir, "--message", "answer 43")
	if !errors.Is(err, errAwaitingApproval) || !strings.Contains(out, "awaiting approval") {
		t.Fatalf("push under four-eyes: %v %s %s", err, out, errOut)
	}
	if code := approve(bob, asAlice.draft(t).ContentHash); code != 200 {
		t.Fatalf("approval of the pushed draft: %d", code)
	}
	if out, errOut, err := runCLI(t, env, "policy", "push", dir, "--message", "answer 43"); err != nil || !strings.Contains(out, "published r3") {
		t.Fatalf("push after approval: %v %s %s", err, out, errOut)
	}
	resp, body := s.do(t, "GET", "/admin/v1/audit?action=draft.approve", s.token, nil)
	if resp.StatusCode != 200 || strings.Count(string(body), `"action":"draft.approve"`) != 2 {
		t.Errorf("approvals in the audit trail: %s", body)
	}
}
