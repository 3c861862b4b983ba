package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signalgate/signalgate/internal/localpg"
)

// AuditConfig is one run of the audit benchmark: the decision-log queries
// auditors run (search, statistics, export, impact analysis) timed over HTTP
// against a large seeded log.
type AuditConfig struct {
	// Signalgate is the signalgate binary; it serves and seeds.
	Signalgate string
	// DataDir is the data directory kept between runs, so the log is seeded
	// once and reruns measure at once.
	DataDir string
	// Rows is the log size to measure on: the log is seeded up to it.
	Rows int64
	// Days is the range seeded, ending now.
	Days int
	// Runs is how many times each search and statistics query runs.
	Runs int
	// ExportRuns is how many times each export format runs.
	ExportRuns int
	// ImpactRuns is how many impact analyses run, one after the other.
	ImpactRuns int
	// Out, if set, also receives the results as Markdown.
	Out string
}

func (c AuditConfig) validate() error {
	var problems []error
	if c.Signalgate == "" || c.DataDir == "" {
		problems = append(problems, errors.New("-signalgate and -data-dir are required"))
	}
	if c.Rows < 1 || c.Days < 1 {
		problems = append(problems, fmt.Errorf("-rows %d and -days %d must be positive", c.Rows, c.Days))
	}
	if c.Runs < 1 || c.ExportRuns < 1 || c.ImpactRuns < 1 {
		problems = append(problems, errors.New("-runs, -export-runs and -impact-runs must be positive"))
	}
	return errors.Join(problems...)
}

// The targets the audit queries are held to.
const (
	searchTarget    = 150 * time.Millisecond // p95 of every search and statistics query
	exportTarget    = 100_000                // rows/s streamed
	impactTarget    = 5 * time.Second        // p95 of an impact analysis over impactDecisions
	impactDecisions = 100_000
	exportRows      = 1_000_000 // rows an export covers, when the log holds that many
)

// auditBench is the state of one audit run.
type auditBench struct {
	cfg    AuditConfig
	stderr io.Writer
	client *http.Client
	base   string // http://127.0.0.1:port
	token  string
	db     *pgx.Conn // the log's owner, to choose realistic parameters
	// paths are the endpoints the server's OpenAPI document lists; nil
	// when it could not be read (every endpoint is then tried).
	paths map[string]bool
}

func (a *auditBench) progress(format string, args ...any) {
	fmt.Fprintf(a.stderr, "loadgen audit: "+format+"\n", args...)
}

// RunAudit serves cfg.DataDir, seeds its log up to cfg.Rows, times the audit
// queries and writes a table of p50/p95 against their targets to stdout
// (and cfg.Out). An endpoint the server does not have is reported as not
// available. It returns an error when the server could not be run or a
// query failed; a missed target is reported, not an error.
func RunAudit(ctx context.Context, cfg AuditConfig, stdout, stderr io.Writer) (err error) {
	if err := cfg.validate(); err != nil {
		return err
	}
	bin, err := filepath.Abs(cfg.Signalgate)
	if err != nil {
		return err
	}
	if cfg.DataDir, err = filepath.Abs(cfg.DataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	a := &auditBench{cfg: cfg, stderr: stderr, client: &http.Client{Transport: &http.Transport{}}}
	defer a.client.CloseIdleConnections()

	a.progress("starting signalgate on %s (the first start creates its PostgreSQL)", cfg.DataDir)
	proc, err := a.serve(ctx, bin)
	if err != nil {
		return err
	}
	defer func() {
		a.progress("stopping signalgate")
		err = errors.Join(err, proc.stop())
	}()
	if a.db, err = ownerConn(ctx, cfg.DataDir); err != nil {
		return err
	}
	defer a.db.Close(context.WithoutCancel(ctx))

	rep := &auditReport{}
	rows, err := a.count(ctx)
	if err != nil {
		return err
	}
	if rows < cfg.Rows {
		a.progress("the log holds %d decisions; seeding %d more over %d days", rows, cfg.Rows-rows, cfg.Days)
		if rep.seeded, err = a.seed(ctx, bin, cfg.Rows-rows); err != nil {
			return err
		}
		if rows, err = a.count(ctx); err != nil {
			return err
		}
		if err := a.waitFolded(ctx); err != nil {
			return err
		}
	} else {
		a.progress("the log already holds %d decisions: not seeding", rows)
	}
	p, err := a.params(ctx)
	if err != nil {
		return err
	}
	rep.header = fmt.Sprintf("%d decisions in the log, newest at %s; windows end there. %d CPUs shared by signalgate, PostgreSQL and this client; one request at a time.",
		rows, p.end.Format(time.RFC3339), runtime.NumCPU())

	for _, c := range a.checks(p) {
		a.progress("%s (%d runs)", c.name, c.runs)
		rep.rows = append(rep.rows, a.measure(ctx, c))
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := rep.write(stdout, cfg.Out); err != nil {
		return err
	}
	return rep.problems()
}

// serve starts signalgate on a free loopback port and reads the admin token
// the managed set-up keeps in the data directory.
func (a *auditBench) serve(ctx context.Context, bin string) (*process, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	a.base = "http://" + addr
	proc, err := startProcess("signalgate", filepath.Join(a.cfg.DataDir, "bench-audit-serve.log"), cleanEnv(
		"SIGNALGATE_ADDR="+addr,
		"SIGNALGATE_DATA_DIR="+a.cfg.DataDir,
	), bin, "serve")
	if err != nil {
		return nil, err
	}
	if err := proc.waitReady(ctx, a.client, a.base+"/readyz", 3*time.Minute); err != nil {
		return nil, errors.Join(err, proc.stop())
	}
	b, err := os.ReadFile(filepath.Join(a.cfg.DataDir, "admin-credentials.json"))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("read the admin token: %w", err), proc.stop())
	}
	var creds struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &creds); err != nil || creds.Token == "" {
		return nil, errors.Join(fmt.Errorf("read the admin token: no token in admin-credentials.json (%v)", err), proc.stop())
	}
	a.token = creds.Token
	a.paths = a.openAPIPaths(ctx)
	return proc, nil
}

// openAPIPaths lists the paths of the server's OpenAPI document, or nil.
func (a *auditBench) openAPIPaths(ctx context.Context) map[string]bool {
	var doc struct {
		Paths map[string]json.RawMessage `json:"paths"`
	}
	if err := a.getJSON(ctx, "/openapi.json", &doc); err != nil || len(doc.Paths) == 0 {
		a.progress("no OpenAPI document (%v): trying every endpoint", err)
		return nil
	}
	paths := map[string]bool{}
	for p := range doc.Paths {
		paths[p] = true
	}
	return paths
}

// ownerConn connects to the managed cluster as the log's owner, which may
// read the whole log whatever the serving role may.
func ownerConn(ctx context.Context, dataDir string) (*pgx.Conn, error) {
	u, err := localpg.OwnerURLOf(dataDir)
	if err != nil {
		return nil, fmt.Errorf("read the managed cluster's credentials: %w", err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("connect to the managed cluster: %w", err)
	}
	return conn, nil
}

func (a *auditBench) count(ctx context.Context) (int64, error) {
	var n int64
	if err := a.db.QueryRow(ctx, `SELECT count(*) FROM decision_logs`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count decision log rows: %w", err)
	}
	return n, nil
}

// seed runs `signalgate seed-decisions` beside the server (it reuses the
// server's PostgreSQL), passing its progress through, and returns its
// summary line.
func (a *auditBench) seed(ctx context.Context, bin string, n int64) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "seed-decisions", strconv.FormatInt(n, 10), "--days", strconv.Itoa(a.cfg.Days))
	cmd.Env = cleanEnv("SIGNALGATE_DATA_DIR="+a.cfg.DataDir, "SIGNALGATE_LOG_LEVEL=warn")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, a.stderr
	cmd.SysProcAttr = sysProcAttr()
	// An interrupted run lets the seeder stop cleanly: rows already
	// committed stay, and the next run seeds what is missing.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("seed-decisions: %w\n%s", err, out.Bytes())
	}
	line := strings.TrimSpace(out.String())
	a.progress("%s", line)
	return line, nil
}

// waitFolded waits for the server to fold the statistics a bulk load left
// pending, so the statistics queries measure the steady state rather than
// the backlog of a seeding that has just ended.
func (a *auditBench) waitFolded(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var pending int64
		if err := a.db.QueryRow(ctx, `SELECT count(*) FROM decision_stats_pending`).Scan(&pending); err != nil {
			var pgErr interface{ SQLState() string }
			if errors.As(err, &pgErr) && pgErr.SQLState() == "42P01" {
				return nil // a schema without statistics rollups: nothing to wait for
			}
			return fmt.Errorf("count pending statistics: %w", err)
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			a.progress("%d statistics rows still pending after 5 minutes; measuring anyway", pending)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// auditParams are the query parameters chosen from the log itself.
type auditParams struct {
	end         time.Time // just after the newest decision: every window ends here
	subjects    []string  // the most active subjects of the last day
	exportStart time.Time // the window [exportStart, end) holds about exportRows rows
}

func (a *auditBench) params(ctx context.Context) (auditParams, error) {
	var p auditParams
	var newest *time.Time
	if err := a.db.QueryRow(ctx, `SELECT max(decided_at) FROM decision_logs`).Scan(&newest); err != nil {
		return p, fmt.Errorf("find the newest decision: %w", err)
	}
	if newest == nil {
		return p, errors.New("the decision log is empty")
	}
	p.end = newest.UTC().Add(time.Microsecond)
	rows, err := a.db.Query(ctx, `SELECT subject FROM decision_logs
		WHERE decided_at >= $1 AND subject IS NOT NULL GROUP BY subject ORDER BY count(*) DESC LIMIT 5`, p.end.Add(-24*time.Hour))
	if err != nil {
		return p, fmt.Errorf("find active subjects: %w", err)
	}
	if p.subjects, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return p, fmt.Errorf("find active subjects: %w", err)
	}
	if len(p.subjects) == 0 {
		p.subjects = []string{"u-1"}
	}
	// Export sorts newest first, so the window's start is the
	// exportRows-th newest decision (or the oldest, in a smaller log).
	err = a.db.QueryRow(ctx, `SELECT coalesce(
		(SELECT decided_at FROM decision_logs ORDER BY decided_at DESC OFFSET $1 LIMIT 1),
		(SELECT min(decided_at) FROM decision_logs))`, exportRows-1).Scan(&p.exportStart)
	if err != nil {
		return p, fmt.Errorf("find the export window: %w", err)
	}
	return p, nil
}

// httpError is an answer other than the one expected.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// unavailable reports whether err says the server lacks the endpoint.
func unavailable(err error) (int, bool) {
	var h *httpError
	if errors.As(err, &h) && (h.status == http.StatusNotFound || h.status == http.StatusMethodNotAllowed) {
		return h.status, true
	}
	return 0, false
}

// do sends one admin request and hands the answer's body to read when its
// status is want.
func (a *auditBench) do(ctx context.Context, method, path string, header http.Header, body []byte, want int, read func(*http.Response) error) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return &httpError{status: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	return read(resp)
}

// getJSON decodes a 200 answer into v.
func (a *auditBench) getJSON(ctx context.Context, path string, v any) error {
	return a.do(ctx, http.MethodGet, path, nil, nil, http.StatusOK, func(r *http.Response) error {
		return json.NewDecoder(r.Body).Decode(v)
	})
}

// export streams one export and counts its records as they arrive, without
// keeping them; it checks the count against the server's trailer.
func (a *auditBench) export(ctx context.Context, path string, header bool) (int64, error) {
	var lines int64
	err := a.do(ctx, http.MethodGet, path, nil, nil, http.StatusOK, func(r *http.Response) error {
		br := bufio.NewReaderSize(r.Body, 256<<10)
		buf := make([]byte, 256<<10)
		for {
			n, err := br.Read(buf)
			lines += int64(bytes.Count(buf[:n], []byte{'\n'}))
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if header {
			lines--
		}
		if t := r.Trailer.Get("X-Signalgate-Export-Rows"); t != "" && t != strconv.FormatInt(lines, 10) {
			return fmt.Errorf("received %d rows, the server says it sent %s", lines, t)
		}
		if r.Trailer.Get("X-Signalgate-Export-Complete") == "false" {
			return errors.New("the server says the export is incomplete")
		}
		return nil
	})
	return lines, err
}
