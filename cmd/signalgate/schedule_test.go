package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/pgtest"
)

// TestScheduledActivation: a revision published without activation and
// scheduled 2 s ahead becomes active on two instances at the instant (the
// product's goal is 100 ms; the test allows 500 ms on a busy machine); a
// cancelled schedule changes nothing; both are in the audit trail.
func TestScheduledActivation(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	a := startServerOn(t, db, map[string]string{"SIGNALGATE_NODE": "node-a"})
	b := startServerOn(t, db, map[string]string{"SIGNALGATE_NODE": "node-b"})
	a.publishCandidate(t, "astrology", "religion")
	for _, bad := range []string{`{"revision":"r2","at":"2020-01-01T00:00:00Z"}`, `{"revision":"r9","at":"2099-01-01T00:00:00Z"}`, `{"revision":"r2"}`, `{"at":"soon"}`} {
		if resp, out := a.do(t, "POST", "/admin/v1/schedules", a.token, []byte(bad)); resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("schedule %s: %d %s", bad, resp.StatusCode, out)
		}
	}

	// A schedule cancelled before its instant never fires.
	soon := time.Now().Add(1500 * time.Millisecond).UTC()
	var cancelled struct {
		ID int64 `json:"id"`
	}
	resp, out := a.do(t, "POST", "/admin/v1/schedules", a.token, []byte(fmt.Sprintf(`{"revision":"r2","at":%q}`, soon.Format(time.RFC3339Nano))))
	if resp.StatusCode != 201 || json.Unmarshal(out, &cancelled) != nil {
		t.Fatalf("schedule: %d %s", resp.StatusCode, out)
	}
	if resp, out := b.do(t, "DELETE", fmt.Sprintf("/admin/v1/schedules/%d", cancelled.ID), b.token, nil); resp.StatusCode != 200 {
		t.Fatalf("cancel: %d %s", resp.StatusCode, out)
	}

	at := time.Now().Add(2 * time.Second).UTC()
	if resp, out := a.do(t, "POST", "/admin/v1/schedules", a.token, []byte(fmt.Sprintf(`{"revision":"r2","at":%q}`, at.Format(time.RFC3339Nano)))); resp.StatusCode != 201 {
		t.Fatalf("schedule: %d %s", resp.StatusCode, out)
	}
	var wg sync.WaitGroup
	for i, n := range []*server{a, b} {
		wg.Go(func() {
			for {
				var out decisionResponse
				resp, body := n.do(t, "POST", "/v1/decisions", n.token, []byte(`{"input":`+benignInput+`}`))
				now := time.Now()
				if resp.StatusCode == 200 && json.Unmarshal(body, &out) == nil && out.Revision == "r2" {
					off := now.Sub(at)
					t.Logf("instance %d decides with r2 %s after the instant", i, off.Round(time.Millisecond))
					if off < -50*time.Millisecond || off > 500*time.Millisecond {
						t.Errorf("instance %d switched %s from the instant, want within 500 ms after it", i, off)
					}
					return
				}
				if now.Sub(soon) > 0 && now.Before(at.Add(-100*time.Millisecond)) && out.Revision == "r2" {
					t.Errorf("instance %d switched at the cancelled schedule", i)
				}
				if now.After(at.Add(3 * time.Second)) {
					t.Errorf("instance %d never switched", i)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()

	var list struct {
		Schedules []struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		} `json:"schedules"`
	}
	waitFor(t, promiseWithRoom, "the schedule recorded done", func() bool {
		_, body := a.do(t, "GET", "/admin/v1/schedules", a.token, nil)
		return json.Unmarshal(body, &list) == nil && len(list.Schedules) == 2 && list.Schedules[0].State == "done" && list.Schedules[1].State == "cancelled"
	})
	var revs struct {
		Active string `json:"active"`
	}
	_, body := b.do(t, "GET", "/admin/v1/revisions", b.token, nil)
	if json.Unmarshal(body, &revs) != nil || revs.Active != "r2" {
		t.Errorf("active after the schedule: %s", body)
	}
	_, body = a.do(t, "GET", "/admin/v1/audit?limit=20", a.token, nil)
	for _, want := range []string{`"schedule.create"`, `"schedule.cancel"`, `"schedule:r2"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
}
