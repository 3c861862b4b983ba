package rollout

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/shadow"
)

func TestPercentFollowsTheSteps(t *testing.T) {
	t0 := time.Date(2025, 12, 16, 0, 0, 0, 0, time.UTC)
	r := Rollout{Steps: []Step{{1, t0}, {5, t0.Add(time.Hour)}, {50, t0.Add(2 * time.Hour)}}}
	for _, c := range []struct {
		at   time.Time
		want int
	}{
		{t0.Add(-time.Nanosecond), 0}, {t0, 1}, {t0.Add(time.Hour - 1), 1}, {t0.Add(time.Hour), 5}, {t0.Add(3 * time.Hour), 50},
	} {
		if got := r.Percent(c.at); got != c.want {
			t.Errorf("Percent(%s) = %d, want %d", c.at, got, c.want)
		}
	}
	if n := r.Next(t0); n == nil || n.Percent != 5 {
		t.Errorf("Next(t0) = %+v, want the 5%% step", n)
	}
	if n := r.Next(t0.Add(2 * time.Hour)); n != nil {
		t.Errorf("Next after the last step = %+v, want nil", n)
	}
}

// A share holds close to its percentage of subjects, stepping up keeps
// everyone already on the candidate, and each rollout draws afresh.
func TestSlotsAreStableAndEven(t *testing.T) {
	t0 := time.Now()
	five := Rollout{ID: 7, Steps: []Step{{5, t0}}}
	fifty := Rollout{ID: 7, Steps: []Step{{50, t0}}}
	other := Rollout{ID: 8, Steps: []Step{{5, t0}}}
	const n = 20000
	var inFive, inFifty, same int
	for i := range n {
		s := fmt.Sprintf("subject-%d", i)
		if five.Picks(s, t0) {
			inFive++
			if !fifty.Picks(s, t0) {
				t.Fatalf("%s left the candidate when the share grew", s)
			}
			if other.Picks(s, t0) {
				same++
			}
		}
		if fifty.Picks(s, t0) {
			inFifty++
		}
	}
	if inFive < n*4/100 || inFive > n*6/100 || inFifty < n*48/100 || inFifty > n*52/100 {
		t.Errorf("5%% picked %d and 50%% picked %d of %d subjects", inFive, inFifty, n)
	}
	if same > inFive/5 {
		t.Errorf("another rollout picked %d of the same %d subjects", same, inFive)
	}
	if five.Picks("", t0) || (Rollout{ID: 7, Steps: []Step{{100, t0}}}).Picks("", t0) {
		t.Error("an input without a subject id was picked")
	}
}

func TestCheckSteps(t *testing.T) {
	t0 := time.Now()
	for _, c := range []struct {
		steps []Step
		want  string // in the message, "" for none
	}{
		{[]Step{{1, t0}, {5, t0.Add(time.Hour)}, {100, t0.Add(2 * time.Hour)}}, ""},
		{nil, "give 1 to 5 steps"},
		{[]Step{{2, t0}}, "use one of"},
		{[]Step{{5, t0}, {1, t0.Add(time.Hour)}}, "larger share"},
		{[]Step{{1, t0}, {5, t0}}, "come after"},
	} {
		got := CheckSteps(c.steps)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("CheckSteps(%v) = %q, want %q", c.steps, got, c.want)
		}
	}
}

func TestBreach(t *testing.T) {
	g := settings.DefaultGuardRails() // +5 points deny, +1 point errors, 200 decisions
	for _, c := range []struct {
		name  string
		tally shadow.Tally
		want  string
	}{
		{"too few decisions", shadow.Tally{Decisions: 199, CandidateDenied: 199}, ""},
		{"within the deny limit", shadow.Tally{Decisions: 1000, CandidateDenied: 150, BaselineDenied: 100}, ""},
		{"past the deny limit", shadow.Tally{Decisions: 1000, CandidateDenied: 151, BaselineDenied: 100}, "deny rate of r2 15.1% against 10.0% for r1 on the same 1000 inputs"},
		{"denying less is fine", shadow.Tally{Decisions: 1000, BaselineDenied: 900}, ""},
		{"past the error limit", shadow.Tally{Decisions: 1000, CandidateErrors: 20, BaselineErrors: 5}, "error rate of r2 2.0% against 0.5%"},
	} {
		got := Breach(c.tally, g, "r2", "r1")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: Breach = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestSlotIsFNV1a: the written-out hash is FNV-1a over the id's big-endian
// bytes and the subject, as hash/fnv computes it.
func TestSlotIsFNV1a(t *testing.T) {
	for _, c := range []struct {
		id      int64
		subject string
	}{{1, "subject-1"}, {7, ""}, {-3, "é☃"}, {1 << 40, "u-42"}} {
		h := fnv.New64a()
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(c.id))
		h.Write(b[:])
		h.Write([]byte(c.subject))
		if got, want := Slot(c.id, c.subject), int(h.Sum64()%10000); got != want {
			t.Errorf("Slot(%d, %q) = %d, want %d", c.id, c.subject, got, want)
		}
	}
}
