package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"github.com/signalgate/signalgate/internal/policy"
)

// ActiveChannel is the NOTIFY channel of active-pointer moves.
const ActiveChannel = "signalgate_active_revision"

var _ policy.Notifier = (*DB)(nil)

// ListenActive calls onChange after every notification that the active
// revision moved, and each time the listening connection is (re)established,
// since notifications sent while it was down are lost. It blocks until ctx
// is done; the connection is its own, outside the pool.
func (db *DB) ListenActive(ctx context.Context, onChange func(context.Context)) error {
	return db.listen(ctx, ActiveChannel, "policy changes", onChange)
}

// ListenSchedules is ListenActive for schedule changes.
func (db *DB) ListenSchedules(ctx context.Context, onChange func(context.Context)) error {
	return db.listen(ctx, ScheduleChannel, "schedule changes", onChange)
}

// ListenSettings is ListenActive for settings changes.
func (db *DB) ListenSettings(ctx context.Context, onChange func(context.Context)) error {
	return db.listen(ctx, SettingsChannel, "settings changes", onChange)
}

func (db *DB) listen(ctx context.Context, channel, what string, onChange func(context.Context)) error {
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig.Copy())
		},
		ReconnectDelay: time.Second,
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil { // not merely shutting down
				slog.Default().WarnContext(ctx, "listening for "+what+"; reconnecting", "err", err)
			}
		},
	}
	l.Handle(channel, notifyHandler(onChange))
	return l.Listen(ctx)
}

type notifyHandler func(context.Context)

func (h notifyHandler) HandleNotification(ctx context.Context, _ *pgconn.Notification, _ *pgx.Conn) error {
	h(ctx)
	return nil
}

// HandleBacklog runs once the LISTEN is in place, after every (re)connect.
func (h notifyHandler) HandleBacklog(ctx context.Context, _ string, _ *pgx.Conn) error {
	h(ctx)
	return nil
}

// ActiveNumber returns the number of the revision in force: the active
// pointer's, or that of a pending schedule already due (instances switch at
// its instant; the pointer follows a moment later, when one of them applies
// it). It returns an errs.NotFound error when none is active.
func (s *PolicyStore) ActiveNumber(ctx context.Context) (int64, error) {
	var n *int64 // the query always gives one row: NULL before the first revision
	err := s.db.Pool.QueryRow(ctx, `SELECT coalesce(
		(SELECT revision FROM activation_schedules WHERE state = 'pending' AND at <= now() ORDER BY at DESC, id DESC LIMIT 1),
		(SELECT revision FROM active_revision))`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read the active revision: %w", err)
	}
	if n == nil {
		return 0, notFound("no active policy revision")
	}
	return *n, nil
}
