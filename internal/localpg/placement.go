package localpg

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// placeCluster decides where the cluster of dataDir lives and makes sure
// that directory exists, owned by the server user. The cluster belongs
// inside the data directory, but PostgreSQL runs as another user when we
// are root, and that user must be able to reach its directory: a checkout
// under /root (mode 0700) cannot hold it. Then the cluster goes under
// clusterRoot and a pointer file in dataDir records where.
func placeCluster(dataDir, clusterRoot string, who identity, log *slog.Logger) (string, error) {
	ptr := filepath.Join(dataDir, pointerFile)
	if b, err := os.ReadFile(ptr); err == nil {
		dir := strings.TrimSpace(string(b))
		if !filepath.IsAbs(dir) {
			return "", fmt.Errorf("localpg: %s does not hold an absolute path", ptr)
		}
		// Recreate a wiped fallback location rather than fail; an existing
		// parent is left as it is, since the user may have moved the cluster.
		if parent := filepath.Dir(dir); !fileExists(parent) {
			if err := os.MkdirAll(filepath.Dir(parent), 0o755); err != nil {
				return "", fmt.Errorf("localpg: recreate cluster location: %w", err)
			}
			if err := ensureOwnedDir(parent, who); err != nil {
				return "", err
			}
		}
		return dir, ensureOwnedDir(dir, who)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("localpg: read cluster location: %w", err)
	}

	inPlace := filepath.Join(dataDir, clusterSubdir)
	// An existing cluster stays where it is; if it has become unreachable,
	// starting it fails with PostgreSQL's own explanation.
	if who.cred == nil || fileExists(inPlace) {
		return inPlace, ensureOwnedDir(inPlace, who)
	}
	if blocker := untraversable(filepath.Dir(dataDir), who); blocker == "" {
		if !canTraverse(dataDir, who) {
			// The data directory is ours (we just made it, or the user
			// did); letting others search it without listing it is enough,
			// and its secrets are in 0600 files.
			if st, err := os.Stat(dataDir); err == nil && ownedBy(st, uint32(os.Geteuid())) {
				if err := os.Chmod(dataDir, st.Mode().Perm()|0o001); err != nil {
					return "", fmt.Errorf("localpg: make data directory searchable: %w", err)
				}
			}
		}
		if canTraverse(dataDir, who) {
			return inPlace, ensureOwnedDir(inPlace, who)
		}
	} else {
		log.Info("data directory not reachable by the PostgreSQL user; placing the cluster elsewhere",
			"user", who.name, "blocked_at", blocker)
	}

	sum := sha256.Sum256([]byte(dataDir))
	parent := filepath.Join(clusterRoot, hex.EncodeToString(sum[:])[:12])
	dir := filepath.Join(parent, clusterSubdir)
	if err := os.MkdirAll(clusterRoot, 0o755); err != nil {
		return "", fmt.Errorf("localpg: create %s: %w", clusterRoot, err)
	}
	if blocker := untraversable(clusterRoot, who); blocker != "" {
		return "", fmt.Errorf("localpg: neither %s nor %s can be reached by user %s (blocked at %s); "+
			"choose a data directory outside private home directories", dataDir, clusterRoot, who.name, blocker)
	}
	if err := ensureOwnedDir(parent, who); err != nil {
		return "", err
	}
	if err := ensureOwnedDir(dir, who); err != nil {
		return "", err
	}
	if err := writeFileAtomic(ptr, []byte(dir+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("localpg: record cluster location: %w", err)
	}
	log.Info("cluster placed outside the data directory", "dir", dir, "pointer", ptr)
	return dir, nil
}

// ensureOwnedDir creates dir (mode 0700) if needed and gives it to the
// server user.
func ensureOwnedDir(dir string, who identity) error {
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("localpg: create cluster directory: %w", err)
	}
	if who.cred != nil {
		if err := os.Chown(dir, int(who.uid), int(who.gid)); err != nil {
			return fmt.Errorf("localpg: give %s to user %s: %w", dir, who.name, err)
		}
	}
	return nil
}

// untraversable returns the first directory on the way from / to dir
// (inclusive) that who may not search, or "" if there is none.
func untraversable(dir string, who identity) string {
	var chain []string
	for d := dir; ; d = filepath.Dir(d) {
		chain = append(chain, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	slices.Reverse(chain)
	for _, d := range chain {
		if !canTraverse(d, who) {
			return d
		}
	}
	return ""
}

// canTraverse applies the classic owner/group/other permission rule; ACLs
// are not consulted, which errs towards the always-working fallback.
func canTraverse(dir string, who identity) bool {
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	perm := st.Mode().Perm()
	switch {
	case who.uid == 0:
		return true
	case sys.Uid == who.uid:
		return perm&0o100 != 0
	case sys.Gid == who.gid || slices.Contains(who.groups, sys.Gid):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func ownedBy(st fs.FileInfo, uid uint32) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return ok && sys.Uid == uid
}

// writeFileAtomic replaces path so that readers never see a partial file.
func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
