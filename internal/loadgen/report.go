package loadgen

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// result is the measurement of one step.
type result struct {
	step
	requests        uint64
	decisionsPerSec float64
	p50, p99        time.Duration
	errors          int64
	failed          map[string]int64
}

// newResult counts only 2xx answers as decisions served, over the span from
// the first request sent to the last answer received.
func newResult(st step, t tally) result {
	r := result{
		step: st, requests: t.metrics.Requests,
		p50: t.metrics.Latencies.P50, p99: t.metrics.Latencies.P99,
		errors: t.errors(), failed: t.failed,
	}
	if span := (t.metrics.Duration + t.metrics.Wait).Seconds(); span > 0 {
		r.decisionsPerSec = float64(t.ok*int64(st.perRequest)) / span
	}
	return r
}

type mixCheck struct {
	server                      string
	inputs, allowed, unexpected int
}

type serverRSS struct {
	name  string
	bytes int64
}

type logCount struct {
	rows, answered int64
}

// report is everything a run prints.
type report struct {
	header  string
	mix     string
	checks  []mixCheck
	results []result
	rss     []serverRSS
	log     *logCount
}

func (r *report) write(stdout io.Writer, mdPath string) error {
	fmt.Fprintln(stdout, r.header)
	fmt.Fprintln(stdout, "inputs:", r.mix)
	for _, c := range r.checks {
		fmt.Fprintln(stdout, c.line())
	}
	fmt.Fprintln(stdout)
	writeTable(stdout, r.rows())
	if r.hasBatch() {
		fmt.Fprintln(stdout, batchNote)
	}
	fmt.Fprintln(stdout)
	for _, l := range r.summary() {
		fmt.Fprintln(stdout, l)
	}
	if mdPath == "" {
		return nil
	}
	if err := os.WriteFile(mdPath, []byte(r.markdown()), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", mdPath, err)
	}
	return nil
}

func (c mixCheck) line() string {
	l := fmt.Sprintf("mix check: %s allowed %d of the first %d inputs", c.server, c.allowed, c.inputs)
	if c.unexpected == 0 {
		return l + ", each as the policy expects"
	}
	return fmt.Sprintf("%s; WARNING: %d answers differ from what the policy expects", l, c.unexpected)
}

// rows is the table, header first.
func (r *report) rows() [][]string {
	rows := [][]string{{"server", "API", "connections", "decisions/s", "p50", "p99", "errors"}}
	for _, res := range r.results {
		api := res.api
		if res.perRequest > 1 {
			api = fmt.Sprintf("%s (%d/request)", res.api, res.perRequest)
		}
		errs := "0"
		if res.errors > 0 {
			errs = fmt.Sprintf("%d of %d", res.errors, res.requests)
		}
		rows = append(rows, []string{
			res.server.name, api, strconv.Itoa(res.conns), fmt.Sprintf("%.0f", res.decisionsPerSec),
			ms(res.p50), ms(res.p99), errs,
		})
	}
	return rows
}

// summary is what follows the table: failures, ratios, memory, the log.
func (r *report) summary() []string {
	var lines []string
	for _, res := range r.results {
		if res.errors == 0 {
			continue
		}
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(res.failed)) {
			kinds = append(kinds, fmt.Sprintf("%d × %s", res.failed[k], k))
		}
		lines = append(lines, fmt.Sprintf("ERRORS in %s: %s", res.step, strings.Join(kinds, ", ")))
	}

	var ratios []float64
	for _, sg := range r.results {
		if sg.server.name != nameSignalgate || sg.api != "single" {
			continue
		}
		for _, o := range r.results {
			if o.server.name == nameOPA && o.conns == sg.conns && o.decisionsPerSec > 0 {
				ratio := sg.decisionsPerSec / o.decisionsPerSec
				ratios = append(ratios, ratio)
				lines = append(lines, fmt.Sprintf("ratio signalgate/opa single @%d: %.2fx", sg.conns, ratio))
			}
		}
	}
	if len(ratios) > 0 {
		lines = append(lines, fmt.Sprintf("ratio signalgate/opa single (median over connection counts): %.2fx", median(ratios)))
	}

	for _, m := range r.rss {
		l := fmt.Sprintf("%s peak RSS (VmHWM): %.1f MiB", m.name, float64(m.bytes)/(1<<20))
		if m.name == nameSignalgate {
			l += " (the signalgate process; its PostgreSQL runs apart)"
		}
		lines = append(lines, l)
	}

	if lc := r.log; lc != nil {
		l := fmt.Sprintf("decision log: %d rows in decision_logs, %d decisions answered 2xx (warm-ups and mix check included)", lc.rows, lc.answered)
		switch {
		case lc.rows == lc.answered:
			l += ": every decision logged"
		case lc.rows < lc.answered:
			l += fmt.Sprintf(": WARNING: %d answered decisions are missing from the log", lc.answered-lc.rows)
		default:
			l += fmt.Sprintf(": %d more rows than 2xx decisions (logged for requests that were not answered 2xx)", lc.rows-lc.answered)
		}
		lines = append(lines, l)
	}
	return lines
}

// problems is non-nil when the figures were not obtained cleanly.
func (r *report) problems() error {
	var errs []error
	for _, res := range r.results {
		if res.errors > 0 {
			errs = append(errs, fmt.Errorf("%s: %d of %d requests failed", res.step, res.errors, res.requests))
		}
	}
	for _, c := range r.checks {
		if c.unexpected > 0 {
			errs = append(errs, fmt.Errorf("%s decided %d mix-check inputs other than the policy expects", c.server, c.unexpected))
		}
	}
	if r.log != nil && r.log.rows < r.log.answered {
		errs = append(errs, fmt.Errorf("%d answered decisions are missing from the decision log", r.log.answered-r.log.rows))
	}
	return errors.Join(errs...)
}

func (r *report) markdown() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s.\n\nInputs: %s.\n\n", r.header, r.mix)
	for _, c := range r.checks {
		fmt.Fprintf(&sb, "- %s\n", c.line())
	}
	sb.WriteString("\n")
	for i, row := range r.rows() {
		fmt.Fprintf(&sb, "| %s |\n", strings.Join(row, " | "))
		if i == 0 {
			sb.WriteString("|---|---|---:|---:|---:|---:|---:|\n")
		}
	}
	if r.hasBatch() {
		fmt.Fprintf(&sb, "\n%s\n", batchNote)
	}
	sb.WriteString("\n")
	for _, l := range r.summary() {
		fmt.Fprintf(&sb, "- %s\n", l)
	}
	return sb.String()
}

// writeTable aligns the text columns (server, API) left and the figures right.
func writeTable(w io.Writer, rows [][]string) {
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		cells := make([]string, len(row))
		for i, cell := range row {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i < 2 {
				cells[i] = cell + pad
			} else {
				cells[i] = pad + cell
			}
		}
		fmt.Fprintln(w, strings.Join(cells, "  "))
	}
}

// batchNote keeps a batch's latency from being read as per decision.
const batchNote = "p50 and p99 are per HTTP request: a batch request's latency covers all of its decisions."

func (r *report) hasBatch() bool {
	return slices.ContainsFunc(r.results, func(res result) bool { return res.perRequest > 1 })
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
