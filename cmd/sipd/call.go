package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sipd/sipd/media"
	"github.com/sipd/sipd/sip"
	"github.com/sipd/sipd/ua"
)

// callCmd is `sipd call URI`: an INVITE session (RFC 3261 §13) with audio.
type callCmd struct {
	clientFlags
	target         sip.URI
	media          mediaFlags
	duration       time.Duration
	user, password string
	require100rel  bool
}

func parseCall(args []string, stderr io.Writer) (*callCmd, error) {
	c := &callCmd{}
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c.add(fs, "127.0.0.1:0")
	c.media.add(fs)
	fs.DurationVar(&c.duration, "duration", 0, "hang up after this long in the call (0: when the peer hangs up or on Ctrl-C)")
	fs.StringVar(&c.user, "user", "", "user name for digest authentication (default: the user of --from)")
	fs.StringVar(&c.password, "password", "", "password, to answer a 401 or 407 challenge")
	fs.BoolVar(&c.require100rel, "100rel", false, "require reliable provisional responses (RFC 3262); they are always supported")
	// The INVITE may ring for a while: a longer default than Timer F.
	fs.Lookup("timeout").DefValue = "1m0s"
	fs.Lookup("timeout").Usage = "how long the INVITE may wait for an answer before it is cancelled"
	c.timeout = time.Minute
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sipd call [flags] URI\n\ncalls URI, plays audio (--play, --tone) and records what it hears (--record), prints the call flow; succeeds when the call was answered and ended with BYE")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return nil, parseError{err}
	}
	if len(pos) != 1 {
		return nil, usagef("want one URI, such as sip:bob@127.0.0.1:5062")
	}
	if err := c.check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if err := c.media.check(); err != nil {
		return nil, usageError{err.Error()}
	}
	if c.duration < 0 {
		return nil, usagef("--duration %v: want a positive duration or 0", c.duration)
	}
	if c.target, err = c.targetURI(pos[0]); err != nil {
		return nil, usageError{err.Error()}
	}
	return c, nil
}

func runCall(args []string, stdout, stderr io.Writer) int {
	return runClient("call", parseCall, args, stdout, stderr)
}

func (c *callCmd) run(ctx context.Context, stdout io.Writer) error {
	audio, err := c.media.load()
	if err != nil {
		return err
	}
	fl := newFlow(stdout)
	cfg, err := c.uaConfig()
	if err != nil {
		return err
	}
	cfg.Username, cfg.Password = c.user, c.password
	u, stop, err := c.startUA(fl, cfg)
	if err != nil {
		return err
	}
	defer stop()

	ictx, cancel := context.WithTimeout(ctx, c.timeout)
	call, err := u.Invite(ictx, c.target, &ua.InviteOptions{Require100rel: c.require100rel})
	cancel()
	if err != nil {
		var re *ua.ResponseError
		switch {
		case errors.As(err, &re):
			fl.notef("call to %s failed: %d %s", c.target.String(), re.Response.StatusCode, reasonOf(re.Response))
			return fmt.Errorf("call failed: %w", finalError(re.Response))
		case ctx.Err() != nil:
			fl.notef("call to %s cancelled", c.target.String())
			return errors.New("call cancelled")
		case errors.Is(err, context.DeadlineExceeded):
			fl.notef("call to %s not answered within %v", c.target.String(), c.timeout)
			return fmt.Errorf("call not answered within %v", c.timeout)
		}
		fl.notef("call to %s failed", c.target.String())
		return fmt.Errorf("call failed: %w", err)
	}
	return talk(ctx, fl, call, &c.media, audio, c.duration, c.media.record)
}

// talk runs an established call: it sends audio, waits for the end (the
// peer's BYE, duration, ctx), hangs up if the peer did not, writes the
// recording and prints the summary. The call succeeded when it ended with
// a BYE either way.
func talk(ctx context.Context, fl *flow, call *ua.Call, mf *mediaFlags, audio []int16, duration time.Duration, record string) error {
	start := fl.elapsed()
	m := call.Media()
	fl.notef("call established: %s, RTP %s ⇄ %s", call.Codec(), m.LocalAddr(), m.Remote())

	sendCtx, stopSend := context.WithCancel(ctx)
	sent := make(chan error, 1)
	go func() { sent <- mf.send(sendCtx, call, audio) }()

	var timer <-chan time.Time
	if duration > 0 {
		t := time.NewTimer(duration)
		defer t.Stop()
		timer = t.C
	}
	byUs := false
	select {
	case <-call.Done():
	case <-timer:
		byUs = true
	case <-ctx.Done():
		byUs = true
	}
	stopSend()
	<-sent
	var hangErr error
	if byUs {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		hangErr = call.Hangup(hctx)
		cancel()
	}
	st := m.Stats()
	fl.notef("RTP: %d packets sent, %d received (%d lost)", st.PacketsSent, st.PacketsReceived, st.Lost)
	if record != "" {
		if err := writeWAV(record, m.Received()); err != nil {
			return err
		}
		fl.notef("recorded %.1f s to %s", float64(len(m.Received()))/media.SampleRate, record)
	}
	who := "the peer"
	if byUs {
		who = "us"
	}
	fl.notef("call ended by %s after %.1f s", who, (fl.elapsed() - start).Seconds())
	if hangErr != nil {
		return fmt.Errorf("hang up: %w", hangErr)
	}
	if err := call.Err(); err != nil {
		return fmt.Errorf("call ended: %w", err)
	}
	return nil
}

// mediaFlags say what a call sends and records.
type mediaFlags struct {
	play   string  // a WAV file to send
	tone   float64 // or a sine at this frequency
	loop   bool    // send the file again and again
	record string  // where to write what we receive
}

func (m *mediaFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&m.play, "play", "", "a WAV file to send (16-bit PCM, mono, 8000 Hz)")
	fs.Float64Var(&m.tone, "tone", 0, "send a sine tone at this frequency in Hz, as long as the call lasts (instead of --play)")
	fs.BoolVar(&m.loop, "loop", false, "send the --play file again and again while the call lasts")
	fs.StringVar(&m.record, "record", "", "write the audio received to this WAV file (8000 Hz mono)")
}

func (m *mediaFlags) check() error {
	if m.play != "" && m.tone != 0 {
		return errors.New("--play and --tone: give one")
	}
	if m.tone < 0 || m.tone >= media.SampleRate/2 {
		return fmt.Errorf("--tone %v: want a frequency between 0 and %d Hz", m.tone, media.SampleRate/2)
	}
	return nil
}

// load reads the --play file.
func (m *mediaFlags) load() ([]int16, error) {
	if m.play == "" {
		return nil, nil
	}
	f, err := os.Open(m.play)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	samples, rate, err := media.ReadWAV(io.LimitReader(f, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.play, err)
	}
	if rate != media.SampleRate {
		return nil, fmt.Errorf("%s: %d Hz; want %d Hz", m.play, rate, media.SampleRate)
	}
	return samples, nil
}

// send sends the audio (or the tone) until it is out or ctx ends.
func (m *mediaFlags) send(ctx context.Context, call *ua.Call, audio []int16) error {
	s := call.Media()
	switch {
	case m.tone > 0:
		// One second at a time, so that the tone lasts as long as the call.
		sec := media.Tone(m.tone, media.SampleRate, time.Second, 0.5)
		for ctx.Err() == nil {
			if err := s.Send(ctx, sec, call.Codec()); err != nil {
				return err
			}
		}
	case len(audio) > 0:
		for {
			if err := s.Send(ctx, audio, call.Codec()); err != nil {
				return err
			}
			if !m.loop || ctx.Err() != nil {
				return nil
			}
		}
	}
	return nil
}

func writeWAV(name string, samples []int16) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := media.WriteWAV(f, samples, media.SampleRate); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
