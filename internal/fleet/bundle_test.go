package fleet_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/signalgate/signalgate/internal/fleet"
	"github.com/signalgate/signalgate/internal/policy"
	"github.com/signalgate/signalgate/policies"
)

// TestBundle: the default policy as a bundle that OPA's own reader loads,
// with its revision and roots; signed, it verifies with the public key and
// fails with another.
func TestBundle(t *testing.T) {
	c, err := policy.LoadFS(policies.FS)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := fleet.Bundle("r7", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bundle.NewReader(bytes.NewReader(raw)).Read()
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.Revision != "r7" || len(b.Modules) != len(c.Modules) || b.Data["targeting"] == nil {
		t.Fatalf("bundle: revision %q, %d modules, data keys %v", b.Manifest.Revision, len(b.Modules), b.Data)
	}
	if roots := *b.Manifest.Roots; len(roots) != 2 || roots[0] != "signalgate" || roots[1] != "targeting" {
		t.Errorf("roots %v, want the package and the data key", roots)
	}

	key, pub := rsaKey(t)
	signed, err := fleet.Bundle("r7", c, &fleet.Signer{Key: key, Algorithm: "RS256", KeyID: "signalgate"})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(pubPEM string) error {
		vc := bundle.NewVerificationConfig(map[string]*bundle.KeyConfig{"signalgate": {Key: pubPEM, Algorithm: "RS256"}}, "signalgate", "", nil)
		_, err := bundle.NewReader(bytes.NewReader(signed)).WithBundleVerificationConfig(vc).Read()
		return err
	}
	if err := verify(pub); err != nil {
		t.Errorf("a signed bundle does not verify: %v", err)
	}
	if _, other := rsaKey(t); verify(other) == nil {
		t.Error("a signed bundle verifies with another key")
	}
}

func rsaKey(t *testing.T) (private, public string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
}
