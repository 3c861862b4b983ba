package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/pgtest"
	"github.com/signalgate/signalgate/internal/rollout"
)

// rolloutView is the part of a rollout the tests read.
type rolloutView struct {
	ID        int64  `json:"id"`
	State     string `json:"state"`
	Percent   int    `json:"percent"`
	Baseline  string `json:"baseline"`
	EndedBy   string `json:"ended_by"`
	EndReason string `json:"end_reason"`
}

// TestProgressiveRollout: on two instances over one database, a candidate
// decides for a stable share of subjects (the same subjects on both),
// stepped up on its schedule; when it denies far more than the active
// revision on the same inputs, the guard rails roll it back and the audit
// trail says why; a rollout completed makes the candidate active.
func TestProgressiveRollout(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	a := startServerOn(t, db, map[string]string{"SIGNALGATE_NODE": "node-a"})
	b := startServerOn(t, db, map[string]string{"SIGNALGATE_NODE": "node-b"})
	a.publishCandidate(t, "knitting", "health")
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for bad, status := range map[string]int{
		`{}`: 400,
		`{"candidate":"r2","steps":[{"percent":3}]}`:                                      400,
		`{"candidate":"r2","steps":[{"percent":5},{"percent":1,"at":"` + soon + `"}]}`:    400,
		`{"candidate":"r2","steps":[{"percent":1},{"percent":5}]}`:                        400,
		`{"candidate":"r2","steps":[{"percent":1}],"extra":true}`:                         400,
		`{"candidate":"r9","steps":[{"percent":1}]}`:                                      404,
		`{"candidate":"r1","steps":[{"percent":1}]}`:                                      409,
		`{"candidate":"r2","steps":[{"percent":1,"at":"` + soon + `"}],"candidate":"r1"}`: 400,
	} {
		if resp, out := a.do(t, "POST", "/admin/v1/rollouts", a.token, []byte(bad)); resp.StatusCode != status {
			t.Errorf("start %s: %d %s, want %d", bad, resp.StatusCode, out, status)
		}
	}
	if resp, out := a.do(t, "PUT", "/admin/v1/settings", a.token, []byte(`{"rollout_guard_rails":{"min_decisions":40}}`)); resp.StatusCode != 200 {
		t.Fatalf("guard rails: %d %s", resp.StatusCode, out)
	}

	// 5 % now, 50 % a moment later, on its own.
	half := time.Now().Add(1500 * time.Millisecond).UTC()
	resp, out := a.do(t, "POST", "/admin/v1/rollouts", a.token, []byte(fmt.Sprintf(
		`{"candidate":"r2","steps":[{"percent":5},{"percent":50,"at":%q}]}`, half.Format(time.RFC3339Nano))))
	var ro rolloutView
	if resp.StatusCode != 201 || json.Unmarshal(out, &ro) != nil || ro.State != "running" || ro.Percent != 5 || ro.Baseline != "r1" {
		t.Fatalf("start: %d %s", resp.StatusCode, out)
	}
	if resp, out := b.do(t, "POST", "/admin/v1/rollouts", b.token, []byte(`{"candidate":"r2","steps":[{"percent":1}]}`)); resp.StatusCode != 409 {
		t.Errorf("a second rollout: %d %s, want 409", resp.StatusCode, out)
	}
	decide := func(s *server, subject, topic string) decisionResponse {
		t.Helper()
		var out decisionResponse
		resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(fmt.Sprintf(
			`{"input":{"signal":{"source":"ai_chat","topics":[%q]},"subject":{"id":%q,"region":"US"},"purpose":"ads"}}`, topic, subject)))
		if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
			t.Fatalf("decision: %d %s", resp.StatusCode, body)
		}
		return out
	}
	// Once the 50 % step is in force, exactly the subjects whose slot is
	// below 5000 get the candidate, on either instance. The topic is one
	// both revisions allow, so the guard rails stay quiet.
	time.Sleep(time.Until(half))
	subjects := make([]string, 40)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("subject-%d", i)
	}
	picked := func(subject string) bool { return rollout.Slot(ro.ID, subject) < 5000 }
	waitFor(t, promiseWithRoom, "both instances to route half the subjects to r2", func() bool {
		for i, subject := range subjects {
			s := []*server{a, b}[i%2]
			if got := decide(s, subject, "hiking"); (got.Revision == "r2") != picked(subject) || !got.Result.Allow {
				return false
			}
		}
		return true
	})
	if _, metrics := b.do(t, "GET", "/metrics", b.token, nil); !strings.Contains(string(metrics), "\nsignalgate_rollout_percent 50\n") {
		t.Error("the metrics do not show the 50% share in force")
	}
	if out := decide(a, "", "hiking"); out.Revision != "r1" {
		t.Errorf("an input without a subject id was decided by %s, want the active r1", out.Revision)
	}

	// Now the candidate denies what the active revision allows: knitting.
	// The guard rails may act before the loop ends: from then on r1 decides.
	deniedByR2 := 0
	for range 3 {
		for i, subject := range subjects {
			got := decide([]*server{a, b}[i%2], subject, "knitting")
			switch {
			case got.Revision == "r2" && got.Result.Allow:
				t.Fatalf("r2 allowed knitting for %s", subject)
			case got.Revision == "r2":
				deniedByR2++
			case !got.Result.Allow:
				t.Fatalf("r1 denied knitting for %s", subject)
			}
		}
	}
	if deniedByR2 == 0 {
		t.Fatal("r2 decided no knitting input")
	}
	waitFor(t, 15*time.Second, "the guard rails to roll r2 back", func() bool {
		_, body := b.do(t, "GET", fmt.Sprintf("/admin/v1/rollouts/%d", ro.ID), b.token, nil)
		var got struct {
			Rollout rolloutView `json:"rollout"`
		}
		if json.Unmarshal(body, &got) != nil {
			return false
		}
		ro = got.Rollout
		return ro.State != "running"
	})
	if ro.State != "rolled_back" || ro.EndedBy != rollout.GuardActor || !strings.Contains(ro.EndReason, "deny rate of r2") {
		t.Fatalf("after the guard rails: %+v", ro)
	}
	_, body := a.do(t, "GET", "/admin/v1/audit?limit=20", a.token, nil)
	for _, want := range []string{`"rollout.start"`, `"rollout.rollback"`, `"system:guard-rails"`, `guard rail broken: deny rate of r2`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
	waitFor(t, promiseWithRoom, "both instances to decide with r1 again", func() bool {
		for i, subject := range subjects {
			if decide([]*server{a, b}[i%2], subject, "knitting").Revision != "r1" {
				return false
			}
		}
		return true
	})
	if resp, out := a.do(t, "POST", fmt.Sprintf("/admin/v1/rollouts/%d/step", ro.ID), a.token, []byte(`{"percent":25}`)); resp.StatusCode != 409 {
		t.Errorf("stepping a rolled back rollout: %d %s, want 409", resp.StatusCode, out)
	}

	// A second rollout, stepped by hand and completed: r2 becomes active.
	resp, out = a.do(t, "POST", "/admin/v1/rollouts", a.token, []byte(`{"candidate":"r2","steps":[{"percent":1}]}`))
	if resp.StatusCode != 201 || json.Unmarshal(out, &ro) != nil {
		t.Fatalf("start again: %d %s", resp.StatusCode, out)
	}
	for bad, status := range map[string]int{`{"percent":30}`: 400, `{"percent":"all"}`: 400} {
		if resp, out := a.do(t, "POST", fmt.Sprintf("/admin/v1/rollouts/%d/step", ro.ID), a.token, []byte(bad)); resp.StatusCode != status {
			t.Errorf("step %s: %d %s, want %d", bad, resp.StatusCode, out, status)
		}
	}
	resp, out = b.do(t, "POST", fmt.Sprintf("/admin/v1/rollouts/%d/step", ro.ID), b.token, []byte(`{"percent":25}`))
	if resp.StatusCode != 200 || json.Unmarshal(out, &ro) != nil || ro.Percent != 25 {
		t.Fatalf("step: %d %s", resp.StatusCode, out)
	}
	resp, out = a.do(t, "POST", fmt.Sprintf("/admin/v1/rollouts/%d/complete", ro.ID), a.token, nil)
	if resp.StatusCode != 200 || json.Unmarshal(out, &ro) != nil || ro.State != "completed" {
		t.Fatalf("complete: %d %s", resp.StatusCode, out)
	}
	waitFor(t, promiseWithRoom, "both instances to decide with r2 for everyone", func() bool {
		return decide(a, "", "hiking").Revision == "r2" && decide(b, "subject-1", "hiking").Revision == "r2"
	})
	_, body = a.do(t, "GET", "/admin/v1/audit?limit=20", a.token, nil)
	for _, want := range []string{`"rollout.step"`, `"rollout.complete"`, `"revision.activate"`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the audit trail lacks %s", want)
		}
	}
}
