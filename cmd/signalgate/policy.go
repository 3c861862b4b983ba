package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/signalgate/signalgate/internal/engine"
	"github.com/signalgate/signalgate/internal/policy"
)

// policyCmd runs `signalgate policy test|push|pull|revisions|activate`.
func policyCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: signalgate policy test|push|pull|revisions|activate ...")
		return errExit1
	}
	switch args[0] {
	case "test":
		if len(args) != 2 {
			fmt.Fprintln(stderr, "usage: signalgate policy test DIR")
			return errExit1
		}
		return policyTest(ctx, args[1], stdout, stderr)
	case "push", "pull", "revisions", "activate":
		return policyRemote(ctx, args[0], args[1:], getenv, stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown policy command %q: use test, push, pull, revisions or activate\n", args[0])
	return errExit1
}

// policyTest compiles DIR with the restricted capabilities and runs its tests.
func policyTest(ctx context.Context, dir string, stdout, stderr io.Writer) error {
	content, err := policy.LoadFS(os.DirFS(dir))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", dir, err)
		return errExit1
	}
	if _, err := engine.Compile(ctx, "test", content.EngineContent()); err != nil {
		printCompileErrors(stderr, dir, err)
		return errExit1
	}
	results, err := engine.RunTests(ctx, content.EngineContent(), 10*time.Second)
	if err != nil {
		printCompileErrors(stderr, dir, err)
		return errExit1
	}
	failed := 0
	for _, r := range results {
		if r.Pass {
			fmt.Fprintf(stdout, "PASS %s (%s)\n", r.Name, r.Duration.Round(time.Microsecond))
			continue
		}
		failed++
		fmt.Fprintf(stdout, "FAIL %s/%s:%d: %s: %s\n", dir, r.Location.File, r.Location.Row, r.Name, r.Message)
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	if len(results) == 0 {
		fmt.Fprintln(stderr, "no test_ rule found in", dir)
		return errExit1
	}
	if failed > 0 {
		return errExit1
	}
	return nil
}

func printCompileErrors(w io.Writer, dir string, err error) {
	var ce engine.CompileErrors
	if errors.As(err, &ce) {
		for _, e := range ce {
			fmt.Fprintf(w, "%s/%s:%d:%d: %s\n", dir, e.File, e.Row, e.Col, e.Message)
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", dir, err)
}
