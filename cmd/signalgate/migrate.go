package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/signalgate/signalgate/internal/config"
	"github.com/signalgate/signalgate/internal/store"
)

// migrate runs `signalgate migrate up|status`.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "status") {
		fmt.Fprintln(stderr, "usage: signalgate migrate up|status [flags]")
		return errExit1
	}
	cfg, _, err := config.Load("signalgate migrate "+args[0], args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	dbs, err := openDatabases(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	if args[0] == "up" {
		applied, err := store.Migrate(ctx, dbs.owner.Pool)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s) %v\n", len(applied), applied)
		return nil
	}
	st, err := store.Status(ctx, dbs.owner.Pool)
	if err != nil {
		return err
	}
	for _, s := range st {
		state := "pending"
		if s.Applied {
			state = "applied"
		}
		fmt.Fprintf(stdout, "%04d  %-8s %s\n", s.Version, state, s.Name)
	}
	return nil
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by config
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}
