// Package spool keeps decisions on local disk while PostgreSQL cannot take
// them: batches are appended to checksummed segment files and fsynced before
// they are acknowledged, then drained into the log, idempotently, once the
// database is back. A segment is deleted only after all its rows are
// committed.
package spool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

const segmentSuffix = ".spool"

// segmentBytes is the size past which a segment is closed and a new one
// started, so drained data leaves the disk in pieces.
const segmentBytes = 16 << 20

// drainBatch is the most rows one commit of a drain carries.
const drainBatch = 5000

// ErrFull means the spool reached its quota: nothing more can be recorded
// until it drains.
var ErrFull = errors.New("spool full")

// ErrFailed means a write or fsync of the spool failed. The spool stops
// taking records: after a failed fsync the kernel may have dropped the data
// and cleared the error, so retrying could acknowledge what is not on disk.
var ErrFailed = errors.New("spool failed")

// Spool is a node's local decision spool.
type Spool struct {
	fs    FS
	quota int64

	mu      sync.Mutex
	cur     File
	curName string
	curSize int64
	seq     uint64
	sizes   map[string]int64 // every segment on disk, with its size
	total   int64
	failed  error
	buf     []byte

	// Read without the lock by Writable, which every decision asks during
	// an outage: it must not wait behind an append's fsync.
	full   atomic.Bool // the last append did not fit; cleared by a drain
	broken atomic.Bool // failed is set
}

// Open opens the spool kept in fs, taking at most quota bytes; segments
// already there (from before a restart) wait to be drained.
func Open(fs FS, quota int64) (*Spool, error) {
	names, err := fs.List()
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &Spool{fs: fs, quota: quota, sizes: map[string]int64{}}
	for _, name := range names {
		b, err := fs.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		s.sizes[name] = int64(len(b))
		s.total += int64(len(b))
		var seq uint64
		if _, err := fmt.Sscanf(name, "%020d"+segmentSuffix, &seq); err == nil && seq >= s.seq {
			s.seq = seq + 1
		}
	}
	return s, nil
}

// Append records entries durably: it returns nil only once they are written
// and fsynced (file, and directory for a new segment). It returns ErrFull
// over quota and ErrFailed, for good, after any write or sync error.
func (s *Spool) Append(entries []decisionlog.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	s.buf = appendRecord(s.buf[:0], entries)
	if s.total+int64(len(s.buf)) > s.quota {
		s.full.Store(true)
		return ErrFull
	}
	if s.cur == nil {
		if err := s.startSegment(); err != nil {
			return s.fail(err)
		}
	}
	if _, err := s.cur.Write(s.buf); err != nil {
		return s.fail(err)
	}
	if err := s.cur.Sync(); err != nil {
		return s.fail(err)
	}
	n := int64(len(s.buf))
	s.curSize += n
	s.sizes[s.curName] += n
	s.total += n
	if s.curSize >= segmentBytes {
		s.sealLocked()
	}
	return nil
}

func (s *Spool) startSegment() error {
	name := fmt.Sprintf("%020d%s", s.seq, segmentSuffix)
	f, err := s.fs.Create(name)
	if err != nil {
		return err
	}
	s.seq++
	s.sizes[name] = 0
	if err := s.fs.SyncDir(); err != nil {
		f.Close()
		return err
	}
	s.cur, s.curName, s.curSize = f, name, 0
	return nil
}

// fail seals the spool for good; the segment on disk keeps what was synced.
func (s *Spool) fail(err error) error {
	s.failed = errors.Join(ErrFailed, err)
	s.broken.Store(true)
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
	return s.failed
}

func (s *Spool) sealLocked() {
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
}

// Err returns the error that failed the spool, or nil while it works.
func (s *Spool) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}

// Depth returns the segments and bytes waiting to be drained.
func (s *Spool) Depth() (segments int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sizes), s.total
}

// Writable reports whether an append could succeed now: the spool has not
// failed, and no append was refused for want of room since the last drain.
func (s *Spool) Writable() bool { return !s.broken.Load() && !s.full.Load() }

// Writer commits drained batches; it must ignore rows already in the log.
type Writer interface {
	WriteIdempotent(ctx context.Context, entries []decisionlog.Entry) error
}

// Drain moves every segment into w, oldest first, and returns the rows it
// wrote. The segment being appended to is closed first, so a drain empties
// the spool. A segment is removed once all of its records are committed; an
// error leaves it (and the later ones) for the next drain.
func (s *Spool) Drain(ctx context.Context, w Writer) (int, error) {
	s.mu.Lock()
	s.sealLocked()
	names := make([]string, 0, len(s.sizes))
	for name := range s.sizes {
		names = append(names, name)
	}
	s.mu.Unlock()
	slices.Sort(names)
	rows := 0
	var corrupt []error
	for _, name := range names {
		n, err := s.drainSegment(ctx, w, name)
		rows += n
		switch {
		case errors.Is(err, errCorrupt):
			// Left on disk for inspection; the others still drain.
			corrupt = append(corrupt, err)
		case err != nil:
			return rows, err
		}
	}
	return rows, errors.Join(corrupt...)
}

func (s *Spool) drainSegment(ctx context.Context, w Writer, name string) (int, error) {
	b, err := s.fs.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("read spool segment %s: %w", name, err)
	}
	// Records are as small as the batches that were spooled (a few rows
	// under light load): many go into each commit of the drain.
	rows := 0
	var pending []decisionlog.Entry
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := w.WriteIdempotent(ctx, pending); err != nil {
			return fmt.Errorf("drain spool segment %s: %w", name, err)
		}
		rows += len(pending)
		pending = pending[:0]
		return nil
	}
	for off := 0; off < len(b); {
		entries, n, err := readRecord(b[off:])
		if errors.Is(err, errTorn) || (errors.Is(err, errCorrupt) && lastRecord(b[off:])) {
			break // cut short by a crash before its fsync: never acknowledged
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return rows, ferr
			}
			return rows, fmt.Errorf("spool segment %s at byte %d: %w", name, off, err)
		}
		pending = append(pending, entries...)
		if len(pending) >= drainBatch {
			if err := flush(); err != nil {
				return rows, err
			}
		}
		off += n
	}
	if err := flush(); err != nil {
		return rows, err
	}
	if err := s.fs.Remove(name); err != nil {
		return rows, fmt.Errorf("remove drained spool segment %s: %w", name, err)
	}
	if err := s.fs.SyncDir(); err != nil {
		return rows, fmt.Errorf("remove drained spool segment %s: %w", name, err)
	}
	s.mu.Lock()
	s.total -= s.sizes[name]
	s.full.Store(false)
	delete(s.sizes, name)
	s.mu.Unlock()
	return rows, nil
}
