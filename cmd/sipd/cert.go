package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/sipd/sipd/transport"
)

// runCert is `sipd cert`: it writes a self-signed certificate and key for a
// TLS listener.
func runCert(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("cert", flag.ContinueOnError)
	fset.SetOutput(stderr)
	var hosts stringList
	fset.Var(&hosts, "host", "a DNS name or IP address the certificate is for; repeatable (default localhost, 127.0.0.1, ::1)")
	certFile := fset.String("cert", "cert.pem", "the certificate file to write (PEM)")
	keyFile := fset.String("key", "key.pem", "the private key file to write (PEM, mode 0600)")
	force := fset.Bool("force", false, "overwrite existing files")
	fset.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd cert [--host NAME]... [--cert FILE] [--key FILE] [--force]")
		fmt.Fprintln(stderr, "\nwrites a self-signed ECDSA P-256 certificate, valid for one year, and its key")
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(stderr, "sipd cert: unexpected argument %q\n", fset.Arg(0))
		fset.Usage()
		return 2
	}
	if len(hosts) == 0 {
		hosts = stringList{"localhost", "127.0.0.1", "::1"}
	}
	if !*force {
		for _, f := range []string{*certFile, *keyFile} {
			if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(stderr, "sipd cert: %s exists; use --force to overwrite it\n", f)
				return 1
			}
		}
	}
	if err := transport.GenerateSelfSigned(hosts, *certFile, *keyFile); err != nil {
		fmt.Fprintf(stderr, "sipd cert: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote certificate %s for %s (self-signed, valid for one year)\n", *certFile, strings.Join(hosts, ", "))
	fmt.Fprintf(stdout, "wrote private key %s\n", *keyFile)
	return 0
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
