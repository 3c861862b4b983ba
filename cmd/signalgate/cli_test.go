package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signalgate/signalgate/internal/pgtest"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPolicyTestCommand(t *testing.T) {
	t.Parallel()
	out, _, err := runCLI(t, nil, "policy", "test", "../../policies")
	if err != nil || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("default policy: %v\n%s", err, out)
	}
	failing := writeFiles(t, map[string]string{
		"p.rego":      "package signalgate.decision\nallow := true\nreasons := set()\n",
		"p_test.rego": "package signalgate.decision_test\n\ntest_denies if not data.signalgate.decision.allow\n",
	})
	out, _, err = runCLI(t, nil, "policy", "test", failing)
	if !errors.Is(err, errExit1) || !strings.Contains(out, "FAIL") || !strings.Contains(out, "p_test.rego:3") || !strings.Contains(out, "0 passed, 1 failed") {
		t.Errorf("failing test: %v\n%s", err, out)
	}
	broken := writeFiles(t, map[string]string{"p.rego": "package signalgate.decision\n\nallow if {\n"})
	_, errOut, err := runCLI(t, nil, "policy", "test", broken)
	if !errors.Is(err, errExit1) || !strings.Contains(errOut, "p.rego:") {
		t.Errorf("syntax error: %v\n%s", err, errOut)
	}
	forbidden := writeFiles(t, map[string]string{"p.rego": "package signalgate.decision\nallow if http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1\"})\nreasons := set()\n"})
	_, errOut, err = runCLI(t, nil, "policy", "test", forbidden)
	if !errors.Is(err, errExit1) || !strings.Contains(errOut, "http.send") {
		t.Errorf("forbidden builtin: %v\n%s", err, errOut)
	}
	if _, _, err := runCLI(t, nil, "policy", "test"); !errors.Is(err, errExit1) {
		t.Errorf("no directory: %v", err)
	}
}

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	env := map[string]string{"SIGNALGATE_DATABASE_URL": db.URL, "SIGNALGATE_DATA_DIR": t.TempDir(), "SIGNALGATE_LOG_LEVEL": "error"}
	out, errOut, err := runCLI(t, env, "migrate", "up")
	if err != nil || !strings.Contains(out, "applied 0 migration(s)") {
		t.Errorf("migrate up on a migrated database: %v\n%s%s", err, out, errOut)
	}
	out, _, err = runCLI(t, env, "migrate", "status")
	if err != nil || !strings.Contains(out, "0001  applied") {
		t.Errorf("migrate status: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, env, "migrate", "sideways"); !errors.Is(err, errExit1) {
		t.Errorf("unknown migrate verb: %v", err)
	}
}

func TestConfigCommands(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SIGNALGATE_DATABASE_URL": "postgres://u:secret@db/x", "SIGNALGATE_EVAL_TIMEOUT": "20ms"}
	out, _, err := runCLI(t, env, "serve", "--print-config", "--addr", "127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"SIGNALGATE_ADDR=127.0.0.1:9999", "SIGNALGATE_DATABASE_URL=********", "SIGNALGATE_EVAL_TIMEOUT=20ms", "SIGNALGATE_LOG_MODE=durable"} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Error("--print-config printed a secret")
	}
	_, _, err = runCLI(t, map[string]string{"SIGNALGATE_LOG_MODE": "sometimes"}, "serve")
	if err == nil || !strings.Contains(err.Error(), "SIGNALGATE_LOG_MODE") {
		t.Errorf("bad log mode: %v", err)
	}
	out, _, err = runCLI(t, nil, "version")
	if err != nil || !strings.HasPrefix(out, "signalgate ") {
		t.Errorf("version: %q %v", out, err)
	}
	if _, _, err := runCLI(t, nil, "frobnicate"); !errors.Is(err, errExit1) {
		t.Errorf("unknown command: %v", err)
	}
}

// TestPolicyPushPull: policies kept in git go through pull, edit, push;
// a broken push prints file:row:col and publishes nothing.
func TestPolicyPushPull(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	env := map[string]string{"SIGNALGATE_SERVER": s.url, "SIGNALGATE_TOKEN": s.token}
	dir := t.TempDir()
	out, errOut, err := runCLI(t, env, "policy", "pull", dir)
	if err != nil || !strings.Contains(out, "wrote r1") {
		t.Fatalf("pull: %v %s %s", err, out, errOut)
	}
	if out, _, err := runCLI(t, nil, "policy", "test", dir); err != nil || !strings.Contains(out, " 0 failed") {
		t.Fatalf("the pulled folder does not pass its tests: %v %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "data.json"))
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"topic_categories": {`, `"topic_categories": {`+"\n      \"astrology\": \"religion\",", 1)
	if edited == string(data) {
		t.Fatal("could not edit data.json")
	}
	if err := os.WriteFile(filepath.Join(dir, "data.json"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, err = runCLI(t, env, "policy", "push", dir, "--message", "astrology is a belief")
	if err != nil || !strings.Contains(out, "published r2") {
		t.Fatalf("push: %v %s %s", err, out, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.rego"), []byte("package signalgate.extra\n\nallow if {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, err = runCLI(t, env, "policy", "push", dir, "--message", "broken")
	if !errors.Is(err, errExit1) || !strings.Contains(errOut, filepath.Join(dir, "broken.rego")+":") {
		t.Errorf("broken push: %v %s", err, errOut)
	}
	out, _, err = runCLI(t, env, "policy", "revisions")
	if err != nil || !strings.Contains(out, "* r2") || strings.Contains(out, "r3") {
		t.Errorf("revisions: %v\n%s", err, out)
	}
	if out, _, err := runCLI(t, env, "policy", "activate", "r1"); err != nil || !strings.Contains(out, "r1 is active") {
		t.Errorf("activate: %v %s", err, out)
	}
	if _, errOut, err := runCLI(t, map[string]string{"SIGNALGATE_SERVER": s.url}, "policy", "revisions"); !errors.Is(err, errExit1) || !strings.Contains(errOut, "no token") {
		t.Errorf("no token: %v %s", err, errOut)
	}
}

// TestUserAndTokenCommands: operators with database access create users
// and tokens without a running server; the token works at once.
func TestUserAndTokenCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	env := map[string]string{"SIGNALGATE_DATABASE_URL": s.db.URL, "SIGNALGATE_DATA_DIR": t.TempDir(),
		"SIGNALGATE_LOG_LEVEL": "error", "SIGNALGATE_NEW_PASSWORD": "a long enough password"}
	out, errOut, err := runCLI(t, env, "user", "create", "--name", "ci-bot", "--role", "decider", "--role", "viewer")
	if err != nil || !strings.Contains(out, "created user ci-bot") {
		t.Fatalf("user create: %v %s %s", err, out, errOut)
	}
	out, errOut, err = runCLI(t, env, "token", "create", "--user", "ci-bot", "--name", "pipeline", "--role", "decider")
	secret := strings.TrimSpace(out)
	if err != nil || !strings.HasPrefix(secret, "sgt_") || !strings.Contains(errOut, "shown once") {
		t.Fatalf("token create: %v %s %s", err, out, errOut)
	}
	if resp, body := s.do(t, "POST", "/v1/decisions", secret, []byte(`{"input":`+benignInput+`}`)); resp.StatusCode != 200 {
		t.Errorf("the CLI token: %d %s", resp.StatusCode, body)
	}
	if _, _, err := runCLI(t, env, "token", "create", "--user", "ci-bot", "--name", "x", "--role", "admin"); err == nil {
		t.Error("a token above its user's roles was issued")
	}
	// The database flags work here as for every command, not only from the environment.
	flagEnv := map[string]string{"SIGNALGATE_DATA_DIR": t.TempDir(), "SIGNALGATE_LOG_LEVEL": "error"}
	out, errOut, err = runCLI(t, flagEnv, "token", "create", "--database-url", s.db.URL, "--user", "ci-bot", "--name", "by flag", "--role", "viewer")
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "sgt_") {
		t.Errorf("token create --database-url: %v %s %s", err, out, errOut)
	}
}
