package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

type searchPage struct {
	Decisions []struct {
		DecisionID  string   `json:"decision_id"`
		Allow       *bool    `json:"allow"`
		ReasonCodes []string `json:"reason_codes"`
		Region      string   `json:"region"`
		Subject     string   `json:"subject"`
		RevisionURL string   `json:"revision_url"`
	} `json:"decisions"`
	NextCursor string `json:"next_cursor"`
}

// TestSearchAndReplay: the log is searchable by its filters, pages without
// gaps or duplicates, and every decision replays to its logged result.
func TestSearchAndReplay(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	var ids []string
	for i := range 30 {
		region := []string{"US", "fr", "BR"}[i%3]
		in := fmt.Sprintf(`{"signal":{"source":"ai_chat","topics":["hiking"]},"subject":{"id":"u-%d","region":%q},"purpose":"ads"}`, i, region)
		resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(`{"input":`+in+`}`))
		var d decisionResponse
		if resp.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
			t.Fatalf("decision %d: %d %s", i, resp.StatusCode, body)
		}
		ids = append(ids, d.DecisionID)
	}
	resp, body := s.do(t, "POST", "/v1/data/signalgate/decision/allow", s.token, []byte(`{"input":{"signal":{"source":"like"},"subject":{"region":"US"},"purpose":"ads"}}`))
	var dataDecision struct {
		DecisionID string `json:"decision_id"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &dataDecision) != nil {
		t.Fatalf("data decision: %d %s", resp.StatusCode, body)
	}

	search := func(query string) searchPage {
		t.Helper()
		resp, body := s.do(t, "GET", "/admin/v1/decisions?"+query, s.token, nil)
		var p searchPage
		if resp.StatusCode != 200 || json.Unmarshal(body, &p) != nil {
			t.Fatalf("search %s: %d %s", query, resp.StatusCode, body)
		}
		return p
	}
	// Newest first, seven at a time, every decision exactly once.
	seen := map[string]int{}
	var order []string
	for cursor, pages := "", 0; ; pages++ {
		q := "limit=7"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		p := search(q)
		for _, d := range p.Decisions {
			seen[d.DecisionID]++
			order = append(order, d.DecisionID)
		}
		if p.NextCursor == "" || pages > 10 {
			break
		}
		cursor = p.NextCursor
	}
	if len(order) != 31 || len(seen) != 31 {
		t.Fatalf("paged through %d rows (%d distinct), want 31", len(order), len(seen))
	}
	if order[0] != dataDecision.DecisionID || order[30] != ids[0] {
		t.Errorf("not newest first: first %s last %s", order[0], order[30])
	}

	if p := search("region=fr&allow=false&reason=region_excluded"); len(p.Decisions) != 10 || p.Decisions[0].Region != "FR" {
		t.Errorf("denied in FR: %d rows", len(p.Decisions))
	}
	if p := search("subject=u-4"); len(p.Decisions) != 1 || p.Decisions[0].DecisionID != ids[4] || p.Decisions[0].RevisionURL != "/admin/v1/revisions/r1" {
		t.Errorf("subject u-4: %+v", p.Decisions)
	}
	if p := search("allow=true&source=ai_chat"); len(p.Decisions) != 20 {
		t.Errorf("allowed: %d rows, want 20", len(p.Decisions))
	}
	for _, bad := range []string{"allow=maybe", "from=yesterday", "cursor=xyz", "limit=5000", "id=42"} {
		if resp, _ := s.do(t, "GET", "/admin/v1/decisions?"+bad, s.token, nil); resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", bad, resp.StatusCode)
		}
	}

	for _, id := range []string{ids[1], ids[5], dataDecision.DecisionID} {
		resp, body := s.do(t, "POST", "/admin/v1/decisions/"+id+"/replay", s.token, nil)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"match":true`) {
			t.Errorf("replay %s: %d %s", id, resp.StatusCode, body)
		}
	}
	env := map[string]string{"SIGNALGATE_DATABASE_URL": s.db.URL, "SIGNALGATE_DATA_DIR": t.TempDir(), "SIGNALGATE_LOG_LEVEL": "error"}
	out, errOut, err := runCLI(t, env, "audit", "replay", "--from", "2020-01-01T00:00:00Z")
	if err != nil || !strings.Contains(out, "31 decisions replayed, 0 mismatched") {
		t.Errorf("audit replay: %v %s %s", err, out, errOut)
	}
	if _, err := s.db.Pool.Exec(context.Background(),
		`UPDATE decision_logs SET result = '{"allow": true, "reasons": []}' WHERE decision_id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, env, "audit", "replay", "--from", "2020-01-01T00:00:00Z")
	if !errors.Is(err, errExit1) || !strings.Contains(out, "MISMATCH "+ids[1]) || !strings.Contains(out, "1 mismatched") {
		t.Errorf("audit replay after an edit: %v %s", err, out)
	}
	if resp, body := s.do(t, "POST", "/admin/v1/decisions/"+ids[1]+"/replay", s.token, nil); resp.StatusCode != 200 || !strings.Contains(string(body), `"match":false`) {
		t.Errorf("replay of an altered row: %d %s", resp.StatusCode, body)
	}
	if resp, _ := s.do(t, "GET", "/admin/v1/decisions/"+ids[2], s.token, nil); resp.StatusCode != 200 {
		t.Errorf("get: %d", resp.StatusCode)
	}
	if resp, _ := s.do(t, "GET", "/admin/v1/decisions/0190c1a0-0000-7000-8000-000000000000", s.token, nil); resp.StatusCode != 404 {
		t.Errorf("unknown id: %d, want 404", resp.StatusCode)
	}
}
