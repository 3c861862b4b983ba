// Package localpg runs the managed local PostgreSQL: a private cluster that
// the application initializes, starts and stops itself, so that a single
// machine needs nothing but the PostgreSQL binaries to run the service.
//
// The cluster is tied to the application's data directory. Credentials,
// the chosen port and (when the cluster has to live elsewhere) the cluster's
// location are remembered there, so every start after the first reuses the
// same cluster.
package localpg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Names of the roles and database the managed cluster provides.
const (
	// DatabaseName is the application's database.
	DatabaseName = "signalgate"
	// OwnerRole owns DatabaseName and is the role migrations run as.
	OwnerRole = "signalgate_owner"
	// AppRole is the role the serving application connects as; it gets
	// table and sequence privileges through default privileges of OwnerRole.
	AppRole = "signalgate_app"
	// Superuser is the bootstrap superuser created by initdb.
	Superuser = "postgres"
)

// Files kept in the application's data directory.
const (
	credentialsFile = "pg.json"
	pointerFile     = "pg.location"
	lockFile        = "pg.lock"
	usersFile       = "pg.users" // each user of the running server holds a shared lock on it
	clusterSubdir   = "pg"
)

// DefaultClusterRoot is where a cluster goes when the application's data
// directory cannot be reached by the user PostgreSQL runs as.
const DefaultClusterRoot = "/var/lib/signalgate"

// Options configure Start.
type Options struct {
	// DataDir is the application's data directory, e.g. "./.signalgate".
	// It is created if missing.
	DataDir string
	// Port is the TCP port on 127.0.0.1 to listen on. Zero picks a free
	// port on first start and keeps it on later starts while it stays free.
	Port int
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
	// ClusterRoot overrides DefaultClusterRoot.
	ClusterRoot string
	// DisableFsync trades crash safety for speed. Only for throwaway
	// clusters such as those of tests: a crash can corrupt the cluster.
	DisableFsync bool
}

// Cluster is a running managed PostgreSQL cluster.
type Cluster struct {
	users   string   // path of the users file
	use     *os.File // holds this handle's shared lock on it, until Stop or Crash
	dir     string
	pgdata  string
	logFile string
	port    int
	creds   credentials
	run     *runner
	log     *slog.Logger
}

// Start brings up the managed cluster of opts.DataDir, creating it on first
// use, and makes sure the application's database and roles exist. A server
// left running by an earlier process is reused rather than restarted.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.DataDir == "" {
		return nil, errors.New("localpg: no data directory given")
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("localpg: invalid port %d", opts.Port)
	}
	if opts.ClusterRoot == "" {
		opts.ClusterRoot = DefaultClusterRoot
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("localpg: resolve data directory %s: %w", opts.DataDir, err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("localpg: create data directory: %w", err)
	}
	// Resolving symlinks keeps the fallback location stable however the
	// directory is named, and makes the reachability check look at the
	// directories that are really traversed.
	if dataDir, err = filepath.EvalSymlinks(dataDir); err != nil {
		return nil, fmt.Errorf("localpg: resolve data directory %s: %w", opts.DataDir, err)
	}

	// Every handle holds a shared lock on the users file while it uses the
	// server: Stop stops it only for its last user, so a one-off command
	// never stops the database under a serving process, whichever started
	// it. A Start waits here while another process is stopping the server.
	users := filepath.Join(dataDir, usersFile)
	use, err := os.OpenFile(users, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localpg: open %s: %w", users, err)
	}
	if err := syscall.Flock(int(use.Fd()), syscall.LOCK_SH); err != nil {
		use.Close()
		return nil, fmt.Errorf("localpg: lock %s: %w", users, err)
	}
	handedOut := false
	defer func() {
		if !handedOut {
			use.Close()
		}
	}()

	unlock, err := lockDir(dataDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	who, err := serverIdentity()
	if err != nil {
		return nil, err
	}
	dir, err := placeCluster(dataDir, opts.ClusterRoot, who, log)
	if err != nil {
		return nil, err
	}
	pgdata := filepath.Join(dir, "data")

	initialized := fileExists(filepath.Join(pgdata, "PG_VERSION"))
	wantMajor := ""
	if initialized {
		b, err := os.ReadFile(filepath.Join(pgdata, "PG_VERSION"))
		if err != nil {
			return nil, fmt.Errorf("localpg: read cluster version: %w", err)
		}
		wantMajor = strings.TrimSpace(string(b))
	}
	binDir, err := findBinaries(ctx, wantMajor)
	if err != nil {
		return nil, err
	}

	credsPath := filepath.Join(dataDir, credentialsFile)
	creds, found, err := loadCredentials(credsPath)
	if err != nil {
		return nil, err
	}
	if initialized && !found {
		return nil, fmt.Errorf("localpg: the cluster in %s exists but its credentials file %s is missing; "+
			"restore the file, or stop any server on that cluster and remove %s to start afresh", dir, credsPath, dir)
	}
	if !found {
		if creds, err = newCredentials(); err != nil {
			return nil, err
		}
		// Saved before initdb so that a crash between the two never leaves
		// a cluster whose superuser password nobody knows.
		if err := saveCredentials(credsPath, creds); err != nil {
			return nil, err
		}
	}

	c := &Cluster{
		users:   users,
		use:     use,
		dir:     dir,
		pgdata:  pgdata,
		logFile: filepath.Join(dir, "postgresql.log"),
		creds:   creds,
		run:     newRunner(binDir, who, dir),
		log:     log,
	}
	if !initialized {
		if err := c.initdb(ctx, opts.DisableFsync); err != nil {
			return nil, err
		}
	}

	running, runningPort, err := c.status(ctx)
	if err != nil {
		return nil, err
	}
	startedHere := false
	if running {
		if opts.Port != 0 && opts.Port != runningPort {
			return nil, fmt.Errorf("localpg: the cluster in %s is already running on port %d, not the requested %d; stop it first",
				dir, runningPort, opts.Port)
		}
		log.Info("reusing running PostgreSQL", "dir", dir, "port", runningPort)
		c.port = runningPort
	} else {
		if err := c.start(ctx, opts); err != nil {
			return nil, err
		}
		startedHere = true
	}

	if c.creds.Port != c.port {
		c.creds.Port = c.port
		if err := saveCredentials(credsPath, c.creds); err != nil {
			return nil, err
		}
	}
	if err := c.bootstrap(ctx); err != nil {
		if startedHere {
			_ = c.Stop(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	handedOut = true
	return c, nil
}

// Dir returns the directory holding the cluster: its PostgreSQL data
// directory ("data"), socket directory ("run") and server log.
func (c *Cluster) Dir() string { return c.dir }

// Port returns the TCP port the cluster listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// LogFile returns the path of the server log.
func (c *Cluster) LogFile() string { return c.logFile }

// OwnerURL returns a connection URL for OwnerRole on DatabaseName.
func (c *Cluster) OwnerURL() string {
	return c.url(OwnerRole, c.creds.OwnerPassword, DatabaseName)
}

// AppURL returns a connection URL for AppRole on DatabaseName.
func (c *Cluster) AppURL() string {
	return c.url(AppRole, c.creds.AppPassword, DatabaseName)
}

// SuperuserURL returns a connection URL for the superuser on the
// maintenance database "postgres".
func (c *Cluster) SuperuserURL() string {
	return c.url(c.creds.Superuser, c.creds.SuperuserPassword, "postgres")
}

func (c *Cluster) url(user, password, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(user, password),
		Host:     "127.0.0.1:" + strconv.Itoa(c.port),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop ends this handle's use of the server and shuts the server down,
// cancelling running queries, unless another handle (in any process) still
// uses it; it waits until the server has exited. Stopping a cluster that is
// not running is not an error.
func (c *Cluster) Stop(ctx context.Context) error {
	last, err := c.lastUser()
	defer c.release()
	if err != nil {
		return err
	}
	if !last {
		c.log.Info("PostgreSQL left running: another process uses it", "dir", c.dir)
		return nil
	}
	running, _, err := c.status(ctx)
	if err != nil {
		return err
	}
	if !running {
		return nil
	}
	out, err := c.run.output(ctx, "pg_ctl", "stop", "-D", c.pgdata, "-m", "fast", "-w", "-t", "60")
	if err != nil {
		return fmt.Errorf("localpg: stop PostgreSQL in %s: %w: %s", c.dir, err, strings.TrimSpace(out))
	}
	c.log.Info("stopped PostgreSQL", "dir", c.dir)
	return nil
}

// lastUser reports whether this handle is the server's only user, taking
// the users file's lock exclusively if so.
func (c *Cluster) lastUser() (bool, error) {
	if c.use == nil { // released already: ask as a newcomer
		f, err := os.OpenFile(c.users, os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			return false, fmt.Errorf("localpg: open %s: %w", c.users, err)
		}
		c.use = f
	}
	err := syscall.Flock(int(c.use.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("localpg: lock %s: %w", c.users, err)
	}
	return true, nil
}

func (c *Cluster) release() {
	if c.use != nil {
		c.use.Close()
		c.use = nil
	}
}

// Crash stops PostgreSQL the way a crash would (pg_ctl stop -m immediate:
// no checkpoint, recovery at the next start), whoever uses it, and ends this
// handle's use. For fault tests.
func (c *Cluster) Crash(ctx context.Context) error {
	defer c.release()
	out, err := c.run.output(ctx, "pg_ctl", "stop", "-D", c.pgdata, "-m", "immediate", "-w", "-t", "60")
	if err != nil {
		return fmt.Errorf("localpg: crash PostgreSQL in %s: %w: %s", c.dir, err, strings.TrimSpace(out))
	}
	return nil
}

// lockDir serializes Start for one data directory across processes, since
// two concurrent initdb or pg_ctl start runs on one cluster would collide.
func lockDir(dataDir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dataDir, lockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("localpg: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("localpg: lock data directory %s: %w", dataDir, err)
	}
	return func() { f.Close() }, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tailFile returns the last n lines of path, for error messages.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	const maxRead = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxRead {
		_, _ = f.Seek(st.Size()-maxRead, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
