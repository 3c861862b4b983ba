package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
)

// opaBinary is the stock OPA built from the module version in go.mod
// (make builds it into .tools/bin and passes it in SIGNALGATE_OPA_BIN).
func opaBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SIGNALGATE_OPA_BIN"); p != "" {
		return p
	}
	t.Fatal("SIGNALGATE_OPA_BIN is not set: run the tests with make test, which builds stock OPA from go.mod's version first")
	return ""
}

// TestStockOPAAgent: a stock OPA, configured with signalgate as its bundle,
// decision-log and status service, runs the active revision, picks up a
// publish within 2 s, uploads its decisions into decision_logs (searchable
// and replayable like native ones) and is listed with its revision.
func TestStockOPAAgent(t *testing.T) {
	t.Parallel()
	opa := opaBinary(t)
	s := startServer(t, nil)
	agentToken := addToken(t, s.db.Pool, auth.Agent)

	opaAddr := startOPA(t, opa, s.url, agentToken, "")

	// The agent activates the active revision (its health check with
	// bundles passes only then).
	waitFor(t, 30*time.Second, "the agent to activate the bundle", func() bool { return bundleActive(opaAddr) })
	knitting := `{"input":{"signal":{"source":"ai_chat","topics":["knitting"]},"subject":{"id":"u-opa","region":"US"},"purpose":"ads"}}`
	ask := func() (allow bool) {
		t.Helper()
		resp, err := http.Post("http://"+opaAddr+"/v1/data/signalgate/decision", "application/json", strings.NewReader(knitting))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			Result struct {
				Allow bool `json:"allow"`
			} `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Result.Allow
	}
	if !ask() {
		t.Fatal("r1 allows knitting, the agent denied it")
	}

	// Publish through signalgate: knitting becomes health, a sensitive topic.
	d := s.draft(t)
	d.Data["targeting"].(map[string]any)["topic_categories"].(map[string]any)["knitting"] = "health"
	if resp, out := s.putDraft(t, d, d.ETag); resp.StatusCode != 200 {
		t.Fatalf("save draft: %d %s", resp.StatusCode, out)
	}
	published := time.Now()
	if resp, out := s.do(t, "POST", "/admin/v1/draft/publish", s.token, []byte(`{"message":"knitting is health"}`)); resp.StatusCode != 201 {
		t.Fatalf("publish: %d %s", resp.StatusCode, out)
	}
	waitFor(t, 2*time.Second+promiseWithRoom, "the agent to serve r2", func() bool { return !ask() })
	t.Logf("the agent served the new revision %s after the publish", time.Since(published).Round(time.Millisecond))
	if took := time.Since(published); took > 2*time.Second {
		t.Errorf("the agent took %s to serve the publish, want at most 2 s", took)
	}

	// Its decisions reach the log, like native ones: the allows under r1
	// and, in a later upload, the denial under r2.
	var ids []string
	waitFor(t, 20*time.Second, "the agent's decisions, its denial among them, in decision_logs", func() bool {
		rows, err := s.db.Pool.Query(context.Background(),
			`SELECT decision_id::text FROM decision_logs WHERE client LIKE 'agent:%' AND path = 'signalgate/decision' ORDER BY decided_at`)
		if err != nil {
			return false
		}
		defer rows.Close()
		ids = ids[:0]
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		if len(ids) < 2 {
			return false
		}
		var found searchPage
		resp, body := s.do(t, "GET", "/admin/v1/decisions?subject=u-opa&reason=sensitive_category", s.token, nil)
		if resp.StatusCode != 200 || json.Unmarshal(body, &found) != nil {
			t.Fatalf("search for the agent's denial: %d %s", resp.StatusCode, body)
		}
		return len(found.Decisions) > 0
	})
	for _, id := range ids {
		resp, body := s.do(t, "POST", "/admin/v1/decisions/"+id+"/replay", s.token, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"match":true`) {
			t.Errorf("replay of agent decision %s: %d %s", id, resp.StatusCode, body)
		}
	}

	// The agent is listed with its revision.
	waitFor(t, 10*time.Second, "the agent listed on r2", func() bool {
		var fleet struct {
			Active string `json:"active"`
			Agents []struct {
				Revision string `json:"revision"`
				Lagging  bool   `json:"lagging"`
			} `json:"agents"`
		}
		resp, body := s.do(t, "GET", "/admin/v1/agents", s.token, nil)
		return resp.StatusCode == 200 && json.Unmarshal(body, &fleet) == nil && len(fleet.Agents) == 1 &&
			fleet.Agents[0].Revision == "r2" && !fleet.Agents[0].Lagging && fleet.Active == "r2"
	})
}

// TestAgentEndpoints: bundles answer 304 on the current revision after the
// long poll; uploads that are not gzip or not an array are refused, bad
// events are quarantined and the rest stored, once however often uploaded.
func TestAgentEndpoints(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	agent := addToken(t, s.db.Pool, auth.Agent)
	req := func(method, path string, body []byte, headers map[string]string) (*http.Response, []byte) {
		t.Helper()
		r, _ := http.NewRequest(method, s.url+path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+agent)
		for k, v := range headers {
			r.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, _ := req("GET", "/bundles/signalgate", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("ETag") != `"r1"` || resp.Header.Get("Content-Type") != "application/vnd.openpolicyagent.bundles" {
		t.Fatalf("bundle: %d %v", resp.StatusCode, resp.Header)
	}
	start := time.Now()
	resp, _ = req("GET", "/bundles/signalgate", nil, map[string]string{"If-None-Match": `"r1"`, "Prefer": "modes=snapshot;wait=1"})
	if resp.StatusCode != 304 || time.Since(start) < 900*time.Millisecond {
		t.Errorf("long poll without a publish: %d after %s", resp.StatusCode, time.Since(start))
	}
	if resp, _ := req("GET", "/bundles/other", nil, nil); resp.StatusCode != 404 {
		t.Errorf("unknown bundle: %d", resp.StatusCode)
	}
	if resp, _ := req("GET", "/bundles/signalgate", nil, nil); resp.StatusCode != 200 {
		t.Errorf("bundle again: %d", resp.StatusCode)
	}
	if resp, _ := s.do(t, "GET", "/bundles/signalgate", addToken(t, s.db.Pool, auth.Viewer), nil); resp.StatusCode != 403 {
		t.Errorf("a viewer token fetched the bundle: %d", resp.StatusCode)
	}

	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.Bytes()
	}
	for name, body := range map[string][]byte{"plain JSON": []byte(`[]`), "gzip of an object": gz(`{"a":1}`), "gzip of garbage": gz(`[{`)} {
		if resp, out := req("POST", "/logs", body, nil); resp.StatusCode != 400 || !strings.Contains(string(out), "message") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, out)
		}
	}
	good := `{"decision_id":"4ca636c1-55e4-417a-b1d8-4aceb67960d1","path":"signalgate/decision","timestamp":"2026-11-29T10:00:00.123456789Z",
		"labels":{"id":"agent-1","version":"1.22.3"},"bundles":{"signalgate":{"revision":"r1"}},
		"input":{"signal":{"source":"ai_chat","topics":["hiking"]},"subject":{"id":"u-7","region":"FR"},"purpose":"ads"},
		"result":{"allow":false,"reasons":[{"code":"region_excluded","detail":"FR"}]},"metrics":{"timer_rego_query_eval_ns":12345}}`
	bad := `{"decision_id":"not-a-uuid","timestamp":"2026-11-29T10:00:00Z","input":{}}`
	nul := `{"decision_id":"5ca636c1-55e4-417a-b1d8-4aceb67960d1","timestamp":"2026-11-29T10:00:00Z","input":{"a":"\u0000"}}`
	// A NUL outside the input would fail the whole chunk in the database.
	nulPath := `{"decision_id":"6ca636c1-55e4-417a-b1d8-4aceb67960d1","timestamp":"2026-11-29T10:00:00Z","path":"a\u0000b"}`
	// An instant far from 2000 is stored as itself, not clamped.
	ancient := `{"decision_id":"7ca636c1-55e4-417a-b1d8-4aceb67960d1","timestamp":"0001-01-01T00:00:01Z","path":"x"}`
	for range 2 { // a retried chunk stores nothing twice
		resp, out := req("POST", "/logs/partition-a", gz("["+good+","+bad+","+nul+","+nulPath+","+ancient+"]"), nil)
		if resp.StatusCode != 200 || !strings.Contains(string(out), `"stored":2`) || !strings.Contains(string(out), `"quarantined":3`) {
			t.Fatalf("upload: %d %s", resp.StatusCode, out)
		}
	}
	var rows int
	var region, client, revision string
	var evalNS int64
	if err := s.db.Pool.QueryRow(context.Background(), `SELECT count(*), min(region), min(client), min(revision), min(eval_ns) FROM decision_logs
		WHERE decision_id = '4ca636c1-55e4-417a-b1d8-4aceb67960d1'`).Scan(&rows, &region, &client, &revision, &evalNS); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || region != "FR" || !strings.HasPrefix(client, "agent:") || revision != "r1" || evalNS != 12345 {
		t.Errorf("stored event: %d rows, %s %s %s %d", rows, region, client, revision, evalNS)
	}
	var ancientAt time.Time
	if err := s.db.Pool.QueryRow(context.Background(), `SELECT decided_at FROM decision_logs
		WHERE decision_id = '7ca636c1-55e4-417a-b1d8-4aceb67960d1'`).Scan(&ancientAt); err != nil || !ancientAt.Equal(time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)) {
		t.Errorf("an event of year 1 stored at %s (%v)", ancientAt, err)
	}
	var fleet struct {
		Quarantined int64 `json:"quarantined"`
	}
	_, body := s.do(t, "GET", "/admin/v1/agents", s.token, nil)
	if json.Unmarshal(body, &fleet) != nil || fleet.Quarantined != 6 {
		t.Errorf("quarantine: %s", body)
	}
	if resp, out := req("POST", "/status", []byte(`{"labels":{}}`), nil); resp.StatusCode != 400 {
		t.Errorf("status without labels.id: %d %s", resp.StatusCode, out)
	}
	if resp, out := req("POST", "/status", []byte(`{"labels":{"id":"a\u0000b"}}`), nil); resp.StatusCode != 400 || !strings.Contains(string(out), "NUL") {
		t.Errorf("status with a NUL: %d %s", resp.StatusCode, out)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startOPA runs stock OPA as an agent of the server at url (bundle, decision
// logs, status), with extra appended to its configuration, and returns its
// address.
func startOPA(t *testing.T, opa, url, token, extra string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	config := fmt.Sprintf(`services:
  signalgate:
    url: %s
    credentials:
      bearer:
        token: %s
bundles:
  signalgate:
    service: signalgate
    resource: /bundles/signalgate
    polling:
      min_delay_seconds: 1
      max_delay_seconds: 2
      long_polling_timeout_seconds: 10
%s
decision_logs:
  service: signalgate
  reporting:
    min_delay_seconds: 1
    max_delay_seconds: 1
status:
  service: signalgate
`, url, token, extra)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(opa, "run", "--server", "--addr", addr, "--config-file", filepath.Join(dir, "config.yaml"), "--log-level", "error")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("opa output:\n%s", out.String())
		}
	})
	return addr
}

// bundleActive reports whether the agent at addr activated its bundle.
func bundleActive(addr string) bool {
	resp, err := http.Get("http://" + addr + "/health?bundles")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// TestStockOPAVerifiesSignedBundles: with a signing key configured, agents
// holding the public key activate the bundle; one holding another key
// refuses it.
func TestStockOPAVerifiesSignedBundles(t *testing.T) {
	t.Parallel()
	opa := opaBinary(t)
	private, public := rsaPEM(t)
	_, otherPublic := rsaPEM(t)
	keyFile := filepath.Join(t.TempDir(), "bundle.key")
	if err := os.WriteFile(keyFile, []byte(private), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, map[string]string{"SIGNALGATE_BUNDLE_SIGNING_KEY": keyFile})
	token := addToken(t, s.db.Pool, auth.Agent)
	keys := func(pub string) string {
		return "    signing:\n      keyid: signalgate\nkeys:\n  signalgate:\n    algorithm: RS256\n    key: |\n      " +
			strings.ReplaceAll(strings.TrimSpace(pub), "\n", "\n      ")
	}
	trusting := startOPA(t, opa, s.url, token, keys(public))
	doubting := startOPA(t, opa, s.url, token, keys(otherPublic))
	waitFor(t, 30*time.Second, "the agent with the right key to activate the signed bundle", func() bool { return bundleActive(trusting) })
	// The other agent tried the bundle, refused it, and said so.
	waitFor(t, 20*time.Second, "the agent with another key to report its refusal", func() bool {
		var fleet struct {
			Agents []struct {
				Errors []string `json:"errors"`
			} `json:"agents"`
		}
		_, body := s.do(t, "GET", "/admin/v1/agents", s.token, nil)
		if json.Unmarshal(body, &fleet) != nil {
			return false
		}
		for _, a := range fleet.Agents {
			if len(a.Errors) > 0 {
				return true
			}
		}
		return false
	})
	if bundleActive(doubting) {
		t.Error("an agent with another key activated the signed bundle")
	}
}

func rsaPEM(t *testing.T) (private, public string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}
