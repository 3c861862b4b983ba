// Command loadgen benchmarks signalgate's decision API against stock OPA
// serving the same policy: it starts both on loopback, loads them in closed
// loop at fixed connection counts and prints throughput, latency, errors,
// peak memory and whether every decision signalgate answered was logged.
//
// `loadgen audit` benchmarks the decision-log audits instead: search,
// statistics, export and impact analysis over a large seeded log.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/signalgate/signalgate/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "loadgen: interrupted; the servers were stopped")
		os.Exit(130)
	case err != nil:
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "audit" {
		return runAudit(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "shadow" {
		fs := flag.NewFlagSet("loadgen shadow", flag.ContinueOnError)
		fs.SetOutput(stderr)
		bin := fs.String("signalgate", "bin/signalgate", "the signalgate binary")
		d := fs.Duration("duration", 10*time.Second, "measured time of each step")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *d <= 0 || *d > time.Hour {
			return fmt.Errorf("-duration %s: use more than 0 and at most 1h", *d)
		}
		return loadgen.RunShadow(ctx, *bin, *d, stdout, stderr)
	}
	if len(args) > 0 && args[0] == "schedule" {
		fs := flag.NewFlagSet("loadgen schedule", flag.ContinueOnError)
		fs.SetOutput(stderr)
		bin := fs.String("signalgate", "bin/signalgate", "the signalgate binary")
		rounds := fs.Int("rounds", 5, "scheduled switches to measure")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *rounds < 1 || *rounds > 100 {
			return fmt.Errorf("-rounds %d: use 1 to 100", *rounds)
		}
		return loadgen.RunSchedule(ctx, *bin, *rounds, stdout, stderr)
	}
	cfg := loadgen.Config{}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Signalgate, "signalgate", "bin/signalgate", "signalgate binary")
	fs.StringVar(&cfg.OPA, "opa", "", "stock OPA binary")
	fs.StringVar(&cfg.Policies, "policies", "policies", "policy folder served by stock OPA")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time of each step")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "warm-up before each step, not counted")
	conns := fs.String("conns", "16,64,256", "connection counts of the single-decision steps (comma list)")
	batchConns := fs.String("batch-conns", "16,64", "connection counts of signalgate's batch steps (comma list; empty for none)")
	fs.IntVar(&cfg.BatchSize, "batch-size", 100, "inputs per batch request")
	fs.StringVar(&cfg.Only, "only", loadgen.OnlyBoth, "servers to load: signalgate, opa or both")
	fs.StringVar(&cfg.Out, "out", "", "also write the results as Markdown to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if cfg.Conns, err = parseCounts("-conns", *conns); err != nil {
		return err
	}
	if cfg.BatchConns, err = parseCounts("-batch-conns", *batchConns); err != nil {
		return err
	}
	return loadgen.Run(ctx, cfg, stdout, stderr)
}

func parseCounts(flagName, list string) ([]int, error) {
	var counts []int
	for f := range strings.SplitSeq(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", flagName, f)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := loadgen.AuditConfig{}
	fs := flag.NewFlagSet("loadgen audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Signalgate, "signalgate", "bin/signalgate", "signalgate binary")
	fs.StringVar(&cfg.DataDir, "data-dir", ".bench-audit", "data directory kept between runs (its log is seeded once)")
	fs.Int64Var(&cfg.Rows, "rows", 10_000_000, "decisions in the log to measure on; seeded up to this many")
	fs.IntVar(&cfg.Days, "days", 30, "days the seeded decisions spread over, ending now")
	fs.IntVar(&cfg.Runs, "runs", 30, "runs of each search and statistics query")
	fs.IntVar(&cfg.ExportRuns, "export-runs", 3, "runs of each export format")
	fs.IntVar(&cfg.ImpactRuns, "impact-runs", 5, "impact analyses, one after the other")
	fs.StringVar(&cfg.Out, "out", "", "also write the results as Markdown to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return loadgen.RunAudit(ctx, cfg, stdout, stderr)
}
