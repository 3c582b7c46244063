package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/sipd/sipd/sip"
)

// messageCmd is `sipd message URI TEXT`: one MESSAGE (RFC 3428).
type messageCmd struct {
	clientFlags
	target      sip.URI
	text        string
	contentType string
	user, pass  string
}

func parseMessage(args []string, stderr io.Writer) (*messageCmd, error) {
	c := &messageCmd{}
	fs := flag.NewFlagSet("message", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.add(fs, "127.0.0.1:0")
	fs.StringVar(&c.contentType, "content-type", "text/plain", "the body's content type")
	fs.StringVar(&c.user, "user", "", "user name for digest authentication (default: the user of --from)")
	fs.StringVar(&c.pass, "password", "", "password, to answer a 401 or 407 challenge")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd message [flags] URI TEXT\n\nsends TEXT in a MESSAGE to URI, prints the call flow and succeeds on a 2xx answer")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, parseError{err}
	}
	if len(pos) != 2 {
		return nil, usagef("want a URI and a text, such as sip:bob@127.0.0.1:5060 \"hello\"")
	}
	if err := c.check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.target, err = c.targetURI(pos[0]); err != nil {
		return nil, usageError{err.Error()}
	}
	c.text = pos[1]
	return c, nil
}

func runMessage(args []string, stdout, stderr io.Writer) int {
	return runClient("message", parseMessage, args, stdout, stderr)
}

func (c *messageCmd) run(ctx context.Context, stdout io.Writer) error {
	fl := newFlow(stdout)
	cfg, err := c.uaConfig()
	if err != nil {
		return err
	}
	cfg.Username, cfg.Password = c.user, c.pass
	u, stop, err := c.startUA(fl, cfg)
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := u.Message(ctx, c.target, c.contentType, []byte(c.text))
	if resp == nil && err != nil {
		fl.notef("MESSAGE to %s failed", c.target.String())
		return requestError(err, c.timeout)
	}
	fl.notef("MESSAGE to %s: %d %s in %d ms", c.target.String(), resp.StatusCode, reasonOf(resp), fl.elapsed().Milliseconds())
	if !resp.IsSuccess() {
		return finalError(resp)
	}
	return nil
}
