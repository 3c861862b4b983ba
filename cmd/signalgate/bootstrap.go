package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/signalgate/signalgate/internal/auth"
	"github.com/signalgate/signalgate/internal/config"
)

// credentialsFile keeps the generated first-admin credentials of a local
// set-up (0600), so a second start can print them again.
const credentialsFile = "admin-credentials.json"

type savedCredentials struct {
	User     string `json:"user"`
	Token    string `json:"token"`
	Password string `json:"password"`
}

// announceBootstrap prints the first admin's credentials when they were just
// created, and, for the managed local set-up, keeps them in the data
// directory and prints them again on later starts. It returns the token it
// printed, if any.
func announceBootstrap(w io.Writer, cfg config.Config, local bool, b auth.Bootstrapped) (string, error) {
	path := filepath.Join(cfg.DataDir, credentialsFile)
	creds := savedCredentials{User: b.User, Token: b.Token, Password: b.Password}
	switch {
	case b.Created && local:
		data, _ := json.MarshalIndent(creds, "", "  ")
		if err := os.WriteFile(path, append(data, '\n'), 0o600); err != nil {
			return "", fmt.Errorf("keep admin credentials: %w", err)
		}
	case b.Created:
	case local:
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read admin credentials: %w", err)
		}
		if err := json.Unmarshal(data, &creds); err != nil {
			return "", fmt.Errorf("read admin credentials %s: %w", path, err)
		}
	default:
		return "", nil
	}
	fmt.Fprintf(w, "admin user:     %s\nadmin password: %s\nadmin token:    %s\n", creds.User, creds.Password, creds.Token)
	if local {
		fmt.Fprintf(w, "(kept in %s)\n", path)
	}
	return creds.Token, nil
}

// printTryIt shows a first decision request against the address served.
func printTryIt(w io.Writer, addr net.Addr, token string) {
	port := "8080"
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(tcp.Port)
	}
	fmt.Fprintf(w, `try it:
  curl -s -H 'Authorization: Bearer %s' \
    -d '{"input": {"signal": {"source": "ai_chat", "topics": ["hiking"], "observed_at": "2026-01-10T12:00:00Z"}, "subject": {"id": "u-42", "region": "FR"}, "purpose": "ads"}}' \
    http://localhost:%s/v1/decisions
`, token, port)
}
