package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
	"time"

	"github.com/signalgate/signalgate/internal/audit"
	"github.com/signalgate/signalgate/internal/decisionlog"
	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/errs"
	"github.com/signalgate/signalgate/internal/masking"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/internal/replay"
	"github.com/signalgate/signalgate/internal/settings"
	"github.com/signalgate/signalgate/internal/store"
)

// auditCmd runs `signalgate audit verify|replay`.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	switch {
	case len(args) == 0 || (args[0] != "verify" && args[0] != "replay" && args[0] != "erase-subject"):
		fmt.Fprintln(stderr, "usage: signalgate audit verify | replay --from T --to T | erase-subject ID")
		return errExit1
	case args[0] == "replay":
		return auditReplay(ctx, args[1:], getenv, stdout, stderr)
	case args[0] == "erase-subject":
		return auditErase(ctx, args[1:], getenv, stdout, stderr)
	}
	dbs, _, err := openForCommand(ctx, "signalgate audit verify", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	// One pass over the trail: its chain, and the removals it records.
	v, n := audit.NewVerifier(), 0
	var b *audit.Break
	var removed []store.TimeRange
	err = dbs.owner.Audit().Each(ctx, func(e audit.Entry) error {
		if n++; b == nil {
			b = v.Next(e)
		}
		if r, ok := removal(e); ok {
			removed = append(removed, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if b != nil {
		fmt.Fprintf(stdout, "audit trail BROKEN at entry %d: %s (%d entries read)\n", b.Seq, b.Reason, n)
		return errExit1
	}
	fmt.Fprintf(stdout, "audit trail intact: %d entries\n", n)
	return verifyDecisionLog(ctx, dbs.owner, removed, stdout, stderr)
}

// removal returns the time range of decisions e records removing
// (retention, late rows), if it records one.
func removal(e audit.Entry) (store.TimeRange, bool) {
	if e.Action != "decisions.drop_partition" && e.Action != "decisions.delete_late" {
		return store.TimeRange{}, false
	}
	var d struct{ From, To time.Time }
	if json.Unmarshal(e.Detail, &d) != nil || d.To.IsZero() {
		return store.TimeRange{}, false
	}
	return store.TimeRange{From: d.From, To: d.To}, true
}

// verifyDecisionLog checks the decision log against its checkpoints; the
// removals the (verified) audit trail records account for missing rows.
func verifyDecisionLog(ctx context.Context, db *store.DB, removed []store.TimeRange, stdout, stderr io.Writer) error {
	next := int64(100_000)
	rep, err := db.VerifyDecisionLog(ctx, removed, func(rows int64) {
		if rows >= next { // long logs show progress
			fmt.Fprintf(stderr, "verified %d decisions...\n", rows)
			next += 100_000
		}
	})
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, "PROBLEM", p)
	}
	if rep.MoreProblems > 0 {
		fmt.Fprintf(stdout, "... and %d more problems\n", rep.MoreProblems)
	}
	summary := fmt.Sprintf("%d checkpoints, %d decisions verified, %d removed by retention, %d logged before checkpoints existed",
		rep.Checkpoints, rep.Verified, rep.Removed, rep.Predating)
	if len(rep.Problems) > 0 {
		fmt.Fprintf(stdout, "decision log TAMPERED: %d problems; %s\n", len(rep.Problems)+int(rep.MoreProblems), summary)
		return errExit1
	}
	fmt.Fprintf(stdout, "decision log intact: %s\n", summary)
	return nil
}

// auditReplay re-evaluates every logged decision in [from, to) under the
// revision that made it and reports each mismatch; exit status 1 if any.
func auditReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signalgate audit replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "start of the range, RFC 3339 (inclusive)")
	to := fs.String("to", "", "end of the range, RFC 3339 (exclusive; default now)")
	own, rest := splitFlags(args, fs) // the rest are the database flags
	if err := fs.Parse(own); err != nil {
		return err
	}
	var f decisionlog.Filter // no limit: the whole range streams
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
	dbs, cfg, err := openForCommand(ctx, "signalgate audit replay", rest, getenv, stderr)
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	policies := policy.NewService(dbs.app.Policies(), settings.NewService(dbs.app.Settings(), nil), engine.New(cfg.EvalTimeout), newLogger(io.Discard, "error"), nil)
	rp := replay.NewService(dbs.app.LogReader(), policies, cfg.EvalTimeout)
	checked, mismatches, masked, skipped := 0, 0, 0, 0
	err = dbs.app.LogReader().Each(ctx, f, func(e *decisionlog.Entry) error {
		res, err := rp.ReplayEntry(ctx, *e, "", nil)
		switch {
		case errs.CodeOf(err) == errs.Unprocessable:
			skipped++ // decided by a revision published elsewhere (an agent's bundle)
			return nil
		case err != nil:
			return err
		}
		checked++
		if checked%10000 == 0 { // long ranges show progress
			fmt.Fprintf(stderr, "replayed %d decisions...\n", checked)
		}
		switch {
		case !res.Match && res.MaskedRead:
			masked++
			fmt.Fprintf(stdout, "MASKED %s %s %s: the policy reads masked input %v; logged %s, replayed %s\n",
				e.DecisionID, e.DecidedAt.Format(time.RFC3339Nano), e.Revision, e.Masked, e.Result, res.Replayed)
		case !res.Match:
			mismatches++
			fmt.Fprintf(stdout, "MISMATCH %s %s %s: logged %s, replayed %s\n", e.DecisionID, e.DecidedAt.Format(time.RFC3339Nano), e.Revision, e.Result, res.Replayed)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d decisions replayed, %d mismatched, %d differ because the policy reads masked input, %d skipped (not decided by a local revision)\n",
		checked, mismatches, masked, skipped)
	if mismatches > 0 {
		return errExit1
	}
	return nil
}

// auditErase anonymises one data subject's decisions: `signalgate audit
// erase-subject ID`. The id is matched as given and as masking stores it.
func auditErase(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: signalgate audit erase-subject ID [flags]")
		return errExit1
	}
	id := args[0]
	dbs, _, err := openForCommand(ctx, "signalgate audit erase-subject", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	s, err := settings.NewService(dbs.owner.Settings(), nil).Get(ctx)
	if err != nil {
		return err
	}
	key, err := dbs.owner.MaskingKey(ctx)
	if err != nil {
		return err
	}
	m, err := masking.New(s.Masking, key)
	if err != nil {
		return err
	}
	actor := "cli:" + currentUser()
	n, err := dbs.owner.EraseSubject(ctx, m.SubjectIDs(id), m.Hash(id), actor)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "subject erased from %d decisions (recorded in the audit trail as %s)\n", n, m.Hash(id))
	return nil
}

// currentUser names the operating-system user running a command, for the
// audit trail of changes made with direct database access.
func currentUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
