// Package fleet keeps what signalgate knows of the stock OPA agents it
// governs: the bundle they download, the decision events they upload, and
// the status they report.
package fleet

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/signalgate/signalgate/internal/policy"
)

// Signer signs bundles the way `opa build --signing-key` does: a JWT in
// .signatures.json over the hashes of every file, which agents configured
// with the matching key verify before activating.
type Signer struct {
	Key       string // PEM private key, or the HMAC secret
	Algorithm string // e.g. RS256, ES256, HS256
	KeyID     string // the key's name in the agents' keys configuration
}

// Bundle returns revision rev of content as a standard OPA bundle (gzipped
// tarball): its .manifest carries the revision and roots covering every
// package and data key, so an agent owns exactly what signalgate publishes.
// A non-nil signer signs it.
func Bundle(rev string, c policy.Content, signer *Signer) ([]byte, error) {
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: rev},
		Data:     c.Data,
	}
	roots := map[string]bool{}
	for key := range c.Data {
		roots[key] = true
	}
	names := make([]string, 0, len(c.Modules))
	for name := range c.Modules {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		src := c.Modules[name]
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", rev, err)
		}
		// The package path below data, e.g. data.signalgate.decision → signalgate.
		if len(m.Package.Path) > 1 {
			if s, ok := m.Package.Path[1].Value.(ast.String); ok {
				roots[string(s)] = true
			}
		}
		b.Modules = append(b.Modules, bundle.ModuleFile{URL: "/" + name, Path: "/" + name, Raw: []byte(src), Parsed: m})
	}
	list := make([]string, 0, len(roots))
	for r := range roots {
		list = append(list, r)
	}
	slices.Sort(list)
	b.Manifest.Roots = &list
	if signer != nil {
		if err := b.GenerateSignature(bundle.NewSigningConfig(signer.Key, signer.Algorithm, ""), signer.KeyID, false); err != nil {
			return nil, fmt.Errorf("sign bundle %s: %w", rev, err)
		}
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		return nil, fmt.Errorf("write bundle %s: %w", rev, err)
	}
	return buf.Bytes(), nil
}

// MatchesETag reports whether an If-None-Match header names revision rev
// (quoted or not, alone or in a list).
func MatchesETag(ifNoneMatch, rev string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.Trim(strings.TrimPrefix(strings.TrimSpace(tag), "W/"), `"`)
		if tag == rev {
			return true
		}
	}
	return false
}
