package policy

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/settings"
)

// Store is what the policy service needs from storage.
type Store interface {
	// Bootstrap stores rev as revision r1 and makes it active when no
	// revision exists yet; it reports whether it did.
	Bootstrap(ctx context.Context, rev Revision) (bool, error)
	// Active returns the active revision, or an errs.NotFound error.
	Active(ctx context.Context) (Revision, error)
	// ActiveNumber returns the active revision's number, or an errs.NotFound error.
	ActiveNumber(ctx context.Context) (int64, error)
	// Draft returns the saved draft, or an errs.NotFound error.
	Draft(ctx context.Context) (Draft, error)
	// SaveDraft replaces the draft when the current content hash is ifMatch
	// (else errs.PreconditionFailed) and records e, in one transaction.
	SaveDraft(ctx context.Context, d Draft, ifMatch string, e audit.Entry) error
	// Publish stores rev as the next revision, activates it if asked,
	// records e and notifies instances, in one transaction; it returns the
	// new number.
	// needApproval requires an approval of rev's exact content (errs.Conflict
	// otherwise); a publish voids every approval.
	Publish(ctx context.Context, rev Revision, activate, needApproval bool, e audit.Entry) (int64, error)
	// Approve records approver's approval of draft content hash (errs.Conflict
	// when the draft is no longer hash, errs.Forbidden when the approver
	// edited the draft since the last publish) and e.
	Approve(ctx context.Context, hash, approver string, at time.Time, e audit.Entry) error
	// Activate moves the active pointer to n (errs.NotFound if unknown),
	// records e and notifies instances.
	Activate(ctx context.Context, n int64, actor string, e audit.Entry) error
	// Revisions lists up to limit revisions newest first, without content.
	Revisions(ctx context.Context, limit int) ([]Revision, error)
	// Revision returns revision n with its content, or errs.NotFound.
	Revision(ctx context.Context, n int64) (Revision, error)
}

// Notifier tells an instance that the active revision may have moved.
type Notifier interface {
	// ListenActive calls onChange on every move and after every (re)connect,
	// until ctx is done.
	ListenActive(ctx context.Context, onChange func(context.Context)) error
}

// Service loads policy revisions into the engine.
type Service struct {
	store    Store
	settings Settings
	engine   *engine.Engine
	log      *slog.Logger
	now      func() time.Time
	// loading serialises reloads, so a notification and a poll arriving
	// together compile the new revision once.
	loading sync.Mutex
	// confirmed is when (UnixNano) the database last confirmed which
	// revision is in force.
	confirmed atomic.Int64
}

// ConfirmedAt is when the database last confirmed the revision in force on
// this instance (zero before the first load).
func (s *Service) ConfirmedAt() time.Time {
	if n := s.confirmed.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// Settings tells whether four-eyes publishing is on.
type Settings interface {
	Get(ctx context.Context) (settings.Settings, error)
}

// NewService returns a Service that keeps eng's policy in step with store;
// set reads the deployment settings (four-eyes).
func NewService(store Store, set Settings, eng *engine.Engine, log *slog.Logger, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, settings: set, engine: eng, log: log, now: now}
}

// Bootstrap makes the default policy in defaults revision r1 when the
// deployment has no revision yet. It refuses a default that does not compile.
func (s *Service) Bootstrap(ctx context.Context, defaults fs.FS) error {
	content, err := LoadFS(defaults)
	if err != nil {
		return fmt.Errorf("load default policy: %w", err)
	}
	if _, err := engine.Compile(ctx, FormatID(1), content.EngineContent()); err != nil {
		return fmt.Errorf("compile default policy: %w", err)
	}
	hash, err := ContentHash(content)
	if err != nil {
		return err
	}
	created, err := s.store.Bootstrap(ctx, Revision{
		Number: 1, ContentHash: hash, Content: content,
		Author: "signalgate", Message: "default policy", CreatedAt: s.now(),
	})
	if err != nil {
		return err
	}
	if created {
		s.log.Info("default policy published", "revision", FormatID(1), "content_hash", hash)
	}
	return nil
}

// LoadActive compiles the active revision and swaps it into the engine,
// unless the engine already runs it. It returns the active revision's id.
func (s *Service) LoadActive(ctx context.Context) (string, error) {
	s.loading.Lock()
	defer s.loading.Unlock()
	n, err := s.store.ActiveNumber(ctx)
	if err != nil {
		return "", err
	}
	if cur := s.engine.Policy(); cur != nil && cur.Revision() == FormatID(n) {
		s.confirmed.Store(time.Now().UnixNano())
		return cur.Revision(), nil
	}
	rev, err := s.store.Revision(ctx, n)
	if err != nil {
		return "", err
	}
	compiled, err := engine.Compile(ctx, rev.ID(), rev.Content.EngineContent())
	if err != nil {
		return "", fmt.Errorf("compile active revision %s: %w", rev.ID(), err)
	}
	s.engine.Swap(compiled)
	s.confirmed.Store(time.Now().UnixNano())
	s.log.Info("policy loaded", "revision", rev.ID(), "content_hash", rev.ContentHash)
	return rev.ID(), nil
}

// Watch keeps the engine on the active revision until ctx is done: it
// reloads on every notification from n, and checks the pointer every poll
// interval in case a notification was missed. It returns once ctx is done
// and its listening connection is closed. The new policy is compiled
// before it is swapped in, so no decision sees a half-loaded one.
func (s *Service) Watch(ctx context.Context, n Notifier, poll time.Duration) {
	reload := func(ctx context.Context) {
		if _, err := s.LoadActive(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("reloading the active policy", "err", err)
		}
	}
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		if err := n.ListenActive(ctx, reload); err != nil && ctx.Err() == nil {
			s.log.Error("listening for policy changes stopped", "err", err)
		}
	}()
	defer func() { <-listening }() // its connection is closed when Watch returns
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			reload(ctx)
		}
	}
}
