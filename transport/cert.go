package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/netip"
	"os"
	"strings"
	"time"
)

// GenerateSelfSigned writes a self-signed certificate and its private key,
// in PEM, for a TLS listener: an ECDSA P-256 key, valid for one year from
// now (and an hour before, for clocks that lag), for server and client
// authentication. Each host becomes a subject alternative name: an IP
// address ("192.0.2.1", "::1" or "[::1]") as an IP SAN, anything else as a
// DNS name; the first host is also the common name. The key file is
// written with mode 0600. Existing files are overwritten.
func GenerateSelfSigned(hosts []string, certFile, keyFile string) error {
	if len(hosts) == 0 {
		return errors.New("transport: a certificate needs at least one host")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"sipd"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, a.AsSlice())
			continue
		}
		if h == "" || strings.ContainsAny(h, " /:[]") {
			return errors.New("transport: bad certificate host " + `"` + h + `"`)
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writePEM(keyFile, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	return writePEM(certFile, "CERTIFICATE", der, 0o644)
}

func writePEM(name, typ string, der []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	// An existing file keeps its mode on open; a key must not stay
	// readable by others.
	err = f.Chmod(mode)
	if err == nil {
		err = pem.Encode(f, &pem.Block{Type: typ, Bytes: der})
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
