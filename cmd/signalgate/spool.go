package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signalgate/signalgate/internal/config"
	"github.com/signalgate/signalgate/internal/spool"
	"github.com/signalgate/signalgate/internal/store"
)

// openSpool opens the node's spool directory, creating it when missing.
func openSpool(cfg config.Config) (*spool.Spool, string, error) {
	dir := cfg.SpoolDir
	if dir == "" {
		dir = filepath.Join(cfg.DataDir, "spool")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, dir, fmt.Errorf("create the spool directory %s: %w (set %s)", dir, err, config.EnvName("spool-dir"))
	}
	sp, err := spool.Open(spool.Dir(dir), int64(cfg.SpoolQuotaMiB)<<20)
	return sp, dir, err
}

// spoolDrainInterval is how often a node with spooled decisions tries the
// database again.
const spoolDrainInterval = time.Second

// drainSpool moves spooled decisions into the log whenever the database
// answers, until ctx is done.
func drainSpool(ctx context.Context, sp *spool.Spool, db *store.DB, log *slog.Logger) {
	every(ctx, spoolDrainInterval, func(ctx context.Context) {
		if segs, _ := sp.Depth(); segs == 0 || db.Ping(ctx) != nil {
			return
		}
		n, err := sp.Drain(ctx, db.LogSink())
		if n > 0 {
			log.Info("spooled decisions drained into the log", "rows", n)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("draining the spool stopped; retrying", "err", err)
		}
	})
}

// spoolMetrics exposes the spool's depth and health.
func spoolMetrics(reg prometheus.Registerer, sp *spool.Spool) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "signalgate_spool_segments", Help: "Spool segments waiting to be drained."},
			func() float64 { n, _ := sp.Depth(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "signalgate_spool_bytes", Help: "Bytes in the spool waiting to be drained."},
			func() float64 { _, b := sp.Depth(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "signalgate_spool_failed", Help: "1 once a spool write or fsync failed: the spool takes nothing more."},
			func() float64 {
				if sp.Err() != nil {
					return 1
				}
				return 0
			}),
	)
}

// recordable is the readiness check of the decision log: decisions can be
// recorded while the database answers or the spool has room, and not once
// the spool failed (its data may be incomplete: the node must be looked at).
func recordable(db *store.DB, sp *spool.Spool) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := sp.Err(); err != nil {
			return err
		}
		dbErr := db.Ping(ctx)
		if dbErr == nil || sp.Writable() {
			return nil
		}
		return errors.Join(errors.New("the database is unreachable and the spool is full"), dbErr)
	}
}

// spoolCmd runs `signalgate spool drain`: empty a node's spool into the log
// before the node is retired (stop its server first).
func spoolCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "drain" {
		fmt.Fprintln(stderr, "usage: signalgate spool drain [flags]")
		return errExit1
	}
	cfg, _, err := config.Load("signalgate spool drain", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	sp, dir, err := openSpool(cfg)
	if err != nil {
		return err
	}
	segs, bytes := sp.Depth()
	if segs == 0 {
		fmt.Fprintf(stdout, "the spool in %s is empty\n", dir)
		return nil
	}
	dbs, err := openDatabases(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	fmt.Fprintf(stderr, "draining %d segments (%d bytes) from %s...\n", segs, bytes, dir)
	n, err := sp.Drain(ctx, dbs.app.LogSink())
	fmt.Fprintf(stdout, "%d decisions drained into the log\n", n)
	if err != nil {
		return err
	}
	return nil
}
