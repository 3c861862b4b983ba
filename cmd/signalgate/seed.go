package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/signalgate/signalgate/internal/config"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/seed"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/store"
	"github.com/signalgate/signalgate/policies"
)

// seedEvalTimeout bounds each seeded evaluation. Seeding is offline and
// keeps every CPU busy, so a scheduling hiccup must not turn a decision into
// an evaluation_error that no live instance would have logged.
const seedEvalTimeout = time.Second

// seedUsage is printed for -h, before the configuration flags.
const seedUsage = `usage: signalgate seed-decisions N [--days D | --from T --to T] [--seed S] [flags]

Fills the decision log with N synthetic decisions spread over [now-D days, now)
(default 30 days) or [--from, --to), each decided by the active revision with
its time pinned to its decided_at, so seeded rows replay like native ones.
`

// seedDecisions runs `signalgate seed-decisions N`.
func seedDecisions(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signalgate seed-decisions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	days := fs.Int("days", 30, "spread the decisions over the last D days")
	fromFlag := fs.String("from", "", "start of the range, RFC 3339 (inclusive; with --to, instead of --days)")
	toFlag := fs.String("to", "", "end of the range, RFC 3339 (exclusive)")
	seedFlag := fs.String("seed", "", "random seed, for a reproducible log (default: a fresh one, printed)")

	var nArg string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		nArg, args = args[0], args[1:]
	}
	own, rest := splitFlags(args, fs)
	if err := fs.Parse(own); err != nil {
		return err
	}
	if wantsHelp(rest) {
		fmt.Fprint(stderr, seedUsage+"\nflags:\n")
		fs.PrintDefaults()
	}
	cfg, positional, err := config.Load("signalgate seed-decisions", rest, getenv, stderr)
	if err != nil {
		return err
	}
	if nArg == "" && len(positional) == 1 {
		nArg, positional = positional[0], nil
	}
	n, err := strconv.Atoi(nArg)
	if err != nil || n < 1 || len(positional) > 0 {
		fmt.Fprint(stderr, seedUsage)
		return errExit1
	}

	now := time.Now().UTC()
	from, to := now.AddDate(0, 0, -*days), now
	switch {
	case *fromFlag != "" || *toFlag != "":
		if from, err = time.Parse(time.RFC3339Nano, *fromFlag); err != nil {
			fmt.Fprintln(stderr, "--from and --to must both be RFC 3339 instants such as 2026-01-02T00:00:00Z")
			return errExit1
		}
		if to, err = time.Parse(time.RFC3339Nano, *toFlag); err != nil {
			fmt.Fprintln(stderr, "--from and --to must both be RFC 3339 instants such as 2026-01-02T00:00:00Z")
			return errExit1
		}
	case *days < 1:
		fmt.Fprintln(stderr, "--days must be at least 1")
		return errExit1
	}
	if !from.Before(to) {
		fmt.Fprintln(stderr, "--from must be before --to")
		return errExit1
	}
	seedValue, err := parseSeed(*seedFlag)
	if err != nil {
		fmt.Fprintln(stderr, "--seed must be a non-negative integer")
		return errExit1
	}

	log := newLogger(stderr, cfg.LogLevel)
	dbs, err := openDatabases(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	// A fresh deployment gets what serve would give it first: the schema and
	// the default policy, so the decisions have a revision to be made by.
	if _, err := store.Migrate(ctx, dbs.owner.Pool); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	policySvc := policy.NewService(dbs.app.Policies(), settings.NewService(dbs.app.Settings(), nil), engine.New(seedEvalTimeout), log, nil)
	if err := policySvc.Bootstrap(ctx, policies.FS); err != nil {
		return err
	}
	rev, err := dbs.app.Policies().Active(ctx)
	if err != nil {
		return err
	}
	compiled, err := engine.Compile(ctx, rev.ID(), rev.Content.EngineContent())
	if err != nil {
		return fmt.Errorf("compile active revision %s: %w", rev.ID(), err)
	}
	// Partitions are the owner's business; rows for a day without its
	// partition would pile up in the default one.
	if _, err := dbs.owner.EnsurePartitionsFrom(ctx, from, daysTouched(from, to)); err != nil {
		return err
	}

	start := time.Now()
	var written atomic.Int64
	stopProgress := reportProgress(stderr, n, start, &written)
	err = seed.Run(ctx, compiled, rev.Content.Data, dbs.app.LogSink(), seed.Options{
		N: n, From: from, To: to, Seed: seedValue, Timeout: seedEvalTimeout,
		Progress: func(rows int) { written.Add(int64(rows)) },
	})
	stopProgress()
	if err != nil {
		return fmt.Errorf("seed decisions (%d written): %w", written.Load(), err)
	}
	took := time.Since(start)
	if err := dbs.owner.AnalyzeDecisionLog(ctx); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d decisions under %s from %s to %s in %s (%.0f rows/s, seed %d)\n",
		n, rev.ID(), from.Format(time.RFC3339), to.Format(time.RFC3339), took.Round(time.Millisecond), float64(n)/took.Seconds(), seedValue)
	return nil
}

// splitFlags separates the flags fs defines (in any -f, --f, -f=v, -f v
// form) from the rest, the configuration flags that config.Load parses as
// for every command.
func splitFlags(args []string, fs *flag.FlagSet) (own, rest []string) {
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || fs.Lookup(name) == nil {
			rest = append(rest, args[i])
			continue
		}
		own = append(own, args[i])
		if !hasValue && i+1 < len(args) {
			i++
			own = append(own, args[i])
		}
	}
	return own, rest
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" || a == "--h" {
			return true
		}
	}
	return false
}

// parseSeed reads --seed, or draws a fresh seed so that repeated runs add
// new decisions rather than collide with the ids of earlier ones.
func parseSeed(s string) (uint64, error) {
	if s != "" {
		return strconv.ParseUint(s, 10, 64)
	}
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails
	return binary.BigEndian.Uint64(b[:]) >> 1, nil
}

// daysTouched counts the UTC days that [from, to) reaches into.
func daysTouched(from, to time.Time) int {
	first := from.UTC().Truncate(24 * time.Hour)
	last := to.UTC().Add(-time.Microsecond).Truncate(24 * time.Hour)
	return int(last.Sub(first)/(24*time.Hour)) + 1
}

// reportProgress prints the rows written, the rate and the time left to
// stderr about every second until the returned function is called.
func reportProgress(w io.Writer, total int, start time.Time, written *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			n := written.Load()
			rate := float64(n) / time.Since(start).Seconds()
			eta := "?"
			if rate > 0 {
				eta = time.Duration(float64(int64(total)-n) / rate * float64(time.Second)).Round(time.Second).String()
			}
			fmt.Fprintf(w, "seeded %d/%d decisions (%.1f%%), %.0f rows/s, ETA %s\n", n, total, 100*float64(n)/float64(total), rate, eta)
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
