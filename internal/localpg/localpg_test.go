package localpg_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signalgate/signalgate/internal/localpg"
)

// reachableDir returns a fresh directory that the PostgreSQL user can
// traverse; t.TempDir's directories are 0700 and would not be.
func reachableDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "localpg-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err = filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func start(t *testing.T, opts localpg.Options) *localpg.Cluster {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := localpg.Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func queryString(t *testing.T, conn *pgx.Conn, q string) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestStartConnectStopRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dataDir := filepath.Join(reachableDir(t), "app")
	c := start(t, localpg.Options{DataDir: dataDir})

	if want := filepath.Join(dataDir, "pg"); c.Dir() != want {
		t.Errorf("Dir() = %s, want %s", c.Dir(), want)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "pg.location")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pointer file present for an in-place cluster: %v", err)
	}
	st, err := os.Stat(filepath.Join(dataDir, "pg.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("credentials file mode %v, want 0600", st.Mode().Perm())
	}

	su := connect(t, c.SuperuserURL())
	if got := queryString(t, su, "SHOW fsync"); got != "on" {
		t.Errorf("fsync = %s, want on", got)
	}
	if got := queryString(t, su, "SHOW listen_addresses"); got != "127.0.0.1" {
		t.Errorf("listen_addresses = %s", got)
	}
	if got := queryString(t, su, "SELECT pg_catalog.pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'signalgate'"); got != localpg.OwnerRole {
		t.Errorf("database owner = %s, want %s", got, localpg.OwnerRole)
	}

	owner := connect(t, c.OwnerURL())
	if got := queryString(t, owner, "SELECT current_user || '@' || current_database()"); got != "signalgate_owner@signalgate" {
		t.Errorf("owner connection is %s", got)
	}
	if _, err := owner.Exec(ctx, "CREATE TABLE note (id bigserial PRIMARY KEY, body text NOT NULL)"); err != nil {
		t.Fatalf("owner creates table: %v", err)
	}

	app := connect(t, c.AppURL())
	if got := queryString(t, app, "SELECT current_user"); got != localpg.AppRole {
		t.Errorf("app connection is %s", got)
	}
	// Default privileges must let the serving role use what migrations create.
	if _, err := app.Exec(ctx, "INSERT INTO note (body) VALUES ('kept across restarts')"); err != nil {
		t.Fatalf("app inserts into owner's table: %v", err)
	}
	_, err = app.Exec(ctx, "CREATE TABLE rogue (id int)")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
		t.Errorf("app creating a table: got %v, want insufficient_privilege", err)
	}

	// A second start while the server runs reuses it.
	again := start(t, localpg.Options{DataDir: dataDir})
	if again.Port() != c.Port() || again.OwnerURL() != c.OwnerURL() {
		t.Errorf("second start while running: port %d url %s, want %d %s", again.Port(), again.OwnerURL(), c.Port(), c.OwnerURL())
	}
	// Stopping it leaves the server to the first handle, which still uses it.
	if err := again.Stop(ctx); err != nil {
		t.Fatalf("Stop of the second handle: %v", err)
	}
	if err := owner.Ping(ctx); err != nil {
		t.Errorf("the second handle's Stop stopped the server the first still uses: %v", err)
	}

	port, ownerURL, appURL := c.Port(), c.OwnerURL(), c.AppURL()
	su.Close(ctx)
	owner.Close(ctx)
	app.Close(ctx)
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Errorf("Stop of a stopped cluster: %v", err)
	}
	if _, err := pgx.Connect(ctx, ownerURL); err == nil {
		t.Error("connected after Stop")
	}

	c2 := start(t, localpg.Options{DataDir: dataDir})
	if c2.Dir() != c.Dir() || c2.Port() != port || c2.OwnerURL() != ownerURL || c2.AppURL() != appURL {
		t.Errorf("restart changed the cluster: dir %s port %d, want %s %d", c2.Dir(), c2.Port(), c.Dir(), port)
	}
	app2 := connect(t, c2.AppURL())
	if got := queryString(t, app2, "SELECT body FROM note"); got != "kept across restarts" {
		t.Errorf("after restart, note = %q", got)
	}
}

func TestClusterOutsideUnreachableDataDir(t *testing.T) {
	t.Parallel()
	private, err := os.MkdirTemp("", "localpg-private-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(private) })
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(private, "checkout", ".signalgate")
	root := reachableDir(t)

	c := start(t, localpg.Options{DataDir: dataDir, ClusterRoot: root, DisableFsync: true})
	pointer := filepath.Join(dataDir, "pg.location")
	if os.Geteuid() == 0 {
		if !strings.HasPrefix(c.Dir(), root+string(filepath.Separator)) {
			t.Fatalf("Dir() = %s, want it under %s", c.Dir(), root)
		}
		b, err := os.ReadFile(pointer)
		if err != nil {
			t.Fatalf("pointer file: %v", err)
		}
		if strings.TrimSpace(string(b)) != c.Dir() {
			t.Errorf("pointer file says %q, cluster is in %s", b, c.Dir())
		}
		st, err := os.Stat(filepath.Dir(c.Dir()))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("cluster parent mode %v, want 0700", st.Mode().Perm())
		}
	} else if want := filepath.Join(dataDir, "pg"); c.Dir() != want {
		// Without root, PostgreSQL runs as us and reaches the data directory.
		t.Errorf("Dir() = %s, want %s", c.Dir(), want)
	}

	owner := connect(t, c.OwnerURL())
	if _, err := owner.Exec(context.Background(), "CREATE TABLE marker (id int)"); err != nil {
		t.Fatal(err)
	}
	owner.Close(context.Background())
	dir, port := c.Dir(), c.Port()
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	c2 := start(t, localpg.Options{DataDir: dataDir, ClusterRoot: root, DisableFsync: true})
	if c2.Dir() != dir || c2.Port() != port {
		t.Errorf("restart: dir %s port %d, want %s %d", c2.Dir(), c2.Port(), dir, port)
	}
	owner2 := connect(t, c2.OwnerURL())
	if got := queryString(t, owner2, "SELECT to_regclass('marker')::text"); got != "marker" {
		t.Errorf("table lost across restart: %q", got)
	}
}

func TestStartFailureShowsServerLog(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := l.Addr().(*net.TCPAddr).Port

	_, err = localpg.Start(context.Background(), localpg.Options{
		DataDir:      filepath.Join(reachableDir(t), "app"),
		Port:         busy,
		DisableFsync: true,
	})
	if err == nil {
		t.Fatal("Start succeeded on a port in use")
	}
	if msg := err.Error(); !strings.Contains(msg, "could not bind") || !strings.Contains(msg, "postgresql.log") {
		t.Errorf("error does not carry the server log:\n%s", msg)
	}
}
