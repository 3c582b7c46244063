package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/ua"
)

// registerCmd is `sipd register`: one registration with digest
// authentication (RFC 3261 §10.2, §22), or its removal.
type registerCmd struct {
	clientFlags
	user, password string
	registrar      sip.URI
	expires        time.Duration
	unregister     bool
	all            bool
	hold           time.Duration
}

func parseRegister(args []string, stderr io.Writer) (*registerCmd, error) {
	c := &registerCmd{}
	var registrar string
	fs := flag.NewFlagSet("register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.add(fs, "127.0.0.1:0")
	fs.StringVar(&c.user, "user", "", "the user to register (required); also the digest user name")
	fs.StringVar(&c.password, "password", "", "the password, to answer the registrar's challenge")
	fs.StringVar(&registrar, "registrar", "", "the registrar's URI, such as sip:127.0.0.1:5060 (required)")
	fs.DurationVar(&c.expires, "expires", time.Hour, "how long the binding should last (whole seconds)")
	fs.BoolVar(&c.unregister, "unregister", false, "remove our binding (our Contact, so give the --listen address it was registered from) instead, with Expires: 0")
	fs.BoolVar(&c.all, "all", false, "with --unregister: remove every binding of the user (Contact: *)")
	fs.DurationVar(&c.hold, "hold", 0, "stay registered this long, refreshing the binding, then unregister (0: register once and exit)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd register --user USER --registrar URI [--password SECRET] [flags]\n\nregisters sip:USER@<registrar's domain> (or --from) with our address as the Contact, answering digest challenges, and prints the call flow and the bindings")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, parseError{err}
	}
	if len(pos) != 0 {
		return nil, usagef("unexpected argument %q", pos[0])
	}
	if c.user == "" {
		return nil, usagef("--user is required")
	}
	if registrar == "" {
		return nil, usagef("--registrar is required")
	}
	if err := c.check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.registrar, err = c.targetURI(registrar); err != nil {
		return nil, usageError{"--registrar: " + err.Error()}
	}
	if !c.unregister && (c.expires < time.Second || c.expires%time.Second != 0) {
		return nil, usagef("--expires %v: want whole seconds, at least 1s", c.expires)
	}
	if c.all && !c.unregister {
		return nil, usagef("--all goes with --unregister")
	}
	if c.hold < 0 || (c.hold > 0 && c.unregister) {
		return nil, usagef("--hold: want a positive duration, without --unregister")
	}
	return c, nil
}

func runRegister(args []string, stdout, stderr io.Writer) int {
	return runClient("register", parseRegister, args, stdout, stderr)
}

func (c *registerCmd) run(ctx context.Context, stdout io.Writer) error {
	fl := newFlow(stdout)
	cfg, err := c.uaConfig()
	if err != nil {
		return err
	}
	if c.from == "" {
		// The address of record is the user at the registrar's domain.
		cfg.User, cfg.Domain = c.user, c.registrar.Host
	}
	cfg.Username, cfg.Password = c.user, c.password
	u, stop, err := c.startUA(fl, cfg)
	if err != nil {
		return err
	}
	defer stop()
	aor := u.AOR().URI.String()
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	if c.unregister {
		// RFC 3261 §10.2.2: Expires 0 for our Contact removes its binding.
		req := u.NewRequest(sip.MethodRegister, c.registrar)
		req.Set("To", u.AOR().String())
		req.Set("Expires", "0")
		what := u.Contact().String()
		if c.all {
			// §10.2.2: "*" with Expires 0 removes every binding.
			req.Set("Contact", "*")
			what = "every binding"
		}
		resp, err := u.Do(rctx, req)
		if err != nil {
			fl.notef("unregistering %s failed", aor)
			return requestError(err, c.timeout)
		}
		if !resp.IsSuccess() {
			fl.notef("unregistering %s failed: %d %s", aor, resp.StatusCode, reasonOf(resp))
			return registerError(resp)
		}
		fl.notef("unregistered %s: %s", aor, what)
		return nil
	}

	reg, err := u.Register(rctx, &ua.RegisterOptions{Registrar: c.registrar, Expires: uint32(c.expires / time.Second), NoRefresh: c.hold == 0})
	if err != nil {
		fl.notef("registering %s failed", aor)
		var re *ua.ResponseError
		if errors.As(err, &re) {
			return registerError(re.Response)
		}
		return requestError(err, c.timeout)
	}
	fl.notef("registered %s at %s for %v", aor, u.Contact().String(), reg.Expires())
	if c.hold == 0 {
		return nil
	}
	// Stay registered (the UA refreshes at half the lifetime), then
	// remove the binding.
	t := time.NewTimer(c.hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	uctx, ucancel := context.WithTimeout(context.Background(), c.timeout)
	defer ucancel()
	if err := reg.Unregister(uctx); err != nil {
		fl.notef("unregistering %s failed after %d refreshes", aor, reg.Refreshes())
		return err
	}
	fl.notef("unregistered %s after %d refreshes", aor, reg.Refreshes())
	return nil
}

// registerError explains a failed REGISTER; a challenge as the final
// answer means our credentials were refused or missing.
func registerError(resp *sip.Response) error {
	if resp.StatusCode == sip.StatusUnauthorized || resp.StatusCode == sip.StatusProxyAuthRequired {
		return fmt.Errorf("authentication failed: %w (wrong or no --password?)", finalError(resp))
	}
	return finalError(resp)
}
