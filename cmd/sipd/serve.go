package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/registrar"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/sqlite"
	"github.com/sipd/sipd/transport"
)

// serveFlags are the operator's knobs; the names are the contract of
// DESIGN.md's "Operators' surface".
type serveFlags struct {
	listen   stringList
	domains  stringList
	dataDir  string
	authMode string
	authAlgs string
	logLevel string
	tlsCert  string
	tlsKey   string
}

func parseServeFlags(args []string, stderr io.Writer) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&f.listen, "listen", "where to listen, scheme:host:port with scheme udp, tcp, tls, ws or wss; repeatable (default udp:0.0.0.0:5060 and tcp:0.0.0.0:5060)")
	fs.Var(&f.domains, "domain", "a domain the server is registrar for; repeatable (default: this machine's host name)")
	fs.StringVar(&f.dataDir, "data-dir", "sipd-data", "the directory of the embedded store")
	fs.StringVar(&f.authMode, "auth", "required", "digest authentication of REGISTER: required or off")
	fs.StringVar(&f.authAlgs, "auth-algorithms", "SHA-256,MD5", "digest algorithms to challenge with, in order of preference (RFC 8760 §2.4); old clients answer only the first: MD5 alone suits them")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "certificate file for tls listeners (sipd cert writes one)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "private key file for tls listeners")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd serve [flags]\n\nruns the SIP server: registrar with digest authentication and OPTIONS, state in the embedded store")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if len(f.listen) == 0 {
		f.listen = stringList{"udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"}
	}
	if len(f.domains) == 0 {
		host, err := os.Hostname()
		if err != nil || host == "" {
			return nil, errors.New("no --domain given and no host name to default to")
		}
		f.domains = stringList{strings.ToLower(host)}
	}
	var errs []error
	if f.authMode != "required" && f.authMode != "off" {
		errs = append(errs, fmt.Errorf("--auth %q: want required or off", f.authMode))
	}
	if _, err := f.algorithms(); err != nil {
		errs = append(errs, err)
	}
	if _, err := parseLevel(f.logLevel); err != nil {
		errs = append(errs, err)
	}
	for _, l := range f.listen {
		if _, _, err := splitListen(l); err != nil {
			errs = append(errs, err)
		}
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	return f, errors.Join(errs...)
}

// algorithms parses --auth-algorithms.
func (f *serveFlags) algorithms() ([]string, error) {
	var algs []string
	for _, a := range strings.Split(f.authAlgs, ",") {
		switch a = strings.ToUpper(strings.TrimSpace(a)); a {
		case auth.AlgorithmMD5, auth.AlgorithmSHA256:
			algs = append(algs, a)
		default:
			return nil, fmt.Errorf("--auth-algorithms: %q is not MD5 or SHA-256", a)
		}
	}
	return algs, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// splitListen splits "udp:127.0.0.1:5060" into network and address.
func splitListen(s string) (network, addr string, err error) {
	network, addr, ok := strings.Cut(s, ":")
	switch network = strings.ToLower(network); {
	case !ok || addr == "":
		return "", "", fmt.Errorf("--listen %q: want scheme:host:port", s)
	case network != "udp" && network != "tcp" && network != "tls" && network != "ws" && network != "wss":
		return "", "", fmt.Errorf("--listen %q: scheme must be udp, tcp, tls, ws or wss", s)
	}
	return network, addr, nil
}

func runServe(args []string, stdout, stderr io.Writer) int {
	f, err := parseServeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "sipd serve:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, f, stderr, nil); err != nil {
		fmt.Fprintln(stderr, "sipd serve:", err)
		return 1
	}
	return 0
}

// serve runs until ctx ends. ready, if not nil, gets the bound addresses
// once every listener is up (tests use it).
func serve(ctx context.Context, f *serveFlags, logOut io.Writer, ready func([]string)) error {
	level, _ := parseLevel(f.logLevel)
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))

	if err := os.MkdirAll(f.dataDir, 0o750); err != nil {
		return err
	}
	store, err := sqlite.Open(ctx, filepath.Join(f.dataDir, "sipd.db"), sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	var authn *auth.Authenticator
	if f.authMode == "required" {
		algs, _ := f.algorithms()
		authn = auth.New(auth.Config{Algorithms: algs}, store.Users())
	}
	reg, err := registrar.New(registrar.Config{Domains: f.domains, Auth: authn, Logger: log}, store)
	if err != nil {
		return err
	}
	allow := []string{sip.MethodRegister, sip.MethodOptions}
	supported := []string{"path"}
	var tcfg transport.Config
	tcfg.Logger = log
	tcfg.Hosts = f.domains
	if f.tlsCert != "" {
		if tcfg.TLSConfig, err = transport.LoadTLSConfig(f.tlsCert, f.tlsKey); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
	}
	srv := server.New(server.Config{Transport: tcfg, Allow: allow, Supported: supported, Logger: log},
		server.Chain(server.Options(allow, supported), reg))
	defer srv.Close()

	var bound []string
	for _, l := range f.listen {
		network, addr, _ := splitListen(l)
		if (network == "tls" || network == "wss") && tcfg.TLSConfig == nil {
			return fmt.Errorf("--listen %s needs --tls-cert and --tls-key", l)
		}
		ap, err := srv.Listen(network, addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", l, err)
		}
		bound = append(bound, network+":"+ap.String())
	}
	log.Info("sipd serving", "version", versionString(), "listen", bound, "domains", []string(f.domains),
		"data_dir", f.dataDir, "auth", f.authMode)
	if ready != nil {
		ready(bound)
	}

	// Expired bindings leave the store in the background.
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Info("sipd stopping")
			return nil
		case now := <-tick.C:
			if n, err := store.Expire(ctx, now); err != nil {
				log.Warn("expiring bindings", "err", err)
			} else if n > 0 {
				log.Debug("bindings expired", "count", n)
			}
		}
	}
}
