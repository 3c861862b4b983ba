// Command signalgate is the policy control plane: it serves decisions under
// versioned Rego policies and records every one of them in PostgreSQL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errExit1):
		os.Exit(1)
	case errors.Is(err, errAwaitingApproval):
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, "signalgate:", err)
		os.Exit(1)
	}
}

// errExit1 ends the program with status 1 after the command has already said why.
var errExit1 = errors.New("exit status 1")

// errAwaitingApproval ends `policy push` with status 3: the draft is saved
// and valid, and waits for a second publisher's approval (four-eyes).
var errAwaitingApproval = errors.New("exit status 3: awaiting approval")

const usage = `signalgate — policy-as-code decisions for behavioural signals, every one logged.

Usage:
  signalgate serve [flags]            serve the decision and admin APIs
  signalgate migrate up|status [flags] apply or list database migrations
  signalgate policy test DIR          compile a policy folder and run its *_test.rego tests
  signalgate policy push DIR --message M   replace the draft with DIR, validate, publish
  signalgate policy pull DIR [--revision rN]  write a revision (default: the active one) into DIR
  signalgate policy revisions         list revisions
  signalgate policy activate rN       make an earlier revision active (rollback)
      (push, pull, revisions, activate take --server URL and --token T,
       or SIGNALGATE_SERVER and SIGNALGATE_TOKEN)
  signalgate audit verify [flags]     check the admin audit trail's hash chain and the decision log's checkpoints
  signalgate audit replay --from T [--to T]   replay logged decisions, report mismatches
  signalgate audit erase-subject ID   remove a subject's id from every decision (raw or hashed), recorded
  signalgate spool drain [flags]      drain a stopped node's spool into the log before retiring it
  signalgate seed-decisions N [--days D | --from T --to T] [--seed S]   fill the log with N synthetic decisions
  signalgate user create --name N --role R [--role R2]   (password from SIGNALGATE_NEW_PASSWORD)
  signalgate token create --user U --name N --role R [--expires-in-days D]   prints the token once
  signalgate version                  print the version

Run "signalgate <command> -h" for the flags; each has a SIGNALGATE_* environment twin.
`

// run is the whole program, reused by the end-to-end tests.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errExit1
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "policy":
		return policyCmd(ctx, args[1:], getenv, stdout, stderr)
	case "audit":
		return auditCmd(ctx, args[1:], getenv, stdout, stderr)
	case "spool":
		return spoolCmd(ctx, args[1:], getenv, stdout, stderr)
	case "seed-decisions":
		return seedDecisions(ctx, args[1:], getenv, stdout, stderr)
	case "user", "token":
		return identityCmd(ctx, args[0], args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "signalgate", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errExit1
}
