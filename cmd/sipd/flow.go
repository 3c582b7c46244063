package main

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sipd/sipd/sip"
)

// flow prints the call flow of a client command: one line per SIP message
// sent (→) or received (←), with the seconds since the command started,
// the request line or status, the CSeq and the peer:
//
//	0.000  → INVITE sip:bob@127.0.0.1:5062            CSeq 1 INVITE     to 127.0.0.1:5062/udp
//	0.004  ← 100 Trying                               CSeq 1 INVITE     from 127.0.0.1:5062/udp
//
// Lines from several goroutines (the transport's read loops, timers)
// never interleave.
type flow struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	now   func() time.Time // time.Now; tests fix it
}

func newFlow(w io.Writer) *flow {
	return &flow{w: w, start: time.Now(), now: time.Now}
}

// Column widths of a flow line.
const (
	flowWhatWidth = 40 // request line or status
	flowCSeqWidth = 17 // "CSeq 1 INVITE"
)

// message prints one line for m, sent to or received from peer over
// transport (UDP, TCP, ...).
func (f *flow) message(sent bool, m sip.Message, peer netip.AddrPort, transport string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintln(f.w, flowLine(f.now().Sub(f.start), sent, m, peer, transport))
}

// notef prints a line that is not a message (a summary, what the command
// does next) in the same time column, marked with "·".
func (f *flow) notef(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintf(f.w, "%s  · %s\n", flowSeconds(f.now().Sub(f.start)), fmt.Sprintf(format, args...))
}

// elapsed is the time since the command started.
func (f *flow) elapsed() time.Duration { return f.now().Sub(f.start) }

func flowSeconds(d time.Duration) string {
	return fmt.Sprintf("%8.3f", d.Seconds())
}

// flowLine formats one message line (see flow).
func flowLine(at time.Duration, sent bool, m sip.Message, peer netip.AddrPort, transport string) string {
	var b strings.Builder
	b.WriteString(flowSeconds(at))
	arrow, dir := "←", "from"
	if sent {
		arrow, dir = "→", "to"
	}
	b.WriteString("  " + arrow + " ")
	what := flowWhat(m)
	b.WriteString(what)
	pad(&b, what, flowWhatWidth)
	cseq := "CSeq ?"
	if c, err := m.Headers().CSeq(); err == nil {
		cseq = "CSeq " + c.String()
	}
	b.WriteString(cseq)
	if peer.IsValid() {
		pad(&b, cseq, flowCSeqWidth)
		b.WriteString(dir + " " + peer.String())
		if transport != "" {
			b.WriteString("/" + strings.ToLower(transport))
		}
	}
	if n := len(m.Payload()); n > 0 {
		ct := m.Headers().ContentType()
		if ct == "" {
			ct = "body"
		}
		fmt.Fprintf(&b, "  [%s %d B]", ct, n)
	}
	// RFC 3262: which reliable provisional response, and which PRACK
	// acknowledges it.
	if v := m.Headers().Get("RSeq"); v != "" {
		b.WriteString("  [RSeq " + v + "]")
	}
	if v := m.Headers().Get("RAck"); v != "" {
		b.WriteString("  [RAck " + v + "]")
	}
	return b.String()
}

// flowWhat is the request's method and Request-URI or the response's
// status code and reason phrase.
func flowWhat(m sip.Message) string {
	switch m := m.(type) {
	case *sip.Request:
		return m.Method + " " + m.URI.String()
	case *sip.Response:
		reason := m.Reason
		if reason == "" {
			reason = sip.StatusText(m.StatusCode)
		}
		return fmt.Sprintf("%d %s", m.StatusCode, reason)
	}
	return "?"
}

// pad writes the spaces that take s to width runes, and at least one.
func pad(b *strings.Builder, s string, width int) {
	n := width - utf8.RuneCountInString(s)
	if n < 1 {
		n = 1
	}
	b.WriteString(strings.Repeat(" ", n))
}
