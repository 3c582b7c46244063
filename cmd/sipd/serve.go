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
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/sipd/sipd/admin"
	"github.com/sipd/sipd/auth"
	"github.com/sipd/sipd/config"
	"github.com/sipd/sipd/dns"
	"github.com/sipd/sipd/proxy"
	"github.com/sipd/sipd/redirect"
	"github.com/sipd/sipd/registrar"
	"github.com/sipd/sipd/server"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/storage/sqlite"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
)

// loadServeConfig builds the configuration: the defaults, then the file
// named by --config, then the flags given on the command line. The flag
// names are the config keys' (DESIGN.md, "Operators' surface").
func loadServeConfig(args []string, stderr io.Writer) (config.Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		file                                                   string
		listen, domains                                        stringList
		dataDir, mode, adminAddr, authMode, authAlgs, logLevel string
		pprofAddr                                              string
		tlsCert, tlsKey                                        string
	)
	fs.StringVar(&file, "config", "", "a config file (TOML; see docs/sipd.example.toml); flags override it")
	fs.Var(&listen, "listen", "where to listen, scheme:host:port with scheme udp, tcp, tls, ws or wss; repeatable (default udp:0.0.0.0:5060 and tcp:0.0.0.0:5060)")
	fs.Var(&domains, "domain", "a domain the server serves; repeatable (default: this machine's host name)")
	fs.StringVar(&dataDir, "data-dir", "sipd-data", "the directory of the embedded store")
	fs.StringVar(&mode, "mode", "registrar", "registrar (REGISTER and OPTIONS), redirect (also 302 to registered contacts) proxy (forwards calls to registered contacts, transaction-stateful) or stateless (forwards to the first contact, keeping no state; needs --auth off)")
	fs.StringVar(&adminAddr, "admin", "", "address of the HTTP admin API, such as 127.0.0.1:8080 (off when empty)")
	fs.StringVar(&pprofAddr, "pprof", "", "address where Go's runtime profiles are served (net/http/pprof), such as 127.0.0.1:6060 (off when empty)")
	fs.StringVar(&authMode, "auth", "required", "digest authentication of REGISTER: required or off")
	fs.StringVar(&authAlgs, "auth-algorithms", "SHA-256,MD5", "digest algorithms to challenge with, in order of preference (RFC 8760 §2.4); old clients answer only the first: MD5 alone suits them")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&tlsCert, "tls-cert", "", "certificate file for tls and wss listeners (sipd cert writes one)")
	fs.StringVar(&tlsKey, "tls-key", "", "private key file for tls and wss listeners")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd serve [flags]\n\nruns the SIP server on the embedded store: registrar with digest authentication, OPTIONS, and in redirect mode 302s, in proxy and stateless modes forwarding to registered contacts")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := config.Default()
	if file != "" {
		var err error
		if cfg, err = config.Load(file); err != nil {
			return config.Config{}, err
		}
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "listen":
			cfg.Listen = listen
		case "domain":
			cfg.Domain = domains
		case "data-dir":
			cfg.DataDir = dataDir
		case "mode":
			cfg.Mode = mode
		case "admin":
			cfg.Admin = adminAddr
		case "pprof":
			cfg.Pprof = pprofAddr
		case "auth":
			cfg.Auth = authMode
		case "auth-algorithms":
			cfg.AuthAlgorithms = nil
			for _, a := range strings.Split(authAlgs, ",") {
				cfg.AuthAlgorithms = append(cfg.AuthAlgorithms, strings.ToUpper(strings.TrimSpace(a)))
			}
		case "log-level":
			cfg.LogLevel = logLevel
		case "tls-cert":
			cfg.TLSCert = tlsCert
		case "tls-key":
			cfg.TLSKey = tlsKey
		}
	})
	for i := range cfg.Domain {
		cfg.Domain[i] = strings.ToLower(cfg.Domain[i])
	}
	if len(cfg.Domain) == 0 {
		return config.Config{}, errors.New("no domain: give --domain (this machine has no host name to default to)")
	}
	return cfg, cfg.Validate()
}

func runServe(args []string, stdout, stderr io.Writer) int {
	cfg, err := loadServeConfig(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(stderr, "sipd serve:", line)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if cfg.Pprof != "" {
		a, closePprof, err := startPprof(cfg.Pprof, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "sipd serve: pprof:", err)
			return 1
		}
		defer closePprof()
		fmt.Fprintln(stderr, "sipd serve: pprof on http://"+a.String()+"/debug/pprof/")
	}
	if err := serve(ctx, cfg, stderr, nil); err != nil {
		fmt.Fprintln(stderr, "sipd serve:", err)
		return 1
	}
	return 0
}

// splitListen splits "udp:127.0.0.1:5060" into network and address; the
// config has validated the form.
func splitListen(s string) (network, addr string) {
	network, addr, _ = strings.Cut(s, ":")
	return strings.ToLower(network), addr
}

// setGC applies the [runtime] keys to the Go runtime, except those
// whose environment variable (GOGC, GOMEMLIMIT, GOMAXPROCS) is set: the runtime has
// read that already, and an operator's environment wins over the file.
func setGC(rt config.Runtime, log *slog.Logger) {
	gc, limit := os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT")
	if gc == "" {
		debug.SetGCPercent(rt.GCPercent)
	}
	if os.Getenv("GOMAXPROCS") == "" && rt.MaxProcs > 0 {
		runtime.GOMAXPROCS(rt.MaxProcs)
	}
	if limit == "" && rt.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(int64(rt.MemoryLimitMB) << 20)
	}
	log.Debug("runtime", "gc_percent", rt.GCPercent, "memory_limit_mb", rt.MemoryLimitMB, "max_procs", rt.MaxProcs,
		"GOGC", gc, "GOMEMLIMIT", limit)
}

// serve runs until ctx ends. ready, if not nil, gets the bound addresses
// once every listener is up (tests use it).
func serve(ctx context.Context, cfg config.Config, logOut io.Writer, ready func([]string)) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: level}))
	setGC(cfg.Runtime, log)

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return err
	}
	sync := sqlite.SyncNormal
	if cfg.Store.Synchronous == config.SyncFull {
		sync = sqlite.SyncFull
	}
	store, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "sipd.db"), sqlite.Options{Synchronous: sync,
		CommitDelay: cfg.Store.CommitDelay.Duration})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	var authn *auth.Authenticator
	if cfg.Auth == config.AuthRequired {
		authn = auth.New(auth.Config{Algorithms: cfg.AuthAlgorithms}, store.Users())
	}
	reg, err := registrar.New(registrar.Config{
		Domains:        cfg.Domain,
		Auth:           authn,
		DefaultExpires: cfg.Registrar.DefaultExpires.Duration,
		MinExpires:     cfg.Registrar.MinExpires.Duration,
		MaxExpires:     cfg.Registrar.MaxExpires.Duration,
		MaxContacts:    cfg.Registrar.MaxContacts,
		Logger:         log,
	}, store)
	if err != nil {
		return err
	}
	allow := []string{sip.MethodRegister, sip.MethodOptions}
	handlers := []server.Handler{nil, reg}
	allMethods := []string{sip.MethodInvite, sip.MethodAck, sip.MethodCancel, sip.MethodBye, sip.MethodOptions,
		sip.MethodRegister, sip.MethodMessage, sip.MethodSubscribe, sip.MethodNotify, sip.MethodRefer,
		sip.MethodInfo, sip.MethodUpdate, sip.MethodPrack, sip.MethodPublish}
	// The proxy needs the server's layers, made below; it is set then.
	var px *proxy.Proxy
	var sl *proxy.Stateless
	switch cfg.Mode {
	case config.ModeStateless:
		// REGISTER and OPTIONS to the server; proxy.Stateless, set up
		// below, forwards the rest before it reaches these handlers.
		allow = allMethods
	case config.ModeRedirect, config.ModeProxy:
		if authn != nil {
			handlers = append(handlers, server.Authenticate(authn, cfg.Domain))
		}
		if cfg.Mode == config.ModeRedirect {
			rd, err := redirect.New(redirect.Config{Domains: cfg.Domain, Logger: log}, store, store.Users())
			if err != nil {
				return err
			}
			handlers = append(handlers, rd)
		} else {
			handlers = append(handlers, server.HandlerFunc(func(ctx context.Context, tx *transaction.ServerTx, req *sip.Request) error {
				return px.ServeSIP(ctx, tx, req)
			}))
		}
		allow = allMethods
	}
	supported := []string{"path"}
	handlers[0] = server.Options(allow, supported)

	// The proxy modes resolve host-name next hops (RFC 3263) and follow
	// the static routes.
	pcfg := proxy.Config{Domains: cfg.Domain, Allow: allow, Logger: log}
	if cfg.Mode == config.ModeProxy || cfg.Mode == config.ModeStateless {
		res, err := dns.New(dns.Config{Servers: cfg.DNS.Servers, Timeout: cfg.DNS.Timeout.Duration,
			Deterministic: cfg.Mode == config.ModeStateless}) // RFC 3263 §4.4
		if err != nil {
			if len(cfg.DNS.Servers) > 0 {
				return err
			}
			log.Warn("no DNS: only IP addresses are reached", "err", err)
		} else {
			pcfg.Resolver = res
		}
		pcfg.Recurse = cfg.Proxy.Recurse
		for _, r := range cfg.Proxy.Routes {
			next, err := sip.ParseURI(r.Next)
			if err != nil {
				return fmt.Errorf("proxy route next %q: %w", r.Next, err) // Validate has refused it already
			}
			pcfg.Routes = append(pcfg.Routes, proxy.Route{Domain: r.Domain, Prefix: r.Prefix, Next: next})
		}
	}

	tcfg := transport.Config{Logger: log, Hosts: cfg.Domain}
	if cfg.TLSCert != "" {
		if tcfg.TLSConfig, err = transport.LoadTLSConfig(cfg.TLSCert, cfg.TLSKey); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
	}
	srv := server.New(server.Config{Transport: tcfg, Allow: allow, Supported: supported, Logger: log},
		server.Chain(handlers...))
	defer srv.Close()
	listen := srv.Listen
	if cfg.Mode == config.ModeStateless {
		// The stateless proxy sits between a transport layer and a
		// transaction layer of its own, so that nothing it forwards makes
		// a transaction (proxy.Stateless). What it does not forward goes
		// up that transaction layer to srv, whose workers run the
		// handlers above (OPTIONS, the registrar); srv's own layers stay
		// without listeners.
		tp := transport.New(tcfg, transport.HandlerFunc(func(in *transport.Inbound) { sl.HandleInbound(in) }))
		tl := transaction.New(tp, transaction.Config{Logger: log})
		defer func() {
			tp.Close()
			tl.Close()
		}()
		tl.SetCore(srv)
		if sl, err = proxy.NewStateless(pcfg, tp, store, store.Users(), tl); err != nil {
			return err
		}
		listen = tp.Listen
	}
	if cfg.Mode == config.ModeProxy {
		px, err = proxy.New(pcfg, srv.Transactions(), srv.Transport(), store, store.Users())
		if err != nil {
			return err
		}
		srv.SetStrayHandler(px.HandleStray)
		// At shutdown the proxy cancels its ringing branches and answers
		// its callers before the layers close.
		srv.OnClose(px.Shutdown)
	}

	var bound []string
	for _, l := range cfg.Listen {
		network, addr := splitListen(l)
		ap, err := listen(network, addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", l, err)
		}
		bound = append(bound, network+":"+ap.String())
		// The proxy record-routes twice when a request changes
		// listener (RFC 5658); it must know them all.
		switch {
		case px != nil:
			px.AddListener(network, ap)
		case sl != nil:
			sl.AddListener(network, ap)
		}
	}
	attrs := []any{"version", versionString(), "listen", bound, "domains", cfg.Domain,
		"mode", cfg.Mode, "data_dir", cfg.DataDir, "store_synchronous", cfg.Store.Synchronous, "auth", cfg.Auth}
	if cfg.Admin != "" {
		adm := admin.New(admin.Config{Addr: cfg.Admin, Logger: log}, store)
		a, err := adm.Start()
		if err != nil {
			return fmt.Errorf("admin: %w", err)
		}
		defer adm.Close()
		attrs = append(attrs, "admin", a.String())
	}
	if f := cfg.File(); f != "" {
		attrs = append(attrs, "config", f)
	}
	log.Info("sipd serving", attrs...)
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
