package main

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestShadowEvaluation: a candidate in shadow decides every input again,
// off the response path: answers still come from the active revision, and
// the candidate's disagreements are counted by region, source and reason.
func TestShadowEvaluation(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	s.publishCandidate(t, "knitting", "health")
	// A candidate every instance would fail to load is refused at once.
	for _, bad := range []string{`{"shadow_revision": "seven"}`, `{"shadow_revision": "r99"}`} {
		if resp, out := s.do(t, "PUT", "/admin/v1/settings", s.token, []byte(bad)); resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("settings %s: %d %s, want a 4xx", bad, resp.StatusCode, out)
		}
	}
	if resp, out := s.do(t, "PUT", "/admin/v1/settings", s.token, []byte(`{"shadow_revision": "r2"}`)); resp.StatusCode != 200 {
		t.Fatalf("shadow r2: %d %s", resp.StatusCode, out)
	}
	type summary struct {
		Candidate string           `json:"candidate"`
		Evaluated int64            `json:"evaluated"`
		Disagreed int64            `json:"disagreed"`
		ByRegion  map[string]int64 `json:"by_region"`
		ByReason  map[string]int64 `json:"by_reason"`
	}
	// The setting reaches the instance through NOTIFY; decide until it shadows.
	var sum summary
	waitFor(t, 10*time.Second, "the candidate to shadow decisions", func() bool {
		for i, topic := range []string{"knitting", "hiking", "knitting"} {
			var out decisionResponse
			resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(fmt.Sprintf(
				`{"input":{"signal":{"source":"ai_chat","topics":[%q]},"subject":{"id":"u-%d","region":"US"},"purpose":"ads"}}`, topic, i)))
			if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil || out.Revision != "r1" || !out.Result.Allow {
				t.Fatalf("decision under shadow: %d %s", resp.StatusCode, body)
			}
		}
		_, body := s.do(t, "GET", "/admin/v1/shadow", s.token, nil)
		return json.Unmarshal(body, &sum) == nil && sum.Evaluated > 0
	})
	// Once it shadows, six more decisions, four of them about knitting: six
	// more evaluated, four more disagreements.
	time.Sleep(1500 * time.Millisecond) // the counts of the first round are flushed
	_, body := s.do(t, "GET", "/admin/v1/shadow", s.token, nil)
	var before summary
	if err := json.Unmarshal(body, &before); err != nil {
		t.Fatal(err)
	}
	for i, topic := range []string{"knitting", "hiking", "knitting", "knitting", "hiking", "knitting"} {
		resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(fmt.Sprintf(
			`{"input":{"signal":{"source":"ai_chat","topics":[%q]},"subject":{"id":"u-%d","region":"US"},"purpose":"ads"}}`, topic, i)))
		if resp.StatusCode != 200 {
			t.Fatalf("decision: %d %s", resp.StatusCode, body)
		}
	}
	waitFor(t, 5*time.Second, "six more shadowed decisions", func() bool {
		_, body := s.do(t, "GET", "/admin/v1/shadow", s.token, nil)
		return json.Unmarshal(body, &sum) == nil && sum.Evaluated == before.Evaluated+6
	})
	if sum.Disagreed != before.Disagreed+4 {
		t.Errorf("disagreements %d → %d, want 4 more", before.Disagreed, sum.Disagreed)
	}
	if sum.Candidate != "r2" || sum.ByRegion["US"] != sum.Disagreed || sum.ByReason["sensitive_category"] != sum.Disagreed {
		t.Errorf("shadow summary: %+v", sum)
	}
	if resp, out := s.do(t, "PUT", "/admin/v1/settings", s.token, []byte(`{"shadow_revision": ""}`)); resp.StatusCode != 200 {
		t.Fatalf("stop shadow: %d %s", resp.StatusCode, out)
	}
}
