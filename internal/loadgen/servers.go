package loadgen

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Server names as printed in the results.
const (
	nameSignalgate = "signalgate"
	nameOPA        = "opa"
)

// server is one of the two servers under load.
type server struct {
	name   string
	proc   *process
	base   string      // http://127.0.0.1:port
	header http.Header // sent with every request
	single string      // path answering one decision
	batch  string      // path answering many decisions; empty if none
	// allowOf reads the allow bit out of a single-decision response.
	allowOf  func(body []byte) (bool, error)
	dataDir  string   // signalgate's; empty for OPA
	tempDirs []string // removed by close
}

// startSignalgate serves from a fresh data directory, so the managed
// PostgreSQL starts empty and in the default durable log mode: every
// decision is answered only after its log row is committed.
func startSignalgate(ctx context.Context, client *http.Client, bin string) (*server, error) {
	return startSignalgateWith(ctx, client, bin)
}

// startSignalgateWith is startSignalgate with extra environment, e.g. a
// database shared with other instances.
func startSignalgateWith(ctx context.Context, client *http.Client, bin string, env ...string) (*server, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "loadgen-signalgate-")
	if err != nil {
		return nil, fmt.Errorf("create signalgate data directory: %w", err)
	}
	logDir, err := os.MkdirTemp("", "loadgen-signalgate-log-")
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("create signalgate log directory: %w", err)
	}
	s := &server{
		name: nameSignalgate, single: "/v1/decisions", batch: "/v1/decisions/batch",
		allowOf: signalgateAllow, dataDir: dataDir, tempDirs: []string{dataDir, logDir},
	}
	token := rand.Text()
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, errors.Join(err, s.close())
	}
	s.base = "http://" + addr
	s.header = http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + token}}
	s.proc, err = startProcess(nameSignalgate, filepath.Join(logDir, "signalgate.log"), append(cleanEnv(
		"SIGNALGATE_ADDR="+addr,
		"SIGNALGATE_DATA_DIR="+dataDir,
		"SIGNALGATE_BOOTSTRAP_TOKEN="+token,
		"SIGNALGATE_LOG_MODE=durable",
	), env...), bin, "serve")
	if err != nil {
		return nil, errors.Join(err, s.close())
	}
	// The first start runs initdb and the migrations.
	if err := s.proc.waitReady(ctx, client, s.base+"/readyz", 3*time.Minute); err != nil {
		return nil, errors.Join(err, s.close())
	}
	return s, nil
}

// startOPA serves the policy folder with stock OPA. The version check is
// turned off because it would leave the machine; everything here stays on
// loopback.
func startOPA(ctx context.Context, client *http.Client, bin, policies string) (*server, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if policies, err = filepath.Abs(policies); err != nil {
		return nil, err
	}
	logDir, err := os.MkdirTemp("", "loadgen-opa-log-")
	if err != nil {
		return nil, fmt.Errorf("create opa log directory: %w", err)
	}
	s := &server{
		name: nameOPA, single: "/v1/data/signalgate/decision/reasons",
		allowOf: opaAllow, tempDirs: []string{logDir},
		header: http.Header{"Content-Type": {"application/json"}},
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, errors.Join(err, s.close())
	}
	s.base = "http://" + addr
	s.proc, err = startProcess(nameOPA, filepath.Join(logDir, "opa.log"), os.Environ(), bin,
		"run", "--server", "--addr", addr, "--log-level", "error", "--skip-version-check", policies)
	if err != nil {
		return nil, errors.Join(err, s.close())
	}
	if err := s.proc.waitReady(ctx, client, s.base+"/health", time.Minute); err != nil {
		return nil, errors.Join(err, s.close())
	}
	return s, nil
}

// close stops the server and removes its directories. A cluster placed
// outside the data directory (when PostgreSQL's user cannot reach it) is
// this run's too, so it goes as well.
func (s *server) close() error {
	var errs []error
	if s.proc != nil {
		errs = append(errs, s.proc.stop())
	}
	if s.dataDir != "" {
		errs = append(errs, removeRelocatedCluster(s.dataDir))
	}
	for _, d := range s.tempDirs {
		errs = append(errs, os.RemoveAll(d))
	}
	return errors.Join(errs...)
}

// removeRelocatedCluster removes the cluster of data directory dataDir when
// it was placed outside it (PostgreSQL's user could not reach it).
func removeRelocatedCluster(dataDir string) error {
	if b, err := os.ReadFile(filepath.Join(dataDir, "pg.location")); err == nil {
		if dir := strings.TrimSpace(string(b)); filepath.IsAbs(dir) {
			return os.RemoveAll(filepath.Dir(dir))
		}
	}
	return nil
}

// decide asks the server for one decision outside the load, to check that
// it decides the mix as the policy says.
func (s *server) decide(ctx context.Context, client *http.Client, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+s.single, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header = s.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return false, err
	}
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s answered %s: %s", s.name, resp.Status, bytes.TrimSpace(b))
	}
	return s.allowOf(b)
}

func signalgateAllow(body []byte) (bool, error) {
	var resp struct {
		Result *struct {
			Allow bool `json:"allow"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Result == nil {
		return false, fmt.Errorf("unexpected signalgate answer %s", body)
	}
	return resp.Result.Allow, nil
}

// opaAllow reads the reasons set: the policy allows exactly when it is empty.
func opaAllow(body []byte) (bool, error) {
	var resp struct {
		Result *[]json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Result == nil {
		return false, fmt.Errorf("unexpected opa answer %s", body)
	}
	return len(*resp.Result) == 0, nil
}

// decisionLogRows counts signalgate's log through the managed cluster, as its
// owner: the application role need not be able to read the whole log.
func decisionLogRows(ctx context.Context, dataDir string) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := ownerConn(ctx, dataDir)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM decision_logs").Scan(&n); err != nil {
		return 0, fmt.Errorf("count decision log rows: %w", err)
	}
	return n, nil
}
