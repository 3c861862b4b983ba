package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// stopTimeout is how long a server gets to shut down after SIGTERM; signalgate
// also stops its PostgreSQL in that time.
const stopTimeout = 60 * time.Second

// process is a server this run started and must stop.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited
	waitErr error         // valid after done is closed
	// settled is set once the process is stopped or its exit has been
	// reported, so that stop says nothing twice.
	settled bool
}

// startProcess runs bin with its output in logPath. The server gets its own
// process group so that a Ctrl-C at the terminal reaches only this program,
// which then stops the servers in order.
func startProcess(name, logPath string, env []string, bin string, args ...string) (*process, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create %s log: %w", name, err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady polls url until it answers 200. It gives up when the process
// exits, when timeout passes or when ctx ends.
func (p *process) waitReady(ctx context.Context, client *http.Client, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			p.settled = true
			return fmt.Errorf("%s exited before it was ready (%v); its log ends with:\n%s", p.name, p.waitErr, p.logTail(30))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %s; its log ends with:\n%s", p.name, url, timeout, p.logTail(30))
		}
	}
}

// stop sends SIGTERM and waits; a server that ignores it is killed.
// Exiting on its own before being asked counts as a failure.
func (p *process) stop() error {
	if p.settled {
		return nil
	}
	p.settled = true
	select {
	case <-p.done:
		return fmt.Errorf("%s exited during the run (%v); its log ends with:\n%s", p.name, p.waitErr, p.logTail(30))
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop %s: %w", p.name, err)
	}
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("%s did not stop cleanly (%v); its log ends with:\n%s", p.name, p.waitErr, p.logTail(30))
		}
		return nil
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.name, stopTimeout)
	}
}

// peakRSS is the process's high-water resident set (VmHWM) in bytes. It is
// read while the process runs: the kernel forgets it at exit.
func (p *process) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS of %s: %w", p.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS of %s: parse %q: %w", p.name, v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("peak RSS of %s: %w", p.name, err)
	}
	return 0, fmt.Errorf("peak RSS of %s: no VmHWM in /proc status", p.name)
}

// logTail returns the last n lines of the server's log: the log lives in a
// directory removed at the end of the run, so a failure must quote it.
func (p *process) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return "(log unreadable: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// freeLoopbackAddr finds a free port on 127.0.0.1. The port is released
// before the server binds it; another program taking it in between makes
// the server fail to start, which the run reports.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// cleanEnv is this program's environment without SIGNALGATE_* variables, so
// that a database URL or log mode set in the shell cannot change what is
// measured.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SIGNALGATE_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
