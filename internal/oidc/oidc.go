// Package oidc keeps single sign-on: the issuer's discovery document and
// keys, the authorization-code flow with PKCE, ID token verification, and
// the mapping of the issuer's groups to signalgate roles.
package oidc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
)

// Config is how signalgate is registered with the issuer.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string            // .../admin/v1/login/oidc/callback
	GroupsClaim  string            // default "groups"
	RoleMap      map[string]string // issuer group → signalgate role
}

// ParseRoleMap reads "group=role,group2=role2". It returns an error naming
// an entry that is malformed or names an unknown role.
func ParseRoleMap(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		group, role, ok := strings.Cut(pair, "=")
		if !ok || group == "" || !auth.Role(role).Valid() {
			return nil, fmt.Errorf("OIDC role map entry %q: write group=role with a signalgate role", pair)
		}
		out[group] = role
	}
	return out, nil
}

// Identity is who the issuer says signed in.
type Identity struct {
	Subject string
	Name    string // preferred_username, else email, else subject
	Groups  []string
}

// Provider talks to one issuer.
type Provider struct {
	cfg    Config
	client *http.Client

	mu   sync.Mutex
	meta *discovery
	keys map[string]*rsa.PublicKey
}

type discovery struct {
	Issuer        string `json:"issuer"`
	AuthEndpoint  string `json:"authorization_endpoint"`
	TokenEndpoint string `json:"token_endpoint"`
	JWKSURI       string `json:"jwks_uri"`
}

// New returns a Provider; discovery happens on first use.
func New(cfg Config) *Provider {
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	return &Provider{cfg: cfg, client: &http.Client{Timeout: 10 * time.Second}}
}

func (p *Provider) getJSON(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func (p *Provider) discover(ctx context.Context) (*discovery, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.meta != nil {
		return p.meta, nil
	}
	var d discovery
	if err := p.getJSON(ctx, strings.TrimRight(p.cfg.Issuer, "/")+"/.well-known/openid-configuration", &d); err != nil {
		return nil, fmt.Errorf("OIDC discovery: %w", err)
	}
	if d.Issuer != p.cfg.Issuer {
		return nil, fmt.Errorf("OIDC discovery: the issuer calls itself %q, not %q", d.Issuer, p.cfg.Issuer)
	}
	p.meta = &d
	return p.meta, nil
}

// Start begins a sign-in: it returns the issuer URL to redirect to and the
// state, nonce and PKCE verifier to keep until the callback.
func (p *Provider) Start(ctx context.Context) (redirect, state, nonce, verifier string, err error) {
	d, err := p.discover(ctx)
	if err != nil {
		return "", "", "", "", err
	}
	state, nonce, verifier = random(), random(), random()
	challenge := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {p.cfg.ClientID},
		"redirect_uri":          {p.cfg.RedirectURL},
		"scope":                 {"openid profile email groups"},
		"state":                 {state},
		"nonce":                 {nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(challenge[:])},
		"code_challenge_method": {"S256"},
	}
	return d.AuthEndpoint + "?" + q.Encode(), state, nonce, verifier, nil
}

func random() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ErrRejected means the issuer's answer cannot be trusted or used.
var ErrRejected = errors.New("sign-in rejected")

// Finish exchanges the code for tokens and verifies the ID token: its
// signature by the issuer's keys, issuer, audience, expiry and nonce.
func (p *Provider) Finish(ctx context.Context, code, verifier, nonce string) (Identity, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.cfg.RedirectURL},
		"client_id": {p.cfg.ClientID}, "client_secret": {p.cfg.ClientSecret}, "code_verifier": {verifier},
	}
	req, err := http.NewRequestWithContext(ctx, "POST", d.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Identity{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("OIDC token exchange: %w", err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok) != nil || tok.IDToken == "" {
		return Identity{}, fmt.Errorf("%w: the issuer gave no ID token (%s)", ErrRejected, resp.Status)
	}
	claims, err := p.verify(ctx, d, tok.IDToken)
	if err != nil {
		return Identity{}, err
	}
	if claims["nonce"] != nonce {
		return Identity{}, fmt.Errorf("%w: nonce mismatch", ErrRejected)
	}
	id := Identity{}
	id.Subject, _ = claims["sub"].(string)
	for _, k := range []string{"preferred_username", "email", "sub"} {
		if v, _ := claims[k].(string); v != "" {
			id.Name = v
			break
		}
	}
	if gs, ok := claims[p.cfg.GroupsClaim].([]any); ok {
		for _, g := range gs {
			if s, ok := g.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	return id, nil
}

// Roles maps the identity's groups to signalgate roles.
func (p *Provider) Roles(id Identity) []auth.Role {
	seen := map[auth.Role]bool{}
	var out []auth.Role
	for _, g := range id.Groups {
		if r, ok := p.cfg.RoleMap[g]; ok && !seen[auth.Role(r)] {
			seen[auth.Role(r)] = true
			out = append(out, auth.Role(r))
		}
	}
	return out
}

func (p *Provider) verify(ctx context.Context, d *discovery, token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: malformed ID token", ErrRejected)
	}
	var header struct{ Alg, Kid string }
	if err := decodeSegment(parts[0], &header); err != nil || header.Alg != "RS256" {
		return nil, fmt.Errorf("%w: ID token must be signed with RS256", ErrRejected)
	}
	key, err := p.key(ctx, d, header.Kid)
	if err != nil {
		return nil, err
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("%w: malformed signature", ErrRejected)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		return nil, fmt.Errorf("%w: bad signature", ErrRejected)
	}
	var claims map[string]any
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, fmt.Errorf("%w: malformed claims", ErrRejected)
	}
	if claims["iss"] != p.cfg.Issuer || !audienceHas(claims["aud"], p.cfg.ClientID) {
		return nil, fmt.Errorf("%w: the ID token is for another issuer or client", ErrRejected)
	}
	if exp, ok := claims["exp"].(float64); !ok || time.Now().After(time.Unix(int64(exp), 0)) {
		return nil, fmt.Errorf("%w: the ID token expired", ErrRejected)
	}
	return claims, nil
}

func audienceHas(aud any, client string) bool {
	switch a := aud.(type) {
	case string:
		return a == client
	case []any:
		for _, x := range a {
			if x == client {
				return true
			}
		}
	}
	return false
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// key returns the issuer's signing key kid, fetching the key set when the
// kid is unknown (keys rotate).
func (p *Provider) key(ctx context.Context, d *discovery, kid string) (*rsa.PublicKey, error) {
	p.mu.Lock()
	k := p.keys[kid]
	p.mu.Unlock()
	if k != nil {
		return k, nil
	}
	var set struct {
		Keys []struct{ Kty, Kid, N, E string } `json:"keys"`
	}
	if err := p.getJSON(ctx, d.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("OIDC keys: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, jk := range set.Keys {
		if jk.Kty != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(jk.N)
		e, err2 := base64.RawURLEncoding.DecodeString(jk.E)
		if err1 != nil || err2 != nil {
			continue
		}
		keys[jk.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	p.mu.Lock()
	p.keys = keys
	p.mu.Unlock()
	if keys[kid] == nil {
		return nil, fmt.Errorf("%w: unknown signing key %q", ErrRejected, kid)
	}
	return keys[kid], nil
}
