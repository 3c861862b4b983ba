package localpg

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// credentials are what a later start needs to reach the same cluster. They
// live in a 0600 file of the data directory, never in the cluster, so that
// only the application's user can read them.
type credentials struct {
	Port              int    `json:"port"`
	Superuser         string `json:"superuser"`
	SuperuserPassword string `json:"superuser_password"`
	OwnerUser         string `json:"owner_user"`
	OwnerPassword     string `json:"owner_password"`
	AppUser           string `json:"app_user"`
	AppPassword       string `json:"app_password"`
}

func newCredentials() (credentials, error) {
	var c credentials
	c.Superuser, c.OwnerUser, c.AppUser = Superuser, OwnerRole, AppRole
	for _, p := range []*string{&c.SuperuserPassword, &c.OwnerPassword, &c.AppPassword} {
		var err error
		if *p, err = randomPassword(); err != nil {
			return credentials{}, err
		}
	}
	return c, nil
}

// randomPassword is hex so that it needs no quoting in URLs or SQL.
func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("localpg: generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func loadCredentials(path string) (credentials, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return credentials{}, false, nil
	}
	if err != nil {
		return credentials{}, false, fmt.Errorf("localpg: read credentials: %w", err)
	}
	var c credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return credentials{}, false, fmt.Errorf("localpg: parse credentials file %s: %w", path, err)
	}
	if c.Superuser == "" || c.SuperuserPassword == "" || c.OwnerPassword == "" || c.AppPassword == "" {
		return credentials{}, false, fmt.Errorf("localpg: credentials file %s is incomplete", path)
	}
	// Role names are fixed; the file only records them for people reading it.
	c.OwnerUser, c.AppUser = OwnerRole, AppRole
	return c, true, nil
}

func saveCredentials(path string, c credentials) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("localpg: save credentials: %w", err)
	}
	return nil
}

// OwnerURLOf returns the owner's connection URL of the managed cluster whose
// application data directory is dataDir, for tools that read its database
// beside a running server.
func OwnerURLOf(dataDir string) (string, error) {
	creds, found, err := loadCredentials(filepath.Join(dataDir, credentialsFile))
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("localpg: no managed cluster in %s", dataDir)
	}
	return (&Cluster{port: creds.Port, creds: creds}).OwnerURL(), nil
}
