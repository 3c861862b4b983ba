// Package config keeps signalgate's configuration: one struct, defaults in
// code, and flags with SIGNALGATE_* environment twins.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of signalgate serve and its sub-commands.
type Config struct {
	Addr              string        `flag:"addr" help:"address to serve on"`
	DatabaseURL       string        `flag:"database-url" secret:"true" help:"PostgreSQL URL; empty runs a managed local PostgreSQL in the data directory"`
	OwnerDatabaseURL  string        `flag:"owner-database-url" secret:"true" help:"PostgreSQL URL of the schema owner, for migrations and partition upkeep (default: the database URL)"`
	DataDir           string        `flag:"data-dir" help:"directory for local state: the managed PostgreSQL, generated credentials"`
	BootstrapToken    string        `flag:"bootstrap-token" secret:"true" help:"API token of the first admin, used when no user exists yet (generated when empty)"`
	BootstrapPassword string        `flag:"bootstrap-password" secret:"true" help:"UI password of the first admin, used when no user exists yet (generated when empty)"`
	LogMode           string        `flag:"log-mode" help:"decision log mode: durable (answer after commit) or async"`
	EvalTimeout       time.Duration `flag:"eval-timeout" help:"time limit of one policy evaluation"`
	SpoolDir          string        `flag:"spool-dir" help:"where decisions wait on local disk while PostgreSQL cannot take them (default: spool in the data directory); keep it on persistent storage"`
	SpoolQuotaMiB     int           `flag:"spool-quota-mib" help:"most MiB the spool may hold; beyond it decisions are refused (503)"`
	SpoolAfter        time.Duration `flag:"spool-after" help:"a decision-log commit slower than this goes to the spool instead"`
	BundleSigningKey  string        `flag:"bundle-signing-key" secret:"true" help:"file holding the PEM private key (or HMAC secret) that signs the bundles agents download (empty: unsigned)"`
	BundleSigningAlg  string        `flag:"bundle-signing-alg" help:"algorithm of the bundle signing key, e.g. RS256, ES256, HS256"`
	BundleKeyID       string        `flag:"bundle-key-id" help:"name of the signing key in the agents' keys configuration"`
	Node              string        `flag:"node" help:"name of this instance in the decision log (default: the host name)"`
	TLSCert           string        `flag:"tls-cert" help:"PEM certificate file; with tls-key, serve HTTPS"`
	TLSKey            string        `flag:"tls-key" secret:"true" help:"PEM private key file of tls-cert"`
	OIDCIssuer        string        `flag:"oidc-issuer" help:"OpenID Connect issuer URL for single sign-on (empty: off)"`
	OIDCClientID      string        `flag:"oidc-client-id" help:"client id registered with the issuer"`
	OIDCClientSecret  string        `flag:"oidc-client-secret" secret:"true" help:"client secret registered with the issuer"`
	OIDCRedirectURL   string        `flag:"oidc-redirect-url" help:"this server's callback, e.g. https://signalgate.example/admin/v1/login/oidc/callback"`
	OIDCGroupsClaim   string        `flag:"oidc-groups-claim" help:"ID token claim listing the user's groups"`
	OIDCRoles         string        `flag:"oidc-roles" help:"issuer groups to roles, e.g. privacy-admins=admin,policy-team=publisher"`
	LogLevel          string        `flag:"log-level" help:"debug, info, warn or error"`
	PrintConfig       bool          `flag:"print-config" help:"print the configuration (secrets masked) and exit"`
}

// Default returns the configuration with every default filled in.
func Default() Config {
	host, _ := os.Hostname()
	return Config{
		Addr:             ":8080",
		DataDir:          "./.signalgate",
		LogMode:          "durable",
		EvalTimeout:      50 * time.Millisecond,
		SpoolQuotaMiB:    1024,
		SpoolAfter:       time.Second,
		BundleSigningAlg: "RS256",
		BundleKeyID:      "signalgate",
		Node:             host,
		LogLevel:         "info",

		OIDCGroupsClaim: "groups",
	}
}

// EnvName is the environment twin of a flag: data-dir → SIGNALGATE_DATA_DIR.
func EnvName(flagName string) string {
	return "SIGNALGATE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load parses args (flags take precedence over the environment, which takes
// precedence over defaults) and returns the configuration and the remaining
// arguments. It returns flag.ErrHelp when -h was asked for.
func Load(name string, args []string, getenv func(string) string, output io.Writer) (Config, []string, error) {
	cfg := Default()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(output)
	v := reflect.ValueOf(&cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fname := f.Tag.Get("flag")
		help := f.Tag.Get("help") + " (env " + EnvName(fname) + ")"
		ptr := v.Field(i).Addr().Interface()
		env := getenv(EnvName(fname))
		switch p := ptr.(type) {
		case *string:
			if env != "" {
				*p = env
			}
			fs.StringVar(p, fname, *p, help)
		case *bool:
			if env != "" {
				*p = env == "1" || strings.EqualFold(env, "true")
			}
			fs.BoolVar(p, fname, *p, help)
		case *int:
			if env != "" {
				n, err := strconv.Atoi(env)
				if err != nil {
					return Config{}, nil, fmt.Errorf("%s=%q: a whole number", EnvName(fname), env)
				}
				*p = n
			}
			fs.IntVar(p, fname, *p, help)
		case *time.Duration:
			if env != "" {
				d, err := time.ParseDuration(env)
				if err != nil {
					return Config{}, nil, fmt.Errorf("%s=%q: %w", EnvName(fname), env, err)
				}
				*p = d
			}
			fs.DurationVar(p, fname, *p, help)
		}
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, err
	}
	if err := cfg.validate(); err != nil {
		return Config{}, nil, err
	}
	return cfg, fs.Args(), nil
}

func (c Config) validate() error {
	var problems []error
	if c.LogMode != "durable" && c.LogMode != "async" {
		problems = append(problems, fmt.Errorf("log mode %q: use durable or async (%s)", c.LogMode, EnvName("log-mode")))
	}
	if c.SpoolQuotaMiB < 1 {
		problems = append(problems, fmt.Errorf("spool quota %d MiB: use at least 1 (%s)", c.SpoolQuotaMiB, EnvName("spool-quota-mib")))
	}
	if c.SpoolAfter <= 0 || c.SpoolAfter > time.Minute {
		problems = append(problems, fmt.Errorf("spool after %s: use a duration between 1ms and 1m (%s)", c.SpoolAfter, EnvName("spool-after")))
	}
	if c.EvalTimeout <= 0 || c.EvalTimeout > time.Minute {
		problems = append(problems, fmt.Errorf("eval timeout %s: use a duration between 1ms and 1m (%s)", c.EvalTimeout, EnvName("eval-timeout")))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Errorf("log level %q: use debug, info, warn or error (%s)", c.LogLevel, EnvName("log-level")))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, fmt.Errorf("set both %s and %s to serve HTTPS, or neither", EnvName("tls-cert"), EnvName("tls-key")))
	}
	if c.OIDCIssuer != "" && (c.OIDCClientID == "" || c.OIDCRedirectURL == "" || c.OIDCRoles == "") {
		problems = append(problems, fmt.Errorf("single sign-on needs %s, %s and %s besides %s",
			EnvName("oidc-client-id"), EnvName("oidc-redirect-url"), EnvName("oidc-roles"), EnvName("oidc-issuer")))
	}
	if c.DataDir == "" {
		problems = append(problems, fmt.Errorf("the data directory must not be empty (%s)", EnvName("data-dir")))
	}
	return errors.Join(problems...)
}

// Print writes the configuration as environment assignments, secrets masked.
func (c Config) Print(w io.Writer) {
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = "********"
		}
		fmt.Fprintf(w, "%s=%s\n", EnvName(f.Tag.Get("flag")), val)
	}
}
