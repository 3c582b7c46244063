package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sipd/sipd/dns"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/transaction"
	"github.com/sipd/sipd/transport"
	"github.com/sipd/sipd/ua"
)

// clientFlags are the flags every client command (options, register,
// call, answer, message) has.
type clientFlags struct {
	listen    string        // local address
	transport string        // udp, tcp or tls
	from      string        // our address of record, sip:user@domain
	timeout   time.Duration // how long to wait for a final response

	proxy string // outbound proxy URI

	tlsCert, tlsKey, tlsCA string // --transport tls
}

// add defines the common flags on fs; listen is the default local address.
func (c *clientFlags) add(fs *flag.FlagSet, listen string) {
	fs.StringVar(&c.listen, "listen", listen, "the local address to send from and listen on, host:port")
	fs.StringVar(&c.transport, "transport", "udp", "udp, tcp or tls")
	fs.StringVar(&c.from, "from", "", "our address, such as sip:alice@example.com (default sip:sipd@ the local address)")
	fs.DurationVar(&c.timeout, "timeout", 32*time.Second, "how long to wait for a final response (RFC 3261's Timer F is 32s)")
	fs.StringVar(&c.proxy, "proxy", "", "an outbound proxy URI, such as sip:127.0.0.1:5060: requests outside a call go there, with a Route")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "with --transport tls: our certificate (default: a self-signed one made at start)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "with --transport tls: the key of --tls-cert")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "with --transport tls: trust the certificates in this PEM file (such as one sipd cert wrote) instead of the system's")
}

// check validates the common flags.
func (c *clientFlags) check() error {
	switch strings.ToLower(c.transport) {
	case "udp", "tcp", "tls":
		c.transport = strings.ToLower(c.transport)
	default:
		return fmt.Errorf("--transport %q: want udp, tcp or tls", c.transport)
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.timeout <= 0 {
		return fmt.Errorf("--timeout %v: want a positive duration", c.timeout)
	}
	if c.from != "" {
		if _, err := c.fromAddress(); err != nil {
			return err
		}
	}
	if c.proxy != "" {
		if _, err := c.targetURI(c.proxy); err != nil {
			return fmt.Errorf("--proxy: %w", err)
		}
	}
	return nil
}

// fromAddress parses --from: a SIP URI or name-addr, or user@host.
func (c *clientFlags) fromAddress() (sip.Address, error) {
	s := c.from
	if !strings.Contains(s, ":") && !strings.Contains(s, "<") {
		s = "sip:" + s
	}
	a, err := sip.ParseAddress(s)
	if err != nil || !a.URI.IsSIP() || a.URI.User == "" {
		return sip.Address{}, fmt.Errorf("--from %q: want sip:user@domain", c.from)
	}
	return a, nil
}

// targetURI parses a command's destination: a SIP URI, or host[:port] or
// user@host[:port] without the scheme. The transport of --transport is
// added as the URI's transport parameter when it is not UDP and the URI
// names none.
func (c *clientFlags) targetURI(s string) (sip.URI, error) {
	in := s
	if !strings.HasPrefix(strings.ToLower(s), "sip:") && !strings.HasPrefix(strings.ToLower(s), "sips:") {
		// host:port and user@host:port get the scheme; mailto:... and
		// other schemes are refused.
		if before, after, ok := strings.Cut(s, ":"); ok && !strings.ContainsAny(before, "@.[") &&
			(after == "" || after[0] < '0' || after[0] > '9') {
			return sip.URI{}, fmt.Errorf("%q is not a SIP URI", in)
		}
		s = "sip:" + s
	}
	u, err := sip.ParseURI(s)
	if err != nil || !u.IsSIP() || u.Host == "" {
		return sip.URI{}, fmt.Errorf("%q is not a SIP URI", in)
	}
	if c.transport != "" && c.transport != "udp" && !u.Params.Has("transport") {
		u.Params = u.Params.Set("transport", c.transport)
	}
	return u, nil
}

// parseInterleaved parses args with fs, allowing flags before and after
// the positional arguments, which it returns. A -h gives flag.ErrHelp.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// usageError is a command line that cannot run: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// exitCode prints err for the command name and returns the exit status:
// 0 without an error, 2 for a usage error (or 0 for -h), else 1.
func exitCode(name string, err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "sipd %s: %s\n", name, ue.msg)
		return 2
	}
	var pe parseError
	if errors.As(err, &pe) {
		return 2 // the flag package has said what was wrong
	}
	fmt.Fprintf(stderr, "sipd %s: %s\n", name, err)
	return 1
}

// parseError is an error of the flag package, which has printed it.
type parseError struct{ err error }

func (e parseError) Error() string { return e.err.Error() }
func (e parseError) Unwrap() error { return e.err }

// uaConfig is the ua.Config of the common flags: our address of record
// and the transport name for the Contact.
func (c *clientFlags) uaConfig() (ua.Config, error) {
	cfg := ua.Config{Network: c.transport, User: "sipd"}
	// Host names go through RFC 3263 (SRV, then A/AAAA) with the system's
	// DNS servers; without /etc/resolv.conf, the UA's own A/AAAA lookup.
	if res, err := dns.New(dns.Config{}); err == nil {
		cfg.Resolver = res
	}
	if c.from != "" {
		a, err := c.fromAddress()
		if err != nil {
			return ua.Config{}, err
		}
		cfg.User, cfg.Domain, cfg.DisplayName = a.URI.UserUnescaped(), a.URI.Hostport(), a.Display
	}
	if c.proxy != "" {
		p, err := c.targetURI(c.proxy)
		if err != nil {
			return ua.Config{}, err
		}
		cfg.Proxy = p.String()
	}
	return cfg, nil
}

// startUA opens our listener (--listen, --transport) and starts a UA on
// it with cfg. Every message sent or received is printed on fl: the UA
// gets the transport through Config.Transport, wrapped so that a message
// is printed before it leaves and a received one before the UA sees it,
// which keeps the lines in the order things happened. stop closes the UA
// and then the transport.
func (c *clientFlags) startUA(fl *flow, cfg ua.Config) (u *ua.UA, stop func(), err error) {
	tcfg := transport.Config{}
	if c.transport == "tls" {
		if tcfg.TLSConfig, err = c.tlsConfig(); err != nil {
			return nil, nil, err
		}
	}
	var (
		mu    sync.Mutex
		agent *ua.UA
		ready = make(chan struct{})
	)
	tp := transport.New(tcfg, transport.HandlerFunc(func(in *transport.Inbound) {
		<-ready
		mu.Lock()
		a := agent
		mu.Unlock()
		fl.message(false, in.Msg, in.Remote, in.Transport)
		if a != nil {
			a.HandleInbound(in)
		}
	}))
	addr, err := tp.Listen(c.transport, c.listen)
	if err != nil {
		close(ready)
		tp.Close()
		return nil, nil, fmt.Errorf("listen %s %s: %w", c.transport, c.listen, err)
	}
	cfg.Transport, cfg.LocalAddr = flowTransport{tp, fl}, addr
	cfg.Network = c.transport
	u, err = ua.New(cfg)
	mu.Lock()
	agent = u
	mu.Unlock()
	close(ready)
	if err != nil {
		tp.Close()
		return nil, nil, err
	}
	return u, func() {
		u.Close()
		tp.Close()
	}, nil
}

// flowTransport prints each message on the flow just before it is sent.
type flowTransport struct {
	*transport.Layer
	fl *flow
}

func (t flowTransport) SendRequest(req *sip.Request, dst transport.Target) error {
	t.fl.message(true, req, dst.Addr, dst.Transport)
	err := t.Layer.SendRequest(req, dst)
	if err != nil {
		t.fl.notef("sending %s to %s failed: %v", req.Method, dst.Addr, err)
	}
	return err
}

func (t flowTransport) SendResponse(resp *sip.Response, src transport.Source) error {
	t.fl.message(true, resp, src.Remote, src.Transport)
	err := t.Layer.SendResponse(resp, src)
	if err != nil {
		t.fl.notef("sending %d to %s failed: %v", resp.StatusCode, src.Remote, err)
	}
	return err
}

// tlsConfig is the TLS configuration of --transport tls: our certificate
// (--tls-cert and --tls-key, or a self-signed one made now, since the
// transport needs a TLS listener to send over TLS) and the roots the
// peer's certificate is checked against (--tls-ca, else the system's).
func (c *clientFlags) tlsConfig() (*tls.Config, error) {
	cert, key := c.tlsCert, c.tlsKey
	if cert == "" {
		dir, err := os.MkdirTemp("", "sipd-tls")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		if err := transport.GenerateSelfSigned([]string{"localhost", "127.0.0.1", "::1"}, cert, key); err != nil {
			return nil, err
		}
	}
	cfg, err := transport.LoadTLSConfig(cert, key)
	if err != nil {
		return nil, err
	}
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate", c.tlsCA)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// finalError is the error of a final response that is not 2xx.
func finalError(r *sip.Response) error {
	return fmt.Errorf("%d %s", r.StatusCode, reasonOf(r))
}

func reasonOf(r *sip.Response) string {
	if r.Reason != "" {
		return r.Reason
	}
	return sip.StatusText(r.StatusCode)
}

// requestError explains a request that got no final response.
func requestError(err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no final response within %v", timeout)
	case errors.Is(err, transaction.ErrTimeout):
		return fmt.Errorf("no final response: %w", err)
	}
	return err
}

// commandContext is cancelled by SIGINT and SIGTERM.
func commandContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// clientCmd is a client command, parsed.
type clientCmd interface {
	run(ctx context.Context, stdout io.Writer) error
}

// runClient parses a client command's args with parse, runs it until it
// ends or is interrupted, and turns the outcome into the exit status.
func runClient[C clientCmd](name string, parse func([]string, io.Writer) (C, error), args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err == nil {
		ctx, stop := commandContext()
		defer stop()
		err = c.run(ctx, stdout)
	}
	return exitCode(name, err, stderr)
}
