package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
)

// roleList collects repeated --role flags.
type roleList []auth.Role

func (r *roleList) String() string { return fmt.Sprint(*r) }
func (r *roleList) Set(v string) error {
	*r = append(*r, auth.Role(v))
	return nil
}

// identityCmd runs `signalgate user create` and `signalgate token create`,
// for operators with database access (no server needed).
func identityCmd(ctx context.Context, what string, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintf(stderr, "usage: signalgate %s create ...\n", what)
		return errExit1
	}
	fs := flag.NewFlagSet("signalgate "+what+" create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var roles roleList
	fs.Var(&roles, "role", "a role (repeat for several): admin, publisher, editor, viewer, decider, agent")
	name := fs.String("name", "", "user: the user name; token: what uses the token")
	user := fs.String("user", "", "token: the user it belongs to")
	days := fs.Int("expires-in-days", 0, "token: lifetime in days (0: until revoked)")
	own, rest := splitFlags(args[1:], fs) // the rest are the database flags, as for every command
	if err := fs.Parse(own); err != nil {
		return err
	}
	dbs, _, err := openForCommand(ctx, "signalgate "+what, rest, getenv, stderr)
	if err != nil {
		return err
	}
	defer dbs.close(context.WithoutCancel(ctx))
	authn := auth.NewService(dbs.app.Auth(), auth.NewHasher(1), nil)
	operator := auth.Principal{User: "cli", Roles: []auth.Role{auth.Admin}}
	switch what {
	case "user":
		// The password comes from the environment, never from the command line.
		u, err := authn.CreateUser(ctx, operator, *name, getenv("SIGNALGATE_NEW_PASSWORD"), roles, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s (id %d) with roles %v\n", u.Name, u.ID, u.Roles)
	default:
		if len(roles) != 1 {
			fmt.Fprintln(stderr, "a token has exactly one --role")
			return errExit1
		}
		u, _, err := dbs.app.Auth().UserByName(ctx, *user)
		if err != nil {
			return fmt.Errorf("user %q: %w", *user, err)
		}
		owner := auth.Principal{UserID: u.ID, User: u.Name, Roles: u.Roles}
		t, secret, err := authn.CreateToken(ctx, owner, *name, roles[0], time.Duration(*days)*24*time.Hour, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", secret)
		fmt.Fprintf(stderr, "token %s (%s, role %s, user %s): shown once, keep it secret\n", t.ID, t.Name, t.Role, strings.TrimSpace(u.Name))
	}
	return nil
}
