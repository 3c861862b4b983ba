package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/auth"
)

type decisionResponse struct {
	DecisionID string `json:"decision_id"`
	Revision   string `json:"revision"`
	Result     struct {
		Allow   bool `json:"allow"`
		Reasons []struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"reasons"`
	} `json:"result"`
}

const benignInput = `{"signal":{"id":"sig-1","source":"ai_chat","topics":["hiking"],"categories":[],"observed_at":"2026-01-10T12:00:00Z"},"subject":{"id":"u-42","region":"US"},"purpose":"ads"}`

// TestDecisionLogged: a decision is answered with its id and revision, and
// its row holds the same facts.
func TestDecisionLogged(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	input := `{"signal":{"source":"ai_chat","topics":["Synagogue"],"observed_at":"2026-02-01T09:30:00+01:00"},"subject":{"id":"u-5","region":"pl"},"purpose":"ads"}`
	resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(`{"input":`+input+`}`))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var d decisionResponse
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	id, err := uuid.Parse(d.DecisionID)
	if err != nil || id.Version() != 7 {
		t.Errorf("decision_id %q is not a UUID v7", d.DecisionID)
	}
	if d.Revision != "r1" || resp.Header.Get("X-Signalgate-Revision") != "r1" {
		t.Errorf("revision %q / header %q, want r1", d.Revision, resp.Header.Get("X-Signalgate-Revision"))
	}
	if d.Result.Allow || len(d.Result.Reasons) != 2 {
		t.Errorf("result %+v, want region_excluded PL and sensitive_category religion", d.Result)
	}
	var (
		path, source, purpose, region, subject, revision, client, node string
		allow                                                          bool
		codes                                                          []string
		evalNS                                                         int64
		inputRegion, resultJSON                                        string
	)
	err = s.db.Pool.QueryRow(context.Background(), `
		SELECT path, source, purpose, region, subject, revision, client, node, allow, reason_codes, eval_ns,
		       input->'subject'->>'region', result::text
		FROM decision_logs WHERE decision_id = $1`, d.DecisionID).
		Scan(&path, &source, &purpose, &region, &subject, &revision, &client, &node, &allow, &codes, &evalNS, &inputRegion, &resultJSON)
	if err != nil {
		t.Fatalf("logged row: %v", err)
	}
	want := fmt.Sprint("signalgate/decision ai_chat ads PL u-5 r1 test-node false [region_excluded sensitive_category] pl")
	got := fmt.Sprint(path, " ", source, " ", purpose, " ", region, " ", subject, " ", revision, " ", node, " ", allow, " ", codes, " ", inputRegion)
	if got != want {
		t.Errorf("row = %s\nwant  %s", got, want)
	}
	if !strings.HasPrefix(client, "token:") || evalNS <= 0 {
		t.Errorf("client %q eval_ns %d", client, evalNS)
	}
	var logged, answered any
	_ = json.Unmarshal([]byte(resultJSON), &logged)
	_ = json.Unmarshal(body, &answered)
	if fmt.Sprint(logged) != fmt.Sprint(answered.(map[string]any)["result"]) {
		t.Errorf("logged result %v differs from the answer %v", logged, answered)
	}
}

// TestConcurrentDecisionsGiveExactlyNRows: N concurrent clients, N rows,
// each answered id present once.
func TestConcurrentDecisionsGiveExactlyNRows(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	const clients, each = 32, 25
	ids := make(chan string, clients*each)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(`{"input":`+benignInput+`}`))
				if resp.StatusCode != 200 {
					t.Errorf("status %d: %s", resp.StatusCode, body)
					return
				}
				var d decisionResponse
				if err := json.Unmarshal(body, &d); err != nil {
					t.Error(err)
					return
				}
				ids <- d.DecisionID
			}
		}()
	}
	wg.Wait()
	close(ids)
	var answered []string
	for id := range ids {
		answered = append(answered, id)
	}
	var rows, matched int
	err := s.db.Pool.QueryRow(context.Background(),
		`SELECT count(*), count(*) FILTER (WHERE decision_id = ANY($1::uuid[])) FROM decision_logs`, answered).
		Scan(&rows, &matched)
	if err != nil {
		t.Fatal(err)
	}
	if len(answered) != clients*each || rows != clients*each || matched != clients*each {
		t.Fatalf("answered %d, rows %d, matched %d; want %d of each", len(answered), rows, matched, clients*each)
	}
}

// TestBatch: 1000 inputs give 1000 decisions in order, each logged once.
func TestBatch(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	var inputs []string
	for i := range 1000 {
		region := "US"
		if i%3 == 0 {
			region = "FR"
		}
		inputs = append(inputs, fmt.Sprintf(`{"signal":{"source":"ai_chat","observed_at":"2026-01-10T12:00:00Z"},"subject":{"id":"u-%d","region":%q},"purpose":"ads"}`, i, region))
	}
	resp, body := s.do(t, "POST", "/v1/decisions/batch", s.token, []byte(`{"inputs":[`+strings.Join(inputs, ",")+`]}`))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var out struct{ Decisions []decisionResponse }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Decisions) != 1000 {
		t.Fatalf("%d decisions, want 1000", len(out.Decisions))
	}
	for i, d := range out.Decisions {
		if d.Result.Allow != (i%3 != 0) {
			t.Fatalf("decision %d: allow=%v, out of order", i, d.Result.Allow)
		}
		var subject string
		if err := s.db.Pool.QueryRow(context.Background(), `SELECT subject FROM decision_logs WHERE decision_id = $1`, d.DecisionID).Scan(&subject); err != nil {
			t.Fatalf("decision %d not logged: %v", i, err)
		}
		if subject != fmt.Sprintf("u-%d", i) {
			t.Fatalf("decision %d logged for %s", i, subject)
		}
	}
}

// TestDataAPI follows OPA's REST Data API: result present when defined,
// absent when not, and a body without input evaluates with no input.
func TestDataAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	cases := []struct {
		name, path, body, want string
		path2log               string
	}{
		{"allow rule", "/v1/data/signalgate/decision/allow", `{"input":` + benignInput + `}`, `"result":true`, "signalgate/decision/allow"},
		{"undefined", "/v1/data/no/such/document", `{"input":{}}`, `"revision":"r1"}`, "no/such/document"},
		{"no input", "/v1/data/signalgate/decision/allow", `{}`, `"result":false`, "signalgate/decision/allow"},
		{"empty body", "/v1/data/signalgate/decision/allow", ``, `"result":false`, "signalgate/decision/allow"},
		{"data document", "/v1/data/targeting/region_aliases", `{}`, `"result":{"EL":"GR","UK":"GB"}`, "targeting/region_aliases"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.do(t, "POST", tc.path, s.token, []byte(tc.body))
			if resp.StatusCode != 200 || !strings.Contains(string(body), tc.want) {
				t.Fatalf("status %d body %s, want 200 containing %s", resp.StatusCode, body, tc.want)
			}
			var out struct {
				DecisionID string          `json:"decision_id"`
				Result     json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			var path string
			if err := s.db.Pool.QueryRow(context.Background(), `SELECT path FROM decision_logs WHERE decision_id = $1`, out.DecisionID).Scan(&path); err != nil || path != tc.path2log {
				t.Errorf("logged path %q, %v; want %q", path, err, tc.path2log)
			}
		})
	}
}

// TestBadInput: every malformed request gets the documented 4xx with a JSON
// message, and nothing is logged.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	deep := strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33)
	wideObj := "{" + strings.TrimSuffix(strings.Repeat(`"k":1,`, 1), ",")
	for i := range 1001 {
		if i > 0 {
			wideObj += fmt.Sprintf(`,"k%d":1`, i)
		}
	}
	wideObj += "}"
	wideArr := "[" + strings.TrimSuffix(strings.Repeat("1,", 1001), ",") + "]"
	big := `{"input":{"pad":"` + strings.Repeat("x", 65*1024) + `"}}`
	inputs1001 := `{"inputs":[` + strings.TrimSuffix(strings.Repeat("{},", 1001), ",") + `]}`
	hugeBatch := `{"inputs":[{"pad":"` + strings.Repeat("x", 4<<20) + `"}]}`
	viewer := addToken(t, s.db.Pool, auth.Viewer)
	agent := addToken(t, s.db.Pool, auth.Agent)
	decider := addToken(t, s.db.Pool, auth.Decider)

	cases := []struct {
		name, path, token, body string
		status                  int
		message                 string
	}{
		{"not JSON", "/v1/decisions", s.token, `{"input":`, 400, "invalid JSON"},
		{"trailing data", "/v1/decisions", s.token, `{"input":{}} {}`, 400, "after the JSON value"},
		{"invalid UTF-8", "/v1/decisions", s.token, "{\"input\":{\"a\":\"\xff\xfe\"}}", 400, "invalid UTF-8"},
		{"raw NUL", "/v1/decisions", s.token, "{\"input\":{\"a\":\"x\x00y\"}}", 400, "NUL"},
		{"escaped NUL", "/v1/decisions", s.token, `{"input":{"a":"x\u0000y"}}`, 400, "NUL"},
		{"lone surrogate", "/v1/decisions", s.token, `{"input":{"a":"\ud800"}}`, 400, "surrogate"},
		{"duplicate keys", "/v1/decisions", s.token, `{"input":{"purpose":"ads","purpose":"x"}}`, 400, "duplicate key"},
		{"too deep", "/v1/decisions", s.token, `{"input":` + deep + `}`, 400, "nesting deeper than 32"},
		{"object too wide", "/v1/decisions", s.token, `{"input":` + wideObj + `}`, 400, "wider than 1000"},
		{"array too wide", "/v1/decisions", s.token, `{"input":` + wideArr + `}`, 400, "wider than 1000"},
		{"no input", "/v1/decisions", s.token, `{}`, 400, `missing "input"`},
		{"empty body", "/v1/decisions", s.token, ``, 400, `missing "input"`},
		{"unknown field", "/v1/decisions", s.token, `{"input":{},"inptu":{}}`, 400, `unknown field "inptu"`},
		{"not an object", "/v1/decisions", s.token, `[1]`, 400, "expected a JSON object"},
		{"too large", "/v1/decisions", s.token, big, 413, "larger than the limit"},
		{"batch not array", "/v1/decisions/batch", s.token, `{"inputs":{}}`, 400, "array of 1 to 1000"},
		{"batch empty", "/v1/decisions/batch", s.token, `{"inputs":[]}`, 400, "array of 1 to 1000"},
		{"batch 1001", "/v1/decisions/batch", s.token, inputs1001, 400, "wider than 1000"},
		{"batch missing", "/v1/decisions/batch", s.token, `{"input":{}}`, 400, `unknown field "input"`},
		{"batch too large", "/v1/decisions/batch", s.token, hugeBatch, 413, "larger than the limit"},
		{"data bad JSON", "/v1/data/signalgate/decision", s.token, `{"input":{]}`, 400, "invalid JSON"},
		{"no token", "/v1/decisions", "", `{"input":{}}`, 401, "Authorization"},
		{"wrong token", "/v1/decisions", "sgt_not-a-real-token-000000000000", `{"input":{}}`, 401, "invalid"},
		{"viewer may not decide", "/v1/decisions", viewer, `{"input":{}}`, 403, "role viewer"},
		{"agent may not decide", "/v1/data/signalgate/decision", agent, `{"input":{}}`, 403, "role agent"},
		{"no such route", "/v1/nothing", s.token, `{}`, 404, "no route"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := s.do(t, "POST", tc.path, tc.token, []byte(tc.body))
			var e struct{ Code, Message string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("status %d, body is not JSON: %.200s", resp.StatusCode, body)
			}
			if resp.StatusCode != tc.status || !strings.Contains(e.Message, tc.message) {
				t.Errorf("status %d message %q, want %d containing %q", resp.StatusCode, e.Message, tc.status, tc.message)
			}
		})
	}
	// Query and path values reach the database, which refuses NUL and
	// invalid UTF-8: any route refuses them first, with a 400.
	for _, path := range []string{"/admin/v1/audit?actor=a%00b", "/admin/v1/decisions?region=%FF", "/admin/v1/decisions/%00", "/admin/v1/audit?a%00=1"} {
		t.Run("GET "+path, func(t *testing.T) {
			resp, body := s.do(t, "GET", path, s.token, nil)
			if resp.StatusCode != 400 || !strings.Contains(string(body), "UTF-8 text without NUL") {
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
		})
	}
	t.Run("token in the query string", func(t *testing.T) {
		resp, body := s.do(t, "POST", "/v1/decisions?access_token="+s.token, "", []byte(`{"input":{}}`))
		if resp.StatusCode != 400 || !strings.Contains(string(body), "only in the Authorization header") {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
	})
	var rows int
	if err := s.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM decision_logs`).Scan(&rows); err != nil || rows != 0 {
		t.Errorf("%d rows logged by refused requests (%v)", rows, err)
	}
	t.Run("decider token decides", func(t *testing.T) {
		resp, body := s.do(t, "POST", "/v1/decisions", decider, []byte(`{"input":`+benignInput+`}`))
		if resp.StatusCode != 200 {
			t.Errorf("status %d: %s", resp.StatusCode, body)
		}
	})
}

// TestFailClosed: when the log refuses rows, the API answers 503 with
// Retry-After and no decision, never an unlogged allow.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if _, err := s.db.Pool.Exec(context.Background(),
		`ALTER TABLE decision_logs ADD CONSTRAINT refuse_all CHECK (eval_ns < 0) NOT VALID`); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/decisions", "/v1/decisions/batch", "/v1/data/signalgate/decision/allow"} {
		body := `{"input":` + benignInput + `}`
		if strings.HasSuffix(path, "batch") {
			body = `{"inputs":[` + benignInput + `]}`
		}
		resp, out := s.do(t, "POST", path, s.token, []byte(body))
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s: status %d Retry-After %q: %s", path, resp.StatusCode, resp.Header.Get("Retry-After"), out)
		}
		if strings.Contains(string(out), `"allow"`) || strings.Contains(string(out), "result") {
			t.Errorf("%s: a refused decision leaked its result: %s", path, out)
		}
	}
}

// TestOpsEndpoints: health and readiness are open; metrics need a token and
// show the decision counters.
func TestOpsEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	s.do(t, "POST", "/v1/decisions", s.token, []byte(`{"input":`+benignInput+`}`))
	for _, p := range []string{"/healthz", "/readyz", "/openapi.json"} {
		if resp, body := s.do(t, "GET", p, "", nil); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	if resp, _ := s.do(t, "GET", "/metrics", "", nil); resp.StatusCode != 401 {
		t.Errorf("/metrics without a token: %d, want 401", resp.StatusCode)
	}
	resp, body := s.do(t, "GET", "/metrics", s.token, nil)
	for _, want := range []string{
		`signalgate_decisions_total{api="single",outcome="allow"} 1`,
		"signalgate_decision_seconds_bucket", "signalgate_decisionlog_batch_rows",
		"signalgate_decisionlog_commit_seconds", "signalgate_decisionlog_queue_depth",
		"signalgate_decisionlog_commit_failures_total",
	} {
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestAsyncModeLogsWhatWasDecided: in async mode the answer comes before the
// commit, and each row still holds its own input once it lands.
func TestAsyncModeLogsWhatWasDecided(t *testing.T) {
	t.Parallel()
	s := startServer(t, map[string]string{"SIGNALGATE_LOG_MODE": "async"})
	const n = 400
	ids := make([]string, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				in := fmt.Sprintf(`{"signal":{"source":"like"},"subject":{"id":"u-%d","region":"US"},"purpose":"ads"}`, i)
				resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(`{"input":`+in+`}`))
				var d decisionResponse
				if resp.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
					t.Errorf("status %d: %s", resp.StatusCode, body)
					return
				}
				ids[i] = d.DecisionID
			}
		}()
	}
	wg.Wait()
	s.stop() // flushes the queue
	for i, id := range ids {
		var subject, inputID string
		err := s.db.Pool.QueryRow(context.Background(),
			`SELECT subject, input->'subject'->>'id' FROM decision_logs WHERE decision_id = $1`, id).Scan(&subject, &inputID)
		want := fmt.Sprintf("u-%d", i)
		if err != nil || subject != want || inputID != want {
			t.Fatalf("decision %d: row %q/%q (%v), want %s", i, subject, inputID, err, want)
		}
	}
}
