package localpg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

const (
	configFile  = "signalgate.conf"
	includeLine = "include '" + configFile + "'"
	// maxSocketPath is the room in sockaddr_un.sun_path, less its NUL.
	maxSocketPath = 107
)

// initdb creates the cluster. The superuser password goes through a file
// because initdb reads it from nowhere else non-interactively.
func (c *Cluster) initdb(ctx context.Context, noSync bool) error {
	pwfile := filepath.Join(c.dir, ".initdb-password")
	if err := os.WriteFile(pwfile, []byte(c.creds.SuperuserPassword+"\n"), 0o600); err != nil {
		return fmt.Errorf("localpg: write initdb password file: %w", err)
	}
	defer os.Remove(pwfile)
	if c.run.who.cred != nil {
		if err := os.Chown(pwfile, int(c.run.who.uid), int(c.run.who.gid)); err != nil {
			return fmt.Errorf("localpg: give initdb password file to %s: %w", c.run.who.name, err)
		}
	}
	args := []string{
		"-D", c.pgdata,
		"-U", c.creds.Superuser,
		"--auth=scram-sha-256",
		"--pwfile=" + pwfile,
		"-E", "UTF8",
	}
	// C.UTF-8 gives Unicode-aware upper()/lower() and regexes, while C
	// collation keeps sorting byte-wise: fast, and unaffected by libc
	// upgrades that would otherwise silently invalidate indexes.
	if fileExists("/usr/lib/locale/C.utf8") {
		args = append(args, "--locale=C.UTF-8", "--lc-collate=C")
	} else {
		args = append(args, "--no-locale")
	}
	if noSync {
		args = append(args, "--no-sync")
	}
	c.log.Info("initializing PostgreSQL cluster", "dir", c.dir)
	if out, err := c.run.output(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("localpg: initialize cluster in %s (initdb as user %s): %w\n%s",
			c.pgdata, c.run.who.name, err, strings.TrimSpace(out))
	}
	return nil
}

// status reports whether a server is running on the cluster and its port.
func (c *Cluster) status(ctx context.Context) (bool, int, error) {
	out, err := c.run.output(ctx, "pg_ctl", "status", "-D", c.pgdata)
	var exit *exec.ExitError
	switch {
	case err == nil:
		port, err := c.pidFilePort()
		if err != nil {
			return false, 0, err
		}
		return true, port, nil
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		return false, 0, nil
	default:
		return false, 0, fmt.Errorf("localpg: check whether PostgreSQL runs in %s: %w: %s", c.dir, err, strings.TrimSpace(out))
	}
}

// pidFilePort reads the port from the fourth line of postmaster.pid, where
// the server records what it actually listens on.
func (c *Cluster) pidFilePort() (int, error) {
	f, err := os.Open(filepath.Join(c.pgdata, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("localpg: read port of running server: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for i := 1; sc.Scan(); i++ {
		if i == 4 {
			port, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
			if err != nil {
				return 0, fmt.Errorf("localpg: unexpected port %q in postmaster.pid", sc.Text())
			}
			return port, nil
		}
	}
	return 0, errors.New("localpg: postmaster.pid has no port line")
}

// start launches the server. An automatically chosen port can be taken by
// someone else between choosing and binding, so that case retries.
func (c *Cluster) start(ctx context.Context, opts Options) error {
	if err := c.ensureInclude(); err != nil {
		return err
	}
	auto := opts.Port == 0
	port := opts.Port
	if auto {
		if c.creds.Port != 0 && portFree(c.creds.Port) {
			port = c.creds.Port
		} else {
			var err error
			if port, err = freePort(); err != nil {
				return err
			}
		}
	}
	for attempt := 1; ; attempt++ {
		if err := c.writeConfig(port, opts.DisableFsync); err != nil {
			return err
		}
		var offset int64
		if st, err := os.Stat(c.logFile); err == nil {
			offset = st.Size()
		}
		c.log.Info("starting PostgreSQL", "dir", c.dir, "port", port)
		out, err := c.run.output(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.pgdata, "-l", c.logFile)
		if err == nil {
			c.port = port
			return nil
		}
		if auto && attempt < 3 && bindFailed(readFrom(c.logFile, offset)) {
			if port, err = freePort(); err != nil {
				return err
			}
			continue
		}
		return fmt.Errorf("localpg: start PostgreSQL in %s on port %d: %w\n%s\nlast lines of %s:\n%s",
			c.dir, port, err, strings.TrimSpace(out), c.logFile, tailFile(c.logFile, 20))
	}
}

// ensureInclude hooks our settings file into postgresql.conf, last, so that
// it overrides initdb's defaults while ALTER SYSTEM still overrides it.
func (c *Cluster) ensureInclude() error {
	path := filepath.Join(c.pgdata, "postgresql.conf")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("localpg: read postgresql.conf: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == includeLine {
			return nil
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("localpg: update postgresql.conf: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Settings of the managed cluster; %s is rewritten on every start.\n%s\n", configFile, includeLine)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("localpg: update postgresql.conf: %w", err)
	}
	return nil
}

// writeConfig writes the settings that follow from Options, sized for a
// small machine.
func (c *Cluster) writeConfig(port int, disableFsync bool) error {
	runDir := filepath.Join(c.dir, "run")
	if err := ensureOwnedDir(runDir, c.run.who); err != nil {
		return err
	}
	// A socket path that does not fit sockaddr_un stops the server from
	// starting; TCP is what clients use, so the socket is merely a bonus.
	sockets := runDir
	if len(runDir)+len("/.s.PGSQL.65535.lock") > maxSocketPath {
		sockets = ""
	}
	durability := "fsync = on\nsynchronous_commit = on\nfull_page_writes = on\n"
	if disableFsync {
		durability = "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	conf := fmt.Sprintf(`# Written by signalgate on every start; edits here are lost.
listen_addresses = '127.0.0.1'
port = %d
unix_socket_directories = %s
unix_socket_permissions = 0700
max_connections = 200
shared_buffers = 128MB
password_encryption = 'scram-sha-256'
%s`, port, quoteConf(sockets), durability)
	path := filepath.Join(c.pgdata, configFile)
	if err := writeFileAtomic(path, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("localpg: write %s: %w", path, err)
	}
	if c.run.who.cred != nil {
		if err := os.Chown(path, int(c.run.who.uid), int(c.run.who.gid)); err != nil {
			return fmt.Errorf("localpg: give %s to %s: %w", path, c.run.who.name, err)
		}
	}
	return nil
}

func quoteConf(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func bindFailed(log string) bool {
	return strings.Contains(log, "could not bind") || strings.Contains(log, "could not create any TCP/IP sockets")
}

func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localpg: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func portFree(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// bootstrap creates the application's roles and database, and resets the
// role passwords to those on file so the file stays authoritative.
func (c *Cluster) bootstrap(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.SuperuserURL())
	if err != nil {
		return fmt.Errorf("localpg: connect as superuser on port %d: %w", c.port, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	for _, r := range []struct{ name, password string }{
		{OwnerRole, c.creds.OwnerPassword},
		{AppRole, c.creds.AppPassword},
	} {
		var exists bool
		if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1)", r.name).Scan(&exists); err != nil {
			return fmt.Errorf("localpg: look up role %s: %w", r.name, err)
		}
		verb := "CREATE"
		if exists {
			verb = "ALTER"
		}
		q := fmt.Sprintf("%s ROLE %s LOGIN PASSWORD %s", verb, ident(r.name), literal(r.password))
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("localpg: %s role %s: %w", strings.ToLower(verb), r.name, err)
		}
	}

	var dbExists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", DatabaseName).Scan(&dbExists); err != nil {
		return fmt.Errorf("localpg: look up database %s: %w", DatabaseName, err)
	}
	if !dbExists {
		c.log.Info("creating database", "database", DatabaseName)
		if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s OWNER %s", ident(DatabaseName), ident(OwnerRole))); err != nil {
			return fmt.Errorf("localpg: create database %s: %w", DatabaseName, err)
		}
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("GRANT CONNECT ON DATABASE %s TO %s", ident(DatabaseName), ident(AppRole))); err != nil {
		return fmt.Errorf("localpg: grant connect to %s: %w", AppRole, err)
	}

	// Default privileges are per database, so they are set from inside it.
	u := c.url(c.creds.Superuser, c.creds.SuperuserPassword, DatabaseName)
	dbConn, err := pgx.Connect(ctx, u)
	if err != nil {
		return fmt.Errorf("localpg: connect to database %s as superuser: %w", DatabaseName, err)
	}
	defer dbConn.Close(context.WithoutCancel(ctx))
	for _, q := range DefaultPrivilegesSQL() {
		if _, err := dbConn.Exec(ctx, q); err != nil {
			return fmt.Errorf("localpg: set default privileges for %s: %w", AppRole, err)
		}
	}
	return nil
}

// DefaultPrivilegesSQL returns the statements that give AppRole access to
// the tables and sequences OwnerRole creates in schema public. They must be
// run in every database the application uses (default privileges are per
// database), by a superuser or by OwnerRole itself.
func DefaultPrivilegesSQL() []string {
	return []string{
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %s",
			ident(OwnerRole), ident(AppRole)),
		fmt.Sprintf("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %s",
			ident(OwnerRole), ident(AppRole)),
	}
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
