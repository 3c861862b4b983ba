package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signalgate/signalgate/internal/auth"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "signalgate test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLS: with a certificate configured, signalgate serves HTTPS and the
// session cookie is Secure.
func TestTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	s := startServer(t, map[string]string{
		"SIGNALGATE_TLS_CERT": certFile, "SIGNALGATE_TLS_KEY": keyFile,
		"SIGNALGATE_BOOTSTRAP_PASSWORD": "a long enough password",
	})
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("serving %s, want https", s.url)
	}
	s.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, body := s.do(t, "POST", "/v1/decisions", s.token, []byte(`{"input":`+benignInput+`}`)); resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("decision over TLS: %d %s", resp.StatusCode, body)
	}
	resp, _ := s.do(t, "POST", "/admin/v1/login", "", []byte(`{"user":"admin","password":"a long enough password"}`))
	var secure bool
	for _, c := range resp.Cookies() {
		secure = secure || (c.Name == auth.SessionCookie && c.Secure)
	}
	if resp.StatusCode != 200 || !secure {
		t.Errorf("login over TLS: %d, Secure cookie %v", resp.StatusCode, secure)
	}
	if _, _, err := runCLI(t, map[string]string{"SIGNALGATE_TLS_CERT": certFile}, "serve"); err == nil || !strings.Contains(err.Error(), "SIGNALGATE_TLS_KEY") {
		t.Errorf("a certificate without a key: %v", err)
	}
}
