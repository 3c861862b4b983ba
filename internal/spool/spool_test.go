package spool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signalgate/signalgate/internal/decisionlog"
)

// crashFS is an in-memory FS that, at a simulated crash, loses what was not
// synced: unsynced bytes of files (a random prefix of them may survive, as a
// torn write), files whose creation was not followed by a directory sync,
// and removals not followed by one.
type crashFS struct {
	mu       sync.Mutex
	rng      *rand.Rand
	files    map[string]*memFile
	removed  map[string]*memFile // removed since the last directory sync
	failSync bool
}

type memFile struct {
	fs      *crashFS
	synced  []byte
	pending []byte
	durable bool // its directory entry was synced
}

func newCrashFS(seed uint64) *crashFS {
	return &crashFS{rng: rand.New(rand.NewPCG(seed, 1)), files: map[string]*memFile{}, removed: map[string]*memFile{}}
}

func (c *crashFS) Create(name string) (File, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.files[name]; ok {
		return nil, fmt.Errorf("%s exists", name)
	}
	f := &memFile{fs: c}
	c.files[name] = f
	return f, nil
}

func (c *crashFS) ReadFile(name string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.files[name]
	if !ok {
		return nil, fmt.Errorf("%s: no such file", name)
	}
	return append(slices.Clone(f.synced), f.pending...), nil
}

func (c *crashFS) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.files[name]
	if !ok {
		return fmt.Errorf("%s: no such file", name)
	}
	delete(c.files, name)
	if f.durable {
		c.removed[name] = f
	}
	return nil
}

func (c *crashFS) List() ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var names []string
	for n := range c.files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names, nil
}

func (c *crashFS) SyncDir() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range c.files {
		f.durable = true
	}
	clear(c.removed)
	return nil
}

// crash applies what a power cut does to what was not synced.
func (c *crashFS) crash() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, f := range c.files {
		if !f.durable {
			delete(c.files, name)
			continue
		}
		torn := c.rng.IntN(len(f.pending) + 1)
		f.synced = append(f.synced, f.pending[:torn]...)
		f.pending = nil
	}
	for name, f := range c.removed {
		c.files[name] = f
	}
	clear(c.removed)
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.pending = append(f.pending, p...)
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.fs.failSync {
		return errors.New("EIO")
	}
	f.synced = append(f.synced, f.pending...)
	f.pending = nil
	return nil
}

func (f *memFile) Close() error { return nil }

// memLog is an idempotent log: it keeps each decision id once.
type memLog struct {
	mu   sync.Mutex
	rows map[uuid.UUID]decisionlog.Entry
	down bool
}

func (m *memLog) WriteIdempotent(_ context.Context, entries []decisionlog.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errors.New("database unreachable")
	}
	for _, e := range entries {
		m.rows[e.DecisionID] = e
	}
	return nil
}

func batch(rng *rand.Rand, n int) []decisionlog.Entry {
	out := make([]decisionlog.Entry, n)
	for i := range out {
		allow := rng.IntN(2) == 0
		out[i] = decisionlog.Entry{DecisionID: uuid.New(), DecidedAt: time.UnixMicro(rng.Int64N(1 << 50)).UTC(),
			Path: "signalgate/decision", Input: []byte(`{"subject":{"id":"u-1"}}`), Result: []byte(`{"allow":true,"reasons":[]}`),
			Allow: &allow, ReasonCodes: []string{"minor"}, Source: "ai_chat", Region: "FR", Revision: "r1",
			Client: "c", Node: "n", EvalNS: rng.Int64N(1e6), Masked: []string{"/input/subject/id"}}
	}
	return out
}

// TestNothingAcknowledgedIsLostAtAnyCrashPoint: appends and drains run in a
// random order, the machine crashes at a random point, the node restarts
// and drains; every batch Append acknowledged is in the log, exactly as
// written.
func TestNothingAcknowledgedIsLostAtAnyCrashPoint(t *testing.T) {
	for trial := range 300 {
		seed := uint64(trial)
		rng := rand.New(rand.NewPCG(seed, 2))
		fs := newCrashFS(seed)
		log := &memLog{rows: map[uuid.UUID]decisionlog.Entry{}}
		acked := map[uuid.UUID]decisionlog.Entry{}
		sp, err := Open(fs, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		crashAt := rng.IntN(40)
		for step := 0; step < crashAt; step++ {
			switch rng.IntN(4) {
			case 0:
				log.down = rng.IntN(2) == 0
				_, _ = sp.Drain(context.Background(), log)
			default:
				b := batch(rng, 1+rng.IntN(20))
				if err := sp.Append(b); err != nil {
					t.Fatalf("trial %d: append: %v", trial, err)
				}
				for _, e := range b {
					acked[e.DecisionID] = e
				}
			}
		}
		// A batch in flight at the crash: written, never synced, never acknowledged.
		sp.mu.Lock()
		if sp.cur != nil {
			_, _ = sp.cur.Write(appendRecord(nil, batch(rng, 5)))
		}
		sp.mu.Unlock()
		fs.crash()

		log.down = false
		sp, err = Open(fs, 1<<30)
		if err != nil {
			t.Fatalf("trial %d: reopen: %v", trial, err)
		}
		if _, err := sp.Drain(context.Background(), log); err != nil {
			t.Fatalf("trial %d: drain after crash: %v", trial, err)
		}
		for id, want := range acked {
			got, ok := log.rows[id]
			if !ok {
				t.Fatalf("trial %d: acknowledged decision %s lost", trial, id)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("trial %d: decision %s changed:\n%v\n%v", trial, id, got, want)
			}
		}
		if segs, bytes := sp.Depth(); segs != 0 || bytes != 0 {
			t.Fatalf("trial %d: %d segments (%d bytes) left after a full drain", trial, segs, bytes)
		}
	}
}

// TestFailedSyncIsNeverRetried: after one failed fsync the spool refuses
// every append, even once syncs would work again.
func TestFailedSyncIsNeverRetried(t *testing.T) {
	fs := newCrashFS(1)
	sp, _ := Open(fs, 1<<30)
	rng := rand.New(rand.NewPCG(1, 1))
	if err := sp.Append(batch(rng, 3)); err != nil {
		t.Fatal(err)
	}
	fs.failSync = true
	if err := sp.Append(batch(rng, 3)); !errors.Is(err, ErrFailed) {
		t.Fatalf("append with a failing fsync: %v", err)
	}
	fs.failSync = false
	if err := sp.Append(batch(rng, 3)); !errors.Is(err, ErrFailed) || sp.Writable() {
		t.Fatalf("append after a failed fsync: %v", err)
	}
	log := &memLog{rows: map[uuid.UUID]decisionlog.Entry{}}
	if n, err := sp.Drain(context.Background(), log); err != nil || n < 3 {
		t.Fatalf("the sealed spool still drains what it synced: %d %v", n, err)
	}
}

// TestQuota: past its quota the spool says so and takes nothing; draining
// makes room again.
func TestQuota(t *testing.T) {
	sp, _ := Open(newCrashFS(2), 4096)
	rng := rand.New(rand.NewPCG(2, 2))
	var err error
	for range 100 {
		if err = sp.Append(batch(rng, 5)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("over quota: %v", err)
	}
	log := &memLog{rows: map[uuid.UUID]decisionlog.Entry{}}
	if _, err := sp.Drain(context.Background(), log); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append(batch(rng, 5)); err != nil {
		t.Fatalf("after a drain: %v", err)
	}
}

// FuzzReadRecord: any bytes decode to a record, a torn record or a corrupt
// one; never a panic or an allocation beyond the input's size.
func FuzzReadRecord(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 3))
	f.Add(appendRecord(nil, batch(rng, 2)))
	f.Add(appendRecord(nil, nil))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, n, err := readRecord(b)
		if err == nil {
			if n > len(b) {
				t.Fatalf("read %d of %d bytes", n, len(b))
			}
			again := appendRecord(nil, entries)
			if e2, _, err := readRecord(again); err != nil || !reflect.DeepEqual(e2, entries) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
