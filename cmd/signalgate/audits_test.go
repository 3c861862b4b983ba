package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/store"
)

// loggedDecision is a search result or an NDJSON export line.
type loggedDecision struct {
	DecisionID  string          `json:"decision_id"`
	DecidedAt   time.Time       `json:"decided_at"`
	Path        string          `json:"path"`
	Input       json.RawMessage `json:"input"`
	Result      json.RawMessage `json:"result"`
	Allow       *bool           `json:"allow"`
	ReasonCodes []string        `json:"reason_codes"`
	Source      string          `json:"source"`
	Purpose     string          `json:"purpose"`
	Region      string          `json:"region"`
	Subject     string          `json:"subject"`
	Revision    string          `json:"revision"`
	Client      string          `json:"client"`
	Node        string          `json:"node"`
	EvalNS      int64           `json:"eval_ns"`
	Masked      []string        `json:"masked"`
}

// decide makes one native decision and returns its id.
func (s *server) decide(t *testing.T, input string) string {
	t.Helper()
	resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(`{"input":`+input+`}`))
	var d decisionResponse
	if resp.StatusCode != 200 || json.Unmarshal(body, &d) != nil {
		t.Fatalf("decision: %d %s", resp.StatusCode, body)
	}
	return d.DecisionID
}

// getJSON GETs path as the admin and decodes a 200 answer into v.
func (s *server) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, body := s.do(t, "GET", path, s.token, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// searchAll pages through a search with small pages, newest first.
func (s *server) searchAll(t *testing.T, query string) []loggedDecision {
	t.Helper()
	var all []loggedDecision
	for cursor := ""; ; {
		q := query + "&limit=7"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Decisions  []loggedDecision `json:"decisions"`
			NextCursor string           `json:"next_cursor"`
		}
		s.getJSON(t, "/admin/v1/decisions?"+q, &page)
		all = append(all, page.Decisions...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

var testRegions = []string{"US", "FR", "BR", "de", "JP"}

// mixedInput is the i-th of a varied set of inputs: regions in and out of
// the exclusions, mapped and unmapped topics, several sources.
func mixedInput(i int) string {
	topics := [][]string{{"hiking"}, {"knitting", "hiking"}, {"cancer"}, {}, {"knitting"}}[i%5]
	source := []string{"ai_chat", "ai_chat", "like", "ai_chat", "share", "comment", "podcast"}[i%7]
	tj, _ := json.Marshal(topics)
	return fmt.Sprintf(`{"signal":{"source":%q,"topics":%s},"subject":{"id":"u-%d","region":%q},"purpose":%q}`,
		source, tj, i%9, testRegions[i%len(testRegions)], []string{"ads", "content_recommendation"}[i%2])
}

// TestExportStatsCoverage: an export returns exactly what the search does,
// in both formats, and is audited; statistics equal counts over the rows,
// before and after folding; coverage ranks the unmapped topics; pages stay
// exact while decisions keep arriving.
func TestExportStatsCoverage(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	start := time.Now().Add(-time.Minute)
	for i := range 40 {
		s.decide(t, mixedInput(i))
	}
	logged := s.searchAll(t, "from="+url.QueryEscape(start.UTC().Format(time.RFC3339)))
	if len(logged) != 40 {
		t.Fatalf("search found %d decisions, want 40", len(logged))
	}

	// NDJSON: line for line the search's decisions, newest first.
	resp, body := s.do(t, "GET", "/admin/v1/decisions/export?format=ndjson", s.token, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.Trailer.Get(trailerRowsName) != "40" || resp.Trailer.Get(trailerCompleteName) != "true" {
		t.Errorf("export trailers: %v", resp.Trailer)
	}
	var exported []loggedDecision
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var d loggedDecision
		if err := json.Unmarshal(sc.Bytes(), &d); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		exported = append(exported, d)
	}
	if !reflect.DeepEqual(normalized(exported), normalized(logged)) {
		t.Errorf("NDJSON export differs from the search:\n%+v\n%+v", exported[0], logged[0])
	}

	// CSV: the same rows, the same inputs.
	resp, body = s.do(t, "GET", "/admin/v1/decisions/export?format=csv&region=fr&allow=false", s.token, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("csv export: %d %s", resp.StatusCode, body)
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(records) < 2 || !slices.Equal(records[0], decisionlog.CSVHeader) {
		t.Fatalf("csv: %v %q", err, records)
	}
	var deniedFR []loggedDecision
	for _, d := range logged {
		if d.Region == "FR" && d.Allow != nil && !*d.Allow {
			deniedFR = append(deniedFR, d)
		}
	}
	if len(records)-1 != len(deniedFR) || len(deniedFR) == 0 {
		t.Fatalf("csv has %d rows, want %d", len(records)-1, len(deniedFR))
	}
	for i, rec := range records[1:] {
		want := deniedFR[i]
		var in, wantIn any
		_ = json.Unmarshal([]byte(rec[14]), &in)
		_ = json.Unmarshal(want.Input, &wantIn)
		if rec[0] != want.DecisionID || rec[4] != strings.Join(want.ReasonCodes, " ") || !reflect.DeepEqual(in, wantIn) {
			t.Errorf("csv row %d = %q, want %s", i, rec[:5], want.DecisionID)
		}
	}
	for _, bad := range []string{"format=xml", "from=soon", "cursor=abc"} {
		if resp, body := s.do(t, "GET", "/admin/v1/decisions/export?"+bad, s.token, nil); resp.StatusCode != 400 || !strings.Contains(string(body), "message") {
			t.Errorf("export %s: %d %s", bad, resp.StatusCode, body)
		}
	}
	var trail struct {
		Entries []struct {
			Target string          `json:"target"`
			Detail json.RawMessage `json:"detail"`
		} `json:"entries"`
	}
	s.getJSON(t, "/admin/v1/audit?action=decisions.export", &trail)
	if len(trail.Entries) != 2 || !strings.Contains(string(trail.Entries[0].Detail), `"rows":`+fmt.Sprint(len(deniedFR))) ||
		!strings.Contains(string(trail.Entries[0].Detail), `"region":"fr"`) {
		t.Errorf("exports in the audit trail: %+v", trail.Entries)
	}

	// Statistics equal counts over the logged rows, pending or folded.
	want := map[string]map[string]decisionlog.Counts{"outcome": {}, "reason": {}, "region": {}, "source": {}}
	for _, d := range logged {
		outcome := "undefined"
		if d.Allow != nil {
			outcome = map[bool]string{true: "allow", false: "deny"}[*d.Allow]
		}
		bump := func(by, value string) {
			c := want[by][value]
			c.Add(outcome, 1)
			want[by][value] = c
		}
		bump("outcome", "")
		bump("region", d.Region)
		bump("source", d.Source)
		for _, code := range d.ReasonCodes {
			bump("reason", code)
		}
	}
	checkStats := func(when string) {
		for by, counts := range want {
			var st struct {
				Totals []struct {
					Value string `json:"value"`
					decisionlog.Counts
				} `json:"totals"`
				Series []json.RawMessage `json:"series"`
			}
			s.getJSON(t, "/admin/v1/decisions/stats?bucket=minute&by="+by+"&from="+url.QueryEscape(start.UTC().Format(time.RFC3339)), &st)
			got := map[string]decisionlog.Counts{}
			for _, tot := range st.Totals {
				got[tot.Value] = tot.Counts
			}
			if !reflect.DeepEqual(got, counts) {
				t.Errorf("%s: stats by %s = %v, want %v", when, by, got, counts)
			}
		}
	}
	checkStats("pending")
	owner := ownerStore(t, s)
	if n, err := owner.FoldStats(context.Background()); err != nil || n == 0 {
		t.Fatalf("fold: %d %v", n, err)
	}
	checkStats("folded")
	for _, bad := range []string{"bucket=week", "by=colour", "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
		"bucket=minute&from=2000-01-01T00:00:00Z"} {
		if resp, body := s.do(t, "GET", "/admin/v1/decisions/stats?"+bad, s.token, nil); resp.StatusCode != 400 {
			t.Errorf("stats %s: %d %s", bad, resp.StatusCode, body)
		}
	}

	// Coverage: knitting is seen and unmapped, cancer is mapped to health.
	var cov struct {
		Unmapped       int64 `json:"unmapped"`
		UnmappedTopics []struct {
			Topic   string `json:"topic"`
			Count   int64  `json:"count"`
			Regions []struct {
				Region string `json:"region"`
				Count  int64  `json:"count"`
			} `json:"regions"`
		} `json:"unmapped_topics"`
	}
	s.getJSON(t, "/admin/v1/taxonomy/coverage", &cov)
	topics := map[string]int64{}
	for _, tc := range cov.UnmappedTopics {
		topics[tc.Topic] = tc.Count
	}
	if topics["knitting"] != 16 || topics["hiking"] != 16 || topics["cancer"] != 0 || cov.Unmapped != 32 {
		t.Errorf("coverage: %+v", cov)
	}
	var frOnly struct {
		UnmappedTopics []struct {
			Topic string `json:"topic"`
			Count int64  `json:"count"`
		} `json:"unmapped_topics"`
	}
	s.getJSON(t, "/admin/v1/taxonomy/coverage?region=fr", &frOnly)
	if len(frOnly.UnmappedTopics) == 0 || frOnly.UnmappedTopics[0].Count > 16 {
		t.Errorf("coverage in FR: %+v", frOnly)
	}

	// Paging while decisions keep arriving: every row committed before the
	// first page appears exactly once.
	before := time.Now().UTC()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				s.decide(t, mixedInput(i))
			}
		}
	})
	paged := s.searchAll(t, "to="+url.QueryEscape(before.Format(time.RFC3339Nano)))
	pagedAll := s.searchAll(t, "source=ai_chat")
	close(stop)
	wg.Wait()
	ids := map[string]int{}
	for _, d := range paged {
		ids[d.DecisionID]++
	}
	for _, d := range logged {
		if ids[d.DecisionID] != 1 {
			t.Errorf("decision %s paged %d times", d.DecisionID, ids[d.DecisionID])
		}
	}
	seen := map[string]bool{}
	for _, d := range pagedAll {
		if seen[d.DecisionID] {
			t.Errorf("decision %s paged twice while inserts ran", d.DecisionID)
		}
		seen[d.DecisionID] = true
	}
}

const (
	trailerRowsName     = "X-Signalgate-Export-Rows"
	trailerCompleteName = "X-Signalgate-Export-Complete"
)

// normalized makes decisions comparable across encodings: JSON documents by
// value, times by instant.
func normalized(ds []loggedDecision) []map[string]any {
	out := make([]map[string]any, len(ds))
	for i, d := range ds {
		b, _ := json.Marshal(d)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out[i] = m
	}
	return out
}

// ownerStore opens the test database as its owner, as maintenance runs.
func ownerStore(t *testing.T, s *server) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), s.db.URL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// TestImpactMatchesBruteForce: an impact analysis of a changed draft gives
// the counts a decision-by-decision evaluation under both revisions gives,
// and the publish that follows shows it.
func TestImpactMatchesBruteForce(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for i := range 60 {
		s.decide(t, mixedInput(i))
	}
	// The draft opens podcasts and classifies knitting as health.
	draft := s.draft(t)
	targeting := draft.Data["targeting"].(map[string]any)
	open := map[string]any{"start": "2020-01-01T00:00:00Z"}
	targeting["rollouts"].(map[string]any)["podcast"] = map[string]any{"ads": open, "content_recommendation": open}
	targeting["topic_categories"].(map[string]any)["knitting"] = "health"
	if resp, out := s.putDraft(t, draft, draft.ETag); resp.StatusCode != 200 {
		t.Fatalf("save draft: %d %s", resp.StatusCode, out)
	}
	draft = s.draft(t)

	for _, bad := range []string{`{"last": -1}`, `{"last": 5, "from": "2026-01-01T00:00:00Z"}`, `{"from": "2026-01-01T00:00:00Z"}`, `{"lats": 5}`, `[`} {
		if resp, body := s.do(t, "POST", "/admin/v1/draft/impact", s.token, []byte(bad)); resp.StatusCode != 400 {
			t.Errorf("impact %s: %d %s", bad, resp.StatusCode, body)
		}
	}
	resp, out := s.do(t, "POST", "/admin/v1/draft/impact", s.token, nil)
	var job struct {
		Job    string `json:"job"`
		State  string `json:"state"`
		Total  int64  `json:"total"`
		Result *struct {
			Evaluated, Unchanged, Changed int64
			Transitions                   []struct {
				Transition string   `json:"transition"`
				Count      int64    `json:"count"`
				Samples    []string `json:"samples"`
			} `json:"transitions"`
			ByReason []struct {
				Code           string `json:"code"`
				Added, Removed int64
			} `json:"by_reason"`
			ByRegion []struct {
				Region         string `json:"region"`
				AllowToDeny    int64  `json:"allow_to_deny"`
				DenyToAllow    int64  `json:"deny_to_allow"`
				ReasonsChanged int64  `json:"reasons_changed"`
			} `json:"by_region"`
		} `json:"result"`
	}
	if resp.StatusCode != 202 || json.Unmarshal(out, &job) != nil || job.Total != 60 {
		t.Fatalf("start impact: %d %s", resp.StatusCode, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for job.State == "running" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		s.getJSON(t, "/admin/v1/impact/"+job.Job, &job)
	}
	if job.State != "done" || job.Result == nil {
		t.Fatalf("impact job: %s", job.State)
	}

	// Brute force: every logged decision under r1 and under the draft,
	// through the playground, time pinned to its decision time.
	type answer struct {
		Allow   bool `json:"allow"`
		Reasons []struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
		} `json:"reasons"`
	}
	eval := func(input json.RawMessage, target string, at time.Time) answer {
		body, _ := json.Marshal(map[string]any{"input": input, "revision": target, "as_of": at.Format(time.RFC3339Nano)})
		var r struct {
			Result answer `json:"result"`
		}
		resp, out := s.do(t, "POST", "/admin/v1/evaluate", s.token, body)
		if resp.StatusCode != 200 || json.Unmarshal(out, &r) != nil {
			t.Fatalf("evaluate: %d %s", resp.StatusCode, out)
		}
		return r.Result
	}
	transitions, added, removed := map[string]int64{}, map[string]int64{}, map[string]int64{}
	regionChanges := map[string]int64{}
	changedIDs := map[string]bool{}
	for _, d := range s.searchAll(t, "path=signalgate/decision") {
		was, now := eval(d.Input, "r1", d.DecidedAt), eval(d.Input, "draft", d.DecidedAt)
		codes := func(a answer) map[string]bool {
			m := map[string]bool{}
			for _, r := range a.Reasons {
				m[r.Code] = true
			}
			return m
		}
		sameSet := func(a, b answer) bool {
			x, y := fmt.Sprint(a.Reasons), fmt.Sprint(b.Reasons)
			ax, bx := strings.Fields(x), strings.Fields(y)
			slices.Sort(ax)
			slices.Sort(bx)
			return slices.Equal(ax, bx)
		}
		var kind string
		switch {
		case was.Allow && !now.Allow:
			kind = "allow_to_deny"
		case !was.Allow && now.Allow:
			kind = "deny_to_allow"
		case !sameSet(was, now):
			kind = "reasons_changed"
		default:
			continue
		}
		transitions[kind]++
		regionChanges[d.Region]++
		changedIDs[d.DecisionID] = true
		b, a := codes(was), codes(now)
		for c := range a {
			if !b[c] {
				added[c]++
			}
		}
		for c := range b {
			if !a[c] {
				removed[c]++
			}
		}
	}
	if len(transitions) == 0 {
		t.Fatal("the changed draft changes nothing: the test proves nothing")
	}
	gotTransitions := map[string]int64{}
	for _, tr := range job.Result.Transitions {
		gotTransitions[tr.Transition] = tr.Count
		for _, id := range tr.Samples {
			if !changedIDs[id] {
				t.Errorf("sample %s of %s did not change", id, tr.Transition)
			}
		}
	}
	gotAdded, gotRemoved, gotRegions := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, r := range job.Result.ByReason {
		if r.Added > 0 {
			gotAdded[r.Code] = r.Added
		}
		if r.Removed > 0 {
			gotRemoved[r.Code] = r.Removed
		}
	}
	for _, r := range job.Result.ByRegion {
		gotRegions[r.Region] = r.AllowToDeny + r.DenyToAllow + r.ReasonsChanged
	}
	if job.Result.Evaluated != 60 || !reflect.DeepEqual(gotTransitions, transitions) || !reflect.DeepEqual(gotAdded, added) ||
		!reflect.DeepEqual(gotRemoved, removed) || !reflect.DeepEqual(gotRegions, regionChanges) {
		t.Errorf("impact %+v\nwant transitions %v added %v removed %v regions %v", *job.Result, transitions, added, removed, regionChanges)
	}

	var list struct {
		Jobs []struct {
			Job string `json:"job"`
		} `json:"jobs"`
	}
	s.getJSON(t, "/admin/v1/impact?draft_hash="+url.QueryEscape(draft.ContentHash), &list)
	if len(list.Jobs) != 1 || list.Jobs[0].Job != job.Job {
		t.Errorf("impact list: %+v", list)
	}
	resp, out = s.do(t, "POST", "/admin/v1/draft/publish", s.token, []byte(`{"message": "podcasts open, knitting sensitive"}`))
	if resp.StatusCode != 201 || !strings.Contains(string(out), `"job":"`+job.Job+`"`) {
		t.Errorf("publish does not show the impact: %d %s", resp.StatusCode, out)
	}
	if resp, _ := s.do(t, "GET", "/admin/v1/impact/00000000-0000-0000-0000-000000000000", s.token, nil); resp.StatusCode != 404 {
		t.Errorf("unknown job: %d", resp.StatusCode)
	}
}

// TestMaskingErasureRetention: masked inputs are stored hashed and still
// found by subject, a replay says when the policy read a masked value,
// erasure anonymises a subject and is audited, retention drops old days
// with their statistics and records what it dropped.
func TestMaskingErasureRetention(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ctx := context.Background()
	rawID := s.decide(t, `{"signal":{"source":"ai_chat","topics":["hiking"]},"subject":{"id":"u-7","region":"US"},"purpose":"ads"}`)

	put := func(body string) {
		t.Helper()
		if resp, out := s.do(t, "PUT", "/admin/v1/settings", s.token, []byte(body)); resp.StatusCode != 200 {
			t.Fatalf("settings %s: %d %s", body, resp.StatusCode, out)
		}
	}
	for _, bad := range []string{`{"masking": [{"path": "/subject/id", "action": "hash"}]}`, `{"masking": [{"path": "/input/x", "action": "shred"}]}`,
		`{"masking": null}`, `{"retention_days": -1}`, `{"max_staleness_seconds": 2}`} {
		if resp, _ := s.do(t, "PUT", "/admin/v1/settings", s.token, []byte(bad)); resp.StatusCode != 400 {
			t.Errorf("settings %s: %d, want 400", bad, resp.StatusCode)
		}
	}
	put(`{"masking": [{"path": "/input/subject/id", "action": "hash"}]}`)
	in := `{"signal":{"source":"ai_chat","topics":["hiking"]},"subject":{"id":"u-7","region":"US"},"purpose":"ads"}`
	var masked loggedDecision
	u7 := 1 // decisions about u-7 so far
	deadline := time.Now().Add(promiseWithRoom)
	for {
		s.getJSON(t, "/admin/v1/decisions/"+s.decide(t, in), &masked)
		u7++
		if len(masked.Masked) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !slices.Equal(masked.Masked, []string{"/input/subject/id"}) || !strings.HasPrefix(masked.Subject, "hmac:") ||
		strings.Contains(string(masked.Input), "u-7") || !strings.Contains(string(masked.Input), masked.Subject) {
		t.Fatalf("masked decision: %+v %s", masked, masked.Input)
	}
	if got := s.searchAll(t, "subject=u-7"); len(got) != u7 || got[len(got)-1].DecisionID != rawID {
		t.Errorf("subject u-7 (raw and masked): %d decisions, want %d", len(got), u7)
	}
	var rp struct {
		Match       bool     `json:"match"`
		MaskedRead  bool     `json:"masked_read"`
		MaskedPaths []string `json:"masked_paths"`
		Also        *struct {
			Revision string `json:"revision"`
			Same     bool   `json:"same"`
		} `json:"also"`
	}
	s.replayJSON(t, masked.DecisionID, "?also=active", &rp)
	if !rp.Match || rp.MaskedRead || len(rp.MaskedPaths) != 1 || rp.Also == nil || rp.Also.Revision != "r1" || !rp.Also.Same {
		t.Errorf("replay of a masked decision the policy does not read: %+v", rp)
	}
	// Erasing the region, which the policy reads, makes replays say so.
	put(`{"masking": [{"path": "/input/subject/id", "action": "hash"}, {"path": "/input/subject/region", "action": "erase"}]}`)
	for deadline := time.Now().Add(promiseWithRoom); ; {
		s.getJSON(t, "/admin/v1/decisions/"+s.decide(t, in), &masked)
		u7++
		if len(masked.Masked) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.replayJSON(t, masked.DecisionID, "", &rp)
	if rp.Match || !rp.MaskedRead {
		t.Errorf("replay of a decision the policy read a masked value for: %+v", rp)
	}
	if resp, _ := s.do(t, "POST", "/admin/v1/decisions/"+masked.DecisionID+"/replay?also=nope", s.token, nil); resp.StatusCode != 400 {
		t.Errorf("replay also=nope: %d", resp.StatusCode)
	}

	// Erasure: the raw and hashed rows of u-7 lose their subject.
	env := map[string]string{"SIGNALGATE_DATABASE_URL": s.db.URL, "SIGNALGATE_DATA_DIR": t.TempDir(), "SIGNALGATE_LOG_LEVEL": "error"}
	out, errOut, err := runCLI(t, env, "audit", "erase-subject", "u-7")
	if err != nil || !strings.Contains(out, fmt.Sprintf("erased from %d decisions", u7)) {
		t.Fatalf("erase-subject: %v %s %s", err, out, errOut)
	}
	if got := s.searchAll(t, "subject=u-7"); len(got) != 0 {
		t.Errorf("u-7 still found in %d decisions", len(got))
	}
	var erased loggedDecision
	s.getJSON(t, "/admin/v1/decisions/"+rawID, &erased)
	if erased.Subject != "" || strings.Contains(string(erased.Input), "u-7") || !slices.Contains(erased.Masked, "/input/subject/id") {
		t.Errorf("erased decision: %+v %s", erased, erased.Input)
	}
	var trail struct {
		Entries []struct {
			Action string          `json:"action"`
			Target string          `json:"target"`
			Detail json.RawMessage `json:"detail"`
		} `json:"entries"`
	}
	s.getJSON(t, "/admin/v1/audit?action=subject.erase", &trail)
	if len(trail.Entries) != 1 || !strings.HasPrefix(trail.Entries[0].Target, "hmac:") || strings.Contains(fmt.Sprint(trail.Entries), "u-7") {
		t.Errorf("erasure in the audit trail: %+v", trail.Entries)
	}

	// Retention: two old days in their partitions, one late row in the
	// default partition, all older than three days.
	owner := ownerStore(t, s)
	old := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -10)
	if _, err := s.db.Pool.Exec(ctx, `SELECT ensure_decision_log_partitions($1, 2)`, old); err != nil {
		t.Fatal(err)
	}
	var rows []decisionlog.Entry
	for i, at := range []time.Time{old.Add(time.Hour), old.Add(2 * time.Hour), old.AddDate(0, 0, 1).Add(time.Hour), old.AddDate(0, 0, -10)} {
		var e loggedDecision
		s.getJSON(t, "/admin/v1/decisions/"+s.decide(t, mixedInput(i)), &e)
		rows = append(rows, decisionlog.Entry{DecisionID: uuid.New(), DecidedAt: at, Path: e.Path, Input: e.Input, Result: e.Result,
			Allow: e.Allow, ReasonCodes: e.ReasonCodes, Region: e.Region, Revision: e.Revision, Client: "test", Node: "test"})
	}
	if err := owner.LogSink().Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	oldStats := func() int {
		var st struct {
			Series []json.RawMessage `json:"series"`
		}
		s.getJSON(t, "/admin/v1/decisions/stats?bucket=day&from="+old.AddDate(0, 0, -11).Format(time.RFC3339)+"&to="+old.AddDate(0, 0, 2).Format(time.RFC3339), &st)
		return len(st.Series)
	}
	if n := oldStats(); n != 3 {
		t.Fatalf("old days in the statistics: %d, want 3", n)
	}
	put(`{"retention_days": 3}`)
	settingsSvc := settings.NewService(owner.Settings(), nil)
	if err := applyRetention(ctx, owner, settingsSvc, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if n := oldStats(); n != 0 {
		t.Errorf("statistics of dropped days remain: %d buckets", n)
	}
	var left int
	if err := s.db.Pool.QueryRow(ctx, `SELECT count(*) FROM decision_logs WHERE decided_at < now() - interval '3 days'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("rows past retention: %d %v", left, err)
	}
	s.getJSON(t, "/admin/v1/audit?actor=system:retention", &trail)
	var actions []string
	for _, e := range trail.Entries {
		actions = append(actions, e.Action+" "+e.Target+" "+string(e.Detail))
	}
	slices.Sort(actions)
	if len(actions) != 3 || !strings.Contains(actions[0], `"rows":1`) || !strings.Contains(actions[1], `decision_logs_p`+old.Format("20060102")) ||
		!strings.Contains(actions[1], `"rows":2`) || !strings.Contains(actions[2], `"rows":1`) {
		t.Errorf("retention in the audit trail: %q", actions)
	}
	if out, _, err := runCLI(t, env, "audit", "verify"); err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify: %v %s", err, out)
	}
}

func (s *server) replayJSON(t *testing.T, id, query string, v any) {
	t.Helper()
	resp, out := s.do(t, "POST", "/admin/v1/decisions/"+id+"/replay"+query, s.token, nil)
	if resp.StatusCode != 200 || json.Unmarshal(out, v) != nil {
		t.Fatalf("replay %s: %d %s", id, resp.StatusCode, out)
	}
}

// TestAsOfSimulation: replays and impact analyses "as of" an instant decide
// logged inputs as if they arrived then, observed_at moved along.
func TestAsOfSimulation(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	observed := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	id := s.decide(t, `{"signal":{"source":"ai_chat","topics":["hiking"],"observed_at":"`+observed+`"},"subject":{"region":"US"},"purpose":"ads"}`)
	var rp struct {
		Match bool `json:"match"`
		Also  struct {
			Revision string          `json:"revision"`
			AsOf     string          `json:"as_of"`
			Result   json.RawMessage `json:"result"`
			Same     bool            `json:"same"`
		} `json:"also"`
	}
	s.replayJSON(t, id, "?as_of=2025-12-15T12:00:00Z", &rp)
	if !rp.Match || rp.Also.Revision != "r1" || rp.Also.Same || !strings.Contains(string(rp.Also.Result), "before_rollout") {
		t.Errorf("as of the day before the rollout: %+v %s", rp, rp.Also.Result)
	}
	s.replayJSON(t, id, "?as_of=2026-02-01T00:00:00Z", &rp)
	if !rp.Also.Same {
		t.Errorf("as of a day after the rollout: %s", rp.Also.Result)
	}
	if resp, _ := s.do(t, "POST", "/admin/v1/decisions/"+id+"/replay?as_of=tomorrow", s.token, nil); resp.StatusCode != 400 {
		t.Errorf("as_of=tomorrow: %d", resp.StatusCode)
	}

	// The draft opens ai_chat ads a day earlier: the same today, different as
	// of the day in between.
	d := s.draft(t)
	d.Data["targeting"].(map[string]any)["rollouts"].(map[string]any)["ai_chat"].(map[string]any)["ads"].(map[string]any)["start"] = "2025-12-15T00:00:00Z"
	if resp, out := s.putDraft(t, d, d.ETag); resp.StatusCode != 200 {
		t.Fatalf("save draft: %d %s", resp.StatusCode, out)
	}
	impactOf := func(body string) map[string]int64 {
		t.Helper()
		var job struct {
			Job    string `json:"job"`
			State  string `json:"state"`
			Result *struct {
				Transitions []struct {
					Transition string `json:"transition"`
					Count      int64  `json:"count"`
				} `json:"transitions"`
			} `json:"result"`
		}
		resp, out := s.do(t, "POST", "/admin/v1/draft/impact", s.token, []byte(body))
		if resp.StatusCode != 202 || json.Unmarshal(out, &job) != nil {
			t.Fatalf("impact %s: %d %s", body, resp.StatusCode, out)
		}
		for deadline := time.Now().Add(30 * time.Second); job.State == "running" && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			s.getJSON(t, "/admin/v1/impact/"+job.Job, &job)
		}
		if job.State != "done" {
			t.Fatalf("impact %s: %s", body, job.State)
		}
		got := map[string]int64{}
		for _, tr := range job.Result.Transitions {
			got[tr.Transition] = tr.Count
		}
		return got
	}
	if got := impactOf(`{}`); len(got) != 0 {
		t.Errorf("impact today: %v, want no change", got)
	}
	if got := impactOf(`{"as_of": "2025-12-15T12:00:00Z"}`); got["deny_to_allow"] != 1 {
		t.Errorf("impact as of 2025-12-15: %v, want the decision allowed", got)
	}
}
