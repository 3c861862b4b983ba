package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// promiseWithRoom is the product's promise that a publish or a revocation
// reaches every instance within a second, with room for a loaded test
// machine; the tests log what they measured.
const promiseWithRoom = 2 * time.Second

// server is a real `signalgate serve` started through run, on a fresh
// database, serving on a loopback port of its own.
type server struct {
	client *http.Client // nil: http.DefaultClient
	url    string
	token  string // the bootstrap admin token
	db     *pgtest.Database
	stop   func()
}

const testToken = "sgt_test-bootstrap-token-0123456789abcdef"

func startServer(t testing.TB, extraEnv map[string]string) *server {
	t.Helper()
	return startServerOn(t, pgtest.New(t), extraEnv)
}

// startServerOn starts a server on an existing database, so several
// instances can share one.
func startServerOn(t testing.TB, db *pgtest.Database, extraEnv map[string]string) *server {
	t.Helper()
	env := map[string]string{
		"SIGNALGATE_DATABASE_URL":       db.AppURL,
		"SIGNALGATE_OWNER_DATABASE_URL": db.URL,
		"SIGNALGATE_ADDR":               "127.0.0.1:0",
		"SIGNALGATE_BOOTSTRAP_TOKEN":    testToken,
		"SIGNALGATE_DATA_DIR":           t.TempDir(),
		"SIGNALGATE_LOG_LEVEL":          "warn",
		"SIGNALGATE_NODE":               "test-node",
		// The race detector and parallel tests slow evaluations many times
		// over; the 50 ms production deadline would turn them into timeouts.
		"SIGNALGATE_EVAL_TIMEOUT": "10s",
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	var stderr bytes.Buffer
	var mu sync.Mutex
	go func() {
		err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, pw, lockedWriter{&mu, &stderr})
		pw.Close()
		done <- err
	}()
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`serving (https?) on (\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1] + "://" + m[2]
			}
		}
	}()
	s := &server{token: testToken, db: db}
	select {
	case a := <-addr:
		s.url = a
	case err := <-done:
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("serve exited: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start within 60s")
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop within 30s")
			}
		})
	}
	t.Cleanup(s.stop)
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (s *server) do(t *testing.T, method, path, token string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	client := s.client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// addToken creates a user holding role and a token of that role, as the
// identity API will; it returns the token secret.
func addToken(t *testing.T, pool *pgxpool.Pool, role auth.Role) string {
	t.Helper()
	secret := auth.NewTokenSecret()
	ctx := context.Background()
	var userID int64
	name := "user-" + string(role) + "-" + strings.ToLower(secret[4:10])
	if err := pool.QueryRow(ctx, `INSERT INTO users (name) VALUES ($1) RETURNING id`, name).Scan(&userID); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO user_roles (user_id, role) VALUES ($1, $2)`, userID, role); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, role, digest, hint) VALUES (gen_random_uuid(), $1, $2, $3, $4, $5)`,
		userID, "test", role, auth.Digest(secret), auth.Hint(secret)); err != nil {
		t.Fatal(err)
	}
	return secret
}
