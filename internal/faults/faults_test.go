//go:build fault

// Package faults holds the fault tests: a real signalgate serve binary and a
// real PostgreSQL, killed and stopped under decision load. They run on their
// own (make faulttest), after the unit tests, one at a time.
package faults

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signalgate/signalgate/internal/localpg"
)

const token = "sgt_fault-test-token-0123456789abcdef01"

var (
	binary      string
	cluster     *localpg.Cluster
	clusterOpts localpg.Options
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "signalgate-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "signalgate")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/signalgate")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build signalgate:", err)
		return 1
	}
	// Real durability: a crash test on a cluster that may lose commits
	// (synchronous_commit off) would blame the server for it.
	clusterOpts = localpg.Options{DataDir: filepath.Join(dir, "pg")}
	ctx := context.Background()
	if cluster, err = localpg.Start(ctx, clusterOpts); err != nil {
		fmt.Fprintln(os.Stderr, "start PostgreSQL:", err)
		return 1
	}
	defer func() {
		// The cluster as the tests left it: they crash and restart it, and
		// only the handle in use may stop it.
		if err := cluster.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "stop PostgreSQL:", err)
		}
		// A cluster placed outside dir (unreachable by the server user)
		// sits alone in a directory of its own.
		if rel, err := filepath.Rel(dir, cluster.Dir()); err != nil || strings.HasPrefix(rel, "..") {
			os.RemoveAll(filepath.Dir(cluster.Dir()))
		}
	}()
	return m.Run()
}

// node is one signalgate serve process that can be killed and restarted on
// the same address and data directory (and so the same spool).
type node struct {
	t       *testing.T
	addr    string
	dataDir string
	env     []string
	cmd     *exec.Cmd
	logs    *bytes.Buffer
}

func newNode(t *testing.T, extraEnv ...string) *node {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	n := &node{t: t, addr: addr, dataDir: t.TempDir(), logs: &bytes.Buffer{}}
	n.env = append(os.Environ(),
		"SIGNALGATE_DATABASE_URL="+cluster.AppURL(),
		"SIGNALGATE_OWNER_DATABASE_URL="+cluster.OwnerURL(),
		"SIGNALGATE_ADDR="+addr,
		"SIGNALGATE_DATA_DIR="+n.dataDir,
		"SIGNALGATE_BOOTSTRAP_TOKEN="+token,
		"SIGNALGATE_EVAL_TIMEOUT=5s",
		"SIGNALGATE_LOG_LEVEL=warn",
		"SIGNALGATE_NODE=fault-node",
	)
	n.env = append(n.env, extraEnv...)
	t.Cleanup(func() {
		n.signal(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("server output:\n%s", n.logs.String())
		}
	})
	return n
}

func (n *node) start() {
	n.t.Helper()
	n.cmd = exec.Command(binary, "serve")
	n.cmd.Env = n.env
	n.cmd.Stdout, n.cmd.Stderr = io.Discard, n.logs
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + n.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatalf("serve not ready within 60s:\n%s", n.logs.String())
}

func (n *node) signal(sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(sig)
	_ = n.cmd.Wait()
	n.cmd = nil
}

// load posts decisions from several clients and keeps every decision id it
// was answered with.
type load struct {
	mu       sync.Mutex
	acked    []string
	refused  atomic.Int64 // 503 answers
	failures atomic.Int64 // connection errors (a killed server)
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startLoad(addr string, clients int) *load {
	l := &load{stop: make(chan struct{})}
	body := []byte(`{"input":{"signal":{"source":"ai_chat","topics":["hiking"]},"subject":{"id":"u-1","region":"US"},"purpose":"ads"}}`)
	for range clients {
		l.wg.Go(func() {
			client := &http.Client{Timeout: 10 * time.Second}
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/decisions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					l.failures.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case 200:
					var d struct {
						DecisionID string `json:"decision_id"`
					}
					if json.Unmarshal(b, &d) == nil && d.DecisionID != "" {
						l.mu.Lock()
						l.acked = append(l.acked, d.DecisionID)
						l.mu.Unlock()
					}
				case 503:
					l.refused.Add(1)
					if resp.Header.Get("Retry-After") == "" {
						l.failures.Add(1 << 20) // a 503 without Retry-After fails the test
					}
					time.Sleep(20 * time.Millisecond)
				default:
					l.failures.Add(1 << 20)
				}
			}
		})
	}
	return l
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked)
}

func (l *load) finish() []string {
	close(l.stop)
	l.wg.Wait()
	return l.acked
}

// checkLogged waits (up to timeout, for drains) until every acknowledged id
// is in decision_logs, and fails on any missing or duplicated one.
func checkLogged(t *testing.T, acked []string, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, cluster.OwnerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var missing, dups int
	for deadline := time.Now().Add(timeout); ; {
		err := pool.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM unnest($1::uuid[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM decision_logs d WHERE d.decision_id = a.id)),
				(SELECT count(*) - count(DISTINCT decision_id) FROM decision_logs)`, acked).Scan(&missing, &dups)
		if err == nil && missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("acknowledged %d, found %d, missing %d, duplicates %d", len(acked), len(acked)-missing, missing, dups)
	fmt.Printf("%s: acknowledged %d, found %d, missing %d, duplicates %d\n", t.Name(), len(acked), len(acked)-missing, missing, dups)
	if missing != 0 || dups != 0 {
		t.Errorf("%d acknowledged decisions missing, %d duplicated", missing, dups)
	}
}

func spooled(t *testing.T, n *node) string {
	resp, err := http.NewRequest("GET", "http://"+n.addr+"/metrics", nil)
	if err != nil {
		return ""
	}
	resp.Header.Set("Authorization", "Bearer "+token)
	r, err := http.DefaultClient.Do(resp)
	if err != nil {
		return ""
	}
	defer r.Body.Close()
	sc := bufio.NewScanner(r.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "signalgate_decisionlog_spooled_rows_total ") {
			return strings.Fields(sc.Text())[1]
		}
	}
	return ""
}

// TestKillNineUnderLoad: the server is killed with SIGKILL under load and
// restarted, several times, then stopped with SIGTERM: every decision a
// client was answered with is in the log, none twice.
func TestKillNineUnderLoad(t *testing.T) {
	n := newNode(t)
	n.start()
	l := startLoad(n.addr, 8)
	start := time.Now()
	for range 4 {
		time.Sleep(1500 * time.Millisecond)
		n.signal(syscall.SIGKILL)
		n.start()
	}
	time.Sleep(time.Second)
	stopAt := time.Now()
	n.signal(syscall.SIGTERM)
	acked := l.finish()
	if took := time.Since(stopAt); took > 20*time.Second {
		t.Errorf("SIGTERM took %s to end the server", took)
	}
	rate := float64(len(acked)) / time.Since(start).Seconds()
	fmt.Printf("TestKillNineUnderLoad: 4 kills, %.0f decisions/s acknowledged across them\n", rate)
	if len(acked) == 0 {
		t.Fatal("no decision was acknowledged")
	}
	checkLogged(t, acked, 5*time.Second)
}

// TestDatabaseOutage: PostgreSQL stops as if it crashed and comes back 10 s
// later; decisions are answered from the spool meanwhile and are all in the
// log once it drained.
func TestDatabaseOutage(t *testing.T) {
	ctx := context.Background()
	n := newNode(t)
	n.start()
	l := startLoad(n.addr, 8)
	time.Sleep(time.Second)
	before := l.count()
	if err := cluster.Crash(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second)
	during := l.count() - before
	var err error
	if cluster, err = localpg.Start(ctx, clusterOpts); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	acked := l.finish()
	fmt.Printf("TestDatabaseOutage: %.0f decisions/s answered during the 10 s outage (spooled rows: %s)\n", float64(during)/10, spooled(t, n))
	if during == 0 {
		t.Error("no decision was answered during the outage")
	}
	if f := l.failures.Load(); f >= 1<<20 {
		t.Errorf("answers other than 200 or 503 with Retry-After: %d", f>>20)
	}
	checkLogged(t, acked, 30*time.Second)
}

// TestSpoolFull: with the database down and a tiny spool, the API turns to
// 503 (with Retry-After) once the spool is full, loses nothing acknowledged,
// and answers again without a restart once the database is back.
func TestSpoolFull(t *testing.T) {
	ctx := context.Background()
	n := newNode(t, "SIGNALGATE_SPOOL_QUOTA_MIB=1")
	n.start()
	l := startLoad(n.addr, 8)
	time.Sleep(500 * time.Millisecond)
	if err := cluster.Crash(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for l.refused.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if l.refused.Load() == 0 {
		t.Fatal("a full spool never turned the API to 503")
	}
	refusedAt := l.count()
	var err error
	if cluster, err = localpg.Start(ctx, clusterOpts); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); l.count() < refusedAt+100 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	acked := l.finish()
	fmt.Printf("TestSpoolFull: %d refused with 503 while the spool was full; %d acknowledged after recovery\n", l.refused.Load(), len(acked)-refusedAt)
	if len(acked) < refusedAt+100 {
		t.Errorf("the API did not recover: %d decisions after the database came back", len(acked)-refusedAt)
	}
	if f := l.failures.Load(); f >= 1<<20 {
		t.Errorf("answers other than 200 or 503 with Retry-After: %d", f>>20)
	}
	checkLogged(t, acked, 30*time.Second)
}

// TestMaxStaleness: with a maximum staleness set, an instance that cannot
// reach the database keeps deciding (from the spool) only until its policy
// is that stale, then refuses (503) — and decides again once the database
// is back, without a restart.
func TestMaxStaleness(t *testing.T) {
	ctx := context.Background()
	n := newNode(t)
	n.start()
	setStaleness := func(seconds int) {
		t.Helper()
		req, _ := http.NewRequest("PUT", "http://"+n.addr+"/admin/v1/settings", strings.NewReader(fmt.Sprintf(`{"max_staleness_seconds": %d}`, seconds)))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("set max staleness: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	setStaleness(5)
	time.Sleep(500 * time.Millisecond) // the setting reaches the instance through NOTIFY
	l := startLoad(n.addr, 4)
	time.Sleep(time.Second)
	if err := cluster.Crash(ctx); err != nil {
		t.Fatal(err)
	}
	crashed := time.Now()
	// Refusals start once the policy is 5 s unconfirmed (the last confirmation
	// is at most one 2 s poll before the crash).
	deadline := crashed.Add(15 * time.Second)
	for l.refused.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	refusedAfter := time.Since(crashed)
	if l.refused.Load() == 0 {
		t.Fatal("a stale instance kept deciding")
	}
	if refusedAfter < 2900*time.Millisecond {
		t.Errorf("refused %s after the crash, before the policy could be stale", refusedAfter)
	}
	ackedAtRefusal := l.count()
	time.Sleep(time.Second)
	if l.count() != ackedAtRefusal {
		t.Errorf("%d decisions acknowledged while stale", l.count()-ackedAtRefusal)
	}
	var err error
	if cluster, err = localpg.Start(ctx, clusterOpts); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(30 * time.Second); l.count() < ackedAtRefusal+50 && time.Now().Before(end); {
		time.Sleep(100 * time.Millisecond)
	}
	acked := l.finish()
	fmt.Printf("TestMaxStaleness: refusing %s after the database crashed (max staleness 5 s); %d refused; %d acknowledged after it came back\n",
		refusedAfter.Round(100*time.Millisecond), l.refused.Load(), len(acked)-ackedAtRefusal)
	if len(acked) < ackedAtRefusal+50 {
		t.Errorf("the instance did not decide again once the database was back")
	}
	checkLogged(t, acked, 30*time.Second)
	setStaleness(0)
}
