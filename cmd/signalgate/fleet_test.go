package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/pgtest"
)

// TestPublishesUnderLoad: two instances on one database keep deciding while
// 100 publishes go through one of them. No decision fails, and every answer
// matches the revision it names: no decision sees a half-loaded policy.
func TestPublishesUnderLoad(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	// A loaded test machine (race detector, both instances, the publisher)
	// can push an evaluation past the default 50ms; this test is about
	// consistency, so give evaluations room.
	env := map[string]string{"SIGNALGATE_EVAL_TIMEOUT": "10s"}
	a := startServerOn(t, db, env)
	b := startServerOn(t, db, env)
	base := a.draft(t)
	raw, _ := json.Marshal(base.Data)
	var sensitive map[string]any
	_ = json.Unmarshal([]byte(strings.Replace(string(raw), `"topic_categories":{`, `"topic_categories":{"astrology":"religion",`, 1)), &sensitive)
	contents := []draftBody{{Modules: base.Modules, Data: sensitive}, {Modules: base.Modules, Data: base.Data}}

	// allowedBy records, per revision, whether the astrology input is allowed.
	var allowedBy sync.Map
	allowedBy.Store("r1", true)
	input := []byte(`{"input":{"signal":{"source":"like","topics":["astrology"]},"subject":{"region":"US"},"purpose":"ads"}}`)
	stop := make(chan struct{})
	var decided, failed, mismatched atomic.Int64
	var wg sync.WaitGroup
	for _, s := range []*server{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, body := s.do(t, "POST", "/v1/decisions", s.token, input)
				var d decisionResponse
				if resp.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
					failed.Add(1)
					continue
				}
				decided.Add(1)
				if len(d.Result.Reasons) > 0 && d.Result.Reasons[0].Code == "evaluation_error" {
					failed.Add(1)
					continue
				}
				if want, ok := allowedBy.Load(d.Revision); !ok || want.(bool) != d.Result.Allow {
					// A revision is recorded before it is published, so an
					// unknown one is a mismatch too.
					mismatched.Add(1)
				}
			}
		}()
	}
	const publishes = 100
	start := time.Now()
	for i := range publishes {
		c := contents[i%2]
		d := a.draft(t)
		if resp, body := a.putDraft(t, c, d.ETag); resp.StatusCode != 200 {
			t.Fatalf("save %d: %d %s", i, resp.StatusCode, body)
		}
		allowedBy.Store(fmt.Sprintf("r%d", i+2), i%2 == 1)
		resp, body := a.do(t, "POST", "/admin/v1/draft/publish", a.token, []byte(fmt.Sprintf(`{"message":"publish %d"}`, i)))
		if resp.StatusCode != 201 {
			t.Fatalf("publish %d: %d %s", i, resp.StatusCode, body)
		}
	}
	elapsed := time.Since(start)
	// Let the other instance catch up with the last publish.
	deadline := time.Now().Add(promiseWithRoom)
	for time.Now().Before(deadline) {
		resp, body := b.do(t, "POST", "/v1/decisions", b.token, input)
		if resp.StatusCode == 200 && strings.Contains(string(body), fmt.Sprintf(`"revision":"r%d"`, publishes+1)) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d publishes in %s; %d decisions during them", publishes, elapsed.Round(time.Millisecond), decided.Load())
	if failed.Load() != 0 || mismatched.Load() != 0 || decided.Load() < publishes {
		t.Fatalf("%d decisions failed and %d did not match their revision (of %d)", failed.Load(), mismatched.Load(), decided.Load())
	}
	resp, body := b.do(t, "POST", "/v1/decisions", b.token, input)
	if resp.StatusCode != 200 || !strings.Contains(string(body), fmt.Sprintf(`"revision":"r%d"`, publishes+1)) {
		t.Errorf("the other instance is not on the last revision a second after it: %s", body)
	}
}

// TestThreeInstances: three instances on one database; a publish through one
// is served by all three within a second, and the decisions of all three
// land in one log.
func TestThreeInstances(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var nodes []*server
	for _, name := range []string{"node-a", "node-b", "node-c"} {
		nodes = append(nodes, startServerOn(t, db, map[string]string{"SIGNALGATE_NODE": name}))
	}
	d := nodes[0].draft(t)
	d.Data["targeting"].(map[string]any)["topic_categories"].(map[string]any)["astrology"] = "religion"
	if resp, out := nodes[0].putDraft(t, d, d.ETag); resp.StatusCode != 200 {
		t.Fatalf("save draft: %d %s", resp.StatusCode, out)
	}
	published := time.Now()
	if resp, out := nodes[0].do(t, "POST", "/admin/v1/draft/publish", nodes[0].token, []byte(`{"message":"astrology"}`)); resp.StatusCode != 201 {
		t.Fatalf("publish: %d %s", resp.StatusCode, out)
	}
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() {
			for {
				var out decisionResponse
				resp, body := n.do(t, "POST", "/v1/decisions", n.token, []byte(`{"input":`+benignInput+`}`))
				if resp.StatusCode == 200 && json.Unmarshal(body, &out) == nil && out.Revision == "r2" {
					took := time.Since(published)
					t.Logf("node %d serves r2 %s after the publish", i, took.Round(time.Millisecond))
					if took > promiseWithRoom {
						t.Errorf("node %d took %s to serve the publish", i, took)
					}
					return
				}
				if time.Since(published) > 2*promiseWithRoom {
					t.Errorf("node %d never served r2", i)
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	// The fleet view lists the three, all on r2.
	waitFor(t, promiseWithRoom, "three instances listed on r2", func() bool {
		var fleet struct {
			Instances []struct {
				Node     string `json:"node"`
				Revision string `json:"revision"`
				Lagging  bool   `json:"lagging"`
			} `json:"instances"`
		}
		resp, body := nodes[1].do(t, "GET", "/admin/v1/agents", nodes[1].token, nil)
		if resp.StatusCode != 200 || json.Unmarshal(body, &fleet) != nil || len(fleet.Instances) != 3 {
			return false
		}
		for _, in := range fleet.Instances {
			if in.Revision != "r2" || in.Lagging {
				return false
			}
		}
		return true
	})
	var found []string
	rows, err := db.Pool.Query(t.Context(), `SELECT DISTINCT node FROM decision_logs ORDER BY node`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		found = append(found, n)
	}
	if strings.Join(found, ",") != "node-a,node-b,node-c" {
		t.Errorf("nodes in the log: %v", found)
	}
}
