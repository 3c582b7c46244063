package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sipd/sipd/sip"
)

// optionsCmd is `sipd options URI`: one OPTIONS (RFC 3261 §11), a ping.
type optionsCmd struct {
	clientFlags
	target sip.URI
}

func parseOptions(args []string, stderr io.Writer) (*optionsCmd, error) {
	c := &optionsCmd{}
	fs := flag.NewFlagSet("options", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.add(fs, "127.0.0.1:0")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd options [flags] URI\n\nsends OPTIONS to URI, prints the call flow and succeeds on a 2xx answer")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, parseError{err}
	}
	if len(pos) != 1 {
		return nil, usagef("want one URI, such as sip:127.0.0.1:5060")
	}
	if err := c.check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.target, err = c.targetURI(pos[0]); err != nil {
		return nil, usageError{err.Error()}
	}
	return c, nil
}

func runOptions(args []string, stdout, stderr io.Writer) int {
	return runClient("options", parseOptions, args, stdout, stderr)
}

func (c *optionsCmd) run(ctx context.Context, stdout io.Writer) error {
	fl := newFlow(stdout)
	cfg, err := c.uaConfig()
	if err != nil {
		return err
	}
	u, stop, err := c.startUA(fl, cfg)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := u.Options(ctx, c.target)
	if err != nil {
		fl.notef("OPTIONS %s failed", c.target.String())
		return requestError(err, c.timeout)
	}
	fl.notef("OPTIONS %s: %d %s in %d ms", c.target.String(), resp.StatusCode, reasonOf(resp), fl.elapsed().Milliseconds())
	if allow := resp.Get("Allow"); allow != "" {
		fl.notef("Allow: %s", allow)
	}
	if !resp.IsSuccess() {
		return finalError(resp)
	}
	return nil
}
