package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCert(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	args := []string{"cert", "--host", "example.com", "--host", "127.0.0.1", "--cert", certFile, "--key", keyFile}

	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit code %d: %s", code, errb.String())
	}
	for _, want := range []string{certFile, keyFile, "example.com, 127.0.0.1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout %q does not mention %q", out.String(), want)
		}
	}
	data, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatal("no PEM in the certificate file")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cert.DNSNames, []string{"example.com"}) || len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(net.IPv4(127, 0, 0, 1)) {
		t.Errorf("SANs %v %v", cert.DNSNames, cert.IPAddresses)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi.Mode(), err)
	}

	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"existing files", args, 1, "exists; use --force"},
		{"--force overwrites", append(slices.Clone(args), "--force"), 0, ""},
		{"unknown flag", []string{"cert", "--nope"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"cert", "extra"}, 2, `unexpected argument "extra"`},
		{"bad host", []string{"cert", "--host", "a b", "--cert", filepath.Join(dir, "c2"), "--key", filepath.Join(dir, "k2")}, 1, "bad certificate host"},
		{"help", []string{"cert", "-h"}, 0, "usage: sipd cert"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != tt.code {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.err) {
				t.Errorf("stderr %q does not contain %q", errb.String(), tt.err)
			}
		})
	}
}

func TestCertDefaults(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	var out, errb bytes.Buffer
	if code := run([]string{"cert"}, &out, &errb); code != 0 {
		t.Fatalf("exit code %d: %s", code, errb.String())
	}
	for _, f := range []string{"cert.pem", "key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(out.String(), "localhost, 127.0.0.1, ::1") {
		t.Errorf("stdout %q", out.String())
	}
}
