package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/config"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/replay"
	"github.com/signalgate/signalgate/internal/settings"
)

// auditCmd runs `signalgate audit verify|replay`.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "replay") {
		fmt.Fprintln(stderr, "usage: signalgate audit verify | signalgate audit replay --from T --to T")
		return errExit1
	}
	if args[0] == "replay" {
		return auditReplay(ctx, args[1:], getenv, stdout, stderr)
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

// auditReplay re-evaluates every logged decision in [from, to) under the
// revision that made it and reports each mismatch; exit status 1 if any.
func auditReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signalgate audit replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "start of the range, RFC 3339 (inclusive)")
	to := fs.String("to", "", "end of the range, RFC 3339 (exclusive; default now)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f := decisionlog.Filter{Limit: decisionlog.MaxPage}
	var err error
	if f.From, err = time.Parse(time.RFC3339Nano, *from); err != nil {
		fmt.Fprintln(stderr, "--from must be an RFC 3339 instant such as 2026-01-02T00:00:00Z")
		return errExit1
	}
	f.To = time.Now()
	if *to != "" {
		if f.To, err = time.Parse(time.RFC3339Nano, *to); err != nil {
			fmt.Fprintln(stderr, "--to must be an RFC 3339 instant")
			return errExit1
		}
	}
	cfg, _, err := config.Load("signalgate audit replay", nil, getenv, stderr)
	if err != nil {
		return err
	}
	dbs, err := openDatabases(ctx, cfg, newLogger(stderr, cfg.LogLevel))
	if err != nil {
		return err
	}
	defer dbs.closeLeavingShared(context.WithoutCancel(ctx))
	revisions := policy.NewService(dbs.app.Policies(), settings.NewService(dbs.app.Settings(), nil), engine.New(cfg.EvalTimeout), newLogger(io.Discard, "error"), nil)
	rp := replay.NewService(dbs.app.LogReader(), revisions, cfg.EvalTimeout)
	checked, mismatches, skipped, report := 0, 0, 0, 10000
	for {
		page, err := decisionlog.Search(ctx, dbs.app.LogReader(), f)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			res, err := rp.Replay(ctx, e.DecisionID)
			switch {
			case errs.CodeOf(err) == errs.Unprocessable:
				skipped++ // decided by a revision published elsewhere (an agent's bundle)
				continue
			case err != nil:
				return err
			}
			checked++
			if !res.Match {
				mismatches++
				fmt.Fprintf(stdout, "MISMATCH %s %s %s: logged %s, replayed %s\n", e.DecisionID, e.DecidedAt.Format(time.RFC3339Nano), e.Revision, e.Result, res.Replayed)
			}
		}
		if checked >= report { // long ranges show progress
			fmt.Fprintf(stderr, "replayed %d decisions...\n", checked)
			report += 10000
		}
		if page.Next == "" {
			break
		}
		cur, _ := decisionlog.ParseCursor(page.Next)
		f.After = &cur
	}
	fmt.Fprintf(stdout, "%d decisions replayed, %d mismatched, %d skipped (not decided by a local revision)\n", checked, mismatches, skipped)
	if mismatches > 0 {
		return errExit1
	}
	return nil
}
