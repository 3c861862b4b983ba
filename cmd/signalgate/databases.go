package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/signalgate/signalgate/internal/config"
	"github.com/signalgate/signalgate/internal/localpg"
	"github.com/signalgate/signalgate/internal/store"
)

// databases are the serving connection, the owner connection (the same one
// when no owner URL is configured) and the managed cluster, if any.
type databases struct {
	app, owner *store.DB
	cluster    *localpg.Cluster
}

// openDatabases connects as configured, starting the managed local
// PostgreSQL when no database URL is given.
func openDatabases(ctx context.Context, cfg config.Config, log *slog.Logger) (*databases, error) {
	appURL, ownerURL := cfg.DatabaseURL, cfg.OwnerDatabaseURL
	dbs := &databases{}
	if appURL == "" {
		log.Info("no database URL configured: starting the managed local PostgreSQL", "data_dir", cfg.DataDir)
		cl, err := localpg.Start(ctx, localpg.Options{DataDir: cfg.DataDir, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("start managed PostgreSQL: %w", err)
		}
		dbs.cluster = cl
		appURL = cl.AppURL()
		if ownerURL == "" {
			ownerURL = cl.OwnerURL()
		}
	}
	app, err := store.Open(ctx, appURL, store.Options{Logger: log, MaxConns: 32})
	if err != nil {
		dbs.close(ctx)
		return nil, fmt.Errorf("open database: %w", err)
	}
	dbs.app, dbs.owner = app, app
	if ownerURL != "" && ownerURL != appURL {
		owner, err := store.Open(ctx, ownerURL, store.Options{Logger: log, MaxConns: 4})
		if err != nil {
			dbs.close(ctx)
			return nil, fmt.Errorf("open owner database: %w", err)
		}
		dbs.owner = owner
	}
	return dbs, nil
}

// close closes the connections and stops the managed cluster, which keeps
// running while another process (a server beside a one-off command) uses it.
func (d *databases) close(ctx context.Context) {
	if d.owner != nil && d.owner != d.app {
		d.owner.Close()
	}
	if d.app != nil {
		d.app.Close()
	}
	if d.cluster != nil {
		_ = d.cluster.Stop(ctx)
	}
}

// openForCommand loads a one-off command's configuration (args are its
// flags) and connects as it says; the caller closes with close (which
// leaves the managed cluster running while another process uses it).
func openForCommand(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (*databases, config.Config, error) {
	cfg, _, err := config.Load(name, args, getenv, stderr)
	if err != nil {
		return nil, cfg, err
	}
	dbs, err := openDatabases(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	return dbs, cfg, err
}
