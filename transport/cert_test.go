package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestGenerateSelfSigned(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	// An existing, world-readable key file must end up 0600.
	if err := os.WriteFile(keyFile, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := GenerateSelfSigned([]string{"sip.example.com", "127.0.0.1", "[::1]"}, certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("no CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cert.DNSNames, []string{"sip.example.com"}) {
		t.Errorf("DNS names %v", cert.DNSNames)
	}
	if len(cert.IPAddresses) != 2 || !cert.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !cert.IPAddresses[1].Equal(net.IPv6loopback) {
		t.Errorf("IP addresses %v", cert.IPAddresses)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", cert.PublicKey)
	}
	if d := time.Until(cert.NotAfter); d < 364*24*time.Hour || d > 366*24*time.Hour {
		t.Errorf("valid for another %v, want a year", d)
	}
	if cert.NotBefore.After(time.Now()) {
		t.Errorf("not valid before %v", cert.NotBefore)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, name := range []string{"sip.example.com", "127.0.0.1", "::1"} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("verify as %s: %v", name, err)
		}
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	if _, err := LoadTLSConfig(certFile, keyFile); err != nil {
		t.Errorf("LoadTLSConfig: %v", err)
	}

	for _, hosts := range [][]string{nil, {"bad host"}, {""}} {
		if err := GenerateSelfSigned(hosts, certFile, keyFile); err == nil {
			t.Errorf("GenerateSelfSigned(%q) succeeded", hosts)
		}
	}
	if _, err := LoadTLSConfig(filepath.Join(dir, "none.pem"), keyFile); err == nil {
		t.Error("LoadTLSConfig of a missing file succeeded")
	}
}
