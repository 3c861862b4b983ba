package main

import (
	"context"
	"fmt"
	"io"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/config"
)

// auditCmd runs `signalgate audit verify`: it reads the whole admin audit
// trail and checks its hash chain.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: signalgate audit verify [flags]")
		return errExit1
	}
	cfg, _, err := config.Load("signalgate audit verify", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	dbs, err := openDatabases(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer dbs.closeLeavingShared(context.WithoutCancel(ctx))
	entries, err := dbs.owner.Audit().All(ctx)
	if err != nil {
		return err
	}
	if b := audit.Verify(entries); b != nil {
		fmt.Fprintf(stdout, "audit trail BROKEN at entry %d: %s (%d entries read)\n", b.Seq, b.Reason, len(entries))
		return errExit1
	}
	fmt.Fprintf(stdout, "audit trail intact: %d entries\n", len(entries))
	return nil
}
