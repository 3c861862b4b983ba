package localpg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoPostgres is returned (wrapped) when no PostgreSQL server binaries
// can be found.
var ErrNoPostgres = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found; install them with: apt-get install -y postgresql")

// identity is the user the PostgreSQL binaries run as.
type identity struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32
	// cred is nil when the binaries run as the current user.
	cred *syscall.Credential
}

// serverIdentity picks who runs PostgreSQL: initdb and postgres refuse to
// run as root, so root hands them to the "postgres" system user.
func serverIdentity() (identity, error) {
	if os.Geteuid() != 0 {
		u, err := user.Current()
		name := strconv.Itoa(os.Geteuid())
		if err == nil {
			name = u.Username
		}
		groups, _ := os.Getgroups()
		id := identity{name: name, uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}
		for _, g := range groups {
			id.groups = append(id.groups, uint32(g))
		}
		return id, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return identity{}, fmt.Errorf("localpg: running as root, PostgreSQL must run as the \"postgres\" system user, "+
			"which was not found (%v); it is created by: apt-get install -y postgresql", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return identity{}, fmt.Errorf("localpg: unexpected ids of user postgres: uid %q gid %q", u.Uid, u.Gid)
	}
	id := identity{name: u.Username, uid: uint32(uid), gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				id.groups = append(id.groups, uint32(n))
			}
		}
	}
	id.cred = &syscall.Credential{Uid: id.uid, Gid: id.gid, Groups: id.groups}
	return id, nil
}

// runner runs PostgreSQL binaries as the server identity.
type runner struct {
	binDir string
	who    identity
	dir    string
	env    []string
}

func newRunner(binDir string, who identity, dir string) *runner {
	// The caller's locale and PG* settings must not leak into the cluster:
	// the locale is chosen explicitly, and messages are parsed in English.
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PG") || strings.HasPrefix(k, "LC_") || k == "LANG" || k == "LANGUAGE" || k == "HOME" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "LC_ALL=C", "HOME="+dir)
	return &runner{binDir: binDir, who: who, dir: dir, env: env}
}

func (r *runner) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(r.binDir, name), args...)
	// The caller's working directory may not be reachable by the server
	// user, and initdb and postgres complain when they cannot return to it.
	cmd.Dir = r.dir
	cmd.Env = r.env
	if r.who.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.who.cred}
	}
	// The postmaster is detached by pg_ctl and writes to its log file, but
	// don't hang forever should some child keep the output pipe open.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// output runs a binary and returns its combined output.
func (r *runner) output(ctx context.Context, name string, args ...string) (string, error) {
	var buf bytes.Buffer
	cmd := r.command(ctx, name, args...)
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	err := cmd.Run()
	return buf.String(), err
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)`)

// findBinaries returns the directory holding initdb, pg_ctl and postgres.
// A cluster can only be run by the major version that created it, so when
// wantMajor is set that version is required.
func findBinaries(ctx context.Context, wantMajor string) (string, error) {
	type candidate struct{ dir, major string }
	var cands []candidate
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dir := filepath.Dir(p)
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "postgres")) {
			out, err := exec.CommandContext(ctx, p, "--version").Output()
			if m := versionRE.FindSubmatch(out); err == nil && m != nil {
				cands = append(cands, candidate{dir, string(m[1])})
			}
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var globbed []candidate
	for _, dir := range dirs {
		major := filepath.Base(filepath.Dir(dir))
		if _, err := strconv.Atoi(major); err != nil {
			continue
		}
		if isExecutable(filepath.Join(dir, "initdb")) && isExecutable(filepath.Join(dir, "pg_ctl")) && isExecutable(filepath.Join(dir, "postgres")) {
			globbed = append(globbed, candidate{dir, major})
		}
	}
	slices.SortFunc(globbed, func(a, b candidate) int {
		x, _ := strconv.Atoi(a.major)
		y, _ := strconv.Atoi(b.major)
		return y - x
	})
	cands = append(cands, globbed...)
	if len(cands) == 0 {
		return "", fmt.Errorf("localpg: %w", ErrNoPostgres)
	}
	if wantMajor == "" {
		return cands[0].dir, nil
	}
	for _, c := range cands {
		if c.major == wantMajor {
			return c.dir, nil
		}
	}
	return "", fmt.Errorf("localpg: the cluster was created by PostgreSQL %s but only PostgreSQL %s is installed; "+
		"install it with: apt-get install -y postgresql-%s", wantMajor, cands[0].major, wantMajor)
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// BinDir returns the directory of the machine's newest PostgreSQL binaries
// (initdb, pg_ctl, pg_dump, ...), following links to where the whole set
// lives, or an error naming how to install them.
func BinDir() (string, error) {
	dir, err := findBinaries(context.Background(), "")
	if err != nil {
		return "", err
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, "pg_ctl"))
	if err != nil {
		return dir, nil
	}
	return filepath.Dir(real), nil
}
