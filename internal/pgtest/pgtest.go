// Package pgtest gives tests a fresh, fully migrated database on a real
// PostgreSQL server.
//
// One throwaway cluster serves a whole test binary (see Main). The first
// New migrates a template database; every New after that clones it, which
// takes milliseconds, so each test can have a database of its own and run
// in parallel with the others.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver pgtestdb and goose use
	"github.com/peterldowns/pgtestdb"
	"github.com/pressly/goose/v3"

	"github.com/signalgate/signalgate/internal/localpg"
	"github.com/signalgate/signalgate/migrations"
)

// dirPrefix names the temporary directories of test clusters, so that
// those left behind by a killed test binary can be recognized.
const dirPrefix = "signalgate-pgtest-"

// ownerFile in a test cluster's directory holds the pid of the test binary
// that owns it.
const ownerFile = "owner.pid"

var (
	cluster *localpg.Cluster
	config  pgtestdb.Config
)

// Main runs the tests of a package against a throwaway PostgreSQL cluster
// and exits with their result. The cluster lives in a temporary directory,
// on tmpfs when available, and is removed afterwards; one left behind by a
// test binary that was killed is removed by the next Main. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	sweepOrphans()
	dir, err := makeClusterDir()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	// MkdirTemp makes the directory 0700; handing it to the server user
	// lets the cluster live inside it, so removing it removes everything.
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("postgres"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			if err := os.Chown(dir, uid, gid); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
				return 1
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := localpg.Start(ctx, localpg.Options{DataDir: dir, DisableFsync: true})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: start PostgreSQL for tests: %v\n", err)
		return 1
	}
	defer func() {
		if err := c.Stop(context.Background()); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
		// A cluster placed outside dir (dir unreachable by the server
		// user) sits alone in a directory of its own.
		if rel, err := filepath.Rel(dir, c.Dir()); err != nil || strings.HasPrefix(rel, "..") {
			os.RemoveAll(filepath.Dir(c.Dir()))
		}
	}()
	if config, err = configFor(c); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	cluster = c
	return m.Run()
}

func configFor(c *localpg.Cluster) (pgtestdb.Config, error) {
	su, err := url.Parse(c.SuperuserURL())
	if err != nil {
		return pgtestdb.Config{}, err
	}
	owner, err := url.Parse(c.OwnerURL())
	if err != nil {
		return pgtestdb.Config{}, err
	}
	suPassword, _ := su.User.Password()
	ownerPassword, _ := owner.User.Password()
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       "127.0.0.1",
		Port:       strconv.Itoa(c.Port()),
		User:       su.User.Username(),
		Password:   suPassword,
		Database:   "postgres",
		Options:    "sslmode=disable",
		// Test databases are owned by, and migrated as, the same role as
		// in production, so privilege mistakes show up in tests.
		TestRole: &pgtestdb.Role{
			Username:     localpg.OwnerRole,
			Password:     ownerPassword,
			Capabilities: "NOSUPERUSER NOCREATEDB NOCREATEROLE",
		},
	}, nil
}

// Cluster returns the cluster Main started, or nil outside Main.
func Cluster() *localpg.Cluster { return cluster }

// Database is a test's own migrated database, dropped when the test ends
// (kept for inspection if the test failed).
type Database struct {
	// Name is the database's name.
	Name string
	// URL connects as localpg.OwnerRole, the owner of the database.
	URL string
	// AppURL connects as localpg.AppRole, the serving role.
	AppURL string
	// Pool is connected with URL and closed when the test ends.
	Pool *pgxpool.Pool
}

// New creates a fresh migrated database for t, with a pool connected to
// it. Connections the test opens itself must be closed by the end of the
// test, or dropping the database fails the test.
func New(t testing.TB) *Database {
	t.Helper()
	db := newDatabase(t)
	pool, err := pgxpool.New(context.Background(), db.URL)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	// Registered after pgtestdb's cleanup, so it runs before the drop.
	t.Cleanup(pool.Close)
	db.Pool = pool
	return db
}

// NewURL creates a fresh migrated database for t and returns a URL that
// connects to it as its owner.
func NewURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t).URL
}

func newDatabase(t testing.TB) *Database {
	t.Helper()
	if cluster == nil {
		t.Fatalf("pgtest: no test cluster; call pgtest.Main(m) from the package's TestMain")
	}
	cfg := pgtestdb.Custom(t, config, migrator{})
	return &Database{
		Name:   cfg.Database,
		URL:    databaseURL(cfg, cfg.User, cfg.Password),
		AppURL: appURL(cfg),
	}
}

func appURL(cfg *pgtestdb.Config) string {
	u, err := url.Parse(cluster.AppURL())
	if err != nil {
		return ""
	}
	password, _ := u.User.Password()
	return databaseURL(cfg, u.User.Username(), password)
}

func databaseURL(cfg *pgtestdb.Config, user, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     cfg.Host + ":" + cfg.Port,
		Path:     "/" + cfg.Database,
		RawQuery: cfg.Options,
	}
	return u.String()
}

// migrator builds the template database the way production builds the
// application's database: default privileges first, then the migrations.
type migrator struct{}

// templateVersion changes whenever Migrate changes in a way the migration
// files do not show, so stale templates are not reused.
const templateVersion = "pgtest-template-v1"

var migrationsHash = sync.OnceValues(func() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", templateVersion)
	for _, q := range localpg.DefaultPrivilegesSQL() {
		fmt.Fprintf(h, "%s\n", q)
	}
	// WalkDir visits names in lexical order, which makes the hash stable.
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("pgtest: hash migrations: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
})

// Hash identifies the template: the migration files and the setup Migrate
// does around them.
func (migrator) Hash() (string, error) { return migrationsHash() }

// Migrate runs as localpg.OwnerRole on the new template database.
func (migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	for _, q := range localpg.DefaultPrivilegesSQL() {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("pgtest: set default privileges: %w", err)
		}
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		return fmt.Errorf("pgtest: load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("pgtest: apply migrations: %w", err)
	}
	return nil
}

// shmDir is preferred for test clusters: cloning a database creates
// hundreds of files, and on a disk-backed filesystem file creation makes
// each clone take hundreds of milliseconds instead of about twenty.
const shmDir = "/dev/shm"

// tmpfsMagic is TMPFS_MAGIC from linux/magic.h.
const tmpfsMagic = 0x01021994

// makeClusterDir creates the directory of the test cluster: on tmpfs when
// there is one with room to spare, otherwise under os.TempDir().
func makeClusterDir() (string, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(shmDir, &st); err == nil && st.Type == tmpfsMagic && st.Bavail*uint64(st.Bsize) >= 1<<30 {
		if dir, err := os.MkdirTemp(shmDir, dirPrefix); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", dirPrefix)
}

// sweepOrphans removes the clusters of test binaries that died without
// cleaning up (killed, or timed out), so they do not pile up.
func sweepOrphans() {
	var dirs []string
	for _, base := range []string{shmDir, os.TempDir()} {
		matches, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
		dirs = append(dirs, matches...)
	}
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || processAlive(pid) {
			continue
		}
		clusterDir := filepath.Join(dir, "pg")
		if loc, err := os.ReadFile(filepath.Join(dir, "pg.location")); err == nil {
			clusterDir = strings.TrimSpace(string(loc))
		}
		killPostmaster(filepath.Join(clusterDir, "data"))
		if clusterDir != filepath.Join(dir, "pg") {
			os.RemoveAll(filepath.Dir(clusterDir))
		}
		os.RemoveAll(dir)
	}
}

// killPostmaster shuts down the server of pgdata immediately. It signals
// only a process whose command line names pgdata, so a recycled pid is
// never hit.
func killPostmaster(pgdata string) {
	b, err := os.ReadFile(filepath.Join(pgdata, "postmaster.pid"))
	if err != nil {
		return
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), pgdata) {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGQUIT)
	for range 50 {
		if !processAlive(pid) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
