package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/ua"
)

// answerCmd is `sipd answer`: it listens, answers every call (after a
// 180, reliable with --100rel when the caller supports it, RFC 3262),
// plays and records audio, and prints the MESSAGEs it receives.
type answerCmd struct {
	clientFlags
	media          mediaFlags
	count          int
	once           bool
	ring           time.Duration
	duration       time.Duration
	rel100         bool
	reject         int
	registrar      string
	user, password string
	expires        time.Duration
}

func parseAnswer(args []string, stderr io.Writer) (*answerCmd, error) {
	c := &answerCmd{}
	fs := flag.NewFlagSet("answer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.add(fs, "127.0.0.1:5060")
	c.media.add(fs)
	fs.IntVar(&c.count, "count", 0, "exit after this many calls have ended (0: run until Ctrl-C)")
	fs.BoolVar(&c.once, "once", false, "exit after one call (--count 1)")
	fs.DurationVar(&c.ring, "ring", 0, "ring this long (180) before answering")
	fs.DurationVar(&c.duration, "duration", 0, "hang up after this long in a call (0: when the caller hangs up)")
	fs.BoolVar(&c.rel100, "100rel", false, "send the 180 reliably (RFC 3262) when the caller supports it, and answer after its PRACK")
	fs.IntVar(&c.reject, "reject", 0, "reject calls with this status code (such as 486) instead of answering")
	fs.StringVar(&c.registrar, "registrar", "", "register at this registrar first (with --user, --password), so that calls can reach us through it")
	fs.StringVar(&c.user, "user", "", "the user to register; also the digest user name")
	fs.StringVar(&c.password, "password", "", "the password, to answer the registrar's challenge")
	fs.DurationVar(&c.expires, "expires", time.Hour, "how long the registration should last; it is refreshed")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd answer [flags]\n\nlistens (--listen), answers calls, plays (--play, --tone) and records (--record) audio, prints MESSAGEs and the call flow")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, parseError{err}
	}
	if len(pos) != 0 {
		return nil, usagef("unexpected argument %q", pos[0])
	}
	if err := c.check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if err := c.media.check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.once {
		if c.count > 1 {
			return nil, usagef("--once and --count %d: give one", c.count)
		}
		c.count = 1
	}
	if c.count < 0 || c.ring < 0 || c.duration < 0 {
		return nil, usagef("--count, --ring and --duration cannot be negative")
	}
	if c.reject != 0 && (c.reject < 300 || c.reject > 699) {
		return nil, usagef("--reject %d: want a final status from 300 to 699", c.reject)
	}
	if c.registrar != "" {
		if c.user == "" {
			return nil, usagef("--registrar needs --user")
		}
		if _, err := c.targetURI(c.registrar); err != nil {
			return nil, usageError{"--registrar: " + err.Error()}
		}
		if c.expires < time.Second || c.expires%time.Second != 0 {
			return nil, usagef("--expires %v: want whole seconds, at least 1s", c.expires)
		}
	}
	return c, nil
}

func runAnswer(args []string, stdout, stderr io.Writer) int {
	return runClient("answer", parseAnswer, args, stdout, stderr)
}

// recordName is the recording of the nth call: the --record name itself
// when only one call is taken, else with "-n" before the extension.
func recordName(record string, n, count int) string {
	if record == "" || count == 1 {
		return record
	}
	ext := filepath.Ext(record)
	return strings.TrimSuffix(record, ext) + "-" + strconv.Itoa(n) + ext
}

func (c *answerCmd) run(ctx context.Context, stdout io.Writer) error {
	audio, err := c.media.load()
	if err != nil {
		return err
	}
	fl := newFlow(stdout)
	cfg, err := c.uaConfig()
	if err != nil {
		return err
	}
	if c.user != "" {
		if c.from == "" {
			cfg.User = c.user
			if c.registrar != "" {
				r, _ := c.targetURI(c.registrar)
				cfg.Domain = r.Host
			}
		}
		cfg.Username = c.user
	}
	cfg.Password = c.password

	var (
		mu      sync.Mutex
		calls   int   // calls taken
		ended   int   // calls over
		failed  error // the first call that went wrong
		allDone = make(chan struct{})
		wg      sync.WaitGroup
	)
	finish := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		ended++
		if err != nil && failed == nil {
			failed = err
		}
		if c.count > 0 && ended == c.count {
			close(allDone)
		}
	}
	// take answers one call; it runs in a goroutine of the UA's.
	take := func(ic *ua.IncomingCall) {
		mu.Lock()
		if c.count > 0 && calls >= c.count {
			mu.Unlock()
			ic.Reject(sip.StatusBusyHere, "")
			return
		}
		calls++
		n := calls
		wg.Add(1)
		mu.Unlock()
		defer wg.Done()
		from := ic.From()
		fl.notef("call %d from %s", n, from.URI.String())
		finish(c.answer(ctx, fl, ic, audio, recordName(c.media.record, n, c.count)))
	}
	cfg.OnInvite = take
	cfg.OnMessage = func(req *sip.Request) int {
		from, _ := req.From()
		fl.notef("MESSAGE from %s: %s", from.URI.String(), req.Body)
		return sip.StatusOK
	}
	u, stop, err := c.startUA(fl, cfg)
	if err != nil {
		return err
	}
	defer stop()
	fl.notef("listening on %s/%s as %s", u.Addr(), c.transport, u.AOR().URI.String())

	if c.registrar != "" {
		reg, err := c.register(ctx, fl, u)
		if err != nil {
			return err
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			reg.Unregister(uctx)
		}()
	}

	select {
	case <-allDone:
	case <-ctx.Done():
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	fl.notef("calls taken: %d", ended)
	return failed
}

// answer takes one call: 180 (reliable with --100rel), the ring time,
// then 200 and the call, or the --reject status.
func (c *answerCmd) answer(ctx context.Context, fl *flow, ic *ua.IncomingCall, audio []int16, record string) error {
	var err error
	if c.rel100 {
		err = ic.Progress(ctx, sip.StatusRinging, true)
	} else {
		err = ic.Ring()
	}
	if err != nil {
		fl.notef("ringing failed: %v", err)
		return err
	}
	if c.ring > 0 {
		select {
		case <-time.After(c.ring):
		case <-ic.Cancelled():
			fl.notef("the caller cancelled")
			return nil
		case <-ctx.Done():
			ic.Reject(sip.StatusTemporarilyUnavailable, "")
			return ctx.Err()
		}
	}
	if c.reject != 0 {
		fl.notef("rejecting with %d", c.reject)
		return ic.Reject(c.reject, "")
	}
	call, err := ic.Answer(ctx)
	if err != nil {
		fl.notef("answer failed: %v", err)
		if errors.Is(err, ua.ErrNoAck) {
			return errors.New("no ACK for our 200")
		}
		return err
	}
	return talk(ctx, fl, call, &c.media, audio, c.duration, record)
}

// register binds our Contact at --registrar before calls come in.
func (c *answerCmd) register(ctx context.Context, fl *flow, u *ua.UA) (*ua.Registration, error) {
	r, _ := c.targetURI(c.registrar)
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	reg, err := u.Register(rctx, &ua.RegisterOptions{Registrar: r, Expires: uint32(c.expires / time.Second)})
	if err != nil {
		var re *ua.ResponseError
		if errors.As(err, &re) {
			return nil, fmt.Errorf("register: %w", registerError(re.Response))
		}
		return nil, fmt.Errorf("register: %w", requestError(err, c.timeout))
	}
	fl.notef("registered %s at %s for %v", u.AOR().URI.String(), u.Contact().String(), reg.Expires())
	return reg, nil
}
