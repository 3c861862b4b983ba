package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// auditCheck is one query type: run is called runs times, each call timed
// whole (request sent to last byte read); it returns how many rows it
// streamed, for the checks judged by rate.
type auditCheck struct {
	name    string
	path    string // the endpoint as the server's OpenAPI document names it
	runs    int
	maxP95  time.Duration // judged by p95 latency when set
	minRate float64       // judged by rows/s when set
	run     func(ctx context.Context, i int) (rows int64, err error)
	setup   func(ctx context.Context) error // before the runs, untimed
	cleanup func(ctx context.Context) error // after them, whatever happened
}

// Query windows move a little from run to run (earlier by a few seconds,
// another day, another subject), so no run is answered from a cache the
// previous one warmed with the very same query.
func (a *auditBench) checks(p auditParams) []auditCheck {
	rfc := func(t time.Time) string { return url.QueryEscape(t.UTC().Format(time.RFC3339Nano)) }
	search := func(name string, query func(i int) string) auditCheck {
		return auditCheck{name: name, path: "/admin/v1/decisions", runs: a.cfg.Runs, maxP95: searchTarget, run: func(ctx context.Context, i int) (int64, error) {
			var page struct {
				Decisions []json.RawMessage `json:"decisions"`
			}
			err := a.getJSON(ctx, "/admin/v1/decisions?"+query(i), &page)
			return int64(len(page.Decisions)), err
		}}
	}
	stats := func(by string) auditCheck {
		return auditCheck{name: "stats per hour by " + by + ", 30 days", path: "/admin/v1/decisions/stats", runs: a.cfg.Runs, maxP95: searchTarget, run: func(ctx context.Context, i int) (int64, error) {
			to := p.end.Add(-time.Duration(i) * time.Hour)
			var out struct {
				Series []json.RawMessage `json:"series"`
			}
			err := a.getJSON(ctx, fmt.Sprintf("/admin/v1/decisions/stats?from=%s&to=%s&bucket=hour&by=%s", rfc(to.AddDate(0, 0, -30)), rfc(to), by), &out)
			return int64(len(out.Series)), err
		}}
	}
	// A full UTC day that the seeded range covers: the i-th day back
	// from the day before the newest decision.
	day := func(i int) (string, string) {
		start := p.end.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1-i%max(1, a.cfg.Days-2))
		return rfc(start), rfc(start.AddDate(0, 0, 1))
	}
	export := func(format string) auditCheck {
		return auditCheck{name: "export " + format, path: "/admin/v1/decisions/export", runs: a.cfg.ExportRuns, minRate: exportTarget, run: func(ctx context.Context, i int) (int64, error) {
			shift := time.Duration(i) * time.Minute
			return a.export(ctx, fmt.Sprintf("/admin/v1/decisions/export?format=%s&from=%s&to=%s",
				format, rfc(p.exportStart.Add(-shift)), rfc(p.end.Add(-shift))), format == "csv")
		}}
	}
	return []auditCheck{
		search("search: last hour, newest first", func(i int) string {
			return "limit=100&from=" + rfc(p.end.Add(-time.Hour-time.Duration(i)*10*time.Second))
		}),
		search("search: one subject, 30 days", func(i int) string {
			return fmt.Sprintf("limit=100&subject=%s&from=%s", url.QueryEscape(p.subjects[i%len(p.subjects)]),
				rfc(p.end.AddDate(0, 0, -30).Add(time.Duration(i)*time.Minute)))
		}),
		search("search: denied for region_excluded, one day", func(i int) string {
			from, to := day(i)
			return "limit=100&allow=false&reason=region_excluded&from=" + from + "&to=" + to
		}),
		search("search: denied for minor, one day", func(i int) string {
			from, to := day(i)
			return "limit=100&allow=false&reason=minor&from=" + from + "&to=" + to
		}),
		stats("reason"),
		stats("region"),
		export("ndjson"),
		export("csv"),
		a.impactCheck(),
	}
}

// impactCheck changes the draft (one region fewer excluded for AI chat ads,
// as an admin weighing a relaxation would), times impact analyses of the
// newest impactDecisions decisions, and puts the draft back as it was.
func (a *auditBench) impactCheck() auditCheck {
	var original json.RawMessage // the draft's content as found, put back by cleanup
	c := auditCheck{name: fmt.Sprintf("impact over %d decisions", impactDecisions), path: "/admin/v1/draft/impact", runs: a.cfg.ImpactRuns, maxP95: impactTarget}
	c.setup = func(ctx context.Context) (err error) {
		original, err = a.changeDraft(ctx)
		return err
	}
	c.run = func(ctx context.Context, i int) (int64, error) {
		var job struct {
			Job string `json:"job"`
		}
		body := fmt.Appendf(nil, `{"last": %d}`, impactDecisions)
		err := a.do(ctx, http.MethodPost, "/admin/v1/draft/impact", nil, body, http.StatusAccepted, func(r *http.Response) error {
			return json.NewDecoder(r.Body).Decode(&job)
		})
		if err != nil {
			return 0, err
		}
		for {
			var st struct {
				State string `json:"state"`
				Total int64  `json:"total"`
				Error string `json:"error"`
			}
			if err := a.getJSON(ctx, "/admin/v1/impact/"+url.PathEscape(job.Job), &st); err != nil {
				return 0, err
			}
			switch st.State {
			case "done":
				return st.Total, nil
			case "failed":
				return 0, fmt.Errorf("impact job %s failed: %s", job.Job, st.Error)
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(25 * time.Millisecond):
			}
		}
	}
	c.cleanup = func(ctx context.Context) error {
		if original == nil {
			return nil
		}
		etag, _, err := a.draft(ctx)
		if err != nil {
			return err
		}
		return a.putDraft(ctx, etag, original)
	}
	return c
}

// draft reads the draft and its ETag.
func (a *auditBench) draft(ctx context.Context) (string, json.RawMessage, error) {
	var etag string
	var body json.RawMessage
	err := a.do(ctx, http.MethodGet, "/admin/v1/draft", nil, nil, http.StatusOK, func(r *http.Response) error {
		etag = r.Header.Get("ETag")
		var err error
		body, err = io.ReadAll(r.Body)
		return err
	})
	return etag, body, err
}

func (a *auditBench) putDraft(ctx context.Context, etag string, body json.RawMessage) error {
	return a.do(ctx, http.MethodPut, "/admin/v1/draft", http.Header{"If-Match": {etag}}, body, http.StatusOK,
		func(*http.Response) error { return nil })
}

// draftContent is what a draft PUT carries: the modules as they are, and
// the data document.
type draftContent struct {
	Modules json.RawMessage `json:"modules"`
	Data    map[string]any  `json:"data"`
}

// changeDraft removes one region from the AI chat ads exclusions in the
// draft and returns the draft's content as it was, ready to be put back.
func (a *auditBench) changeDraft(ctx context.Context) (json.RawMessage, error) {
	etag, body, err := a.draft(ctx)
	if err != nil {
		return nil, err
	}
	var d draftContent
	if err := json.Unmarshal(body, &d); err != nil {
		return nil, fmt.Errorf("read the draft: %w", err)
	}
	original, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	excluded, _ := dig(d.Data, "targeting", "rollouts", "ai_chat", "ads", "excluded_regions").(map[string]any)
	if len(excluded) == 0 {
		return nil, errors.New("the draft excludes no region for ai_chat ads: nothing to relax")
	}
	region := "FR"
	if _, ok := excluded[region]; !ok {
		region = slices.Sorted(maps.Keys(excluded))[0]
	}
	delete(excluded, region)
	changed, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if err := a.putDraft(ctx, etag, changed); err != nil {
		return nil, fmt.Errorf("save the draft without %s excluded: %w", region, err)
	}
	a.progress("      draft: %s no longer excluded for ai_chat ads (put back at the end)", region)
	return original, nil
}

func dig(doc map[string]any, path ...string) any {
	var v any = doc
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// auditRow is one line of the table.
type auditRow struct {
	auditCheck
	times []time.Duration
	rows  []int64
	na    string // why the query could not be measured, when the server lacks it
	err   error
}

// measure runs c.runs times, stopping at the first failure.
func (a *auditBench) measure(ctx context.Context, c auditCheck) auditRow {
	r := auditRow{auditCheck: c}
	if a.paths != nil && !a.paths[c.path] {
		// A server without the endpoint may route its path to another
		// one (GET /decisions/stats to /decisions/{id}), which then
		// refuses it with a 400 rather than a 404.
		r.na = "not available (not in the server's OpenAPI)"
		a.progress("      %s", r.na)
		return r
	}
	var err error
	if c.setup != nil {
		err = c.setup(ctx)
	}
	for i := 0; err == nil && i < c.runs; i++ {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		start := time.Now()
		var n int64
		n, err = c.run(rctx, i)
		took := time.Since(start)
		cancel()
		if err == nil {
			r.times, r.rows = append(r.times, took), append(r.rows, n)
		}
	}
	if status, ok := unavailable(err); ok {
		r.na = fmt.Sprintf("not available (HTTP %d)", status)
	} else {
		r.err = err
	}
	if c.cleanup != nil {
		if err := c.cleanup(context.WithoutCancel(ctx)); err != nil {
			r.err = errors.Join(r.err, fmt.Errorf("put the draft back: %w", err))
		}
	}
	switch {
	case r.na != "":
		a.progress("      %s", r.na)
	case r.err != nil:
		a.progress("      FAILED: %v", r.err)
	default:
		a.progress("      p50 %s, p95 %s%s", msec(r.percentile(50)), msec(r.percentile(95)), r.rateNote())
	}
	return r
}

// percentile is the nearest-rank percentile of the run times.
func (r auditRow) percentile(p int) time.Duration {
	s := slices.Sorted(slices.Values(r.times))
	if len(s) == 0 {
		return 0
	}
	return s[max(0, (p*len(s)+99)/100-1)]
}

// rate is the median rows/s over the runs.
func (r auditRow) rate() float64 {
	rates := make([]float64, len(r.times))
	for i, d := range r.times {
		rates[i] = float64(r.rows[i]) / d.Seconds()
	}
	if len(rates) == 0 {
		return 0
	}
	return median(rates)
}

func (r auditRow) rateNote() string {
	if r.minRate == 0 || len(r.rows) == 0 {
		return ""
	}
	return fmt.Sprintf(", %d rows, %.0f rows/s", r.rows[0], r.rate())
}

func (r auditRow) target() string {
	if r.minRate > 0 {
		return fmt.Sprintf("≥ %.0f rows/s", r.minRate)
	}
	return "p95 ≤ " + msec(r.maxP95)
}

func (r auditRow) met() string {
	switch {
	case r.na != "":
		return r.na
	case r.err != nil:
		return "FAILED"
	case r.minRate > 0 && r.rate() >= r.minRate, r.minRate == 0 && r.percentile(95) <= r.maxP95:
		return "yes"
	}
	return "no"
}

// auditReport is everything a run prints.
type auditReport struct {
	header string
	seeded string // the seeder's summary, when this run seeded
	rows   []auditRow
}

func (rep *auditReport) table() string {
	var sb strings.Builder
	sb.WriteString("| query | runs | p50 ms | p95 ms | target | met? |\n|---|---:|---:|---:|---|---|\n")
	for _, r := range rep.rows {
		p50, p95 := "–", "–"
		if len(r.times) > 0 {
			p50, p95 = fmt.Sprintf("%.1f", r.percentile(50).Seconds()*1000), fmt.Sprintf("%.1f", r.percentile(95).Seconds()*1000)
		}
		fmt.Fprintf(&sb, "| %s%s | %d | %s | %s | %s | %s |\n", r.name, r.rateNote(), len(r.times), p50, p95, r.target(), r.met())
	}
	return sb.String()
}

func (rep *auditReport) markdown() string {
	var sb strings.Builder
	sb.WriteString(rep.header + "\n")
	if rep.seeded != "" {
		sb.WriteString("\nThis run " + rep.seeded + "\n")
	}
	sb.WriteString("\n" + rep.table())
	for _, r := range rep.rows {
		if r.err != nil {
			fmt.Fprintf(&sb, "\n- %s FAILED: %v", r.name, r.err)
		}
	}
	return strings.TrimRight(sb.String(), "\n") + "\n"
}

func (rep *auditReport) write(stdout io.Writer, mdPath string) error {
	md := rep.markdown()
	fmt.Fprint(stdout, "\n"+md)
	if mdPath == "" {
		return nil
	}
	if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", mdPath, err)
	}
	return nil
}

// problems is non-nil when a query failed; missed targets and endpoints
// the server lacks are in the table, not errors.
func (rep *auditReport) problems() error {
	var errs []error
	for _, r := range rep.rows {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
		}
	}
	return errors.Join(errs...)
}

func msec(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}
