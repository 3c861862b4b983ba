package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/signalgate/signalgate/internal/adminclient"
	"github.com/signalgate/signalgate/internal/policy"
)

// policyRemote runs the policy commands that talk to a server.
func policyRemote(ctx context.Context, verb string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signalgate policy "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", envOr(getenv, "SIGNALGATE_SERVER", "http://localhost:8080"), "signalgate server URL (env SIGNALGATE_SERVER)")
	token := fs.String("token", getenv("SIGNALGATE_TOKEN"), "API token (env SIGNALGATE_TOKEN)")
	message := fs.String("message", "", "push: what changed and why")
	revision := fs.String("revision", "", "pull: the revision to write (default: the active one)")
	// Flags may follow the positional argument, as in `push DIR --message M`.
	var positional []string
	for rest := args; len(rest) > 0; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			positional, rest = append(positional, rest[0]), rest[1:]
		}
	}
	if *token == "" {
		fmt.Fprintln(stderr, "no token: pass --token or set SIGNALGATE_TOKEN")
		return errExit1
	}
	c := adminclient.New(*server, *token)
	want := map[string]int{"push": 1, "pull": 1, "revisions": 0, "activate": 1}[verb]
	if len(positional) != want {
		fmt.Fprintf(stderr, "signalgate policy %s: expected %d argument(s), got %d\n", verb, want, len(positional))
		return errExit1
	}
	switch verb {
	case "push":
		return push(ctx, c, positional[0], *message, stdout, stderr)
	case "pull":
		return pull(ctx, c, positional[0], *revision, stdout)
	case "revisions":
		revs, err := c.Revisions(ctx)
		if err != nil {
			return err
		}
		for _, r := range revs {
			mark := " "
			if r.Active {
				mark = "*"
			}
			fmt.Fprintf(stdout, "%s %-6s %s  %-12s %s\n", mark, r.Revision, r.CreatedAt.Format("2006-01-02 15:04"), r.Author, r.Message)
		}
		return nil
	default: // activate
		if err := c.Activate(ctx, positional[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is active\n", positional[0])
		return nil
	}
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// push replaces the draft with dir, then publishes it; any validation error
// is printed as dir/file:row:col: message.
func push(ctx context.Context, c *adminclient.Client, dir, message string, stdout, stderr io.Writer) error {
	if strings.TrimSpace(message) == "" {
		fmt.Fprintln(stderr, "push needs --message saying what changed and why")
		return errExit1
	}
	content, err := policy.LoadFS(os.DirFS(dir))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", dir, err)
		return errExit1
	}
	data, err := json.Marshal(content.Data)
	if err != nil {
		return err
	}
	d, err := c.Draft(ctx)
	if err != nil {
		return err
	}
	if _, err := c.SaveDraft(ctx, content.Modules, data, d.ETag); err != nil {
		return err
	}
	rev, report, err := c.Publish(ctx, message)
	if report != nil {
		for _, p := range report.Errors {
			file := p.File
			if file != "" {
				file = filepath.Join(dir, file)
			} else {
				file = dir
			}
			fmt.Fprintf(stderr, "%s:%d:%d: %s\n", file, p.Row, p.Col, p.Message)
		}
		return errExit1
	}
	var se *adminclient.StatusError
	if errors.As(err, &se) && se.Status == http.StatusConflict {
		saved, _ := c.Draft(ctx)
		fmt.Fprintf(stdout, "awaiting approval: the draft %s is saved and valid; another publisher approves it with\n"+
			"  POST /admin/v1/draft/approve {\"content_hash\": %q}\nthen run this push again\n", saved.ContentHash, saved.ContentHash)
		return errAwaitingApproval
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "published %s\n", rev)
	return nil
}

// pull writes a revision's modules and data.json into dir, removing .rego
// files the revision does not have.
func pull(ctx context.Context, c *adminclient.Client, dir, id string, stdout io.Writer) error {
	if id == "" {
		revs, err := c.Revisions(ctx)
		if err != nil {
			return err
		}
		for _, r := range revs {
			if r.Active {
				id = r.Revision
			}
		}
		if id == "" {
			return errors.New("the server has no active revision")
		}
	}
	rev, err := c.Revision(ctx, id)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".rego" {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if _, keep := rev.Modules[filepath.ToSlash(rel)]; !keep {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	for path, src := range rev.Modules {
		target := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, []byte(src), 0o644); err != nil {
			return err
		}
	}
	var pretty any
	dec := json.NewDecoder(bytes.NewReader(rev.Data))
	dec.UseNumber() // numbers exactly as stored
	if err := dec.Decode(&pretty); err != nil {
		return fmt.Errorf("data of %s: %w", id, err)
	}
	data, _ := json.MarshalIndent(pretty, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, policy.DataFile), append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%d modules and %s) to %s\n", id, len(rev.Modules), policy.DataFile, dir)
	return nil
}
