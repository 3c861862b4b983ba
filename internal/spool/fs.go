package spool

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FS is the little of a file system the spool needs, so tests can put a
// file system in its place that loses unsynced writes at a simulated crash.
type FS interface {
	// Create creates a new file for appending.
	Create(name string) (File, error)
	ReadFile(name string) ([]byte, error)
	Remove(name string) error
	// List returns the names of the files, sorted.
	List() ([]string, error)
	// SyncDir makes creations and removals durable.
	SyncDir() error
}

// File is an append-only file.
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Close() error
}

// Dir is an FS over a directory of the operating system.
type Dir string

// Create creates name, failing if it exists.
func (d Dir) Create(name string) (File, error) {
	return os.OpenFile(filepath.Join(string(d), name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
}

// ReadFile reads name.
func (d Dir) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), name))
}

// Remove removes name.
func (d Dir) Remove(name string) error { return os.Remove(filepath.Join(string(d), name)) }

// List returns the segment files, sorted.
func (d Dir) List() ([]string, error) {
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), segmentSuffix) {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// SyncDir fsyncs the directory.
func (d Dir) SyncDir() error {
	f, err := os.Open(string(d))
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
